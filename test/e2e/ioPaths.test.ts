/**
 * The KVM comparison in the app (issue 13, item 6): in the Compare view the user runs the I/O
 * paths section for disk-io and then for net-rr; the table has one row per path (vhost only for
 * the network), every number shown is the worker's answer as the page formats it, the bars'
 * totals are the answer's, and the answer itself is what compareIoPaths gives in Node for the same
 * workload (the simulation is deterministic). Screenshots: test-results/screenshots/io-paths-*.png.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { freshDataDir, openBrowser, requireBuild, shot, startServer, type Browser } from './harness.js';
import type { RunningServer } from '../../electron/host/server.js';
import type { IoPathRow } from '../../core/api/index.js';
import type { Workload } from '../../core/api/scenario.js';
import { compareIoPaths } from '../../core/sim/ioPaths.js';

/** Page numbers are grouped with thin spaces. */
const num = (s: string | null) => Number((s ?? '').replace(/\u2009/g, '').trim());

type Answer = { workload: Workload; rows: IoPathRow[] };
type HookWindow = { __hyperlabTestHooks: { lab: { sim: { onWorkerEvent(cb: (e: { type: string }) => void): () => void } } }; __ioAnswers: unknown[] };

async function listen(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as HookWindow;
    w.__ioAnswers = [];
    w.__hyperlabTestHooks.lab.sim.onWorkerEvent((e) => {
      if (e.type === 'io-paths-result') w.__ioAnswers.push(JSON.parse(JSON.stringify(e)));
    });
  });
}

async function answer(page: Page, n: number): Promise<Answer> {
  await expect.poll(() => page.evaluate(() => (window as unknown as HookWindow).__ioAnswers.length), { timeout: 90_000 }).toBe(n);
  return page.evaluate((i) => (window as unknown as HookWindow).__ioAnswers[i] as Answer, n - 1);
}

const FIELDS = ['bytes', 'exits', 'copies', 'backendWakeups', 'interrupts'] as const;
const CYCLES = ['guest', 'hypervisor', 'hostKernel', 'backend', 'total'] as const;

/** The table and the bars show the answer: each cell's text is its value as shown (to the digits shown), each bar's total the row's. */
async function checkShown(page: Page, a: Answer, paths: string[]): Promise<void> {
  const table = page.getByTestId('io-paths-table');
  expect(await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-path')))).toEqual(paths);
  for (const r of a.rows) {
    const tr = table.locator(`tr[data-path="${r.path}"]`);
    expect(await tr.locator('th').textContent()).toContain(r.label);
    const values: [string, number][] = [...FIELDS.map((f) => [f, r[f]] as [string, number]), ...CYCLES.map((c) => [c, r.cycles[c]] as [string, number]), ['cyclesPerByte', r.cycles.total / r.bytes]];
    for (const [field, v] of values) {
      const shown = num(await tr.locator(`td[data-field="${field}"]`).textContent());
      // Whole numbers and values of 1000 or more are shown rounded; smaller ones to 2 decimals.
      expect(Math.abs(shown - v)).toBeLessThanOrEqual(Number.isInteger(v) ? 0 : v >= 1000 ? 0.5 : 0.005);
    }
    expect(Number(await page.locator(`[data-testid="io-paths-bars"] [data-bar="${r.path}"]`).getAttribute('data-total'))).toBe(r.cycles.total);
  }
}

describe('the I/O paths section of the Compare view', () => {
  let server: RunningServer;
  let b: Browser;

  beforeAll(async () => {
    requireBuild();
    server = await startServer(freshDataDir('io-paths'));
    b = await openBrowser(server.url, { width: 1280, height: 900 });
  });
  afterAll(async () => {
    await b?.close();
    await server?.close();
  });

  it('runs disk-io and net-rr through every path and shows the worker’s numbers', async () => {
    const { page } = b;
    await page.locator('nav [data-view="compare"]').click();
    const section = page.getByTestId('io-paths');
    await section.waitFor();
    await listen(page);

    // disk-io, 100 requests of 4 KiB one at a time.
    expect(await page.getByTestId('io-paths-workload').inputValue()).toBe('disk-io');
    await page.getByTestId('io-paths-param-ops').fill('100');
    await page.getByTestId('io-paths-run').click();
    const disk = await answer(page, 1);
    expect(disk.workload).toMatchObject({ kind: 'disk-io', ops: 100, blockKiB: 4, queueDepth: 1 });
    await page.getByTestId('io-paths-table').waitFor();
    await checkShown(page, disk, ['xen-dom0', 'xen-driver-domain', 'kvm-qemu', 'passthrough']);
    expect(disk.rows).toEqual(compareIoPaths(disk.workload));
    for (const r of disk.rows) expect(r.requests).toBe(100);
    await section.scrollIntoViewIfNeeded();
    await shot(page, 'io-paths-1-disk');

    // net-rr, 50 transactions: vhost joins.
    await page.getByTestId('io-paths-workload').selectOption('net-rr');
    await page.getByTestId('io-paths-param-transactions').fill('50');
    await page.getByTestId('io-paths-run').click();
    const rr = await answer(page, 2);
    expect(rr.workload).toEqual({ kind: 'net-rr', transactions: 50, requestBytes: 64, responseBytes: 64 });
    await expect.poll(() => page.locator('[data-testid="io-paths-table"] tbody tr').count()).toBe(5);
    await checkShown(page, rr, ['xen-dom0', 'xen-driver-domain', 'kvm-qemu', 'kvm-vhost', 'passthrough']);
    expect(rr.rows).toEqual(compareIoPaths(rr.workload));
    await page.getByTestId('io-paths-bars').scrollIntoViewIfNeeded();
    await shot(page, 'io-paths-2-net-rr');

    // The chart's Data table (opened) has a row per path, its total the answer's.
    const data = page.getByTestId('io-paths-bars-data');
    await data.locator('summary').click();
    const dataRows = data.locator('tbody tr');
    await expect.poll(() => dataRows.count()).toBe(5);
    const totals = await dataRows.evaluateAll((trs) => trs.map((tr) => [tr.querySelector('th')!.textContent!.trim(), tr.lastElementChild!.textContent!]));
    expect(totals.map(([p]) => p)).toEqual(['xen-dom0', 'xen-driver-domain', 'kvm-qemu', 'kvm-vhost', 'passthrough']);
    for (const [p, t] of totals) expect(Math.abs(num(t!) - rr.rows.find((r) => r.path === p)!.cycles.total)).toBeLessThanOrEqual(0.5);
    await shot(page, 'io-paths-3-data');

    // With the table, chart and Data table shown: no serious or critical axe violation in the section.
    await page.evaluate(`${readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')}\n;window.axe = axe; true`);
    const serious = await page.evaluate(async () => {
      const el = document.querySelector('[data-testid="io-paths"]')!;
      const r = await (window as unknown as { axe: { run(ctx: Element): Promise<{ violations: { id: string; impact: string | null; nodes: { target: string[] }[] }[] }> } }).axe.run(el);
      return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    });
    expect(serious).toEqual([]);
    expect(b.errors).toEqual([]);
  }, 180_000);
});

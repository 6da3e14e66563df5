/**
 * CPU generations in the app (issue 11), as a user meets them in browser mode: pick the 2003
 * Pentium 4 in the Scenario form, read the cost table's vmexit default and its source for that
 * CPU, see the HAP guest refused (no EPT on a P4) at its paging mode, run the scenario and read
 * each guest's time per operation beside its cycles per operation: cycles / 2 400 at 2.4 GHz. Then
 * the Compare view and History's run details on the same CPU. Screenshots at 1366×768 and
 * 1920×1080 (test-results/screenshots/cpu-*.png).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { freshDataDir, openBrowser, openScenarioFile, requireBuild, shot, startServer } from './harness.js';
import type { RunningServer } from '../../electron/host/server.js';
import { CPU_PROFILE_TABLE } from '../../core/api/index.js';
import { PRESETS } from '../../core/api/presets.js';

const P4 = CPU_PROFILE_TABLE['p4-2003'];
/** Cycles per µs at the P4's clock. */
const P4_CYCLES_PER_US = P4.clockGHz * 1000;
const START = PRESETS.find((p) => p.id === 'walk-4k')!.scenario;
/** Page numbers are grouped with thin spaces and carry their unit ("1\u2009234.5\u2009cyc/op", "0.384\u2009µs"). */
const num = (s: string | null) => Number((s ?? '').replace(/[\u2009\s]|cyc\/op|µs|ms/g, ''));
/** What the cost table prints for a number of cycles. */
const grouped = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, '\u2009');

/** µs per op as shown (three significant digits) against cycles per op as shown (one decimal) / the clock. */
function expectTimeFromCycles(cyclesText: string | null, usText: string | null): void {
  const cycles = num(cyclesText);
  const us = num(usText);
  expect(cycles).toBeGreaterThan(0);
  expect(usText).toMatch(/µs$/);
  // Both are rounded for display: three significant digits leave at most 0.5 % of the value.
  expect(Math.abs(us - cycles / P4_CYCLES_PER_US)).toBeLessThanOrEqual((cycles / P4_CYCLES_PER_US) * 0.005 + 1e-9);
}

async function pickP4(page: Page): Promise<void> {
  await page.locator('nav [data-view="scenario"]').click();
  await page.getByTestId('scenario-view').waitFor();
  await page.getByLabel('CPU generation').selectOption('p4-2003');
  await expect.poll(() => page.getByTestId('cpu-about').textContent()).toContain(`${P4.clockGHz} GHz`);
}

describe('CPU generations in browser mode', () => {
  let server: RunningServer;
  let dataDir: string;
  beforeAll(async () => {
    requireBuild();
    dataDir = freshDataDir('cpu');
    server = await startServer(dataDir);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('picks the P4, shows its costs and sources, refuses HAP on it, and runs with µs per op = cycles per op / 2 400 (1366×768)', async () => {
    const b = await openBrowser(server.url, { width: 1366, height: 768 });
    const { page } = b;
    try {
      await pickP4(page);
      await shot(page, 'cpu-1-select-1366x768');

      // The cost table follows the CPU: vmexit's default and its source are the P4's.
      await page.locator('details.costs summary').click();
      const vmexit = page.locator('tr[data-cost="vmexit"]');
      await vmexit.scrollIntoViewIfNeeded();
      expect(await vmexit.locator('.dflt').textContent()).toBe(grouped(P4.costs.vmexit));
      expect(await page.locator('tr[data-cost-doc="vmexit"] .src').textContent()).toBe(`Source: ${P4.sources.vmexit}.`);
      await shot(page, 'cpu-2-costs-1366x768');

      // The start-up scenario's HAP guest: the P4 has no EPT, so its mode is refused, at its field.
      const hap = START.domains.findIndex((d) => d.mode === 'hap');
      expect(hap).toBeGreaterThanOrEqual(0);
      const problem = page.locator(`#sc-domains-${hap}-mode--p0`);
      await problem.scrollIntoViewIfNeeded();
      await expect.poll(() => problem.textContent()).toMatch(/^Paging mode: mode "hap" needs EPT, which cpu "p4-2003"/);
      expect(await page.locator(`#sc-domains-${hap}-mode`).getAttribute('aria-invalid')).toBe('true');
      await expect.poll(() => page.getByTestId('scenario-status').getAttribute('data-ok')).toBe('false');
      await shot(page, 'cpu-3-hap-refused-1366x768');

      // Shadow paging instead (it needs no EPT), and run it: PV and shadow guests on the P4.
      await page.locator(`#sc-domains-${hap}-mode`).selectOption('shadow');
      await expect.poll(() => page.getByTestId('scenario-status').getAttribute('data-ok')).toBe('true');
      await page.getByTestId('pace').selectOption('max');
      await page.getByTestId('run').click();
      await page.getByTestId('results-table').waitFor({ timeout: 120_000 });
      expect(await page.getByTestId('results-cpu').textContent()).toBe(P4.label);
      expect(await page.getByTestId('results-heading').textContent()).toMatch(/ms simulated/);
      const pv = START.domains.find((d) => d.mode === 'pv')!.name;
      const at = (field: string) => page.locator(`[data-result-domain="${pv}"] [data-field="${field}"]`).textContent();
      expectTimeFromCycles(await at('cyclesPerOp'), await at('usPerOp'));
      // The domain card's whole-run figures, on the same clock.
      const card = page.locator(`[data-domain="${pv}"]`);
      expectTimeFromCycles(await card.locator('[data-field="run-cycles-per-op"]').textContent(), await card.locator('[data-field="run-us-per-op"]').textContent());
      await shot(page, 'cpu-4-results-1366x768');
      expect(b.errors).toEqual([]);
    } finally {
      await b.close();
    }
  });

  it('compares modes on the P4 with µs beside cycles, and History shows the run’s CPU and times (1920×1080)', async () => {
    const b = await openBrowser(server.url, { width: 1920, height: 1080 });
    const { page } = b;
    try {
      await openScenarioFile(page, dataDir, {
        name: 'e2e-cpu-p4',
        machine: { memoryMiB: 1024, pcpus: 1, cpu: 'p4-2003' },
        hypervisor: 'xen',
        domains: [{ name: 'g1', mode: 'pv', memoryMiB: 128, vcpus: 1, workload: { kind: 'update-vs-access', workingSetMiB: 16, accesses: 4000, updatesPerKiloAccess: 10, updateKind: 'mix' } }],
      });
      await page.locator('nav [data-view="scenario"]').click();
      expect(await page.getByLabel('CPU generation').inputValue()).toBe('p4-2003');
      await shot(page, 'cpu-5-scenario-1920x1080');

      await page.locator('nav [data-view="compare"]').click();
      await page.getByTestId('compare-workload').selectOption('update-vs-access');
      for (const m of ['native', 'pv', 'shadow']) await page.locator(`[data-mode-check="${m}"]`).check();
      await page.locator('[data-mode-check="hap"]').uncheck();
      await page.getByTestId('compare-run').click();
      const bars = page.getByTestId('compare-bars');
      await bars.locator('[data-bar="shadow"]').waitFor({ timeout: 90_000 });
      expect(await page.getByTestId('compare-cpu').textContent()).toBe(`CPU: ${P4.label}`);
      for (const m of ['native', 'pv', 'shadow']) {
        expectTimeFromCycles(await bars.locator(`[data-bar="${m}"] [data-field="total"]`).textContent(), await bars.locator(`[data-bar="${m}"] [data-field="us"]`).textContent());
      }
      await shot(page, 'cpu-6-compare-1920x1080');

      // A live run, then its saved details in History.
      await page.getByTestId('pace').selectOption('max');
      await page.getByTestId('run').click();
      await page.getByTestId('results-table').waitFor({ timeout: 120_000 });
      const cycles = await page.locator('[data-result-domain="g1"] [data-field="cyclesPerOp"]').textContent();
      const us = await page.locator('[data-result-domain="g1"] [data-field="usPerOp"]').textContent();
      expectTimeFromCycles(cycles, us);
      await shot(page, 'cpu-7-results-1920x1080');
      await page.locator('nav [data-view="history"]').click();
      const first = page.locator('[data-testid="runs-table"] tbody tr[data-run-id]').filter({ hasText: 'e2e-cpu-p4' }).filter({ has: page.locator('[data-field="kind"]', { hasText: /^run$/ }) }).first();
      await first.getByRole('button', { name: 'Open' }).click();
      const detail = page.getByTestId('run-detail');
      await detail.waitFor();
      expect(await detail.getByTestId('run-detail-cpu').textContent()).toBe(P4.label);
      expect(await detail.locator('[data-result-domain="g1"] [data-field="usPerOp"]').textContent()).toBe(us);
      await shot(page, 'cpu-8-history-1920x1080');
      expect(b.errors).toEqual([]);
    } finally {
      await b.close();
    }
  });
});

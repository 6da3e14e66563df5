/**
 * The Compare view as a user drives it in browser mode: open a small update-vs-access scenario,
 * compare the four paging modes in the real worker, read the bars, export their CSV (and the
 * chart as SVG and PNG) and check the file against the page, then sweep the update rate and find
 * the crossovers labelled. Screenshots at 1280×800, 1920×1080 and in the dark theme.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { SHOTS, freshDataDir, holdRequests, holdWorker, openBrowser, openScenarioFile, releaseRequests, releaseWorker, requireBuild, shot, startServer, type Browser } from './harness.js';
import type { RunningServer } from '../../electron/host/server.js';

const MODES = ['native', 'pv', 'shadow', 'hap'] as const;

/** One guest, a working set far beyond the TLB's reach but small enough for a few seconds a run. */
const SCENARIO = {
  name: 'e2e-compare',
  machine: { memoryMiB: 1024, pcpus: 1 },
  hypervisor: 'xen',
  domains: [
    { name: 'g1', mode: 'pv', memoryMiB: 128, vcpus: 1, workload: { kind: 'update-vs-access', workingSetMiB: 16, accesses: 5000, updatesPerKiloAccess: 10, updateKind: 'mix' } },
  ],
};

/** Page numbers are grouped with thin spaces. */
const num = (s: string | null) => Number((s ?? '').replace(/\u2009/g, '').trim());

async function download(page: Page, click: () => Promise<void>): Promise<{ name: string; bytes: Buffer }> {
  const d = page.waitForEvent('download');
  await click();
  const dl = await d;
  const path = await dl.path();
  return { name: dl.suggestedFilename(), bytes: readFileSync(path) };
}

describe('compare view in browser mode', () => {
  let server: RunningServer;
  let b: Browser;
  let dataDir: string;

  beforeAll(async () => {
    requireBuild();
    dataDir = freshDataDir('compare');
    server = await startServer(dataDir);
    b = await openBrowser(server.url, { width: 1280, height: 800 });
  });
  afterAll(async () => {
    await b?.close();
    await server?.close();
  });

  it('compares four modes, exports what the page shows, and labels the crossovers of a sweep', async () => {
    const { page } = b;
    const failed: string[] = [];
    page.on('response', (r) => {
      if (r.status() >= 400) failed.push(`${r.status()} ${new URL(r.url()).pathname}`);
    });
    await openScenarioFile(page, dataDir, SCENARIO);

    await page.locator('nav [data-view="compare"]').click();
    await page.getByTestId('compare-run').waitFor();
    await shot(page, 'compare-1-empty');

    await page.getByTestId('compare-workload').selectOption('update-vs-access');
    await page.getByTestId('compare-main-param').fill('10');
    for (const m of MODES) await page.locator(`[data-mode-check="${m}"]`).check();
    expect(await page.getByTestId('compare-run-count').textContent()).toBe('4 runs');
    // Progress shows while it runs: the worker's answers are held so it is certainly still running.
    await holdWorker(page);
    await page.getByTestId('compare-run').click();
    await expect.poll(() => page.getByTestId('compare-progress').textContent()).toMatch(/0 \/ 4\s*starting…/);
    expect(await page.getByTestId('compare-run').isDisabled()).toBe(true);
    await releaseWorker(page);
    const bars = page.getByTestId('compare-bars');
    await bars.locator('[data-bar="hap"]').waitFor({ timeout: 90_000 });
    await shot(page, 'compare-2-bars');

    const shown: Record<string, number> = {};
    for (const m of MODES) shown[m] = num(await bars.locator(`[data-bar="${m}"] [data-field="total"]`).textContent());
    // C7 at no cost to mechanism: nested paging walks longer, so its walk segment is the longest.
    const walkRefs = page.locator('[data-testid="why-table"] tr[data-counter="walkRefs"]');
    // The table shows the 12 most different counters first; walk references may be further down.
    if ((await walkRefs.count()) === 0) await page.getByRole('button', { name: /^Show all \d+$/ }).click();
    expect(await walkRefs.locator('td.max').getAttribute('data-mode')).toBe('hap');

    // The CSV: a row per mode, the numbers the page shows, and parts that add up to the total.
    const csv = await download(page, () => bars.locator('[data-export="csv"]').click());
    expect(csv.name).toBe('compare-update-vs-access-cycles.csv');
    const [head, ...rows] = csv.bytes.toString('utf8').trim().split('\n').map((l) => l.split(','));
    const col = (name: string) => head!.indexOf(name);
    expect(rows.map((r) => r[0])).toEqual([...MODES]);
    for (const r of rows) {
      const [g, h, w, t] = ['guest_cycles_per_op', 'hypervisor_cycles_per_op', 'walk_cycles_per_op', 'total_cycles_per_op'].map((c) => Number(r[col(c)]));
      expect(t!.toFixed(1)).toBe(shown[r[0]!]!.toFixed(1));
      expect(Math.abs(g! + h! + w! - t!)).toBeLessThan(1e-9 * Math.max(1, t!));
      expect(Number(r[col('total_cycles')])).toBeCloseTo(Number(r[col('guest_cycles')]) + Number(r[col('hypervisor_cycles')]) + Number(r[col('walk_cycles')]), 6);
      // Each in-bar label that fits is the CSV's value.
      for (const [part, v] of [['guest', g], ['hypervisor', h], ['walk', w]] as const) {
        const label = bars.locator(`[data-bar="${r[0]}"] [data-field="${part}"]`);
        if (await label.count()) expect(num(await label.textContent())).toBe(Number(v!.toFixed(1)));
      }
    }
    expect(shown.native).toBeLessThan(shown.hap!);

    // The chart as files: SVG with every CSS variable resolved, PNG as real PNG bytes.
    const svg = await download(page, () => bars.locator('[data-export="svg"]').click());
    expect(svg.name).toBe('compare-update-vs-access-cycles.svg');
    const svgText = svg.bytes.toString('utf8');
    expect(svgText.startsWith('<?xml')).toBe(true);
    expect(svgText).toContain('Cycles per operation');
    expect(svgText).not.toContain('var(');
    const png = await download(page, () => bars.locator('[data-export="png"]').click());
    expect(png.name).toBe('compare-update-vs-access-cycles.png');
    expect([...png.bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    // Kept for a person to look at: what the exported files look like.
    mkdirSync(SHOTS, { recursive: true });
    writeFileSync(join(SHOTS, 'compare-export-bars.png'), png.bytes);
    writeFileSync(join(SHOTS, 'compare-export-bars.svg'), svg.bytes);

    // A sweep over the update rate: PV, shadow and HAP trade places between 0 and 100 updates/1k.
    await page.locator('[data-mode-check="native"]').uncheck();
    await page.getByTestId('compare-sweep-on').check();
    expect(await page.getByTestId('compare-sweep-param').inputValue()).toBe('updatesPerKiloAccess');
    await page.getByTestId('compare-sweep-values').fill('0, 10, 100');
    expect(await page.getByTestId('compare-run-count').textContent()).toBe('9 runs');

    // Cancel first: the workers stop, the page says so, the bars stay. The compare's runs and the
    // cancels reach the workers together, so each cancel is handled before its run can finish: one
    // run and one cancel per worker of the compare pool (one per core, at most 4: comparePool.ts).
    const poolSize = await page.evaluate(() => Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1)));
    await holdRequests(page);
    await page.getByTestId('compare-run').click();
    await page.getByTestId('compare-cancel').click();
    expect(await releaseRequests(page)).toBe(2 * poolSize);
    await page.getByText('Comparison cancelled').waitFor({ timeout: 30_000 });
    expect(await bars.locator('[data-bar="native"]').count()).toBe(1);

    await page.getByTestId('compare-run').click();
    const sweep = page.getByTestId('compare-sweep');
    await sweep.waitFor({ timeout: 120_000 });
    const labels = await sweep.locator('[data-testid="crossover"] text').allTextContents();
    expect(labels.length).toBeGreaterThan(0);
    for (const l of labels) expect(l).toMatch(/^(native|PV|shadow|HAP) = (native|PV|shadow|HAP) at ≈ [\d.\u2009]+ updates\/1k$/);
    // Every crossing lies between two measured values.
    for (const x of await sweep.locator('[data-testid="crossover"]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-x'))))) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThanOrEqual(100);
    }
    await sweep.scrollIntoViewIfNeeded();
    await shot(page, 'compare-3-sweep');
    const sweepCsv = await download(page, () => sweep.locator('[data-export="csv"]').click());
    expect(sweepCsv.name).toBe('compare-update-vs-access-sweep.csv');
    expect(sweepCsv.bytes.toString('utf8').trim().split('\n')).toHaveLength(4);

    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.locator('.main > section[aria-label="Compare"]').evaluate((el) => el.scrollTo(0, 0));
    await shot(page, 'compare-4-wide');
    await page.locator('nav select').selectOption('dark');
    await shot(page, 'compare-5-dark');
    await page.getByTestId('compare-walks').scrollIntoViewIfNeeded();
    await shot(page, 'compare-6-dark-walks');
    const darkPng = await download(page, () => sweep.locator('[data-export="png"]').click());
    expect(darkPng.name).toBe('compare-update-vs-access-sweep.png');
    writeFileSync(join(SHOTS, 'compare-export-sweep-dark.png'), darkPng.bytes);
    expect(failed).toEqual([]);
    expect(b.errors.filter((e) => !(e.includes('status of 404') && failed.length > 0))).toEqual([]);
  });
});

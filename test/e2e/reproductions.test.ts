/**
 * The Reproductions page in browser mode: reached with Alt+7, it lists the bundled files of
 * examples/reproductions, shows the paper's figures before any run, runs walk-length.json in the
 * real worker and draws, per row, the paper's ratio beside the lab's. The numbers the page shows
 * are checked against the result the worker sent (caught through the test hooks) and against
 * `lab reproduce --json` of the same file; the bars' lengths against the ratios; the counters line
 * against the walk lengths the architecture fixes (4 references native, (4+1)(4+1)−1 = 24 nested).
 * Screenshots at 1366×768 and 1920×1080.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { ReproResult } from '../../core/api/index.js';
import { freshDataDir, openBrowser, requireBuild, shot, startServer, type Browser } from './harness.js';
import type { RunningServer } from '../../electron/host/server.js';

const FILE = 'walk-length.json';
type Hooked = { __hyperlabTestHooks: { lab: { sim: { onWorkerEvent(cb: (e: { type: string; result?: unknown }) => void): () => void } } } };
type Caught = { __reproResults: unknown[] };

/** Ratios as the page writes them: two decimals from 1 to 10, three below 1, one from 10. */
const ratio = (x: number) => `${x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3)}×`;

async function barWidth(page: Page, row: string, entry: string, kind: 'paper' | 'lab'): Promise<number> {
  return page.locator(`[data-row="${row}"] [data-entry="${entry}"] .bar[data-kind="${kind}"]`).evaluate((el) => el.getBoundingClientRect().width);
}

describe('reproductions page in browser mode', () => {
  let server: RunningServer;
  let b: Browser;

  beforeAll(async () => {
    requireBuild();
    server = await startServer(freshDataDir('repro'));
    b = await openBrowser(server.url, { width: 1366, height: 768 });
  });
  afterAll(async () => {
    await b?.close();
    await server?.close();
  });

  it('runs a reproduction and shows paper beside lab, row by row, as the worker and the CLI computed them', async () => {
    const { page } = b;
    await page.getByTestId('run').waitFor();
    // Alt+7 is the seventh view.
    await page.keyboard.press('Alt+7');
    await expect.poll(() => page.locator('nav [data-view="reproductions"]').getAttribute('aria-current')).toBe('page');
    const item = page.locator(`[data-testid="repro-item"][data-name="${FILE}"]`);
    await item.click();
    const detail = page.locator(`[data-testid="repro-detail"][data-file="${FILE}"]`);
    await detail.waitFor();
    await expect.poll(() => detail.getByTestId('repro-source').textContent()).toContain('ASPLOS 2008');
    expect(await detail.getByTestId('repro-claim').textContent()).toContain('(4+1)(4+1)−1 = 24');

    // Before a run: the paper's figures, and no lab bars yet.
    const first = detail.locator('[data-row="nested-vs-native"] [data-entry="nested 4K/4K"]');
    expect(await first.getByTestId('paper-label').textContent()).toBe('paper 1.50–8.00×');
    expect(await first.getByTestId('lab-label').textContent()).toBe('lab –');
    expect(await detail.getByTestId('row-badge').first().textContent()).toBe('not run');

    // Catch what the worker answers, independently of what the page draws.
    await page.evaluate(() => {
      (window as unknown as Caught).__reproResults = [];
      (window as unknown as Hooked).__hyperlabTestHooks.lab.sim.onWorkerEvent((e) => {
        if (e.type === 'reproduce-result') (window as unknown as Caught).__reproResults.push(e.result);
      });
    });
    await detail.getByTestId('repro-run').click();
    await expect.poll(() => page.evaluate(() => (window as unknown as Caught).__reproResults.length), { timeout: 120_000 }).toBe(1);
    const result = (await page.evaluate(() => (window as unknown as Caught).__reproResults[0])) as ReproResult;
    await detail.getByTestId('file-badge').waitFor();

    // The same file through the CLI: the same (seeded) runs, the same ratios.
    const cli = spawnSync(join(process.cwd(), 'node_modules', '.bin', 'tsx'), ['core/cli/lab.ts', 'reproduce', `examples/reproductions/${FILE}`, '--json'], { encoding: 'utf8', timeout: 120_000 });
    expect(cli.status, cli.stderr).toBe(0);
    const cliDoc = JSON.parse(cli.stdout) as { reproductions: ReproResult[] };
    expect(cliDoc.reproductions[0]!.rows.map((r) => r.entries.map((e) => e.lab.ratio))).toEqual(result.rows.map((r) => r.entries.map((e) => e.lab.ratio)));

    expect(result.rows.map((r) => r.id)).toEqual(['nested-vs-native', 'large-pages']);
    for (const row of result.rows) {
      const rowEl = detail.locator(`[data-testid="repro-row"][data-row="${row.id}"]`);
      expect(await rowEl.getByTestId('row-badge').textContent()).toBe(row.pass ? 'pass' : 'FAIL');
      const base = row.entries[0]!;
      const baseLab = await barWidth(page, row.id, base.name, 'lab');
      const basePaper = await barWidth(page, row.id, base.name, 'paper');
      for (const e of row.entries) {
        const el = rowEl.locator(`[data-entry="${e.name}"]`);
        const paper = e.baseline ? '1× (baseline)' : e.paper.range ? `${e.paper.range[0].toFixed(2)}–${e.paper.range[1].toFixed(2)}×` : ratio(e.paper.ratio!);
        expect(await el.getByTestId('paper-label').textContent()).toBe(`paper ${paper}`);
        expect(await el.getByTestId('lab-label').textContent()).toBe(`lab ${e.baseline ? '1× (baseline)' : ratio(e.lab.ratio)}`);
        if (!e.baseline) {
          expect(await el.getByTestId('entry-badge').textContent()).toBe(e.pass ? 'pass' : 'FAIL');
          // One scale: the lab bar is its ratio times the baseline's bar (1); a range's band ends at hi.
          expect((await barWidth(page, row.id, e.name, 'lab')) / baseLab).toBeCloseTo(e.lab.ratio, 1);
          if (e.paper.range) {
            const band = page.locator(`[data-row="${row.id}"] [data-entry="${e.name}"] .bar[data-kind="paper"]`);
            const [l, w] = await band.evaluate((x) => [x.getBoundingClientRect().left, x.getBoundingClientRect().width]);
            const zero = await page.locator(`[data-row="${row.id}"] [data-entry="${base.name}"] .bar[data-kind="paper"]`).evaluate((x) => x.getBoundingClientRect().left);
            expect((l - zero) / basePaper).toBeCloseTo(e.paper.range[0], 1);
            expect((l - zero + w) / basePaper).toBeCloseTo(e.paper.range[1], 1);
          }
        }
      }
    }
    // Every row passes (the file's ranges are wide and honest); the file's badge says so.
    expect(await detail.getByTestId('file-badge').textContent()).toBe(`${result.pass ? 'pass' : 'FAIL'} · ${result.rows.filter((r) => r.pass).length}/2 rows`);
    expect(await item.getByTestId('repro-item-verdict').textContent()).toBe(result.pass ? 'pass 2/2' : `FAIL ${result.rows.filter((r) => r.pass).length}/2`);

    // Why: the counters line gives the walk lengths the architecture fixes.
    const counters = await detail.locator('[data-row="nested-vs-native"]').getByTestId('repro-counters').textContent();
    expect(counters).toContain('native — native: 1.00 TLB misses/op, 4.00 walk refs/op');
    expect(counters).toContain('nested 4K/4K — HAP: 24.0 walk refs/op, 1.00 TLB misses/op');
    const large = await detail.locator('[data-row="large-pages"]').getByTestId('repro-counters').textContent();
    expect(large).toContain('nested 4K/2M — HAP: 19.0 walk refs/op'); // (4+1)(3+1)−1
    expect(large).toContain('nested 2M/2M — HAP: 15.0 walk refs/op'); // (3+1)(3+1)−1

    await shot(page, 'reproductions-1366x768');
    await page.setViewportSize({ width: 1920, height: 1080 });
    await shot(page, 'reproductions-1920x1080');
    await page.setViewportSize({ width: 1366, height: 768 });

    // Open scenario puts the file's scenario in the editor.
    await detail.getByTestId('repro-open-scenario').click();
    await expect.poll(() => page.getByTestId('scenario-name').textContent()).toBe('walk-length');
    expect(await page.locator('nav [data-view="scenario"]').getAttribute('aria-current')).toBe('page');
    expect(b.errors).toEqual([]);
  });

  it('Run all queues every valid file and runs them one after another, each verdict in the list', async () => {
    const { page } = b;
    await page.keyboard.press('Alt+7');
    const items = page.getByTestId('repro-item-verdict');
    const before = await items.allTextContents();
    await page.getByTestId('repro-run-all').click();
    // At once: the first valid file runs, every other valid one waits its turn; Run all is off meanwhile.
    const now = await items.allTextContents();
    const valid = before.map((t, i) => (t === 'invalid' ? -1 : i)).filter((i) => i >= 0);
    expect(now[valid[0]!]).toBe('running');
    for (const i of valid.slice(1)) expect(now[i]).toBe('queued');
    expect(await page.getByTestId('repro-run-all').isDisabled()).toBe(true);
    // The first one's verdict arrives (the rest may take minutes with the full set of papers).
    await expect.poll(async () => (await items.allTextContents())[valid[0]!], { timeout: 170_000, interval: 500 }).toMatch(/^(pass|gaps|FAIL) \d+\/\d+$/);
    expect(await page.getByTestId('repro-summary').textContent()).toMatch(/^\d+ of \d+ run files? pass/);
    // The first file as a reader sees it (with the shipped papers, a real table).
    await page.getByTestId('repro-item').nth(valid[0]!).click();
    await page.getByTestId('file-badge').waitFor();
    await shot(page, 'reproductions-first-1366x768');
    await page.setViewportSize({ width: 1920, height: 1080 });
    await shot(page, 'reproductions-first-1920x1080');
    await page.setViewportSize({ width: 1366, height: 768 });
    expect(b.errors).toEqual([]);
  });
});

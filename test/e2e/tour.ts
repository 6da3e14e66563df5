/**
 * The tour: every view at 1280×800 and 1920×1080, light and dark, after a live run of four guests
 * streaming, written to test-results/screenshots/ (view-<view>-<size>-<theme>.png) for a person to
 * look at, with the frame times measured while they stream (test-results/frame-times-*.json).
 * It takes pictures and asserts nothing, so it is not part of `npm test`: `npm run tour`.
 *
 * No step waits on a race with the simulation: the live run is far longer than the tour looks at
 * it (four guests of 100 million accesses each on two pCPUs), each step waits for the state it
 * needs (charts with points, the run stopped, a comparison's bars, a view's own content), and
 * nothing sleeps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { freshDataDir, measureFrames, openBrowser, openScenarioFile, report, requireBuild, shot, startServer } from './harness.js';
import type { RunningServer } from '../../electron/host/server.js';

const VIEWS = ['scenario', 'run', 'compare', 'walk', 'topology', 'history', 'reproductions'] as const;
const SIZES = [
  { width: 1366, height: 768 },
  { width: 1920, height: 1080 },
];

function fourGuests() {
  const g = (name: string, mode: string, extra: object = {}) => ({
    name,
    mode,
    memoryMiB: 192,
    vcpus: 1,
    ...extra,
    workload: { kind: 'update-vs-access', updatesPerKiloAccess: 5, workingSetMiB: 32, accesses: 100_000_000 },
  });
  return {
    name: 'four-guests',
    description: 'PV, shadow, HAP 4k and HAP 2M guests streaming side by side.',
    machine: { memoryMiB: 2048, pcpus: 2 },
    hypervisor: 'xen',
    domains: [g('pv1', 'pv'), g('sh1', 'shadow'), g('hap4k', 'hap'), g('hap2m', 'hap', { guestPageSize: '2m', hostPageSize: '2m' })],
  };
}

/** Metric snapshots the page has received from the live run (test hook: see harness.ts). */
function snapshots(page: Page): Promise<number> {
  return page.evaluate(() => (window as unknown as { __hyperlabTestHooks: { lab: { sim: { snapshots: unknown[] } } } }).__hyperlabTestHooks.lab.sim.snapshots.length);
}

/** What each view shows once it has its content. */
const READY: Record<(typeof VIEWS)[number], string> = {
  scenario: '[data-testid="presets-toggle"]',
  run: '[data-testid="results-table"]',
  compare: '[data-testid="compare-bars"]',
  walk: '[data-testid="walk-count"]',
  // The tour's scenarios have no I/O: the view says which presets have.
  topology: '[data-testid="topology-empty"]',
  history: '[data-testid="runs-table"]',
  reproductions: '[data-testid="repro-run-all"]',
};

describe('tour of the app', () => {
  let server: RunningServer;
  let dataDir: string;
  beforeAll(async () => {
    requireBuild();
    dataDir = freshDataDir('tour');
    server = await startServer(dataDir);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('shoots every view in both themes and sizes, after four domains streaming', async () => {
    const small = {
      name: 'compare-small',
      machine: { memoryMiB: 1024, pcpus: 1 },
      hypervisor: 'xen',
      domains: [{ name: 'g1', mode: 'pv', memoryMiB: 128, vcpus: 1, workload: { kind: 'update-vs-access', updatesPerKiloAccess: 10, workingSetMiB: 8, accesses: 40_000 } }],
    };
    for (const dark of [false, true]) {
      for (const size of SIZES) {
        const b = await openBrowser(server.url, { ...size, dark });
        const { page } = b;
        const tag = `${size.width}x${size.height}-${dark ? 'dark' : 'light'}`;
        await openScenarioFile(page, dataDir, fourGuests());
        await page.getByTestId('run').click();
        await expect.poll(() => page.getByTestId('sim-state').textContent(), { timeout: 60_000 }).toBe('running');
        if (!dark && size.width === 1366) report('frame-times-four-domains', await measureFrames(page, 5000));
        // Charts with a few seconds of points (a snapshot every 250 ms of wall time).
        await expect.poll(() => snapshots(page), { timeout: 60_000 }).toBeGreaterThanOrEqual(10);
        await shot(page, `view-run-live-${tag}`);
        await page.getByTestId('stop').click();
        await expect.poll(() => page.getByTestId('sim-state').textContent(), { timeout: 30_000 }).toBe('stopped');
        await page.getByTestId('results-table').waitFor({ timeout: 30_000 });
        // A small one-guest comparison, so the Compare view is shot with its charts (comparing the
        // four-guest scenario would run every guest's workload once per mode).
        await openScenarioFile(page, dataDir, small);
        await page.locator('nav [data-view="compare"]').click();
        for (const m of ['native', 'pv', 'shadow', 'hap']) await page.locator(`[data-mode-check="${m}"]`).check();
        await page.getByTestId('compare-run').click();
        await page.getByTestId('compare-bars').locator('[data-bar="hap"]').waitFor({ timeout: 90_000 });
        for (const v of VIEWS) {
          await page.locator(`nav [data-view="${v}"]`).click();
          await page.locator(READY[v]).first().waitFor({ timeout: 60_000 });
          await shot(page, `view-${v}-${tag}`);
        }
        if (b.errors.length > 0) report(`tour-page-errors-${tag}`, b.errors);
        await b.close();
      }
    }
  });
});

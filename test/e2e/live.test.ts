/**
 * A live lab, as a user watches one (issue 10, "the run is over before anyone can watch it"):
 * presets run long enough at the default pace to draw curves over simulated time; the pace control
 * slows a running run; a run repeats until Stop; legends show the latest value without hovering;
 * a domain card and the results table agree on the whole run; the top bar's timer and dom0's card
 * say what is true when nothing runs. Screenshots: test-results/screenshots/live-*.png.
 *
 * Helpers live here (not in harness.ts) so the file also runs against an older build.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { freshDataDir, openBrowser, openScenarioFile, requireBuild, shot, startServer } from './harness.js';
import type { RunningServer } from '../../electron/host/server.js';
import { PRESETS } from '../../core/api/presets.js';

/** The nominal clock (core/api/worker.ts CLOCK_HZ): simulated cycles per simulated second. */
const HZ = 3e9;

interface Snap {
  t: number;
  domains: { name: string; ops: number; cycles: number; state: string }[];
}

interface LabView {
  state: string;
  snapshots: Snap[];
  progress: { clockCycles?: number; elapsedMs: number; runs?: number; fraction: number } | null;
  results: { simulatedCycles: number; domains: { name: string; role: string; ops: number; cycles: { total: number; perOp: number } }[] } | null;
}

/** What the app's Lab holds now (exposed to tests through __hyperlabTestHooks). */
async function labView(page: Page): Promise<LabView> {
  return page.evaluate(() => {
    const lab = (window as unknown as { __hyperlabTestHooks: { lab: { sim: Record<string, unknown> } } }).__hyperlabTestHooks.lab;
    const sim = lab.sim;
    return JSON.parse(JSON.stringify({ state: sim.state, snapshots: sim.snapshots, progress: sim.progress, results: sim.results })) as LabView;
  });
}

async function loadPreset(page: Page, id: string, scenarioName: string): Promise<void> {
  await page.locator('nav [data-view="scenario"]').click();
  await page.getByTestId('presets-toggle').click();
  await page.getByTestId(`load-preset-${id}`).click();
  if (await page.getByTestId('confirm-preset').isVisible()) await page.getByTestId('confirm-preset').click();
  await expect.poll(() => page.getByTestId('scenario-name').textContent()).toBe(scenarioName);
}

/** Simulated time the snapshots span, in cycles. */
function ts0(v: LabView): number {
  return v.snapshots.length > 1 ? v.snapshots.at(-1)!.t - v.snapshots[0]!.t : 0;
}

/** The lab's thin-space grouping and fixed decimals (renderer/src/lib/format.ts fmtNum), written again here. */
function fmt1(n: number): string {
  const [int, frac] = n.toFixed(1).split('.');
  return `${int!.replace(/\B(?=(\d{3})+(?!\d))/g, '\u2009')}.${frac}`;
}

/** A small scenario of our own: one PV guest doing random accesses. */
const smallRun = (name: string, accesses: number) => ({
  name,
  machine: { memoryMiB: 1024, pcpus: 1 },
  hypervisor: 'xen',
  domains: [{ name: 'g1', mode: 'pv', memoryMiB: 128, vcpus: 1, workload: { kind: 'random-access', workingSetMiB: 8, accesses } }],
});

describe('A live run you can watch', () => {
  let server: RunningServer;
  let dir: string;
  beforeAll(async () => {
    requireBuild();
    server = await startServer(freshDataDir('live'));
    dir = mkdtempSync(join(tmpdir(), 'hyperlab-live-'));
  });
  afterAll(async () => {
    await server?.close();
  });

  // Every preset: each is sized to run several seconds at the default pace.
  for (const { id, scenario } of PRESETS) {
    const name = scenario.name;
    // Guests with a workload: a driver domain (blkdd in the I/O presets) runs none of its own, only its backend.
    const workers = new Set(scenario.domains.filter((d) => d.role !== 'dom0' && d.workload !== undefined).map((d) => d.name));
    const listedGuests = workers.size;
    it(`preset ${id} at the default pace draws at least 50 points over a range of simulated time, every guest measured in many`, async () => {
      const b = await openBrowser(server.url, { width: 1366, height: 768 });
      const { page } = b;
      try {
        await loadPreset(page, id, name);
        await page.getByTestId('run').click();
        await page.getByTestId('results-table').waitFor({ timeout: 120_000 });
        const v = await labView(page);
        const guests = v.results!.domains.filter((d) => d.role !== 'dom0' && workers.has(d.name)).map((d) => d.name);
        expect(guests.length).toBe(listedGuests);
        const measured: Record<string, number> = {};
        for (const g of guests) {
          // The chart has a point for every snapshot from the guest's first measured interval while
          // its workload runs (between its turns on the pCPU the line keeps its last value).
          let points = 0;
          let fresh = 0;
          let prev = -1;
          let started = false;
          for (const s of v.snapshots) {
            const d = s.domains.find((x) => x.name === g);
            if (!d) continue;
            const ran = d.cycles !== prev;
            if (ran) fresh++;
            if (ran && d.ops > 0) started = true;
            if (started && (ran || d.state === 'running')) points++;
            prev = d.cycles;
          }
          measured[g] = fresh;
          // The credit scheduler shares the pCPU by time, so a light guest can finish well before the
          // others (then its line ends): the run as a whole has 50 points or more (below), and every
          // guest was measured in many intervals, not in one or two.
          expect(points, `${id} ${g}`).toBeGreaterThanOrEqual(10);
          expect(fresh, `${id} ${g}`).toBeGreaterThanOrEqual(10);
        }
        console.log(`[e2e] ${id}: ${v.snapshots.length} snapshots, ${((ts0(v) / HZ) * 1e3).toFixed(1)} ms simulated; intervals measured per guest ${JSON.stringify(measured)}`);
        // x is simulated time: the points spread over the run, not stacked at one x.
        const ts = v.snapshots.map((s) => s.t);
        expect(new Set(ts).size).toBeGreaterThanOrEqual(50);
        for (let i = 1; i < ts.length; i++) expect(ts[i]!).toBeGreaterThan(ts[i - 1]!);
        const span = ts.at(-1)! - ts[0]!;
        // At least half of the busiest guest's measured cycles lie between the first and last point.
        const busiest = Math.max(...v.results!.domains.map((d) => d.cycles.total));
        expect(span).toBeGreaterThan(busiest / 2);
        await shot(page, `live-1-${id}-finished-1366`);
        expect(b.errors).toEqual([]);
      } finally {
        await b.close();
      }
    });
  }

  it('a slower pace chosen while running slows simulated time to that pace', async () => {
    const b = await openBrowser(server.url, { width: 1920, height: 1080 });
    const { page } = b;
    try {
      await openScenarioFile(page, dir, smallRun('live-pace', 50_000_000));
      await page.getByTestId('run').click();
      await expect.poll(async () => (await labView(page)).progress?.elapsedMs ?? 0, { timeout: 30_000 }).toBeGreaterThan(500);
      // 1 ms of simulated time per real second: 3e6 cycles per second at 3 GHz.
      await page.getByTestId('pace').selectOption({ label: '1 ms/s' });
      await page.waitForTimeout(700);
      const a = (await labView(page)).progress!;
      await page.waitForTimeout(3000);
      const z = (await labView(page)).progress!;
      const wallS = (z.elapsedMs - a.elapsedMs) / 1000;
      const simS = (z.clockCycles! - a.clockCycles!) / HZ;
      expect(wallS).toBeGreaterThan(2);
      // Never faster than the pace (one operation of slack); at least half of it on any machine.
      expect(simS).toBeLessThanOrEqual(1e-3 * wallS + 1e-4);
      expect(simS).toBeGreaterThanOrEqual(0.5e-3 * wallS);
      await shot(page, 'live-2-paced-1920');
      await page.getByTestId('stop').click();
      await page.getByTestId('results-table').waitFor({ timeout: 30_000 });
      expect(b.errors).toEqual([]);
    } finally {
      await b.close();
    }
  });

  it('runs until stopped: the workload repeats until Stop, and the results cover every run', async () => {
    const b = await openBrowser(server.url, { width: 1366, height: 768 });
    const { page } = b;
    const planned = 100_000;
    try {
      await openScenarioFile(page, dir, smallRun('live-repeat', planned));
      await page.getByTestId('pace').selectOption({ label: 'max' });
      await page.getByTestId('repeat').check();
      await page.getByTestId('run').click();
      // Progress counts runs, not a percentage of one.
      await expect.poll(() => page.getByTestId('progress-text').textContent(), { timeout: 60_000 }).toMatch(/^run ([3-9]|\d\d+)$/);
      expect(await page.getByTestId('sim-state').textContent()).toBe('running');
      await shot(page, 'live-3-repeating-1366');
      await page.getByTestId('stop').click();
      await page.getByTestId('results-table').waitFor({ timeout: 30_000 });
      const v = await labView(page);
      const g1 = v.results!.domains.find((d) => d.name === 'g1')!;
      // At least two whole runs' operations: the results are of the whole run, not the last repetition.
      expect(g1.ops).toBeGreaterThanOrEqual(2 * planned);
      await expect.poll(() => page.getByTestId('results-heading').textContent()).toMatch(/whole run until Stop: \d+ runs/);
      await shot(page, 'live-4-repeat-results-1366');
      expect(b.errors).toEqual([]);
    } finally {
      await b.close();
    }
  });

  it('after a run: legends show the latest value, cards and table agree on the whole run, the timer and dom0 say what is true', async () => {
    for (const [width, height] of [
      [1366, 768],
      [1920, 1080],
    ] as const) {
      const b = await openBrowser(server.url, { width, height });
      const { page } = b;
      try {
        // Before any run the timer shows no dangling separator.
        const timer = page.locator('header .progress .muted.num');
        expect((await timer.textContent())!.trim()).not.toMatch(/·\s*$/);
        await openScenarioFile(page, dir, smallRun('live-after', 300_000));
        const pace = page.getByTestId('pace');
        if (await pace.count()) await pace.selectOption({ label: 'max' });
        await page.getByTestId('run').click();
        await page.getByTestId('results-table').waitFor({ timeout: 60_000 });
        const v = await labView(page);
        expect(v.state).toBe('finished');

        // Legend: the g1 line's latest value, a number, with the mouse nowhere near the chart.
        await page.mouse.move(1, 1);
        const legendValues = page.locator('.chart .u-legend .u-series:nth-child(3) .u-value');
        await expect.poll(() => legendValues.count()).toBe(4);
        for (const t of await legendValues.allTextContents()) expect(t.trim()).toMatch(/^-?\d[\d.,\u2009kMG]*$/);

        // The card's whole-run cycles/op = the table's = total cycles / ops from the results.
        const g1 = v.results!.domains.find((d) => d.name === 'g1')!;
        const want = fmt1(g1.cycles.total / g1.ops);
        const card = page.locator('.card[data-domain="g1"]');
        expect((await card.locator('[data-field="run-cycles-per-op"]').textContent())!.replace(/\s*cyc\/op$/, '').trim()).toBe(want);
        expect((await page.locator('[data-result-domain="g1"] [data-field="cyclesPerOp"]').textContent())!.trim()).toBe(want);
        // Each figure says what it covers.
        await expect.poll(() => card.textContent()).toContain('whole run');
        await expect.poll(() => card.textContent()).toContain('last interval');

        // The timer after the run: elapsed and simulated time, no dangling separator.
        const text = (await timer.textContent())!.trim();
        expect(text).not.toMatch(/·\s*$/);
        expect(text).toMatch(/^\d+:\d\d · [\d.]+\s?(ns|µs|ms|s) simulated$/);

        // dom0 runs the toolstack, which waits for a command: its vCPU is blocked, and the card says why.
        const dom0 = page.locator('.card').filter({ has: page.locator('.name', { hasText: /^(Domain-0|dom0)$/ }) });
        await expect.poll(() => dom0.locator('.st').textContent()).toBe('● blocked · toolstack idle');
        await expect.poll(() => page.locator('.card[data-domain="g1"] .st').textContent()).toBe('● blocked · idle loop');
        await shot(page, `live-5-after-run-${width}`);
        expect(b.errors).toEqual([]);
      } finally {
        await b.close();
      }
    }
  });
});

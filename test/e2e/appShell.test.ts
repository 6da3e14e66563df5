/**
 * The whole path of the app shell, as a user takes it in browser mode: open the app, run a
 * scenario in the worker, see its results, find the run saved, restart the server on the same
 * database, find it again with the same numbers, delete it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDataDir, measureFrames, openBrowser, openScenarioFile, report, requireBuild, shot, startServer, type Browser } from './harness.js';
import type { RunningServer } from '../../electron/host/server.js';
import { PRESETS } from '../../core/api/presets.js';

/** The start-up scenario: the walk-4k preset; its PV and nested (hap) guests. */
const START = PRESETS.find((p) => p.id === 'walk-4k')!.scenario;
const PV = START.domains.find((d) => d.mode === 'pv')!.name;
const HAP = START.domains.find((d) => d.mode === 'hap')!.name;

describe('app shell in browser mode', () => {
  let dataDir: string;
  let server: RunningServer;
  let b: Browser;

  beforeAll(async () => {
    requireBuild();
    dataDir = freshDataDir('shell');
    server = await startServer(dataDir);
    b = await openBrowser(server.url);
  });
  afterAll(async () => {
    await b?.close();
    await server?.close();
  });

  it('runs a scenario, saves it, keeps it across a server restart, and deletes it', async () => {
    const { page } = b;
    await page.getByTestId('run').waitFor();
    await shot(page, 'shell-1-open');
    // The start-up scenario is the walk-4k preset (issue 10): its names are read from the preset.
    expect(await page.getByTestId('scenario-name').textContent()).toBe(START.name);

    await page.getByTestId('run').click();
    const results = page.getByTestId('results-table');
    await results.waitFor({ timeout: 120_000 });
    await shot(page, 'shell-2-results');
    // The architectural walk lengths: 4 references one-dimensional (PV), (4+1)(4+1)-1 = 24 nested.
    const refs = async (name: string) => (await page.locator(`[data-result-domain="${name}"] [data-field="refsPerWalk"]`).textContent())?.trim();
    expect(await refs(PV)).toBe('4.00');
    expect(await refs(HAP)).toBe('24.00');
    const cpo = async (name: string) => (await page.locator(`[data-result-domain="${name}"] [data-field="cyclesPerOp"]`).textContent())?.trim();
    const g1cpo = await cpo(START.domains[0]!.name);
    expect(await page.getByTestId('audit').textContent()).toBe('clean');

    await page.locator('nav [data-view="history"]').click();
    const row = page.locator('[data-testid="runs-table"] tbody tr[data-run-id]');
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => row.first().locator('.status').textContent()).toBe('finished');
    const headline = await row.first().locator('[data-field="headline-cpo"]').textContent();
    expect(headline?.trim()).toBe(g1cpo);
    await shot(page, 'shell-3-history');

    // Restart the server on the same database: a new launch, a new token, the same run.
    await b.close();
    await server.close();
    server = await startServer(dataDir);
    b = await openBrowser(server.url);
    const page2 = b.page;
    await page2.locator('nav [data-view="history"]').click();
    const row2 = page2.locator('[data-testid="runs-table"] tbody tr[data-run-id]');
    await expect.poll(() => row2.count(), { timeout: 10_000 }).toBe(1);
    expect((await row2.first().locator('[data-field="headline-cpo"]').textContent())?.trim()).toBe(g1cpo);
    await row2.first().getByRole('button', { name: 'Open' }).click();
    await page2.getByTestId('run-detail').waitFor();
    expect((await page2.locator(`[data-testid="run-detail"] [data-result-domain="${HAP}"] [data-field="refsPerWalk"]`).textContent())?.trim()).toBe('24.00');
    await shot(page2, 'shell-4-after-restart');

    await row2.first().getByRole('button', { name: 'Delete…' }).click();
    await shot(page2, 'shell-5-confirm-delete');
    await page2.getByTestId('confirm-delete').click();
    await expect.poll(() => row2.count(), { timeout: 10_000 }).toBe(0);
    await shot(page2, 'shell-6-deleted');
    expect(b.errors).toEqual([]);
  });

  it('keeps the UI thread responsive while a long simulation runs in the worker', async () => {
    const { page } = b;
    await page.locator('nav [data-view="run"]').click();
    // A long run, opened from a scenario file the way a user does (File → Open): four guests of
    // 100 million accesses (the most a workload takes) on two pCPUs run for minutes, so Stop is
    // still enabled when the test reaches it — the click never races the run's end.
    const guest = (name: string, mode: string) => ({
      name, mode, memoryMiB: 256, vcpus: 1, workload: { kind: 'random-access', workingSetMiB: 64, accesses: 100_000_000 },
    });
    await openScenarioFile(page, dataDir, {
      name: 'long-run', machine: { memoryMiB: 2048, pcpus: 2 }, hypervisor: 'xen',
      domains: [guest('g1', 'pv'), guest('g2', 'hap'), guest('g3', 'shadow'), guest('g4', 'hap')],
    });
    await page.getByTestId('run').click();
    await expect.poll(() => page.getByTestId('sim-state').textContent(), { timeout: 60_000 }).toBe('running');
    const frames = await measureFrames(page, 4000);
    report('frame-times-shell', frames);
    await shot(page, 'shell-7-long-run');
    await page.getByTestId('stop').click();
    await expect.poll(() => page.getByTestId('sim-state').textContent(), { timeout: 10_000 }).toBe('stopped');
    // A blocked UI thread shows up as frame gaps of seconds; a responsive one stays near 16 ms.
    expect(frames.frames).toBeGreaterThan(60);
    expect(frames.max).toBeLessThan(500);
  });
});

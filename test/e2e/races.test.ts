/**
 * Answers from the simulation worker against the real renderer and worker in Chromium, with the
 * races made certain instead of left to timing: the worker's messages to the page are held (a gate
 * installed by the harness) until it has answered every request in flight, then delivered in its
 * order — an answer to an older request always arrives after the newer request was sent. The page
 * must show the newest request's answer, never an older one under the newer settings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { freshDataDir, heldFromWorker, holdWorker, openBrowser, releaseWorker, requireBuild, shot, startServer, type Browser } from './harness.js';
import type { RunningServer } from '../../electron/host/server.js';
import { PRESETS } from '../../core/api/presets.js';

/** The start-up scenario is the walk-4k preset (issue 10): its guests' names are read from it. */
const START = PRESETS.find((p) => p.id === 'walk-4k')!.scenario;
const HAP = START.domains.find((d) => d.mode === 'hap')!.name;

/** A worker walk boots the scenario first: allow for a slow machine. */
const WALK_MS = 60_000;

const count = (page: Page) => page.getByTestId('walk-count').textContent();
const levels = (page: Page) => page.locator('[data-testid="walk-formula"] + span').textContent();
const cells = (page: Page) => page.locator('[data-testid="walk-grid"] [data-n]').count();

async function openWalkOn(page: Page, domain: string, expected: string): Promise<void> {
  await page.locator('nav [data-view="walk"]').click();
  await page.getByTestId('walk-domain').selectOption(domain);
  await expect.poll(() => count(page), { timeout: WALK_MS }).toBe(expected);
}

describe('answers from the worker reach the request they answer', () => {
  let server: RunningServer;
  let b: Browser;

  beforeAll(async () => {
    requireBuild();
    server = await startServer(freshDataDir('races'));
  });
  afterAll(async () => {
    await b?.close();
    await server?.close();
  });

  it('walk: two settings changes in flight at once — the grid shows the second one’s walk, not the first’s', async () => {
    b = await openBrowser(server.url);
    const { page } = b;
    await openWalkOn(page, HAP, '0 / 24');

    await holdWorker(page);
    // 4K guest / 2M host: 19 references; then 2M / 2M: (3+1)(3+1)−1 = 15.
    await page.getByTestId('walk-host-page').selectOption('2m');
    await page.getByTestId('walk-guest-page').selectOption('2m');
    await heldFromWorker(page, 'walk-result', 2, WALK_MS);
    expect(await releaseWorker(page)).toBeGreaterThanOrEqual(2);

    await expect.poll(() => count(page)).toBe('0 / 15');
    expect(await page.getByTestId('walk-formula').textContent()).toBe('(n+1)(m+1)−1 = (3+1)(3+1)−1 = 15');
    expect(await levels(page)).toBe('n = 3 guest levels (2 MiB pages), m = 3 host levels (2 MiB)');
    expect(await cells(page)).toBe(15);
    expect(await page.getByTestId('walk-busy').count()).toBe(0);
    await shot(page, 'race-walk-two-changes');
    expect(b.errors).toEqual([]);
    await b.close();
  });

  it('walk, as a user reported it: warm, End, cold, 2 MiB host pages — the 19-reference walk, not 24 / 24', async () => {
    b = await openBrowser(server.url);
    const { page } = b;
    // Load the walk-4k preset.
    await page.locator('nav [data-view="scenario"]').click();
    await page.getByTestId('presets-toggle').click();
    await page.getByTestId('load-preset-walk-4k').click();
    if (await page.getByTestId('confirm-preset').count()) await page.getByTestId('confirm-preset').click();
    await expect.poll(() => page.getByTestId('scenario-name').textContent()).toBe('seed-C7-walk-4k');

    // Open Walk, pick hap, Step 24 times, Reset.
    await openWalkOn(page, 'hap', '0 / 24');
    for (let i = 0; i < 24; i++) await page.getByTestId('walk-step').click();
    expect(await count(page)).toBe('24 / 24');
    await page.getByTestId('walk-reset').click();
    expect(await count(page)).toBe('0 / 24');
    // Focus cell 1 and press → three times.
    await page.locator('[data-testid="walk-grid"] [data-n="1"]').focus();
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight');
    expect(await count(page)).toBe('3 / 24');

    // Tick warm, press End, tick cold, set host pages to 2 MiB — each answer held until all three
    // requests are in flight, so the first two answers arrive after the last request was sent.
    await holdWorker(page);
    await page.getByTestId('walk-warm').check();
    await page.getByTestId('walk-end').click();
    expect(await count(page)).toBe('24 / 24');
    await page.getByTestId('walk-cold').check();
    await page.getByTestId('walk-host-page').selectOption('2m');
    await heldFromWorker(page, 'walk-result', 3, WALK_MS);
    await releaseWorker(page);

    // At the end of the old walk, so at the end of the new one: 19 of 19.
    await expect.poll(() => count(page)).toBe('19 / 19');
    expect(await levels(page)).toBe('n = 4 guest levels (4 KiB pages), m = 3 host levels (2 MiB)');
    expect(await page.getByTestId('walk-formula').textContent()).toBe('(n+1)(m+1)−1 = (4+1)(3+1)−1 = 19');
    expect(await cells(page)).toBe(19);
    expect(await page.locator('[data-testid="walk-grid"] [data-n="19"]').getAttribute('data-col-label')).toBe('hL2');
    // The shown walk is the cold one asked for last: every reference made goes to memory or the data cache.
    expect(await page.locator('[data-testid="walk-grid"] [data-source="psc"], [data-testid="walk-grid"] [data-source="nested-tlb"]').count()).toBe(0);
    // And it can be stepped again from the start.
    await page.getByTestId('walk-reset').click();
    await page.getByTestId('walk-step').click();
    expect(await count(page)).toBe('1 / 19');
    await shot(page, 'race-walk-user-report');
    expect(b.errors).toEqual([]);
    await b.close();
  });

  it('compare: a cancelled compare’s late “cancelled” does not reject the next compare', async () => {
    b = await openBrowser(server.url);
    const { page } = b;
    await page.getByTestId('run').waitFor();
    const scenario = {
      name: 'race-compare',
      machine: { memoryMiB: 1024, pcpus: 1 },
      hypervisor: 'xen',
      domains: [{ name: 'g1', mode: 'pv', memoryMiB: 128, vcpus: 1, workload: { kind: 'update-vs-access', workingSetMiB: 16, accesses: 5000, updatesPerKiloAccess: 10 } }],
    };
    // Compare, cancel it and compare again in one task: all three requests are in flight before
    // the worker answers any, so the first compare's answer ("cancelled") arrives after the second
    // was sent. Driven through the page's own SimWorker (the Compare view disables Run while busy).
    const out = await page.evaluate(async (s) => {
      type Sim = {
        compare(s: unknown, modes: string[]): Promise<{ result: { modes: string[] } }>;
        cancelCompare(): void;
        compareBusy: unknown;
        error: unknown;
      };
      const sim = (window as unknown as { __hyperlabTestHooks: { lab: { sim: Sim } } }).__hyperlabTestHooks.lab.sim;
      const settle = (p: Promise<{ result: { modes: string[] } }>) =>
        p.then(
          (v) => ({ ok: true, modes: v.result.modes }),
          (e: Error) => ({ ok: false, message: e.message }),
        );
      const first = settle(sim.compare(s, ['pv', 'hap']));
      sim.cancelCompare();
      const second = settle(sim.compare(s, ['shadow', 'hap']));
      return { first: await first, second: await second, busy: sim.compareBusy, error: sim.error };
    }, scenario);
    expect(out.first).toEqual({ ok: false, message: 'superseded by a new comparison' });
    expect(out.second).toEqual({ ok: true, modes: ['shadow', 'hap'] });
    expect(out.busy).toBeNull();
    expect(out.error).toBeNull();
    expect(b.errors).toEqual([]);
    await b.close();
  });
});

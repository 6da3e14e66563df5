/**
 * The walk view as a user takes it in browser mode, against the real worker: pick the HAP guest,
 * step to the 24th reference of its 4K/4K walk, check where it sits, switch the host pages to
 * 2 MiB and see 19 expected; then the same in the dark theme at 1920×1080, and an impossible
 * combination explained at its field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { freshDataDir, openBrowser, requireBuild, shot, startServer, type Browser } from './harness.js';
import type { RunningServer } from '../../electron/host/server.js';
import { PRESETS } from '../../core/api/presets.js';

/** The start-up scenario is the walk-4k preset (issue 10): its guests' names are read from it. */
const START = PRESETS.find((p) => p.id === 'walk-4k')!.scenario;
const HAP = START.domains.find((d) => d.mode === 'hap')!.name;
const PV = START.domains.find((d) => d.mode === 'pv')!.name;

/** A worker walk boots the scenario first: allow for a slow machine. */
const WALK_MS = 60_000;

/** Console and page errors seen in the browser (none are expected). */
function viewErrors(b: Browser): string[] {
  return b.errors;
}

async function openWalk(page: Page): Promise<void> {
  await page.locator('nav [data-view="walk"]').click();
  await page.getByTestId('walk-domain').waitFor();
}

/** Nothing in the view is wider than the window: no horizontal scrolling, no cut-off grid. */
async function fitsWidth(page: Page): Promise<{ view: boolean; grid: boolean; side: boolean }> {
  return page.evaluate(() => {
    const view = document.querySelector('section[aria-label="Walk"]') as HTMLElement;
    const grid = document.querySelector('[data-testid="walk-grid"]') as HTMLElement;
    const side = document.querySelector('[data-testid="walk-view"] aside') as HTMLElement | null;
    const r = side?.getBoundingClientRect();
    return {
      view: view.scrollWidth <= view.clientWidth,
      grid: grid.scrollWidth <= grid.clientWidth,
      side: !r || (r.right <= window.innerWidth && grid.getBoundingClientRect().right <= r.left),
    };
  });
}

describe('walk view in browser mode', () => {
  let server: RunningServer;
  let b: Browser;

  beforeAll(async () => {
    requireBuild();
    server = await startServer(freshDataDir('walk'));
    b = await openBrowser(server.url);
  });
  afterAll(async () => {
    await b?.close();
    await server?.close();
  });

  it('steps a HAP 4K/4K walk to its 24th reference, then redraws it with 2 MiB host pages (19)', async () => {
    const { page } = b;
    await openWalk(page);
    await page.getByTestId('walk-domain').selectOption(HAP);
    await expect.poll(() => page.getByTestId('walk-count').textContent(), { timeout: WALK_MS }).toBe('0 / 24');
    expect(await page.locator('[data-testid="walk-view"] .badge').first().textContent()).toBe('HAP');
    expect(await page.locator('[data-testid="walk-grid"] [data-n]').count()).toBe(24);
    await shot(page, 'walk-1-open');

    const step = page.getByTestId('walk-step');
    for (let i = 0; i < 12; i++) await step.click();
    expect(await page.getByTestId('walk-count').textContent()).toBe('12 / 24');
    await shot(page, 'walk-2-step12');
    for (let i = 0; i < 12; i++) await step.click();
    expect(await page.getByTestId('walk-count').textContent()).toBe('24 / 24');
    const last = page.locator('[data-testid="walk-grid"] [data-n="24"]');
    expect(await last.getAttribute('data-state')).toBe('current');
    // The 24th reference is the final gPA's EPT level-1 read: data gPA row, hL1 column.
    expect(await last.getAttribute('data-row-label')).toBe('data gPA');
    expect(await last.getAttribute('data-col-label')).toBe('hL1');
    expect(await last.getAttribute('data-guest-level')).toBe('0');
    expect(await last.getAttribute('data-host-level')).toBe('1');
    expect(await page.getByTestId('walk-translation').textContent()).toMatch(/maddr 0x[0-9a-f]+, 4 KiB page/);
    expect(await fitsWidth(page)).toEqual({ view: true, grid: true, side: true });
    await shot(page, 'walk-3-step24');

    // The keyboard path, with the grid focused.
    await page.getByTestId('walk-grid').focus();
    await page.keyboard.press('ArrowLeft');
    expect(await page.getByTestId('walk-count').textContent()).toBe('23 / 24');
    await page.keyboard.press('Home');
    expect(await page.getByTestId('walk-count').textContent()).toBe('0 / 24');
    await page.keyboard.press('End');
    expect(await page.getByTestId('walk-count').textContent()).toBe('24 / 24');

    await page.getByTestId('walk-host-page').selectOption('2m');
    // Guest 4K, host 2M: (4+1)(3+1)−1 = 19; the view stays at the end of the new walk.
    await expect.poll(() => page.getByTestId('walk-count').textContent(), { timeout: WALK_MS }).toBe('19 / 19');
    expect(await page.getByTestId('walk-formula').textContent()).toBe('(n+1)(m+1)−1 = (4+1)(3+1)−1 = 19');
    expect(await page.locator('[data-testid="walk-grid"] [data-n]').count()).toBe(19);
    expect(await page.locator('[data-testid="walk-grid"] [data-n="19"]').getAttribute('data-col-label')).toBe('hL2');
    await shot(page, 'walk-4-host2m');

    // Warm: one earlier walk of this address filled the caches; fewer references are made.
    await page.getByTestId('walk-warm').check();
    await expect.poll(() => page.locator('[data-testid="walk-grid"] [data-source="psc"]').count(), { timeout: WALK_MS }).toBeGreaterThan(0);
    await shot(page, 'walk-5-warm');
    expect(viewErrors(b)).toEqual([]);
  });

  it('explains at the field that a PV guest cannot have 2 MiB pages', async () => {
    const { page } = b;
    await page.getByTestId('walk-domain').selectOption(PV);
    await expect.poll(() => page.getByTestId('walk-count').textContent(), { timeout: WALK_MS }).toMatch(/ \/ 4$/);
    await page.getByTestId('walk-guest-page').selectOption('2m');
    await expect.poll(() => page.getByTestId('walk-guest-page-error').textContent()).toMatch(/PV guests get no superpages/);
    await shot(page, 'walk-6-pv-invalid');
    await page.getByTestId('walk-guest-page').selectOption('4k');
    await expect.poll(() => page.getByTestId('walk-guest-page-error').count()).toBe(0);
    await page.getByTestId('walk-reset').click();
    await page.getByTestId('walk-step').click();
    await page.getByTestId('walk-step').click();
    expect(await page.getByTestId('walk-count').textContent()).toBe('2 / 4');
    expect(await page.locator('[data-testid="walk-grid"] tbody tr').count()).toBe(1);
    await shot(page, 'walk-7-pv');
    expect(viewErrors(b)).toEqual([]);
  });

  it('fits 1920×1080 in the dark theme', async () => {
    const dark = await openBrowser(server.url, { width: 1920, height: 1080, dark: true });
    try {
      const { page } = dark;
      await openWalk(page);
      await expect.poll(() => page.getByTestId('walk-count').textContent(), { timeout: WALK_MS }).toBe('0 / 24');
      for (let i = 0; i < 9; i++) await page.getByTestId('walk-step').click();
      expect(await fitsWidth(page)).toEqual({ view: true, grid: true, side: true });
      await shot(page, 'walk-8-dark-1920');
      expect(viewErrors(dark)).toEqual([]);
    } finally {
      await dark.close();
    }
  });
});

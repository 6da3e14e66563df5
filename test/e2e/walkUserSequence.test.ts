/**
 * Issue 10, the walk view as the user drove it, step for step and at the user's pace (nothing held
 * or forced; races.test.ts forces the same race with the worker gate): load walk-4k, open Walk,
 * pick hap, Step 24 times, Reset, focus cell 1 and press → three times, tick warm, press End, tick
 * cold, set host pages to 2 MiB. The panel must end on the 2 MiB-host walk, at its end:
 * (n+1)(m+1)−1 references with n = 4 guest levels (4 KiB pages) and m = 3 host levels (2 MiB).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { freshDataDir, openBrowser, requireBuild, shot, startServer, type Browser } from './harness.js';
import type { RunningServer } from '../../electron/host/server.js';

/** A worker walk boots the scenario first: allow for a slow machine. */
const WALK_MS = 60_000;

/** References of a nested walk: each of n guest levels and the final gPA take m host reads, plus n guest reads. */
const nested = (n: number, m: number) => (n + 1) * (m + 1) - 1;
/** x86-64 4-level paging: a 4 KiB page takes 4 levels (PML4, PDPT, PD, PT), a 2 MiB page 3, a 1 GiB page 2. */
const LEVELS = { '4k': 4, '2m': 3, '1g': 2 } as const;

const count = (page: Page) => page.getByTestId('walk-count').textContent();

describe('walk view, the user’s sequence from issue 10', () => {
  let server: RunningServer;
  let b: Browser;

  beforeAll(async () => {
    requireBuild();
    server = await startServer(freshDataDir('walk-user'));
    b = await openBrowser(server.url, { width: 1366, height: 768 });
  });
  afterAll(async () => {
    await b?.close();
    await server?.close();
  });

  it('warm, End, cold, 2 MiB host pages: ends at the end of the 2 MiB-host walk', async () => {
    const { page } = b;
    const full = nested(LEVELS['4k'], LEVELS['4k']);
    const want = nested(LEVELS['4k'], LEVELS['2m']);
    expect([full, want]).toEqual([24, 19]);

    // Load the walk-4k preset.
    await page.locator('nav [data-view="scenario"]').click();
    await page.getByTestId('presets-toggle').click();
    await page.getByTestId('load-preset-walk-4k').click();
    if (await page.getByTestId('confirm-preset').count()) await page.getByTestId('confirm-preset').click();
    await expect.poll(() => page.getByTestId('scenario-name').textContent()).toBe('seed-C7-walk-4k');

    // Open Walk, pick hap.
    await page.locator('nav [data-view="walk"]').click();
    await page.getByTestId('walk-domain').selectOption('hap');
    await expect.poll(() => count(page), { timeout: WALK_MS }).toBe(`0 / ${full}`);

    // Step 24 times, Reset.
    for (let i = 0; i < full; i++) await page.getByTestId('walk-step').click();
    expect(await count(page)).toBe(`${full} / ${full}`);
    await page.getByTestId('walk-reset').click();
    expect(await count(page)).toBe(`0 / ${full}`);

    // Focus cell 1 and press → three times.
    await page.locator('[data-testid="walk-grid"] [data-n="1"]').focus();
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight');
    expect(await count(page)).toBe(`3 / ${full}`);

    // Tick warm, press End, tick cold, set host pages to 2 MiB — as fast as a user clicks, no waiting.
    await page.getByTestId('walk-warm').check();
    await page.getByTestId('walk-end').click();
    await page.getByTestId('walk-cold').check();
    await page.getByTestId('walk-host-page').selectOption('2m');

    // The walk with 2 MiB host pages, at its end (the user was at the end of the walk before).
    await expect.poll(() => count(page), { timeout: WALK_MS }).toBe(`${want} / ${want}`);
    await expect.poll(() => page.getByTestId('walk-busy').count(), { timeout: WALK_MS }).toBe(0);
    expect(await count(page)).toBe(`${want} / ${want}`);
    expect(await page.locator('[data-testid="walk-formula"] + span').textContent()).toBe('n = 4 guest levels (4 KiB pages), m = 3 host levels (2 MiB)');
    expect(await page.locator('[data-testid="walk-grid"] [data-n]').count()).toBe(want);
    // Cold, as asked last: no reference was answered by a paging-structure cache or the nested TLB.
    expect(await page.locator('[data-testid="walk-grid"] [data-source="psc"], [data-testid="walk-grid"] [data-source="nested-tlb"]').count()).toBe(0);
    // At the end, Step and End have nothing left to do; Back and Reset do.
    expect(await page.getByTestId('walk-step').isDisabled()).toBe(true);
    expect(await page.getByTestId('walk-end').isDisabled()).toBe(true);
    expect(await page.getByTestId('walk-reset').isDisabled()).toBe(false);
    await page.getByTestId('walk-reset').click();
    await page.getByTestId('walk-step').click();
    expect(await count(page)).toBe(`1 / ${want}`);
    await page.getByTestId('walk-end').click();
    expect(await count(page)).toBe(`${want} / ${want}`);
    await shot(page, 'walk-user-sequence-1366');
    await page.setViewportSize({ width: 1920, height: 1080 });
    await shot(page, 'walk-user-sequence-1920');
    expect(b.errors).toEqual([]);
  });
});

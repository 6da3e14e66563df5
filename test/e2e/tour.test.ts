/**
 * Every view at 1280×800 and 1920×1080, light and dark, after a live run of four guests streaming
 * (frame times measured while they stream), written to test-results/screenshots/ for a person to
 * look at; and keyboard-only navigation with visible focus.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDataDir, measureFrames, openBrowser, openScenarioFile, report, requireBuild, shot, startServer } from './harness.js';
import type { RunningServer } from '../../electron/host/server.js';

const VIEWS = ['scenario', 'run', 'compare', 'walk', 'history'] as const;
const SIZES = [
  { width: 1280, height: 800 },
  { width: 1920, height: 1080 },
];

function fourGuests(accesses: number) {
  const g = (name: string, mode: string, extra: object = {}) => ({
    name,
    mode,
    memoryMiB: 192,
    vcpus: 1,
    ...extra,
    workload: { kind: 'update-vs-access', updatesPerKiloAccess: 5, workingSetMiB: 32, accesses },
  });
  return {
    name: 'four-guests',
    description: 'PV, shadow, HAP 4k and HAP 2M guests streaming side by side.',
    machine: { memoryMiB: 2048, pcpus: 2 },
    hypervisor: 'xen',
    domains: [g('pv1', 'pv'), g('sh1', 'shadow'), g('hap4k', 'hap'), g('hap2m', 'hap', { guestPageSize: '2m', hostPageSize: '2m' })],
  };
}

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

  it('stays responsive with four domains streaming, and shows every view in both themes and sizes', async () => {
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
        await openScenarioFile(page, dataDir, fourGuests(3_000_000));
        await page.getByTestId('run').click();
        await expect.poll(() => page.getByTestId('sim-state').textContent(), { timeout: 60_000 }).toBe('running');
        if (!dark && size.width === 1280) {
          const frames = await measureFrames(page, 5000);
          report('frame-times-four-domains', frames);
          expect(frames.max).toBeLessThan(500);
        } else {
          await page.waitForTimeout(2500);
        }
        await shot(page, `view-run-live-${tag}`);
        await page.getByTestId('stop').click();
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
          await page.waitForTimeout(400);
          await shot(page, `view-${v}-${tag}`);
        }
        expect(b.errors).toEqual([]);
        await b.close();
      }
    }
  });

  it('reaches every view and the run controls from the keyboard, with focus visible', async () => {
    const b = await openBrowser(server.url);
    const { page } = b;
    await page.getByTestId('run').waitFor();
    for (const [i, v] of VIEWS.entries()) {
      await page.keyboard.press(`Alt+${i + 1}`);
      await expect.poll(() => page.locator(`nav [data-view="${v}"]`).getAttribute('aria-current')).toBe('page');
    }
    // Tab moves through the top bar's controls; the focused one has a visible outline.
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    let sawRun = false;
    for (let i = 0; i < 12 && !sawRun; i++) {
      await page.keyboard.press('Tab');
      sawRun = (await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))) === 'run';
    }
    expect(sawRun).toBe(true);
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    expect(outline).not.toBe('none');
    await shot(page, 'keyboard-focus-run');
    await b.close();
  });
});

/**
 * Every view and the run controls reachable from the keyboard, with focus visible.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDataDir, openBrowser, requireBuild, shot, startServer } from './harness.js';
import type { RunningServer } from '../../electron/host/server.js';

const VIEWS = ['scenario', 'run', 'compare', 'walk', 'topology', 'history', 'reproductions'] as const;

describe('keyboard', () => {
  let server: RunningServer;
  beforeAll(async () => {
    requireBuild();
    server = await startServer(freshDataDir('keyboard'));
  });
  afterAll(async () => {
    await server?.close();
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

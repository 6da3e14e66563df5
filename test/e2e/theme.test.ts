/**
 * The "Auto theme" (system) setting follows the OS's colour scheme, also when the OS switches
 * while the app is open (Chromium's emulated prefers-color-scheme changes live, as the OS's does).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { freshDataDir, openBrowser, requireBuild, shot, startServer, type Browser } from './harness.js';
import type { RunningServer } from '../../electron/host/server.js';

const theme = (page: Page) => page.evaluate(() => document.documentElement.dataset.theme);
/** The page's background as drawn, so the check is what a user sees, not only an attribute. */
const background = (page: Page) => page.evaluate(() => getComputedStyle(document.body).backgroundColor);

describe('theme in browser mode', () => {
  let server: RunningServer;
  let b: Browser;

  beforeAll(async () => {
    requireBuild();
    server = await startServer(freshDataDir('theme'));
    b = await openBrowser(server.url);
  });
  afterAll(async () => {
    await b?.close();
    await server?.close();
  });

  it('with Auto theme, switches when the OS switches while the app is open; a chosen theme stays', async () => {
    const { page } = b;
    await page.getByTestId('run').waitFor();
    const picker = page.locator('nav .theme select');
    expect(await picker.inputValue()).toBe('system');
    expect(await theme(page)).toBe('light');
    const light = await background(page);

    await page.emulateMedia({ colorScheme: 'dark' });
    await expect.poll(() => theme(page)).toBe('dark');
    expect(await background(page)).not.toBe(light);
    await shot(page, 'theme-os-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    await expect.poll(() => theme(page)).toBe('light');
    expect(await background(page)).toBe(light);

    // A chosen theme is not the OS's: it ignores the switch.
    await picker.selectOption('light');
    await page.emulateMedia({ colorScheme: 'dark' });
    // The page has seen the switch (the media query matches) and kept its theme.
    await expect.poll(() => page.evaluate(() => matchMedia('(prefers-color-scheme: dark)').matches)).toBe(true);
    expect(await theme(page)).toBe('light');
    // Back to Auto: the OS's current scheme, dark.
    await picker.selectOption('system');
    await expect.poll(() => theme(page)).toBe('dark');
    expect(b.errors).toEqual([]);
  });
});

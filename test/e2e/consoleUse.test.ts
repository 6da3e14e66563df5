import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { freshDataDir, openBrowser, requireBuild, shot, startServer, type Browser } from './harness.js';
import type { RunningServer } from '../../electron/host/server.js';

/** Where the last row whose text matches `re` is, and the box the user can see it in. */
async function rowBox(page: Page, name: string, re: RegExp) {
  return page.evaluate(
    ([n, src]) => {
      const r = new RegExp(src);
      const term = document.querySelector(`[data-console="${n}"]`) as HTMLElement;
      const body = term.closest('.body') as HTMLElement;
      const rows = [...term.querySelectorAll('.xterm-rows > div')] as HTMLElement[];
      const hit = rows.filter((e) => r.test(e.textContent ?? '')).pop();
      const b = body.getBoundingClientRect();
      const v = { top: Math.max(0, b.top), bottom: Math.min(window.innerHeight, b.bottom) };
      if (!hit) return { found: false, rows: rows.map((e) => e.textContent), v, row: null };
      const h = hit.getBoundingClientRect();
      return { found: true, v, row: { top: h.top, bottom: h.bottom }, rows: null };
    },
    [name, re.source] as const,
  );
}

describe('consoles a user can use', () => {
  let server: RunningServer;
  let b: Browser;
  beforeAll(async () => {
    requireBuild();
    server = await startServer(freshDataDir('consoleuse'));
    b = await openBrowser(server.url, { width: 1366, height: 768 });
  });
  afterAll(async () => {
    await b?.close();
    await server?.close();
  });

  it('a guest console opens at its prompt, inside the visible area', async () => {
    const { page } = b;
    await page.getByTestId('run').click();
    await page.getByTestId('results-table').waitFor({ timeout: 120_000 });
    for (const n of ['g2', 'dom0', 'xen', 'g1']) {
      await page.locator(`[data-console-tab="${n}"]`).click();
      await page.waitForTimeout(500);
      const r = await rowBox(page, n, /root@/);
      console.log(n, JSON.stringify(r).slice(0, 300));
      await shot(page, 'probe-' + n);
    }
  });
});

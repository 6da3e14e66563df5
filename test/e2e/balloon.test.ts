/**
 * Ballooning (C9) as a user meets it, at 1366×768: the c9-balloon preset from the Scenario view's
 * preset list. When the run ends, the Run view's domain cards show each guest's memory as Xen counts
 * it (its frames) with the balloon tag: g1 down at 160 MiB, g2 up at 448 MiB, its maxmem.
 * Screenshot: test-results/screenshots/balloon-c9-1366x768.png.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDataDir, openBrowser, requireBuild, shot, startServer } from './harness.js';
import type { RunningServer } from '../../electron/host/server.js';

describe('c9-balloon in the Run view', () => {
  let server: RunningServer;
  let dir: string;
  beforeAll(async () => {
    requireBuild();
    dir = freshDataDir('balloon');
    server = await startServer(dir);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('the domain cards show g1 ballooned down and g2 up', async () => {
    const b = await openBrowser(server.url, { width: 1366, height: 768 });
    const { page } = b;
    try {
      await page.getByTestId('run').waitFor();
      await page.locator('nav [data-view="scenario"]').click();
      await page.getByTestId('presets-toggle').click();
      await page.getByTestId('load-preset-c9-balloon').click();
      if (await page.getByTestId('confirm-preset').count()) await page.getByTestId('confirm-preset').click();
      await page.locator('nav [data-view="run"]').click();
      await page.getByTestId('run').click();
      await expect.poll(() => page.getByTestId('sim-state').textContent(), { timeout: 180_000 }).toBe('finished');
      const mem = (name: string) => page.locator(`.card[data-domain="${name}"] [data-field="memory"]`).textContent();
      // 384 → 160 MiB and 256 → 448 MiB, the preset's targets (whole MiB of 256 pages).
      await expect.poll(async () => (await mem('g1'))?.replace(/\s+/g, ' ')).toMatch(/^160\s?MiB balloon$/);
      await expect.poll(async () => (await mem('g2'))?.replace(/\s+/g, ' ')).toMatch(/^448\s?MiB balloon$/);
      // The results' balloon line: pages given and taken back, 256 to the MiB.
      const line = page.getByTestId('balloon-results');
      await line.scrollIntoViewIfNeeded();
      expect((await line.locator('[data-balloon-domain="g1"]').textContent())?.replace(/\s+/g, ' ')).toMatch(/^g1 160 ?MiB of target 160 \(57\D?344 pages to Xen, 0 back, /);
      expect((await line.locator('[data-balloon-domain="g2"]').textContent())?.replace(/\s+/g, ' ')).toMatch(/^g2 448 ?MiB of target 448 \(0 pages to Xen, 49\D?152 back, 96 hypercalls\)$/);
      await shot(page, 'balloon-c9-1366x768');
      expect(b.errors).toEqual([]);
    } finally {
      await b.close();
    }
  });
});

/**
 * Rogue DMA (C3) as a user meets it, at 1366×768: the two presets run from the Scenario view's
 * preset list. With the IOMMU on, the Run view's memory-integrity table shows no corrupted page
 * and the IOMMU line counts the blocked DMAs; with it off, the victim's row shows every page the
 * rogue aimed at as corrupted. Screenshots: test-results/screenshots/rogue-dma-*.png.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { PRESETS } from '../../core/api/presets.js';
import { freshDataDir, openBrowser, requireBuild, shot, startServer } from './harness.js';
import type { RunningServer } from '../../electron/host/server.js';

async function loadPreset(page: Page, id: string): Promise<void> {
  await page.locator('nav [data-view="scenario"]').click();
  await page.getByTestId('presets-toggle').click();
  await page.getByTestId(`load-preset-${id}`).click();
  if (await page.getByTestId('confirm-preset').count()) await page.getByTestId('confirm-preset').click();
}

/** The rogue's `pages`, read from the preset itself. */
function aimedPages(id: string): number {
  const p = PRESETS.find((x) => x.id === id)!;
  const w = p.scenario.domains.find((d) => d.name === 'rogue')!.workload as { pages: number };
  return w.pages;
}

describe('rogue DMA with the IOMMU on and off', () => {
  let server: RunningServer;
  let dir: string;
  beforeAll(async () => {
    requireBuild();
    dir = freshDataDir('rogue-dma');
    server = await startServer(dir);
  });
  afterAll(async () => {
    await server?.close();
  });

  for (const [id, iommu] of [['c3-rogue-dma-iommu', true], ['c3-rogue-dma-no-iommu', false]] as const) {
    it(`${id}: the Run view shows what reached the victim's memory`, async () => {
      const b = await openBrowser(server.url, { width: 1366, height: 768 });
      const { page } = b;
      try {
        await page.getByTestId('run').waitFor();
        await loadPreset(page, id);
        await page.locator('nav [data-view="run"]').click();
        await page.getByTestId('run').click();
        await expect.poll(() => page.getByTestId('sim-state').textContent(), { timeout: 120_000 }).toBe('finished');
        const table = page.getByTestId('integrity-table');
        await table.scrollIntoViewIfNeeded();
        const corrupted = (name: string) => table.locator(`tr[data-integrity-domain="${name}"] [data-field="framesCorrupted"]`).textContent();
        const pages = aimedPages(id);
        expect(await corrupted('victim')).toBe(iommu ? '0' : String(pages));
        expect(await corrupted('rogue')).toBe('0');
        expect(await corrupted('Domain-0')).toBe('0');
        const line = await page.getByTestId('io-results').locator('p.what').textContent();
        expect(line).toContain(iommu ? `IOMMU on: ${pages} DMA faults blocked and logged` : 'IOMMU off: devices DMA by machine address');
        // Each refused DMA completed the disk's command with an error: the rogue's I/O row counts them.
        expect(await page.locator('[data-io-domain="rogue"] [data-field="errors"]').textContent()).toBe(iommu ? String(pages) : '0');
        await shot(page, `rogue-dma-${iommu ? 'iommu-on' : 'iommu-off'}-1366x768`);
        // The Topology view: the disk's DMA goes through rogue's IOMMU table, and the refused DMAs show at the device.
        await page.locator('nav [data-view="topology"]').click();
        await page.getByTestId('topology-svg').waitFor({ timeout: 30_000 });
        const disk = page.locator('[data-testid="device"][data-device="disk0"]');
        expect(await disk.getAttribute('data-iommu')).toBe(iommu ? 'rogue' : 'off');
        expect(await disk.getAttribute('data-blocked')).toBe(iommu ? String(pages) : '0');
        expect(await page.locator('[data-testid="topo-devices"] tr[data-device="disk0"] [data-field="blockedDma"]').textContent()).toBe(iommu ? String(pages) : '0');
        await shot(page, `rogue-dma-topology-${iommu ? 'iommu-on' : 'iommu-off'}-1366x768`);
        expect(b.errors).toEqual([]);
      } finally {
        await b.close();
      }
    });
  }
});

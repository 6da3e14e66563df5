/**
 * Passthrough as a user meets it (issue 13) at 1366×768: a scenario opened from a file with a disk
 * on the machine and a guest `g` that owns nothing. In the Scenario view the user ticks disk0 in
 * g's card (the device moves from dom0 to g), runs, and the Topology view shows disk0 owned by g
 * with its DMA going through g's IOMMU table. A second scenario detaches disk0 from g on the
 * timeline (xl pci-detach): the Topology shows it with no owner, in quarantine (dom_io's table,
 * XSA-302), and the timeline action succeeded. Screenshots: test-results/screenshots/passthrough-*.png.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDataDir, openBrowser, openScenarioFile, requireBuild, shot, startServer } from './harness.js';
import type { RunningServer } from '../../electron/host/server.js';

const base = (name: string, timeline: unknown[]) => ({
  name,
  machine: { memoryMiB: 1024, pcpus: 1, devices: [{ id: 'disk0', kind: 'disk', sizeMiB: 64 }] },
  hypervisor: 'xen',
  domains: [
    { name: 'Domain-0', role: 'dom0', mode: 'pv', memoryMiB: 256, vcpus: 1 },
    { name: 'g', mode: 'pv', memoryMiB: 256, vcpus: 1, ...(timeline.length ? { pci: ['disk0'] } : {}), workload: { kind: 'spec', profile: 'gcc', instructionsM: 20 } },
  ],
  timeline,
});

describe('passthrough of a disk to a guest, and its quarantine after pci-detach', () => {
  let server: RunningServer;
  let dir: string;
  beforeAll(async () => {
    requireBuild();
    dir = freshDataDir('passthrough');
    server = await startServer(dir);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('ticking disk0 in the guest’s card gives it the device: Topology shows g as owner and g’s IOMMU table', async () => {
    const b = await openBrowser(server.url, { width: 1366, height: 768 });
    const { page } = b;
    try {
      await page.getByTestId('run').waitFor();
      await openScenarioFile(page, dir, base('passthrough-attach', []));
      await page.locator('nav [data-view="scenario"]').click();
      const card = page.locator('[data-domain-card="g"]');
      const owns = card.getByLabel('disk0 (0000:03:00.0)');
      await owns.scrollIntoViewIfNeeded();
      expect(await owns.isChecked()).toBe(false);
      await owns.check();
      expect(await owns.isChecked()).toBe(true);
      await shot(page, 'passthrough-scenario-1366x768');
      await page.locator('nav [data-view="run"]').click();
      await page.getByTestId('run').click();
      await expect.poll(() => page.getByTestId('sim-state').textContent(), { timeout: 120_000 }).toBe('finished');
      await page.locator('nav [data-view="topology"]').click();
      await page.getByTestId('topology-svg').waitFor({ timeout: 30_000 });
      const disk = page.locator('[data-testid="device"][data-device="disk0"]');
      expect(await disk.getAttribute('data-owner')).toBe('g');
      expect(await disk.getAttribute('data-iommu')).toBe('g');
      const row = page.locator('[data-testid="topo-devices"] tr[data-device="disk0"]');
      expect(await row.locator('[data-field="owner"]').textContent()).toBe('g');
      expect(await row.locator('[data-field="iommu"]').textContent()).toBe('g');
      expect(await row.locator('[data-field="blockedDma"]').textContent()).toBe('0');
      await row.scrollIntoViewIfNeeded();
      await shot(page, 'passthrough-topology-owned-1366x768');
      expect(b.errors).toEqual([]);
    } finally {
      await b.close();
    }
  });

  it('pci-detach on the timeline: disk0 has no owner and sits in quarantine', async () => {
    const b = await openBrowser(server.url, { width: 1366, height: 768 });
    const { page } = b;
    try {
      await page.getByTestId('run').waitFor();
      await openScenarioFile(page, dir, base('passthrough-detach', [{ atMs: 1, do: 'pci-detach', domain: 'g', device: 'disk0' }]));
      await page.locator('nav [data-view="run"]').click();
      await page.getByTestId('run').click();
      await expect.poll(() => page.getByTestId('sim-state').textContent(), { timeout: 120_000 }).toBe('finished');
      await page.locator('nav [data-view="topology"]').click();
      await page.getByTestId('topology-svg').waitFor({ timeout: 30_000 });
      const disk = page.locator('[data-testid="device"][data-device="disk0"]');
      expect(await disk.getAttribute('data-owner')).toBe('');
      expect(await disk.getAttribute('data-iommu')).toBe('quarantine');
      expect(await disk.textContent()).toContain('quarantined');
      const row = page.locator('[data-testid="topo-devices"] tr[data-device="disk0"]');
      expect(await row.locator('[data-field="owner"]').textContent()).toBe('none');
      expect(await row.locator('[data-field="iommu"]').textContent()).toBe('quarantine');
      const items = page.locator('[data-testid="topology-timeline"] li');
      expect(await items.evaluateAll((els) => els.map((e) => `${e.getAttribute('data-do')} ${e.getAttribute('data-domain')}`))).toEqual(['pci-detach g']);
      await row.scrollIntoViewIfNeeded();
      await shot(page, 'passthrough-topology-quarantine-1366x768');
      expect(b.errors).toEqual([]);
    } finally {
      await b.close();
    }
  });
});

/**
 * Hot-plug and page flipping as a user meets them (issue 12) at 1366×768: a scenario opened from a
 * file whose guest receives by page flipping over dom0's NIC while the timeline attaches a second
 * disk and detaches it again. The Scenario view's Timeline shows each action with the fields it
 * takes; the Topology view draws the vif's ring towards dom0 and its table says "page flip"; the
 * timeline's actions both succeed. Screenshots: test-results/screenshots/hotplug-*.png.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDataDir, openBrowser, openScenarioFile, requireBuild, shot, startServer } from './harness.js';
import type { RunningServer } from '../../electron/host/server.js';

const SCENARIO = {
  name: 'flip-and-hotplug',
  machine: { memoryMiB: 2048, pcpus: 2, devices: [{ id: 'nic0', kind: 'nic' }, { id: 'disk0', kind: 'disk', sizeMiB: 64 }] },
  hypervisor: 'xen',
  domains: [
    { name: 'Domain-0', role: 'dom0', mode: 'pv', memoryMiB: 512, vcpus: 1 },
    { name: 'guest', mode: 'pv', memoryMiB: 256, vcpus: 1, vifs: [{ device: 'nic0', rx: 'flip' }], workload: { kind: 'net-stream', bytes: 1500 * 3000, packetBytes: 1500, direction: 'rx' } },
  ],
  timeline: [
    { atMs: 2, do: 'block-attach', domain: 'guest', disk: { device: 'disk0', vdev: 'xvdb' } },
    { atMs: 20, do: 'block-detach', domain: 'guest', vdev: 'xvdb' },
  ],
};

describe('hot-plug and page flipping', () => {
  let server: RunningServer;
  let dir: string;
  beforeAll(async () => {
    requireBuild();
    dir = freshDataDir('hotplug');
    server = await startServer(dir);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('the Timeline form shows each action’s fields; the run attaches and detaches the disk; the Topology draws the flipping vif', async () => {
    const b = await openBrowser(server.url, { width: 1366, height: 768 });
    const { page } = b;
    try {
      await page.getByTestId('run').waitFor();
      await openScenarioFile(page, dir, SCENARIO);
      await page.locator('nav [data-view="scenario"]').click();
      const timeline = page.getByTestId('timeline');
      await timeline.scrollIntoViewIfNeeded();
      // block-attach takes a backend, a disk and a vdev; block-detach only the vdev.
      const row0 = timeline.locator('[data-timeline-row="0"]');
      const row1 = timeline.locator('[data-timeline-row="1"]');
      expect(await row0.getByLabel('Disk').inputValue()).toBe('disk0');
      expect(await row0.getByLabel('Vdev').inputValue()).toBe('xvdb');
      expect(await row1.getByLabel('Vdev').inputValue()).toBe('xvdb');
      expect(await row1.getByLabel('Disk').count()).toBe(0);
      // The vif's receive mode in the guest's Virtual NICs.
      expect(await page.locator('[data-vif="0"]').getByLabel('Receive').inputValue()).toBe('flip');
      await shot(page, 'hotplug-timeline-1366x768');

      await page.getByTestId('run').click();
      await expect.poll(() => page.getByTestId('sim-state').textContent(), { timeout: 120_000 }).toBe('finished');
      await page.locator('nav [data-view="topology"]').click();
      await page.getByTestId('topology-svg').waitFor({ timeout: 30_000 });
      const vif = page.locator('[data-testid="vif"][data-frontend="guest"][data-vdev="vif0"]');
      expect(await vif.count()).toBe(1);
      expect(await page.locator('[data-testid="topo-vifs"] tr[data-frontend="guest"] td').nth(8).textContent()).toBe('page flip');
      const items = page.locator('[data-testid="topology-timeline"] li');
      expect(await items.evaluateAll((els) => els.map((e) => `${e.getAttribute('data-do')} ${e.getAttribute('data-domain')}`))).toEqual(['block-attach guest', 'block-detach guest']);
      // xvdb went away again: only the vif's ring is left under the guest.
      expect(await page.locator('[data-testid="vbd"][data-frontend="guest"]').count()).toBe(0);
      await shot(page, 'hotplug-topology-1366x768');
      expect(b.errors).toEqual([]);
    } finally {
      await b.close();
    }
  });
});

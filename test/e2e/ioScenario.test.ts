/**
 * A driver-domain scenario built by hand in the Scenario forms (issue 12) at 1366×768: a disk on
 * the machine, a domain that owns it, a guest with a virtual disk it serves and a disk workload,
 * a timeline row added and removed; then run, and the guest's disk served by the driver domain
 * (requests answered by its blkback, grants mapped in it, nothing lost). Screenshots go to
 * test-results/screenshots/io-*.png.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { freshDataDir, openBrowser, requireBuild, shot, startServer } from './harness.js';
import type { RunningServer } from '../../electron/host/server.js';
import { PRESETS } from '../../core/api/presets.js';

/** The start-up scenario (the walk-4k preset): domains pv, shadow and hap under Xen. */
const START = PRESETS.find((p) => p.id === 'walk-4k')!.scenario;

interface IoView {
  domains: { name: string; ops: number; io?: { requests: number; bytes: number; flushes: number; served: number; lostWrites: number; acknowledgedWrites: number; grantOps: { map: number } } }[];
  devices?: { id: string; owner: string | null; bdf: string }[];
}

async function results(page: Page): Promise<IoView | null> {
  return page.evaluate(() => {
    const lab = (window as unknown as { __hyperlabTestHooks: { lab: { sim: { results: unknown } } } }).__hyperlabTestHooks.lab;
    return JSON.parse(JSON.stringify(lab.sim.results)) as IoView | null;
  });
}

/** Elements in the Scenario view whose content is wider than their box. */
async function overflowing(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const view = document.querySelector('[data-testid="scenario-view"]')!;
    const out: string[] = [];
    if (document.documentElement.scrollWidth > window.innerWidth + 1) out.push(`page: ${document.documentElement.scrollWidth} > ${window.innerWidth}`);
    for (const el of view.querySelectorAll<HTMLElement>('*')) {
      const cs = getComputedStyle(el);
      if (el.offsetParent === null || el.classList.contains('sr-only') || cs.overflowX === 'visible' || ['TEXTAREA', 'PRE', 'INPUT', 'SELECT'].includes(el.tagName)) continue;
      if (el.scrollWidth > el.clientWidth + 1) out.push(`${el.tagName.toLowerCase()}.${[...el.classList].join('.')}: ${el.scrollWidth} > ${el.clientWidth}`);
    }
    return out;
  });
}

describe('I/O in the Scenario forms, in browser mode', () => {
  let server: RunningServer;
  beforeAll(async () => {
    requireBuild();
    server = await startServer(freshDataDir('io'));
  });
  afterAll(async () => {
    await server?.close();
  });

  it('builds a driver-domain scenario in the forms, runs it, and the guest’s disk is served by the driver domain', async () => {
    const b = await openBrowser(server.url, { width: 1366, height: 768 });
    const { page } = b;
    const [dd, , guest] = START.domains.map((d) => d.name) as [string, string, string];
    try {
      await page.locator('nav [data-view="scenario"]').click();
      await page.getByTestId('scenario-view').waitFor();

      // A disk on the machine, owned by the first domain (the driver domain).
      await page.getByTestId('add-disk').click();
      await expect.poll(() => page.locator('#sc-machine-devices-0-bdf').getAttribute('placeholder')).toBe('0000:03:00.0');
      await page.locator('#sc-machine-devices-0-sizeMiB').fill('256');
      await page.locator(`[data-domain-card="${dd}"]`).getByLabel('disk0 (0000:03:00.0)').check();
      await expect.poll(() => page.getByTestId('devices').textContent()).toContain(`driven by ${dd}`);

      // The third domain gets a virtual disk (served by the owner) and writes to it, flushing every 8.
      const card = page.locator(`[data-domain-card="${guest}"]`);
      await card.getByTestId('add-vdisk').click();
      await expect.poll(() => card.getByLabel('Backend domain').inputValue()).toBe(dd);
      await page.locator('#sc-domains-2-workload-kind').selectOption('disk-io');
      await page.locator('#sc-domains-2-workload-ops').fill('400');
      await page.locator('#sc-domains-2-workload-flushEvery').fill('8');
      await expect.poll(() => page.getByTestId('scenario-status').getAttribute('data-ok')).toBe('true');

      // A timeline row, shown at its fields with its problem when it names dom0, then removed.
      await page.getByTestId('add-action').click();
      await page.locator('#sc-timeline-0-domain').selectOption('Domain-0');
      await expect.poll(() => page.locator('#sc-timeline-0-do--p0').textContent()).toBe('Action: dom0 cannot be destroyed: it runs the toolstack');
      await page.locator('#sc-timeline-0-domain').selectOption(dd);
      await page.locator('#sc-timeline-0-atMs').fill('5');
      await expect.poll(() => page.getByTestId('scenario-status').getAttribute('data-ok')).toBe('true');
      await page.getByTestId('timeline').scrollIntoViewIfNeeded();
      await shot(page, 'io-1-forms-1366');
      expect(await overflowing(page)).toEqual([]);
      await card.scrollIntoViewIfNeeded();
      await shot(page, 'io-2-guest-card-1366');
      await page.getByRole('button', { name: 'Remove action 1' }).click();
      await expect.poll(() => page.getByTestId('timeline').textContent()).toContain('No actions');

      // The same guest as xl.cfg: its disk in xl's diskspec.
      await card.getByRole('button', { name: 'xl.cfg' }).click();
      await expect.poll(() => page.locator('#sc-domains-2-xlcfg').inputValue()).toContain(`disk = [ "backend=${dd}, vdev=xvda, target=disk0" ]`);
      await shot(page, 'io-3-xlcfg-1366');
      await card.getByRole('button', { name: 'Form' }).click();

      // As fast as the machine goes (the default pace plays simulated time out slowly, to watch it).
      await page.getByTestId('pace').selectOption('max');
      await page.getByTestId('run').click();
      await page.getByTestId('results-table').waitFor({ timeout: 150_000 }).catch(async (e: unknown) => {
        await shot(page, 'io-x-no-results');
        throw e;
      });
      await expect.poll(async () => (await results(page)) !== null, { timeout: 60_000 }).toBe(true);
      const r = (await results(page))!;
      const g = r.domains.find((d) => d.name === guest)!;
      const be = r.domains.find((d) => d.name === dd)!;
      expect(g.io!.requests).toBe(400);
      // Every request crossed the ring to blkdd's blkback: 400 writes and a FLUSH after every 8th (50).
      expect(g.io!.flushes).toBe(400 / 8);
      expect(be.io!.served).toBe(400 + 400 / 8);
      expect(be.io!.grantOps.map).toBeGreaterThan(0);
      expect(g.io!.lostWrites).toBe(0);
      expect(r.devices).toEqual([expect.objectContaining({ id: 'disk0', owner: dd, bdf: '0000:03:00.0' })]);
      await shot(page, 'io-4-results-1366');
      expect(b.errors).toEqual([]);
    } finally {
      await b.close();
    }
  });

  it('builds a network driver domain in the forms: a NIC it owns, a guest with a vif it bridges, frames received', async () => {
    const b = await openBrowser(server.url, { width: 1366, height: 768 });
    const { page } = b;
    const [dd, , guest] = START.domains.map((d) => d.name) as [string, string, string];
    try {
      await page.locator('nav [data-view="scenario"]').click();
      await page.getByTestId('scenario-view').waitFor();
      await page.getByTestId('add-nic').click();
      await expect.poll(() => page.locator('#sc-machine-devices-0-id').inputValue()).toBe('nic0');
      await page.locator(`[data-domain-card="${dd}"]`).getByLabel('nic0 (0000:03:00.0)').check();
      const card = page.locator(`[data-domain-card="${guest}"]`);
      await card.getByTestId('add-vif').click();
      // The vif goes on nic0, bridged by the domain that owns it.
      await expect.poll(() => card.locator('[data-vif="0"]').getByLabel('Backend domain').inputValue()).toBe(dd);
      await page.locator('#sc-domains-2-workload-kind').selectOption('net-stream');
      await expect.poll(() => page.getByTestId('scenario-status').getAttribute('data-ok')).toBe('true');
      await card.locator('[data-vif="0"]').scrollIntoViewIfNeeded();
      await shot(page, 'io-5-vif-card-1366');
      expect(await overflowing(page)).toEqual([]);
      await card.getByRole('button', { name: 'xl.cfg' }).click();
      await expect.poll(() => page.locator('#sc-domains-2-xlcfg').inputValue()).toContain(`vif = [ "backend=${dd}, bridge=nic0" ]`);
      await card.getByRole('button', { name: 'Form' }).click();
      await page.getByTestId('pace').selectOption('max');
      await page.getByTestId('run').click();
      await page.getByTestId('results-table').waitFor({ timeout: 150_000 });
      await expect.poll(async () => (await results(page)) !== null, { timeout: 60_000 }).toBe(true);
      const r = (await results(page))!;
      const g = r.domains.find((d) => d.name === guest)!;
      const be = r.domains.find((d) => d.name === dd)!;
      // net-stream's default: 4 MiB of 1500-byte frames received, each netback's grant copy in the owner.
      expect(g.io!.requests).toBeGreaterThan(0);
      expect(g.io!.bytes).toBeGreaterThan(0);
      expect(be.io!.served).toBeGreaterThan(0);
      expect(r.devices).toEqual([expect.objectContaining({ id: 'nic0', owner: dd })]);
      expect(b.errors).toEqual([]);
    } finally {
      await b.close();
    }
  });
});

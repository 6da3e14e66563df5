/**
 * dom0's xl toolstack in the live console, as a user types it: `xl list`, `xl destroy <guest>`,
 * and the effect seen in `xl list`, `xl info` and the domain cards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { freshDataDir, measureFrames, openBrowser, openScenarioFile, report, requireBuild, shot, startServer, type Browser } from './harness.js';
import type { RunningServer } from '../../electron/host/server.js';
import { PRESETS } from '../../core/api/presets.js';

/** The start-up scenario: the walk-4k preset; its first two guests. */
const START = PRESETS.find((p) => p.id === 'walk-4k')!.scenario;
const [G1, G2] = [START.domains[0]!, START.domains[1]!];

async function consoleText(page: Page, name: string): Promise<string> {
  return page.locator(`[data-console="${name}"] .xterm-rows`).innerText();
}

async function typeIn(page: Page, name: string, line: string): Promise<void> {
  await page.locator(`[data-console-tab="${name}"]`).click();
  await page.locator(`[data-console="${name}"] .xterm-helper-textarea`).focus();
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
}

describe('dom0 console', () => {
  let server: RunningServer;
  let b: Browser;
  let dataDir: string;
  beforeAll(async () => {
    requireBuild();
    dataDir = freshDataDir('consoles');
    server = await startServer(dataDir);
    b = await openBrowser(server.url, { width: 1280, height: 800 });
  });
  afterAll(async () => {
    await b?.close();
    await server?.close();
  });

  it('lists domains with xl list, destroys a guest, and shows its memory back in the pool', async () => {
    const { page } = b;
    await page.getByTestId('run').click();
    await page.getByTestId('results-table').waitFor({ timeout: 120_000 });

    await typeIn(page, 'dom0', 'xl list');
    await expect.poll(() => consoleText(page, 'dom0'), { timeout: 10_000 }).toMatch(/Domain-0\s+0\s+512/);
    const before = await consoleText(page, 'dom0');
    // The start-up scenario is the walk-4k preset (issue 10): names and sizes read from it.
    START.domains.forEach((d, i) => expect(before).toMatch(new RegExp(`${d.name}\\s+${i + 1}\\s+${d.memoryMiB}\\b`)));

    await typeIn(page, 'dom0', 'xl info');
    await expect.poll(() => consoleText(page, 'dom0')).toMatch(/free_memory\s*:\s*\d+/);
    const freeBefore = Number(/free_memory\s*:\s*(\d+)/.exec(await consoleText(page, 'dom0'))![1]);
    await typeIn(page, 'dom0', 'clear');

    await typeIn(page, 'dom0', `xl destroy ${G1.name}`);
    await typeIn(page, 'dom0', 'xl list');
    await expect.poll(async () => (await consoleText(page, 'dom0')).match(/^Name\s+ID/gm)?.length ?? 0, { timeout: 10_000 }).toBeGreaterThan(0);
    await expect.poll(async () => new RegExp(`${G2.name}\\s+2\\s+${G2.memoryMiB}\\b`).test(await consoleText(page, 'dom0'))).toBe(true);
    const after = await consoleText(page, 'dom0');
    const lastList = after.slice(after.lastIndexOf('Name'));
    expect(lastList).not.toMatch(new RegExp(`\\b${G1.name}\\b`));
    await expect.poll(() => page.locator(`[data-domain="${G1.name}"]`).count()).toBe(0);
    await shot(page, 'console-xl-destroy');

    await typeIn(page, 'dom0', 'xl info');
    await expect.poll(async () => [...(await consoleText(page, 'dom0')).matchAll(/free_memory\s*:\s*(\d+)/g)].length).toBeGreaterThan(0);
    const frees = [...(await consoleText(page, 'dom0')).matchAll(/free_memory\s*:\s*(\d+)/g)].map((m) => Number(m[1]));
    // Every one of the destroyed guest's frames went back to Xen's free pool.
    expect(frees[frees.length - 1]! - freeBefore).toBe(G1.memoryMiB);

    await typeIn(page, 'dom0', 'xl frobnicate');
    await expect.poll(() => consoleText(page, 'dom0')).toMatch(/Usage|usage|unknown/i);
    expect(b.errors).toEqual([]);
  });

  it('keeps up with a guest printing continuously (vmstat), and the UI stays responsive', async () => {
    const { page } = b;
    await openScenarioFile(page, dataDir, {
      name: 'busy',
      machine: { memoryMiB: 2048, pcpus: 1 },
      hypervisor: 'xen',
      // g2 shares the one pCPU so that g1's 100 million accesses (the most a workload takes) last
      // minutes: vmstat and Stop below never race the run's end.
      domains: [
        { name: 'g1', mode: 'pv', memoryMiB: 256, vcpus: 1, workload: { kind: 'update-vs-access', updatesPerKiloAccess: 20, workingSetMiB: 16, accesses: 100_000_000 } },
        { name: 'g2', mode: 'shadow', memoryMiB: 256, vcpus: 1, workload: { kind: 'update-vs-access', updatesPerKiloAccess: 20, workingSetMiB: 16, accesses: 100_000_000 } },
      ],
    });
    await page.getByTestId('run').click();
    await expect.poll(() => page.getByTestId('sim-state').textContent(), { timeout: 60_000 }).toBe('running');
    await typeIn(page, 'g1', 'vmstat');
    const frames = await measureFrames(page, 4000);
    await page.keyboard.press('Control+C');
    // The terminal shows vmstat's closing line promptly: its output never fell behind.
    await expect.poll(async () => /vmstat: (\d+) lines/.exec(await consoleText(page, 'g1'))?.[1], { timeout: 3000 }).toBeTruthy();
    const n = Number(/vmstat: (\d+) lines/.exec(await consoleText(page, 'g1'))![1]);
    report('frame-times-console-streaming', { ...frames, vmstatLines: n });
    await shot(page, 'console-vmstat');
    expect(n).toBeGreaterThan(40);
    expect(frames.max).toBeLessThan(500);
    await page.getByTestId('stop').click();
    await expect.poll(() => page.getByTestId('sim-state').textContent(), { timeout: 10_000 }).toBe('stopped');
    expect(b.errors).toEqual([]);
  });
});

/**
 * The KVM host in the app (issue 13, C5): the c5-kvm-qemu preset runs; on the host console `ps`
 * lists a qemu-system-x86_64 per guest, and `kill` of one ends that guest (its console tab goes)
 * while the other stays.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { freshDataDir, openBrowser, requireBuild, shot, startServer, type Browser } from './harness.js';
import type { RunningServer } from '../../electron/host/server.js';

async function consoleText(page: Page, name: string): Promise<string> {
  return page.locator(`[data-console="${name}"] .xterm-rows`).innerText();
}

async function typeIn(page: Page, name: string, line: string): Promise<void> {
  await page.locator(`[data-console-tab="${name}"]`).click();
  await page.locator(`[data-console="${name}"] .xterm-helper-textarea`).focus();
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
}

describe('the KVM host console', () => {
  let server: RunningServer;
  let b: Browser;
  beforeAll(async () => {
    requireBuild();
    server = await startServer(freshDataDir('kvm-host'));
    b = await openBrowser(server.url, { width: 1366, height: 768 });
  });
  afterAll(async () => {
    await b?.close();
    await server?.close();
  });

  it('ps lists one qemu per guest; kill ends that guest and leaves the other', async () => {
    const { page } = b;
    await page.locator('nav [data-view="scenario"]').click();
    await page.getByTestId('presets-toggle').click();
    await page.getByTestId('load-preset-c5-kvm-qemu').click();
    if (await page.getByTestId('confirm-preset').count()) await page.getByTestId('confirm-preset').click();
    await page.getByTestId('run').click();
    await page.getByTestId('results-table').waitFor({ timeout: 120_000 });
    await typeIn(page, 'host', 'ps');
    await expect.poll(() => consoleText(page, 'host'), { timeout: 10_000 }).toMatch(/qemu-system-x86_64 -name db -m 256/);
    expect(await consoleText(page, 'host')).toMatch(/qemu-system-x86_64 -name web -m 256/);
    await shot(page, 'kvm-host-1-ps');
    const pid = /(\d+)\s+\d+\s+qemu-system-x86_64 -name web/.exec(await consoleText(page, 'host'))![1]!;
    await typeIn(page, 'host', `kill ${pid}`);
    await expect.poll(() => consoleText(page, 'host'), { timeout: 10_000 }).toMatch(/kvm: web: qemu-system-x86_64 \(pid \d+\) killed by SIGTERM/);
    await expect.poll(() => page.locator('[data-console-tab="web"]').count(), { timeout: 10_000 }).toBe(0);
    expect(await page.locator('[data-console-tab="db"]').count()).toBe(1);
    await shot(page, 'kvm-host-2-killed');
    expect(b.errors).toEqual([]);
  });
});

/**
 * Consoles a user can use (issue 10, "Consoles"), at 1366x768 as the user had it:
 * - a console opens at its prompt, with the last line inside the visible area;
 * - a run that ends while the user types in dom0 leaves the console, its tab and the focus alone,
 *   and offers the results instead (a badge on the results tab and a button);
 * - `ps` typed in a guest console during a run answers inside the visible area; a guest shell
 *   has bash's job control (`run … &`, `jobs`, `fg`, Ctrl-C) and echoes type-ahead;
 * - `xl create` adds the new domain's console tab, `xl console` shows it, `xl destroy` removes it;
 * - `run bogus-workload` names the unknown name and lists the workloads run can start.
 * Helpers live here (not in harness.ts) so the file runs against an older build too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { freshDataDir, openBrowser, openScenarioFile, requireBuild, shot, startServer, type Browser } from './harness.js';
import type { RunningServer } from '../../electron/host/server.js';

/** The terminal rows of a console as rendered (what the user sees, plus rows scrolled out). */
async function consoleText(page: Page, name: string): Promise<string> {
  return page.locator(`[data-console="${name}"] .xterm-rows`).innerText();
}

/**
 * Whether the last rendered row matching `re` lies inside the box the user can see: the consoles
 * panel's body, clipped to the window. Rows xterm did not render (scrolled out) are not found.
 */
async function rowVisible(page: Page, name: string, re: RegExp): Promise<{ found: boolean; inside: boolean; row?: { top: number; bottom: number }; box: { top: number; bottom: number } }> {
  return page.evaluate(
    ([n, src, flags]) => {
      const r = new RegExp(src, flags);
      const term = document.querySelector(`[data-console="${n}"]`) as HTMLElement;
      const body = (term.closest('.body') ?? term) as HTMLElement;
      const b = body.getBoundingClientRect();
      const box = { top: Math.max(0, b.top), bottom: Math.min(window.innerHeight, b.bottom) };
      const rows = [...term.querySelectorAll('.xterm-rows > div')] as HTMLElement[];
      const hit = rows.filter((e) => r.test((e.textContent ?? '').replace(/\u00a0/g, ' '))).pop();
      if (!hit) return { found: false, inside: false, box };
      const h = hit.getBoundingClientRect();
      const row = { top: h.top, bottom: h.bottom };
      return { found: true, inside: h.height > 0 && row.top >= box.top && row.bottom <= box.bottom, row, box };
    },
    [name, re.source, re.flags] as const,
  );
}

async function expectVisible(page: Page, name: string, re: RegExp, what: string): Promise<void> {
  await expect
    .poll(async () => (await rowVisible(page, name, re)).inside, { timeout: 5000, message: `${what}: ${JSON.stringify(await rowVisible(page, name, re))}` })
    .toBe(true);
}

async function openTab(page: Page, name: string): Promise<void> {
  await page.locator(`[data-console-tab="${name}"]`).click();
  await page.locator(`[data-console="${name}"] .xterm-helper-textarea`).focus();
}

async function typeIn(page: Page, name: string, line: string): Promise<void> {
  await openTab(page, name);
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
}

async function loadPreset(page: Page, id: string): Promise<void> {
  await page.locator('nav [data-view="scenario"]').click();
  await page.getByTestId('presets-toggle').click();
  await page.getByTestId(`load-preset-${id}`).click();
  if (await page.getByTestId('confirm-preset').count()) await page.getByTestId('confirm-preset').click();
}

async function state(page: Page): Promise<string | null> {
  return page.getByTestId('sim-state').textContent();
}

/** The element with focus is inside console `name`'s terminal. */
async function focusIn(page: Page, name: string): Promise<boolean> {
  return page.evaluate((n) => !!document.activeElement?.closest(`[data-console="${n}"]`), name);
}

describe('consoles a user can use, at 1366x768', () => {
  let server: RunningServer;
  let b: Browser;
  let dataDir: string;
  beforeAll(async () => {
    requireBuild();
    dataDir = freshDataDir('console-use');
    server = await startServer(dataDir);
    b = await openBrowser(server.url, { width: 1366, height: 768 });
  });
  afterAll(async () => {
    await b?.close();
    await server?.close();
  });

  it('a guest console opens at its prompt, inside the visible area (and the xen log at its last line)', async () => {
    const { page } = b;
    // The C1 preset: four domain cards leave the consoles panel fewer rows than a guest's boot log.
    await loadPreset(page, 'multi-guest');
    await page.getByTestId('run').click();
    await page.getByTestId('results-table').waitFor({ timeout: 120_000 });
    for (const g of ['web', 'build', 'db']) {
      await page.locator(`[data-console-tab="${g}"]`).click();
      await expectVisible(page, g, new RegExp(`^root@${g}:~# *$`), `the prompt of ${g}`);
      if (g === 'web') await shot(page, 'console-use-1-guest-at-prompt-1366');
    }
    await page.locator('[data-console-tab="xen"]').click();
    await expectVisible(page, 'xen', /all workloads finished/, 'the last line of the xen log');
    expect(b.errors).toEqual([]);
  });

  it('a run that ends while the user types in dom0 keeps the console, its tab and the focus; the results are offered', async () => {
    const { page } = b;
    await openScenarioFile(page, dataDir, {
      name: 'ends-while-typing',
      machine: { memoryMiB: 2048, pcpus: 1 },
      hypervisor: 'xen',
      // Some seconds of work: long enough to type into dom0 while it runs.
      domains: [{ name: 'g1', mode: 'hap', memoryMiB: 256, vcpus: 1, workload: { kind: 'random-access', workingSetMiB: 64, accesses: 4_000_000 } }],
    });
    await page.getByTestId('run').click();
    await expect.poll(() => state(page), { timeout: 60_000 }).toBe('running');
    await openTab(page, 'dom0');
    await page.keyboard.type('xl li');
    // The precondition of the test: the run had not ended when the partial line was typed.
    expect(await state(page)).toBe('running');
    await expect.poll(() => state(page), { timeout: 120_000 }).toBe('finished');
    await page.waitForTimeout(300);
    expect(await focusIn(page, 'dom0')).toBe(true);
    expect(await page.locator('[data-console-tab="dom0"]').getAttribute('aria-selected')).toBe('true');
    await page.keyboard.type('st');
    await page.keyboard.press('Enter');
    // The whole line ran: xl list's header and dom0's row.
    await expect.poll(() => consoleText(page, 'dom0'), { timeout: 10_000 }).toMatch(/Name\s+ID\s+Mem VCPUs\s+State\s+Time\(s\)/);
    expect(await consoleText(page, 'dom0')).toMatch(/root@hyperlab:~# xl list\s*\n/);
    expect(await consoleText(page, 'dom0')).toMatch(/Domain-0\s+0\s+\d+\s+1/);
    expect(await focusIn(page, 'dom0')).toBe(true);
    expect(await page.locator('[data-console-tab="dom0"]').getAttribute('aria-selected')).toBe('true');
    // Offered, not shown: a badge on the results tab and a button.
    await expect.poll(() => page.getByTestId('tab-badge-results').count()).toBe(1);
    await expect.poll(() => page.getByTestId('offer-results').isVisible()).toBe(true);
    expect(await page.getByTestId('results-table').count()).toBe(0);
    await shot(page, 'console-use-2-results-offered-1366');
    await page.getByTestId('offer-results').click();
    await page.getByTestId('results-table').waitFor({ timeout: 5000 });
    expect(await page.getByTestId('tab-badge-results').count()).toBe(0);
    expect(b.errors).toEqual([]);
  });

  it('ps during a run: the workload answers inside the visible area; run … &, jobs, fg, Ctrl-C and type-ahead as in bash', async () => {
    const { page } = b;
    await openScenarioFile(page, dataDir, {
      name: 'watch-a-run',
      machine: { memoryMiB: 2048, pcpus: 1 },
      hypervisor: 'xen',
      // As the C1 preset: dom0 and three guests (four domain cards, so the consoles panel has fewer
      // rows than a boot log). g1's and g3's workloads (100 million accesses each, sharing the one
      // pCPU) last far longer than the test; g2 is idle, for job control.
      domains: [
        { name: 'dom0', role: 'dom0', mode: 'pv', memoryMiB: 512, vcpus: 1, workload: { kind: 'idle' } },
        { name: 'g1', mode: 'pv', memoryMiB: 256, vcpus: 1, workload: { kind: 'update-vs-access', updatesPerKiloAccess: 20, workingSetMiB: 16, accesses: 100_000_000 } },
        { name: 'g2', mode: 'hap', memoryMiB: 256, vcpus: 1 },
        { name: 'g3', mode: 'shadow', memoryMiB: 256, vcpus: 1, workload: { kind: 'random-access', workingSetMiB: 16, accesses: 100_000_000 } },
      ],
    });
    await page.getByTestId('run').click();
    await expect.poll(() => state(page), { timeout: 60_000 }).toBe('running');
    // The scenario's workload is one process, named after it, running (R) in g1.
    await typeIn(page, 'g1', 'ps');
    await expectVisible(page, 'g1', /^\s+\d+ R\s+\d+\s+\d+ update-vs-access\s*$/, "ps's line for the workload");
    await expectVisible(page, 'g1', /^root@g1:~# *$/, 'the prompt after ps');
    await shot(page, 'console-use-3-ps-during-run-1366');

    // Job control in g2: a workload in the background, watched from the same shell.
    await typeIn(page, 'g2', 'run random-access 16 100000000 &');
    await expect.poll(() => consoleText(page, 'g2'), { timeout: 10_000 }).toMatch(/^\[1\] \d+\s*$/m);
    const pid = /^\[1\] (\d+)\s*$/m.exec(await consoleText(page, 'g2'))![1]!;
    await typeIn(page, 'g2', 'jobs');
    // bash: "[1]+  Running                 <command> &" (the status padded to 24 columns).
    await expect.poll(() => consoleText(page, 'g2')).toContain(`[1]+  Running${' '.repeat(17)}run random-access 16 100000000 &`);
    await typeIn(page, 'g2', 'ps');
    await expectVisible(page, 'g2', new RegExp(`^\\s+${pid} [RS]\\s+\\d+\\s+\\d+ random-access\\s*$`), "ps's line for the background job");
    await typeIn(page, 'g2', 'fg');
    await expect.poll(() => consoleText(page, 'g2')).toMatch(/^root@g2:~# fg\s*\nrun random-access 16 100000000\s*$/m);
    // While it runs in the foreground, what is typed shows at once (type-ahead).
    await page.keyboard.type('free -m');
    await expect.poll(() => consoleText(page, 'g2')).toMatch(/^free -m\s*$/m);
    await expectVisible(page, 'g2', /^free -m *$/, 'the type-ahead');
    await shot(page, 'console-use-4-job-control-1366');
    // Ctrl-C stops the foreground job (and discards the type-ahead): the prompt is back, no jobs.
    await page.keyboard.press('Control+C');
    await expect.poll(() => consoleText(page, 'g2')).toMatch(/\^C\s*\nroot@g2:~#/);
    await typeIn(page, 'g2', 'jobs');
    await typeIn(page, 'g2', 'echo-done');
    await expect.poll(() => consoleText(page, 'g2')).toMatch(/root@g2:~# jobs\s*\nroot@g2:~# echo-done\s*\n-bash: echo-done: command not found/);
    // g1's workload was not touched by any of it.
    expect(await state(page)).toBe('running');
    await page.getByTestId('stop').click();
    await expect.poll(() => state(page), { timeout: 10_000 }).toBe('stopped');
    expect(b.errors).toEqual([]);
  });

  it('xl create adds the domain\'s console tab, xl console shows it, xl destroy removes it (a selected one falls back to dom0)', async () => {
    const { page } = b;
    await typeIn(page, 'dom0', 'xl create name="g9" memory=128 type="hvm" hap=1');
    await expect.poll(() => page.locator('[data-console-tab="g9"]').count(), { timeout: 10_000 }).toBe(1);
    await typeIn(page, 'dom0', 'xl console g9');
    await expect.poll(() => page.locator('[data-console-tab="g9"]').getAttribute('aria-selected'), { timeout: 5000 }).toBe('true');
    await expectVisible(page, 'g9', /^root@g9:~# *$/, "g9's prompt");
    await typeIn(page, 'g9', 'free -m');
    await expectVisible(page, 'g9', /^Mem:\s+\d+/, "g9's free");
    await shot(page, 'console-use-5-xl-create-1366');
    await typeIn(page, 'dom0', 'xl destroy g9');
    await expect.poll(() => page.locator('[data-console-tab="g9"]').count(), { timeout: 10_000 }).toBe(0);
    expect(await page.locator('[data-console-tab="dom0"]').getAttribute('aria-selected')).toBe('true');

    // A domain destroyed while its console is the one shown: the panel moves to dom0. Only dom0's
    // shell has xl, so the destroy is typed into dom0 from the test while g8 is selected.
    await typeIn(page, 'dom0', 'xl create -c name="g8" memory=128 type="pvh"');
    await expect.poll(() => page.locator('[data-console-tab="g8"]').getAttribute('aria-selected'), { timeout: 10_000 }).toBe('true');
    await page.evaluate(() => (window as unknown as { __hyperlabTestHooks: { lab: { sim: { input(c: string, d: string): void } } } }).__hyperlabTestHooks.lab.sim.input('dom0', 'xl destroy g8\r'));
    await expect.poll(() => page.locator('[data-console-tab="g8"]').count(), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => page.locator('[data-console-tab="dom0"]').getAttribute('aria-selected')).toBe('true');
    await expect.poll(() => page.locator('[data-console="dom0"]').isVisible()).toBe(true);
    expect(b.errors).toEqual([]);
  });

  it('run bogus-workload names the unknown name and lists the workloads run can start', async () => {
    const { page } = b;
    await typeIn(page, 'g2', 'clear');
    await typeIn(page, 'g2', 'run bogus-workload');
    await expect.poll(() => consoleText(page, 'g2'), { timeout: 10_000 }).toContain('run: unknown workload "bogus-workload"; one of idle, cold-walk, random-access');
    const text = await consoleText(page, 'g2');
    // The list (wrapped over rows, so rows are joined) up to the usage that follows it.
    const listed = text.slice(text.indexOf('unknown workload'), text.indexOf('Usage: run')).replace(/\n/g, '');
    expect(listed).toContain('spec');
    expect(listed).toContain('kernel-build');
    // Only what `run` can start: a hypercalls workload is a script, written in a scenario file.
    expect(listed).not.toContain('hypercalls');
    expect(text.replace(/\n/g, '')).toContain('"run" alone lists each workload\'s parameters');
    await expectVisible(page, 'g2', /^root@g2:~# *$/, 'the prompt after the list');
    expect(b.errors).toEqual([]);
  });

  it('the consoles get a fair share of a 1366x768 window by default, and the separator gives them more (kept after a reload)', async () => {
    const { page } = b;
    await page.locator('nav [data-view="run"]').click();
    await openTab(page, 'dom0');
    // Rows xterm laid out for dom0, and the height of the panel's body.
    const measure = () =>
      page.evaluate(() => {
        const body = document.querySelector('[data-console="dom0"]')!.closest('.body') as HTMLElement;
        const run = document.querySelector('.run') as HTMLElement;
        return { rows: document.querySelectorAll('[data-console="dom0"] .xterm-rows > div').length, body: body.getBoundingClientRect().height, run: run.getBoundingClientRect().height };
      });
    const before = await measure();
    // `xl list` with a header and a few domains, `xl info`'s first screen: at least 15 rows.
    expect(before.rows).toBeGreaterThanOrEqual(15);
    const split = page.getByTestId('console-split');
    const share0 = Number(await split.getAttribute('aria-valuenow'));
    await split.focus();
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp');
    // Two steps of 5 % of the view's height each.
    await expect.poll(async () => Number(await split.getAttribute('aria-valuenow'))).toBe(share0 + 10);
    await expect.poll(async () => (await measure()).body).toBeGreaterThan(before.body + 0.1 * before.run - 16);
    const grown = await measure();
    expect(grown.rows).toBeGreaterThan(before.rows);
    await page.reload();
    await page.locator('nav [data-view="run"]').click();
    expect(Number(await page.getByTestId('console-split').getAttribute('aria-valuenow'))).toBe(share0 + 10);
    // Back where it was, for the tests after this one.
    await page.getByTestId('console-split').focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    expect(b.errors).toEqual([]);
  });
});

describe('consoles at 1920x1080', () => {
  let server: RunningServer;
  let b: Browser;
  beforeAll(async () => {
    requireBuild();
    server = await startServer(freshDataDir('console-use-hd'));
    b = await openBrowser(server.url, { width: 1920, height: 1080 });
  });
  afterAll(async () => {
    await b?.close();
    await server?.close();
  });

  it('guest consoles open at their prompt', async () => {
    const { page } = b;
    await loadPreset(page, 'multi-guest');
    await page.getByTestId('run').click();
    await page.getByTestId('results-table').waitFor({ timeout: 120_000 });
    for (const g of ['web', 'db']) {
      await page.locator(`[data-console-tab="${g}"]`).click();
      await expectVisible(page, g, new RegExp(`^root@${g}:~# *$`), `the prompt of ${g}`);
    }
    await typeIn(page, 'db', 'ps');
    await expectVisible(page, 'db', /^\s+PID STAT\s+VSZ\s+RSS COMMAND\s*$/, "ps's header");
    await expectVisible(page, 'db', /^root@db:~# *$/, 'the prompt after ps');
    await shot(page, 'console-use-6-guest-at-prompt-1920');
    expect(b.errors).toEqual([]);
  });
});

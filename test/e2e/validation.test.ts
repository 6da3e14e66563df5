/**
 * Validation and notices as a new user meets them (issue 10, "Validation and notices"):
 * - an edit in the JSON or xl.cfg editor that does not parse shows in the status, and Run (button
 *   or Ctrl+Enter) refuses rather than run the last version that parsed;
 * - a notice is shown once (Run then Ctrl+Enter), is withdrawn when its problem is fixed, follows
 *   the current problem, and never covers a field (three presets loaded in turn);
 * - problems are told in the field's terms with the schema's own bounds;
 * - a TLB whose ways do not divide its entries shows no fractional sets, and its reason is fully
 *   visible in the left pane at 1366×768;
 * - the start-up scenario is the walk-4k preset itself.
 * Screenshots: test-results/screenshots/valid-*.png at 1366×768 and 1920×1080.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { freshDataDir, openBrowser, requireBuild, shot, startServer } from './harness.js';
import { PRESETS } from '../../core/api/presets.js';
import { DEFAULT_MMU_CONFIG, machineSchema } from '../../core/api/index.js';
import type { RunningServer } from '../../electron/host/server.js';

const SIZES = [
  { width: 1366, height: 768 },
  { width: 1920, height: 1080 },
] as const;

/** Thin-space grouping, as the lab prints numbers (1 048 576). */
const g = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, '\u2009');

const noticeTexts = (page: Page) => page.locator('.notices .notice span').allTextContents();

async function simState(page: Page): Promise<string> {
  return page.evaluate(() => (window as unknown as { __hyperlabTestHooks: { lab: { sim: { state: string } } } }).__hyperlabTestHooks.lab.sim.state);
}

async function toScenario(page: Page): Promise<void> {
  await page.locator('nav [data-view="scenario"]').click();
  await page.getByTestId('scenario-view').waitFor();
}

const currentView = (page: Page) => page.locator('nav [aria-current="page"]').getAttribute('data-view');

/** Form fields in the scenario view that a notice covers (their centre or a corner is the notice's). */
async function coveredFields(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    const view = document.querySelector('[data-testid="scenario-view"]')!;
    for (const el of view.querySelectorAll<HTMLElement>('input, select, textarea, button')) {
      // The part of the field its scrolling ancestors let show (a field scrolled out of its column is not covered).
      const r = el.getBoundingClientRect();
      let [left, top, right, bottom] = [r.left, r.top, r.right, r.bottom];
      for (let a = el.parentElement; a; a = a.parentElement) {
        const cs = getComputedStyle(a);
        if (cs.overflowX === 'visible' && cs.overflowY === 'visible') continue;
        const c = a.getBoundingClientRect();
        [left, top, right, bottom] = [Math.max(left, c.left), Math.max(top, c.top), Math.min(right, c.right), Math.min(bottom, c.bottom)];
      }
      [right, bottom] = [Math.min(right, window.innerWidth), Math.min(bottom, window.innerHeight)];
      if (right - left < 4 || bottom - top < 4) continue;
      const pts = [
        [(left + right) / 2, (top + bottom) / 2],
        [left + 2, top + 2],
        [right - 2, top + 2],
        [left + 2, bottom - 2],
        [right - 2, bottom - 2],
      ];
      for (const [x, y] of pts) {
        const hit = document.elementFromPoint(x!, y!);
        if (hit?.closest('.notices')) {
          out.push(`${el.tagName.toLowerCase()}#${el.id || el.textContent?.trim().slice(0, 20)}`);
          break;
        }
      }
    }
    return out;
  });
}

describe('validation and notices', () => {
  let server: RunningServer;
  beforeAll(async () => {
    requireBuild();
    server = await startServer(freshDataDir('valid'));
  });
  afterAll(async () => {
    await server?.close();
  });

  it('starts with the walk-4k preset itself', async () => {
    const b = await openBrowser(server.url, { width: 1366, height: 768 });
    const { page } = b;
    try {
      const preset = PRESETS.find((p) => p.id === 'walk-4k')!;
      await expect.poll(() => page.getByTestId('scenario-name').textContent()).toBe(preset.scenario.name);
      const scenario = await page.evaluate(() => JSON.parse(JSON.stringify((window as unknown as { __hyperlabTestHooks: { lab: { scenario: unknown } } }).__hyperlabTestHooks.lab.scenario)));
      expect(scenario).toEqual(preset.scenario);
      // Not an edited scenario: loading the preset of the same name asks nothing.
      await toScenario(page);
      await page.getByTestId('presets-toggle').click();
      await page.getByTestId('load-preset-walk-4k').click();
      expect(await page.getByTestId('confirm-preset').count()).toBe(0);
      expect(b.errors).toEqual([]);
    } finally {
      await b.close();
    }
  });

  it('an unparsed JSON edit shows in the status, and Run and Ctrl+Enter refuse it (one notice) until it is fixed', async () => {
    for (const { width, height } of SIZES) {
      const b = await openBrowser(server.url, { width, height });
      const { page } = b;
      try {
        await toScenario(page);
        await page.getByTestId('edit-json').click();
        const json = page.locator('#sc-json');
        const good = await json.inputValue();
        // An unquoted word where a string belongs: the first "hypervisor" value.
        const bad = good.replace(/"hypervisor": "(\w+)"/, '"hypervisor": $1');
        expect(bad).not.toBe(good);
        const at = bad.indexOf('"hypervisor": ') + '"hypervisor": '.length;
        const line = bad.slice(0, at).split('\n').length;
        const column = at - bad.lastIndexOf('\n', at - 1);
        await json.fill(bad);
        // Run at once, before the editor's debounce has parsed the edit.
        await page.getByTestId('run').click();
        expect(await currentView(page)).toBe('scenario');
        expect(await simState(page)).toBe('idle');
        const status = page.getByTestId('scenario-status');
        await expect.poll(() => status.getAttribute('data-ok')).toBe('false');
        expect(await status.textContent()).toContain(`the JSON editor has an edit that does not parse (line ${line}, column ${column})`);
        expect(await status.textContent()).not.toContain('valid — ready');
        // The top bar, seen from every view, says the scenario cannot run as it stands.
        await expect.poll(() => page.getByTestId('unparsed-edit').count()).toBe(1);
        await page.keyboard.press('Control+Enter');
        await page.waitForTimeout(300);
        expect(await simState(page)).toBe('idle');
        const texts = await noticeTexts(page);
        expect(texts.length).toBe(1);
        expect(texts[0]).toMatch(/^Not run: the JSON editor has an edit that does not parse/);
        await shot(page, `valid-1-unparsed-json-${width}x${height}`);
        // Fixed: the status is green again and the notice goes.
        await json.fill(good);
        await expect.poll(() => status.getAttribute('data-ok')).toBe('true');
        await expect.poll(() => noticeTexts(page)).toEqual([]);
        await expect.poll(() => page.getByTestId('unparsed-edit').count()).toBe(0);
        expect(b.errors).toEqual([]);
      } finally {
        await b.close();
      }
    }
  });

  it('an unparsed xl.cfg edit shows in the status and Run refuses it', async () => {
    const b = await openBrowser(server.url, { width: 1366, height: 768 });
    const { page } = b;
    try {
      await toScenario(page);
      const card = page.locator('[data-domain-card]').first();
      const name = await card.getAttribute('data-domain-card');
      await card.getByRole('button', { name: 'xl.cfg' }).click();
      const xl = page.locator('#sc-domains-0-xlcfg');
      const text = await xl.inputValue();
      await xl.fill(`${text}memory = lots\n`);
      await page.keyboard.press('Control+Enter');
      expect(await currentView(page)).toBe('scenario');
      expect(await simState(page)).toBe('idle');
      const status = page.getByTestId('scenario-status');
      await expect.poll(() => status.getAttribute('data-ok')).toBe('false');
      expect(await status.textContent()).toContain(`the xl.cfg editor of domain "${name}" has an edit that does not parse (line ${text.split('\n').length}`);
      expect((await noticeTexts(page)).filter((t) => t.includes('xl.cfg editor'))).toHaveLength(1);
      await xl.fill(text);
      await expect.poll(() => status.getAttribute('data-ok')).toBe('true');
      expect(b.errors).toEqual([]);
    } finally {
      await b.close();
    }
  });

  it('a refused run gives one notice, which follows the current problem and goes when it is fixed', async () => {
    const b = await openBrowser(server.url, { width: 1366, height: 768 });
    const { page } = b;
    try {
      await toScenario(page);
      await page.locator('#sc-machine-memoryMiB').fill('8');
      await page.getByTestId('run').click();
      await page.keyboard.press('Control+Enter');
      await page.waitForTimeout(300);
      let texts = await noticeTexts(page);
      expect(texts).toHaveLength(1);
      expect(texts[0]).toContain('machine.memoryMiB');
      // In the field's terms, with the schema's own bounds (not zod's "Too small: …").
      const mem = machineSchema.shape.memoryMiB as unknown as { minValue: number; maxValue: number };
      const said = `must be a whole number of MiB from ${g(mem.minValue)} to ${g(mem.maxValue)}; got 8`;
      expect(await page.locator('#sc-machine-memoryMiB--p0').textContent()).toBe(`Memory: ${said}`);
      expect(texts[0]).toContain(said);
      // A second problem, then the first fixed: the notice names the one that is left.
      await page.locator('#sc-machine-pcpus').fill('0');
      await page.locator('#sc-machine-memoryMiB').fill('2048');
      await expect.poll(async () => (await noticeTexts(page)).join('|')).toContain('machine.pcpus');
      texts = await noticeTexts(page);
      expect(texts).toHaveLength(1);
      expect(texts[0]).not.toContain('machine.memoryMiB');
      // Fixed: withdrawn.
      await page.locator('#sc-machine-pcpus').fill('1');
      await expect.poll(() => noticeTexts(page)).toEqual([]);
      expect(b.errors).toEqual([]);
    } finally {
      await b.close();
    }
  });

  it('three presets loaded in turn leave one notice, and no notice covers a field', async () => {
    for (const { width, height } of SIZES) {
      const b = await openBrowser(server.url, { width, height });
      const { page } = b;
      try {
        await toScenario(page);
        // A refused run first, as a new user gets one.
        await page.locator('#sc-machine-memoryMiB').fill('8');
        await page.getByTestId('run').click();
        const three = PRESETS.filter((p) => p.id !== 'walk-4k').slice(0, 3);
        for (const p of three) {
          await page.getByTestId('presets-toggle').click();
          await page.getByTestId(`load-preset-${p.id}`).click();
          if (await page.getByTestId('confirm-preset').count()) await page.getByTestId('confirm-preset').click();
          await expect.poll(() => page.getByTestId('scenario-name').textContent()).toBe(p.scenario.name);
        }
        await page.waitForTimeout(300);
        expect(await coveredFields(page)).toEqual([]);
        const texts = await noticeTexts(page);
        // The refused run's problem is fixed (a valid preset replaced the scenario): only the last load is told.
        expect(texts).toEqual([`Loaded the preset “${three[2]!.title}”. Press ▶ Run (Ctrl+Enter) to run it.`]);
        await shot(page, `valid-3-notices-after-presets-${width}x${height}`);
        expect(b.errors).toEqual([]);
      } finally {
        await b.close();
      }
    }
  });

  it('ways that do not divide entries: no fractional sets, and the reason is fully visible', async () => {
    for (const { width, height } of SIZES) {
      const b = await openBrowser(server.url, { width, height });
      const { page } = b;
      try {
        await toScenario(page);
        await page.locator('#sc-machine-mmu-tlb4k-ways').fill('7');
        const sets = page.locator('td.sets').first();
        await expect.poll(() => sets.textContent()).toMatch(/^—/);
        expect(DEFAULT_MMU_CONFIG.tlb4k.entries % 7).not.toBe(0);
        const all = await page.locator('td.sets').allTextContents();
        for (const t of all) expect(t).not.toMatch(/\d\.\d/);
        const msg = page.locator('[data-problem-path="machine.mmu.tlb4k"]');
        await expect.poll(() => msg.textContent()).toMatch(/ways must divide entries/);
        await msg.scrollIntoViewIfNeeded();
        const fit = await msg.evaluate((el) => {
          const pane = el.closest('.col')!.getBoundingClientRect();
          const r = el.getBoundingClientRect();
          return { inside: r.left >= pane.left - 1 && r.right <= pane.right + 1, whole: el.scrollWidth <= el.clientWidth + 1, paneScrolls: el.closest('.col')!.scrollWidth > el.closest('.col')!.clientWidth + 1 };
        });
        expect(fit).toEqual({ inside: true, whole: true, paneScrolls: false });
        await shot(page, `valid-2-tlb-ways-7-${width}x${height}`);
        expect(b.errors).toEqual([]);
      } finally {
        await b.close();
      }
    }
  });
});

/**
 * The Scenario view as a user takes it in browser mode: type an invalid value and read the reason
 * under the field, see a domain as xl.cfg and the scenario as JSON, load a preset, run it and get
 * its results; at 1280×800 and 1920×1080, light and dark, with nothing cut off. Screenshots go to
 * test-results/screenshots/scenario-*.png.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { freshDataDir, openBrowser, requireBuild, shot, startServer } from './harness.js';
import type { RunningServer } from '../../electron/host/server.js';
import { machineSchema } from '../../core/api/index.js';
import { PRESETS } from '../../core/api/presets.js';

const START = PRESETS.find((p) => p.id === 'walk-4k')!.scenario;

/** Elements inside the view whose content is wider than their box (cut off, or scrolling sideways). */
async function overflowing(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const view = document.querySelector('[data-testid="scenario-view"]')!;
    const out: string[] = [];
    if (document.documentElement.scrollWidth > window.innerWidth + 1) out.push(`page: ${document.documentElement.scrollWidth} > ${window.innerWidth}`);
    for (const el of view.querySelectorAll<HTMLElement>('*')) {
      const cs = getComputedStyle(el);
      if (el.offsetParent === null || el.classList.contains('sr-only') || cs.overflowX === 'visible' || el.tagName === 'TEXTAREA' || el.tagName === 'PRE' || el.tagName === 'INPUT' || el.tagName === 'SELECT') continue;
      if (el.scrollWidth > el.clientWidth + 1) out.push(`${el.tagName.toLowerCase()}.${[...el.classList].join('.')}: ${el.scrollWidth} > ${el.clientWidth}`);
    }
    // Text clipped by an ellipsis or a fixed box also counts: every problem message is shown whole.
    for (const el of view.querySelectorAll<HTMLElement>('[data-problem-path], .problems li, .sentence')) {
      if (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1) out.push(`clipped text: ${el.textContent?.slice(0, 60)}`);
    }
    return out;
  });
}

describe('Scenario view in browser mode', () => {
  let server: RunningServer;
  beforeAll(async () => {
    requireBuild();
    server = await startServer(freshDataDir('scenario'));
  });
  afterAll(async () => {
    await server?.close();
  });

  it('shows the reason under an invalid field, loads a preset and runs it to its results', async () => {
    const b = await openBrowser(server.url, { width: 1280, height: 800 });
    const { page } = b;
    try {
      await page.locator('nav [data-view="scenario"]').click();
      await page.getByTestId('scenario-view').waitFor();
      await shot(page, 'scenario-1-form-1280');
      expect(await overflowing(page)).toEqual([]);

      // The machine's memory, too small: the schema's reason under the field, as it is typed.
      const mem = page.locator('#sc-machine-memoryMiB');
      await mem.fill('8');
      // (Issue 10: in the field's terms, with the schema's bounds, not zod's "Too small: …".)
      const mib = machineSchema.shape.memoryMiB as unknown as { minValue: number; maxValue: number };
      const g = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, '\u2009');
      await expect.poll(() => page.locator('#sc-machine-memoryMiB--p0').textContent()).toBe(`Memory: must be a whole number of MiB from ${g(mib.minValue)} to ${g(mib.maxValue)}; got 8`);
      expect(await mem.getAttribute('aria-invalid')).toBe('true');
      await shot(page, 'scenario-2-memory-invalid');
      await mem.fill('2048');
      await expect.poll(() => page.locator('#sc-machine-memoryMiB--p0').count()).toBe(0);

      // A PV guest with 2 MiB guest pages: the impossible combination explained in full at the field.
      await page.locator('#sc-domains-0-guestPageSize').selectOption('2m');
      const why = page.locator('#sc-domains-0-guestPageSize--p0');
      await expect.poll(() => why.textContent()).toBe(
        `Guest page size: PV guests get no superpages: Xen refuses PSE in a PV guest's L2/L3 entries, so guestPageSize must be "4k", not "2m"`,
      );
      await shot(page, 'scenario-3-pv-superpage-invalid');
      expect(await overflowing(page)).toEqual([]);

      // The same domain as xl.cfg text, then the whole scenario as JSON with a syntax error.
      // (The first domain of the start-up scenario, the walk-4k preset: issue 10.)
      const first = START.domains[0]!.name;
      await page.locator(`[data-domain-card="${first}"]`).getByRole('button', { name: 'xl.cfg' }).click();
      const xl = page.locator('#sc-domains-0-xlcfg');
      await expect.poll(() => xl.inputValue()).toContain(`name = "${first}"`);
      await shot(page, 'scenario-4-xlcfg');
      await page.locator(`[data-domain-card="${first}"]`).getByRole('button', { name: 'Form' }).click();
      await page.getByTestId('edit-json').click();
      await page.locator('#sc-json').fill('{"name": "x", "machine": {"memoryMiB": 8,, "pcpus": 1}}');
      await expect.poll(() => page.getByTestId('json-error').textContent(), { timeout: 5000 }).toMatch(/Line 1, column 4\d:/);
      await shot(page, 'scenario-5-json-error');
      await page.getByTestId('edit-form').click();

      // A preset: the scenario was edited, so loading asks first.
      await page.getByTestId('presets-toggle').click();
      await shot(page, 'scenario-6-presets');
      expect(await overflowing(page)).toEqual([]);
      await page.getByTestId('load-preset-walk-4k').click();
      await page.getByTestId('confirm-preset').click();
      await expect.poll(() => page.getByTestId('scenario-name').textContent()).toBe('seed-C7-walk-4k');
      await expect.poll(() => page.getByTestId('scenario-status').getAttribute('data-ok')).toBe('true');
      await shot(page, 'scenario-7-preset-loaded');

      await page.getByTestId('run').click();
      await page.getByTestId('results-table').waitFor({ timeout: 120_000 });
      const refs = async (name: string) => (await page.locator(`[data-result-domain="${name}"] [data-field="refsPerWalk"]`).textContent())?.trim();
      expect(await refs('pv')).toBe('4.00');
      expect(await refs('shadow')).toBe('4.00');
      expect(await refs('hap')).toBe('24.00');
      await shot(page, 'scenario-8-preset-results');
      expect(b.errors).toEqual([]);
    } finally {
      await b.close();
    }
  });

  for (const { width, height, dark } of [
    { width: 1280, height: 800, dark: true },
    { width: 1920, height: 1080, dark: false },
    { width: 1920, height: 1080, dark: true },
  ]) {
    it(`lays the view out with nothing cut off at ${width}×${height}, ${dark ? 'dark' : 'light'}`, async () => {
      const b = await openBrowser(server.url, { width, height, dark });
      const { page } = b;
      try {
        await page.locator('nav [data-view="scenario"]').click();
        await page.getByTestId('presets-toggle').click();
        await page.getByTestId('load-preset-update-vs-access').click();
        await page.locator('#sc-domains-2-hostPageSize').selectOption('1g');
        await page.locator('details.costs summary').click();
        await page.locator('#sc-machine-costs-vmexit').fill('2400');
        const tag = `${width}x${height}-${dark ? 'dark' : 'light'}`;
        await shot(page, `scenario-9-layout-${tag}`);
        expect(await overflowing(page)).toEqual([]);
        // Two columns: machine and hypervisor on the left, the domains on the right.
        const left = await page.getByRole('region', { name: 'Machine and hypervisor' }).boundingBox();
        const right = await page.getByRole('region', { name: 'Domains' }).boundingBox();
        expect(left!.x + left!.width).toBeLessThanOrEqual(right!.x + 1);
        expect(right!.x + right!.width).toBeLessThanOrEqual(width);
        expect(b.errors).toEqual([]);
      } finally {
        await b.close();
      }
    });
  }
});

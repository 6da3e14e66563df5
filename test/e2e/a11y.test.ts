/**
 * Accessibility: axe-core run on every view of the app (the views are read from the nav, so a view
 * added later is checked without touching this file) in the light, dark and high-contrast themes,
 * with a run going, a run finished and a compare with results. A serious or critical violation
 * fails the test, printed with its rule id, the elements it hit and axe's help text.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { freshDataDir, openBrowser, openScenarioFile, requireBuild, shot, startServer, type Browser } from './harness.js';
import type { RunningServer } from '../../electron/host/server.js';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const THEMES = ['light', 'dark', 'contrast'] as const;

/** One small guest: a run takes a few seconds at full speed, and a paced one keeps going. */
const SCENARIO = {
  name: 'e2e-a11y',
  machine: { memoryMiB: 1024, pcpus: 1 },
  hypervisor: 'xen',
  domains: [
    { name: 'g1', mode: 'pv', memoryMiB: 128, vcpus: 1, workload: { kind: 'update-vs-access', workingSetMiB: 16, accesses: 4000, updatesPerKiloAccess: 10, updateKind: 'mix' } },
  ],
};

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

/** Runs axe on the whole document; returns the serious and critical violations. */
async function axe(page: Page): Promise<Violation[]> {
  // The app's Content-Security-Policy (script-src 'self') refuses an inline <script> tag, as it
  // should; evaluated through the DevTools protocol, the same source defines window.axe.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(`${AXE}\n;window.axe = axe; true`);
  const found = await page.evaluate(async () => {
    const r = await (window as unknown as { axe: { run(ctx: Document): Promise<{ violations: Violation[] }> } }).axe.run(document);
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target as string[], failureSummary: n.failureSummary })) }));
  });
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

function describeViolations(where: string, vs: Violation[]): string {
  return vs
    .map((v) => `${where}: [${v.impact}] ${v.id}: ${v.help}\n` + v.nodes.slice(0, 8).map((n) => `    ${n.target.join(' ')}${n.failureSummary ? ` — ${n.failureSummary.replace(/\s+/g, ' ')}` : ''}`).join('\n'))
    .join('\n');
}

/** The views, as the nav lists them. */
const views = (page: Page) => page.locator('nav[aria-label="Views"] [data-view]').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.view!));

async function setTheme(page: Page, t: string): Promise<void> {
  await page.locator('nav .theme select').selectOption(t);
  await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe(t);
}

async function show(page: Page, view: string): Promise<void> {
  await page.locator(`nav [data-view="${view}"]`).click();
  await expect.poll(() => page.locator(`nav [data-view="${view}"]`).getAttribute('aria-current')).toBe('page');
}

describe('accessibility (axe-core) in browser mode', () => {
  let server: RunningServer;
  let b: Browser;
  let dataDir: string;
  let problems: string[] = [];

  beforeEach(() => {
    problems = [];
  });
  beforeAll(async () => {
    requireBuild();
    dataDir = freshDataDir('a11y');
    server = await startServer(dataDir);
    b = await openBrowser(server.url, { width: 1280, height: 800 });
  });
  afterAll(async () => {
    await b?.close();
    await server?.close();
  });

  async function check(where: string): Promise<void> {
    const vs = await axe(b.page);
    if (vs.length) {
      const text = describeViolations(where, vs);
      console.log(text);
      problems.push(text);
    }
  }

  it('the nav lists the views, Scenario to Reproductions at least', async () => {
    await openScenarioFile(b.page, dataDir, SCENARIO);
    const vs = await views(b.page);
    for (const v of ['scenario', 'run', 'compare', 'walk', 'topology', 'history', 'reproductions']) expect(vs).toContain(v);
  });

  it('the Run view while a run is going has no serious or critical violation in any theme', async () => {
    const { page } = b;
    // The same guest with far more accesses, paced: it is certainly still going while axe looks.
    await openScenarioFile(page, dataDir, { ...SCENARIO, name: 'e2e-a11y-long', domains: [{ ...SCENARIO.domains[0]!, workload: { ...SCENARIO.domains[0]!.workload, accesses: 5_000_000 } }] });
    await show(page, 'run');
    await page.getByTestId('pace').selectOption({ label: '1 ms/s' });
    await page.getByTestId('run').click();
    await expect.poll(() => page.getByTestId('sim-state').textContent(), { timeout: 30_000 }).toBe('running');
    for (const t of THEMES) {
      await setTheme(page, t);
      await check(`run (going), ${t}`);
      if (t === 'contrast') await shot(page, 'a11y-run-going-contrast');
    }
    await page.getByTestId('stop').click();
    await page.getByTestId('results-table').waitFor({ timeout: 30_000 });
    await page.getByTestId('pace').selectOption({ label: 'max' });
    expect(problems).toEqual([]);
  });

  it('Compare with results, then every view in every theme, has no serious or critical violation', async () => {
    const { page } = b;
    await openScenarioFile(page, dataDir, SCENARIO);
    await show(page, 'compare');
    await page.getByTestId('compare-workload').selectOption('update-vs-access');
    for (const m of ['native', 'pv', 'shadow', 'hap']) await page.locator(`[data-mode-check="${m}"]`).check();
    await page.getByTestId('compare-run').click();
    await page.getByTestId('compare-bars').locator('[data-bar="hap"]').waitFor({ timeout: 120_000 });

    const all = await views(page);
    for (const t of THEMES) {
      await setTheme(page, t);
      for (const v of all) {
        await show(page, v);
        await check(`${v}, ${t}`);
        if (v === 'run' || v === 'compare') await shot(page, `a11y-${v}-${t}`);
      }
    }
    expect(b.errors).toEqual([]);
    expect(problems, problems.join('\n')).toEqual([]);
  });
});

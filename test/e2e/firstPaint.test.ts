/**
 * First paint: the app's first contentful paint in Chromium, and the time until its shell is
 * interactive (the Run button enabled, the nav's buttons present), measured with the page's own
 * Performance API over three loads; the median is reported (`first paint: N ms`) and must be under
 * one second (issue 15). The median of three keeps one load slowed by a busy machine from deciding.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { freshDataDir, openBrowser, report, requireBuild, startServer, type Browser } from './harness.js';
import type { RunningServer } from '../../electron/host/server.js';

const LOADS = 3;
/** Issue 15: "First paint under 1 s in Chromium on this machine". */
const BUDGET_MS = 1000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** One load's times from navigation start (ms): first contentful paint, and shell interactive. */
async function measure(page: Page, url: string): Promise<{ fcp: number; interactive: number }> {
  // The URL carries the session token in its fragment: a plain goto to it would only move the
  // fragment, so each load starts from a blank page.
  await page.goto('about:blank');
  await page.goto(url);
  // The shell is interactive when Run can be pressed and the views can be switched.
  const interactive = await page.waitForFunction(
    () => {
      const run = document.querySelector<HTMLButtonElement>('[data-testid="run"]');
      const nav = document.querySelectorAll('nav [data-view]').length;
      return run && !run.disabled && nav > 0 ? performance.now() : null;
    },
    undefined,
    { polling: 'raf', timeout: 30_000 },
  );
  const at = (await interactive.jsonValue()) as number;
  const fcp = await page.waitForFunction(() => performance.getEntriesByType('paint').find((e) => e.name === 'first-contentful-paint')?.startTime ?? null, undefined, { timeout: 30_000 });
  return { fcp: (await fcp.jsonValue()) as number, interactive: at };
}

describe('first paint in browser mode', () => {
  let server: RunningServer;
  let b: Browser;

  beforeAll(async () => {
    requireBuild();
    server = await startServer(freshDataDir('paint'));
    b = await openBrowser(server.url);
  });
  afterAll(async () => {
    await b?.close();
    await server?.close();
  });

  it('paints the app within a second (median of three loads), and reports it', async () => {
    const loads: { fcp: number; interactive: number }[] = [];
    for (let i = 0; i < LOADS; i++) loads.push(await measure(b.page, server.url));
    const fcp = Math.round(median(loads.map((l) => l.fcp)));
    const interactive = Math.round(median(loads.map((l) => l.interactive)));
    console.log(`first paint: ${fcp} ms`);
    console.log(`shell interactive: ${interactive} ms`);
    report('first-paint', { medianFirstContentfulPaintMs: fcp, medianShellInteractiveMs: interactive, loads });
    expect(fcp).toBeLessThan(BUDGET_MS);
    expect(b.errors).toEqual([]);
  });
});

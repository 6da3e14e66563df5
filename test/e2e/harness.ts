/**
 * End-to-end harness: the browser-mode server (the real host API and store) on 127.0.0.1 with a
 * fresh data folder, and Debian's Chromium driven by playwright-core. Screenshots go to
 * test-results/screenshots/ so a person can look at what a user sees.
 */
import { mkdirSync, mkdtempSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { serve, type RunningServer } from '../../electron/host/server.js';

export const CHROMIUM = process.env.HYPERLAB_CHROMIUM ?? '/usr/bin/chromium';
export const SHOTS = resolve('test-results/screenshots');
export const RENDERER = resolve('out/renderer');

export function requireBuild(): void {
  if (!existsSync(join(RENDERER, 'index.html'))) throw new Error('out/renderer is missing: run `npm run build` first (npm test does)');
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
}

export function freshDataDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `hyperlab-e2e-${tag}-`));
}

export async function startServer(dataDir: string): Promise<RunningServer> {
  return serve({ rendererDir: RENDERER, dataDir, port: 0 });
}

export interface Browser {
  ctx: BrowserContext;
  page: Page;
  /** Console errors and page errors seen so far (a test asserts there are none). */
  errors: string[];
  close(): Promise<void>;
}

/**
 * Test-only, installed before the page's own scripts: the simulation worker's messages to the page
 * pass a gate the test can close, so that answers to two requests are both held while both are in
 * flight and then delivered in the worker's order — the race made certain, not left to timing; the
 * page's requests to the worker can be held the same way and sent together.
 * `window.__hyperlabTestHooks` also asks the app to expose its Lab (renderer/src/main.ts).
 */
const WORKER_GATE = `(() => {
  const Native = window.Worker;
  const held = [];
  let holding = false;
  const out = [];
  let holdingOut = false;
  window.__hyperlabTestHooks = {};
  window.__workerGate = {
    hold() { holding = true; },
    count(type) { return held.filter((h) => h.type === type).length; },
    release() {
      holding = false;
      const q = held.splice(0);
      for (const h of q) h.deliver();
      return q.length;
    },
    holdRequests() { holdingOut = true; },
    releaseRequests() {
      holdingOut = false;
      const q = out.splice(0);
      for (const send of q) send();
      return q.length;
    },
  };
  window.Worker = class GatedWorker extends Native {
    #onmessage = null;
    constructor(url, options) {
      super(url, options);
      this.addEventListener('message', (e) => {
        const deliver = () => this.#onmessage?.call(this, e);
        if (holding) held.push({ type: e.data?.type, deliver });
        else deliver();
      });
    }
    postMessage(...args) {
      if (holdingOut) out.push(() => super.postMessage(...args));
      else super.postMessage(...args);
    }
    get onmessage() { return this.#onmessage; }
    set onmessage(fn) { this.#onmessage = fn; }
  };
})();`;

interface GateWindow {
  __workerGate: { hold(): void; count(type: string): number; release(): number; holdRequests(): void; releaseRequests(): number };
}

/**
 * From now on, the page's requests to the worker wait until releaseRequests, which posts them all
 * in one task: the worker then has them all queued before it handles the first.
 */
export async function holdRequests(page: Page): Promise<void> {
  await page.evaluate(() => (window as unknown as GateWindow).__workerGate.holdRequests());
}

export async function releaseRequests(page: Page): Promise<number> {
  return page.evaluate(() => (window as unknown as GateWindow).__workerGate.releaseRequests());
}

/** From now on, the worker's messages to the page wait (in order) until releaseWorker. */
export async function holdWorker(page: Page): Promise<void> {
  await page.evaluate(() => (window as unknown as GateWindow).__workerGate.hold());
}

/** Waits until the worker has answered `n` messages of `type` while held. */
export async function heldFromWorker(page: Page, type: string, n: number, timeout = 60_000): Promise<void> {
  await expect.poll(() => page.evaluate((t) => (window as unknown as GateWindow).__workerGate.count(t), type), { timeout }).toBe(n);
}

/** Delivers every held message in the worker's order and opens the gate. */
export async function releaseWorker(page: Page): Promise<number> {
  return page.evaluate(() => (window as unknown as GateWindow).__workerGate.release());
}

export async function openBrowser(url: string, opts: { width?: number; height?: number; dark?: boolean } = {}): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'hyperlab-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 },
    colorScheme: opts.dark ? 'dark' : 'light',
    acceptDownloads: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  await ctx.addInitScript(WORKER_GATE);
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  await page.goto(url);
  return { ctx, page, errors, close: () => ctx.close() };
}

export async function shot(page: Page, name: string): Promise<string> {
  mkdirSync(SHOTS, { recursive: true });
  const file = join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** Frame gaps (ms) seen by requestAnimationFrame in the page over `ms`. */
export async function measureFrames(page: Page, ms: number): Promise<{ frames: number; p50: number; p95: number; max: number }> {
  return page.evaluate(
    (dur) =>
      new Promise<{ frames: number; p50: number; p95: number; max: number }>((ok) => {
        const gaps: number[] = [];
        let last = performance.now();
        const end = last + dur;
        const tick = (t: number) => {
          gaps.push(t - last);
          last = t;
          if (t < end) requestAnimationFrame(tick);
          else {
            gaps.sort((a, b) => a - b);
            const q = (f: number) => gaps[Math.min(gaps.length - 1, Math.floor(f * gaps.length))]!;
            ok({ frames: gaps.length, p50: q(0.5), p95: q(0.95), max: gaps[gaps.length - 1]! });
          }
        };
        requestAnimationFrame(tick);
      }),
    ms,
  );
}

export function report(name: string, value: unknown): void {
  mkdirSync(resolve('test-results'), { recursive: true });
  writeFileSync(resolve('test-results', `${name}.json`), JSON.stringify(value, null, 2));
  console.log(`[e2e] ${name}: ${JSON.stringify(value)}`);
}

/**
 * File → Open, as a user does it: writes `scenario` to `dir`, picks it in the file chooser, and
 * waits until the top bar shows its name.
 */
export async function openScenarioFile(page: Page, dir: string, scenario: { name: string; [field: string]: unknown }): Promise<void> {
  const file = join(dir, `${scenario.name}.json`);
  writeFileSync(file, JSON.stringify(scenario));
  const chooser = page.waitForEvent('filechooser');
  await page.getByTestId('open-scenario').click();
  await (await chooser).setFiles(file);
  await expect.poll(() => page.getByTestId('scenario-name').textContent()).toBe(scenario.name);
}

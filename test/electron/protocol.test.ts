/**
 * The app:// protocol and the Content-Security-Policy it sends. The handler is a plain function
 * of (url, method), so raw URL strings — ones a URL parser would have normalized — reach it.
 */
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RENDERER_CSP } from '../../electron/host/csp.js';
import { APP_ENTRY_URL, APP_SCHEME_PRIVILEGES, createAppProtocolHandler, resolveAppPath } from '../../electron/main/protocol.js';

vi.mock('electron', () => ({}));

function directives(csp: string): Map<string, string[]> {
  return new Map(
    csp
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name, ...values]) => [name!, values]),
  );
}

describe('the Content-Security-Policy', () => {
  const d = directives(RENDERER_CSP);

  it('allows scripts only from the app, never eval or inline script', () => {
    expect(d.get('script-src')).toEqual(["'self'"]);
    expect(RENDERER_CSP).not.toContain('unsafe-eval');
    expect(RENDERER_CSP).not.toContain('wasm-unsafe-eval');
    expect(d.get('script-src')).not.toContain("'unsafe-inline'");
  });

  it('has workers from the app or blob:, no plugins, no framing, no <base>', () => {
    expect(d.get('worker-src')).toEqual(["'self'", 'blob:']);
    expect(d.get('object-src')).toEqual(["'none'"]);
    expect(d.get('frame-ancestors')).toEqual(["'none'"]);
    expect(d.get('base-uri')).toEqual(["'none'"]);
    expect(d.has('default-src')).toBe(true);
  });

  it('names no remote origin and no wildcard anywhere', () => {
    for (const [name, values] of d) {
      for (const v of values) {
        expect(["'self'", "'none'", "'unsafe-inline'", 'data:', 'blob:'], `${name} ${v}`).toContain(v);
      }
    }
    expect(RENDERER_CSP).not.toMatch(/https?:|\*|ws:|wss:/);
  });
});

describe('app:// scheme privileges', () => {
  it('is a standard, secure scheme that supports fetch, and does not bypass the CSP', () => {
    expect(APP_SCHEME_PRIVILEGES.scheme).toBe('app');
    expect(APP_SCHEME_PRIVILEGES.privileges).toMatchObject({ standard: true, secure: true, supportFetchAPI: true });
    expect(APP_SCHEME_PRIVILEGES.privileges).not.toHaveProperty('bypassCSP');
    expect(APP_ENTRY_URL).toBe('app://hyperlab/index.html');
  });
});

describe('app:// protocol handler', () => {
  let dir: string;
  let root: string;
  let handler: ReturnType<typeof createAppProtocolHandler>;
  const get = (url: string) => handler({ url, method: 'GET' });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hyperlab-proto-'));
    root = join(dir, 'renderer');
    mkdirSync(join(root, 'assets'), { recursive: true });
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>Hyperlab</title>');
    writeFileSync(join(root, 'assets', 'index-abc.js'), 'console.log(1)');
    writeFileSync(join(dir, 'secret.txt'), 'TOP SECRET');
    symlinkSync(join(dir, 'secret.txt'), join(root, 'assets', 'link.txt'));
    handler = createAppProtocolHandler(root);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves index.html and bundles with their type and the CSP header', async () => {
    const html = await get('app://hyperlab/index.html');
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html.headers.get('content-security-policy')).toBe(RENDERER_CSP);
    expect(html.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await html.text()).toContain('<title>Hyperlab</title>');
    const js = await get('app://hyperlab/assets/index-abc.js?v=1');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(js.headers.get('content-security-policy')).toBe(RENDERER_CSP);
    expect((await get('app://hyperlab/')).status).toBe(200);
  });

  it('attaches the CSP to refusals and 404s too', async () => {
    const missing = await get('app://hyperlab/nope.js');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-security-policy')).toBe(RENDERER_CSP);
    const bad = await get('app://hyperlab/../secret.txt');
    expect(bad.headers.get('content-security-policy')).toBe(RENDERER_CSP);
  });

  it('refuses ../ traversal in every spelling, and never returns the file outside', async () => {
    for (const url of [
      'app://hyperlab/../secret.txt',
      'app://hyperlab/assets/../../secret.txt',
      'app://hyperlab/%2e%2e/secret.txt',
      'app://hyperlab/..%2fsecret.txt',
      'app://hyperlab/assets/%2E%2E%2F%2E%2E%2Fsecret.txt',
      'app://hyperlab/..%5csecret.txt',
      'app://hyperlab/assets/..\\..\\secret.txt',
      'app://hyperlab/%00index.html',
      'app://hyperlab/%zz',
    ]) {
      const r = await get(url);
      expect(r.status, url).toBeGreaterThanOrEqual(400);
      expect(await r.text(), url).not.toContain('TOP SECRET');
    }
    expect(resolveAppPath(root, 'app://hyperlab/../secret.txt')).toMatchObject({ ok: false, status: 403 });
  });

  it('refuses a symlink that leads outside the renderer folder', async () => {
    const r = await get('app://hyperlab/assets/link.txt');
    expect(r.status).toBe(403);
    expect(await r.text()).not.toContain('TOP SECRET');
  });

  it('serves only its own host and only GET/HEAD', async () => {
    expect((await get('app://other/index.html')).status).toBe(404);
    expect((await handler({ url: 'app://hyperlab/index.html', method: 'POST' })).status).toBe(405);
    const head = await handler({ url: 'app://hyperlab/index.html', method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });
});

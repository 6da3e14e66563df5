// The browser-mode server: loopback only, the launch token on every API call, the CSP on the page,
// nothing served from outside the renderer folder, and the host API answering like the preload.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, TOKEN_HEADER, type RunningServer } from '../../electron/host/server.js';
import { RENDERER_CSP } from '../../electron/host/csp.js';

describe('browser-mode server', () => {
  let s: RunningServer;
  let base: string;
  let root: string;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'hyperlab-srv-'));
    const renderer = join(root, 'renderer');
    mkdirSync(join(renderer, 'assets'), { recursive: true });
    writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(join(renderer, 'assets', 'a.js'), 'export {}');
    writeFileSync(join(root, 'secret.txt'), 'outside');
    s = await serve({ rendererDir: renderer, dataDir: join(root, 'data'), port: 0, token: 'tok-123' });
    base = `http://127.0.0.1:${s.port}`;
  });
  afterAll(async () => {
    await s?.close();
  });

  const api = (op: string, args: unknown[], token: string | null = 'tok-123') =>
    fetch(`${base}/api/${op}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token === null ? {} : { [TOKEN_HEADER]: token }) },
      body: JSON.stringify({ args }),
    });

  it('listens on 127.0.0.1 only and puts the token in the URL fragment, which browsers never send', () => {
    const addr = s.server.address();
    expect(typeof addr === 'object' && addr?.address).toBe('127.0.0.1');
    expect(s.url).toBe(`${base}/#token=tok-123`);
  });

  it('serves the renderer with the CSP, and nothing outside its folder', async () => {
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe(RENDERER_CSP);
    expect((await fetch(`${base}/assets/a.js`)).headers.get('content-type')).toMatch(/^text\/javascript/);
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt']) {
      const r = await fetch(base + p);
      expect(await r.text()).not.toBe('outside');
      expect([403, 404]).toContain(r.status);
    }
  });

  it('refuses API calls without the launch token or with a wrong one', async () => {
    for (const t of [null, 'wrong', 'tok-1234']) {
      const r = await api('listRuns', [], t);
      expect(r.status).toBe(403);
      expect(await r.json()).toEqual({ ok: false, error: { code: 'forbidden', message: 'missing or wrong launch token' } });
    }
    expect((await fetch(`${base}/api/listRuns`, { headers: { [TOKEN_HEADER]: 'tok-123' } })).status).toBe(405);
  });

  it('answers the host API like the preload: values, and errors naming the argument', async () => {
    expect(await (await api('listRuns', [])).json()).toEqual({ ok: true, value: [] });
    const info = (await (await api('info', [])).json()) as { ok: boolean; value: { host: string; store: { ok: boolean } } };
    expect(info.value.host).toBe('browser');
    expect(info.value.store.ok).toBe(true);
    const bad = (await (await api('getRun', [-1])).json()) as { ok: boolean; error: { code: string; message: string } };
    expect(bad.ok).toBe(false);
    expect(bad.error.code).toBe('bad-args');
    expect(bad.error.message).toMatch(/^getRun: args\[0\]/);
    expect(((await (await api('nope', [])).json()) as { error: { code: string } }).error.code).toBe('unknown-op');
    const garbled = await fetch(`${base}/api/listRuns`, { method: 'POST', headers: { [TOKEN_HEADER]: 'tok-123' }, body: '{not json' });
    expect(garbled.status).toBe(400);
    expect(((await garbled.json()) as { error: { code: string } }).error.code).toBe('bad-args');
  });
});

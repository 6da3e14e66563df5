/**
 * Browser mode: a Node server on 127.0.0.1 that serves the built renderer and the same host API
 * the Electron preload offers, over HTTP. Used by the end-to-end tests and by a teacher running a
 * lab room from one machine.
 *
 * A per-launch token keeps other local pages from calling the API: it is printed in the URL's
 * fragment (never sent to the server by the browser, never logged), the page keeps it and sends it
 * in a custom header, which also forces a CORS preflight that this server never grants.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { hostWorkerBeside, startHostClient } from './hostClient.js';
import { RENDERER_CSP } from './csp.js';

export const TOKEN_HEADER = 'x-hyperlab-token';
const MAX_BODY = 300 * 1024 * 1024;

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
};

export interface ServeOptions {
  /** Folder with the built renderer (out/renderer). */
  rendererDir: string;
  /** Folder for the database. */
  dataDir: string;
  port?: number;
  /** Fixed token (tests); a random one otherwise. */
  token?: string;
  /** The host worker to run (tests); hostWorker.ts beside this file otherwise. */
  workerFile?: string;
  /**
   * How long a running run stays 'running' after its page last renewed its lease (ms); then it is
   * marked 'interrupted'. DEFAULT_LEASE_MS (3 minutes: a background tab's timers may fire only
   * once a minute) unless a test wants a short one.
   */
  leaseMs?: number;
}

export interface RunningServer {
  url: string;
  token: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function send(res: ServerResponse, status: number, body: string | Buffer, type: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': type,
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    ...extra,
  });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON.stringify(value), 'application/json; charset=utf-8');
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function serve(opts: ServeOptions): Promise<RunningServer> {
  if (opts.leaseMs !== undefined && !(Number.isInteger(opts.leaseMs) && opts.leaseMs > 0)) {
    throw new Error(`serve: leaseMs: expected a positive whole number of milliseconds, got ${opts.leaseMs}`);
  }
  const rendererDir = resolve(opts.rendererDir);
  const token = opts.token ?? randomBytes(24).toString('base64url');
  // The store lives in host workers; this event loop only reads requests, checks them and
  // forwards them, so an import being parsed never stalls the page, other API calls or a download.
  const host = startHostClient({
    workerFile: opts.workerFile ?? hostWorkerBeside(import.meta.url),
    dataDir: opts.dataDir,
    host: 'browser',
    ...(opts.leaseMs !== undefined ? { leaseMs: opts.leaseMs } : {}),
    log: (m) => console.warn(`[hyperlab] ${m}`),
  });
  try {
    await host.ready;
  } catch (e) {
    await host.close();
    throw e;
  }

  const serveStatic = async (res: ServerResponse, urlPath: string): Promise<void> => {
    let rel: string;
    try {
      rel = decodeURIComponent(urlPath);
    } catch {
      return send(res, 400, 'bad path', 'text/plain');
    }
    if (rel === '/' || rel === '') rel = '/index.html';
    const file = normalize(join(rendererDir, rel));
    if (file !== rendererDir && !file.startsWith(rendererDir + sep)) return send(res, 403, 'forbidden', 'text/plain');
    try {
      const st = await stat(file);
      if (!st.isFile()) return send(res, 404, 'not found', 'text/plain');
      const body = await readFile(file);
      const type = MIME[extname(file)] ?? 'application/octet-stream';
      const extra: Record<string, string> = type.startsWith('text/html') ? { 'content-security-policy': RENDERER_CSP } : {};
      return send(res, 200, body, type, extra);
    } catch {
      return send(res, 404, 'not found', 'text/plain');
    }
  };

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname.startsWith('/api/')) {
        if (req.method !== 'POST') return sendJson(res, 405, { ok: false, error: { code: 'forbidden', message: 'POST only' } });
        const given = req.headers[TOKEN_HEADER];
        if (typeof given !== 'string' || !sameToken(given, token)) {
          return sendJson(res, 403, { ok: false, error: { code: 'forbidden', message: 'missing or wrong launch token' } });
        }
        let body: Buffer;
        try {
          body = await readBody(req);
        } catch (e) {
          return sendJson(res, 400, { ok: false, error: { code: 'bad-args', message: `request body: ${(e as Error).message}` } });
        }
        // The body goes to the host worker unparsed: an import is up to 256 MB of JSON.
        const { reply, badBody } = await host.dispatchBody(url.pathname.slice('/api/'.length), body);
        return sendJson(res, badBody ? 400 : 200, reply);
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed', 'text/plain');
      return serveStatic(res, url.pathname);
    })().catch((e: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { ok: false, error: { code: 'internal', message: (e as Error).message } });
      else res.end();
    });
  });

  try {
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(opts.port ?? 0, '127.0.0.1', () => ok());
    });
  } catch (e) {
    await host.close();
    throw e;
  }
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}/#token=${token}`,
    token,
    port,
    server,
    close: async () => {
      await new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      });
      await host.close();
    },
  };
}

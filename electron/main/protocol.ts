/**
 * The app:// scheme: the renderer is served from out/renderer under one fixed origin
 * (app://hyperlab) instead of file://. A real origin lets the CSP's 'self' mean "this app and
 * nothing else", lets the IPC layer check the sender's origin, and keeps file:// (which can read
 * any file the user can) out of the renderer entirely (Electron security checklist: "Use a custom
 * protocol instead of file://").
 */
// fs.promises is looked up at call time (fsp.readFile, not an imported binding): once packaged,
// out/renderer lives inside app.asar, which Electron serves by patching these functions in place.
import { promises as fsp } from 'node:fs';
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';
// One policy for both hosts (this protocol and the browser-mode server): electron/host/csp.ts.
import { RENDERER_CSP } from '../host/csp.js';

export const APP_SCHEME = 'app';
export const APP_HOST = 'hyperlab';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

/**
 * Registered before `app` is ready (Electron only accepts it then). `standard` gives the scheme a
 * real origin (so 'self', localStorage and relative URLs behave as on https), `secure` makes it a
 * secure context (module workers, crypto.subtle), `supportFetchAPI` lets the renderer fetch its
 * own assets. Deliberately not `bypassCSP`, not `corsEnabled`, not `allowServiceWorkers`.
 */
export const APP_SCHEME_PRIVILEGES = {
  scheme: APP_SCHEME,
  privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true },
} as const;

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Headers on every response, errors included, so no document of this origin ever lacks the CSP. */
function headers(type: string): Record<string, string> {
  return {
    'content-type': type,
    'content-security-policy': RENDERER_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cache-control': 'no-cache',
  };
}

function refuse(status: number, text: string): Response {
  return new Response(text, { status, headers: headers('text/plain; charset=utf-8') });
}

/**
 * Maps a request URL to a file under `root`, or says why not. Pure, so tests can feed it raw URL
 * strings that a URL parser would already have normalized.
 */
export function resolveAppPath(root: string, rawUrl: string): { ok: true; file: string } | { ok: false; status: number; reason: string } {
  // Look at the raw text first: "..", "\" and NUL are refused whatever their encoding, before
  // any normalization could hide them.
  const afterOrigin = rawUrl.startsWith(`${APP_ORIGIN}/`) ? rawUrl.slice(APP_ORIGIN.length) : null;
  if (afterOrigin === null) return { ok: false, status: 404, reason: 'not an app://hyperlab/ URL' };
  const rawPath = afterOrigin.split(/[?#]/, 1)[0]!;
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return { ok: false, status: 400, reason: 'malformed percent-encoding' };
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return { ok: false, status: 400, reason: 'forbidden character in path' };
  const segments = decoded.split('/');
  if (segments.some((s) => s === '..' || s === '.')) return { ok: false, status: 403, reason: 'path traversal refused' };
  const rel = decoded === '/' ? 'index.html' : decoded.replace(/^\/+/, '');
  const file = resolve(root, rel);
  const back = relative(root, file);
  // Belt and braces: whatever slipped past the checks above, the file must lie inside root.
  if (back === '' || back.startsWith('..') || isAbsolute(back)) return { ok: false, status: 403, reason: 'path traversal refused' };
  return { ok: true, file };
}

export interface AppRequest {
  url: string;
  method: string;
}

/** The protocol handler: GET/HEAD of files under `rendererDir`, every response with the CSP. */
export function createAppProtocolHandler(rendererDir: string): (req: AppRequest) => Promise<Response> {
  const root = resolve(rendererDir);
  return async (req) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(405, 'method not allowed');
    const where = resolveAppPath(root, req.url);
    if (!where.ok) return refuse(where.status, where.reason);
    try {
      const st = await fsp.stat(where.file);
      if (!st.isFile()) return refuse(404, 'not found');
      // A symlink inside out/renderer must not lead outside it. (Inside app.asar there are no
      // symlinks and realpath returns the path unchanged.)
      const real = await fsp.realpath(where.file);
      const realRoot = await fsp.realpath(root);
      if (real !== realRoot && !real.startsWith(realRoot + sep)) return refuse(403, 'path traversal refused');
      const body = await fsp.readFile(where.file);
      const type = MIME[extname(where.file).toLowerCase()] ?? 'application/octet-stream';
      return new Response(req.method === 'HEAD' ? null : new Uint8Array(body), { status: 200, headers: headers(type) });
    } catch {
      return refuse(404, 'not found');
    }
  };
}

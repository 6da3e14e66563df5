/**
 * What a host worker (hostWorker.ts) and its client (hostClient.ts) say to each other, and the
 * worker's side of it. The worker owns one SQLite connection and the host service; the calling
 * thread (Electron main, or the browser-mode server's event loop) only forwards checked calls
 * and matches each reply to its call by id.
 *
 *   client → worker   { type: 'call', id, op, args }      args already checked by checkCall
 *                     { type: 'call-body', id, op, body } browser mode: the HTTP body, unparsed
 *   worker → client   { type: 'ready', health }          the store is open
 *                     { type: 'open-failed', message }   it could not be; the worker then exits
 *                     { type: 'reply', id, reply, badBody? } one per call; badBody: not JSON
 *   client → worker   { type: 'close' }                  after the calls before it: close, exit
 */
import type { MessagePort } from 'node:worker_threads';
import type { HostInfo, StoreHealth } from '../../core/api/host.js';
import { VERSION } from '../../core/api/version.js';
import { createHostService, type DispatchReply, type ServiceOp } from './service.js';
import type { RunStore, StoreOptions } from './store.js';

/** How often a host worker marks runs whose lease ran out, when no call did it first. */
export const LEASE_SWEEP_MS = 10_000;

/** The worker's workerData. */
export interface HostWorkerData {
  dataDir: string;
  /** better_sqlite3.node for this runtime (Electron's ABI); chosen by the host, never by the worker. */
  nativeBinding?: string;
  host: HostInfo['host'];
  /** StoreOptions.recover: true only for the first connection a host process opens. */
  recover: boolean;
  /** The health the first connection found; a later one reports it, since it did not look itself. */
  health?: StoreHealth;
  /** StoreOptions.leaseMs: how long a running run lives without a renewal. */
  leaseMs?: number;
}

export type ToWorker =
  | { type: 'call'; id: number; op: ServiceOp; args: unknown[] }
  | { type: 'call-body'; id: number; op: ServiceOp; body: Uint8Array }
  | { type: 'close' };
export type FromWorker =
  | { type: 'ready'; health: StoreHealth }
  | { type: 'open-failed'; message: string }
  | { type: 'reply'; id: number; reply: DispatchReply; badBody?: true };

/**
 * The arguments in a browser-mode request body, `{"args": [...]}`. Parsed here, in the worker:
 * an importRun body is the exported run as one JSON string, up to 256 MB, and decoding and
 * parsing it takes seconds.
 */
export function argsOfBody(body: Uint8Array): { ok: true; args: unknown } | { ok: false; message: string } {
  try {
    const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
    const parsed = JSON.parse(text || '{}') as { args?: unknown } | null;
    return { ok: true, args: parsed?.args ?? [] };
  } catch (e) {
    return { ok: false, message: `request body: ${(e as Error).message}` };
  }
}

/** The part of parentPort the worker uses (a MessagePort; a test may hand in its own). */
export type WorkerPort = Pick<MessagePort, 'postMessage' | 'on' | 'close'>;

/**
 * Opens the store and serves calls until told to close. Calls are served one at a time, in the
 * order they arrive: the store is synchronous, so a call's transaction is over before the next
 * call starts.
 */
export function serveHostWorker(port: WorkerPort, data: HostWorkerData, open: (opts: StoreOptions) => RunStore): void {
  let store: RunStore;
  try {
    store = open({ dataDir: data.dataDir, nativeBinding: data.nativeBinding, recover: data.recover, ...(data.leaseMs !== undefined ? { leaseMs: data.leaseMs } : {}) });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    port.postMessage({ type: 'open-failed', message: message.split(/\r?\n/, 1)[0]! } satisfies FromWorker);
    port.close();
    return;
  }
  const health = data.health ?? store.health;
  const info = (): HostInfo => ({ version: VERSION, host: data.host, dataDir: data.dataDir, store: health });
  const service = createHostService(store, info);
  // Each reply is posted before the next message is handled, so 'close' never overtakes a reply.
  let queue = Promise.resolve();
  // Every read and write expires leases first; this also marks them when nothing is asked for a
  // while, so the file says 'interrupted' soon after a page went away. In the queue, between calls.
  const sweep = setInterval(() => {
    queue = queue.then(() => {
      try {
        store.expireLeases();
      } catch {
        // A busy database: the next call or sweep does it.
      }
    });
  }, LEASE_SWEEP_MS);
  sweep.unref?.();
  port.on('message', (m: ToWorker) => {
    queue = queue.then(async () => {
      if (m.type === 'close') {
        clearInterval(sweep);
        // WAL: closing the last connection checkpoints the log into the database file.
        store.close();
        port.close();
        return;
      }
      if (m.type === 'call') {
        port.postMessage({ type: 'reply', id: m.id, reply: await service.dispatch(m.op, m.args) } satisfies FromWorker);
        return;
      }
      const body = argsOfBody(m.body);
      const reply: FromWorker = body.ok
        ? { type: 'reply', id: m.id, reply: await service.dispatch(m.op, body.args) }
        : { type: 'reply', id: m.id, reply: { ok: false, error: { code: 'bad-args', message: body.message } }, badBody: true };
      port.postMessage(reply);
    });
  });
  port.postMessage({ type: 'ready', health } satisfies FromWorker);
}

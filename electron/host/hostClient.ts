/**
 * The calling thread's side of the host: Electron main and the browser-mode server both serve
 * the host API through this client, which runs the host service in worker threads
 * (hostWorker.ts) so that SQLite and the parsing of a 256 MB import never block the thread that
 * serves windows or HTTP (STYLE.md, Electron: "the main process is thin").
 *
 * Two workers, the same code: `main` serves every call, except the two that carry a whole run —
 * importRun and exportRun — which `bulk` serves, so a large import or export does not hold up a
 * run list or the recorder's appends. Each has its own SQLite connection; WAL lets the reads of
 * one proceed while the other writes, and a write waits for the other's write lock (busy
 * timeout), as two connections always have (store.ts).
 *
 * Every call is checked here (checkCall: name, operation, HOST_OP_ARGS) before it is forwarded,
 * and again in the worker. Replies are matched to calls by id. A worker that dies answers each of
 * its open calls with an error saying so, and the next call starts a new one; what it had written
 * is whole or absent (every write is one transaction, WAL).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { HostErrorInfo, HostInfo, StoreHealth } from '../../core/api/host.js';
import type { FromWorker, HostWorkerData, ToWorker } from './hostProtocol.js';
import { checkCall, checkOp, type DispatchReply, type ServiceOp } from './service.js';

/** The operations that carry a whole run (up to 256 MB): served by the bulk worker. */
export const BULK_OPS: ReadonlySet<ServiceOp> = new Set<ServiceOp>(['importRun', 'exportRun']);

/** How long close() lets a worker finish its calls and close the database before stopping it. */
export const CLOSE_TIMEOUT_MS = 10_000;

export interface HostClientOptions {
  /** out/main/hostWorker.js in a build, electron/host/hostWorker.ts in the source tree (hostWorkerBeside). */
  workerFile: string;
  dataDir: string;
  /** better_sqlite3.node built for this runtime (Electron's ABI); passed to the workers as is. */
  nativeBinding?: string;
  host: HostInfo['host'];
  closeTimeoutMs?: number;
  /** StoreOptions.leaseMs for every connection (DEFAULT_LEASE_MS when absent). */
  leaseMs?: number;
  log?(message: string): void;
}

export interface HostClient {
  /** The store's health once it is open; rejects with the reason it could not be opened. */
  readonly ready: Promise<StoreHealth>;
  /** Never throws: every outcome is a reply, as service.ts's dispatch. */
  dispatch(op: string, rawArgs: unknown): Promise<DispatchReply>;
  /**
   * Browser mode: a call whose arguments are still the HTTP request body (`{"args": [...]}`).
   * The name is checked here; the body is parsed and its arguments checked in the worker.
   * badBody: the body was not JSON (the server answers 400).
   */
  dispatchBody(op: string, body: Uint8Array): Promise<{ reply: DispatchReply; badBody: boolean }>;
  /** Lets the calls already made finish, closes the database, stops the workers; later calls are refused. */
  close(): Promise<void>;
}

/**
 * The host worker beside the module at `moduleUrl`: hostWorker.js next to out/main/index.js in
 * the Electron build, hostWorker.ts next to electron/host/server.ts in the source tree.
 */
export function hostWorkerBeside(moduleUrl: string | URL): string {
  const file = fileURLToPath(moduleUrl);
  return join(dirname(file), extname(file) === '.ts' ? 'hostWorker.ts' : 'hostWorker.js');
}

/**
 * tsx's ESM API, resolved from this module. A worker does not inherit the tsx loader of the thread
 * that starts it, and `execArgv: ['--import', 'tsx']` does not apply to a worker's entry in Node
 * 20, so a worker from sources starts as a line of JavaScript that registers tsx first.
 */
function tsxApiUrl(): string {
  const require = createRequire(import.meta.url);
  const pkgFile = require.resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { exports?: Record<string, unknown> };
  const api = pkg.exports?.['./esm/api'] as { import?: { default?: string } } | undefined;
  if (!api?.import?.default) throw new Error(`${pkgFile}: no "./esm/api" import entry; cannot start a host worker from TypeScript sources`);
  return pathToFileURL(join(dirname(pkgFile), api.import.default)).href;
}

function spawnWorker(file: string, workerData: HostWorkerData): Worker {
  if (!file.endsWith('.ts')) return new Worker(file, { workerData });
  const code = `import(${JSON.stringify(tsxApiUrl())}).then((tsx) => { tsx.register(); return import(${JSON.stringify(pathToFileURL(file).href)}); })`;
  return new Worker(code, { eval: true, workerData });
}

const fail = (code: HostErrorInfo['code'], message: string): DispatchReply => ({ ok: false, error: { code, message } });

type Answer = { reply: DispatchReply; badBody: boolean };
type Call = { type: 'call'; op: ServiceOp; args: unknown[] } | { type: 'call-body'; op: ServiceOp; body: Uint8Array };

interface Running {
  worker: Worker;
  pending: Map<number, { op: ServiceOp; resolve: (answer: Answer) => void }>;
  ready: Promise<StoreHealth>;
  exited: Promise<void>;
  closing: boolean;
}

/** One worker at a time, started on demand and again after it dies. */
class Lane {
  private running: Running | null = null;
  private seq = 0;
  /** Set by close(): no worker starts after it. */
  private closed = false;

  constructor(
    private readonly name: string,
    private readonly file: string,
    private readonly data: () => HostWorkerData,
    private readonly log: (message: string) => void,
  ) {}

  /** Starts the worker if none runs; resolves when its store is open. */
  start(): Promise<StoreHealth> {
    if (this.closed && !this.running) return Promise.reject(new Error('the host is shutting down'));
    return (this.running ?? this.spawn()).ready;
  }

  private spawn(): Running {
    const worker = spawnWorker(this.file, this.data());
    let failure: { code: HostErrorInfo['code']; why: string } | null = null;
    let opened!: (h: StoreHealth) => void;
    let notOpened!: (e: Error) => void;
    const ready = new Promise<StoreHealth>((ok, no) => ((opened = ok), (notOpened = no)));
    ready.catch(() => {}); // each caller of start() sees the rejection; this one keeps it from being "unhandled"
    const r: Running = { worker, pending: new Map(), ready, exited: new Promise((done) => worker.once('exit', () => done())), closing: false };
    this.running = r;
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'ready') opened(m.health);
      else if (m.type === 'open-failed') failure = { code: 'store', why: `the run database could not be opened: ${m.message}` };
      else if (m.type === 'reply') {
        const p = r.pending.get(m.id);
        r.pending.delete(m.id);
        p?.resolve({ reply: m.reply, badBody: m.badBody === true });
      }
    });
    worker.on('error', (e) => {
      failure ??= { code: 'internal', why: `the host worker failed: ${e.message.split(/\r?\n/, 1)[0]}` };
    });
    worker.on('exit', (code) => {
      if (this.running === r) this.running = null;
      const { code: errCode, why } = failure ?? { code: 'internal' as const, why: r.closing ? 'the host is shutting down' : `the host worker stopped (exit code ${code})` };
      notOpened(new Error(why));
      if (!r.closing || r.pending.size) this.log(`${this.name} host worker exited (code ${code}): ${why}; ${r.pending.size} call(s) unanswered`);
      for (const { op, resolve } of r.pending.values()) {
        resolve({ reply: fail(errCode, `${op}: no reply, ${why}. Anything it wrote is whole or absent (one transaction); the next call starts a new host worker`), badBody: false });
      }
      r.pending.clear();
    });
    return r;
  }

  call(call: Call): Promise<Answer> {
    // A lane that closed starts no new worker: nothing would ever close it.
    if (this.closed) return Promise.resolve({ reply: fail('internal', `${call.op}: the host is shutting down`), badBody: false });
    const r = this.running ?? this.spawn();
    const id = ++this.seq;
    return new Promise((resolve) => {
      try {
        // A body that owns its whole ArrayBuffer moves to the worker instead of being copied.
        const b = call.type === 'call-body' ? call.body : null;
        const transfer = b && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.byteLength > 64 * 1024 ? [b.buffer as ArrayBuffer] : [];
        r.worker.postMessage({ ...call, id } satisfies ToWorker, transfer);
        r.pending.set(id, { op: call.op, resolve });
      } catch (e) {
        // A value structured clone cannot copy (a function, a symbol) in a JSON argument.
        resolve({ reply: fail('bad-args', `${call.op}: the arguments cannot be sent to the host worker (${(e as Error).message})`), badBody: false });
      }
    });
  }

  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    const r = this.running;
    if (!r) return;
    r.closing = true;
    r.worker.postMessage({ type: 'close' } satisfies ToWorker);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
    const how = await Promise.race([r.exited, late]);
    clearTimeout(timer);
    if (how === 'late') {
      // Stopping a worker mid-transaction loses that transaction only: SQLite rolls it back.
      this.log(`${this.name} host worker did not close within ${timeoutMs} ms; stopping it`);
      await r.worker.terminate();
    }
  }
}

export function startHostClient(opts: HostClientOptions): HostClient {
  const log = opts.log ?? (() => {});
  // The first connection checks the file and recovers interrupted runs; every later one (bulk,
  // or a worker restarted after a crash) must not: this host's renderer is still recording.
  let firstHealth: StoreHealth | null = null;
  let closing = false;
  const data = (recover: boolean): HostWorkerData => ({
    dataDir: opts.dataDir,
    host: opts.host,
    recover,
    ...(opts.nativeBinding !== undefined ? { nativeBinding: opts.nativeBinding } : {}),
    ...(opts.leaseMs !== undefined ? { leaseMs: opts.leaseMs } : {}),
    ...(firstHealth ? { health: firstHealth } : {}),
  });
  const main = new Lane('main', opts.workerFile, () => data(firstHealth === null), log);
  const bulk = new Lane('bulk', opts.workerFile, () => data(false), log);

  const opened = async (): Promise<StoreHealth> => {
    if (firstHealth) return firstHealth;
    const health = await main.start();
    firstHealth ??= health;
    return firstHealth;
  };
  const ready = opened();
  ready.catch(() => {});

  const forward = async (call: Call): Promise<Answer> => {
    if (closing) return { reply: fail('internal', `${call.op}: the host is shutting down`), badBody: false };
    if (!BULK_OPS.has(call.op)) return main.call(call);
    // bulk opens its connection only after main has checked the file (it may move it aside).
    try {
      await opened();
    } catch (e) {
      return { reply: fail('store', `${call.op}: ${(e as Error).message}`), badBody: false };
    }
    // close() may have run while the store was opening: start no worker it would not close.
    if (closing) return { reply: fail('internal', `${call.op}: the host is shutting down`), badBody: false };
    return bulk.call(call);
  };

  return {
    ready,
    async dispatch(op, rawArgs) {
      const call = checkCall(op, rawArgs);
      if (!call.ok) return call;
      return (await forward({ type: 'call', op: call.op, args: call.args })).reply;
    },
    async dispatchBody(op, body) {
      const named = checkOp(op);
      if (!named.ok) return { reply: named, badBody: false };
      return forward({ type: 'call-body', op: named.op, body });
    },
    async close() {
      closing = true;
      const t = opts.closeTimeoutMs ?? CLOSE_TIMEOUT_MS;
      // One after the other: SQLite deletes the WAL file (a clean close) only when the last
      // connection closes with no other connection still holding a lock; two connections closing at
      // the same moment can each see the other and both leave it.
      await bulk.close(t);
      await main.close(t);
    },
  };
}

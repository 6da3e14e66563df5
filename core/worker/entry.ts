/**
 * The simulation worker's entry: the one file of core/ that touches the worker runtime (DESIGN.md
 * §2). It declares the little of the runtime it uses (core/ is compiled without the DOM library),
 * wires a LabSession to it, and says it is ready. Everything else is in core/sim/session.ts,
 * tested in Node.
 */
import type { WorkerEvent } from '../api/worker.js';
import { VERSION } from '../api/version.js';
import { LabSession } from '../toolstack/session.js';
import { checkReproduction, planReproduction, ReproRun } from '../sim/reproduce.js';
import { parseRequest } from './request.js';
import { IoPathsJobs } from './ioPathsJob.js';

interface Port {
  postMessage(m: unknown): void;
  onmessage: ((e: unknown) => void) | null;
}

declare const self: {
  postMessage(m: unknown): void;
  onmessage: ((e: { data: unknown }) => void) | null;
};
declare const performance: { now(): number } | undefined;
declare const MessageChannel: (new () => { port1: Port; port2: Port }) | undefined;
declare function setTimeout(fn: () => void, ms: number): unknown;

const now: () => number = typeof performance !== 'undefined' ? () => performance.now() : () => Date.now();

/**
 * Runs a function after the messages already queued. A MessageChannel message is a task like the
 * worker's own messages, without the 4 ms clamp browsers put on nested setTimeout(0) — which would
 * leave the CPU idle a quarter of the time between 12 ms turns.
 */
function makeScheduler(): (fn: () => void) => void {
  if (typeof MessageChannel === 'undefined') return (fn) => void setTimeout(fn, 0);
  const ch = new MessageChannel();
  const queue: (() => void)[] = [];
  ch.port1.onmessage = () => {
    const fn = queue.shift();
    if (fn) run(fn);
  };
  return (fn) => {
    queue.push(fn);
    ch.port2.postMessage(0);
  };
}

function post(e: WorkerEvent): void {
  self.postMessage(e);
}

/** Nothing escapes into the runtime: a throw becomes an 'error' event. */
function run(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    const message = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
    post({ type: 'error', where: 'worker', message });
  }
}

const schedule = makeScheduler();

const session = new LabSession({
  post,
  now,
  schedule,
  // A paced run sleeps until its budget allows more simulated time.
  scheduleAfter: (fn, ms) => void setTimeout(() => run(fn), ms),
});

/**
 * The running reproduction (at most one; a new request replaces it). It runs in slices of
 * SLICE_MS between the session's own turns, so a live run and its consoles stay responsive.
 */
let repro: { id: number; run: ReproRun } | null = null;
const SLICE_MS = 12;

function reproduce(id: number, file: unknown): void {
  repro = null;
  const v = checkReproduction(file);
  if (!v.ok) {
    const first = v.problems[0]!;
    post({ type: 'error', id, where: 'reproduce', message: `the reproduction is not valid: ${first.path}: ${first.message}`, problems: v.problems });
    return;
  }
  const current = {
    id,
    run: new ReproRun(planReproduction(v.file), {
      now,
      onProgress: (done, total, label) => {
        if (repro === current) post({ type: 'reproduce-progress', id, done, total, label });
      },
    }),
  };
  repro = current;
  // The total is known once planned: the page shows "run 1 of N" from the start.
  post({ type: 'reproduce-progress', id, done: 0, total: current.run.total, label: '' });
  const turn = (): void => {
    if (repro !== current) return;
    try {
      if (current.run.turn(now() + SLICE_MS)) schedule(turn);
      else {
        repro = null;
        post({ type: 'reproduce-result', id, result: current.run.done! });
      }
    } catch (err) {
      repro = null;
      post({ type: 'error', id, where: 'reproduce', message: (err instanceof Error ? err.message : String(err)).split('\n')[0]! });
    }
  };
  schedule(turn);
}

const io = new IoPathsJobs({ post, schedule });

self.onmessage = (e) => {
  run(() => {
    const parsed = parseRequest(e?.data);
    if (!parsed.ok) post({ type: 'error', where: 'worker', message: parsed.message, ...(parsed.id !== undefined ? { id: parsed.id } : {}), ...(parsed.problems ? { problems: parsed.problems } : {}) });
    else if (parsed.req.type === 'io-paths') io.start(parsed.req.id, parsed.req.workload);
    else if (parsed.req.type === 'cancel-io-paths') io.cancel(parsed.req.id);
    else if (parsed.req.type === 'reproduce') reproduce(parsed.req.id, parsed.req.file);
    else session.handle(parsed.req);
  });
};

post({ type: 'ready', version: VERSION });

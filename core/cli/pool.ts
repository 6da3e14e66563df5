/**
 * Independent runs on worker threads: `lab compare` and `lab sweep` hand their runs here, and get
 * the results back in run order, never completion order, so the output is the same bytes whatever
 * the number of threads. With one job the runs are done one after another in this thread.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Results, Scenario } from '../api/index.js';
import { runScenario } from '../sim/run.js';
import type { ThreadAnswer, ThreadRequest } from './runThread.js';

/** The largest --jobs accepted: more threads than this only add memory. */
export const MAX_JOBS = 256;

/** --jobs' default: the number of cores Node may use. */
export function defaultJobs(): number {
  return Math.min(MAX_JOBS, Math.max(1, availableParallelism()));
}

/** `--jobs N`: an integer 1..MAX_JOBS. */
export function parseJobs(s: string): { ok: true; value: number } | { ok: false; why: string } {
  if (!/^\d+$/.test(s)) return { ok: false, why: `"${s}" is not a whole number` };
  const n = Number(s);
  if (n < 1) return { ok: false, why: `${s} threads cannot run anything` };
  if (n > MAX_JOBS) return { ok: false, why: `${s} is more than ${MAX_JOBS}` };
  return { ok: true, value: n };
}

export interface PoolRun {
  label: string;
  scenario: Scenario;
}

/** A run that failed: the command fails with its message (exit 3), as a serial run would. */
export class RunFailed extends Error {}

/**
 * A thread that runs runThread.ts. Under tsx (the lab's `npm run lab`), a worker does not inherit
 * the TypeScript loader, so a small module first registers tsx's and then imports the .ts entry.
 */
function startThread(): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    const entry = new URL('./runThread.ts', here).href;
    const api = import.meta.resolve('tsx/esm/api');
    const boot = `const { tsImport } = await import(${JSON.stringify(api)}); await tsImport(${JSON.stringify(entry)}, ${JSON.stringify(here)});`;
    return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`));
  }
  return new Worker(new URL('./runThread.js', here));
}

/**
 * Runs every run, `jobs` at a time; results in the order of `runs`. `onDone(done, total, label)`
 * after each. A failure rejects with the failure of the lowest-numbered failing run (the one a
 * serial run would have stopped at): runs after it are not started, runs before it finish.
 */
export async function runAll(runs: readonly PoolRun[], jobs: number, onDone?: (done: number, total: number, label: string) => void): Promise<Results[]> {
  const out: Results[] = new Array(runs.length);
  if (jobs <= 1 || runs.length <= 1) {
    runs.forEach((r, i) => {
      try {
        out[i] = runScenario(r.scenario, { now: () => performance.now() });
      } catch (e) {
        throw new RunFailed((e as Error).message);
      }
      onDone?.(i + 1, runs.length, r.label);
    });
    return out;
  }
  return new Promise<Results[]>((resolve, reject) => {
    const threads: Worker[] = [];
    let next = 0;
    let done = 0;
    let failed: { index: number; message: string } | null = null;
    const busy = new Map<Worker, number>();
    const finish = () => {
      for (const t of threads) void t.terminate();
      if (failed) reject(new RunFailed(failed.message));
      else resolve(out);
    };
    const fail = (index: number, message: string) => {
      if (!failed || index < failed.index) failed = { index, message };
    };
    const feed = (t: Worker) => {
      // After a failure only runs before it still matter (one of them may fail first).
      if (next < runs.length && (!failed || next < failed.index)) {
        busy.set(t, next);
        t.postMessage({ index: next, scenario: runs[next]!.scenario } satisfies ThreadRequest);
        next++;
      } else busy.delete(t);
      if (busy.size === 0) finish();
    };
    const count = Math.min(jobs, runs.length);
    for (let i = 0; i < count; i++) {
      const t = startThread();
      threads.push(t);
      t.on('message', (a: ThreadAnswer) => {
        if (a.ok) {
          out[a.index] = JSON.parse(a.json) as Results;
          onDone?.(++done, runs.length, runs[a.index]!.label);
        } else fail(a.index, a.message);
        feed(t);
      });
      t.on('error', (e) => {
        const index = busy.get(t);
        if (index !== undefined) fail(index, e.message);
        busy.delete(t);
        if (busy.size === 0) finish();
      });
      feed(t);
    }
  });
}

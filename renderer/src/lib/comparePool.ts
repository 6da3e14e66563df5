/**
 * A compare or a sweep on several Web Workers (issue 15): the work is cut into units of one run
 * each, (mode) or (value, mode), each sent to a pool worker as an ordinary 'compare' request of one
 * mode (and a sweep of one value), and the answers put back together in unit order, never in
 * completion order: the same result one worker gives (every run is the same simulation; only the
 * measured wallMs differs). The worker protocol is unchanged: a pool worker is a simulation worker
 * like the session's.
 */
import type { PagingMode, SweepPoint, SweepSpec, WorkerEvent, WorkerRequest } from '../../../core/api/index.js';
import type { CompareOutcome } from './simWorker.svelte.js';

/** The most workers a compare uses: more cost memory (each loads the simulator) for little gain on a desktop. */
export const MAX_COMPARE_WORKERS = 4;

/** The pool's size on a machine with `cores` logical processors (navigator.hardwareConcurrency). */
export function comparePoolSize(cores: number | undefined): number {
  return Math.max(1, Math.min(MAX_COMPARE_WORKERS, Math.floor(cores ?? 1) || 1));
}

export interface CompareUnit {
  mode: PagingMode;
  /** The sweep value, or null without a sweep. */
  value: number | null;
  label: string;
}

/** The units of a compare, in the order one worker runs them: value by value, modes in their order. */
export function compareUnits(modes: readonly PagingMode[], sweep?: SweepSpec): CompareUnit[] {
  const values: (number | null)[] = sweep ? sweep.values : [null];
  return values.flatMap((value) => modes.map((mode) => ({ mode, value, label: value === null ? mode : `${sweep!.param}=${value} ${mode}` })));
}

/**
 * The outcome one worker would have given, from each unit's outcome (in unit order): runs and
 * points in order, each skipped mode once (where it was first skipped), and with a sweep the bars
 * (result.runs) those of the first value that ran.
 */
export function assembleCompare(outcomes: readonly CompareOutcome[], sweep?: SweepSpec): CompareOutcome {
  const skipped: { mode: PagingMode; reason: string }[] = [];
  for (const o of outcomes) for (const s of o.result.skipped) if (!skipped.some((x) => x.mode === s.mode)) skipped.push(s);
  const first = outcomes[0]!.result;
  let runs: CompareOutcome['result']['runs'];
  let points: SweepPoint[] | null = null;
  if (sweep) {
    points = outcomes.flatMap((o) => o.sweep?.points ?? []);
    const at = points.length > 0 ? points[0]!.value : null;
    runs = points.filter((p) => p.value === at).map((p) => ({ mode: p.mode, results: p.results }));
  } else runs = outcomes.flatMap((o) => o.result.runs);
  return {
    result: { scenario: first.scenario, workload: first.workload, modes: runs.map((r) => r.mode), runs, skipped },
    sweep: sweep && points ? { param: sweep.param, points } : null,
  };
}

interface Job {
  units: CompareUnit[];
  outcomes: (CompareOutcome | undefined)[];
  next: number;
  done: number;
  /** Request id → (unit, the worker running it). */
  inflight: Map<number, { unit: number; worker: Worker }>;
  scenario: unknown;
  sweep: SweepSpec | undefined;
  onProgress: (done: number, total: number, label: string) => void;
  resolve: (o: CompareOutcome) => void;
  reject: (e: Error) => void;
}

export class ComparePool {
  private workers: Worker[] = [];
  private job: Job | null = null;

  constructor(
    private readonly factory: () => Worker,
    readonly size: number,
    /** Request ids: the SimWorker's counter, so no two requests ever share one. */
    private readonly nextId: () => number,
  ) {}

  /** Runs a compare on the pool; a running one is ended first (its promise rejected with "superseded"). */
  run(scenario: unknown, modes: PagingMode[], sweep: SweepSpec | undefined, onProgress: Job['onProgress']): Promise<CompareOutcome> {
    this.end('superseded by a new comparison');
    return new Promise((resolve, reject) => {
      const units = compareUnits(modes, sweep);
      const job: Job = { units, outcomes: new Array(units.length), next: 0, done: 0, inflight: new Map(), scenario, sweep, onProgress, resolve, reject };
      this.job = job;
      while (this.workers.length < Math.min(this.size, units.length)) this.workers.push(this.spawn());
      for (const w of this.workers) this.feed(job, w);
    });
  }

  /** Stops every unit of the running compare; its promise is rejected with "compare cancelled". */
  cancel(): void {
    this.end('compare cancelled');
  }

  get busy(): boolean {
    return this.job !== null;
  }

  dispose(): void {
    this.end('the comparison was abandoned');
    for (const w of this.workers) w.terminate();
    this.workers = [];
  }

  private spawn(): Worker {
    const w = this.factory();
    w.onmessage = (e: MessageEvent<WorkerEvent>) => this.onEvent(w, e.data);
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      // A pool worker that fails is dropped with the others; the next compare starts fresh ones.
      this.end(e.message || 'a compare worker failed to load');
      for (const x of this.workers) x.terminate();
      this.workers = [];
    };
    return w;
  }

  private send(w: Worker, req: WorkerRequest): void {
    w.postMessage(req);
  }

  /** Gives `w` the next unit, if any. */
  private feed(job: Job, w: Worker): void {
    if (this.job !== job || job.next >= job.units.length) return;
    const index = job.next++;
    const u = job.units[index]!;
    const id = this.nextId();
    job.inflight.set(id, { unit: index, worker: w });
    const sweep = u.value === null ? {} : { sweep: { param: job.sweep!.param, values: [u.value] } };
    this.send(w, { type: 'compare', id, scenario: job.scenario, modes: [u.mode], ...sweep });
  }

  private onEvent(w: Worker, e: WorkerEvent): void {
    const job = this.job;
    if (!job || (e.type !== 'compare-result' && e.type !== 'error') || e.id === undefined) return;
    const f = job.inflight.get(e.id);
    // An answer to a unit of an ended compare (or not ours) is dropped.
    if (!f) return;
    job.inflight.delete(e.id);
    if (e.type === 'error') {
      this.end(e.message);
      return;
    }
    job.outcomes[f.unit] = { result: e.result, sweep: e.sweep };
    job.done++;
    job.onProgress(job.done, job.units.length, job.units[f.unit]!.label);
    if (job.done === job.units.length) {
      this.job = null;
      job.resolve(assembleCompare(job.outcomes as CompareOutcome[], job.sweep));
    } else this.feed(job, w);
  }

  /** Ends the running compare: its units in flight are cancelled in their workers, its promise rejected. */
  private end(message: string): void {
    const job = this.job;
    if (!job) return;
    this.job = null;
    for (const [id, f] of job.inflight) this.send(f.worker, { type: 'cancel-compare', id });
    job.reject(new Error(message));
  }
}

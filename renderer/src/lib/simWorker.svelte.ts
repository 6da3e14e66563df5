/**
 * The simulation worker, owned by the renderer: sends typed requests, keeps the latest state as
 * runes for the views, and streams console output to whoever hosts a terminal. A worker that
 * throws or dies is reported and can be restarted without reloading the app; "stop" that the
 * worker does not answer at once ends it (a run can always be cancelled).
 *
 * Compares and walks are answered by id (core/api/worker.ts): each request gets a fresh id, and an
 * answer resolves only the pending request with that id. A newer request of the same kind
 * supersedes the pending one (its promise is rejected with "superseded" at once); answers to a
 * superseded or cancelled request that were already in flight are dropped, never shown.
 */
import type {
  CompareResult,
  IoPathRow,
  DomainInfo,
  MetricSnapshot,
  Pace,
  PagingMode,
  ReproResult,
  Results,
  SessionState,
  SweepPoint,
  SweepSpec,
  WalkTrace,
  WorkerEvent,
  WorkerRequest,
} from '../../../core/api/index.js';
import type { TopologySnapshot } from '../../../core/api/topology.js';
import { ComparePool } from './comparePool.js';

/** The latest progress: the worker's 'progress' event as it came (core/api/worker.ts says what each field is). */
export type ProgressInfo = Omit<Extract<WorkerEvent, { type: 'progress' }>, 'type'>;

/** Keeps a series under `max` points: every other point of it, the first and the newest kept. */
export function decimate<T>(points: readonly T[], max: number): T[] {
  if (points.length <= max) return points.slice();
  const out: T[] = [];
  for (let i = 0; i < points.length - 1; i += 2) out.push(points[i]!);
  out.push(points[points.length - 1]!);
  return out.length <= max ? out : decimate(out, max);
}

export type CompareOutcome = {
  result: CompareResult & { skipped: { mode: PagingMode; reason: string }[] };
  sweep: { param: string; points: SweepPoint[] } | null;
};

type Pending<T> = { id: number; resolve: (v: T) => void; reject: (e: Error) => void };

export type WalkOutcome = { trace: WalkTrace; candidates: string[] };

/** An I/O path comparison's answer: the workload as run (defaults applied) and one row per path. */
export type IoPathsOutcome = { workload: Record<string, unknown> & { kind: string }; rows: IoPathRow[] };

/** Live series kept for charts: one array per metric per domain, capped (older points thinned, the start kept). */
export const MAX_POINTS = 2000;

export class SimWorker {
  state = $state<SessionState>('idle');
  domains = $state.raw<DomainInfo[]>([]);
  consoles = $state.raw<string[]>([]);
  progress = $state.raw<ProgressInfo | null>(null);
  /** The CPU profile the live session runs on (from 'booted'): its clock turns cycles into time. */
  cpu = $state.raw<Results['cpu'] | null>(null);
  snapshots = $state.raw<MetricSnapshot[]>([]);
  /** The latest Topology snapshot of a run with I/O (null: none yet, or a run without I/O). */
  topology = $state.raw<TopologySnapshot | null>(null);
  results = $state.raw<Results | null>(null);
  finishedStatus = $state<'finished' | 'stopped' | null>(null);
  /** How the finished run ran: its workloads repeated until stopped, and how many runs were started. */
  finishedRepeat = $state<{ repeat: boolean; runs: number } | null>(null);
  error = $state<{ where: string; message: string; problems?: { path: string; message: string }[] } | null>(null);
  workerDead = $state<string | null>(null);
  compareBusy = $state<{ done: number; total: number; label: string } | null>(null);
  /** The running reproduction's progress (runs done of total), or null. */
  reproBusy = $state<{ done: number; total: number; label: string } | null>(null);
  /** The running I/O path comparison's progress (paths done of total), or null. */
  ioPathsBusy = $state<{ done: number; total: number; label: string } | null>(null);
  /** The console the toolstack asked to show (`xl console g1`); the consoles panel follows it. */
  switchTo = $state<{ console: string; seq: number } | null>(null);

  private worker: Worker | null = null;
  // Listener sets and replay buffers are plumbing, not UI state: deliberately not reactive.
  /* eslint-disable svelte/prefer-svelte-reactivity */
  private readonly consoleListeners = new Set<(console: string, data: string) => void>();
  private readonly consoleBuffers = new Map<string, string>();
  private readonly eventListeners = new Set<(e: WorkerEvent) => void>();
  /* eslint-enable svelte/prefer-svelte-reactivity */
  /** At most one compare and one walk are pending: a new one supersedes the old. */
  private pendingCompare: Pending<CompareOutcome> | null = null;
  private pendingWalk: Pending<WalkOutcome> | null = null;
  private pendingRepro: Pending<ReproResult> | null = null;
  private pendingIoPaths: Pending<IoPathsOutcome> | null = null;
  /** Request ids count up over the SimWorker's life (across worker restarts, so never reused). */
  private lastId = 0;
  private stopTimer: ReturnType<typeof setTimeout> | null = null;

  /** Compares of more than one run go to this pool of workers (opts.compareWorkers > 1), not the session's worker. */
  private readonly pool: ComparePool | null;

  constructor(
    private readonly factory: () => Worker,
    opts: { compareWorkers?: number } = {},
  ) {
    this.pool = (opts.compareWorkers ?? 1) > 1 ? new ComparePool(factory, opts.compareWorkers!, () => ++this.lastId) : null;
    this.spawn();
  }

  private spawn(): void {
    const w = this.factory();
    w.onmessage = (e: MessageEvent<WorkerEvent>) => this.onEvent(e.data);
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.died(e.message || 'the simulation worker failed to load');
    };
    w.onmessageerror = () => this.died('a message from the simulation worker could not be read');
    this.worker = w;
    this.workerDead = null;
  }

  private died(message: string): void {
    this.worker?.terminate();
    this.worker = null;
    this.workerDead = message;
    if (this.state === 'running' || this.state === 'paused' || this.state === 'booting') this.state = 'error';
    this.error = { where: 'worker', message };
    this.abandonPending(message);
    for (const l of this.eventListeners) l({ type: 'error', where: 'worker', message });
  }

  /** Requests the old worker can no longer answer are rejected (their answers would never come). */
  private abandonPending(message: string): void {
    const { pendingCompare, pendingWalk, pendingRepro, pendingIoPaths } = this;
    this.pendingCompare = this.pendingWalk = null;
    this.pendingRepro = null;
    this.pendingIoPaths = null;
    this.compareBusy = null;
    this.reproBusy = null;
    this.ioPathsBusy = null;
    pendingIoPaths?.reject(new Error(message));
    this.pool?.cancel();
    pendingCompare?.reject(new Error(message));
    pendingWalk?.reject(new Error(message));
    pendingRepro?.reject(new Error(message));
  }

  /** A fresh worker after a crash (or a forced stop); the views keep their data. */
  restart(): void {
    this.worker?.terminate();
    this.abandonPending('the simulation worker was restarted; try again');
    this.spawn();
  }

  private send(req: WorkerRequest): void {
    if (!this.worker) this.spawn();
    this.worker!.postMessage(req);
  }

  onConsole(cb: (console: string, data: string) => void): () => void {
    this.consoleListeners.add(cb);
    return () => this.consoleListeners.delete(cb);
  }

  onWorkerEvent(cb: (e: WorkerEvent) => void): () => void {
    this.eventListeners.add(cb);
    return () => this.eventListeners.delete(cb);
  }

  /** Everything a console printed so far (a terminal opened late replays it). */
  consoleText(name: string): string {
    return this.consoleBuffers.get(name) ?? '';
  }

  private onEvent(e: WorkerEvent): void {
    switch (e.type) {
      case 'ready':
        break;
      case 'state':
        this.state = e.state;
        if (e.state !== 'running' && this.stopTimer) {
          clearTimeout(this.stopTimer);
          this.stopTimer = null;
        }
        break;
      case 'booted':
        this.domains = e.domains;
        this.consoles = e.consoles;
        this.cpu = e.cpu;
        break;
      case 'domains':
        this.domains = e.domains;
        break;
      case 'consoles':
        this.consoles = e.consoles;
        // A destroyed domain's console is gone: a domain created later under its name starts afresh.
        for (const name of [...this.consoleBuffers.keys()]) if (!e.consoles.includes(name)) this.consoleBuffers.delete(name);
        break;
      case 'progress':
        {
          const { type: _type, ...progress } = e;
          this.progress = progress;
        }
        break;
      case 'snapshot':
        this.addSnapshots([e.snapshot]);
        break;
      case 'snapshots':
        this.addSnapshots(e.snapshots);
        // Listeners (the run recorder) see each snapshot of the batch on its own.
        for (const snapshot of e.snapshots) for (const l of this.eventListeners) l({ type: 'snapshot', snapshot });
        break;
      case 'topology':
        this.topology = e.snapshot;
        break;
      case 'console': {
        const prev = this.consoleBuffers.get(e.console) ?? '';
        const next = prev + e.data;
        // Keep the replay buffer bounded (a guest printing forever must not grow memory forever).
        this.consoleBuffers.set(e.console, next.length > 1_000_000 ? next.slice(next.length - 500_000) : next);
        for (const l of this.consoleListeners) l(e.console, e.data);
        break;
      }
      case 'console-switch':
        this.switchTo = { console: e.console, seq: (this.switchTo?.seq ?? 0) + 1 };
        break;
      case 'finished':
        this.results = e.results;
        this.finishedStatus = e.status;
        this.finishedRepeat = { repeat: e.repeat, runs: e.runs };
        if (this.stopTimer) {
          clearTimeout(this.stopTimer);
          this.stopTimer = null;
        }
        break;
      // Answers: only to the pending request with the same id; anything else is stale.
      case 'compare-progress':
        if (e.id === this.pendingCompare?.id) this.compareBusy = { done: e.done, total: e.total, label: e.label };
        break;
      case 'compare-result': {
        const p = this.pendingCompare;
        if (e.id !== p?.id) break;
        this.pendingCompare = null;
        this.compareBusy = null;
        p.resolve({ result: e.result, sweep: e.sweep });
        break;
      }
      case 'walk-result': {
        const p = this.pendingWalk;
        if (e.id !== p?.id) break;
        this.pendingWalk = null;
        p.resolve({ trace: e.trace, candidates: e.candidates });
        break;
      }
      case 'reproduce-progress':
        if (e.id === this.pendingRepro?.id) this.reproBusy = { done: e.done, total: e.total, label: e.label };
        break;
      case 'reproduce-result': {
        const p = this.pendingRepro;
        if (e.id !== p?.id) break;
        this.pendingRepro = null;
        this.reproBusy = null;
        p.resolve(e.result);
        break;
      }
      case 'io-paths-progress':
        if (e.id === this.pendingIoPaths?.id) this.ioPathsBusy = { done: e.done, total: e.total, label: e.label };
        break;
      case 'io-paths-result': {
        const p = this.pendingIoPaths;
        if (e.id !== p?.id) break;
        this.pendingIoPaths = null;
        this.ioPathsBusy = null;
        p.resolve({ workload: e.workload, rows: e.rows });
        break;
      }
      case 'error':
        if (e.id === undefined) {
          this.error = { where: e.where, message: e.message, ...(e.problems ? { problems: e.problems } : {}) };
        } else if (e.id === this.pendingCompare?.id) {
          const p = this.pendingCompare;
          this.pendingCompare = null;
          this.compareBusy = null;
          p.reject(new Error(e.message));
        } else if (e.id === this.pendingWalk?.id) {
          const p = this.pendingWalk;
          this.pendingWalk = null;
          p.reject(new Error(e.message));
        } else if (e.id === this.pendingIoPaths?.id) {
          const p = this.pendingIoPaths;
          this.pendingIoPaths = null;
          this.ioPathsBusy = null;
          p.reject(Object.assign(new Error(e.message), e.problems ? { problems: e.problems } : {}));
        } else if (e.id === this.pendingRepro?.id) {
          const p = this.pendingRepro;
          this.pendingRepro = null;
          this.reproBusy = null;
          p.reject(new Error(e.message));
        }
        // An error answering a request already superseded or cancelled was settled then: dropped.
        break;
    }
    for (const l of this.eventListeners) l(e);
  }

  private addSnapshots(add: readonly MetricSnapshot[]): void {
    const next = [...this.snapshots, ...add];
    this.snapshots = next.length > MAX_POINTS ? decimate(next, MAX_POINTS) : next;
  }

  /**
   * Boots `scenario` and runs it at `pace` (default: the worker's, DEFAULT_PACE), its workloads
   * repeating until stopped with `repeat`.
   */
  start(scenario: unknown, snapshotMs = 250, opts: { pace?: Pace; repeat?: boolean } = {}): void {
    this.error = null;
    this.results = null;
    this.finishedStatus = null;
    this.finishedRepeat = null;
    this.progress = null;
    this.cpu = null;
    this.snapshots = [];
    this.topology = null;
    this.domains = [];
    this.consoles = [];
    this.consoleBuffers.clear();
    this.state = 'booting';
    this.send({ type: 'start', scenario: $state.snapshot(scenario), snapshotMs, ...(opts.pace !== undefined ? { pace: opts.pace } : {}), ...(opts.repeat ? { repeat: true } : {}) });
  }

  /** Changes the pace of the live run (it applies from now on; also while paused). */
  setPace(pace: Pace): void {
    if (this.worker) this.send({ type: 'pace', pace });
  }

  pause(): void {
    this.send({ type: 'pause' });
  }

  resume(): void {
    this.send({ type: 'resume' });
  }

  /** Asks the worker to stop; if it does not answer within `graceMs`, ends it and starts a fresh one. */
  stop(graceMs = 1500): void {
    this.send({ type: 'stop' });
    if (this.stopTimer) clearTimeout(this.stopTimer);
    this.stopTimer = setTimeout(() => {
      this.stopTimer = null;
      if (this.state === 'running' || this.state === 'booting') {
        this.restart();
        this.state = 'stopped';
        this.error = { where: 'stop', message: 'the simulation did not stop in time; it was ended and a fresh worker started' };
      }
    }, graceMs);
  }

  input(console: string, data: string): void {
    this.send({ type: 'console-input', console, data });
  }

  /** Runs a comparison in the worker; a pending one is superseded (the worker replaces it too). */
  compare(scenario: unknown, modes: PagingMode[], sweep?: SweepSpec): Promise<CompareOutcome> {
    const old = this.pendingCompare;
    this.pendingCompare = null;
    old?.reject(new Error('superseded by a new comparison'));
    const id = ++this.lastId;
    const total = modes.length * (sweep?.values.length ?? 1);
    // With a pool, a compare the session's worker was running is ended there (the pool does not replace it).
    if (this.pool && old && !this.pool.busy) this.send({ type: 'cancel-compare', id: old.id });
    if (this.pool && total > 1) return this.compareOnPool(this.pool, id, scenario, modes, sweep);
    this.pool?.cancel();
    return new Promise((resolve, reject) => {
      this.pendingCompare = { id, resolve, reject };
      this.compareBusy = { done: 0, total, label: 'starting' };
      this.send({ type: 'compare', id, scenario: $state.snapshot(scenario), modes, ...(sweep ? { sweep } : {}) });
    });
  }

  /** The same compare on the pool's workers, one run each at a time; progress as runs complete. */
  private compareOnPool(pool: ComparePool, id: number, scenario: unknown, modes: PagingMode[], sweep?: SweepSpec): Promise<CompareOutcome> {
    return new Promise((resolve, reject) => {
      this.pendingCompare = { id, resolve, reject };
      const total = modes.length * (sweep?.values.length ?? 1);
      this.compareBusy = { done: 0, total, label: 'starting' };
      const mine = () => this.pendingCompare?.id === id;
      pool
        .run($state.snapshot(scenario), modes, sweep, (done, all, label) => {
          if (mine()) this.compareBusy = { done, total: all, label };
        })
        .then(
          (v) => {
            if (!mine()) return;
            this.pendingCompare = null;
            this.compareBusy = null;
            resolve(v);
          },
          (err: Error) => {
            if (!mine()) return;
            this.pendingCompare = null;
            this.compareBusy = null;
            reject(err);
          },
        );
    });
  }

  /**
   * Cancels the pending comparison. Its promise is rejected when the worker confirms ("compare
   * cancelled"), or with the worker's result if it finished first; the cancel names the compare
   * by id, so it can never end a later one.
   */
  cancelCompare(): void {
    if (this.pool?.busy) this.pool.cancel();
    else if (this.pendingCompare) this.send({ type: 'cancel-compare', id: this.pendingCompare.id });
  }

  /** Traces one walk in the worker; a pending walk is superseded and its answer will be dropped. */
  walk(scenario: unknown, domain: string, opts: { va?: string; warm?: boolean; write?: boolean } = {}): Promise<WalkOutcome> {
    const old = this.pendingWalk;
    this.pendingWalk = null;
    old?.reject(new Error('superseded by a newer walk'));
    const id = ++this.lastId;
    return new Promise((resolve, reject) => {
      this.pendingWalk = { id, resolve, reject };
      this.send({ type: 'walk', id, scenario: $state.snapshot(scenario), domain, ...opts });
    });
  }

  /** Runs a reproduction (its parsed JSON) in the worker; a pending one is superseded. */
  reproduce(file: unknown): Promise<ReproResult> {
    const old = this.pendingRepro;
    this.pendingRepro = null;
    old?.reject(new Error('superseded by another reproduction'));
    const id = ++this.lastId;
    return new Promise((resolve, reject) => {
      this.pendingRepro = { id, resolve, reject };
      this.reproBusy = { done: 0, total: 0, label: 'starting' };
      this.send({ type: 'reproduce', id, file: $state.snapshot(file) });
    });
  }

  /**
   * Runs one I/O workload through every I/O path in the worker (core/sim/ioPaths.ts); a pending
   * one is superseded. A refused workload rejects with the worker's message, its field problems
   * in `problems`.
   */
  ioPaths(workload: unknown): Promise<IoPathsOutcome> {
    const old = this.pendingIoPaths;
    this.pendingIoPaths = null;
    old?.reject(new Error('superseded by another I/O path comparison'));
    const id = ++this.lastId;
    return new Promise((resolve, reject) => {
      this.pendingIoPaths = { id, resolve, reject };
      this.ioPathsBusy = { done: 0, total: 0, label: 'starting' };
      this.send({ type: 'io-paths', id, workload: $state.snapshot(workload) } as WorkerRequest);
    });
  }

  /** Cancels the pending I/O path comparison: its promise is rejected when the worker confirms ("io-paths cancelled"). */
  cancelIoPaths(): void {
    if (this.pendingIoPaths) this.send({ type: 'cancel-io-paths', id: this.pendingIoPaths.id });
  }

  dispose(): void {
    this.pool?.dispose();
    this.worker?.terminate();
    this.worker = null;
  }
}

/**
 * The simulation worker, owned by the renderer: sends typed requests, keeps the latest state as
 * runes for the views, and streams console output to whoever hosts a terminal. A worker that
 * throws or dies is reported and can be restarted without reloading the app; "stop" that the
 * worker does not answer at once ends it (a run can always be cancelled).
 */
import type {
  CompareResult,
  DomainInfo,
  MetricSnapshot,
  PagingMode,
  Results,
  SessionState,
  SweepPoint,
  SweepSpec,
  WalkTrace,
  WorkerEvent,
  WorkerRequest,
} from '../../../core/api/index.js';

export interface ProgressInfo {
  fraction: number;
  ops: number;
  simulatedCycles: number;
  elapsedMs: number;
  etaMs: number | null;
}

export type CompareOutcome = {
  result: CompareResult & { skipped: { mode: PagingMode; reason: string }[] };
  sweep: { param: string; points: SweepPoint[] } | null;
};

type Pending<T> = { resolve: (v: T) => void; reject: (e: Error) => void };

/** Live series kept for charts: one array per metric per domain, capped. */
const MAX_POINTS = 2000;

export class SimWorker {
  state = $state<SessionState>('idle');
  domains = $state.raw<DomainInfo[]>([]);
  consoles = $state.raw<string[]>([]);
  progress = $state.raw<ProgressInfo | null>(null);
  snapshots = $state.raw<MetricSnapshot[]>([]);
  results = $state.raw<Results | null>(null);
  finishedStatus = $state<'finished' | 'stopped' | null>(null);
  error = $state<{ where: string; message: string; problems?: { path: string; message: string }[] } | null>(null);
  workerDead = $state<string | null>(null);
  compareBusy = $state<{ done: number; total: number; label: string } | null>(null);
  /** The console the toolstack asked to show (`xl console g1`); the consoles panel follows it. */
  switchTo = $state<{ console: string; seq: number } | null>(null);

  private worker: Worker | null = null;
  // Listener sets and replay buffers are plumbing, not UI state: deliberately not reactive.
  /* eslint-disable svelte/prefer-svelte-reactivity */
  private readonly consoleListeners = new Set<(console: string, data: string) => void>();
  private readonly consoleBuffers = new Map<string, string>();
  private readonly eventListeners = new Set<(e: WorkerEvent) => void>();
  /* eslint-enable svelte/prefer-svelte-reactivity */
  private pendingCompare: Pending<CompareOutcome> | null = null;
  private pendingWalk: Pending<{ trace: WalkTrace; candidates: string[] }> | null = null;
  private stopTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly factory: () => Worker) {
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
    this.pendingCompare?.reject(new Error(message));
    this.pendingWalk?.reject(new Error(message));
    this.pendingCompare = this.pendingWalk = null;
    this.compareBusy = null;
    for (const l of this.eventListeners) l({ type: 'error', where: 'worker', message });
  }

  /** A fresh worker after a crash (or a forced stop); the views keep their data. */
  restart(): void {
    this.worker?.terminate();
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
        break;
      case 'domains':
        this.domains = e.domains;
        break;
      case 'progress':
        this.progress = { fraction: e.fraction, ops: e.ops, simulatedCycles: e.simulatedCycles, elapsedMs: e.elapsedMs, etaMs: e.etaMs };
        break;
      case 'snapshot': {
        const s = this.snapshots;
        this.snapshots = s.length >= MAX_POINTS ? [...s.slice(s.length - MAX_POINTS + 1), e.snapshot] : [...s, e.snapshot];
        break;
      }
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
        if (this.stopTimer) {
          clearTimeout(this.stopTimer);
          this.stopTimer = null;
        }
        break;
      case 'compare-progress':
        this.compareBusy = { done: e.done, total: e.total, label: e.label };
        break;
      case 'compare-result':
        this.compareBusy = null;
        this.pendingCompare?.resolve({ result: e.result, sweep: e.sweep });
        this.pendingCompare = null;
        break;
      case 'walk-result':
        this.pendingWalk?.resolve({ trace: e.trace, candidates: e.candidates });
        this.pendingWalk = null;
        break;
      case 'error':
        if (e.where === 'compare' && this.pendingCompare) {
          this.compareBusy = null;
          this.pendingCompare.reject(new Error(e.message));
          this.pendingCompare = null;
        } else if (e.where === 'walk' && this.pendingWalk) {
          this.pendingWalk.reject(new Error(e.message));
          this.pendingWalk = null;
        } else {
          this.error = { where: e.where, message: e.message, ...(e.problems ? { problems: e.problems } : {}) };
        }
        break;
    }
    for (const l of this.eventListeners) l(e);
  }

  start(scenario: unknown, snapshotMs = 250): void {
    this.error = null;
    this.results = null;
    this.finishedStatus = null;
    this.progress = null;
    this.snapshots = [];
    this.domains = [];
    this.consoles = [];
    this.consoleBuffers.clear();
    this.state = 'booting';
    this.send({ type: 'start', scenario: $state.snapshot(scenario), snapshotMs });
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

  compare(scenario: unknown, modes: PagingMode[], sweep?: SweepSpec): Promise<CompareOutcome> {
    this.pendingCompare?.reject(new Error('superseded by a new comparison'));
    return new Promise((resolve, reject) => {
      this.pendingCompare = { resolve, reject };
      this.compareBusy = { done: 0, total: modes.length * (sweep?.values.length ?? 1), label: 'starting' };
      this.send({ type: 'compare', scenario: $state.snapshot(scenario), modes, ...(sweep ? { sweep } : {}) });
    });
  }

  cancelCompare(): void {
    this.send({ type: 'cancel-compare' });
  }

  walk(scenario: unknown, domain: string, opts: { va?: string; warm?: boolean; write?: boolean } = {}): Promise<{ trace: WalkTrace; candidates: string[] }> {
    this.pendingWalk?.reject(new Error('superseded'));
    return new Promise((resolve, reject) => {
      this.pendingWalk = { resolve, reject };
      this.send({ type: 'walk', scenario: $state.snapshot(scenario), domain, ...opts });
    });
  }

  dispose(): void {
    this.worker?.terminate();
    this.worker = null;
  }
}

/**
 * The simulation worker's message protocol. The renderer owns a Web Worker running core/ (the
 * worker entry, core/worker/entry.ts, is the one file that calls postMessage); it sends
 * WorkerRequests and receives WorkerEvents. Everything here is structured-clone safe.
 */
import type { PagingMode } from './scenario.js';
import type { CompareResult, Results } from './results.js';

/** One live session at a time: boot a scenario, run its workloads, keep its consoles. */
export type SessionState = 'idle' | 'booting' | 'running' | 'paused' | 'finished' | 'stopped' | 'error';

/** A domain as the run view shows it. */
export interface DomainInfo {
  name: string;
  domid: number;
  role: 'dom0' | 'guest';
  mode: PagingMode;
  memoryMiB: number;
  vcpus: number;
  state: 'running' | 'paused' | 'blocked' | 'shutdown' | 'dying';
  workload: string;
}

/** The live metrics of one domain over the last snapshot interval (rates) and so far (totals). */
export interface DomainMetrics {
  name: string;
  state: DomainInfo['state'];
  ops: number;
  cycles: number;
  /** TLB misses per TLB lookup, over the interval. */
  tlbMissRate: number;
  /** Walk references per TLB miss (per walk), over the interval. */
  refsPerWalk: number;
  /** VM exits and hypercalls per simulated second (at CLOCK_HZ), over the interval. */
  exitsPerSec: number;
  hypercallsPerSec: number;
  /** Simulated cycles per workload operation, over the interval. */
  cyclesPerOp: number;
}

export interface MetricSnapshot {
  /** Simulated cycles since the session began (longest pCPU). */
  t: number;
  wallMs: number;
  domains: DomainMetrics[];
}

/** The nominal clock that turns simulated cycles into simulated seconds for per-second rates. */
export const CLOCK_HZ = 3e9;

export interface SweepSpec {
  /** A numeric workload parameter of the first guest (e.g. 'updatesPerKiloAccess'). */
  param: string;
  values: number[];
}

export interface SweepPoint {
  value: number;
  mode: PagingMode;
  cyclesPerOp: number;
  results: Results;
}

/** Where one reference of a traced walk came from (DESIGN.md §3). */
export type WalkRefServer = 'memory' | 'data-cache' | 'psc' | 'nested-tlb';

export interface WalkTraceRef {
  /** 1-based order of the reference. */
  n: number;
  /** 4..1 for a guest table level, 0 for the final guest-physical address. */
  guestLevel: number;
  /** 4..1 for an EPT level, 0 for the guest entry itself (or a 1D walk's entry). */
  hostLevel: number;
  /** The machine address read, hex. */
  maddr: string;
  /** The entry read, hex. */
  entry: string;
  /** Human-readable decode of the entry's flags and frame. */
  decoded: string;
  servedBy: WalkRefServer;
}

export interface WalkTrace {
  domain: string;
  mode: PagingMode;
  va: string;
  /** 'nested' draws the guest × host grid; 'oned' one row. */
  kind: 'nested' | 'oned';
  guestLevels: number;
  hostLevels: number;
  ok: boolean;
  /** The translation, hex, when ok. */
  maddr: string | null;
  pageSize: number;
  fault: string | null;
  refs: WalkTraceRef[];
  /** The architectural count for these page sizes, (n+1)(m+1)−1 nested, n one-dimensional. */
  expectedRefs: number;
}

/**
 * A request that expects an answer carries `id`, chosen by the sender (unique per worker); every
 * answer and every error about it carries the same `id`, so the sender resolves exactly the request
 * it answers and can drop answers to requests it has since replaced or cancelled (replies arrive in
 * order, but a reply already in flight when the next request is sent answers the old one).
 */
export type WorkerRequest =
  /** Boot a scenario (validated again here) and run its workloads. Replaces any session. */
  | { type: 'start'; scenario: unknown; snapshotMs?: number }
  | { type: 'pause' }
  | { type: 'resume' }
  /** Stop the workloads now and report results so far; consoles stay live. */
  | { type: 'stop' }
  /** Keystrokes (or a pasted line) typed into a console. */
  | { type: 'console-input'; console: string; data: string }
  /** Run the first guest's workload under each mode (and, with a sweep, at each value). Replaces a running compare. */
  | { type: 'compare'; id: number; scenario: unknown; modes: PagingMode[]; sweep?: SweepSpec }
  /**
   * Cancel the compare whose request id is `id`; it is answered by an 'error' (where 'compare',
   * message 'compare cancelled') with that id. A compare that already ended or was replaced is
   * left alone, so a late cancel never ends the next one.
   */
  | { type: 'cancel-compare'; id: number }
  /** Trace one translation of `va` in `domain` with the reference walk; changes nothing. */
  | { type: 'walk'; id: number; scenario: unknown; domain: string; va?: string; warm?: boolean; write?: boolean };

/** The types of request that carry an `id` and are answered with it. */
export type AnsweredRequest = Extract<WorkerRequest, { id: number }>;

/** What a compare run reports, before the session tags it with the id of the compare request. */
export type CompareRunEvent =
  | { type: 'compare-progress'; done: number; total: number; label: string }
  | {
      type: 'compare-result';
      result: CompareResult & { skipped: { mode: PagingMode; reason: string }[] };
      sweep: { param: string; points: SweepPoint[] } | null;
    };

export type WorkerEvent =
  | { type: 'ready'; version: string }
  | { type: 'state'; state: SessionState }
  | { type: 'booted'; domains: DomainInfo[]; consoles: string[] }
  | { type: 'domains'; domains: DomainInfo[] }
  /** The console list changed (`xl create` adds a domain's console, `xl destroy` removes it). */
  | { type: 'consoles'; consoles: string[] }
  | { type: 'progress'; fraction: number; ops: number; simulatedCycles: number; elapsedMs: number; etaMs: number | null }
  | { type: 'snapshot'; snapshot: MetricSnapshot }
  | { type: 'console'; console: string; data: string }
  /** The toolstack asks the UI to show another console (`xl console g1`). */
  | { type: 'console-switch'; console: string }
  | { type: 'finished'; status: 'finished' | 'stopped'; results: Results }
  /** `id`: the compare request these answer. */
  | (CompareRunEvent & { id: number })
  /** `id`: the walk request this answers. */
  | { type: 'walk-result'; id: number; trace: WalkTrace; candidates: string[] }
  /**
   * A failure: `where` says what failed ('start', 'compare', 'walk', 'console', 'run', 'worker');
   * `id` is the request it answers, when it answers one that carried an id.
   */
  | { type: 'error'; id?: number; where: string; message: string; problems?: { path: string; message: string }[] };

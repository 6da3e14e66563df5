/**
 * The simulation worker's message protocol. The renderer owns a Web Worker running core/ (the
 * worker entry, core/worker/entry.ts, is the one file that calls postMessage); it sends
 * WorkerRequests and receives WorkerEvents. Everything here is structured-clone safe.
 */
import type { PagingMode, Workload } from './scenario.js';
import type { IoPathRow } from './ioPaths.js';
import type { CompareResult, Results } from './results.js';
import type { ReproResult } from './reproduction.js';
import type { TopologySnapshot } from './topology.js';

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
  /**
   * What the domain is doing, in a few words: dom0 'toolstack idle' (it runs the toolstack, which
   * waits for a command), a guest its workload's name, 'idle loop' when it has none left.
   */
  activity?: string;
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
  /** VM exits and hypercalls per simulated second (at the run's CPU clock), over the interval. */
  exitsPerSec: number;
  hypercallsPerSec: number;
  /** Simulated cycles per workload operation, over the interval. */
  cyclesPerOp: number;
  /**
   * I/O scenarios only (the domain has a driver environment): what the domain's I/O workload
   * completed so far (requests, bytes), its throughput and median latency over the interval, and
   * the CPU it used over the interval. Rates per simulated second of the host clock (the busiest
   * pCPU: the time the machine went through), not of the domain's own cycles, so a domain that
   * waits for its disk shows a low throughput rather than a high one.
   */
  ioRequests?: number;
  ioBytes?: number;
  /** Megabytes (10^6 bytes, as results io.throughputMBps) per simulated second, over the interval. */
  ioMBps?: number;
  /** Median latency (submission to completion) of the requests completed in the interval, µs; null when none completed. */
  ioLatencyP50Us?: number | null;
  /** The domain's CPU time over the interval, in % of one pCPU (a backend's cost of serving). */
  cpuPct?: number;
  /**
   * A domain whose memory/target moved (ballooning) only: its memory now (the frames it owns,
   * as xl list's Mem: tot_pages / 256, in whole MiB) and its balloon target in MiB.
   */
  memoryMiB?: number;
  targetMiB?: number;
}

export interface MetricSnapshot {
  /** Simulated cycles since the session began (longest pCPU). */
  t: number;
  wallMs: number;
  domains: DomainMetrics[];
}

/**
 * The modern profile's clock (the default CPU). A run's own clock is its CPU profile's
 * (cpuProfile(machine.cpu).clockGHz, sent in 'booted' and in the results): paces, rates per
 * simulated second and simulated times use that one.
 */
export const CLOCK_HZ = 3e9;

/**
 * How fast a live run goes: simulated seconds per real second, or 'max' (as fast as the machine
 * can). At 1 µs/s one shadow fault or hypercall (about 1 µs simulated) takes about a second.
 */
export type Pace = number | 'max';

/** The pace ladder the run controls offer, fastest first. */
export const PACES: readonly { pace: Pace; label: string }[] = [
  { pace: 'max', label: 'max' },
  { pace: 10e-3, label: '10 ms/s' },
  { pace: 1e-3, label: '1 ms/s' },
  { pace: 100e-6, label: '100 µs/s' },
  { pace: 10e-6, label: '10 µs/s' },
  { pace: 1e-6, label: '1 µs/s' },
];

/** The pace a run starts at unless told: a preset lasts several seconds and draws a curve. */
export const DEFAULT_PACE: Pace = 10e-3;

/** The fastest numeric pace accepted (simulated seconds per real second). */
export const MAX_NUMERIC_PACE = 1;

/** Describes a pace as the controls do: 'max', '10 ms/s', '2.5 µs/s'. */
export function paceLabel(p: Pace): string {
  if (p === 'max') return 'max';
  const known = PACES.find((x) => x.pace === p);
  if (known) return known.label;
  if (p >= 1e-3) return `${+(p * 1e3).toPrecision(3)} ms/s`;
  if (p >= 1e-6) return `${+(p * 1e6).toPrecision(3)} µs/s`;
  return `${+(p * 1e9).toPrecision(3)} ns/s`;
}

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
  | {
      type: 'start';
      scenario: unknown;
      /** Wall time between progress and snapshot messages (the most the UI is sent). */
      snapshotMs?: number;
      /** Simulated time per real second (default DEFAULT_PACE). */
      pace?: Pace;
      /** Repeat every workload until stopped (a fresh run starts in its domain when one ends). */
      repeat?: boolean;
    }
  /** Change the pace of the live run (also while it runs or is paused). */
  | { type: 'pace'; pace: Pace }
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
  | { type: 'walk'; id: number; scenario: unknown; domain: string; va?: string; warm?: boolean; write?: boolean }
  /**
   * Run a reproduction (core/api/reproduction.ts; `file` is its parsed JSON, validated here) in
   * time slices beside the live session: 'reproduce-progress' after each run, then one
   * 'reproduce-result', or an 'error' (where 'reproduce', with the file's problems). A new one
   * replaces a running one, whose answers stop.
   */
  | { type: 'reproduce'; id: number; file: unknown }
  /**
   * Run one I/O workload (disk-io, net-stream or net-rr; validated with field paths, defaults
   * applied) through each I/O path (core/sim/ioPaths.ts), one path per turn beside the live
   * session: 'io-paths-progress' after each path, then one 'io-paths-result', or an 'error'
   * (where 'io-paths'). A new one replaces a running one, whose answers stop.
   */
  | { type: 'io-paths'; id: number; workload: Workload }
  /** Cancel the io-paths run whose request id is `id`: answered by an 'error' (where 'io-paths', message 'io-paths cancelled'). */
  | { type: 'cancel-io-paths'; id: number };

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
  /** `cpu`: the CPU profile the session runs on; its clock turns the session's cycles into time. */
  | { type: 'booted'; domains: DomainInfo[]; consoles: string[]; cpu: Results['cpu'] }
  | { type: 'domains'; domains: DomainInfo[] }
  /** The console list changed (`xl create` adds a domain's console, `xl destroy` removes it). */
  | { type: 'consoles'; consoles: string[] }
  /**
   * `elapsedMs`: wall time running (paused time excluded); `simulatedCycles`: the most cycles a
   * domain has counted; `clockCycles`: the host clock (the busiest pCPU) since the run began, boot
   * excluded; `runs`: runs of the workloads started (more than 1 when they repeat); `pace`: the
   * pace in force.
   */
  | {
      type: 'progress';
      fraction: number;
      ops: number;
      simulatedCycles: number;
      clockCycles: number;
      elapsedMs: number;
      etaMs: number | null;
      runs: number;
      repeat: boolean;
      pace: Pace;
    }
  /** One interval's metrics (listeners of a SimWorker see each snapshot of a batch this way). */
  | { type: 'snapshot'; snapshot: MetricSnapshot }
  /** Snapshots taken every so many simulated cycles, sent together at most every snapshotMs. */
  | { type: 'snapshots'; snapshots: MetricSnapshot[] }
  /**
   * I/O scenarios only (the scenario has devices): what the Topology view draws, at one moment.
   * Sent after 'booted', with each progress report while the run goes, and at the end.
   */
  | { type: 'topology'; snapshot: TopologySnapshot }
  | { type: 'console'; console: string; data: string }
  /** The toolstack asks the UI to show another console (`xl console g1`). */
  | { type: 'console-switch'; console: string }
  /** `repeat`: the workloads repeated until stopped; `runs`: the most runs any workload started. */
  | { type: 'finished'; status: 'finished' | 'stopped'; results: Results; repeat: boolean; runs: number }
  /** `id`: the compare request these answer. */
  | (CompareRunEvent & { id: number })
  /** `id`: the walk request this answers. */
  | { type: 'walk-result'; id: number; trace: WalkTrace; candidates: string[] }
  /** `id`: the reproduce request these answer; `label` names the run just done. */
  | { type: 'reproduce-progress'; id: number; done: number; total: number; label: string }
  | { type: 'reproduce-result'; id: number; result: ReproResult }
  /** `id`: the io-paths request these answer; `label` names the path just run. */
  | { type: 'io-paths-progress'; id: number; done: number; total: number; label: string }
  /** `workload`: the workload as run (defaults applied); `rows`: one per path, in the order run. */
  | { type: 'io-paths-result'; id: number; workload: Workload; rows: IoPathRow[] }
  /**
   * A failure: `where` says what failed ('start', 'compare', 'walk', 'reproduce', 'io-paths', 'console', 'run', 'worker');
   * `id` is the request it answers, when it answers one that carried an id.
   */
  | { type: 'error'; id?: number; where: string; message: string; problems?: { path: string; message: string }[] };

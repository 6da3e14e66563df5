/**
 * The simulation worker's logic (the worker entry, core/worker/entry.ts, only wires it to the
 * runtime): one live session — a booted scenario whose workloads run in time slices, with its
 * consoles — plus, independently, at most one comparison across paging modes.
 *
 * The CPU work runs in turns of about `sliceMs` of wall time; between turns the runtime delivers
 * messages, so pause, stop, console keystrokes and a cancel are handled within a turn (jor1k's
 * habit: the CPU runs in a worker in time slices and yields to handle messages).
 *
 * Pace: a run may go no faster than `pace` simulated seconds per real second, seconds of its own
 * CPU (the scenario's machine.cpu profile's clock: 10 ms/s on the 2.4 GHz P4 is 24 M cycles a
 * real second, on the 3 GHz modern core 30 M). The budget is the
 * host clock when the pace was set plus pace × the wall time run since (paused time excluded); a
 * turn stops stepping when the host clock reaches it and sleeps (scheduleAfter) until more is
 * allowed. A slow pace also makes the workloads pause inside their slices (the grain), so time
 * moves in small steps; neither changes a result.
 *
 * Metric snapshots are taken every so many simulated cycles (about 40 per real second when paced;
 * about every 1% of the planned work at max; every snapshotMs of wall time when the workloads
 * repeat at max), so even a short run draws a curve. They go out in batches with the progress, at
 * most every `snapshotMs`, so the UI never drowns.
 */
import type { PagingMode, Scenario } from '../api/scenario.js';
import { validateScenario } from '../api/scenario.js';
import { DEFAULT_PACE, type DomainInfo, type MetricSnapshot, type Pace, type SessionState, type SweepSpec, type WorkerEvent, type WorkerRequest } from '../api/worker.js';
import type { Vm } from '../vm/vm.js';
import { ConsoleHub } from './consoleHub.js';
import { CompareRun, planCompare } from '../sim/compareRun.js';
import { SessionMetrics } from './sessionMetrics.js';
import { Simulation } from '../sim/simulation.js';
import { C } from '../machine/counters.js';
import { runWalkRequest, WalkRequestError } from '../sim/walkBoot.js';
import { topologyOf } from '../sim/topology.js';

/** What a console hub calls back (core/toolstack/consoleHub.ts codes to this). */
export interface ConsoleHooks {
  /** Output for a console (coalesced per console per turn by the session). */
  out(console: string, data: string): void;
  /** Domains were created, destroyed, paused …: the session posts 'domains'. */
  domainsChanged(): void;
  /** New work to run (a job started from a console, a domain unpaused): resume stepping. */
  kick(): void;
  /** Ask the UI to show another console (`xl console g1`). */
  switchConsole?(name: string): void;
}

/** The consoles of a session: the hypervisor log, dom0's toolstack shell, guests' shells. */
export interface ConsoleHubLike {
  consoles(): string[];
  boot(): void;
  input(console: string, data: string): void;
  tick(): void;
  log(line: string): void;
}

export type MakeHub = (sim: Simulation, hooks: ConsoleHooks) => ConsoleHubLike;

export interface SessionDeps {
  post(e: WorkerEvent): void;
  /** Wall clock, ms. */
  now(): number;
  /** Runs `fn` soon, after pending messages. */
  schedule(fn: () => void): void;
  /** Runs `fn` after about `ms` of wall time (a paced run sleeping); default: schedule(). */
  scheduleAfter?(fn: () => void, ms: number): void;
  /** Wall time a turn runs for (default 12 ms). */
  sliceMs?: number;
  /** Builds the console hub of a session (default: the toolstack's ConsoleHub; tests inject fakes). */
  makeHub?: MakeHub;
}

export const DEFAULT_SLICE_MS = 12;
export const DEFAULT_SNAPSHOT_MS = 250;
/** Snapshots per real second of a paced run. */
export const SNAPSHOTS_PER_SECOND = 40;
/** Snapshots over the planned work of a run at max pace (one per 1%). */
export const SNAPSHOTS_PER_RUN = 100;
/** A job's planned work at max pace is run in about this many pieces, so snapshots can fall between. */
const PIECES_PER_RUN = 4 * SNAPSHOTS_PER_RUN;
/** Simulated cycles assumed per operation when choosing a paced run's grain (a walk, a fault). */
const CYCLES_PER_OP_GUESS = 1000;
/** A console's coalesced output beyond this is cut to its tail (a guest printing in a loop). */
const MAX_CONSOLE_CHUNK = 256 * 1024;

const defaultHub: MakeHub = (sim, hooks) => new ConsoleHub(sim, hooks);

/** One line, no stack. */
/**
 * Whether stepping can still move the run: a runnable job, or one blocked on I/O (a disk request in
 * flight), which step() wakes by running time on to the next device or timeline event, or ends as
 * stalled when none can come. Gating on `runnable` alone left a run idle forever whenever a turn
 * ended with every remaining job waiting for its disk.
 */
function hasWork(sim: Simulation): boolean {
  if (sim.runnable > 0) return true;
  if (sim.io === null) return false;
  if (sim.jobs.some((j) => !j.done && j.blocked === true && j.d.state === 'running')) return true;
  // Kernel work a command left (xl mem-set: the balloon driver's watch) runs even after the workloads ended.
  return sim.io.domainsWithWork().some((domid) => sim.domains.some((d) => d.domid === domid && d.state !== 'paused' && d.balloon !== undefined));
}

function oneLine(e: unknown): string {
  const s = e instanceof Error ? e.message || e.name : String(e);
  return s.split('\n')[0]!.trim() || 'unknown error';
}

export function domainInfo(sim: Simulation, d: Vm): DomainInfo {
  let workload = 'idle';
  let busy = false;
  for (const j of sim.jobs) {
    if (j.d !== d) continue;
    workload = j.workload.kind;
    if (!j.done && j.workload.kind !== 'idle') busy = true;
  }
  // dom0 runs the toolstack, which waits for a command: its vCPU is blocked unless it has a
  // workload of its own (xl list, run from dom0, still shows it running: xl is running then).
  const privileged = d.privileged;
  const state = privileged && d.state === 'running' && !busy ? 'blocked' : sim.visibleState(d);
  const activity = privileged ? (busy ? `toolstack + ${workload}` : 'toolstack idle') : state === 'blocked' ? 'idle loop' : workload;
  return {
    name: d.name,
    domid: d.domid,
    role: d.config.role,
    mode: d.mode,
    memoryMiB: d.config.memoryMiB,
    vcpus: d.config.vcpus,
    state,
    workload,
    activity,
  };
}

/**
 * Where stepping would take the host clock when nothing can run now: every job waits for I/O and
 * no domain has kernel work queued, so Simulation.step lets time pass to the next device or
 * timeline event (the pCPUs idle). -Infinity when something can run. A paced run waits for its
 * budget to reach that time before stepping, so idle time passes at the pace too, as busy time
 * does (a driver domain dead for 10 ms stays dead for a second of real time at 10 ms/s).
 */
function idleJumpTo(sim: Simulation): number {
  const io = sim.io;
  if (io === null || sim.runnable > 0 || io.domainsWithWork().length > 0) return -Infinity;
  const t = io.queue.peekTime();
  // No event will come: stepping ends the waiting jobs (they stall) at once.
  return t === Infinity ? -Infinity : t;
}

/** The live session: one booted scenario. */
class Live {
  state: SessionState = 'booting';
  scheduled = false;
  /** Counts scheduled turns: a turn whose token is not the latest was superseded (a wake-up). */
  turnToken = 0;
  /** Wall ms spent running (paused time excluded), and when the current running stretch began. */
  activeMs = 0;
  runningSince = 0;
  /** Wall time of the last progress message. */
  lastSnapshot = 0;
  /** The CPU profile's clock (cycles per simulated second): paces, rates and times use it. */
  readonly clockHz: number;
  readonly metrics: SessionMetrics;
  readonly pending = new Map<string, string>();
  domainsDirty = false;
  hub: ConsoleHubLike | null = null;
  /** The console names the renderer was last told ('booted', then 'consoles'). */
  consoles: string[] = [];
  /** The host clock when the run began (after boot). */
  startCycles = 0;
  pace: Pace = DEFAULT_PACE;
  /** The host clock and the active wall time when the pace was last set: the budget counts from there. */
  paceCycles = 0;
  paceMs = 0;
  /** Snapshots taken since the last message. */
  readonly batch: MetricSnapshot[] = [];
  /** The next snapshot: at this host clock (paced), at this fraction of the planned work (max), at this wall time (max, repeating). */
  nextAtCycles = 0;
  nextAtFraction = 0;
  nextAtMs = 0;
  /** The host clock of the last snapshot taken. */
  lastSnapshotT = -1;
  /** Runs of the workloads started, as last reported (the jobs are gone once stopped). */
  runs = 1;
  /** Timeline actions done when the last topology went out: a new one sends one at once. */
  timelineSeen = 0;

  constructor(
    readonly sim: Simulation,
    readonly snapshotMs: number,
  ) {
    this.clockHz = sim.xen.cpu.clockGHz * 1e9;
    this.metrics = new SessionMetrics(this.clockHz);
  }

  /** Simulated cycles per real ms at `pace` (a number). */
  cyclesPerMs(pace: number): number {
    return (pace * this.clockHz) / 1000;
  }
}

export class LabSession {
  private readonly sliceMs: number;
  private readonly makeHub: MakeHub;
  private live: Live | null = null;
  /** The running compare and the id of the request that started it (its answers carry it). */
  private compare: { id: number; run: CompareRun } | null = null;

  constructor(private readonly deps: SessionDeps) {
    this.sliceMs = deps.sliceMs ?? DEFAULT_SLICE_MS;
    this.makeHub = deps.makeHub ?? defaultHub;
  }

  /** The live simulation, if any (for the console hub's tests and for diagnostics). */
  get simulation(): Simulation | null {
    return this.live?.sim ?? null;
  }

  get state(): SessionState {
    return this.live?.state ?? 'idle';
  }

  handle(req: WorkerRequest): void {
    const where = req.type === 'console-input' ? 'console' : req.type === 'cancel-compare' ? 'compare' : req.type;
    try {
      this.dispatch(req);
    } catch (e) {
      // The error answers the request that failed (a cancel's id is its compare's).
      this.error(where === 'pause' || where === 'resume' || where === 'stop' || where === 'pace' ? 'run' : where, e, 'id' in req ? req.id : undefined);
    }
    this.flushConsoles();
  }

  private dispatch(req: WorkerRequest): void {
    switch (req.type) {
      case 'start':
        return this.start(req.scenario, req.snapshotMs, req.pace, req.repeat);
      case 'pace':
        return this.setPace(req.pace);
      case 'pause':
        return this.pause();
      case 'resume':
        return this.resume();
      case 'stop':
        return this.stop();
      case 'console-input':
        if (!this.live?.hub) throw new Error(`no session is running: start a scenario before typing into console "${req.console}"`);
        this.live.hub.input(req.console, req.data);
        return;
      case 'compare':
        return this.startCompare(req.id, req.scenario, req.modes, req.sweep);
      case 'cancel-compare':
        // Only the compare named: a cancel that arrives after its compare ended or was replaced
        // must not end the next one.
        if (this.compare && this.compare.id === req.id) {
          this.compare = null;
          this.deps.post({ type: 'error', id: req.id, where: 'compare', message: 'compare cancelled' });
        }
        return;
      case 'walk': {
        const r = runWalkRequest(req);
        this.deps.post({ type: 'walk-result', id: req.id, trace: r.trace, candidates: r.candidates });
        return;
      }
    }
  }

  private error(where: string, e: unknown, id?: number): void {
    const problems = e instanceof WalkRequestError ? e.problems : undefined;
    this.deps.post({ type: 'error', ...(id !== undefined ? { id } : {}), where, message: oneLine(e), ...(problems ? { problems } : {}) });
  }

  // --- the live session ------------------------------------------------------------------------

  private start(input: unknown, snapshotMs?: number, pace: Pace = DEFAULT_PACE, repeat = false): void {
    const v = validateScenario(input);
    if (!v.ok) {
      const message = `the scenario is not valid: ${v.problems.length} problem${v.problems.length === 1 ? '' : 's'} (first: ${v.problems[0]!.path}: ${v.problems[0]!.message})`;
      this.deps.post({ type: 'error', where: 'start', message, problems: v.problems });
      return;
    }
    this.live = null; // a stale turn of a replaced session sees it is not current and stops
    this.post({ type: 'state', state: 'booting' });
    let live: Live;
    try {
      live = this.boot(v.scenario, snapshotMs ?? DEFAULT_SNAPSHOT_MS, repeat);
    } catch (e) {
      this.live = null;
      this.error('start', e);
      this.post({ type: 'state', state: 'error' });
      return;
    }
    const sim = live.sim;
    live.lastSnapshot = this.deps.now();
    live.startCycles = sim.cycles;
    this.applyPace(live, pace);
    // The hub attaches a shell per domain as it boots, so its console list is complete after
    // boot(); its boot output is held (flushed after this message), so 'booted' comes first.
    this.consoleCall(() => live.hub!.boot());
    live.consoles = live.hub!.consoles();
    const cpu = sim.xen.cpu;
    this.post({ type: 'booted', domains: sim.domains.map((d) => domainInfo(sim, d)), consoles: live.consoles, cpu: { profile: cpu.id, label: cpu.label, clockGHz: cpu.clockGHz } });
    this.postTopology(live);
    this.setRunning(live);
  }

  private boot(s: Scenario, snapshotMs: number, repeat: boolean): Live {
    const sim = new Simulation(s, { repeat });
    const live = new Live(sim, Math.max(1, snapshotMs));
    this.live = live;
    const hooks: ConsoleHooks = {
      out: (name, data) => {
        if (this.live !== live || data.length === 0) return;
        let s = (live.pending.get(name) ?? '') + data;
        if (s.length > MAX_CONSOLE_CHUNK) s = s.slice(s.length - MAX_CONSOLE_CHUNK);
        live.pending.set(name, s);
      },
      domainsChanged: () => {
        if (this.live === live) live.domainsDirty = true;
      },
      kick: () => {
        if (this.live !== live) return;
        // After the run ended, only work that can run now reopens it (not, say, an unpause of a
        // domain with nothing to do).
        if (live.state === 'finished' || live.state === 'stopped') {
          if (hasWork(sim)) this.setRunning(live);
        } else if (live.state === 'running') this.scheduleTurn(live);
      },
      switchConsole: (name) => {
        if (this.live === live) this.post({ type: 'console-switch', console: name });
      },
    };
    live.hub = this.makeHub(sim, hooks);
    return live;
  }

  private setRunning(live: Live): void {
    const now = this.deps.now();
    live.state = 'running';
    live.runningSince = now;
    this.post({ type: 'state', state: 'running' });
    this.wake(live);
  }

  /** Schedules the next turn (after `delayMs` of wall time when given); one is pending at a time. */
  private scheduleTurn(live: Live, delayMs = 0): void {
    if (live.scheduled) return;
    live.scheduled = true;
    const token = ++live.turnToken;
    const fn = () => {
      if (live.turnToken === token) this.turn(live);
    };
    if (delayMs > 0 && this.deps.scheduleAfter) this.deps.scheduleAfter(fn, delayMs);
    else this.deps.schedule(fn);
  }

  /** A turn now, superseding a sleeping one (the pace changed, the run resumed). */
  private wake(live: Live): void {
    live.scheduled = false;
    this.scheduleTurn(live);
  }

  /** The host clock a paced run may reach by wall time `t` (Infinity at max pace). */
  private budget(live: Live, t: number): number {
    if (live.pace === 'max') return Infinity;
    return live.paceCycles + live.cyclesPerMs(live.pace) * (this.elapsed(live, t) - live.paceMs);
  }

  /** Sets the pace from now on: the budget counts from the current clock; the grain and the sampling follow. */
  private applyPace(live: Live, pace: Pace): void {
    const sim = live.sim;
    const t = this.deps.now();
    live.pace = pace;
    live.paceCycles = sim.cycles;
    live.paceMs = this.elapsed(live, t);
    if (pace === 'max') {
      // Pieces of the planned work, so a snapshot can fall every 1% of it.
      sim.setGrainByPlan(PIECES_PER_RUN);
      live.nextAtFraction = Math.floor(sim.progress().fraction * SNAPSHOTS_PER_RUN + 1) / SNAPSHOTS_PER_RUN;
      live.nextAtMs = t + live.snapshotMs;
    } else {
      this.fitGrain(live);
      live.nextAtCycles = sim.cycles + this.sampleCycles(live, pace);
    }
  }

  /**
   * At a numeric pace, each job pauses inside its slice about every quarter of a turn's budget (or
   * of a snapshot interval, whichever is less), at its own cost per operation so far (a guess
   * before it has one): one operation at a time at the slowest paces.
   */
  private fitGrain(live: Live): void {
    if (live.pace === 'max') return;
    const target = Math.min(live.cyclesPerMs(live.pace) * this.sliceMs, this.sampleCycles(live, live.pace)) / 4;
    for (const j of live.sim.jobs) {
      const c = j.d.counters.c;
      const ops = c[C.Ops]!;
      const perOp = ops > 0 ? (c[C.CycGuest]! + c[C.CycHv]! + c[C.CycWalk]!) / ops : CYCLES_PER_OP_GUESS;
      j.grain.ops = Math.max(1, Math.floor(target / Math.max(1, perOp)));
    }
  }

  /** Simulated cycles between snapshots at a numeric pace. */
  private sampleCycles(live: Live, pace: number): number {
    return Math.max(1, (pace * live.clockHz) / SNAPSHOTS_PER_SECOND);
  }

  private setPace(pace: Pace): void {
    const live = this.live;
    if (!live) return;
    this.applyPace(live, pace);
    if (live.state === 'running') {
      this.wake(live);
      this.report(live, this.deps.now());
    }
  }

  /** Takes a snapshot when the run has gone one sampling interval further. */
  private sample(live: Live, t: number): void {
    const sim = live.sim;
    if (live.pace !== 'max') {
      if (sim.cycles < live.nextAtCycles) return;
      const every = this.sampleCycles(live, live.pace);
      live.nextAtCycles += every * Math.max(1, Math.ceil((sim.cycles - live.nextAtCycles) / every + 1e-9));
    } else if (sim.repeat) {
      if (t < live.nextAtMs) return;
      live.nextAtMs = t + live.snapshotMs;
    } else {
      const f = sim.progress().fraction;
      // The fraction drops when new work arrives (a job started from a console): sample from there.
      if (f < live.nextAtFraction && f >= live.nextAtFraction - 2 / SNAPSHOTS_PER_RUN) return;
      live.nextAtFraction = Math.floor(f * SNAPSHOTS_PER_RUN + 1) / SNAPSHOTS_PER_RUN;
    }
    this.takeSnapshot(live, t);
  }

  private takeSnapshot(live: Live, t: number): void {
    const sim = live.sim;
    // One snapshot per instant of simulated time (the end of a run after the last interval's).
    if (live.lastSnapshotT === sim.cycles) return;
    live.lastSnapshotT = sim.cycles;
    live.batch.push(live.metrics.snapshot(sim.domains, sim.cycles, this.elapsed(live, t), (d) => domainInfo(sim, d).state));
  }

  private turn(live: Live): void {
    live.scheduled = false;
    if (this.live !== live || live.state !== 'running') return;
    const { sim, metrics } = live;
    const now = this.deps.now;
    try {
      const start = now();
      const deadline = start + this.sliceMs;
      const domains = sim.domains;
      let limited = false;
      if (hasWork(sim)) {
        let more: boolean;
        let t = start;
        do {
          const budget = this.budget(live, t);
          if (sim.cycles >= budget || (budget !== Infinity && idleJumpTo(sim) > budget)) {
            limited = true;
            break;
          }
          more = sim.step(1);
          metrics.observe(domains);
          // A timeline action (a domain destroyed, created …) is drawn as it happens, not at the next report.
          if (sim.timeline.length !== live.timelineSeen) this.postTopology(live);
          t = now();
          this.sample(live, t);
        } while (more && t < deadline);
      }
      this.consoleCall(() => live.hub!.tick());
      if (this.live !== live || live.state !== 'running') return; // the hub stopped or replaced it
      const t = now();
      if (t - live.lastSnapshot >= live.snapshotMs) this.report(live, t);
      if (hasWork(sim)) {
        if (limited && live.pace !== 'max') {
          // Sleep until the budget reaches the clock (at most until the next progress message).
          const target = Math.max(sim.cycles, idleJumpTo(sim));
          const waitMs = (target - this.budget(live, t)) / live.cyclesPerMs(live.pace);
          this.scheduleTurn(live, Math.min(live.snapshotMs, Math.max(1, waitMs)));
        } else this.scheduleTurn(live);
      } else if (sim.live === 0) this.finish(live, 'finished');
      // else: jobs remain but their domains are paused; a kick resumes.
    } catch (e) {
      live.state = 'error';
      this.error('run', e);
      this.post({ type: 'state', state: 'error' });
    } finally {
      this.flushConsoles();
    }
  }

  private elapsed(live: Live, t: number): number {
    return live.activeMs + (live.state === 'running' ? t - live.runningSince : 0);
  }

  /** Progress and the snapshots taken since the last report (`final`: one more, at the clock now). */
  private report(live: Live, t: number, final = false): void {
    const sim = live.sim;
    const p = sim.progress();
    const elapsedMs = this.elapsed(live, t);
    const clockCycles = sim.cycles - live.startCycles;
    live.runs = Math.max(live.runs, p.runs);
    this.fitGrain(live);
    let etaMs: number | null = p.fraction >= 1 ? 0 : p.fraction > 0 ? (elapsedMs * (1 - p.fraction)) / p.fraction : null;
    if (sim.repeat) etaMs = null;
    this.post({ type: 'progress', fraction: p.fraction, ops: p.ops, simulatedCycles: p.simulatedCycles, clockCycles, elapsedMs, etaMs, runs: p.runs, repeat: sim.repeat, pace: live.pace });
    if (final) this.takeSnapshot(live, t);
    if (live.batch.length > 0) {
      this.post({ type: 'snapshots', snapshots: live.batch.splice(0) });
    }
    this.postTopology(live);
    live.lastSnapshot = t;
  }

  /**
   * The Topology view's snapshot, for a scenario with I/O (none otherwise). At most one per
   * progress report (every snapshotMs of wall time), so its cost — a walk over the domains, their
   * event channels and grant mappings — is small beside the turn's stepping.
   */
  private postTopology(live: Live): void {
    if (live.sim.io === null) return;
    live.timelineSeen = live.sim.timeline.length;
    this.post({ type: 'topology', snapshot: topologyOf(live.sim) });
  }

  private finish(live: Live, status: 'finished' | 'stopped', report = true): void {
    const t = this.deps.now();
    // The last interval goes out too, so a chart ends where the run did.
    if (report) this.report(live, t, true);
    live.activeMs = this.elapsed(live, t);
    live.state = status;
    const results = live.sim.results(live.activeMs);
    // The run's last console output goes out before it is reported finished (a recorder saving
    // the run takes the console output up to 'finished').
    const line = status === 'finished' ? `all workloads finished (${Math.round(live.activeMs)} ms)` : 'workloads stopped';
    this.consoleCall(() => live.hub!.log(line));
    this.flushConsoles();
    this.post({ type: 'finished', status, results, repeat: live.sim.repeat, runs: Math.max(live.runs, live.sim.progress().runs) });
    // Guests whose workload ended are idle now (blocked): the cards say so.
    this.post({ type: 'domains', domains: live.sim.domains.map((d) => domainInfo(live.sim, d)) });
    this.post({ type: 'state', state: status });
  }

  /** A console's failure is reported, and the run goes on. */
  private consoleCall(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.error('console', e);
    }
  }

  private pause(): void {
    const live = this.live;
    if (!live || live.state !== 'running') return this.post({ type: 'state', state: this.state });
    const t = this.deps.now();
    live.activeMs += t - live.runningSince;
    live.state = 'paused';
    this.post({ type: 'state', state: 'paused' });
  }

  private resume(): void {
    const live = this.live;
    if (!live || live.state !== 'paused') return this.post({ type: 'state', state: this.state });
    this.setRunning(live);
  }

  /** Stops the workloads now (they are ended: a job started later runs alone); consoles stay. */
  private stop(): void {
    const live = this.live;
    if (!live || (live.state !== 'running' && live.state !== 'paused')) return this.post({ type: 'state', state: this.state });
    if (live.state === 'paused') live.runningSince = this.deps.now();
    const sim = live.sim;
    live.state = 'running'; // so that the running stretch counts
    // The last progress and interval before the jobs end: a stopped run shows how far it got.
    this.report(live, this.deps.now(), true);
    for (const j of [...sim.jobs]) if (!j.done) sim.stopJob(j);
    // The shells see their jobs end now (a foreground `run` gives its prompt back), not at the
    // next keystroke: no turn follows a stop.
    this.consoleCall(() => live.hub!.tick());
    this.finish(live, 'stopped', false);
  }

  private flushConsoles(): void {
    const live = this.live;
    if (!live) return;
    if (live.domainsDirty) {
      live.domainsDirty = false;
      const sim = live.sim;
      this.post({ type: 'domains', domains: sim.domains.map((d) => domainInfo(sim, d)) });
      // xl create / destroy from a console changes the topology too.
      if (live.state !== 'booting') this.postTopology(live);
      // A domain created or destroyed adds or removes its console (before its output goes out).
      const names = live.hub?.consoles() ?? [];
      if (names.join('\n') !== live.consoles.join('\n')) this.post({ type: 'consoles', consoles: (live.consoles = names) });
    }
    if (live.pending.size === 0) return;
    for (const [console, data] of live.pending) this.post({ type: 'console', console, data });
    live.pending.clear();
  }

  // --- comparisons ----------------------------------------------------------------------------

  private startCompare(id: number, input: unknown, modes: PagingMode[], sweep?: SweepSpec): void {
    // A new compare replaces a running one, even one refused below (its sender has moved on).
    this.compare = null;
    const p = planCompare(input, modes, sweep);
    if (!p.ok) {
      this.deps.post({ type: 'error', id, where: 'compare', message: p.message, ...(p.problems ? { problems: p.problems } : {}) });
      return;
    }
    // The replaced compare's answers stop here.
    const current = {
      id,
      run: new CompareRun(p.plan, this.deps.now, (e) => {
        if (this.compare === current) this.post({ ...e, id });
      }),
    };
    this.compare = current;
    this.deps.schedule(() => this.compareTurn(current));
  }

  private compareTurn(current: { id: number; run: CompareRun }): void {
    if (this.compare !== current) return;
    try {
      if (current.run.turn(this.deps.now() + this.sliceMs)) this.deps.schedule(() => this.compareTurn(current));
      else this.compare = null;
    } catch (e) {
      this.compare = null;
      this.error('compare', e, current.id);
    }
  }

  private post(e: WorkerEvent): void {
    this.deps.post(e);
  }
}

/**
 * A steppable run of a scenario: the machine, the hypervisor and its domains, and the workload
 * jobs interleaved on the physical CPUs. `runScenario` drives one to the end in a loop; the
 * simulation worker drives one in time slices, so it can pause, stop, answer a console and post
 * metric snapshots between slices.
 */
import type { DomainConfig, MigrationTarget, Scenario, Workload } from '../api/scenario.js';
import { DEFAULT_DOM0 } from '../api/scenario.js';
import type { BalloonResult, DomainResults, KvmResults, Results } from '../api/results.js';
import { VERSION } from '../api/version.js';
import { Rng } from '../base/rng.js';
import type { CostTable } from '../machine/cost.js';
import { cpuProfile } from '../machine/cpu.js';
import { C, HYPERCALL_OPS, VMEXIT_REASONS, type Counters } from '../machine/counters.js';
import type { MmuConfig } from '../machine/mmu/types.js';
import type { DomainState } from '../hv/domain.js';
import { Hypervisor, MAXMEM_HEADROOM_PAGES } from '../hv/hypervisor.js';
import { auditMachine } from '../vm/audit.js';
import { IntegrityCheck } from '../vm/integrity.js';
import { relocate, type RelocationReport } from '../vm/relocate.js';
import { attachBalloon } from '../vm/balloon.js';
import type { BalloonStats } from '../guest/balloon.js';
import { buildDomain } from '../vm/builder.js';
import type { Vm } from '../vm/vm.js';
import { BLOCK, MEASURE, PART, PROGRESS, plannedOps, runWorkload, type Grain, type WorkloadStep } from '../workloads/index.js';
import { IoWorld } from '../vm/io/ioWorld.js';
import type { TimelineEntry } from '../api/ioScenario.js';
import { ioResults, type TimelineRecord } from './ioResults.js';
import { checkNewDomain, DomainConfigError, type DomainInput } from './newDomain.js';
import { Hotplug, isHotplugAction, runHotplug, type HotplugAction, type HotplugResult } from '../vm/io/hotplug.js';
import { CreditScheduler } from './credit.js';
import { LiveMigration } from './migration.js';

export { DomainConfigError, type DomainInput } from './newDomain.js';

export interface Progress {
  /** Fraction done, 0..1. */
  fraction: number;
  ops: number;
  simulatedCycles: number;
  /** Runs of the workloads started so far: the most any job has started (1 unless they repeat). */
  runs: number;
}

/** One workload running in one domain. */
export interface Job {
  readonly d: Vm;
  readonly workload: Workload;
  readonly planned: number;
  gen: Generator<WorkloadStep, void, void>;
  done: boolean;
  /** Runs of the workload started (more than 1 when it repeats until stopped). */
  runs: number;
  /** How often its workload pauses inside a slice (shared with the generator, read at each yield). */
  readonly grain: Grain;
  /** Waiting for I/O (it yielded BLOCK): not run until an event wakes its domain. */
  blocked?: boolean;
}

export interface SimulationOptions {
  /**
   * The scenario's workloads repeat until stopped: when one ends, a fresh run of it starts in the
   * same domain (the previous run's processes exit first). Counters keep counting across runs:
   * each repeat's setup is left out, as the first run's is (its counters go back to where they
   * were when the setup began).
   */
  repeat?: boolean;
}

interface SavedCounters {
  c: Float64Array;
  hypercalls: Float64Array;
  vmexits: Float64Array;
  walkHist: Float64Array;
  walkMaxRefs: number;
}

function saveCounters(k: Counters): SavedCounters {
  return { c: k.c.slice(), hypercalls: k.hypercalls.slice(), vmexits: k.vmexits.slice(), walkHist: k.walkHist.slice(), walkMaxRefs: k.walkMaxRefs };
}

function restoreCounters(k: Counters, s: SavedCounters): void {
  k.c.set(s.c);
  k.hypercalls.set(s.hypercalls);
  k.vmexits.set(s.vmexits);
  k.walkHist.set(s.walkHist);
  k.walkMaxRefs = s.walkMaxRefs;
}

export function totalCycles(counters: Counters): number {
  const c = counters.c;
  return c[C.CycGuest] + c[C.CycHv] + c[C.CycWalk];
}

export class Simulation {
  readonly xen: Hypervisor;
  readonly domains: Vm[];
  readonly jobs: Job[] = [];
  /** Simulated cycles each pCPU has run (boots, slices, toolstack work on a vCPU). */
  private readonly pcpuCycles: Float64Array;
  /** The next job to run in the current scheduling round (a round can span step() calls). */
  private roundPos = 0;
  /** The credit scheduler's accounting: who may run on each pCPU (weights, caps). */
  readonly sched: CreditScheduler;
  /** The job whose slice paused inside (PART): it goes on first, whatever its credit. */
  private partJob: Job | null = null;
  /** Workloads repeat until stopped. */
  readonly repeat: boolean;
  /** Devices, xenstore and split drivers, when the scenario has any (else null). */
  readonly io: IoWorld | null = null;
  /** The content check of free memory, in a scenario with devices (core/vm/integrity.ts). */
  private integrity: IntegrityCheck | null = null;
  /** Devices added to and removed from running domains (xl pci-attach, block-attach … and the timeline's), with the I/O machinery under Xen. */
  readonly hotplug: Hotplug | null = null;
  /** The host clock when the domains had booted: simulated time 0 of the timeline and of I/O results. */
  readonly origin: number;
  /** Simulated time up to which device and timeline events have run (cycles). */
  private ioClock = 0;
  /** The domain whose slice is running, with its pCPU and its cycles when the slice began. */
  private running: { d: Vm; pcpu: number; before: number } | null = null;
  /** What the timeline did, in order. */
  readonly timeline: TimelineRecord[] = [];
  /**
   * The migration target (scenario.migrationTarget): a second machine with its own Xen and dom0,
   * and the link to it. Domains migrated there stay in `domains` (their `host` says where).
   */
  readonly target: TargetHost | null;
  /** Live migrations started (timeline migrate, xl migrate), in order. */
  readonly migrations: LiveMigration[] = [];
  /** Told of each timeline action after it ran (the toolstack follows it as it follows `xl`): the domain acted on, and what a destroy freed. */
  onTimeline?: (record: TimelineRecord, vm: Vm | null, freed?: { guestFrames: number; xenFrames: number }) => void;

  constructor(
    readonly scenario: Scenario,
    opts: SimulationOptions = {},
  ) {
    this.repeat = opts.repeat === true;
    this.xen = new Hypervisor(scenario, costsOf(scenario), mmuConfigOf(scenario));
    this.target = scenario.migrationTarget && scenario.hypervisor === 'xen' ? buildTarget(scenario, scenario.migrationTarget) : null;
    this.pcpuCycles = new Float64Array(this.xen.pcpus.length + (this.target?.xen.pcpus.length ?? 0));
    const configs: DomainConfig[] = domainsOf(scenario);
    this.domains = configs.map((cfg) => buildDomain(this.xen, cfg));
    for (const d of this.domains) this.booted(d);
    this.origin = this.cycles;
    this.ioClock = this.origin;
    this.sched = new CreditScheduler(this.xen.cpu.clockGHz, this.pcpuCycles.length, this.origin);
    for (const d of this.domains) this.sched.add(d.domid, this.pcpuOf(d), d.config.weight, d.config.cap);
    if (needsIo(scenario)) {
      const dom0 = this.domains.find((d) => d.privileged);
      this.io = new IoWorld(this.xen, scenario, { now: () => this.now() }, dom0?.name ?? DEFAULT_DOM0.name);
      for (const d of this.domains) {
        this.io.attach(d);
        this.attachBalloon(d);
      }
      // Devices can write memory: from here every domain's free pages are watched (results integrity).
      this.integrity = new IntegrityCheck(this.xen.mem);
      this.integrity.start(this.domains);
      if (scenario.hypervisor === 'xen') {
        this.hotplug = new Hotplug(this.io, { now: () => this.now(), cyclesPerSecond: this.xen.cpu.clockGHz * 1e9 });
        this.hotplug.onForced = (n) => {
          const r: TimelineRecord = { atMs: -1, firedAtMs: (this.now() - this.origin) / (this.xen.cpu.clockGHz * 1e6), do: n.do, domain: n.domain.name, ok: false, message: n.message };
          this.timeline.push(r);
          this.onTimeline?.(r, null);
        };
      }
      const perMs = this.xen.cpu.clockGHz * 1e6;
      for (const t of scenario.timeline ?? []) this.io.queue.push(this.origin + t.atMs * perMs, () => this.act(t));
    }
    for (const d of this.domains) this.startJob(d, d.config.workload, this.repeat);
  }

  /**
   * Simulated time now, in cycles since the machine started: inside a slice, the running vCPU's
   * pCPU clock plus what the slice has used so far; between slices, the time events have reached.
   */
  now(): number {
    const r = this.running;
    if (r) return this.pcpuCycles[r.pcpu]! + (totalCycles(r.d.counters) - r.before);
    return this.ioClock;
  }

  /** Simulated milliseconds since the domains booted (the timeline's clock). */
  get elapsedMs(): number {
    return (this.cycles - this.origin) / (this.xen.cpu.clockGHz * 1e6);
  }

  /** One timeline action, at its time. */
  private act(t: TimelineEntry): void {
    const atMs = (this.ioClock - this.origin) / (this.xen.cpu.clockGHz * 1e6);
    const rec = (ok: boolean, message: string, vm: Vm | null = null, freed?: { guestFrames: number; xenFrames: number }): void => {
      const r: TimelineRecord = { atMs: t.atMs, firedAtMs: atMs, do: t.do, domain: t.domain, ok, message };
      this.timeline.push(r);
      this.onTimeline?.(r, vm, freed);
    };
    const live = this.domains.find((d) => d.name === t.domain);
    try {
      switch (t.do) {
        case 'destroy':
          if (!live) return rec(false, `no live domain "${t.domain}"`);
          return rec(true, `domain ${live.domid} (${t.domain}) destroyed`, live, this.destroyDomain(live));
        case 'create': {
          if (live) return rec(false, `"${t.domain}" is already running (domain ${live.domid})`);
          const cfg = domainsOf(this.scenario).find((d) => d.name === t.domain);
          if (!cfg) return rec(false, `no domain "${t.domain}" in the scenario`);
          const vm = this.createDomain(cfg);
          return rec(true, `domain ${vm.domid} (${t.domain}) created`, vm);
        }
        case 'pause':
          if (!live) return rec(false, `no live domain "${t.domain}"`);
          this.pauseDomain(live);
          return rec(true, `domain ${live.domid} (${t.domain}) paused`, live);
        case 'unpause':
          if (!live) return rec(false, `no live domain "${t.domain}"`);
          this.unpauseDomain(live);
          return rec(true, `domain ${live.domid} (${t.domain}) unpaused`, live);
        case 'migrate': {
          if (!live) return rec(false, `no live domain "${t.domain}"`);
          const r = this.migrate(live, (ok, message) => {
            const fin: TimelineRecord = { atMs: -1, firedAtMs: this.elapsedMs, do: 'migrated', domain: t.domain, ok, message };
            this.timeline.push(fin);
            this.onTimeline?.(fin, live);
          });
          return rec(r.ok, r.message, live);
        }
        case 'relocate': {
          if (!live) return rec(false, `no live domain "${t.domain}"`);
          const r = this.relocate(live, t.pages ?? 0, t.cooperative === true);
          return rec(r.moved > 0 || r.requested === 0, relocationMessage(live, r), live);
        }
        case 'mem-set': {
          if (!live) return rec(false, `no live domain "${t.domain}"`);
          const mib = t.memoryMiB ?? 0;
          const refused = this.memSet(live, mib);
          if (refused) return rec(false, refused, live);
          return rec(true, `${t.domain}: memory/target set to ${mib * 1024} KiB (${mib} MiB); its balloon driver moves from ${pagesMiB(live.balloon!.stats.currentPages)} MiB`, live);
        }
        default: {
          if (!isHotplugAction(t.do)) return rec(false, `unknown action "${t.do}"`);
          if (!live) return rec(false, `no live domain "${t.domain}"`);
          const r = this.hotplugAct(live, timelineHotplug(t));
          return rec(r.ok, r.message, live);
        }
      }
    } catch (e) {
      rec(false, (e as Error).message);
    }
  }

  /**
   * Xen asked to move `pages` of a live domain's memory (the timeline's relocate, xl
   * debug-relocate): translated guests' pages move unseen, a PV guest's only if it cooperates.
   */
  relocate(d: Vm, pages: number, cooperative: boolean): RelocationReport {
    const rng = new Rng((this.scenario.seed * 0x9e3779b1 + d.domid * 7919 + 0x7e10ca7e + (d.relocation?.requested ?? 0)) >>> 0);
    const r = relocate(d, pages, cooperative, rng);
    for (const [from, to] of r.moves) this.integrity?.moved(from, to);
    return r;
  }

  /** The pCPU a domain's vCPU runs on, numbered over both hosts (the target's after the source's). */
  pcpuOf(d: Vm): number {
    const x = d.dom.xen;
    return x === this.xen ? x.pcpus.indexOf(d.mmu) : this.xen.pcpus.length + x.pcpus.indexOf(d.mmu);
  }

  /** Lines the migrations logged (the toolstack's log shows them), in order. */
  readonly migrationLog: string[] = [];
  /** Told of each line a migration logs (its start, each round, the stop-and-copy, the resume). */
  onMigrationLog?: (line: string) => void;

  /**
   * Starts a live migration of `d` to the target host (the timeline's migrate, xl migrate). The
   * rounds then run as simulated time goes on; `done` is told how it ended. A refusal (no
   * target, dom0, devices, a target too small) is a result, never a throw.
   */
  migrate(d: Vm, done?: (ok: boolean, message: string) => void): { ok: boolean; message: string; migration?: LiveMigration } {
    const target = this.target;
    if (!target) return { ok: false, message: 'no migration target: the scenario needs "migrationTarget": {"memoryMiB", "pcpus", "linkMbps"}' };
    if (!this.io) return { ok: false, message: 'live migration needs the simulation\'s event clock' };
    if (!this.domains.includes(d)) return { ok: false, message: `domain ${d.domid} (${d.name}) is not a live domain` };
    if (d.host === 'target') return { ok: false, message: `${d.name} already runs on the target` };
    if (this.migrations.some((m) => m.vm === d && (m.phase === 'precopy' || m.phase === 'stop-and-copy'))) return { ok: false, message: `${d.name} is already migrating` };
    if (this.migrations.some((m) => m.phase === 'precopy' || m.phase === 'stop-and-copy')) return { ok: false, message: 'another migration is under way (the lab sends one domain at a time)' };
    if (d.state === 'paused') return { ok: false, message: `${d.name} is paused: unpause it first` };
    const io = this.io;
    const perMs = this.xen.cpu.clockGHz * 1e6;
    // Domain ids stay unique over both hosts (see Hypervisor.reserveDomidsBelow).
    target.xen.reserveDomidsBelow(this.xen.domidsUsed);
    let m: LiveMigration;
    try {
      m = new LiveMigration(d, target.xen, target.linkMbps, {
        now: () => this.now(),
        cyclesPerMs: perMs,
        at: (at, fn) => io.queue.push(at, fn),
        pause: (vm) => {
          if (vm.state === 'running' || vm.state === 'blocked') vm.state = 'paused';
        },
        moved: (mig) => this.migrated(mig),
        log: (line) => {
          this.migrationLog.push(line);
          this.onMigrationLog?.(line);
        },
        ended: (mig, ok, message) => {
          if (!ok && mig.vm.state === 'paused' && mig.vm.host === 'source') mig.vm.state = 'running';
          done?.(ok, message);
        },
      });
    } catch (e) {
      return { ok: false, message: `migration of ${d.name} refused: ${(e as Error).message}` };
    }
    this.xen.reserveDomidsBelow(target.xen.domidsUsed);
    this.migrations.push(m);
    return { ok: true, message: `domain ${d.domid} (${d.name}): live migration to the target started (${target.linkMbps} Mbit/s link)`, migration: m };
  }

  /** A migration is sending pages or copying: the run goes on until it ends, even with no job left. */
  get migrating(): boolean {
    return this.migrations.some((m) => m.phase === 'precopy' || m.phase === 'stop-and-copy');
  }

  /** The domain now runs on the target: its source domain goes, its scheduling moves over. */
  private migrated(m: LiveMigration): void {
    const vm = m.vm;
    const from = m.engine.from;
    this.io?.detach(vm);
    vm.io = undefined;
    this.sched.remove(from.domid);
    from.xen.destroyDomain(from);
    this.sched.add(vm.domid, this.pcpuOf(vm), vm.config.weight, vm.config.cap);
    const p = this.pcpuOf(vm);
    if (this.pcpuCycles[p]! < this.ioClock) this.pcpuCycles[p] = this.ioClock;
    this.sched.setActive(vm.domid, this.jobs.some((j) => j.d === vm && !j.done));
    this.target!.domains.push(vm);
  }

  /** Pending balloon retries (a delayed work item per domain): domid → event id. */
  private readonly balloonRetries = new Map<number, number>();

  /**
   * A Xen guest's balloon driver, on its xenstore connection (a scenario with the I/O machinery:
   * devices or a timeline). Its delayed work (a retry) is an event that queues kernel work on the
   * domain's vCPU when due.
   */
  private attachBalloon(d: Vm): void {
    const io = this.io;
    if (!io || this.xen.kind !== 'xen' || d.privileged || d.mode === 'native' || !d.io) return;
    // libxl's build (libxl__build_post) writes the domain's memory nodes, in KiB: static-max is its
    // maxmem, target its memory.
    const home = `/local/domain/${d.domid}`;
    io.dom0Xs.write(`${home}/memory/static-max`, String(this.staticMaxKiB(d)));
    io.dom0Xs.write(`${home}/memory/target`, String(d.dom.bootPages * 4));
    attachBalloon(d, d.io.env.xs, (ms, fn) => {
      this.cancelBalloonRetry(d.domid);
      const id = io.queue.push(this.now() + ms * this.xen.cpu.clockGHz * 1e6, () => {
        this.balloonRetries.delete(d.domid);
        io.post(d.domid, fn);
      });
      this.balloonRetries.set(d.domid, id);
    });
  }

  private cancelBalloonRetry(domid: number): void {
    const id = this.balloonRetries.get(domid);
    if (id !== undefined) this.io?.queue.cancel(id);
    this.balloonRetries.delete(domid);
  }

  /**
   * `xl mem-set` (libxl_set_memory_target with enforce, as xl calls it): the new target must not be
   * above memory/static-max (the domain's maxmem); max_pages becomes the target plus libxl's
   * headroom (xc_domain_setmaxmem); memory/target (KiB) is written, and the guest's balloon driver,
   * watching it, moves toward it on its own vCPU. Returns null, or xl's message when refused.
   */
  memSet(d: Vm, targetMiB: number): string | null {
    if (this.xen.kind !== 'xen') return `mem-set needs Xen: hypervisor "${this.xen.kind}" has no balloon`;
    if (!this.domains.includes(d)) return `domain ${d.domid} (${d.name}) is not a live domain`;
    if (!(Number.isInteger(targetMiB) && targetMiB > 0)) return `invalid memory size: ${targetMiB} (a positive whole number of MiB)`;
    if (!this.io || !d.balloon) {
      return d.privileged
        ? `${d.name} is dom0: it is built with all its memory (dom0_mem) and the lab gives it no balloon`
        : `${d.name} has no xenstore connection for its balloon driver: ballooning needs a scenario with a timeline or devices (the guests' xenstore rings)`;
    }
    const xs = this.io.dom0Xs;
    const home = `/local/domain/${d.domid}`;
    const staticMaxKiB = this.staticMaxKiB(d);
    const kib = targetMiB * 1024;
    if (kib > staticMaxKiB) return `memory_dynamic_max must be less than or equal to memory_static_max (${d.name}: static-max ${staticMaxKiB / 1024} MiB, asked ${targetMiB} MiB)`;
    this.xen.setMaxMem(d.dom, kib + MAXMEM_HEADROOM_PAGES * 4);
    xs.write(`${home}/memory/target`, String(kib));
    return null;
  }

  /**
   * `xl mem-max` (libxl_domain_setmaxmem): refused below the current target; otherwise max_pages
   * becomes the new maximum plus libxl's headroom. memory/static-max is not changed (libxl_mem.c).
   */
  memMax(d: Vm, maxMiB: number): string | null {
    if (this.xen.kind !== 'xen') return `mem-max needs Xen: hypervisor "${this.xen.kind}"`;
    if (!this.domains.includes(d)) return `domain ${d.domid} (${d.name}) is not a live domain`;
    if (!(Number.isInteger(maxMiB) && maxMiB > 0)) return `invalid memory size: ${maxMiB} (a positive whole number of MiB)`;
    const targetKiB = (d.balloon?.stats.targetPages ?? d.dom.bootPages) * 4;
    if (maxMiB * 1024 < targetKiB) return `memory_static_max must be greater than or or equal to memory_dynamic_max (${d.name}: target ${targetKiB / 1024} MiB, asked ${maxMiB} MiB)`;
    this.xen.setMaxMem(d.dom, maxMiB * 1024 + MAXMEM_HEADROOM_PAGES * 4);
    return null;
  }

  /** memory/static-max of a domain, in KiB: its maxmem (xl.cfg), as libxl writes it at create. */
  staticMaxKiB(d: Vm): number {
    return d.dom.nrPages * 4;
  }

  /**
   * A device added to or removed from a live domain (the timeline's hot-plug actions and xl's
   * pci-attach, block-detach …: one implementation). A refusal is a result, never a throw.
   */
  hotplugAct(d: Vm, a: HotplugAction): HotplugResult {
    if (!this.hotplug) return { ok: false, message: `${a.do} needs the Xen toolstack and a machine with devices` };
    if (!this.domains.includes(d)) return { ok: false, message: `domain ${d.domid} (${d.name}) is not a live domain` };
    return runHotplug(this.hotplug, d, a);
  }

  /**
   * Runs device and timeline events up to the time every busy pCPU has reached, and the kernel
   * work they queue (interrupt handlers, backends, xenbus), each on its own domain's vCPU with a
   * woken vCPU running first, as the credit scheduler's BOOST does. When nothing can run, time
   * jumps to the next event (the pCPUs idle). Returns true if any job can run.
   */
  private pump(): boolean {
    const io = this.io;
    if (!io) return this.runnable > 0;
    for (let guard = 0; guard < 1_000_000; guard++) {
      const busy = this.busyClock();
      let t = busy;
      if (t === Infinity && this.balloonRetries.size > 0 && this.jobs.every((j) => j.done)) {
        // Every workload has ended: a balloon's pending retry does not keep the run going.
        for (const domid of [...this.balloonRetries.keys()]) this.cancelBalloonRetry(domid);
      }
      if (t === Infinity) {
        // Work queued for a paused domain waits for its unpause: it does not hold time still.
        const canRun = (domid: number) => this.domains.some((d) => d.domid === domid && d.state !== 'paused');
        if (!io.domainsWithWork().some(canRun)) {
          t = io.queue.peekTime();
          // A job parked by its cap runs again at its pCPU's next accounting: time must not jump
          // past that to a later event (idleParked takes it there, running the events before it).
          if (t > this.parkedWake()) return false;
        } else t = this.ioClock;
      }
      if (t === Infinity) return false;
      if (t > this.ioClock) this.ioClock = t;
      const fired = io.queue.runDue(this.ioClock);
      const served = this.serviceIo();
      if (this.busyClock() !== Infinity) return true;
      if (fired === 0 && served === 0 && io.queue.size === 0) return false;
    }
    throw new Error('I/O events did not settle');
  }

  /** The earliest next accounting of a pCPU whose runnable job is parked by its cap (Infinity: none). */
  private parkedWake(): number {
    let t = Infinity;
    for (const j of this.jobs) {
      if (j.done || j.blocked || j.d.state !== 'running' || this.sched.pri(j.d.domid) !== 'parked') continue;
      t = Math.min(t, this.sched.nextAccounting(this.pcpuOf(j.d)));
    }
    return t;
  }

  /** The earliest pCPU clock among pCPUs with a job that can run (Infinity: none). */
  private busyClock(): number {
    let t = Infinity;
    for (const j of this.jobs) {
      if (j.done || j.blocked || j.d.state !== 'running') continue;
      // A domain parked by its cap does not hold time back: its pCPU idles until it may run.
      if (this.sched.pri(j.d.domid) === 'parked') continue;
      const p = this.pcpuOf(j.d);
      const c = this.pcpuCycles[p]!;
      if (c < t) t = c;
    }
    return t;
  }

  /** Runs every domain's queued kernel work on its vCPU; wakes their blocked jobs. */
  private serviceIo(): number {
    const io = this.io!;
    let n = 0;
    for (let round = 0; round < 100_000; round++) {
      const ds = io.domainsWithWork();
      if (ds.length === 0) return n;
      for (const domid of ds) {
        const vm = this.domains.find((d) => d.domid === domid);
        if (!vm || vm.state === 'paused') continue;
        const pcpu = this.switchTo(vm);
        if (this.pcpuCycles[pcpu]! < this.ioClock) this.pcpuCycles[pcpu] = this.ioClock;
        const before = totalCycles(vm.counters);
        const running = { d: vm, pcpu, before };
        this.running = running;
        try {
          // Each item starts no earlier than it was caused (its producer may be on a pCPU ahead).
          n += io.service(vm, (at) => {
            const now = this.pcpuCycles[pcpu]! + (totalCycles(vm.counters) - running.before);
            if (at > now) this.pcpuCycles[pcpu] += at - now;
          });
          if (vm.privileged) io.chargeXenstored(vm);
        } finally {
          this.running = null;
        }
        this.book(vm, pcpu, totalCycles(vm.counters) - before);
        for (const j of this.jobs) if (j.d === vm) j.blocked = false;
      }
      if (ds.every((domid) => this.domains.find((d) => d.domid === domid)?.state === 'paused')) return n;
    }
    throw new Error('kernel work did not settle');
  }

  /** The host clock: simulated cycles of the busiest pCPU since the machine started. Never goes back. */
  get cycles(): number {
    const p = this.pcpuCycles;
    let m = 0;
    for (let i = 0; i < p.length; i++) if (p[i]! > m) m = p[i]!;
    return m;
  }

  /**
   * Operations each job runs before pausing inside its slice (Infinity: whole slices). Changes no
   * result: the jobs still take turns at the same points (see PART in workloads/index.ts).
   */
  setGrain(ops: number): void {
    const n = ops === Infinity ? Infinity : Math.max(1, Math.floor(ops));
    for (const j of this.jobs) j.grain.ops = n;
    this.grainOps = n;
  }

  /** Sets each job's grain so its planned work takes about `pieces` pauses (at most whole slices). */
  setGrainByPlan(pieces: number): void {
    this.grainOps = Infinity;
    for (const j of this.jobs) j.grain.ops = j.planned > 0 ? Math.max(1, Math.floor(j.planned / pieces)) : Infinity;
    this.grainPieces = pieces;
  }

  private grainOps = Infinity;
  private grainPieces = 0;

  private grainFor(planned: number): number {
    if (this.grainPieces > 0) return planned > 0 ? Math.max(1, Math.floor(planned / this.grainPieces)) : Infinity;
    return this.grainOps;
  }

  /** Machine frames the allocator has free, and the same in whole MiB (`xl info` free_memory). */
  get freeFrames(): number {
    return this.xen.freeFrames;
  }
  get freeMiB(): number {
    return Math.floor(this.xen.freeFrames / 256);
  }
  get totalMiB(): number {
    return this.scenario.machine.memoryMiB;
  }

  /** Books a freshly built domain's boot on its pCPU, then restarts its counters. */
  private booted(vm: Vm): void {
    const d = vm.dom;
    const boot = totalCycles(d.counters);
    d.createdAt = this.cycles;
    d.bootCycles = boot;
    d.cpuCycles = boot;
    this.pcpuCycles[this.pcpuOf(vm)] += boot;
    d.counters.reset();
    this.xen.kvm?.vm(d.domid)?.resetStats();
  }

  /**
   * Builds and boots a domain while the simulation runs (`xl create`) and starts its workload.
   * Throws DomainConfigError when the config is invalid for this machine and hypervisor, the
   * name is taken, or its memory (plus what Xen needs for its paging) does not fit in free frames.
   */
  createDomain(input: DomainInput): Vm {
    const cfg = checkNewDomain(input, this.scenario, this.domains, this.xen, this.io ? (d) => [...this.io!.owner].filter(([, o]) => o === d.name).map(([id]) => id) : undefined);
    // libxl_device_pci_add at create: every device its pci names must be assignable.
    const pci = this.hotplug?.pciProblems(cfg) ?? [];
    if (pci.length > 0) throw new DomainConfigError(cfg.name, pci);
    const d = buildDomain(this.xen, cfg);
    this.booted(d);
    this.domains.push(d);
    this.sched.add(d.domid, this.pcpuOf(d), cfg.weight, cfg.cap);
    this.io?.attach(d);
    this.attachBalloon(d);
    this.integrity?.add(d);
    this.startJob(d, cfg.workload);
    return d;
  }

  /**
   * Destroys a domain: its jobs end, it leaves `domains`, and every frame it owned, with the
   * frames Xen held for it, goes back to the heap (Hypervisor.destroyDomain). Returns how many.
   */
  destroyDomain(d: Vm): { guestFrames: number; xenFrames: number } {
    this.mustBeLive(d);
    const mig = this.migrations.find((m) => m.vm === d && (m.phase === 'precopy' || m.phase === 'stop-and-copy'));
    if (mig) mig.cancel('the domain was destroyed');
    this.cancelBalloonRetry(d.domid);
    if (d.host === 'source') this.io?.detach(d);
    else this.target!.domains.splice(this.target!.domains.indexOf(d), 1);
    for (let i = this.jobs.length - 1; i >= 0; i--) {
      if (this.jobs[i]!.d !== d) continue;
      this.jobs[i]!.done = true;
      this.jobs.splice(i, 1);
    }
    const freed = d.dom.xen.destroyDomain(d.dom);
    this.domains.splice(this.domains.indexOf(d), 1);
    this.sched.remove(d.domid);
    return freed;
  }

  /** A paused domain keeps its memory and state; its jobs do not advance until it is unpaused. */
  pauseDomain(d: Vm): void {
    this.mustBeLive(d);
    if (d.state === 'running' || d.state === 'blocked') d.state = 'paused';
  }

  /**
   * The state a user sees (xl list, the run view): a running guest with no workload left sits in
   * its idle loop, blocked; dom0 counts as running (it runs the toolstack).
   */
  visibleState(d: Vm): DomainState {
    if (d.state !== 'running' || d.privileged) return d.state;
    for (const j of this.jobs) if (j.d === d && !j.done) return 'running';
    return 'blocked';
  }

  unpauseDomain(d: Vm): void {
    this.mustBeLive(d);
    if (d.state === 'paused') d.state = 'running';
  }

  /** Ends a job before its workload does (Ctrl-C); it leaves `jobs`. */
  stopJob(job: Job): void {
    job.done = true;
    const i = this.jobs.indexOf(job);
    if (i >= 0) this.jobs.splice(i, 1);
    if (!this.jobs.some((j) => j.d === job.d && !j.done)) this.sched.setActive(job.d.domid, false);
    if (this.partJob === job) this.partJob = null;
  }

  /**
   * Runs `fn` on `d`'s vCPU, outside any job's slice (toolstack work such as reaping a stopped
   * workload's processes): its pCPU is switched to it and the cycles are booked to it.
   */
  onVcpu<T>(d: Vm, fn: () => T): T {
    this.mustBeLive(d);
    const pcpu = this.switchTo(d);
    const before = totalCycles(d.counters);
    try {
      return fn();
    } finally {
      this.book(d, pcpu, totalCycles(d.counters) - before);
    }
  }

  private mustBeLive(d: Vm): void {
    if (!this.domains.includes(d)) throw new Error(`domain ${d.domid} (${d.name}) is not a live domain`);
  }

  private book(d: Vm, pcpu: number, cycles: number): void {
    if (cycles <= 0) return;
    d.dom.cpuCycles += cycles;
    this.pcpuCycles[pcpu] += cycles;
    this.sched.burn(d.domid, cycles);
  }

  /**
   * Whether the credit scheduler lets `job` take its slice now: a parked domain (over its cap)
   * waits for the next accounting; an OVER one waits while an UNDER job of its pCPU can run.
   */
  private mayRun(job: Job): boolean {
    if (job === this.partJob) return true;
    const p = this.pcpuOf(job.d);
    this.sched.account(p, this.pcpuCycles[p]!);
    let pri = this.sched.pri(job.d.domid);
    if (pri === 'parked') {
      // Parked, and nothing else of this pCPU can run: the pCPU idles while the others' time goes
      // on (up to the earliest busy pCPU, whose events have run), and at most to its next accounting.
      let others = false;
      for (const j of this.jobs) {
        if (j !== job && !j.done && !j.blocked && j.d.state === 'running' && j.d.mmu === job.d.mmu && this.sched.pri(j.d.domid) !== 'parked') others = true;
      }
      // With no busy pCPU at all, idleParked lets time pass instead, running I/O events on the way.
      const busy = this.busyClock();
      const t = Math.min(this.sched.nextAccounting(p), busy);
      if (!others && busy !== Infinity && t > this.pcpuCycles[p]!) {
        this.pcpuCycles[p] = t;
        this.sched.account(p, t);
        pri = this.sched.pri(job.d.domid);
      }
      if (pri === 'parked') return false;
    }
    if (pri === 'under') return true;
    for (const j of this.jobs) {
      if (j === job || j.done || j.blocked || j.d.state !== 'running' || j.d.mmu !== job.d.mmu) continue;
      if (this.sched.pri(j.d.domid) === 'under') return false;
    }
    return true;
  }

  /**
   * Every runnable job is parked by its cap. Time goes on to the earliest next accounting of their
   * pCPUs: device and timeline events due before it run (and the kernel work they cause, which may
   * wake a job that is not capped: then that job runs first); then those pCPUs idle up to it. True
   * if anything moved.
   */
  private idleParked(): boolean {
    let until = Infinity;
    for (const j of this.jobs) {
      if (j.done || j.blocked || j.d.state !== 'running' || this.sched.pri(j.d.domid) !== 'parked') continue;
      until = Math.min(until, this.sched.nextAccounting(this.pcpuOf(j.d)));
    }
    if (until === Infinity) return false;
    const io = this.io;
    if (io) {
      for (let guard = 0; guard < 1_000_000; guard++) {
        if (io.domainsWithWork().length > 0 && this.serviceIo() > 0 && this.busyClock() !== Infinity) return true;
        const t = io.queue.peekTime();
        if (t >= until) break;
        if (t > this.ioClock) this.ioClock = t;
        io.queue.runDue(this.ioClock);
        this.serviceIo();
        if (this.busyClock() !== Infinity) return true;
      }
      if (until > this.ioClock) this.ioClock = until;
    }
    // The pCPUs whose accounting comes first idle up to it; it runs (their parked domains' use
    // starts afresh), so the next round has something to run.
    for (let p = 0; p < this.pcpuCycles.length; p++) {
      if (this.sched.nextAccounting(p) !== until) continue;
      if (this.pcpuCycles[p]! < until) this.pcpuCycles[p] = until;
      this.sched.account(p, until);
    }
    return true;
  }

  /**
   * Starts `workload` in `d` (its counters restart when the workload's setup ends). With
   * `repeat` (the scenario's jobs when the simulation repeats until stopped) a workload that does
   * work starts afresh each time it ends.
   */
  startJob(d: Vm, workload: Workload, repeat = false): Job {
    const planned = plannedOps(workload);
    const grain: Grain = { ops: this.grainFor(planned) };
    const job: Job = {
      d,
      workload,
      planned,
      gen: runWorkload(workload, { vm: d, rng: new Rng((this.scenario.seed * 0x9e3779b1 + d.domid * 7919) >>> 0), guestPageSize: d.config.guestPageSize, grain, domain: (name) => this.domains.find((v) => v.name === name) }),
      done: false,
      runs: 1,
      grain,
    };
    if (repeat && planned > 0) job.gen = this.repeating(job, job.gen);
    this.jobs.push(job);
    this.sched.setActive(d.domid, true);
    return job;
  }

  /** The first run, then fresh runs of the same workload until the job is stopped. */
  private *repeating(job: Job, first: Generator<WorkloadStep, void, void>): Generator<WorkloadStep, void, void> {
    const d = job.d;
    const k = d.kernel;
    const pidsBefore = new Set(k.procs.keys());
    yield* first;
    for (;;) {
      // The run that ended leaves no process behind (as its shell would reap it). That teardown,
      // like the next run's setup, is not measured (the first run's never happens).
      const saved = saveCounters(d.counters);
      for (const p of [...k.procs.values()]) if (!pidsBefore.has(p.pid)) k.exit(p);
      job.runs++;
      const rng = new Rng((this.scenario.seed * 0x9e3779b1 + d.domid * 7919 + job.runs * 0x85ebca6b) >>> 0);
      const gen = runWorkload(job.workload, { vm: d, rng, guestPageSize: d.config.guestPageSize, grain: job.grain, domain: (name) => this.domains.find((v) => v.name === name) });
      for (;;) {
        const r = gen.next();
        if (r.done) break;
        if (r.value === MEASURE) {
          // This run's setup is not measured: the counters go back to where it began.
          restoreCounters(d.counters, saved);
          yield PROGRESS;
        } else yield r.value;
      }
    }
  }

  /** Jobs still to run, of domains that can run. */
  get runnable(): number {
    let n = 0;
    for (const j of this.jobs) if (!j.done && !j.blocked && j.d.state === 'running') n++;
    return n;
  }

  get live(): number {
    let n = 0;
    for (const j of this.jobs) if (!j.done) n++;
    return n;
  }

  /**
   * Runs up to `rounds` scheduling rounds: each gives every runnable job one slice on its pCPU.
   * Returns true while work remains. `shouldStop` is asked after every slice.
   */
  step(rounds = 1, shouldStop?: () => boolean): boolean {
    const jobs = this.jobs;
    for (let r = 0; r < rounds; r++) {
      let ran = false;
      while (this.roundPos < jobs.length) {
        if (this.io) this.pump();
        const job = jobs[this.roundPos]!;
        if (job.done || job.blocked || job.d.state !== 'running' || !this.mayRun(job)) {
          this.roundPos++;
          continue;
        }
        ran = true;
        // A slice that paused inside (PART) goes on at the next step, before any other job.
        if (!this.slice(job)) {
          this.partJob = job;
          return true;
        }
        this.partJob = null;
        this.roundPos++;
        if (shouldStop?.()) {
          this.roundPos = 0;
          return this.live > 0;
        }
      }
      this.roundPos = 0;
      if (!ran && this.runnable > 0 && this.idleParked()) continue;
      if (!ran) {
        // Every job waits for I/O: let time pass to the next event; if none can come, they stall.
        if (this.io && (this.live > 0 || this.migrating) && this.pump()) continue;
        if (this.io) this.stallBlocked();
        break;
      }
    }
    return this.runnable > 0 || (this.io !== null && this.jobs.some((j) => !j.done && j.blocked)) || this.migrating;
  }

  /** Jobs blocked with nothing left that could wake them end (their results say how far they got). */
  private stallBlocked(): void {
    for (const j of this.jobs) {
      if (j.done || !j.blocked) continue;
      j.done = true;
      this.timeline.push({ atMs: -1, firedAtMs: (this.ioClock - this.origin) / (this.xen.cpu.clockGHz * 1e6), do: 'stall', domain: j.d.name, ok: false, message: `${j.d.name}'s ${j.workload.kind} waited for I/O that can no longer come (no backend, no event pending): it stops after ${j.d.counters.c[C.Ops]} of ${j.planned} ops` });
    }
  }

  /** Runs `job` until its next yield; false when it paused inside its slice (PART). */
  private slice(job: Job): boolean {
    const d = job.d;
    const pcpu = this.switchTo(d);
    if (this.io && this.pcpuCycles[pcpu]! < this.ioClock) this.pcpuCycles[pcpu] = this.ioClock;
    const before = totalCycles(d.counters);
    this.running = { d, pcpu, before };
    let r: IteratorResult<WorkloadStep, void>;
    try {
      r = job.gen.next();
    } finally {
      this.running = null;
    }
    this.book(d, pcpu, totalCycles(d.counters) - before);
    if (r.done) {
      job.done = true;
      if (!this.jobs.some((j) => j.d === d && !j.done)) this.sched.setActive(d.domid, false);
      if (d.io && d.io.stats.endedAt < 0 && d.io.stats.startedAt >= 0) d.io.stats.endedAt = this.pcpuCycles[pcpu]!;
    } else if (r.value === MEASURE) {
      d.counters.reset();
      this.xen.kvm?.vm(d.domid)?.resetStats();
      if (d.io) d.io.stats.startedAt = this.pcpuCycles[pcpu]!;
    } else if (r.value === PART) return false;
    else if (r.value === BLOCK) job.blocked = true;
    return true;
  }

  /** Puts `d`'s vCPU on its pCPU (the hypervisor's context_switch); returns the pCPU's index. */
  private switchTo(d: Vm): number {
    const x = d.dom.xen;
    return x.contextSwitch(d.dom) + (x === this.xen ? 0 : this.xen.pcpus.length);
  }

  /** Progress over every job started so far. */
  progress(): Progress {
    let planned = 0;
    let ops = 0;
    let cycles = 0;
    let runs = 1;
    for (const j of this.jobs) {
      planned += j.planned;
      if (j.runs > runs) runs = j.runs;
    }
    for (const d of this.domains) {
      ops += d.counters.c[C.Ops];
      cycles = Math.max(cycles, totalCycles(d.counters));
    }
    return { fraction: planned > 0 ? Math.min(1, ops / planned) : 1, ops, simulatedCycles: cycles, runs };
  }

  /** Audits and reports; the simulation stays usable afterwards. */
  results(wallMs = 0): Results {
    const s = this.scenario;
    const a = auditMachine(this.xen, this.domains.filter((d) => d.host === 'source'));
    const t = this.target;
    const ta = t ? auditMachine(t.xen, [t.dom0, ...t.domains]) : null;
    if (ta) {
      a.ok = a.ok && ta.ok;
      a.violations = [...a.violations, ...ta.violations.map((v) => `target: ${v}`)];
    }
    const perPcpu = new Map<number, number>();
    for (const d of this.domains) {
      const pc = this.pcpuOf(d);
      perPcpu.set(pc, (perPcpu.get(pc) ?? 0) + totalCycles(d.counters));
    }
    const cpu = this.xen.cpu;
    const simulatedCycles = this.io ? this.cycles - this.origin : Math.max(0, ...perPcpu.values());
    return {
      scenario: s.name,
      seed: s.seed,
      hypervisor: s.hypervisor,
      machine: { memoryMiB: s.machine.memoryMiB, pcpus: s.machine.pcpus },
      cpu: { profile: cpu.id, label: cpu.label, clockGHz: cpu.clockGHz },
      domains: this.domains.map((d) => ({
        ...domainResults(d),
        ...(this.io && d.io ? { io: ioResults(this.io, d, cpu.clockGHz, this.xen.costs) } : {}),
        ...(this.integrity && d.host === 'source' ? { integrity: this.integrity.check(d) } : {}),
        ...(t ? { host: d.host } : {}),
        ...(d.migration ? { migration: d.migration } : {}),
      })),
      ...(t && ta
        ? { migrationTarget: { memoryMiB: t.memoryMiB, pcpus: t.xen.pcpus.length, linkMbps: t.linkMbps, freeMiB: Math.floor(t.xen.freeFrames / 256), domains: t.domains.map((d) => d.name), audit: ta } }
        : {}),
      ...(this.io ? { timeline: this.timeline, devices: this.io.deviceResults() } : {}),
      audit: a,
      iommu: this.xen.iommu ? this.xen.iommu.summary() : { enabled: false, faults: 0, iotlbFlushes: 0 },
      simulatedCycles,
      simulatedMs: simulatedCycles / (cpu.clockGHz * 1e6),
      wallMs,
      version: VERSION,
    };
  }
}

/** A timeline entry's hot-plug action, from its fields (ioProblems checked them). */
function timelineHotplug(t: TimelineEntry): HotplugAction {
  switch (t.do) {
    case 'block-attach':
      return { do: t.do, disk: t.disk! };
    case 'block-detach':
      return { do: t.do, vdev: t.vdev! };
    case 'network-attach':
      return { do: t.do, vif: t.vif! };
    case 'network-detach':
      return { do: t.do, ...(t.devid !== undefined ? { devid: t.devid } : {}), ...(t.mac !== undefined ? { mac: t.mac } : {}) };
    default:
      return { do: t.do as 'pci-attach' | 'pci-detach', device: t.device! };
  }
}

/** The migration target host: its Xen, its dom0 (default), the domains migrated to it, the link. */
export interface TargetHost {
  readonly xen: Hypervisor;
  readonly dom0: Vm;
  readonly domains: Vm[];
  readonly memoryMiB: number;
  readonly linkMbps: number;
}

/** The second host of scenario.migrationTarget: the same CPU, its own memory and pCPUs, no devices, a default dom0. */
function buildTarget(s: Scenario, mt: MigrationTarget): TargetHost {
  const ts: Scenario = { ...s, machine: { ...s.machine, memoryMiB: mt.memoryMiB, pcpus: mt.pcpus, devices: [] }, domains: [DEFAULT_DOM0] };
  delete ts.timeline;
  delete ts.migrationTarget;
  const xen = new Hypervisor(ts, costsOf(s), mmuConfigOf(s));
  const dom0 = buildDomain(xen, DEFAULT_DOM0);
  dom0.host = 'target';
  return { xen, dom0, domains: [], memoryMiB: mt.memoryMiB, linkMbps: mt.linkMbps };
}

/** A scenario with devices, virtual disks, a timeline or a migration target runs with the I/O machinery (its event clock). */
export function needsIo(s: Scenario): boolean {
  return s.migrationTarget !== undefined || (s.machine.devices?.length ?? 0) > 0 || (s.timeline?.length ?? 0) > 0 || s.domains.some((d) => (d.disks?.length ?? 0) > 0 || (d.vifs?.length ?? 0) > 0 || (d.pci?.length ?? 0) > 0);
}

/** The machine's TLBs and caches: its CPU profile's, with `machine.mmu` on top. */
export function mmuConfigOf(s: Scenario): MmuConfig {
  const m = s.machine.mmu ?? {};
  const d = cpuProfile(s.machine.cpu).mmu;
  return {
    tlb4k: { ...d.tlb4k, ...m.tlb4k },
    tlb2m: { ...d.tlb2m, ...m.tlb2m },
    tlb1g: { ...d.tlb1g, ...m.tlb1g },
    psc: { ...d.psc, ...m.psc },
    nestedTlb: { ...d.nestedTlb, ...m.nestedTlb },
    dataCache: { ...d.dataCache, ...m.dataCache },
  };
}

/** The cost table: the CPU profile's, with `machine.costs` on top. */
export function costsOf(s: Scenario): CostTable {
  const out: CostTable = { ...cpuProfile(s.machine.cpu).costs };
  for (const [k, v] of Object.entries(s.machine.costs ?? {})) {
    if (typeof v === 'number') (out as unknown as Record<string, number>)[k] = v;
  }
  return out;
}

/** The domains a scenario boots, dom0 first (created with defaults under Xen if not listed). */
export function domainsOf(s: Scenario): DomainConfig[] {
  const listed = s.domains;
  const dom0 = listed.find((d) => d.role === 'dom0');
  const guests = listed.filter((d) => d.role !== 'dom0');
  if (s.hypervisor !== 'xen') return guests;
  return [dom0 ?? DEFAULT_DOM0, ...guests];
}

export function domainResults(d: Vm, clockGHz = d.dom.xen.cpu.clockGHz): DomainResults {
  const k = d.counters;
  const c = k.c;
  const ops = c[C.Ops];
  const tot = totalCycles(k);
  const walks = c[C.Walks];
  let hist = Array.from(k.walkHist);
  while (hist.length > 1 && hist[hist.length - 1] === 0) hist = hist.slice(0, -1);
  const byReason: Record<string, number> = {};
  VMEXIT_REASONS.forEach((r, i) => {
    if (k.vmexits[i] > 0) byReason[r] = k.vmexits[i];
  });
  const byOp: Record<string, number> = {};
  HYPERCALL_OPS.forEach((o, i) => {
    if (k.hypercalls[i] > 0) byOp[o] = k.hypercalls[i];
  });
  return {
    name: d.name,
    domid: d.domid,
    role: d.config.role,
    mode: d.mode,
    workload: d.config.workload.kind,
    guestPageSize: d.config.guestPageSize,
    hostPageSize: d.config.hostPageSize,
    ops,
    cycles: {
      total: tot,
      guest: c[C.CycGuest],
      hypervisor: c[C.CycHv],
      walk: c[C.CycWalk],
      perOp: ops > 0 ? tot / ops : 0,
    },
    timeUs: {
      total: tot / (clockGHz * 1000),
      guest: c[C.CycGuest] / (clockGHz * 1000),
      hypervisor: c[C.CycHv] / (clockGHz * 1000),
      perOp: ops > 0 ? tot / ops / (clockGHz * 1000) : 0,
    },
    tlb: {
      lookups: c[C.TlbLookups],
      hits: c[C.TlbHits],
      misses: c[C.TlbMisses],
      missRate: c[C.TlbLookups] > 0 ? c[C.TlbMisses] / c[C.TlbLookups] : 0,
    },
    walk: {
      walks,
      refs: c[C.WalkRefs],
      refsPerWalk: walks > 0 ? c[C.WalkRefs] / walks : 0,
      maxRefs: k.walkMaxRefs,
      refsCached: c[C.WalkRefsCached],
      refsMemory: c[C.WalkRefsMemory],
      pscHits: c[C.PscHits],
      nestedTlbHits: c[C.NtlbHits],
      histogram: hist,
    },
    vmexits: { total: c[C.VmExits], byReason },
    hypercalls: { total: c[C.Hypercalls], byOp },
    ptUpdates: c[C.PtUpdates],
    pageFaults: { guest: c[C.PfGuest], hidden: c[C.PfHidden] },
    counters: k.snapshot(),
    ...(d.scriptCalls ? { calls: d.scriptCalls } : {}),
    ...(d.relocation ? { relocation: { ...d.relocation } } : {}),
    ...(d.balloon?.used ? { balloon: balloonResult(d.balloon.stats) } : {}),
    ...kvmResults(d),
  };
}

/** Under KVM, the guest's qemu and its host-side counts (results' `kvm`). */
function kvmResults(d: Vm): { kvm?: KvmResults } {
  const q = d.dom.xen.kvm?.vm(d.domid);
  if (!q) return {};
  const slot = q.slots[0]!;
  return {
    kvm: {
      qemuPid: q.proc.pid,
      cmdline: q.proc.cmdline,
      rssPages: q.proc.mm.rssPages,
      memslot: { baseGfn: slot.baseGfn, npages: slot.npages, userspaceAddr: slot.userspaceAddr },
      ...q.stats,
      io: { ...q.io },
    },
  };
}

/** One line for the timeline and the console: what a relocate request did, and why pages stayed. */
export function relocationMessage(d: Vm, r: RelocationReport): string {
  const why = r.reasons.map((x) => `${x.pages} refused: ${x.why}`).join('; ');
  return `domain ${d.domid} (${d.name}): ${r.moved} of ${r.requested} page${r.requested === 1 ? '' : 's'} moved to new machine frames${why ? `; ${why}` : ''}`;
}

/** A balloon driver's figures for the results (1 MiB = 256 pages). */
export function balloonResult(b: BalloonStats): BalloonResult {
  return { targetMiB: pagesMiB(b.targetPages), currentMiB: pagesMiB(b.currentPages), pagesReleased: b.pagesReleased, pagesReclaimed: b.pagesReclaimed, hypercalls: b.hypercalls };
}

/** Pages as MiB (256 to a MiB), with up to two decimals. */
function pagesMiB(pages: number): number {
  return Math.round((pages / 256) * 100) / 100;
}

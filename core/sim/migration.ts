/**
 * Live migration's clock and policy: iterative pre-copy (Clark et al., "Live Migration of Virtual
 * Machines", NSDI 2005; libxenguest's send_memory_live in tools/libs/guest/xg_sr_save.c), driven
 * by timed events while the guest keeps running its workload on the source.
 *
 *  - Round 1 sends every page; round k sends the pages the guest dirtied during round k-1 (the
 *    log-dirty bitmap, XEN_DOMCTL_SHADOW_OP_CLEAN at each round's end). A round takes its stream's
 *    bytes over the link: simulated time = bytes × 8 / linkMbps (the stream's PAGE_DATA records,
 *    core/vm/migrate.ts). The pages are read at the round's start; what the guest writes after
 *    is in the next round's bitmap.
 *  - After each round the policy decides (xg_sr_save.c's simple_precopy_policy): stop and copy
 *    when fewer than SPP_TARGET_DIRTY_COUNT (50) pages are dirty, or when SPP_MAX_ITERATIONS (5)
 *    rounds have gone; and, as Clark et al. argue (pre-copy pays only while each round's dirty
 *    set is smaller than the last; a guest that dirties pages at least as fast as the link sends
 *    them will not converge), from round 2 on when the guest dirtied at least as many pages during
 *    the round as the round sent (round 1 sends all memory, so it is not judged so).
 *  - Stop-and-copy: the domain is paused, its last dirty pages and the vCPU state go over the
 *    link; that time is the downtime. Then the domain resumes on the target and is destroyed on
 *    the source.
 */
import type { MigrationResults, MigrationRound } from '../api/results.js';
import { DomainMigration, pageStreamBytes, VCPU_STATE_BYTES } from '../vm/migrate.js';
import type { Hypervisor } from '../hv/hypervisor.js';
import type { Vm } from '../vm/vm.js';

/** simple_precopy_policy's limits (tools/libs/guest/xg_sr_save.c). */
export const SPP_MAX_ITERATIONS = 5;
export const SPP_TARGET_DIRTY_COUNT = 50;

/** What the migration needs from the simulation that runs it. */
export interface MigrationClock {
  /** Simulated cycles now. */
  now(): number;
  readonly cyclesPerMs: number;
  /** Runs `fn` when simulated time reaches `at` (cycles). */
  at(at: number, fn: () => void): void;
  /** The domain is paused (stop-and-copy). */
  pause(vm: Vm): void;
  /** The domain runs on the target now: the simulation moves its bookkeeping and destroys the source domain. */
  moved(m: LiveMigration): void;
  /** A line for dom0's console and the timeline. */
  log(line: string): void;
  /** The migration ended (done or failed). */
  ended(m: LiveMigration, ok: boolean, message: string): void;
}

export type MigrationPhase = 'precopy' | 'stop-and-copy' | 'done' | 'failed';

export class LiveMigration {
  phase: MigrationPhase = 'precopy';
  readonly rounds: MigrationRound[] = [];
  readonly engine: DomainMigration;
  readonly startedAt: number;
  private roundStart = 0;
  private roundPages = 0;
  private bytes = 0;
  private faults = 0;
  stopReason = '';
  /** Set when the domain paused: the source's memory by pfn at that moment is what the target must hold. */
  pausedAt = -1;
  readonly fromDomid: number;

  constructor(
    readonly vm: Vm,
    target: Hypervisor,
    readonly linkMbps: number,
    private readonly clock: MigrationClock,
  ) {
    this.fromDomid = vm.domid;
    this.engine = new DomainMigration(vm, target);
    this.startedAt = clock.now();
    const all: number[] = [];
    for (let pfn = 0; pfn < vm.dom.p2m.length; pfn++) if (vm.dom.p2m[pfn]! >= 0) all.push(pfn);
    clock.log(`migrate ${vm.name}: log-dirty on, ${all.length} pages to send over ${linkMbps} Mbit/s`);
    this.sendRound(all);
  }

  /** Simulated ms the link takes for `bytes`. */
  private linkMs(bytes: number): number {
    return (bytes * 8) / (this.linkMbps * 1000);
  }

  private sendRound(pfns: number[]): void {
    try {
      this.engine.send(pfns);
    } catch (e) {
      return this.fail((e as Error).message);
    }
    const bytes = pageStreamBytes(pfns.length);
    this.bytes += bytes;
    this.roundStart = this.clock.now();
    this.roundPages = pfns.length;
    const ms = this.linkMs(bytes);
    this.clock.at(this.roundStart + ms * this.clock.cyclesPerMs, () => this.roundEnded(bytes));
  }

  private roundEnded(bytes: number): void {
    if (this.phase !== 'precopy') return;
    const ms = (this.clock.now() - this.roundStart) / this.clock.cyclesPerMs;
    const { pfns, faults } = this.engine.dirty();
    this.faults += faults;
    const dirtyRate = ms > 0 ? (pfns.length * 4096 * 8) / (ms * 1000) : 0;
    const round: MigrationRound = { pages: this.roundPages, ms, mbps: ms > 0 ? (bytes * 8) / (ms * 1000) : 0, dirtyRate };
    this.rounds.push(round);
    this.clock.log(`migrate ${this.vm.name}: round ${this.rounds.length}: ${round.pages} pages in ${round.ms.toFixed(1)} ms; ${pfns.length} dirtied meanwhile (${dirtyRate.toFixed(0)} Mbit/s)`);
    let why = '';
    if (pfns.length < SPP_TARGET_DIRTY_COUNT) why = `fewer than ${SPP_TARGET_DIRTY_COUNT} pages dirty (${pfns.length})`;
    else if (this.rounds.length >= SPP_MAX_ITERATIONS) why = `${SPP_MAX_ITERATIONS} rounds done (SPP_MAX_ITERATIONS)`;
    else if (this.rounds.length >= 2 && pfns.length >= this.roundPages) {
      why = `the guest dirtied ${pfns.length} pages while ${this.roundPages} were sent (${dirtyRate.toFixed(0)} Mbit/s against the link's ${this.linkMbps}): another round would not shrink the dirty set`;
    }
    if (!why) return this.sendRound(pfns);
    this.stopReason = why;
    this.stopAndCopy(pfns);
  }

  private stopAndCopy(dirty: number[]): void {
    this.phase = 'stop-and-copy';
    this.clock.pause(this.vm);
    this.pausedAt = this.clock.now();
    this.onPause?.(this);
    const extra = this.engine.retyped();
    const seen = new Set(dirty);
    const pfns = [...dirty, ...extra.filter((p) => !seen.has(p))];
    try {
      this.engine.send(pfns);
    } catch (e) {
      return this.fail((e as Error).message);
    }
    const bytes = pageStreamBytes(pfns.length) + VCPU_STATE_BYTES;
    this.bytes += bytes;
    const ms = this.linkMs(bytes);
    this.rounds.push({ pages: pfns.length, ms, mbps: ms > 0 ? (bytes * 8) / (ms * 1000) : 0, dirtyRate: 0 });
    this.clock.log(`migrate ${this.vm.name}: stop-and-copy (${this.stopReason}): domain paused, ${pfns.length} pages and the vCPU state in ${ms.toFixed(1)} ms`);
    this.clock.at(this.pausedAt + ms * this.clock.cyclesPerMs, () => this.resume());
  }

  /** Called when the domain pauses for the stop-and-copy (tests look at the source's memory then). */
  onPause?: (m: LiveMigration) => void;
  /** Called when the domain is rebuilt on the target, before it runs there (or the source is destroyed). */
  onResumed?: (m: LiveMigration) => void;
  /** The domain's pause: from the stop-and-copy's start to its resumption on the target (simulated ms). */
  downtimeMs = 0;

  private resume(): void {
    if (this.phase !== 'stop-and-copy') return;
    try {
      this.engine.resume();
    } catch (e) {
      return this.fail((e as Error).message);
    }
    this.phase = 'done';
    this.downtimeMs = (this.clock.now() - this.pausedAt) / this.clock.cyclesPerMs;
    this.onResumed?.(this);
    this.clock.moved(this);
    const r = this.results();
    this.vm.migration = r;
    this.clock.log(`migrate ${this.vm.name}: running on the target as domain ${r.toDomid} after ${r.totalMs.toFixed(1)} ms (downtime ${r.downtimeMs.toFixed(1)} ms, ${r.rounds} rounds, ${r.pagesSent} pages)`);
    this.clock.ended(this, true, `domain ${r.fromDomid} (${this.vm.name}) migrated: ${r.rounds} rounds, ${r.pagesSent} pages, ${r.totalMs.toFixed(1)} ms, downtime ${r.downtimeMs.toFixed(1)} ms; domain ${r.toDomid} on the target`);
  }

  /** The domain went away (destroyed) while it migrated: the target's copy is torn down. */
  cancel(reason: string): void {
    if (this.phase !== 'precopy' && this.phase !== 'stop-and-copy') return;
    this.fail(reason);
  }

  /** The source copy goes on (xl migrate leaves the domain running when a migration fails: `ended` unpauses it). */
  private fail(message: string): void {
    this.phase = 'failed';
    this.engine.abort();
    this.clock.log(`migrate ${this.vm.name}: failed: ${message}`);
    this.clock.ended(this, false, `migration of ${this.vm.name} failed: ${message}`);
  }

  results(): MigrationResults {
    const end = this.phase === 'done' ? this.clock.now() : this.startedAt;
    return {
      rounds: this.rounds.length,
      pagesSent: this.rounds.reduce((a, r) => a + r.pages, 0),
      totalMs: (end - this.startedAt) / this.clock.cyclesPerMs,
      downtimeMs: this.phase === 'done' ? this.downtimeMs : 0,
      perRound: this.rounds.map((r) => ({ ...r })),
      bytesSent: this.bytes,
      logDirtyFaults: this.faults,
      stopReason: this.stopReason,
      fromDomid: this.fromDomid,
      toDomid: this.engine.to.domid,
    };
  }
}

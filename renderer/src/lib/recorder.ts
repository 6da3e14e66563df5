/**
 * Saves a live run as it goes: begins a run record when a session boots, appends metric points
 * and console output in batches (once a second), and marks it finished, cancelled or failed. If
 * the app dies mid-run, what was flushed stays, and the store marks the run interrupted.
 *
 * While a run goes, the recorder renews its lease on the host (every LEASE_RENEW_MS, or a third
 * of a shorter lease; an append renews it too). A page that goes away (tab closed, reloaded,
 * crashed) stops renewing, and the host marks the run interrupted once the lease runs out.
 */
import { DEFAULT_LEASE_MS, LEASE_RENEW_MS, type ConsoleChunk, type HostApi, type PagingMode, type SeriesPoint, type WorkerEvent } from '../../../core/api/index.js';
import type { SimWorker } from './simWorker.svelte.js';

export interface RecorderHooks {
  onSaved(id: number): void;
  onError(message: string): void;
}

export class RunRecorder {
  private runId: Promise<number | null> | null = null;
  /** How often to renew the current run's lease, and when it was last renewed (Date.now()). */
  private renewEvery = LEASE_RENEW_MS;
  private renewedAt = 0;
  private renewing = false;
  private series: SeriesPoint[] = [];
  private chunks: ConsoleChunk[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  private unsub: (() => void)[] = [];

  constructor(
    private readonly host: HostApi,
    private readonly sim: SimWorker,
    private readonly hooks: RecorderHooks,
  ) {
    this.unsub.push(sim.onWorkerEvent((e) => this.onEvent(e)));
    this.unsub.push(
      sim.onConsole((console, text) => {
        if (!this.runId) return;
        const last = this.chunks[this.chunks.length - 1];
        if (last && last.console === console && last.text.length < 8192) last.text += text;
        else this.chunks.push({ console, text });
      }),
    );
  }

  /** Starts recording a run of `scenario` (call right before sim.start). */
  begin(scenario: { name: string; seed?: number; domains: { mode: PagingMode; role?: string }[] }): void {
    this.series = [];
    this.chunks = [];
    const guests = scenario.domains.filter((d) => d.role !== 'dom0');
    this.runId = this.host
      .beginRun({ scenarioName: scenario.name, scenario, modes: guests.map((d) => d.mode), seed: scenario.seed ?? 1 })
      .then((r) => {
        const lease = typeof r.leaseMs === 'number' && r.leaseMs > 0 ? r.leaseMs : DEFAULT_LEASE_MS;
        this.renewEvery = Math.min(LEASE_RENEW_MS, Math.max(250, Math.floor(lease / 3)));
        this.renewedAt = Date.now();
        return r.id;
      })
      .catch((e: Error) => {
        this.hooks.onError(`this run is not being saved: ${e.message}`);
        return null;
      });
    // A short lease (a test's) renews more often than the once-a-second flush.
    if (!this.timer) this.timer = setInterval(() => void this.tick(), 250);
  }

  private ticks = 0;

  /** Every 250 ms: renew the lease when it is due; flush the batches once a second. */
  private async tick(): Promise<void> {
    if (++this.ticks % 4 === 0) void this.flush();
    const idp = this.runId;
    if (!idp || this.renewing || Date.now() - this.renewedAt < this.renewEvery) return;
    this.renewing = true;
    try {
      const id = await idp;
      if (id === null || this.runId !== idp) return;
      await this.host.renewLease(id);
      this.renewedAt = Date.now();
    } catch (e) {
      this.lost(idp, e as Error);
    } finally {
      this.renewing = false;
    }
  }

  /**
   * The host refused a renewal or an append: the run is no longer running there (its lease ran
   * out while this page was suspended or the computer slept). Stop recording it, say so once.
   */
  private lost(idp: Promise<number | null>, e: Error): boolean {
    if (!/not running/.test(e.message) || this.runId !== idp) return false;
    this.runId = null;
    this.series = [];
    this.chunks = [];
    this.hooks.onError(`this run is no longer being saved: ${e.message}`);
    return true;
  }

  private onEvent(e: WorkerEvent): void {
    if (!this.runId) return;
    if (e.type === 'snapshot') {
      for (const d of e.snapshot.domains) {
        this.series.push({
          t: e.snapshot.t,
          domain: d.name,
          // cycles and running: what the charts need to tell an interval in which the domain did
          // not run (no value; held while it waits for its pCPU) from one that measured a zero.
          values: { tlbMissRate: d.tlbMissRate, refsPerWalk: d.refsPerWalk, exitsPerSec: d.exitsPerSec, hypercallsPerSec: d.hypercallsPerSec, cyclesPerOp: d.cyclesPerOp, ops: d.ops, cycles: d.cycles, running: d.state === 'running' ? 1 : 0 },
        });
      }
    } else if (e.type === 'finished') {
      void this.end({ status: e.status === 'finished' ? 'finished' : 'cancelled', results: e.results });
    } else if (e.type === 'error' && (e.where === 'start' || e.where === 'worker')) {
      void this.end({ status: 'failed', error: e.message });
    }
  }

  private flushing: Promise<void> = Promise.resolve();

  /**
   * One flush at a time, in order. Without the queue, end()'s last flush could run beside a
   * once-a-second flush still waiting for its appendSeries, and finishRun would then reach the host
   * before that flush's appendConsole, which the host refuses (the run is finished): the run's
   * console was lost on a busy machine.
   */
  private flush(): Promise<void> {
    const next = this.flushing.then(() => this.flushNow());
    this.flushing = next;
    return next;
  }

  private async flushNow(): Promise<void> {
    const idp = this.runId;
    if (!idp) return;
    const id = await idp;
    if (id === null) return;
    const series = this.series.splice(0);
    const chunks = this.chunks.splice(0);
    try {
      if (series.length) await this.host.appendSeries(id, series);
      if (chunks.length) await this.host.appendConsole(id, chunks);
      if (series.length || chunks.length) this.renewedAt = Date.now();
    } catch (e) {
      if (!this.lost(idp, e as Error)) this.hooks.onError(`saving the run's data failed: ${(e as Error).message}`);
    }
  }

  private async end(args: Parameters<HostApi['finishRun']>[1]): Promise<void> {
    const idp = this.runId;
    if (!idp) return;
    await this.flush();
    this.runId = null;
    const id = await idp;
    if (id === null) return;
    try {
      await this.host.finishRun(id, args);
      this.hooks.onSaved(id);
    } catch (e) {
      this.hooks.onError(`saving the run's results failed: ${(e as Error).message}`);
    }
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    for (const u of this.unsub) u();
  }
}

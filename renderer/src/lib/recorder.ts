/**
 * Saves a live run as it goes: begins a run record when a session boots, appends metric points
 * and console output in batches (once a second), and marks it finished, cancelled or failed. If
 * the app dies mid-run, what was flushed stays, and the store marks the run interrupted.
 */
import type { ConsoleChunk, HostApi, PagingMode, SeriesPoint, WorkerEvent } from '../../../core/api/index.js';
import type { SimWorker } from './simWorker.svelte.js';

export interface RecorderHooks {
  onSaved(id: number): void;
  onError(message: string): void;
}

export class RunRecorder {
  private runId: Promise<number | null> | null = null;
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
      .then((r) => r.id)
      .catch((e: Error) => {
        this.hooks.onError(`this run is not being saved: ${e.message}`);
        return null;
      });
    if (!this.timer) this.timer = setInterval(() => void this.flush(), 1000);
  }

  private onEvent(e: WorkerEvent): void {
    if (!this.runId) return;
    if (e.type === 'snapshot') {
      for (const d of e.snapshot.domains) {
        this.series.push({
          t: e.snapshot.t,
          domain: d.name,
          values: { tlbMissRate: d.tlbMissRate, refsPerWalk: d.refsPerWalk, exitsPerSec: d.exitsPerSec, hypercallsPerSec: d.hypercallsPerSec, cyclesPerOp: d.cyclesPerOp, ops: d.ops },
        });
      }
    } else if (e.type === 'finished') {
      void this.end({ status: e.status === 'finished' ? 'finished' : 'cancelled', results: e.results });
    } else if (e.type === 'error' && (e.where === 'start' || e.where === 'worker')) {
      void this.end({ status: 'failed', error: e.message });
    }
  }

  private async flush(): Promise<void> {
    const idp = this.runId;
    if (!idp) return;
    const id = await idp;
    if (id === null) return;
    const series = this.series.splice(0);
    const chunks = this.chunks.splice(0);
    try {
      if (series.length) await this.host.appendSeries(id, series);
      if (chunks.length) await this.host.appendConsole(id, chunks);
    } catch (e) {
      this.hooks.onError(`saving the run's data failed: ${(e as Error).message}`);
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

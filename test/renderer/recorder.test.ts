// The run recorder against a host that keeps the store's rules (an append after finishRun, or after
// the lease ran out, is refused): the lease is renewed while a run goes, a refused renewal stops
// the recording with one message, and the last flush of a run is never overtaken by finishRun.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ConsoleChunk, HostApi, Results, SeriesPoint } from '../../core/api/index.js';
import { RunRecorder } from '../../renderer/src/lib/recorder.js';
import { SimWorker } from '../../renderer/src/lib/simWorker.svelte.js';
import { FakeWorker } from './labFixture.js';
import { alignSeries, type MetricKey } from '../../renderer/src/lib/series.js';
import { snapshotsOf } from '../../renderer/src/lib/history.js';
import type { DomainMetrics, MetricSnapshot } from '../../core/api/index.js';

const SCENARIO = { name: 'walk', domains: [{ mode: 'pv' as const }] };
const snapshot = (t: number) => ({ type: 'snapshot' as const, snapshot: { t, wallMs: 0, domains: [{ name: 'g1', state: 'running' as const, ops: t, cycles: t, tlbMissRate: 0.5, refsPerWalk: 4, exitsPerSec: 0, hypercallsPerSec: 0, cyclesPerOp: 10 }] } });

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** A host with the store's rules for one run: 'running' until finished or interrupted. */
function storeLikeHost(leaseMs: number) {
  const calls: string[] = [];
  let status = 'running';
  const saved = { series: [] as SeriesPoint[], console: [] as ConsoleChunk[] };
  const refuseUnlessRunning = (op: string) => {
    if (status !== 'running') throw new Error(`${op}: run 1 is ${status}, not running; …`);
  };
  let holdSeries: Promise<void> | null = null;
  const host = {
    beginRun: vi.fn(async () => ({ id: 1, leaseMs })),
    renewLease: vi.fn(async () => {
      calls.push('renewLease');
      refuseUnlessRunning('renewLease');
    }),
    appendSeries: vi.fn(async (_id: number, pts: SeriesPoint[]) => {
      calls.push('appendSeries');
      if (holdSeries) await holdSeries;
      refuseUnlessRunning('appendSeries');
      saved.series.push(...pts);
    }),
    appendConsole: vi.fn(async (_id: number, chunks: ConsoleChunk[]) => {
      calls.push('appendConsole');
      refuseUnlessRunning('appendConsole');
      saved.console.push(...chunks);
    }),
    finishRun: vi.fn(async () => {
      calls.push('finishRun');
      refuseUnlessRunning('finishRun');
      status = 'finished';
    }),
  };
  return {
    host: host as unknown as HostApi,
    calls,
    saved,
    interrupt: () => void (status = 'interrupted'),
    holdAppendSeries: (p: Promise<void> | null) => void (holdSeries = p),
  };
}

function setup(leaseMs: number) {
  const worker = new FakeWorker();
  const sim = new SimWorker(() => worker as unknown as Worker);
  const h = storeLikeHost(leaseMs);
  const errors: string[] = [];
  const savedIds: number[] = [];
  const rec = new RunRecorder(h.host, sim, { onSaved: (id) => savedIds.push(id), onError: (m) => errors.push(m) });
  return { worker, rec, errors, savedIds, ...h };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('run recorder', () => {
  it('renews the run’s lease a few times per lease while the run goes, and stops when it ends', async () => {
    const t = setup(3000);
    t.rec.begin(SCENARIO);
    await vi.advanceTimersByTimeAsync(3000);
    // A 3 s lease is renewed every second (a third of it).
    expect(t.host.renewLease).toHaveBeenCalledTimes(3);
    expect(t.host.renewLease).toHaveBeenCalledWith(1);
    t.worker.emit({ type: 'finished', status: 'finished', results: {} as Results, repeat: false, runs: 1 });
    await vi.advanceTimersByTimeAsync(0);
    expect(t.savedIds).toEqual([1]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(t.host.renewLease).toHaveBeenCalledTimes(3);
    expect(t.errors).toEqual([]);
    t.rec.dispose();
  });

  it('renews every 5 s with the default 3-minute lease', async () => {
    const t = setup(180_000);
    t.rec.begin(SCENARIO);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(t.host.renewLease).toHaveBeenCalledTimes(2);
    t.rec.dispose();
  });

  it('stops recording, with one message, once the host says the run is no longer running', async () => {
    const t = setup(3000);
    t.rec.begin(SCENARIO);
    await vi.advanceTimersByTimeAsync(0);
    t.interrupt();
    await vi.advanceTimersByTimeAsync(1000);
    expect(t.errors).toEqual(['this run is no longer being saved: renewLease: run 1 is interrupted, not running; …']);
    t.worker.emit(snapshot(100));
    t.worker.emit({ type: 'console', console: 'dom0', data: 'late\n' });
    await vi.advanceTimersByTimeAsync(5000);
    expect(t.host.appendSeries).not.toHaveBeenCalled();
    expect(t.host.appendConsole).not.toHaveBeenCalled();
    expect(t.host.renewLease).toHaveBeenCalledTimes(1);
    expect(t.errors).toHaveLength(1);
    t.rec.dispose();
  });

  it('saves the last batch before finishing the run, even while an earlier flush is still waiting for the host', async () => {
    const t = setup(180_000);
    t.rec.begin(SCENARIO);
    await vi.advanceTimersByTimeAsync(0);
    t.worker.emit(snapshot(100));
    t.worker.emit({ type: 'console', console: 'dom0', data: 'booted\n' });
    // The once-a-second flush sends the batch; the host is slow to take the series.
    const slow = deferred();
    t.holdAppendSeries(slow.promise);
    await vi.advanceTimersByTimeAsync(1000);
    expect(t.calls).toEqual(['appendSeries']);
    // The run ends meanwhile: its last flush and finishRun wait for the flush in flight.
    t.worker.emit({ type: 'finished', status: 'finished', results: {} as Results, repeat: false, runs: 1 });
    await vi.advanceTimersByTimeAsync(0);
    expect(t.calls).toEqual(['appendSeries']);
    t.holdAppendSeries(null);
    slow.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(t.calls).toEqual(['appendSeries', 'appendConsole', 'finishRun']);
    expect(t.saved.console).toEqual([{ console: 'dom0', text: 'booted\n' }]);
    expect(t.saved.series.map((p) => p.t)).toEqual([100]);
    expect(t.errors).toEqual([]);
    expect(t.savedIds).toEqual([1]);
    t.rec.dispose();
  });

  it('saves what History needs to draw the charts as the Run view drew them: a domain that waited for its pCPU, or whose workload ended, is no zero', async () => {
    const t = setup(180_000);
    t.rec.begin(SCENARIO);
    // g1 runs in every interval; g2 waits for the pCPU in the second and fourth (its cycles stand
    // still), then its workload ends (blocked, its counters still).
    const m = (name: string, state: DomainMetrics['state'], cycles: number, ops: number, v: number): DomainMetrics => ({ name, state, ops, cycles, tlbMissRate: v / 1000, refsPerWalk: v / 100, exitsPerSec: v * 10, hypercallsPerSec: v, cyclesPerOp: v * 2 });
    const live: MetricSnapshot[] = [
      { t: 100, wallMs: 0, domains: [m('g1', 'running', 100, 10, 500), m('g2', 'running', 50, 5, 900)] },
      { t: 200, wallMs: 0, domains: [m('g1', 'running', 200, 20, 520), m('g2', 'running', 50, 5, 0)] },
      { t: 300, wallMs: 0, domains: [m('g1', 'running', 300, 30, 540), m('g2', 'running', 120, 9, 880)] },
      { t: 400, wallMs: 0, domains: [m('g1', 'running', 400, 40, 560), m('g2', 'running', 120, 9, 0)] },
      { t: 500, wallMs: 0, domains: [m('g1', 'running', 500, 50, 580), m('g2', 'blocked', 120, 9, 0)] },
    ];
    for (const snapshot of live) t.worker.emit({ type: 'snapshot', snapshot });
    t.worker.emit({ type: 'finished', status: 'finished', results: {} as Results, repeat: false, runs: 1 });
    await vi.advanceTimersByTimeAsync(0);
    const replay = snapshotsOf(t.saved.series);
    for (const key of ['tlbMissRate', 'refsPerWalk', 'exitsAndHypercallsPerSec', 'cyclesPerOp'] as MetricKey[]) {
      expect(alignSeries(replay, ['g1', 'g2'], key)).toEqual(alignSeries(live, ['g1', 'g2'], key));
    }
    // The held values and the end, by hand (misses per 1000 lookups): g2's is held at 900 while it waits, then 880,
    // held again, and no value once it is blocked.
    expect(alignSeries(replay, ['g1', 'g2'], 'tlbMissRate')[2]).toEqual([900, 900, 880, 880, null]);
    t.rec.dispose();
  });
});

// The renderer's side of the worker protocol: state follows the worker's events, a worker that
// dies is reported and a fresh one can be started, a stop the worker does not answer ends it, and
// compares and walks are answered by id (a reply in flight for a replaced request is dropped).
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PagingMode, WalkTrace, WorkerEvent, WorkerRequest } from '../../core/api/index.js';
import { MAX_POINTS, SimWorker } from '../../renderer/src/lib/simWorker.svelte.js';

class FakeWorker {
  sent: WorkerRequest[] = [];
  terminated = false;
  onmessage: ((e: MessageEvent<WorkerEvent>) => void) | null = null;
  onerror: ((e: ErrorEvent) => void) | null = null;
  onmessageerror: (() => void) | null = null;
  postMessage(m: WorkerRequest): void {
    this.sent.push(m);
  }
  terminate(): void {
    this.terminated = true;
  }
  emit(e: WorkerEvent): void {
    this.onmessage?.({ data: e } as MessageEvent<WorkerEvent>);
  }
  fail(message: string): void {
    this.onerror?.({ message, preventDefault() {} } as ErrorEvent);
  }
}

function make() {
  const workers: FakeWorker[] = [];
  const sim = new SimWorker(() => {
    const w = new FakeWorker();
    workers.push(w);
    return w as unknown as Worker;
  });
  return { sim, workers };
}

afterEach(() => vi.useRealTimers());

describe('SimWorker', () => {
  it('keeps batched snapshots, thins old points beyond MAX_POINTS keeping the start and the newest, and tells listeners of each', () => {
    const { sim, workers } = make();
    const w = workers[0]!;
    const seen: number[] = [];
    sim.onWorkerEvent((e) => {
      if (e.type === 'snapshot') seen.push(e.snapshot.t);
    });
    sim.start({ name: 's' }, 100, { pace: 1e-3, repeat: true });
    expect(w.sent[0]).toEqual({ type: 'start', scenario: { name: 's' }, snapshotMs: 100, pace: 1e-3, repeat: true });
    const snaps = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ t: from + i, wallMs: 0, domains: [] }));
    w.emit({ type: 'snapshots', snapshots: snaps(0, 1500) });
    expect(sim.snapshots).toHaveLength(1500);
    w.emit({ type: 'snapshots', snapshots: snaps(1500, 1500) });
    expect(sim.snapshots.length).toBeLessThanOrEqual(MAX_POINTS);
    expect(sim.snapshots.length).toBeGreaterThan(MAX_POINTS / 4);
    expect(sim.snapshots[0]!.t).toBe(0);
    expect(sim.snapshots.at(-1)!.t).toBe(2999);
    const ts = sim.snapshots.map((x) => x.t);
    expect([...ts].sort((a, b) => a - b)).toEqual(ts);
    expect(seen).toHaveLength(3000);
    sim.setPace('max');
    expect(w.sent.at(-1)).toEqual({ type: 'pace', pace: 'max' });
  });

  it('sends start and follows booted, progress, snapshots, console output and results', () => {
    const { sim, workers } = make();
    const w = workers[0]!;
    sim.start({ name: 's' });
    expect(w.sent[0]).toEqual({ type: 'start', scenario: { name: 's' }, snapshotMs: 250 });
    expect(sim.state).toBe('booting');
    w.emit({ type: 'booted', domains: [], consoles: ['xen', 'dom0'], cpu: { profile: 'modern', label: 'Modern', clockGHz: 3 } });
    w.emit({ type: 'state', state: 'running' });
    w.emit({ type: 'progress', fraction: 0.5, ops: 10, simulatedCycles: 99, clockCycles: 99, elapsedMs: 1000, etaMs: 1000, runs: 1, repeat: false, pace: 'max' });
    w.emit({ type: 'snapshot', snapshot: { t: 5, wallMs: 1, domains: [] } });
    const seen: string[] = [];
    sim.onConsole((c, d) => seen.push(`${c}:${d}`));
    w.emit({ type: 'console', console: 'dom0', data: 'hello' });
    expect(sim.consoles).toEqual(['xen', 'dom0']);
    expect(sim.state).toBe('running');
    expect(sim.progress?.fraction).toBe(0.5);
    expect(sim.snapshots).toHaveLength(1);
    expect(seen).toEqual(['dom0:hello']);
    expect(sim.consoleText('dom0')).toBe('hello');
    sim.input('dom0', 'xl list\r');
    expect(w.sent.at(-1)).toEqual({ type: 'console-input', console: 'dom0', data: 'xl list\r' });
  });

  it('reports a worker that dies, and restarts a fresh one on request without losing what the views show', () => {
    const { sim, workers } = make();
    sim.start({ name: 's' });
    workers[0]!.emit({ type: 'snapshot', snapshot: { t: 5, wallMs: 1, domains: [] } });
    workers[0]!.fail('RangeError: out of memory');
    expect(sim.workerDead).toBe('RangeError: out of memory');
    expect(sim.state).toBe('error');
    expect(sim.error).toEqual({ where: 'worker', message: 'RangeError: out of memory' });
    expect(workers[0]!.terminated).toBe(true);
    sim.restart();
    expect(workers).toHaveLength(2);
    expect(sim.workerDead).toBeNull();
    expect(sim.snapshots).toHaveLength(1);
    sim.start({ name: 't' });
    expect(workers[1]!.sent[0]!.type).toBe('start');
  });

  it('a pending compare is rejected with the worker’s message when the worker dies', async () => {
    const { sim, workers } = make();
    const p = sim.compare({ name: 's' }, ['pv', 'hap']);
    expect(sim.compareBusy).toEqual({ done: 0, total: 2, label: 'starting' });
    workers[0]!.fail('boom');
    await expect(p).rejects.toThrow('boom');
    expect(sim.compareBusy).toBeNull();
  });

  it('ends a worker that does not answer stop in time, and starts a fresh one', () => {
    vi.useFakeTimers();
    const { sim, workers } = make();
    sim.start({ name: 's' });
    workers[0]!.emit({ type: 'state', state: 'running' });
    sim.stop(1500);
    expect(workers[0]!.sent.at(-1)).toEqual({ type: 'stop' });
    vi.advanceTimersByTime(1499);
    expect(workers[0]!.terminated).toBe(false);
    vi.advanceTimersByTime(2);
    expect(workers[0]!.terminated).toBe(true);
    expect(workers).toHaveLength(2);
    expect(sim.state).toBe('stopped');
    expect(sim.error?.where).toBe('stop');
  });

  it('a stop the worker answers in time keeps the worker', () => {
    vi.useFakeTimers();
    const { sim, workers } = make();
    sim.start({ name: 's' });
    workers[0]!.emit({ type: 'state', state: 'running' });
    sim.stop(1500);
    workers[0]!.emit({ type: 'finished', status: 'stopped', results: { domains: [] } as never, repeat: false, runs: 1 });
    workers[0]!.emit({ type: 'state', state: 'stopped' });
    vi.advanceTimersByTime(5000);
    expect(workers).toHaveLength(1);
    expect(sim.finishedStatus).toBe('stopped');
  });
});

type Sent<T extends WorkerRequest['type']> = Extract<WorkerRequest, { type: T }>;
const sentOf = <T extends WorkerRequest['type']>(w: FakeWorker, type: T): Sent<T>[] => w.sent.filter((m): m is Sent<T> => m.type === type);

const trace = (va: string, refs: number): WalkTrace => ({
  domain: 'g1', mode: 'hap', va, kind: 'nested', guestLevels: 4, hostLevels: 4, ok: true, maddr: '0x1000', pageSize: 4096, fault: null, refs: [], expectedRefs: refs,
});
const compareAnswer = (modes: PagingMode[]) => ({ result: { scenario: 's', workload: 'w', modes, runs: [], skipped: [] }, sweep: null });

/** Settles a promise into what a test can compare: its value or its error's message. */
function settled<T>(p: Promise<T>): { value?: T; error?: string; done: boolean } {
  const out: { value?: T; error?: string; done: boolean } = { done: false };
  p.then(
    (v) => Object.assign(out, { value: v, done: true }),
    (e: Error) => Object.assign(out, { error: e.message, done: true }),
  );
  return out;
}
const flush = () => new Promise<void>((r) => setTimeout(r, 0));

describe('SimWorker: answers matched by request id', () => {
  it('gives every walk and compare request its own id', () => {
    const { sim, workers } = make();
    void sim.walk({ name: 's' }, 'g1').catch(() => {});
    void sim.compare({ name: 's' }, ['pv']).catch(() => {});
    void sim.walk({ name: 's' }, 'g1', { va: '0x2000' }).catch(() => {});
    const ids = [...sentOf(workers[0]!, 'walk'), ...sentOf(workers[0]!, 'compare')].map((m) => m.id);
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(Number.isInteger(id) && id > 0).toBe(true);
  });

  it('drops the answer to a walk that a newer walk replaced: the newer one resolves only with its own trace', async () => {
    const { sim, workers } = make();
    const w = workers[0]!;
    const first = settled(sim.walk({ name: 's' }, 'g1', { va: '0x1000' }));
    const second = settled(sim.walk({ name: 's' }, 'g1', { va: '0x2000' }));
    const [a, b] = sentOf(w, 'walk');
    // Both were in flight; the worker answers them in order.
    w.emit({ type: 'walk-result', id: a!.id, trace: trace('0x1000', 24), candidates: [] });
    await flush();
    expect(second.done).toBe(false);
    w.emit({ type: 'walk-result', id: b!.id, trace: trace('0x2000', 19), candidates: ['0x2000'] });
    await flush();
    expect(first.error).toMatch(/superseded/);
    expect(second.value?.trace.va).toBe('0x2000');
    expect(second.value?.trace.expectedRefs).toBe(19);
  });

  it('a late error for a replaced walk does not reject the newer walk, nor show as a page error', async () => {
    const { sim, workers } = make();
    const w = workers[0]!;
    void sim.walk({ name: 's' }, 'nope').catch(() => {});
    const second = settled(sim.walk({ name: 's' }, 'g1'));
    const [a, b] = sentOf(w, 'walk');
    w.emit({ type: 'error', id: a!.id, where: 'walk', message: 'no domain named "nope"' });
    await flush();
    expect(second.done).toBe(false);
    expect(sim.error).toBeNull();
    w.emit({ type: 'error', id: b!.id, where: 'walk', message: 'the scenario is not valid' });
    await flush();
    expect(second.error).toBe('the scenario is not valid');
  });

  it('a cancelled compare’s late error does not reject the next compare', async () => {
    const { sim, workers } = make();
    const w = workers[0]!;
    const first = settled(sim.compare({ name: 's' }, ['pv', 'hap']));
    sim.cancelCompare();
    const second = settled(sim.compare({ name: 's' }, ['shadow']));
    const [a, b] = sentOf(w, 'compare');
    // The cancel names the compare it cancels.
    expect(sentOf(w, 'cancel-compare')).toEqual([{ type: 'cancel-compare', id: a!.id }]);
    w.emit({ type: 'error', id: a!.id, where: 'compare', message: 'compare cancelled' });
    await flush();
    expect(second.done).toBe(false);
    expect(sim.compareBusy).toEqual({ done: 0, total: 1, label: 'starting' });
    w.emit({ type: 'compare-result', id: b!.id, ...compareAnswer(['shadow']) });
    await flush();
    expect(first.error).toMatch(/superseded/);
    expect(second.value?.result.modes).toEqual(['shadow']);
    expect(sim.compareBusy).toBeNull();
    expect(sim.error).toBeNull();
  });

  it('a cancel is answered by the worker: the cancelled compare is rejected with its message', async () => {
    const { sim, workers } = make();
    const w = workers[0]!;
    const p = settled(sim.compare({ name: 's' }, ['pv']));
    sim.cancelCompare();
    w.emit({ type: 'error', id: sentOf(w, 'compare')[0]!.id, where: 'compare', message: 'compare cancelled' });
    await flush();
    expect(p.error).toBe('compare cancelled');
    expect(sim.compareBusy).toBeNull();
    // Nothing pending: a second cancel sends nothing.
    sim.cancelCompare();
    expect(sentOf(w, 'cancel-compare')).toHaveLength(1);
  });

  it('progress and results of a replaced compare neither move the progress bar nor resolve the newer compare', async () => {
    const { sim, workers } = make();
    const w = workers[0]!;
    void sim.compare({ name: 's' }, ['pv', 'hap']).catch(() => {});
    const second = settled(sim.compare({ name: 's' }, ['native', 'pv', 'shadow']));
    const [a, b] = sentOf(w, 'compare');
    w.emit({ type: 'compare-progress', id: a!.id, done: 1, total: 2, label: 'pv' });
    w.emit({ type: 'compare-result', id: a!.id, ...compareAnswer(['pv', 'hap']) });
    await flush();
    expect(sim.compareBusy).toEqual({ done: 0, total: 3, label: 'starting' });
    expect(second.done).toBe(false);
    w.emit({ type: 'compare-progress', id: b!.id, done: 1, total: 3, label: 'native' });
    expect(sim.compareBusy).toEqual({ done: 1, total: 3, label: 'native' });
  });

  it('a restarted worker cannot answer: requests pending on the old one are rejected', async () => {
    const { sim } = make();
    const c = settled(sim.compare({ name: 's' }, ['pv']));
    const wk = settled(sim.walk({ name: 's' }, 'g1'));
    sim.restart();
    await flush();
    expect(c.error).toMatch(/restarted/);
    expect(wk.error).toMatch(/restarted/);
    expect(sim.compareBusy).toBeNull();
  });
});

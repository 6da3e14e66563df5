// The renderer's side of the worker protocol: state follows the worker's events, a worker that
// dies is reported and a fresh one can be started, and a stop the worker does not answer ends it.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { WorkerEvent, WorkerRequest } from '../../core/api/index.js';
import { SimWorker } from '../../renderer/src/lib/simWorker.svelte.js';

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
  it('sends start and follows booted, progress, snapshots, console output and results', () => {
    const { sim, workers } = make();
    const w = workers[0]!;
    sim.start({ name: 's' });
    expect(w.sent[0]).toEqual({ type: 'start', scenario: { name: 's' }, snapshotMs: 250 });
    expect(sim.state).toBe('booting');
    w.emit({ type: 'booted', domains: [], consoles: ['xen', 'dom0'] });
    w.emit({ type: 'state', state: 'running' });
    w.emit({ type: 'progress', fraction: 0.5, ops: 10, simulatedCycles: 99, elapsedMs: 1000, etaMs: 1000 });
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
    workers[0]!.emit({ type: 'finished', status: 'stopped', results: { domains: [] } as never });
    workers[0]!.emit({ type: 'state', state: 'stopped' });
    vi.advanceTimersByTime(5000);
    expect(workers).toHaveLength(1);
    expect(sim.finishedStatus).toBe('stopped');
  });
});

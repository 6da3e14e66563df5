/**
 * The worker's 'io-paths' request: refused at the field when malformed (before any run), and
 * answered by id with progress after each path, then the rows; a cancel ends only the run it names.
 */
import { describe, expect, it } from 'vitest';
import type { WorkerEvent } from '../../core/api/worker.js';
import { compareIoPaths } from '../../core/sim/ioPaths.js';
import { parseRequest } from '../../core/worker/request.js';
import { IoPathsJobs } from '../../core/worker/ioPathsJob.js';

describe('parseRequest: io-paths', () => {
  it('needs an id, like every answered request', () => {
    expect(parseRequest({ type: 'io-paths', workload: { kind: 'disk-io' } })).toEqual({ ok: false, message: expect.stringContaining('io-paths.id') });
  });

  it('refuses a workload that is not an I/O workload, naming the kinds it takes', () => {
    const r = parseRequest({ type: 'io-paths', id: 3, workload: { kind: 'tlb-thrash' } });
    expect(r).toEqual({ ok: false, id: 3, message: expect.stringMatching(/^io-paths\.workload\.kind: one of disk-io, net-stream, net-rr/) });
    expect(parseRequest({ type: 'io-paths', id: 4, workload: 'disk-io' })).toEqual({ ok: false, id: 4, message: expect.stringContaining('io-paths.workload:') });
  });

  it('refuses bad parameters field by field (every one listed), with the schema’s bounds', () => {
    const r = parseRequest({ type: 'io-paths', id: 5, workload: { kind: 'net-rr', transactions: 0, requestBytes: 9000 } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.id).toBe(5);
    expect(r.problems!.map((p) => p.path).sort()).toEqual(['io-paths.workload.requestBytes', 'io-paths.workload.transactions']);
    expect(r.message).toMatch(/^io-paths\.workload\.(transactions|requestBytes): /);
    const extra = parseRequest({ type: 'io-paths', id: 6, workload: { kind: 'disk-io', colour: 'red' } });
    expect(extra.ok).toBe(false);
  });

  it('accepts a workload and applies its defaults (net-rr: 1000 transactions of 64-byte requests and responses)', () => {
    const r = parseRequest({ type: 'io-paths', id: 7, workload: { kind: 'net-rr' } });
    expect(r).toEqual({ ok: true, req: { type: 'io-paths', id: 7, workload: { kind: 'net-rr', transactions: 1000, requestBytes: 64, responseBytes: 64 } } });
    expect(parseRequest({ type: 'cancel-io-paths', id: 7 })).toEqual({ ok: true, req: { type: 'cancel-io-paths', id: 7 } });
  });
});

describe('IoPathsJobs: one path per turn, answered by id', () => {
  const setup = () => {
    const events: WorkerEvent[] = [];
    const queue: (() => void)[] = [];
    const jobs = new IoPathsJobs({ post: (e) => events.push(e), schedule: (fn) => queue.push(fn) });
    const drain = () => {
      while (queue.length) queue.shift()!();
    };
    return { events, queue, jobs, drain };
  };
  const wl = { kind: 'disk-io', ops: 20, blockKiB: 4, writeFraction: 1, flushEvery: 0, pattern: 'random', queueDepth: 1 } as const;

  it('progress 0 of 4, then after each path, then the rows compareIoPaths gives for the same workload', () => {
    const { events, jobs, drain } = setup();
    jobs.start(1, wl);
    drain();
    const progress = events.filter((e) => e.type === 'io-paths-progress');
    expect(progress.map((e) => (e.type === 'io-paths-progress' ? [e.done, e.total, e.label] : null))).toEqual([
      [0, 4, ''],
      [1, 4, 'xen-dom0'],
      [2, 4, 'kvm-qemu'],
      [3, 4, 'xen-driver-domain'],
      [4, 4, 'passthrough'],
    ]);
    const result = events.at(-1)!;
    expect(result).toEqual({ type: 'io-paths-result', id: 1, workload: wl, rows: compareIoPaths(wl) });
    expect(jobs.running).toBeNull();
  });

  it('a cancel ends the run it names with "io-paths cancelled"; a late cancel of an old id leaves the new run alone', () => {
    const { events, queue, jobs, drain } = setup();
    jobs.start(1, wl);
    queue.shift()!(); // one path done
    jobs.cancel(1);
    drain();
    expect(events.at(-1)).toEqual({ type: 'error', id: 1, where: 'io-paths', message: 'io-paths cancelled' });
    expect(events.some((e) => e.type === 'io-paths-result')).toBe(false);
    jobs.start(2, wl);
    jobs.cancel(1);
    drain();
    expect(events.at(-1)).toMatchObject({ type: 'io-paths-result', id: 2 });
  });

  it('a new request replaces the running one, whose answers stop', () => {
    const { events, queue, jobs, drain } = setup();
    jobs.start(1, wl);
    queue.shift()!();
    jobs.start(2, wl);
    drain();
    const after = events.slice(events.findIndex((e) => e.type === 'io-paths-progress' && e.id === 2));
    expect(after.every((e) => 'id' in e && e.id === 2)).toBe(true);
    expect(events.filter((e) => e.type === 'io-paths-result').map((e) => ('id' in e ? e.id : 0))).toEqual([2]);
  });
});

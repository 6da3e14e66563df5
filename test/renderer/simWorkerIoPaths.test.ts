// SimWorker's io-paths requests: answered by id, progress kept while pending, a superseded
// request's late answer dropped, a refusal carrying the worker's field problems, cancel by id.
import { describe, expect, it } from 'vitest';
import type { IoPathRow, WorkerEvent, WorkerRequest } from '../../core/api/index.js';
import { SimWorker } from '../../renderer/src/lib/simWorker.svelte.js';

function make() {
  const sent: WorkerRequest[] = [];
  let onmessage: ((e: MessageEvent<WorkerEvent>) => void) | null = null;
  const fake = {
    postMessage: (m: WorkerRequest) => sent.push(m),
    terminate() {},
    set onmessage(fn: typeof onmessage) {
      onmessage = fn;
    },
    onerror: null,
    onmessageerror: null,
  };
  const sim = new SimWorker(() => fake as unknown as Worker);
  return { sim, sent, emit: (e: WorkerEvent) => onmessage?.({ data: e } as MessageEvent<WorkerEvent>) };
}

const ROW = { path: 'passthrough', label: 'pt', requests: 1, bytes: 128, exits: 0, copies: 0, backendWakeups: 0, interrupts: 1, cycles: { guest: 1, hypervisor: 1, hostKernel: 0, backend: 0, total: 2 }, lostWrites: 0 } satisfies IoPathRow;
const WL = { kind: 'net-rr', transactions: 5, requestBytes: 64, responseBytes: 64 } as const;

describe('SimWorker.ioPaths', () => {
  it('sends the workload with a fresh id, tracks progress, resolves with the rows of its own id only', async () => {
    const { sim, sent, emit } = make();
    const first = sim.ioPaths({ kind: 'net-rr', transactions: 5 });
    const second = sim.ioPaths({ kind: 'net-rr', transactions: 5 });
    await expect(first).rejects.toThrow(/superseded/);
    const [a, b] = sent as Extract<WorkerRequest, { type: 'io-paths' }>[];
    expect(a).toMatchObject({ type: 'io-paths', workload: { kind: 'net-rr', transactions: 5 } });
    expect(b!.id).toBeGreaterThan(a!.id);
    emit({ type: 'io-paths-progress', id: b!.id, done: 2, total: 5, label: 'kvm-qemu' });
    expect(sim.ioPathsBusy).toEqual({ done: 2, total: 5, label: 'kvm-qemu' });
    emit({ type: 'io-paths-result', id: a!.id, workload: WL, rows: [] }); // the old one's late answer: dropped
    emit({ type: 'io-paths-result', id: b!.id, workload: WL, rows: [ROW] });
    await expect(second).resolves.toEqual({ workload: WL, rows: [ROW] });
    expect(sim.ioPathsBusy).toBeNull();
  });

  it('a refusal rejects with the message and the field problems; cancel names the pending request', async () => {
    const { sim, sent, emit } = make();
    const p = sim.ioPaths({ kind: 'net-rr', transactions: 0 });
    const id = (sent[0] as { id: number }).id;
    sim.cancelIoPaths();
    expect(sent[1]).toEqual({ type: 'cancel-io-paths', id });
    const problems = [{ path: 'io-paths.workload.transactions', message: 'Too small' }];
    emit({ type: 'error', id, where: 'worker', message: 'io-paths.workload.transactions: Too small', problems });
    await expect(p).rejects.toMatchObject({ message: 'io-paths.workload.transactions: Too small', problems });
  });
});

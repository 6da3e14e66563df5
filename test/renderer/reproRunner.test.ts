// The renderer's side of the reproduce request: answered by id (a superseded request's answers
// are dropped, its promise rejected), progress while it runs, errors to the request they answer;
// the page's runner queues files and runs them one at a time, keeping results and errors by file.
// The worker's own side: a malformed request is refused with the field named.
import { describe, expect, it } from 'vitest';
import type { ReproResult, WorkerEvent, WorkerRequest } from '../../core/api/index.js';
import { SimWorker } from '../../renderer/src/lib/simWorker.svelte.js';
import { ReproRunner } from '../../renderer/src/components/repro/runner.svelte.js';
import type { ReproFile } from '../../renderer/src/components/repro/files.js';
import { parseRequest } from '../../core/worker/request.js';

class FakeWorker {
  sent: WorkerRequest[] = [];
  onmessage: ((e: MessageEvent<WorkerEvent>) => void) | null = null;
  onerror: ((e: ErrorEvent) => void) | null = null;
  onmessageerror: (() => void) | null = null;
  postMessage(m: WorkerRequest): void {
    this.sent.push(m);
  }
  terminate(): void {}
  emit(e: WorkerEvent): void {
    this.onmessage?.({ data: e } as MessageEvent<WorkerEvent>);
  }
}

function make() {
  const w = new FakeWorker();
  const sim = new SimWorker(() => w as unknown as Worker);
  return { sim, w };
}
const result = (id: string) => ({ id, pass: true, rows: [] }) as unknown as ReproResult;
const lastId = (w: FakeWorker) => (w.sent.at(-1) as { id: number }).id;
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('SimWorker.reproduce', () => {
  it('sends the file with a fresh id, shows progress, resolves with the result of that id only', async () => {
    const { sim, w } = make();
    const p = sim.reproduce({ id: 'a' });
    expect(w.sent[0]).toMatchObject({ type: 'reproduce', file: { id: 'a' } });
    const id = lastId(w);
    w.emit({ type: 'reproduce-progress', id, done: 1, total: 3, label: 'g1 pv' });
    expect(sim.reproBusy).toEqual({ done: 1, total: 3, label: 'g1 pv' });
    w.emit({ type: 'reproduce-result', id: id + 100, result: result('stale') });
    w.emit({ type: 'reproduce-result', id, result: result('a') });
    expect((await p).id).toBe('a');
    expect(sim.reproBusy).toBeNull();
  });

  it('a new request supersedes a pending one: its promise is rejected and its late answer dropped', async () => {
    const { sim, w } = make();
    const first = sim.reproduce({ id: 'a' });
    const firstId = lastId(w);
    const second = sim.reproduce({ id: 'b' });
    await expect(first).rejects.toThrow('superseded');
    w.emit({ type: 'reproduce-result', id: firstId, result: result('a') });
    w.emit({ type: 'reproduce-result', id: lastId(w), result: result('b') });
    expect((await second).id).toBe('b');
  });

  it('an error answering the request rejects it with the worker’s message', async () => {
    const { sim, w } = make();
    const p = sim.reproduce({});
    w.emit({ type: 'error', id: lastId(w), where: 'reproduce', message: 'the reproduction is not valid: id: missing' });
    await expect(p).rejects.toThrow('the reproduction is not valid: id: missing');
  });
});

describe('ReproRunner', () => {
  const files = [
    { name: 'a.json', json: { id: 'a' }, ok: true },
    { name: 'b.json', json: { id: 'b' }, ok: true },
    { name: 'bad.json', json: {}, ok: false, problems: [] },
  ] as unknown as ReproFile[];

  it('runs every valid file one after another, skipping invalid ones, and keeps results and errors by file', async () => {
    const { sim, w } = make();
    const runner = new ReproRunner(sim, files);
    runner.runAll();
    await tick();
    expect(runner.running).toBe('a.json');
    expect(runner.queue).toEqual(['b.json']);
    expect(w.sent).toHaveLength(1);
    w.emit({ type: 'reproduce-result', id: lastId(w), result: result('a') });
    await tick();
    expect(runner.running).toBe('b.json');
    expect((w.sent[1] as { file: unknown }).file).toEqual({ id: 'b' });
    w.emit({ type: 'error', id: lastId(w), where: 'reproduce', message: 'boom' });
    await tick();
    expect(runner.running).toBeNull();
    expect(Object.keys(runner.results)).toEqual(['a.json']);
    expect(runner.errors).toEqual({ 'b.json': 'boom' });
    // Running it again clears its error once it succeeds; a file already queued is not queued twice.
    runner.run('b.json', 'b.json');
    await tick();
    expect(w.sent).toHaveLength(3);
    w.emit({ type: 'reproduce-result', id: lastId(w), result: result('b') });
    await tick();
    expect(runner.errors).toEqual({});
    expect(Object.keys(runner.results).sort()).toEqual(['a.json', 'b.json']);
  });
});

describe('the worker refuses a malformed reproduce request', () => {
  it('names the field', () => {
    expect(parseRequest({ type: 'reproduce', id: 3 })).toEqual({ ok: false, message: 'reproduce.file: the reproduction, a parsed JSON object', id: 3 });
    expect(parseRequest({ type: 'reproduce', file: {} })).toMatchObject({ ok: false, message: expect.stringContaining('reproduce.id') });
    expect(parseRequest({ type: 'reproduce', id: 4, file: { id: 'x' } })).toEqual({ ok: true, req: { type: 'reproduce', id: 4, file: { id: 'x' } } });
  });
});

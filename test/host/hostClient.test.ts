/**
 * The host service in worker threads (electron/host/hostClient.ts, hostWorker.ts): what the
 * calling thread — Electron main, the browser-mode server — gets from it. A 200 MB import does
 * not hold up other calls or the calling thread; replies are matched to calls; a worker that dies
 * answers its open calls with an error and is replaced; close() closes the database.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_LEASE_MS, type Results, type RunSummary } from '../../core/api/index.js';
import { hostWorkerBeside, startHostClient, type HostClient, type HostClientOptions } from '../../electron/host/hostClient.js';
import { DB_FILENAME } from '../../electron/host/store.js';
import { REPO, removeTempDirs, tempDir, tinyRun } from './helpers.js';

const WORKER = join(REPO, 'electron', 'host', 'hostWorker.ts');
const CRASHING_WORKER = join(REPO, 'test', 'host', 'fixtures', 'crashingHostWorker.ts');

let results: Results;
beforeAll(() => {
  ({ results } = tinyRun());
});

const clients: HostClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  removeTempDirs();
});

function client(over: Partial<HostClientOptions> = {}): HostClient & { dataDir: string } {
  const dataDir = over.dataDir ?? tempDir('client');
  const c = startHostClient({ workerFile: WORKER, dataDir, host: 'browser', ...over });
  clients.push(c);
  return Object.assign(c, { dataDir });
}

const begin = { scenarioName: 'walk', scenario: { name: 'walk' }, modes: ['hap'], seed: 1 };
const point = (t: number) => ({ t, domain: 'g1', values: { ops: t } });

/**
 * An exported run of about 200 MB, built as text (no 200 MB object graph on this thread): the
 * tiny run's export with SERIES points and CHUNKS console chunks of 1 MiB each.
 */
const SERIES = 20_000;
const CHUNKS = 200;
const CHUNK_TEXT = 1 << 20;
function bigExport(): string {
  const run = {
    scenarioName: 'big import', scenario: { name: 'big' }, modes: ['hap'], seed: 3, appVersion: '0.1.0',
    startedAt: '2025-01-02T03:04:05.000Z', endedAt: '2025-01-02T03:05:05.000Z', status: 'finished',
    results, error: null, note: 'imported', series: [] as unknown[], console: [] as unknown[],
  };
  const [head, tail] = JSON.stringify({ format: 'hyperlab-run', formatVersion: 1, exportedAt: '2025-01-02T03:06:00.000Z', run }).split('"series":[],"console":[]');
  const p = JSON.stringify(point(1));
  const c = JSON.stringify({ console: 'g1', text: 'x'.repeat(CHUNK_TEXT) });
  return `${head}"series":[${`${p},`.repeat(SERIES - 1)}${p}],"console":[${`${c},`.repeat(CHUNKS - 1)}${c}]${tail}`;
}

describe('host client', () => {
  it('finds the host worker beside the module that starts it: built JavaScript or TypeScript sources', () => {
    expect(hostWorkerBeside('file:///opt/Hyperlab/resources/app.asar/out/main/index.js')).toBe('/opt/Hyperlab/resources/app.asar/out/main/hostWorker.js');
    expect(hostWorkerBeside(new URL('../../electron/host/server.ts', import.meta.url))).toBe(WORKER);
    expect(existsSync(WORKER)).toBe(true);
  });

  it('serves the host API from a worker thread, checking arguments before they leave this thread', async () => {
    const c = client();
    expect(await c.ready).toEqual({ ok: true });
    expect(await c.dispatch('beginRun', [begin])).toEqual({ ok: true, value: { id: 1, leaseMs: DEFAULT_LEASE_MS } });
    expect(await c.dispatch('appendSeries', [1, [point(5)]])).toEqual({ ok: true, value: undefined });
    expect(await c.dispatch('finishRun', [1, { status: 'finished', results }])).toEqual({ ok: true, value: undefined });
    const listed = await c.dispatch('listRuns', []);
    expect(listed.ok && (listed.value as RunSummary[]).map((r) => [r.id, r.status, r.headline!.domains.map((d) => d.refsPerWalk)])).toEqual([[1, 'finished', [24, 4]]]);
    expect(await c.dispatch('info', [])).toEqual({ ok: true, value: { version: '0.1.0', host: 'browser', dataDir: c.dataDir, store: { ok: true } } });
    expect(await c.dispatch('getRun', ['1'])).toMatchObject({ ok: false, error: { code: 'bad-args', message: expect.stringMatching(/^getRun: args\[0\]: /) } });
    expect(await c.dispatch('saveFile', [{ suggestedName: 'a', content: '' }])).toMatchObject({ ok: false, error: { code: 'unknown-op' } });
    expect(await c.dispatch('__proto__', [])).toMatchObject({ ok: false, error: { code: 'unknown-op', message: 'unknown operation "__proto__"' } });
    // A JSON argument structured clone cannot carry is refused, not thrown.
    expect(await c.dispatch('saveScenario', ['s', { f: () => 1 }])).toMatchObject({ ok: false, error: { code: 'bad-args', message: expect.stringMatching(/^saveScenario: the arguments cannot be sent/) } });
  });

  it('answers a cheap call during a 200 MB import, and the calling thread keeps turning', async () => {
    const c = client();
    await c.ready;
    const doc = bigExport();
    expect(doc.length).toBeGreaterThan(200 * 1024 * 1024);
    expect(doc.length).toBeLessThan(256 * 1024 * 1024);

    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const arrived: { what: string; ticks: number }[] = [];
    const note = (what: string) => (reply: unknown) => (arrived.push({ what, ticks }), reply);
    try {
      const imported = c.dispatch('importRun', [doc]).then(note('importRun'));
      // Cheap calls issued after the import started; each must get its own reply (ids, not order).
      const listed = c.dispatch('listRuns', []).then(note('listRuns'));
      const saved = ['a', 'b', 'c'].map((name) => c.dispatch('saveScenario', [name, { name }]).then(note(`saveScenario ${name}`)));
      const scenarios = c.dispatch('listScenarios', []).then(note('listScenarios'));
      const [imp, list, a, b, cc, sc] = await Promise.all([imported, listed, ...saved, scenarios]);

      expect(arrived.map((x) => x.what)).toEqual(['listRuns', 'saveScenario a', 'saveScenario b', 'saveScenario c', 'listScenarios', 'importRun']);
      // This thread's timers fired while the worker parsed and wrote the import.
      const atImport = arrived.at(-1)!.ticks;
      const atList = arrived[0]!.ticks;
      console.info(`event-loop ticks: ${atList} when listRuns replied, ${atImport} when importRun replied`);
      expect(atImport - atList).toBeGreaterThanOrEqual(5);

      expect(imp).toEqual({ ok: true, value: { id: 1 } });
      expect(list).toEqual({ ok: true, value: [] });
      const ids = [a, b, cc].map((r) => (r as { value: { id: number } }).value.id);
      expect(new Set(ids).size).toBe(3);
      expect((sc as { ok: boolean }).ok && ((sc as { value: unknown }).value as { id: number; name: string }[]).map((s) => [s.name, s.id])).toEqual([['a', ids[0]], ['b', ids[1]], ['c', ids[2]]]);
    } finally {
      clearInterval(timer);
    }
    // Everything arrived, counted in the database itself.
    const db = new Database(join(c.dataDir, DB_FILENAME), { readonly: true });
    try {
      expect(db.prepare('SELECT COUNT(*) FROM series WHERE run_id = 1').pluck().get()).toBe(SERIES);
      expect(db.prepare('SELECT COUNT(*), SUM(LENGTH(text)) FROM console_logs WHERE run_id = 1').raw().get()).toEqual([CHUNKS, CHUNKS * CHUNK_TEXT]);
      expect(db.prepare('SELECT scenario_name, status, note FROM runs WHERE id = 1').raw().get()).toEqual(['big import', 'finished', 'imported']);
    } finally {
      db.close();
    }
  });

  it('answers the calls a dead worker held with an error, and serves the next call from a new worker', async () => {
    const log = vi.fn();
    const c = client({ workerFile: CRASHING_WORKER, log });
    await c.ready;
    expect(await c.dispatch('beginRun', [begin])).toEqual({ ok: true, value: { id: 1, leaseMs: DEFAULT_LEASE_MS } });
    expect(await c.dispatch('appendSeries', [1, [point(1)]])).toMatchObject({ ok: true });

    const crash = c.dispatch('setNote', [1, 'crash now']);
    const behind = c.dispatch('listRuns', []);
    expect(await crash).toEqual({
      ok: false,
      error: { code: 'internal', message: expect.stringMatching(/^setNote: no reply, the host worker stopped \(exit code 7\)\. .*the next call starts a new host worker$/) },
    });
    expect(await behind).toMatchObject({ ok: false, error: { code: 'internal', message: expect.stringMatching(/^listRuns: no reply, the host worker stopped \(exit code 7\)/) } });
    expect(log).toHaveBeenCalledWith(expect.stringMatching(/^main host worker exited \(code 7\).*2 call\(s\) unanswered$/));

    // A new worker: the run is still there and still running (this host's recorder is alive, so
    // the new connection must not mark it interrupted), the note was never half-written, and
    // the run keeps taking data.
    const runs = await c.dispatch('listRuns', []);
    expect(runs.ok && (runs.value as RunSummary[]).map((r) => [r.id, r.status, r.note])).toEqual([[1, 'running', '']]);
    expect(await c.dispatch('appendSeries', [1, [point(2)]])).toEqual({ ok: true, value: undefined });
    expect(await c.dispatch('setNote', [1, 'fine'])).toEqual({ ok: true, value: undefined });
    const run = await c.dispatch('getRun', [1]);
    expect(run.ok && run.value).toMatchObject({ status: 'running', note: 'fine', series: [{ t: 1 }, { t: 2 }] });
  });

  it('on close, answers the calls already made, closes the database cleanly and refuses later calls', async () => {
    const c = client();
    await c.ready;
    expect(await c.dispatch('exportRun', [1, 'json'])).toMatchObject({ ok: false, error: { code: 'not-found' } }); // starts the bulk worker too
    const begun = c.dispatch('beginRun', [begin]);
    const closed = c.close();
    expect(await begun).toEqual({ ok: true, value: { id: 1, leaseMs: DEFAULT_LEASE_MS } });
    await closed;
    // SQLite removes the WAL file when the last connection closes cleanly.
    expect(existsSync(join(c.dataDir, `${DB_FILENAME}-wal`))).toBe(false);
    expect(await c.dispatch('listRuns', [])).toEqual({ ok: false, error: { code: 'internal', message: 'listRuns: the host is shutting down' } });
    const db = new Database(join(c.dataDir, DB_FILENAME), { readonly: true });
    expect(db.prepare('SELECT scenario_name, status FROM runs').raw().all()).toEqual([['walk', 'running']]);
    db.close();
  });

  it('starts no worker for an import or export that was waiting for the store when close() came', async () => {
    const c = client();
    const exported = c.dispatch('exportRun', [1, 'json']); // waits for main to open the store
    await c.close();
    expect(await exported).toEqual({ ok: false, error: { code: 'internal', message: 'exportRun: the host is shutting down' } });
    // No connection is left open: a bulk worker started after close() would keep the WAL file.
    expect(existsSync(join(c.dataDir, `${DB_FILENAME}-wal`))).toBe(false);
  });

  it('says why when the database cannot be opened, and tries again on the next call', async () => {
    const dataDir = join(tempDir('client'), 'not-a-folder');
    writeFileSync(dataDir, 'a file where the data folder should be');
    const c = client({ dataDir });
    await expect(c.ready).rejects.toThrow(/^the run database could not be opened: EEXIST: .*not-a-folder/);
    expect(await c.dispatch('listRuns', [])).toEqual({
      ok: false,
      error: { code: 'store', message: expect.stringMatching(/^listRuns: no reply, the run database could not be opened: EEXIST: /) },
    });
    expect(await c.dispatch('importRun', ['{}'])).toEqual({
      ok: false,
      error: { code: 'store', message: expect.stringMatching(/^importRun: the run database could not be opened: EEXIST: /) },
    });
  });
});

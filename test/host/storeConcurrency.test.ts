import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { DB_FILENAME, openStore } from '../../electron/host/store.js';
import { REPO, removeTempDirs, tempDir, tinyRun } from './helpers.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  removeTempDirs();
});

const WRITER = join(REPO, 'test', 'host', 'fixtures', 'storeWriter.ts');

/** Starts the writer fixture; resolves with its process and a way to wait for its n-th committed batch. */
function startWriter(dataDir: string, batch: number) {
  const { results } = tinyRun();
  const resultsFile = join(dataDir, 'results.json');
  writeFileSync(resultsFile, JSON.stringify(results));
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dataDir, resultsFile, String(batch)], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  let committed = 0;
  let runId = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const m = /^(running|committed) (\d+)$/.exec(line);
    if (!m) return;
    if (m[1] === 'running') runId = Number(m[2]);
    else committed = Number(m[2]);
    for (const w of waiters.splice(0)) if (committed >= w.n) w.resolve();
    else waiters.push(w);
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    child,
    results,
    get runId() {
      return runId;
    },
    get committed() {
      return committed;
    },
    exited,
    until: (n: number) =>
      new Promise<void>((resolve, reject) => {
        if (committed >= n) return resolve();
        waiters.push({ n, resolve });
        void exited.then(() => reject(new Error(`the writer exited before batch ${n}: ${stderr}`)));
      }),
  };
}

describe('readers and writers on one database file', () => {
  it('a second connection sees the state before an open write transaction, without SQLITE_BUSY', () => {
    const dataDir = tempDir();
    const store = openStore({ dataDir });
    const { id } = store.beginRun({ scenarioName: 's', scenario: {}, modes: ['hap'], seed: 0 });
    store.appendSeries(id, [{ t: 0, domain: 'g1', values: { ops: 0 } }]);
    store.setNote(id, 'before');

    // A raw connection holds a long write transaction open: 20,000 rows and a note change.
    const writer = new Database(join(dataDir, DB_FILENAME));
    writer.exec('BEGIN IMMEDIATE');
    const ins = writer.prepare('INSERT INTO series (run_id, seq, t, domain, values_json) VALUES (?, ?, ?, ?, ?)');
    for (let i = 1; i <= 20_000; i++) ins.run(id, i, i, 'g1', JSON.stringify({ ops: i }));
    writer.prepare('UPDATE runs SET note = ? WHERE id = ?').run('after', id);

    // The store (another connection) and a read-only handle both read without waiting.
    const reader = new Database(join(dataDir, DB_FILENAME), { readonly: true, timeout: 0 });
    const t0 = performance.now();
    expect(store.getRun(id)).toMatchObject({ note: 'before', series: [{ t: 0, domain: 'g1', values: { ops: 0 } }] });
    expect(store.listRuns()[0]!.note).toBe('before');
    expect(reader.prepare('SELECT COUNT(*) FROM series').pluck().get()).toBe(1);
    expect(performance.now() - t0).toBeLessThan(1000);

    writer.exec('COMMIT');
    expect(store.getRun(id)!.series).toHaveLength(20_001);
    expect(store.getRun(id)!.note).toBe('after');
    expect(reader.prepare('SELECT COUNT(*) FROM series').pluck().get()).toBe(20_001);
    writer.close();
    reader.close();
    store.close();
  });

  it('another process reading while the store writes big batches sees only whole batches', async () => {
    const dataDir = tempDir();
    const BATCH = 20_000;
    const w = startWriter(dataDir, BATCH);
    await w.until(1);
    const reader = new Database(join(dataDir, DB_FILENAME), { readonly: true, timeout: 0 });
    const count = reader.prepare('SELECT COUNT(*) AS n, COALESCE(MAX(seq) + 1, 0) AS next FROM series WHERE run_id = ?');
    const seen = new Set<number>();
    let reads = 0;
    while (w.committed < 6 && w.child.exitCode === null) {
      // Each statement is its own read transaction: one consistent snapshot.
      const { n, next } = count.get(w.runId) as { n: number; next: number };
      expect(n % BATCH).toBe(0);
      expect(next).toBe(n);
      seen.add(n);
      reads++;
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(w.child.exitCode).toBeNull();
    w.child.kill('SIGKILL');
    await w.exited;
    reader.close();
    expect(reads).toBeGreaterThan(5);
    // The reader saw the table grow while the writer was going (not just one snapshot).
    expect(seen.size).toBeGreaterThan(1);
  });
});

describe('a host killed mid-run', () => {
  it('keeps earlier runs intact, marks the killed run interrupted, and keeps its committed series', async () => {
    const dataDir = tempDir();
    // Batches big enough (tens of ms each) that the kill most likely lands inside a transaction.
    const BATCH = 2000;
    const w = startWriter(dataDir, BATCH);
    await w.until(5);
    w.child.kill('SIGKILL');
    await w.exited;
    expect(w.child.signalCode).toBe('SIGKILL');
    const reportedBatches = w.committed;

    const store = openStore({ dataDir });
    expect(store.health).toEqual({ ok: true });
    expect(store.interrupted).toEqual([w.runId]);
    const runs = store.listRuns();
    expect(runs.map((r) => [r.scenarioName, r.status])).toEqual([
      ['killed', 'interrupted'],
      ['done-2', 'finished'],
      ['done-1', 'finished'],
    ]);
    const guests = w.results.domains.filter((d) => d.role === 'guest');
    for (const r of runs.slice(1)) {
      expect(r.headline!.domains.map((d) => [d.name, d.ops, d.cyclesPerOp, d.refsPerWalk])).toEqual(guests.map((d) => [d.name, d.ops, d.cycles.perOp, d.walk.refsPerWalk]));
      expect(store.getRun(r.id)!.results).toEqual(w.results);
    }

    const killed = store.getRun(w.runId)!;
    expect(killed.error).toMatch(/before the run finished/);
    // Every batch the writer reported is there; a batch cut off by the kill is absent, not half there.
    const n = killed.series.length;
    expect(n % BATCH).toBe(0);
    expect(n).toBeGreaterThanOrEqual(reportedBatches * BATCH);
    expect(killed.series.map((p) => p.t)).toEqual(Array.from({ length: n }, (_, i) => i));

    // The reopened store works, and the database passes a full integrity check.
    expect(() => store.appendSeries(w.runId, [{ t: 1e9, domain: 'g1', values: {} }])).toThrow(/interrupted, not running/);
    const next = store.beginRun({ scenarioName: 'after', scenario: {}, modes: ['hap'], seed: 4 });
    store.finishRun(next.id, { status: 'finished', results: w.results });
    expect(store.listRuns()[0]).toMatchObject({ id: next.id, status: 'finished' });
    store.close();
    const raw = new Database(join(dataDir, DB_FILENAME), { readonly: true });
    expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
    raw.close();
  });
});

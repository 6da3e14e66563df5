import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { DB_FILENAME, openStore, type RunStore } from '../../electron/host/store.js';
import { SCHEMA_VERSION } from '../../electron/host/schema.js';
import { removeTempDirs, steppingClock, tempDir } from './helpers.js';

afterEach(removeTempDirs);

/** The clock's first tick, as the kept file's name spells it. */
const STAMP = '2025-01-02T03-04-06-000Z';

function expectFreshAndUsable(store: RunStore): void {
  expect(store.listRuns()).toEqual([]);
  const { id } = store.beginRun({ scenarioName: 'after', scenario: {}, modes: ['pv'], seed: 9 });
  store.appendSeries(id, [{ t: 1, domain: 'g1', values: { ops: 1 } }]);
  store.finishRun(id, { status: 'cancelled' });
  expect(store.getRun(id)).toMatchObject({ status: 'cancelled', series: [{ t: 1 }] });
  const raw = new Database(store.file, { readonly: true });
  expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
  raw.close();
}

function expectKept(store: RunStore, dataDir: string, expectedName: string, original: Buffer): void {
  const health = store.health;
  expect(health.ok).toBe(false);
  if (health.ok) return;
  expect(health.keptAs).toBe(join(dataDir, expectedName));
  expect(readFileSync(health.keptAs!).equals(original)).toBe(true);
  // The message says where the old file went, so a user can find it.
  expect(health.problem).toContain(health.keptAs!);
}

describe('store health', () => {
  it('moves a file of garbage bytes aside, byte for byte, reports it, and opens a fresh store', () => {
    const dataDir = tempDir();
    const garbage = Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 37 + 11) & 0xff));
    writeFileSync(join(dataDir, DB_FILENAME), garbage);
    const store = openStore({ dataDir, now: steppingClock() });
    expectKept(store, dataDir, `${DB_FILENAME}.corrupt-${STAMP}`, garbage);
    if (!store.health.ok) expect(store.health.problem).toMatch(/not a SQLite database/);
    expectFreshAndUsable(store);
    store.close();
  });

  it('detects a truncated real database by quick_check, keeps it aside unchanged, and starts fresh', () => {
    const dataDir = tempDir();
    const first = openStore({ dataDir });
    for (let r = 0; r < 3; r++) {
      const { id } = first.beginRun({ scenarioName: `r${r}`, scenario: {}, modes: ['hap'], seed: r });
      first.appendSeries(id, Array.from({ length: 3000 }, (_, i) => ({ t: i, domain: 'g1', values: { ops: i, tlbMissRate: i / 3000 } })));
    }
    first.close();
    const file = join(dataDir, DB_FILENAME);
    expect(existsSync(`${file}-wal`)).toBe(false);
    const whole = readFileSync(file);
    const truncated = whole.subarray(0, Math.floor(whole.length / 2));
    expect(truncated.subarray(0, 16).toString('latin1')).toBe('SQLite format 3\0');
    writeFileSync(file, truncated);

    const store = openStore({ dataDir, now: steppingClock() });
    expectKept(store, dataDir, `${DB_FILENAME}.corrupt-${STAMP}`, truncated);
    if (!store.health.ok) expect(store.health.problem).toMatch(/malformed|quick_check/);
    expectFreshAndUsable(store);
    store.close();
  });

  it('moves a database from a newer schema aside without modifying it, and says which version it is', () => {
    const dataDir = tempDir();
    const file = join(dataDir, DB_FILENAME);
    const future = new Database(file);
    future.pragma('journal_mode = WAL');
    future.exec("CREATE TABLE runs_v99 (id INTEGER PRIMARY KEY, x TEXT); INSERT INTO runs_v99 (x) VALUES ('from the future');");
    future.pragma(`user_version = ${SCHEMA_VERSION + 98}`);
    future.close();
    const before = readFileSync(file);

    const store = openStore({ dataDir, now: steppingClock() });
    const v = SCHEMA_VERSION + 98;
    expectKept(store, dataDir, `${DB_FILENAME}.newer-v${v}-${STAMP}`, before);
    if (!store.health.ok) {
      expect(store.health.problem).toContain(`schema version ${v}`);
      expect(store.health.problem).toMatch(/not modified/);
    }
    expectFreshAndUsable(store);
    store.close();
    // Nothing else left behind: no -wal or -shm made by looking at the file.
    expect(readdirSync(dataDir).sort()).toEqual([DB_FILENAME, `${DB_FILENAME}.newer-v${v}-${STAMP}`]);

    // Still the newer app's database: its table and row are there.
    const kept = new Database(join(dataDir, `${DB_FILENAME}.newer-v${v}-${STAMP}`), { readonly: true });
    expect(kept.prepare('SELECT x FROM runs_v99').pluck().get()).toBe('from the future');
    kept.close();
  });

  it('keeps its -wal beside the kept file, and never reuses the name of an earlier kept file', () => {
    const dataDir = tempDir();
    const file = join(dataDir, DB_FILENAME);
    const clock = () => new Date(Date.UTC(2025, 5, 6, 7, 8, 9));
    writeFileSync(file, 'not a database, take one');
    writeFileSync(`${file}-wal`, 'its wal');
    openStore({ dataDir, now: clock }).close();
    writeFileSync(file, 'not a database, take two');
    const second = openStore({ dataDir, now: clock });
    second.close();
    const names = readdirSync(dataDir).filter((n) => n.includes('.corrupt-')).sort();
    const stamp = '2025-06-06T07-08-09-000Z';
    expect(names).toEqual([`${DB_FILENAME}.corrupt-${stamp}`, `${DB_FILENAME}.corrupt-${stamp}-1`, `${DB_FILENAME}.corrupt-${stamp}-wal`]);
    expect(readFileSync(join(dataDir, names[0]!), 'utf8')).toBe('not a database, take one');
    expect(readFileSync(join(dataDir, names[2]!), 'utf8')).toBe('its wal');
    expect(readFileSync(join(dataDir, names[1]!), 'utf8')).toBe('not a database, take two');
    expect(second.health.ok ? null : basename(second.health.keptAs!)).toBe(names[1]);
  });

  it('reports a healthy database as ok and leaves it where it is', () => {
    const dataDir = tempDir();
    openStore({ dataDir }).close();
    const store = openStore({ dataDir });
    expect(store.health).toEqual({ ok: true });
    expect(readdirSync(dataDir).filter((n) => n.includes('corrupt') || n.includes('newer'))).toEqual([]);
    store.close();
  });
});

import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { DB_FILENAME, openStore } from '../../electron/host/store.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../electron/host/schema.js';
import { removeTempDirs, tempDir } from './helpers.js';

afterEach(removeTempDirs);

const TABLES = ['console_logs', 'lab_progress', 'runs', 'scenarios', 'series'];

function inspect(file: string) {
  const db = new Database(file, { readonly: true });
  try {
    return {
      version: db.pragma('user_version', { simple: true }) as number,
      journal: db.pragma('journal_mode', { simple: true }) as string,
      tables: (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[]),
      runColumns: (db.prepare("SELECT name FROM pragma_table_info('runs')").pluck().all() as string[]),
      cascades: db.prepare("SELECT \"table\", on_delete FROM pragma_foreign_key_list('series') UNION ALL SELECT \"table\", on_delete FROM pragma_foreign_key_list('console_logs')").all(),
    };
  } finally {
    db.close();
  }
}

describe('store schema migrations', () => {
  it('numbers the migrations 1, 2, … so user_version counts them', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
  });

  it('creates the data folder and a database at the latest version, in WAL mode, with every table', () => {
    const dataDir = join(tempDir(), 'not', 'yet', 'there');
    const store = openStore({ dataDir });
    expect(store.health).toEqual({ ok: true });
    store.close();
    const file = join(dataDir, DB_FILENAME);
    expect(existsSync(file)).toBe(true);
    const got = inspect(file);
    expect(got.version).toBe(SCHEMA_VERSION);
    expect(got.journal).toBe('wal');
    expect(got.tables).toEqual(TABLES);
    expect(got.runColumns).toEqual([
      'id', 'scenario_name', 'scenario_json', 'modes_json', 'seed', 'app_version', 'started_at',
      'ended_at', 'status', 'results_json', 'headline_json', 'error', 'note',
      // version 2: saved comparisons and run leases
      'kind', 'compare_json', 'lease_until',
    ]);
    expect(got.cascades).toEqual([
      { table: 'runs', on_delete: 'CASCADE' },
      { table: 'runs', on_delete: 'CASCADE' },
    ]);
  });

  it('migrates an empty (0-byte) hyperlab.db in place instead of calling it corrupt', () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, DB_FILENAME), '');
    const store = openStore({ dataDir });
    expect(store.health).toEqual({ ok: true });
    store.close();
    expect(inspect(join(dataDir, DB_FILENAME)).version).toBe(SCHEMA_VERSION);
  });

  it('reopening is idempotent: same version, same tables, saved data kept, nothing reported', () => {
    const dataDir = tempDir();
    const first = openStore({ dataDir });
    const { id } = first.saveScenario('walk', { name: 'walk' });
    const run = first.beginRun({ scenarioName: 'walk', scenario: {}, modes: ['hap'], seed: 7 });
    first.finishRun(run.id, { status: 'failed', error: 'boom' });
    first.close();
    for (let i = 0; i < 3; i++) {
      const again = openStore({ dataDir });
      expect(again.health).toEqual({ ok: true });
      expect(again.interrupted).toEqual([]);
      expect(again.listScenarios().map((s) => [s.id, s.name])).toEqual([[id, 'walk']]);
      expect(again.listRuns().map((r) => [r.id, r.status, r.seed])).toEqual([[run.id, 'failed', 7]]);
      again.close();
    }
    const got = inspect(join(dataDir, DB_FILENAME));
    expect(got.version).toBe(SCHEMA_VERSION);
    expect(got.tables).toEqual(TABLES);
  });

  it('applies only the missing migrations to a database an older build left at version 0', () => {
    const dataDir = tempDir();
    const raw = new Database(join(dataDir, DB_FILENAME));
    raw.exec('CREATE TABLE leftover (x)');
    raw.close();
    const store = openStore({ dataDir });
    expect(store.health).toEqual({ ok: true });
    store.close();
    const got = inspect(join(dataDir, DB_FILENAME));
    expect(got.version).toBe(SCHEMA_VERSION);
    expect(got.tables).toEqual([...TABLES, 'leftover'].sort());
  });
});

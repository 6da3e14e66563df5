// Lab sheet progress in the run store: saved per student and sheet, replaced on save, listed by
// student; refused when it does not belong to the sheet; and the migration that added it (schema
// version 3) keeps the runs of a version 2 database.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { parseHostArgs } from '../../core/api/host.js';
import { DB_FILENAME, openStore } from '../../electron/host/store.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../electron/host/schema.js';
import { removeTempDirs, tempDir } from './helpers.js';

afterEach(removeTempDirs);

const progress = (sheetId: string, answer: string) => ({ sheetId, predictions: { '2': answer } });

describe('lab progress', () => {
  it('is saved per student and sheet, replaced by a later save, and read back after reopening', () => {
    const dataDir = tempDir('labs');
    let t = Date.parse('2026-12-08T03:00:00Z');
    const store = openStore({ dataDir, now: () => new Date((t += 1000)) });
    store.saveLabProgress('Ada', 'c7-walk-length', progress('c7-walk-length', '20'));
    store.saveLabProgress('Ada', 'c7-walk-length', progress('c7-walk-length', '24'));
    store.saveLabProgress('Ada', 'c1-isolation-multiplexing', progress('c1-isolation-multiplexing', 'dom0'));
    store.saveLabProgress('bo', 'c7-walk-length', progress('c7-walk-length', '4'));
    store.close();

    const again = openStore({ dataDir });
    expect(again.listLabStudents()).toEqual(['Ada', 'bo']);
    expect(again.getLabProgress('Ada')).toEqual([
      { sheetId: 'c1-isolation-multiplexing', updatedAt: '2026-12-08T03:00:03.000Z', progress: progress('c1-isolation-multiplexing', 'dom0') },
      { sheetId: 'c7-walk-length', updatedAt: '2026-12-08T03:00:02.000Z', progress: progress('c7-walk-length', '24') },
    ]);
    expect(again.getLabProgress('nobody')).toEqual([]);
    again.close();
  });

  it('refuses progress that is not an object of the sheet it is saved under', () => {
    const store = openStore({ dataDir: tempDir('labs-bad') });
    expect(() => store.saveLabProgress('Ada', 'c7', progress('c1', 'x'))).toThrow('saveLabProgress: args[2].sheetId: must be the sheet it is saved under ("c7")');
    expect(() => store.saveLabProgress('Ada', 'c7', [1])).toThrow('the progress must be an object');
    store.close();
  });

  it('checks the host arguments: a name without control characters, a sheet id', () => {
    expect(parseHostArgs('saveLabProgress', ['Ada', 'c7', {}]).ok).toBe(true);
    expect(parseHostArgs('saveLabProgress', ['', 'c7', {}])).toMatchObject({ ok: false, error: { code: 'bad-args' } });
    expect(parseHostArgs('getLabProgress', ['a\nb'])).toMatchObject({ ok: false, error: { code: 'bad-args', message: 'getLabProgress: args[0]: a name without control characters' } });
    expect(parseHostArgs('saveLabProgress', ['Ada', '../x', {}])).toMatchObject({ ok: false, error: { code: 'bad-args' } });
  });
});

describe('migration to schema version 3', () => {
  it('keeps the runs of a version 2 database and adds lab progress', () => {
    const dataDir = tempDir('v2');
    const v2 = new Database(join(dataDir, DB_FILENAME));
    v2.exec(MIGRATIONS[0]!.sql);
    v2.exec(MIGRATIONS[1]!.sql);
    v2.pragma('user_version = 2');
    v2.prepare(
      `INSERT INTO runs (scenario_name, scenario_json, modes_json, seed, app_version, started_at, ended_at, status, results_json, headline_json, error, note)
       VALUES ('old', '{}', '["pv"]', 7, '0.1.0', '2026-12-01T10:00:00.000Z', '2026-12-01T10:01:00.000Z', 'finished', NULL, NULL, NULL, 'kept')`,
    ).run();
    v2.close();

    const store = openStore({ dataDir });
    expect(store.listRuns().map((r) => [r.id, r.scenarioName, r.note])).toEqual([[1, 'old', 'kept']]);
    store.saveLabProgress('Ada', 'c9', progress('c9', '0'));
    expect(store.getLabProgress('Ada')).toHaveLength(1);
    store.close();
    const raw = new Database(join(dataDir, DB_FILENAME), { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBe(3);
    raw.close();
  });
});

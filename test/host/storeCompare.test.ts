// Saved comparisons and sweeps: listed beside runs with their kind, read back whole, exported and
// imported like runs; and the schema change that added them keeps the runs of a database written
// by the previous schema (version 1, built here with its own DDL).
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Results, type SavedCompare, type Scenario } from '../../core/api/index.js';
import { DB_FILENAME, openStore } from '../../electron/host/store.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../electron/host/schema.js';
import { RESULTS_CSV_COLUMNS } from '../../electron/host/export.js';
import { refusal, removeTempDirs, tempDir, tinyRun } from './helpers.js';

afterEach(removeTempDirs);

let results: Results;
let scenario: Scenario;
beforeAll(() => {
  ({ results, scenario } = tinyRun());
});

/** The tiny run's results as if g1 had run under `mode`, with its cycles per op set to `cpo`. */
function asMode(mode: 'pv' | 'shadow' | 'hap', cpo: number): Results {
  const r = structuredClone(results);
  const g1 = r.domains.find((d) => d.name === 'g1')!;
  g1.mode = mode;
  g1.cycles.perOp = cpo;
  return r;
}

function compare(sweep: boolean): SavedCompare {
  const runs = [
    { mode: 'pv' as const, results: asMode('pv', 100) },
    { mode: 'hap' as const, results: asMode('hap', 250) },
  ];
  return {
    guest: 'g1',
    workload: { kind: 'cold-walk', pages: 8 },
    sweep: sweep ? { param: 'pages', values: [8, 16] } : null,
    result: { scenario: 'walk-4k', workload: 'cold-walk', modes: ['pv', 'hap'], runs, skipped: [{ mode: 'shadow', reason: 'not chosen' }] },
    sweepPoints: sweep
      ? [
          { value: 8, mode: 'pv', cyclesPerOp: 100, results: asMode('pv', 100) },
          { value: 8, mode: 'hap', cyclesPerOp: 250, results: asMode('hap', 250) },
          { value: 16, mode: 'pv', cyclesPerOp: 110, results: asMode('pv', 110) },
          { value: 16, mode: 'hap', cyclesPerOp: 240, results: asMode('hap', 240) },
        ]
      : null,
  };
}

describe('saved comparisons', () => {
  it('lists a comparison and a sweep beside runs, with their kind and a headline per mode', () => {
    const store = openStore({ dataDir: tempDir('cmp') });
    const run = store.beginRun({ scenarioName: 'walk', scenario, modes: ['pv'], seed: 1 }).id;
    const c = store.saveCompare({ scenarioName: 'walk-4k', scenario, seed: 3, compare: compare(false) }).id;
    const s = store.saveCompare({ scenarioName: 'walk-4k', scenario, seed: 3, compare: compare(true) }).id;
    const listed = store.listRuns();
    expect(listed.map((r) => [r.id, r.kind, r.status, r.modes])).toEqual([
      [s, 'sweep', 'finished', ['pv', 'hap']],
      [c, 'compare', 'finished', ['pv', 'hap']],
      [run, 'run', 'running', ['pv']],
    ]);
    expect(listed[1]!.headline!.domains.map((d) => [d.name, d.mode, d.cyclesPerOp])).toEqual([
      ['g1', 'pv', 100],
      ['g1', 'hap', 250],
    ]);
    const got = store.getRun(s)!;
    expect(got.compare).toEqual(compare(true));
    expect(got.scenario).toEqual(scenario);
    expect(got.seed).toBe(3);
    expect(store.getRun(run)!.compare).toBeNull();
    store.close();
  });

  it('refuses a comparison whose data is not one, naming the field', () => {
    const store = openStore({ dataDir: tempDir('cmp') });
    const bad = compare(false) as unknown as { result: { runs: { mode: string }[] } };
    bad.result.runs[1]!.mode = 'ept';
    expect(refusal(() => store.saveCompare({ scenarioName: 'x', scenario, seed: 1, compare: bad as unknown as SavedCompare })).message).toMatch(
      /^saveCompare: compare\.result\.runs\[1\]\.mode: /,
    );
    const noPoints = { ...compare(true), sweepPoints: null };
    expect(refusal(() => store.saveCompare({ scenarioName: 'x', scenario, seed: 1, compare: noPoints })).message).toBe(
      'saveCompare: compare.sweepPoints: required when compare.sweep is given',
    );
    expect(store.listRuns()).toEqual([]);
    store.close();
  });

  it('exports a sweep as CSV (one row per value and mode) and as JSON that imports back as a sweep', () => {
    const store = openStore({ dataDir: tempDir('cmp') });
    const id = store.saveCompare({ scenarioName: 'walk 4k', scenario, seed: 1, compare: compare(true) }).id;
    const csv = store.exportRun(id, 'csv');
    expect(csv.filename).toBe(`hyperlab-sweep-${id}-walk-4k.csv`);
    const rows = csv.content.trimEnd().split('\r\n').map((l) => l.split(','));
    expect(rows[0]).toEqual(['pages', ...RESULTS_CSV_COLUMNS]);
    const perOp = RESULTS_CSV_COLUMNS.indexOf('cycles.perOp') + 1;
    const mode = RESULTS_CSV_COLUMNS.indexOf('mode') + 1;
    expect(rows.slice(1).map((r) => [r[0], r[mode], r[perOp]])).toEqual([
      ['8', 'pv', '100'],
      ['8', 'hap', '250'],
      ['16', 'pv', '110'],
      ['16', 'hap', '240'],
    ]);
    const json = store.exportRun(id, 'json');
    expect(json.filename).toBe(`hyperlab-sweep-${id}-walk-4k.json`);
    expect(JSON.parse(json.content).formatVersion).toBe(2);
    const back = store.importRun(json.content).id;
    const again = store.getRun(back)!;
    expect([again.kind, again.status]).toEqual(['sweep', 'finished']);
    expect(again.compare).toEqual(compare(true));
    store.close();
  });

  it('exports a live run as format version 1, as before, so an older Hyperlab still imports it', () => {
    const store = openStore({ dataDir: tempDir('cmp') });
    const id = store.beginRun({ scenarioName: 'walk', scenario, modes: ['pv'], seed: 1 }).id;
    store.finishRun(id, { status: 'finished', results });
    expect(JSON.parse(store.exportRun(id, 'json').content).formatVersion).toBe(1);
    store.close();
  });

  it('a damaged comparison fails to open with a store error, and the list still reads', () => {
    const dataDir = tempDir('cmp');
    const store = openStore({ dataDir });
    const id = store.saveCompare({ scenarioName: 'walk', scenario, seed: 1, compare: compare(false) }).id;
    const raw = new Database(join(dataDir, DB_FILENAME));
    // The kind column takes only the three kinds; the JSON is checked only when read.
    expect(() => raw.prepare("UPDATE runs SET kind = 'nonsense' WHERE id = ?").run(id)).toThrow(/CHECK constraint failed/);
    raw.prepare("UPDATE runs SET compare_json = '{not json' WHERE id = ?").run(id);
    raw.close();
    expect(store.listRuns().map((r) => [r.id, r.kind])).toEqual([[id, 'compare']]);
    const e = refusal(() => store.getRun(id));
    expect([e.code, e.message]).toEqual(['store', `run ${id}'s comparison in the database is not valid JSON; the file may have been edited by hand`]);
    store.close();
  });
});

describe('migration from schema version 1', () => {
  it('keeps the runs of a version 1 database, marks its running run interrupted, and then saves comparisons', () => {
    const dataDir = tempDir('v1');
    const v1 = new Database(join(dataDir, DB_FILENAME));
    v1.pragma('journal_mode = WAL');
    v1.exec(MIGRATIONS[0]!.sql);
    v1.pragma('user_version = 1');
    const insert = v1.prepare(
      `INSERT INTO runs (scenario_name, scenario_json, modes_json, seed, app_version, started_at, ended_at, status, results_json, headline_json, error, note)
       VALUES (?, ?, '["pv","shadow"]', 7, '0.1.0', '2026-12-01T10:00:00.000Z', ?, ?, ?, NULL, NULL, ?)`,
    );
    insert.run('old-finished', JSON.stringify(scenario), '2026-12-01T10:01:00.000Z', 'finished', JSON.stringify(results), 'kept');
    insert.run('old-running', JSON.stringify(scenario), null, 'running', null, '');
    v1.prepare("INSERT INTO series (run_id, seq, t, domain, values_json) VALUES (2, 0, 100, 'g1', '{\"ops\":3}')").run();
    v1.prepare("INSERT INTO console_logs (run_id, seq, console, text) VALUES (2, 0, 'dom0', 'booting\n')").run();
    v1.close();

    const store = openStore({ dataDir });
    expect(store.health).toEqual({ ok: true });
    expect(store.interrupted).toEqual([2]);
    expect(store.listRuns().map((r) => [r.id, r.scenarioName, r.kind, r.status, r.note])).toEqual([
      [2, 'old-running', 'run', 'interrupted', ''],
      [1, 'old-finished', 'run', 'finished', 'kept'],
    ]);
    expect(store.getRun(1)!.results).toEqual(results);
    const two = store.getRun(2)!;
    expect([two.series.length, two.console]).toEqual([1, [{ console: 'dom0', text: 'booting\n' }]]);
    const c = store.saveCompare({ scenarioName: 'walk', scenario, seed: 1, compare: compare(false) }).id;
    expect(c).toBe(3);
    expect(store.getRun(c)!.compare).toEqual(compare(false));
    store.close();

    const raw = new Database(join(dataDir, DB_FILENAME), { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    raw.close();
  });
});

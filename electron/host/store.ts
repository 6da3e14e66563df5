/**
 * The run store: saved scenarios and runs (scenario snapshot, results, live series, console
 * logs, a note) in one SQLite file, `hyperlab.db` in the data folder. Synchronous, because
 * better-sqlite3 is; it runs in a host worker thread (hostWorker.ts), never on a host's main thread.
 *
 * Durability: WAL journal with synchronous=NORMAL, so a committed transaction survives the app
 * being killed (only an OS crash or power loss can lose the last few), and readers never wait for
 * a writer. Every write that touches more than one row is one transaction, so a run that dies
 * mid-way keeps whole batches, never half of one. One host process owns a data folder at a time
 * (Electron's single-instance lock): opening the store marks any run still 'running' as
 * 'interrupted', because the process that was running it is gone. The host's further
 * connections (its second worker, a worker restarted after a crash) open with recover: false.
 *
 * Leases: the host outlives its pages in browser mode (a tab closed mid-run, a page reloaded), so
 * a running run also has a lease (lease_until) that its recording page renews (renewLease, and
 * every append). A run whose lease ran out is marked 'interrupted' before anything reads or
 * writes it, keeping what was saved; a late renewal or append is then refused.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  DEFAULT_LEASE_MS,
  HostError,
  RUN_KINDS,
  type BeginRunArgs,
  type ConsoleChunk,
  type FinishRunArgs,
  type LabProgressRecord,
  type RunDetail,
  type RunHeadline,
  type RunKind,
  type RunStatus,
  type RunSummary,
  type SaveCompareArgs,
  type SavedCompare,
  type SavedScenario,
  type SeriesPoint,
  type StoreHealth,
} from '../../core/api/host.js';
import type { Results } from '../../core/api/results.js';
import type { PagingMode } from '../../core/api/scenario.js';
import { VERSION } from '../../core/api/version.js';
import { checkCompare, checkResults, compareHeadline, compareKind, headlineOf, modesOf, parseRunExport, runExport, toJson } from './documents.js';
import { compareCsv, exportFilename, resultsCsv } from './export.js';
import { diagnose, setAside } from './health.js';
import { migrate, SCHEMA_VERSION } from './schema.js';

export const DB_FILENAME = 'hyperlab.db';
/** A sheet's progress document: predictions, outcomes and chart rows, far below this. */
export const LAB_PROGRESS_MAX = 1024 * 1024;
/** How long a write waits for another connection's write lock before SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;

export interface StoreOptions {
  dataDir: string;
  /** Path of better_sqlite3.node built for this runtime (Electron's ABI differs from Node's). */
  nativeBinding?: string;
  now?: () => Date;
  /**
   * Default true: this host process is opening the folder for the first time, so check the file
   * (moving a damaged or newer one aside) and mark runs left 'running' as interrupted. False for
   * a second connection of the same host (a host worker restarted after a crash, the bulk worker):
   * the renderer that runs those runs is still alive and recording, and the file was checked.
   */
  recover?: boolean;
  /** How long a running run stays 'running' without a renewal (DEFAULT_LEASE_MS). */
  leaseMs?: number;
}

export interface RunStore {
  /** The database file. */
  readonly file: string;
  readonly health: StoreHealth;
  /** Runs found 'running' when the store opened, now 'interrupted'. */
  readonly interrupted: readonly number[];
  /** Newest first (by id, so an imported run appears at the top). */
  listRuns(): RunSummary[];
  getRun(id: number): RunDetail | null;
  beginRun(args: BeginRunArgs): { id: number; leaseMs: number };
  /** The run's page is alive: its lease starts again. Refused (bad-args) if it is not running. */
  renewLease(id: number): void;
  /** Marks running runs whose lease ran out as 'interrupted'; returns their ids. */
  expireLeases(): number[];
  /** Saves a comparison as a finished entry of kind 'compare' or 'sweep'. */
  saveCompare(args: SaveCompareArgs): { id: number };
  appendSeries(id: number, points: readonly SeriesPoint[]): void;
  appendConsole(id: number, chunks: readonly ConsoleChunk[]): void;
  finishRun(id: number, end: FinishRunArgs): void;
  setNote(id: number, note: string): void;
  deleteRun(id: number): void;
  /** By name. */
  listScenarios(): SavedScenario[];
  /** Inserts, or replaces the scenario saved under the same name (keeping its id). */
  saveScenario(name: string, scenario: unknown): { id: number };
  deleteScenario(id: number): void;
  exportRun(id: number, format: 'json' | 'csv'): { filename: string; content: string };
  importRun(content: string): { id: number };
  /** Lab sheets: students with saved progress, by name. */
  listLabStudents(): string[];
  /** Lab sheets: a student's progress, one record per sheet (by sheet id). */
  getLabProgress(student: string): LabProgressRecord[];
  /** Lab sheets: inserts or replaces a student's progress on one sheet. */
  saveLabProgress(student: string, sheetId: string, progress: unknown): void;
  close(): void;
}

interface RunRow {
  id: number;
  scenario_name: string;
  modes_json: string;
  seed: number;
  app_version: string;
  started_at: string;
  ended_at: string | null;
  status: RunStatus;
  headline_json: string | null;
  note: string;
  kind: string;
}
interface RunDetailRow extends RunRow {
  scenario_json: string;
  compare_json: string | null;
  results_json: string | null;
  error: string | null;
}
interface SeriesRow {
  t: number;
  domain: string;
  values_json: string;
}
interface ScenarioRow {
  id: number;
  name: string;
  updated_at: string;
  json: string;
}

const SUMMARY_COLUMNS = 'id, scenario_name, modes_json, seed, app_version, started_at, ended_at, status, headline_json, note, kind';
const FINISH_STATUSES: readonly RunStatus[] = ['finished', 'failed', 'cancelled'];

function parseStored<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new HostError('store', `${what} in the database is not valid JSON; the file may have been edited by hand`);
  }
}

function summaryOf(r: RunRow): RunSummary {
  return {
    id: r.id,
    scenarioName: r.scenario_name,
    modes: parseStored<PagingMode[]>(r.modes_json, `run ${r.id}'s modes`),
    seed: r.seed,
    appVersion: r.app_version,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    status: r.status,
    headline: r.headline_json === null ? null : parseStored<RunHeadline>(r.headline_json, `run ${r.id}'s headline`),
    note: r.note,
    kind: (RUN_KINDS as readonly string[]).includes(r.kind) ? (r.kind as RunKind) : 'run',
  };
}

function openDatabase(file: string, opts: StoreOptions): Database.Database {
  const db = new Database(file, { nativeBinding: opts.nativeBinding, timeout: BUSY_TIMEOUT_MS });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // Per connection, off by default in SQLite: without it ON DELETE CASCADE does nothing.
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    migrate(db);
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

export function openStore(opts: StoreOptions): RunStore {
  const now = opts.now ?? (() => new Date());
  const leaseMs = opts.leaseMs ?? DEFAULT_LEASE_MS;
  if (!(Number.isInteger(leaseMs) && leaseMs > 0)) throw new Error(`leaseMs: expected a positive whole number of milliseconds, got ${leaseMs}`);
  const leaseEnd = () => now().getTime() + leaseMs;
  const iso = () => now().toISOString();
  mkdirSync(opts.dataDir, { recursive: true });
  const file = join(opts.dataDir, DB_FILENAME);

  const recover = opts.recover ?? true;
  let health: StoreHealth = { ok: true };
  const found = recover ? diagnose(file, opts.nativeBinding) : ({ kind: 'ok' } as const);
  if (found.kind === 'corrupt') {
    const keptAs = setAside(file, 'corrupt', now());
    health = {
      ok: false,
      keptAs,
      problem: `The run database ${file} could not be used: ${found.detail}. It was moved aside, unchanged, to ${keptAs} and a new, empty database was opened; runs and scenarios saved in the old file are not shown.`,
    };
  } else if (found.kind === 'newer') {
    const keptAs = setAside(file, `newer-v${found.version}`, now());
    health = {
      ok: false,
      keptAs,
      problem: `The run database ${file} has schema version ${found.version}, but this Hyperlab (${VERSION}) knows versions up to ${SCHEMA_VERSION}: a newer Hyperlab wrote it. It was not modified: it was moved aside to ${keptAs} and a new, empty database was opened. To see its runs, install the newer Hyperlab and move the file back to ${DB_FILENAME}.`,
    };
  }

  const db = openDatabase(file, opts);
  const interrupted = !recover ? [] : (
    db
      .prepare("UPDATE runs SET status = 'interrupted', error = COALESCE(error, ?) WHERE status = 'running' RETURNING id")
      .pluck()
      .all('the host stopped (quit or crashed) before the run finished; the series and console saved until then are kept') as number[]
  ).sort((a, b) => a - b);

  const q = {
    runStatus: db.prepare('SELECT status FROM runs WHERE id = ?').pluck(),
    listRuns: db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM runs ORDER BY id DESC`),
    runDetail: db.prepare(`SELECT ${SUMMARY_COLUMNS}, scenario_json, results_json, error, compare_json FROM runs WHERE id = ?`),
    anyExpired: db.prepare("SELECT 1 FROM runs WHERE status = 'running' AND lease_until < ? LIMIT 1").pluck(),
    expire: db
      .prepare(
        "UPDATE runs SET status = 'interrupted', lease_until = NULL, error = COALESCE(error, ?) WHERE status = 'running' AND lease_until < ? RETURNING id",
      )
      .pluck(),
    renew: db.prepare("UPDATE runs SET lease_until = ? WHERE id = ? AND status = 'running'"),
    series: db.prepare('SELECT t, domain, values_json FROM series WHERE run_id = ? ORDER BY seq'),
    console: db.prepare('SELECT console, text FROM console_logs WHERE run_id = ? ORDER BY seq'),
    insertRun: db.prepare(
      `INSERT INTO runs (scenario_name, scenario_json, modes_json, seed, app_version, started_at, ended_at, status, results_json, headline_json, error, note, kind, compare_json, lease_until)
       VALUES (@scenarioName, @scenarioJson, @modesJson, @seed, @appVersion, @startedAt, @endedAt, @status, @resultsJson, @headlineJson, @error, @note, @kind, @compareJson, @leaseUntil)`,
    ),
    nextSeriesSeq: db.prepare('SELECT COALESCE(MAX(seq) + 1, 0) FROM series WHERE run_id = ?').pluck(),
    nextConsoleSeq: db.prepare('SELECT COALESCE(MAX(seq) + 1, 0) FROM console_logs WHERE run_id = ?').pluck(),
    insertSeries: db.prepare('INSERT INTO series (run_id, seq, t, domain, values_json) VALUES (?, ?, ?, ?, ?)'),
    insertConsole: db.prepare('INSERT INTO console_logs (run_id, seq, console, text) VALUES (?, ?, ?, ?)'),
    finish: db.prepare(
      'UPDATE runs SET status = ?, ended_at = ?, results_json = ?, headline_json = ?, modes_json = COALESCE(?, modes_json), error = ?, lease_until = NULL WHERE id = ?',
    ),
    setNote: db.prepare('UPDATE runs SET note = ? WHERE id = ?'),
    deleteRun: db.prepare('DELETE FROM runs WHERE id = ?'),
    labStudents: db.prepare('SELECT DISTINCT student FROM lab_progress ORDER BY student COLLATE NOCASE').pluck(),
    labProgress: db.prepare('SELECT sheet_id, updated_at, json FROM lab_progress WHERE student = ? ORDER BY sheet_id'),
    saveLabProgress: db.prepare(
      `INSERT INTO lab_progress (student, sheet_id, updated_at, json) VALUES (?, ?, ?, ?)
       ON CONFLICT (student, sheet_id) DO UPDATE SET updated_at = excluded.updated_at, json = excluded.json`,
    ),
    listScenarios: db.prepare('SELECT id, name, updated_at, json FROM scenarios ORDER BY name COLLATE NOCASE, id'),
    saveScenario: db
      .prepare(
        `INSERT INTO scenarios (name, updated_at, json) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET updated_at = excluded.updated_at, json = excluded.json RETURNING id`,
      )
      .pluck(),
    deleteScenario: db.prepare('DELETE FROM scenarios WHERE id = ?'),
  };

  const leaseWhy = `the page recording it stopped renewing its lease for ${Math.round(leaseMs / 1000)} s (the tab was closed, reloaded or crashed, or the computer slept); the series and console saved until then are kept`;
  /** Marks the runs whose lease ran out; a cheap read first, so most calls take no write lock. */
  const expireLeases = (): number[] => {
    const t = now().getTime();
    if (q.anyExpired.get(t) === undefined) return [];
    return (q.expire.all(leaseWhy, t) as number[]).sort((a, b) => a - b);
  };

  /** The run's status, or not-found; call inside the transaction that acts on it. */
  const statusOf = (id: number, where: string): RunStatus => {
    const s = q.runStatus.get(id) as RunStatus | undefined;
    if (s === undefined) throw new HostError('not-found', `${where}: there is no run ${id} (it may have been deleted)`);
    return s;
  };
  const mustBeRunning = (id: number, where: string, what: string): void => {
    const s = statusOf(id, where);
    if (s !== 'running') throw new HostError('bad-args', `${where}: run ${id} is ${s}, not running; ${what}`);
  };
  /** Expires leases, checks the run still runs, and renews its lease (an append is a sign of life). */
  const aliveAndRenew = (id: number, where: string, what: string): void => {
    expireLeases();
    mustBeRunning(id, where, what);
    q.renew.run(leaseEnd(), id);
  };

  const insertSeries = (id: number, points: readonly SeriesPoint[]): void => {
    let seq = q.nextSeriesSeq.get(id) as number;
    for (const p of points) q.insertSeries.run(id, seq++, p.t, p.domain, toJson(p.values, 'series values'));
  };
  const insertConsole = (id: number, chunks: readonly ConsoleChunk[]): void => {
    let seq = q.nextConsoleSeq.get(id) as number;
    for (const c of chunks) q.insertConsole.run(id, seq++, c.console, c.text);
  };

  // A read in one transaction sees one snapshot: the run row, its series and its console agree
  // even while the recorder appends from another call.
  const readRun = db.transaction((id: number): RunDetail | null => {
    const row = q.runDetail.get(id) as RunDetailRow | undefined;
    if (!row) return null;
    const what = `run ${id}'s`;
    const kind = summaryOf(row).kind;
    return {
      ...summaryOf(row),
      scenario: parseStored<unknown>(row.scenario_json, `${what} scenario`),
      results: row.results_json === null ? null : parseStored<Results>(row.results_json, `${what} results`),
      error: row.error,
      series: (q.series.all(id) as SeriesRow[]).map((s) => ({
        t: s.t,
        domain: s.domain,
        values: parseStored<Record<string, number>>(s.values_json, `${what} series`),
      })),
      console: q.console.all(id) as ConsoleChunk[],
      compare: kind === 'run' || row.compare_json === null ? null : parseStored<SavedCompare>(row.compare_json, `${what} comparison`),
    };
  });

  const mustGetRun = (id: number, where: string): RunDetail => {
    const run = readRun(id);
    if (!run) throw new HostError('not-found', `${where}: there is no run ${id} (it may have been deleted)`);
    return run;
  };

  return {
    file,
    health,
    interrupted,

    listRuns: () => {
      expireLeases();
      return (q.listRuns.all() as RunRow[]).map(summaryOf);
    },

    getRun: (id) => {
      expireLeases();
      return readRun(id);
    },

    expireLeases,

    renewLease: db.transaction((id: number) => {
      aliveAndRenew(id, 'renewLease', 'only a running run has a lease');
    }).immediate,

    beginRun(args) {
      const info = q.insertRun.run({
        scenarioName: args.scenarioName,
        scenarioJson: toJson(args.scenario, 'beginRun: scenario'),
        modesJson: JSON.stringify(args.modes),
        seed: args.seed,
        appVersion: VERSION,
        startedAt: iso(),
        endedAt: null,
        status: 'running',
        resultsJson: null,
        headlineJson: null,
        error: null,
        note: '',
        kind: 'run',
        compareJson: null,
        leaseUntil: leaseEnd(),
      });
      return { id: Number(info.lastInsertRowid), leaseMs };
    },

    saveCompare(args) {
      const compare = checkCompare(args.compare, 'saveCompare');
      const at = iso();
      const info = q.insertRun.run({
        scenarioName: args.scenarioName,
        scenarioJson: toJson(args.scenario, 'saveCompare: scenario'),
        modesJson: JSON.stringify(compare.result.runs.map((r) => r.mode)),
        seed: args.seed,
        appVersion: VERSION,
        startedAt: at,
        endedAt: at,
        status: 'finished',
        resultsJson: null,
        headlineJson: JSON.stringify(compareHeadline(compare)),
        error: null,
        note: '',
        kind: compareKind(compare),
        compareJson: toJson(compare, 'saveCompare: compare'),
        leaseUntil: null,
      });
      return { id: Number(info.lastInsertRowid) };
    },

    appendSeries: db.transaction((id: number, points: readonly SeriesPoint[]) => {
      aliveAndRenew(id, 'appendSeries', 'series can only be added while a run goes');
      insertSeries(id, points);
    }).immediate,

    appendConsole: db.transaction((id: number, chunks: readonly ConsoleChunk[]) => {
      aliveAndRenew(id, 'appendConsole', 'console output can only be added while a run goes');
      insertConsole(id, chunks);
    }).immediate,

    finishRun(id, end) {
      if (!FINISH_STATUSES.includes(end.status)) {
        throw new HostError('bad-args', `finishRun: status: expected one of ${FINISH_STATUSES.join(', ')}, got ${JSON.stringify(end.status)}`);
      }
      if (end.status === 'finished' && end.results === undefined) {
        throw new HostError('bad-args', 'finishRun: results: required when status is "finished"');
      }
      const results = end.results === undefined ? null : checkResults(end.results, 'finishRun');
      const resultsJson = results && toJson(results, 'finishRun: results');
      const headlineJson = results && JSON.stringify(headlineOf(results));
      const modesJson = results && JSON.stringify(modesOf(results));
      db.transaction(() => {
        expireLeases();
        mustBeRunning(id, 'finishRun', 'a run is finished only once');
        q.finish.run(end.status, iso(), resultsJson, headlineJson, modesJson, end.error ?? null, id);
      }).immediate();
    },

    setNote(id, note) {
      if (q.setNote.run(note, id).changes === 0) throw new HostError('not-found', `setNote: there is no run ${id}`);
    },

    deleteRun(id) {
      // Series and console rows go with it (ON DELETE CASCADE), in the same statement.
      if (q.deleteRun.run(id).changes === 0) throw new HostError('not-found', `deleteRun: there is no run ${id}`);
    },

    listScenarios: () =>
      (q.listScenarios.all() as ScenarioRow[]).map((r) => ({
        id: r.id,
        name: r.name,
        updatedAt: r.updated_at,
        scenario: parseStored<unknown>(r.json, `scenario "${r.name}"`),
      })),

    saveScenario(name, scenario) {
      const id = q.saveScenario.get(name, iso(), toJson(scenario, 'saveScenario: scenario')) as number;
      return { id };
    },

    deleteScenario(id) {
      if (q.deleteScenario.run(id).changes === 0) throw new HostError('not-found', `deleteScenario: there is no saved scenario ${id}`);
    },

    exportRun(id, format) {
      expireLeases();
      const run = mustGetRun(id, 'exportRun');
      if (format === 'json') {
        return { filename: exportFilename(id, run.scenarioName, 'json', run.kind), content: JSON.stringify(runExport(run, iso()), null, 2) + '\n' };
      }
      if (run.compare) return { filename: exportFilename(id, run.scenarioName, 'csv', run.kind), content: compareCsv(run.compare) };
      if (!run.results) {
        throw new HostError('not-found', `exportRun: run ${id} has no results to put in a CSV (it is ${run.status}); export it as JSON instead`);
      }
      return { filename: exportFilename(id, run.scenarioName, 'csv'), content: resultsCsv(run.results) };
    },

    importRun(content) {
      const run = parseRunExport(content);
      const results = run.results as Results | null;
      const compare = run.compare ? checkCompare(run.compare, 'importRun: run') : null;
      if (!compare && run.kind !== undefined && run.kind !== 'run') {
        throw new HostError('bad-args', `importRun: run.compare: required when run.kind is "${run.kind}"`);
      }
      // Everything but the inserts happens before the transaction: the write lock it takes makes
      // other connections' writes wait (the host's other worker), so it is held only to write.
      const scenarioJson = toJson(run.scenario, 'importRun: run.scenario');
      const seriesJson = run.series.map((p) => toJson(p.values, 'importRun: run.series values'));
      return db.transaction(() => {
        const info = q.insertRun.run({
          scenarioName: run.scenarioName,
          scenarioJson,
          modesJson: JSON.stringify(results ? modesOf(results) : run.modes),
          seed: run.seed,
          appVersion: run.appVersion,
          startedAt: run.startedAt,
          endedAt: run.endedAt,
          // Exported mid-run: nothing will ever finish it here.
          status: run.status === 'running' ? 'interrupted' : run.status,
          resultsJson: results && JSON.stringify(results),
          // Recomputed rather than trusted: the file may come from another version or a hand edit.
          headlineJson: compare ? JSON.stringify(compareHeadline(compare)) : results && JSON.stringify(headlineOf(results)),
          error: run.error,
          note: run.note,
          kind: compare ? compareKind(compare) : 'run',
          compareJson: compare && toJson(compare, 'importRun: run.compare'),
          // An imported run is never live: nothing here records it.
          leaseUntil: null,
        });
        const id = Number(info.lastInsertRowid);
        run.series.forEach((p, seq) => q.insertSeries.run(id, seq, p.t, p.domain, seriesJson[seq]));
        insertConsole(id, run.console);
        return { id };
      }).immediate();
    },

    listLabStudents: () => q.labStudents.all() as string[],
    getLabProgress: (student) =>
      (q.labProgress.all(student) as { sheet_id: string; updated_at: string; json: string }[]).map((r) => ({ sheetId: r.sheet_id, updatedAt: r.updated_at, progress: JSON.parse(r.json) as unknown })),
    saveLabProgress(student, sheetId, progress) {
      const p = progress as { sheetId?: unknown } | null;
      if (!p || typeof p !== 'object' || Array.isArray(p)) throw new HostError('bad-args', 'saveLabProgress: args[2]: the progress must be an object');
      if (p.sheetId !== sheetId) throw new HostError('bad-args', `saveLabProgress: args[2].sheetId: must be the sheet it is saved under ("${sheetId}")`);
      const json = toJson(progress, 'saveLabProgress: progress');
      if (json.length > LAB_PROGRESS_MAX) throw new HostError('bad-args', `saveLabProgress: args[2]: ${json.length} bytes, more than the ${LAB_PROGRESS_MAX} a sheet's progress may take`);
      q.saveLabProgress.run(student, sheetId, iso(), json);
    },

    close() {
      if (db.open) db.close();
    },
  };
}

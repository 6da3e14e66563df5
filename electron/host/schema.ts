/**
 * The database schema as an ordered list of migrations. `PRAGMA user_version` records how many
 * have been applied; each runs in its own transaction together with the version bump, so a crash
 * leaves the file at one version or the next, never in between. Append new migrations at the end
 * and never edit a released one: users' files were built by it.
 */
import type Database from 'better-sqlite3';

export interface Migration {
  /** user_version after this migration. */
  version: number;
  /** Why the change was made (kept for whoever reads the history). */
  why: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    why: 'first schema: saved scenarios, runs with their results, live series and console logs',
    sql: `
      CREATE TABLE scenarios (
        id         INTEGER PRIMARY KEY,
        name       TEXT NOT NULL UNIQUE,
        updated_at TEXT NOT NULL,
        json       TEXT NOT NULL
      );
      -- AUTOINCREMENT so that a deleted run's id is never handed out again: exported files and
      -- notes refer to runs by id.
      CREATE TABLE runs (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        scenario_name TEXT NOT NULL,
        scenario_json TEXT NOT NULL,
        modes_json    TEXT NOT NULL,
        seed          INTEGER NOT NULL,
        app_version   TEXT NOT NULL,
        started_at    TEXT NOT NULL,
        ended_at      TEXT,
        status        TEXT NOT NULL
                      CHECK (status IN ('running', 'finished', 'failed', 'cancelled', 'interrupted')),
        results_json  TEXT,
        headline_json TEXT,
        error         TEXT,
        note          TEXT NOT NULL DEFAULT ''
      );
      CREATE INDEX runs_by_status ON runs (status);
      -- Ordinary rowid tables (not WITHOUT ROWID): console chunks can be large, and the unique
      -- (run_id, seq) index both orders the rows and serves the foreign key's cascade.
      CREATE TABLE series (
        run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        seq         INTEGER NOT NULL,
        t           REAL NOT NULL,
        domain      TEXT NOT NULL,
        values_json TEXT NOT NULL,
        UNIQUE (run_id, seq)
      );
      CREATE TABLE console_logs (
        run_id  INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        seq     INTEGER NOT NULL,
        console TEXT NOT NULL,
        text    TEXT NOT NULL,
        UNIQUE (run_id, seq)
      );
    `,
  },
  {
    version: 2,
    why: 'comparisons and sweeps saved beside runs (kind, compare_json); a lease on running runs, so a run whose page went away is marked interrupted (lease_until)',
    sql: `
      -- Existing rows are live runs: the default says so. A comparison keeps its outcome (the
      -- results per mode and the sweep's points) in compare_json; a live run has NULL there.
      ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'run' CHECK (kind IN ('run', 'compare', 'sweep'));
      ALTER TABLE runs ADD COLUMN compare_json TEXT;
      -- Milliseconds since the epoch until which a 'running' run counts as alive; NULL: no lease
      -- (a run begun before this migration, which the opening host marks interrupted anyway).
      ALTER TABLE runs ADD COLUMN lease_until INTEGER;
    `,
  },
  {
    version: 3,
    why: 'lab sheets: each student\'s predictions and outcomes per sheet (lab_progress); runs are untouched',
    sql: `
      -- One row per (student, sheet): the progress document (core/api/labs.ts SheetProgress) as
      -- JSON. A new table only, so no saved run is rewritten.
      CREATE TABLE lab_progress (
        student    TEXT NOT NULL,
        sheet_id   TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        json       TEXT NOT NULL,
        PRIMARY KEY (student, sheet_id)
      );
    `,
  },
];

/** The newest schema this code knows; a file with a higher user_version came from a newer app. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export function userVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Applies the migrations past the file's user_version, in order; returns the versions applied. */
export function migrate(db: Database.Database): number[] {
  // The version is read inside the write transaction (IMMEDIATE takes the write lock first), so
  // two processes opening the same file at once cannot both apply the same migration.
  const step = db.transaction((m: Migration): boolean => {
    if (userVersion(db) >= m.version) return false;
    db.exec(m.sql);
    // user_version lives in the file header, which is written by this same transaction.
    db.pragma(`user_version = ${m.version}`);
    return true;
  });
  const applied: number[] = [];
  for (const m of MIGRATIONS) if (step.immediate(m)) applied.push(m.version);
  return applied;
}

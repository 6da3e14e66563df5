/**
 * Deciding, before the store writes anything, whether the database file can be used — and if it
 * cannot, moving it aside instead of overwriting it. A user's saved runs are the one thing the
 * lab cannot recompute, so a file the store does not understand is kept, byte for byte, where the
 * user (or a newer Hyperlab) can get it back.
 */
import { closeSync, existsSync, openSync, readSync, renameSync, statSync, unlinkSync } from 'node:fs';
import Database from 'better-sqlite3';
import { HostError } from '../../core/api/host.js';
import { SCHEMA_VERSION, userVersion } from './schema.js';

export type Diagnosis =
  | { kind: 'ok' }
  | { kind: 'corrupt'; detail: string }
  | { kind: 'newer'; version: number };

/** The first 16 bytes of every SQLite 3 database file (fileformat2.html, "The Database Header"). */
const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const HEADER_BYTES = 100;

/** SQLite's own verdicts that the file is damaged or not a database (as opposed to busy, locked, no permission). */
function isCorruption(e: unknown): e is Error & { code: string } {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT'));
}

function readHeader(file: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(HEADER_BYTES);
    const n = readSync(fd, buf, 0, HEADER_BYTES, 0);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/**
 * Looks at the file without changing it: the header bytes first (a file that is not SQLite at
 * all), then a read-only connection for `PRAGMA quick_check` and `user_version`. Read-only matters:
 * a read-write connection would checkpoint the WAL into the file when it closes, which would
 * modify a database that a newer Hyperlab wrote. quick_check rather than integrity_check because
 * it runs at every start; it still reads every page, which is what finds a truncated file.
 */
export function diagnose(file: string, nativeBinding?: string): Diagnosis {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'ok' };
    throw new HostError('store', `cannot read the run database ${file}: ${(e as Error).message}`);
  }
  // SQLite treats an empty file as a new database; the migrations will fill it.
  if (size === 0) return { kind: 'ok' };
  const head = readHeader(file);
  if (head.length < HEADER_BYTES || !head.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC)) {
    return { kind: 'corrupt', detail: 'it is not a SQLite database (it does not start with the SQLite header)' };
  }
  // A read-only connection to a WAL database creates -wal and -shm if they are missing. Those are
  // the probe's, not the user's: an empty WAL holds nothing, and the -shm only indexes the WAL,
  // so both are removed again and a kept file carries only what was there before.
  const wal = `${file}-wal`;
  const shm = `${file}-shm`;
  const hadWal = existsSync(wal);
  const hadShm = existsSync(shm);
  let probe: Database.Database | undefined;
  try {
    probe = new Database(file, { readonly: true, fileMustExist: true, nativeBinding });
    const problems = probe.prepare('PRAGMA quick_check').pluck().all() as string[];
    if (!(problems.length === 1 && problems[0] === 'ok')) {
      const more = problems.length > 3 ? ` (and ${problems.length - 3} more)` : '';
      return { kind: 'corrupt', detail: `SQLite's quick_check found damage: ${problems.slice(0, 3).join('; ')}${more}` };
    }
    const version = userVersion(probe);
    return version > SCHEMA_VERSION ? { kind: 'newer', version } : { kind: 'ok' };
  } catch (e) {
    if (isCorruption(e)) return { kind: 'corrupt', detail: `SQLite cannot read it (${e.code}: ${e.message})` };
    // Busy, locked, no permission, a native module that does not load: not the file's fault, so
    // it must not be moved aside. Say so and stop.
    throw new HostError('store', `cannot open the run database ${file}: ${(e as Error).message}`);
  } finally {
    probe?.close();
    if (!hadWal && existsSync(wal) && statSync(wal).size === 0) unlinkSync(wal);
    if (!hadShm && !existsSync(wal) && existsSync(shm)) unlinkSync(shm);
  }
}

/** A timestamp that is a valid file name everywhere (no ':'), e.g. 2025-03-01T10-20-30-000Z. */
export function fileStamp(d: Date): string {
  return d.toISOString().replace(/[:.]/g, '-');
}

/**
 * Renames `file` to `<file>.<tag>-<stamp>` (never over an existing file), with its -wal and -shm
 * beside it under the same new name, so SQLite finds them together if the kept file is opened.
 * The WAL moves first: a WAL left behind next to a fresh database would be replayed into it.
 */
export function setAside(file: string, tag: string, when: Date): string {
  const base = `${file}.${tag}-${fileStamp(when)}`;
  let kept = base;
  for (let n = 1; [kept, `${kept}-wal`, `${kept}-shm`].some((p) => existsSync(p)); n++) kept = `${base}-${n}`;
  try {
    for (const suffix of ['-wal', '-shm']) if (existsSync(file + suffix)) renameSync(file + suffix, kept + suffix);
    renameSync(file, kept);
  } catch (e) {
    throw new HostError('store', `the run database ${file} cannot be used and could not be moved aside to ${kept} (${(e as Error).message}); move it away by hand and restart`);
  }
  return kept;
}

/**
 * The I/O part of a results document (issue 12): per domain an `io` object, and at the top the
 * `timeline` and `devices` (core/sim/ioResults.ts computes them). Results saved before I/O, and
 * runs without it, have none; these read what is there, checking shapes, never throwing.
 */
import type { IoResults, PagingMode, Results, TimelineRecord } from '../../../core/api/index.js';

/** A domain's results `io` (core/api/results.ts), as the app shows it. */
export type IoShown = IoResults;

export interface IoRow {
  name: string;
  mode: PagingMode;
  io: IoShown;
}

export type TimelineShown = TimelineRecord;

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isIo(x: unknown): x is IoShown {
  return isObj(x) && typeof x.requests === 'number' && isObj(x.latencyUs) && isObj(x.grantOps) && Array.isArray(x.reconnectMs);
}

/** One row per domain that has an `io` object, in the results' order. */
export function ioRows(results: Results): IoRow[] {
  const out: IoRow[] = [];
  for (const d of results.domains) {
    const io: unknown = d.io;
    if (isIo(io)) out.push({ name: d.name, mode: d.mode, io });
  }
  return out;
}

/** The results' timeline (what the scenario's timeline did, and the lab's own records), or []. */
export function timelineOf(results: Results): TimelineShown[] {
  const t: unknown = results.timeline;
  if (!Array.isArray(t)) return [];
  return t.filter((e): e is TimelineShown => isObj(e) && typeof e.do === 'string' && typeof e.domain === 'string' && typeof e.firedAtMs === 'number');
}

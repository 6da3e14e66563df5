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

/** A domain's content check of free memory (results `integrity`, core/vm/integrity.ts). */
export interface IntegrityRow {
  name: string;
  framesChecked: number;
  framesCorrupted: number;
}

/** One row per domain whose results carry `integrity`, in the results' order. */
export function integrityRows(results: Results): IntegrityRow[] {
  const out: IntegrityRow[] = [];
  for (const d of results.domains) {
    const g: unknown = d.integrity;
    if (isObj(g) && typeof g.framesChecked === 'number' && typeof g.framesCorrupted === 'number') {
      out.push({ name: d.name, framesChecked: g.framesChecked, framesCorrupted: g.framesCorrupted });
    }
  }
  return out;
}

/** The machine's IOMMU summary (results `iommu`), or null when the results have none. */
export function iommuOf(results: Results): { enabled: boolean; faults: number; iotlbFlushes: number } | null {
  const m: unknown = (results as { iommu?: unknown }).iommu;
  if (!isObj(m) || typeof m.enabled !== 'boolean' || typeof m.faults !== 'number' || typeof m.iotlbFlushes !== 'number') return null;
  return { enabled: m.enabled, faults: m.faults, iotlbFlushes: m.iotlbFlushes };
}

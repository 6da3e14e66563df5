/**
 * The documents the store accepts from outside — a results document handed to finishRun, a run
 * exported as JSON handed to importRun — checked before they are written, and the headline a run
 * list shows, derived from the results. Both arrive as `unknown` (over IPC or HTTP, or from a
 * file a user picked), so nothing here trusts their shape.
 */
import { z } from 'zod';
import { HostError, RUN_KINDS, RUN_STATUSES, type RunDetail, type RunHeadline, type RunKind, type SavedCompare } from '../../core/api/host.js';
import type { DomainResults, Results } from '../../core/api/results.js';
import { PAGING_MODES, type PagingMode } from '../../core/api/scenario.js';

/** The marker of a run exported as JSON; importRun refuses anything else. */
export const RUN_EXPORT_FORMAT = 'hyperlab-run';
/**
 * Bumped when the export document changes incompatibly; older versions stay importable. Version 2
 * added saved comparisons (run.kind, run.compare): a live run is still written as version 1, so an
 * older Hyperlab imports it as before, and a comparison as version 2, which an older Hyperlab
 * refuses by name instead of importing it as an empty run.
 */
export const RUN_EXPORT_VERSION = 2;

export interface RunExport {
  format: typeof RUN_EXPORT_FORMAT;
  formatVersion: number;
  exportedAt: string;
  run: RunDetail;
}

const num = z.number().finite();
const counts = z.record(z.string(), num);

/**
 * The contract fields of a results document (DESIGN.md §6) and the few the host derives from
 * (role, simulatedCycles, audit). Loose objects: more fields are welcome and are kept as given.
 */
const domainResultsSchema = z.looseObject({
  name: z.string().min(1).max(64),
  role: z.enum(['dom0', 'guest']),
  mode: z.enum(PAGING_MODES),
  ops: num,
  cycles: z.looseObject({ total: num, guest: num, hypervisor: num, walk: num, perOp: num }),
  tlb: z.looseObject({ lookups: num, hits: num, misses: num, missRate: num }),
  walk: z.looseObject({ walks: num, refs: num, refsPerWalk: num, maxRefs: num }),
  vmexits: z.looseObject({ total: num, byReason: counts }),
  hypercalls: z.looseObject({ total: num, byOp: counts }),
  ptUpdates: num,
  pageFaults: z.looseObject({ guest: num, hidden: num }),
});

export const resultsSchema = z.looseObject({
  domains: z.array(domainResultsSchema).min(1).max(64),
  audit: z.looseObject({ ok: z.boolean(), violations: z.array(z.string()) }),
  simulatedCycles: num,
});

const modeSchema = z.enum(PAGING_MODES);

/** A saved comparison (saveCompare, or an imported export of one); loose, as results are. */
export const savedCompareSchema = z.looseObject({
  guest: z.string().min(1).max(64),
  workload: z.looseObject({ kind: z.string().min(1).max(64) }),
  sweep: z.strictObject({ param: z.string().min(1).max(64), values: z.array(num).min(1).max(1000) }).nullable(),
  result: z.looseObject({
    scenario: z.string().max(128),
    workload: z.string().max(64),
    modes: z.array(modeSchema).max(16),
    runs: z.array(z.looseObject({ mode: modeSchema, results: resultsSchema })).max(16),
    skipped: z.array(z.looseObject({ mode: modeSchema, reason: z.string().max(4096) })).max(16),
  }),
  sweepPoints: z.array(z.looseObject({ value: num, mode: modeSchema, cyclesPerOp: num, results: resultsSchema })).max(16_000).nullable(),
});

const seriesPointSchema = z.strictObject({
  t: z.number().finite().min(0),
  domain: z.string().min(1).max(64),
  values: z.record(z.string().max(64), z.number()),
});
const consoleChunkSchema = z.strictObject({ console: z.string().min(1).max(64), text: z.string() });
const isoTime = z.string().min(1).max(64).refine((s) => !Number.isNaN(Date.parse(s)), 'an ISO 8601 time');

/** What importRun needs of `run`; id and headline are recomputed, so they may be anything. */
const exportedRunSchema = z.looseObject({
  scenarioName: z.string().min(1).max(128),
  scenario: z.unknown().refine((v) => v !== undefined, 'required'),
  modes: z.array(z.enum(PAGING_MODES)).max(64),
  seed: z.number().int().min(0).max(0xffffffff),
  appVersion: z.string().max(64),
  startedAt: isoTime,
  endedAt: isoTime.nullable(),
  status: z.enum(RUN_STATUSES),
  results: resultsSchema.nullable(),
  error: z.string().nullable(),
  note: z.string().max(64 * 1024),
  series: z.array(seriesPointSchema),
  console: z.array(consoleChunkSchema),
  // Version 2: absent in a version 1 file (a live run).
  kind: z.enum(RUN_KINDS).optional(),
  compare: savedCompareSchema.nullable().optional(),
});
export type ImportedRun = z.infer<typeof exportedRunSchema>;

/** `a.b[2].c` from a zod issue path, so the message points at the field a user can find. */
function pathText(root: string, path: readonly PropertyKey[]): string {
  let s = root;
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : `.${String(p)}`;
  return s;
}

function refuse(where: string, root: string, error: z.ZodError): never {
  const issue = error.issues[0]!;
  throw new HostError('bad-args', `${where}: ${pathText(root, issue.path)}: ${issue.message}`);
}

/** Checks a results document given to finishRun; the message names the first bad field. */
export function checkResults(value: unknown, where: string): Results {
  const r = resultsSchema.safeParse(value);
  if (!r.success) refuse(where, 'results', r.error);
  return value as Results;
}

/** Checks a comparison given to saveCompare; the message names the first bad field. */
export function checkCompare(value: unknown, where: string): SavedCompare {
  const r = savedCompareSchema.safeParse(value);
  if (!r.success) refuse(where, 'compare', r.error);
  const c = value as SavedCompare;
  if (c.sweep && !c.sweepPoints) throw new HostError('bad-args', `${where}: compare.sweepPoints: required when compare.sweep is given`);
  return c;
}

/** 'sweep' when the comparison swept a parameter, else 'compare'. */
export function compareKind(c: SavedCompare): RunKind {
  return c.sweep ? 'sweep' : 'compare';
}

/** A comparison's headline: the compared guest under each mode (at the sweep's first value). */
export function compareHeadline(c: SavedCompare): RunHeadline {
  const runs = c.result.runs;
  return {
    auditOk: runs.every((r) => r.results.audit.ok),
    simulatedCycles: runs.reduce((a, r) => a + r.results.simulatedCycles, 0),
    domains: runs.flatMap((r) => {
      const d = r.results.domains.find((x) => x.name === c.guest) ?? guestDomains(r.results)[0];
      return d ? [{ name: d.name, mode: r.mode, ops: d.ops, cyclesPerOp: d.cycles.perOp, refsPerWalk: d.walk.refsPerWalk, tlbMissRate: d.tlb.missRate }] : [];
    }),
  };
}

/** The domains a headline and `modes` describe: the guests, or every domain if there is none. */
export function guestDomains(results: Pick<Results, 'domains'>): DomainResults[] {
  const guests = results.domains.filter((d) => d.role !== 'dom0');
  return guests.length ? guests : results.domains;
}

export function headlineOf(results: Results): RunHeadline {
  return {
    auditOk: results.audit.ok,
    simulatedCycles: results.simulatedCycles,
    domains: guestDomains(results).map((d) => ({
      name: d.name,
      mode: d.mode,
      ops: d.ops,
      cyclesPerOp: d.cycles.perOp,
      refsPerWalk: d.walk.refsPerWalk,
      tlbMissRate: d.tlb.missRate,
    })),
  };
}

export function modesOf(results: Results): PagingMode[] {
  return guestDomains(results).map((d) => d.mode);
}

/**
 * JSON text of a value that must round-trip: IPC's structured clone can deliver things JSON
 * cannot hold (a BigInt, a cycle), and JSON.stringify would throw or return undefined for them.
 */
export function toJson(value: unknown, what: string): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(value);
  } catch (e) {
    throw new HostError('bad-args', `${what}: cannot be saved as JSON (${(e as Error).message})`);
  }
  if (s === undefined) throw new HostError('bad-args', `${what}: cannot be saved as JSON (it is ${typeof value})`);
  return s;
}

export function runExport(run: RunDetail, exportedAt: string): RunExport {
  return { format: RUN_EXPORT_FORMAT, formatVersion: run.kind === 'run' ? 1 : RUN_EXPORT_VERSION, exportedAt, run };
}

/** Parses and checks an exported run; every refusal says what is wrong and where. */
export function parseRunExport(content: string): ImportedRun {
  const where = 'importRun';
  let doc: unknown;
  try {
    doc = JSON.parse(content);
  } catch (e) {
    throw new HostError('bad-args', `${where}: the file is not JSON (${(e as Error).message})`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new HostError('bad-args', `${where}: expected a Hyperlab run export (a JSON object), got ${Array.isArray(doc) ? 'an array' : typeof doc}`);
  }
  const d = doc as Record<string, unknown>;
  if (d.format !== RUN_EXPORT_FORMAT) {
    const got = d.format === undefined ? 'no "format" field' : `format ${JSON.stringify(d.format)}`;
    throw new HostError('bad-args', `${where}: not a Hyperlab run export (${got}; expected format "${RUN_EXPORT_FORMAT}")`);
  }
  const v = d.formatVersion;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new HostError('bad-args', `${where}: formatVersion: expected a positive integer, got ${JSON.stringify(v)}`);
  }
  if (v > RUN_EXPORT_VERSION) {
    throw new HostError('bad-args', `${where}: formatVersion ${v} was written by a newer Hyperlab (this one reads up to ${RUN_EXPORT_VERSION}); update Hyperlab to import it`);
  }
  const r = exportedRunSchema.safeParse(d.run);
  if (!r.success) refuse(where, 'run', r.error);
  return r.data;
}

/**
 * The reproduction format: one JSON file per published result (examples/reproductions/*.json).
 * It names the source (authors, venue, year, table or figure), the paper's machine, what the paper
 * found, one scenario with exactly one guest, and rows: per row a baseline and variants, each a
 * change of that guest (`set`) with the paper's figure for it. `lab reproduce` and the app's
 * Reproductions page run them (core/sim/reproduce.ts) and put paper and lab side by side.
 *
 * Ratios are always "time of the variant / time of the baseline": above 1 means slower (worse)
 * than the baseline. A row whose `published` values are scores or rates (`better: "higher"`) has
 * its paper ratio inverted (baseline / variant) so the convention holds; `ratio` and `ratioRange`
 * are given in that convention directly ("7–25 % faster" is the range [0.75, 0.93]).
 *
 * Every problem is reported with its field path and what is allowed; the scenario and each
 * variant of it are validated as scenarios, their problems under the path of the field that made
 * them (`scenario.machine.pcpus`, `rows[0].variants[1].set`).
 */
import { z } from 'zod';
import { PAGE_SIZES, PAGING_MODES, validateScenario, type PagingMode, type Problem } from './scenario.js';

export const DEFAULT_TOLERANCE = 0.25;
/** Entries whose paper ratios differ by at most this (relative) are ties: their lab order is free. */
export const ORDER_TIE = 0.02;

const ID_RE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

const text = (what: string, max: number) =>
  z.string({ error: `must be ${what}, text in double quotes` }).min(1, `must be ${what}, not empty`).max(max, `must be ${what} of at most ${max} characters`);
const positive = (what: string) =>
  z.number({ error: `must be ${what}, a number above 0` }).refine((n) => Number.isFinite(n) && n > 0, `must be ${what}, a number above 0`);
const objectOf = (what: string) => z.record(z.string(), z.unknown(), { error: `must be ${what}, an object { … }` });

/** How one run differs from the file's scenario: fields of its one guest, and of the machine. */
export const reproSetSchema = z.strictObject(
  {
    mode: z.enum(PAGING_MODES, { error: `must be one of ${PAGING_MODES.map((m) => `"${m}"`).join(', ')}` }).optional(),
    shadowOutOfSync: z.boolean({ error: 'must be true or false' }).optional(),
    shadowEarlyUnshadow: z.boolean({ error: 'must be true or false' }).optional(),
    guestPageSize: z.enum(PAGE_SIZES, { error: `must be one of ${PAGE_SIZES.map((m) => `"${m}"`).join(', ')}` }).optional(),
    hostPageSize: z.enum(PAGE_SIZES, { error: `must be one of ${PAGE_SIZES.map((m) => `"${m}"`).join(', ')}` }).optional(),
    memoryMiB: z.number({ error: 'must be a whole number of MiB' }).int('must be a whole number of MiB').optional(),
    /** Replaces the guest's workload (checked with the scenario). */
    workload: objectOf('a workload ({"kind": …})').optional(),
    /** Merged into the scenario's machine: `mmu` deep-merged, `costs` merged, anything else replaced. */
    machine: objectOf('a partial machine ({"cpu": …, "mmu": …, "costs": …})').optional(),
    /** Merged into each of the guest's vifs (e.g. {"rx": "flip"}). */
    vif: objectOf('fields of the guest\u2019s vifs ({"rx": "flip"})').optional(),
    /**
     * Where the workload runs: in the guest (default), or in dom0 with no guest at all (the
     * driver domain's own stack on its own devices: "Xen-domain0" in the I/O papers).
     */
    runIn: z.enum(['guest', 'dom0'], { error: 'must be "guest" or "dom0"' }).optional(),
  },
  { error: 'must be an object of guest fields to change: mode, shadowOutOfSync, shadowEarlyUnshadow, guestPageSize, hostPageSize, memoryMiB, workload, machine, vif, runIn' },
);
export type ReproSet = z.infer<typeof reproSetSchema>;

const ratioRangeSchema = z
  .tuple([positive('the lower ratio'), positive('the upper ratio')], { error: 'must be a list of two ratios [lo, hi], each above 0' })
  .refine(([lo, hi]) => lo <= hi, 'must be [lo, hi] with lo at most hi');

const entryName = text('the name shown for this run', 48);

const baselineSchema = z.strictObject({
  name: entryName,
  set: reproSetSchema.default({}),
  /** The paper's value for the baseline, in the row's unit (needed when a variant gives `published`). */
  published: positive('the paper\u2019s value in the row\u2019s unit').optional(),
});

const variantSchema = z.strictObject({
  name: entryName,
  set: reproSetSchema.default({}),
  published: positive('the paper\u2019s value in the row\u2019s unit').optional(),
  ratio: positive('the paper\u2019s ratio to the baseline').optional(),
  ratioRange: ratioRangeSchema.optional(),
});

const rowSchema = z.strictObject({
  id: z.string({ error: 'must be a row id of lower-case letters, digits and "-"' }).regex(ID_RE, 'must be a row id of lower-case letters, digits and "-" (e.g. "fork")'),
  label: text('the row\u2019s label', 80),
  where: text('where in the paper the row is (table, figure, row)', 200),
  /** Replaces the guest's workload for every run of the row (a variant's `set.workload` wins). */
  workload: objectOf('a workload ({"kind": …})').optional(),
  unit: text('the unit of the published values ("µs", "s", "ops/s" …)', 16),
  /**
   * What the lab compares, per operation of the measured domain: "cpu" (default) its own CPU
   * time; "elapsed" simulated wall time (for I/O: the inverse of its throughput, so a domain
   * waiting on another's CPU is slower); "machine-cpu" the CPU time of every domain together (what
   * the whole machine spends per operation, backends included).
   */
  measure: z.enum(['cpu', 'elapsed', 'machine-cpu'], { error: 'must be "cpu", "elapsed" or "machine-cpu"' }).optional(),
  better: z.enum(['lower', 'higher'], { error: 'must be "lower" (times) or "higher" (scores, rates)' }),
  tolerance: z.number({ error: 'must be a number from 0 to 10' }).min(0, 'must be a number from 0 to 10').max(10, 'must be a number from 0 to 10').optional(),
  /**
   * A row the lab cannot reach, and why: which mechanism it lacks (at least a sentence). The row
   * is still run and judged; a failure here is reported as a known gap, not a regression.
   */
  gap: text('which mechanism the lab lacks to reach this row', 2000).optional(),
  baseline: baselineSchema,
  variants: z.array(variantSchema, { error: 'must be a list of variants' }).min(1, 'must list at least one variant').max(16, 'must list at most 16 variants'),
});

const sourceSchema = z.strictObject({
  authors: text('the authors', 300),
  title: text('the title of the paper or post', 300),
  venue: text('the venue (SOSP, ASPLOS, xen-devel …)', 100),
  year: z.number({ error: 'must be a year, a whole number from 1950 to 2100' }).int('must be a year, a whole number from 1950 to 2100').min(1950, 'must be a year from 1950 to 2100').max(2100, 'must be a year from 1950 to 2100'),
  where: text('the tables or figures the rows come from', 200),
  url: text('a link to the source', 500).optional(),
});

export const reproductionSchema = z.strictObject({
  id: z.string({ error: 'must be an id of lower-case letters, digits and "-"' }).regex(ID_RE, 'must be an id of lower-case letters, digits and "-" (e.g. "sosp2003-lmbench")'),
  title: text('the title', 200),
  source: sourceSchema,
  hardware: text('the paper\u2019s machine', 300),
  claim: text('what the paper found, in a sentence or two', 2000),
  explain: text('which lab counters show why', 2000).optional(),
  absolute: z.boolean({ error: 'must be true or false' }).default(false),
  tolerance: z.number({ error: 'must be a number from 0 to 10' }).min(0, 'must be a number from 0 to 10').max(10, 'must be a number from 0 to 10').default(DEFAULT_TOLERANCE),
  /** A scenario (core/api/scenario.ts) with exactly one guest; checked as a scenario. */
  scenario: objectOf('a scenario with exactly one guest'),
  rows: z.array(rowSchema, { error: 'must be a list of rows' }).min(1, 'must list at least one row').max(64, 'must list at most 64 rows'),
});
export type Reproduction = z.infer<typeof reproductionSchema>;
export type ReproductionInput = z.input<typeof reproductionSchema>;
export type ReproRow = Reproduction['rows'][number];

/** A variant's paper figure as the runner compares it: a point ratio or a range. */
export type PaperFigure = { kind: 'ratio'; ratio: number } | { kind: 'range'; lo: number; hi: number };

/** Time units a `published` value can be turned into µs from (for absolute comparisons). */
const TIME_UNITS: Record<string, number> = { ns: 1e-3, 'µs': 1, us: 1, 'μs': 1, ms: 1e3, s: 1e6 };

/** µs per `unit`, or null when the unit is not a time (a score, a rate). */
export function microsPerUnit(unit: string): number | null {
  return TIME_UNITS[unit.trim()] ?? null;
}

/**
 * The paper ratio of a variant to its row's baseline (above 1: slower or worse), from whichever
 * figure it gives. A `published` value is in the row's unit; for `better: "higher"` (scores) the
 * ratio is inverted so that above 1 still means worse.
 */
export function paperFigure(row: Pick<ReproRow, 'better' | 'baseline'>, v: ReproRow['variants'][number]): PaperFigure {
  if (v.ratioRange) return { kind: 'range', lo: v.ratioRange[0], hi: v.ratioRange[1] };
  if (v.ratio !== undefined) return { kind: 'ratio', ratio: v.ratio };
  const base = row.baseline.published!;
  const p = v.published!;
  return { kind: 'ratio', ratio: row.better === 'higher' ? base / p : p / base };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function formatPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : (s ? '.' : '') + String(p);
  return s || '(file)';
}

const KNOWN_FIELDS: Record<string, string[]> = {
  '': Object.keys(reproductionSchema.shape),
  source: Object.keys(sourceSchema.shape),
  row: Object.keys(rowSchema.shape),
  baseline: Object.keys(baselineSchema.shape),
  variant: Object.keys(variantSchema.shape),
  set: Object.keys(reproSetSchema.shape),
};

function knownAt(path: readonly PropertyKey[]): string[] {
  const last = path[path.length - 1];
  if (path.length === 0) return KNOWN_FIELDS['']!;
  if (last === 'source') return KNOWN_FIELDS.source!;
  if (last === 'set') return KNOWN_FIELDS.set!;
  if (last === 'baseline') return KNOWN_FIELDS.baseline!;
  if (path[path.length - 2] === 'variants') return KNOWN_FIELDS.variant!;
  if (path[path.length - 2] === 'rows') return KNOWN_FIELDS.row!;
  return [];
}

function zodProblems(err: z.ZodError, input: unknown): Problem[] {
  const out: Problem[] = [];
  for (const issue of err.issues) {
    const path = formatPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      const known = knownAt(issue.path);
      for (const k of issue.keys) {
        out.push({ path: path === '(file)' ? k : `${path}.${k}`, message: `unknown field${known.length ? `; the fields here are ${known.join(', ')}` : ''}` });
      }
      continue;
    }
    let v: unknown = input;
    for (const k of issue.path) v = isObject(v) || Array.isArray(v) ? (v as Record<PropertyKey, unknown>)[k as string] : undefined;
    const message = v === undefined && issue.code === 'invalid_type' ? `missing: ${issue.message}` : issue.message;
    out.push({ path, message });
  }
  return out;
}

/** Every problem a parsed file has beyond its shape: paper figures, ids, the scenario's one guest. */
function semanticProblems(r: Reproduction): Problem[] {
  const out: Problem[] = [];
  const rowIds = new Set<string>();
  r.rows.forEach((row, i) => {
    const at = `rows[${i}]`;
    if (rowIds.has(row.id)) out.push({ path: `${at}.id`, message: `duplicate row id "${row.id}"` });
    rowIds.add(row.id);
    const names = new Set([row.baseline.name]);
    row.variants.forEach((v, j) => {
      const vat = `${at}.variants[${j}]`;
      if (names.has(v.name)) out.push({ path: `${vat}.name`, message: `duplicate name "${v.name}" in row "${row.id}" (the baseline and each variant need their own)` });
      names.add(v.name);
      const given = (['published', 'ratio', 'ratioRange'] as const).filter((k) => v[k] !== undefined);
      if (given.length !== 1) {
        out.push({
          path: vat,
          message: `give exactly one paper figure: "published" (a value in ${row.unit}), "ratio" (to the baseline) or "ratioRange" ([lo, hi]); ${given.length === 0 ? 'none given' : `got ${given.join(' and ')}`}`,
        });
      } else if (v.published !== undefined && row.baseline.published === undefined) {
        out.push({ path: `${at}.baseline.published`, message: `missing: variant "${v.name}" gives a published value, so the baseline needs its published value (in ${row.unit}) to make the ratio` });
      }
    });
  });
  return out;
}

export type ReproductionValidation = { ok: true; file: Reproduction } | { ok: false; problems: Problem[] };

/**
 * Checks a parsed JSON value as a reproduction: its fields, its paper figures, its scenario (one
 * guest) and the scenario of every run, so a file that passes here can run. The per-run scenarios
 * are built by `variantScenario` (core/sim/reproduce.ts, which knows how modes change), passed in
 * so this stays a contract module.
 */
export function validateReproduction(
  input: unknown,
  variantScenario?: (file: Reproduction, row: ReproRow, set: ReproSet) => { ok: true } | { ok: false; problems: Problem[] },
): ReproductionValidation {
  const parsed = reproductionSchema.safeParse(input);
  if (!parsed.success) return { ok: false, problems: zodProblems(parsed.error, input) };
  const file = parsed.data;
  const problems = semanticProblems(file);
  const base = validateScenario(file.scenario);
  if (!base.ok) {
    for (const p of base.problems) problems.push({ path: `scenario.${p.path}`, message: p.message });
  } else {
    const guests = base.scenario.domains.filter((d) => d.role !== 'dom0');
    if (guests.length !== 1) problems.push({ path: 'scenario.domains', message: `a reproduction's scenario has exactly one guest (and at most a dom0); found ${guests.length} guests` });
  }
  if (problems.length === 0 && variantScenario) {
    file.rows.forEach((row, i) => {
      const entries = [{ at: `rows[${i}].baseline`, e: row.baseline }, ...row.variants.map((e, j) => ({ at: `rows[${i}].variants[${j}]`, e }))];
      for (const { at, e } of entries) {
        const v = variantScenario(file, row, e.set);
        if (!v.ok) for (const p of v.problems) problems.push({ path: `${at}.set`, message: `row "${row.id}", "${e.name}": the scenario of this run is not valid: ${p.path ? `${p.path}: ` : ''}${p.message}` });
      }
    });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, file };
}

// ---------------------------------------------------------------------------------------------
// Results (what the runner returns; the CLI prints them, the app draws them).

/** The counters that explain a run, per operation of the guest's workload. */
export interface ReproCounters {
  hypercalls: number;
  vmexits: number;
  ptUpdates: number;
  pageFaults: number;
  hiddenFaults: number;
  tlbMisses: number;
  walkRefs: number;
  entriesValidated: number;
  emulatedWrites: number;
  shadowResyncs: number;
}

export interface ReproEntryResult {
  name: string;
  baseline: boolean;
  /** The `set` as one line: "mode pv", "mode hap, hostPageSize 2m" ("as the scenario" when empty). */
  set: string;
  mode: PagingMode;
  paper: {
    /** The published value in the row's unit, when the file gives one. */
    value: number | null;
    /** The paper ratio (baseline: 1); null for a range. */
    ratio: number | null;
    range: [number, number] | null;
    /** The published value in µs when the unit is a time; null otherwise. */
    us: number | null;
  };
  lab: {
    /** Time per operation in µs at the run's CPU clock. */
    us: number;
    cyclesPerOp: number;
    ops: number;
    /** Lab time per op / the baseline's (baseline: 1). */
    ratio: number;
    counters: ReproCounters;
  };
  pass: boolean;
  /** Why it failed, in one line; null when it passed. */
  reason: string | null;
}

export interface ReproRowResult {
  id: string;
  label: string;
  where: string;
  unit: string;
  better: 'lower' | 'higher';
  tolerance: number;
  /** Lab µs are shown beside the paper's (the file says they are comparable and the unit is a time). */
  absolute: boolean;
  pass: boolean;
  /** The file's note of the mechanism the lab lacks for this row, or null. */
  gap: string | null;
  orderingOk: boolean;
  /** The first pair whose order differs, in one line; null when the ordering holds. */
  orderingReason: string | null;
  /** Baseline first, then the variants in the file's order. */
  entries: ReproEntryResult[];
}

export interface ReproResult {
  id: string;
  title: string;
  source: Reproduction['source'];
  hardware: string;
  claim: string;
  explain: string | null;
  /** The CPU profile the lab ran (the first row's baseline's): id, label and clock. */
  cpu: { profile: string; label: string; clockGHz: number };
  /** Every row passed. */
  pass: boolean;
  /** Every row passed or failed with a declared gap (what `lab reproduce`'s exit code follows). */
  passExceptGaps: boolean;
  rows: ReproRowResult[];
  /** Distinct simulations run (entries with the same scenario share one). */
  runs: number;
}

/**
 * A sweep for the command line: a spec file (scenario, modes, one numeric workload parameter of the
 * first guest and its values) checked with field paths, planned into independent runs with the
 * app's own sweep semantics (planCompare), cut into shards, and put back together. Pure: the CLI
 * reads the files, runs the runs (on threads or not) and hashes the spec.
 *
 * A sweep document is a function of its spec alone: every run's `wallMs` (the one measured field
 * of Results) is written as 0, so a serial run, a parallel run and merged shards are the same bytes.
 */
import { PAGING_MODES, validateScenario, type PagingMode, type Problem, type Scenario } from '../api/scenario.js';
import type { Results } from '../api/results.js';
import { planCompare } from './compareRun.js';

/** The fields a sweep spec may have. */
export const SWEEP_SPEC_FIELDS = ['scenario', 'modes', 'param', 'values', 'seed'] as const;

/** One independent run of a sweep: the first guest under `mode` with the parameter at `value`. */
export interface SweepItem {
  /** Its place in the sweep: values in the spec's order, and within a value the modes in theirs. */
  index: number;
  /** The value's place in the spec's values: shards are cut by it. */
  point: number;
  value: number;
  mode: PagingMode;
  label: string;
  scenario: Scenario;
}

/** What a sweep document says besides its points (also stored in every shard). */
export interface SweepHeader {
  scenario: string;
  workload: string;
  seed: number;
  param: string;
  values: number[];
  modes: PagingMode[];
  /** Modes that cannot run (at some value), with the reason. */
  skipped: { mode: PagingMode; reason: string }[];
}

export interface SweepPlan {
  header: SweepHeader;
  /** The scenario swept (the spec's seed applied). */
  base: Scenario;
  items: SweepItem[];
}

/** What `lab sweep --json` and `lab merge --json` print. */
export interface SweepDocument extends SweepHeader {
  /** One per value, in the spec's order: the runs at that value, in the order of `modes`. */
  points: { value: number; runs: { mode: PagingMode; results: Results }[] }[];
}

/** A run's results as a sweep document holds them: wall time (not deterministic) written as 0. */
export function withoutWallTime(r: Results): Results {
  return { ...r, wallMs: 0 };
}

/**
 * How the spec's `scenario` field is resolved: an inline object is validated here; a path (relative
 * to the spec file) is read and validated by the caller, which returns the scenario or its problems.
 */
export type ScenarioLoader = (path: string) => { ok: true; scenario: Scenario } | { ok: false; problems: Problem[] };

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Checks a parsed sweep spec and plans its runs; every problem at once, each with its field path. */
export function planSweep(input: unknown, loadScenario: ScenarioLoader): { ok: true; plan: SweepPlan } | { ok: false; problems: Problem[] } {
  if (!isObject(input)) return { ok: false, problems: [{ path: '(spec)', message: `a sweep spec is a JSON object with ${SWEEP_SPEC_FIELDS.join(', ')}` }] };
  const problems: Problem[] = [];
  for (const k of Object.keys(input)) {
    if (!(SWEEP_SPEC_FIELDS as readonly string[]).includes(k)) problems.push({ path: k, message: `unknown field; a sweep spec has ${SWEEP_SPEC_FIELDS.join(', ')}` });
  }

  let scenario: Scenario | null = null;
  const sc = input.scenario;
  if (sc === undefined) problems.push({ path: 'scenario', message: 'missing: a path to a scenario file (relative to the spec file) or an inline scenario object' });
  else if (typeof sc === 'string') {
    const v = loadScenario(sc);
    if (v.ok) scenario = v.scenario;
    else problems.push(...v.problems.map((p) => ({ path: `scenario (${sc}): ${p.path}`, message: p.message })));
  } else if (isObject(sc)) {
    const v = validateScenario(sc);
    if (v.ok) scenario = v.scenario;
    else problems.push(...v.problems.map((p) => ({ path: `scenario.${p.path}`, message: p.message })));
  } else problems.push({ path: 'scenario', message: 'a path to a scenario file (relative to the spec file) or an inline scenario object' });

  let modes: PagingMode[] = [...PAGING_MODES];
  if (input.modes !== undefined) {
    if (!Array.isArray(input.modes) || input.modes.length === 0) problems.push({ path: 'modes', message: `a non-empty list of paging modes (${PAGING_MODES.join(', ')}); leave it out for all` });
    else {
      modes = [];
      input.modes.forEach((m, i) => {
        if (typeof m !== 'string' || !(PAGING_MODES as readonly string[]).includes(m)) problems.push({ path: `modes[${i}]`, message: `unknown paging mode ${JSON.stringify(m)}; one of ${PAGING_MODES.join(', ')}` });
        else if (modes.includes(m as PagingMode)) problems.push({ path: `modes[${i}]`, message: `mode "${m}" given twice` });
        else modes.push(m as PagingMode);
      });
    }
  }

  const param = input.param;
  if (typeof param !== 'string' || param === '') problems.push({ path: 'param', message: 'missing or not a string: the name of a numeric workload parameter of the first guest' });

  const values: number[] = [];
  if (!Array.isArray(input.values) || input.values.length === 0) problems.push({ path: 'values', message: 'a non-empty list of numbers: the values of param to run' });
  else
    input.values.forEach((v, i) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) problems.push({ path: `values[${i}]`, message: `not a number: ${JSON.stringify(v)}` });
      else if (values.includes(v)) problems.push({ path: `values[${i}]`, message: `${v} given twice` });
      else values.push(v);
    });

  const seed = input.seed;
  if (seed !== undefined && !(typeof seed === 'number' && Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff)) {
    problems.push({ path: 'seed', message: `an integer 0..4294967295 (the run's seed instead of the scenario's); got ${JSON.stringify(seed)}` });
  }

  if (scenario && typeof param === 'string' && param !== '') {
    const guest = scenario.domains.find((d) => d.role !== 'dom0');
    const w = guest?.workload as Record<string, unknown> | undefined;
    if (!guest) problems.push({ path: 'scenario', message: 'the scenario has no guest domain to sweep' });
    else if (typeof w?.[param] !== 'number') {
      const numeric = Object.keys(w ?? {}).filter((k) => typeof w?.[k] === 'number');
      problems.push({ path: 'param', message: `the ${String(w?.kind)} workload of ${guest.name} has no numeric parameter "${param}" (it has: ${numeric.join(', ') || 'none'})` });
    } else {
      for (const [i, value] of values.entries()) {
        const domains = scenario.domains.map((d) => (d === guest ? { ...d, workload: { ...d.workload, [param]: value } } : d));
        const v = validateScenario({ ...scenario, domains });
        if (!v.ok) problems.push(...v.problems.map((p) => ({ path: `values[${Array.isArray(input.values) ? input.values.indexOf(value) : i}]`, message: `${param} = ${value}: ${p.path}: ${p.message}` })));
      }
    }
  }
  if (problems.length > 0 || !scenario) return { ok: false, problems };

  const base: Scenario = seed !== undefined ? { ...scenario, seed: seed as number } : scenario;
  // The app's own planning: the same variants, labels and skipped modes as its Compare view's sweep.
  const p = planCompare(base, modes, { param: param as string, values });
  if (!p.ok) return { ok: false, problems: p.problems ?? [{ path: '(spec)', message: p.message }] };
  const guest = base.domains.find((d) => d.role !== 'dom0')!;
  return {
    ok: true,
    plan: {
      header: { scenario: base.name, workload: guest.workload.kind, seed: base.seed ?? 0, param: param as string, values, modes, skipped: p.plan.skipped },
      base,
      items: p.plan.items.map((it, index) => ({ index, point: values.indexOf(it.value!), value: it.value!, mode: it.mode, label: it.label, scenario: it.scenario })),
    },
  };
}

/** The sweep document from its header and every run (any order; placed by index). */
export function sweepDocument(header: SweepHeader, runs: readonly { index: number; value: number; mode: PagingMode; results: Results }[]): SweepDocument {
  const ordered = [...runs].sort((a, b) => a.index - b.index);
  return {
    ...header,
    points: header.values.map((value) => ({
      value,
      runs: ordered.filter((r) => r.value === value).map((r) => ({ mode: r.mode, results: withoutWallTime(r.results) })),
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// Shards

/** The format tag of a shard file. */
export const SHARD_FORMAT = 'hyperlab-sweep-shard/1';

/** One shard of a sweep as `lab sweep --shard i/n --out dir` writes it. */
export interface SweepShard {
  format: typeof SHARD_FORMAT;
  /** A hash of the lab version and the resolved spec (scenario with seed, modes, param, values). */
  spec: string;
  /** 0-based: this is shard `shard` of `shards`. */
  shard: number;
  shards: number;
  /** Runs in the whole sweep. */
  runs: number;
  header: SweepHeader;
  items: { index: number; value: number; mode: PagingMode; results: Results }[];
}

/**
 * The runs shard `shard` (0-based) of `shards` does: the points (values) round-robin by their place
 * in the spec, each with all its modes: shard i has values i, i+n, i+2n, ….
 */
export function shardItems<T extends { point: number }>(items: readonly T[], shard: number, shards: number): T[] {
  return items.filter((it) => it.point % shards === shard);
}

/** `i/n` with 0 ≤ i < n: the shard flag's value. */
export function parseShard(s: string): { ok: true; value: { shard: number; shards: number } } | { ok: false; why: string } {
  const m = /^(\d+)\/(\d+)$/.exec(s);
  if (!m) return { ok: false, why: `"${s}" is not i/n` };
  const shard = Number(m[1]);
  const shards = Number(m[2]);
  if (shards < 1 || shards > MAX_SHARDS) return { ok: false, why: `n = ${m[2]} is out of range` };
  if (shard >= shards) return { ok: false, why: `i = ${m[1]} is not below n = ${m[2]}` };
  return { ok: true, value: { shard, shards } };
}

export const MAX_SHARDS = 10000;

/** The shard file's name for shard `i` of `n`. */
export function shardFileName(shard: number, shards: number): string {
  return `shard-${shard}-of-${shards}.json`;
}

function shardProblem(x: unknown): string | null {
  if (!isObject(x)) return 'not a JSON object';
  if (x.format !== SHARD_FORMAT) return `not a sweep shard (format ${JSON.stringify(x.format)}; expected "${SHARD_FORMAT}")`;
  if (typeof x.spec !== 'string') return 'spec: missing';
  if (!Number.isInteger(x.shards) || (x.shards as number) < 1) return 'shards: not a positive integer';
  if (!Number.isInteger(x.shard) || (x.shard as number) < 0 || (x.shard as number) >= (x.shards as number)) return 'shard: not an integer 0..shards-1';
  if (!Number.isInteger(x.runs) || !isObject(x.header) || !Array.isArray(x.items)) return 'runs, header or items: missing';
  return null;
}

/**
 * Puts the shards of one sweep together: they must share one spec hash and one n, and be exactly
 * shards 0..n-1, each once, each with the runs it owns. `files` are (name, parsed JSON), in any order.
 */
export function mergeShards(files: readonly { name: string; data: unknown }[]): { ok: true; doc: SweepDocument } | { ok: false; problems: string[] } {
  if (files.length === 0) return { ok: false, problems: ['no shard files (*.json) to merge'] };
  const problems: string[] = [];
  const shards: { name: string; s: SweepShard }[] = [];
  for (const f of files) {
    const why = shardProblem(f.data);
    if (why) problems.push(`${f.name}: ${why}`);
    else shards.push({ name: f.name, s: f.data as SweepShard });
  }
  if (problems.length > 0) return { ok: false, problems };
  const first = shards[0]!;
  for (const { name, s } of shards.slice(1)) {
    if (s.spec !== first.s.spec || s.shards !== first.s.shards) {
      problems.push(
        `${name} belongs to another sweep than ${first.name}: spec ${s.spec.slice(0, 12)}… in ${s.shards} shards, against spec ${first.s.spec.slice(0, 12)}… in ${first.s.shards} shards`,
      );
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  const n = first.s.shards;
  const byIndex = new Map<number, string>();
  for (const { name, s } of shards) {
    const seen = byIndex.get(s.shard);
    if (seen !== undefined) problems.push(`shard ${s.shard} of ${n} given twice: ${seen} and ${name}`);
    else byIndex.set(s.shard, name);
  }
  const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length > 0) problems.push(`missing shard${missing.length === 1 ? '' : 's'} ${missing.join(', ')} of ${n} (shards are numbered 0..${n - 1}; have ${[...byIndex.keys()].sort((a, b) => a - b).join(', ')})`);
  if (problems.length > 0) return { ok: false, problems };
  const items = shards.flatMap(({ s }) => s.items);
  const indices = items.map((it) => it.index).sort((a, b) => a - b);
  const complete = indices.length === first.s.runs && indices.every((x, i) => x === i);
  const owned = shards.every(({ s }) => s.items.every((it) => s.header.values.indexOf(it.value) % n === s.shard));
  if (!complete || !owned) return { ok: false, problems: [`the shards hold ${indices.length} runs of ${first.s.runs}, or runs that are not theirs: a shard file was edited or truncated`] };
  return { ok: true, doc: sweepDocument(first.s.header, items) };
}

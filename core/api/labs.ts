/**
 * Lab sheets (issue 14, item 4): the file format a teacher writes, its validator, and the check
 * evaluator that compares a run's results document (results.ts) with what a sheet expects.
 *
 * A sheet is a JSON document:
 *
 *   { "id": "c7-walks", "claim": "C7", "title": "…", "steps": [ step, … ] }
 *
 * and each step one of
 *
 *   { "kind": "read",    "quote": "…", "source": "…" }         the sentence of the source document
 *   { "kind": "setup",   "preset": "walk-4k", "note"?: "…" }     a preset (presets.ts), loaded with one click
 *   { "kind": "predict", "question": "…", "choices"?: ["…"], "answer"?: "…" }
 *                                                                 recorded before the run, locked after it
 *   { "kind": "run",     "note"?: "…", "pace"?: number | "max" }  runs the loaded preset ("max" by default)
 *   { "kind": "check",   "expect": [ expectation, … ] }          evaluated against the run's results
 *
 * An expectation is { "path", "op", "value", "explain", "counters"? }:
 *   path      a place in the results document (see PATH below), e.g. domains[g1].integrity.framesCorrupted
 *   op        "==" | "!=" | ">" | ">=" | "<" | "<=" | "between"
 *   value     a number, string or boolean; for "between" a pair [low, high] (inclusive); or
 *             { "path": "…" } to compare with another place of the same results
 *   explain   one sentence: which counter shows why
 *   counters  optional paths shown beside the outcome (the counters that explain it)
 *
 * Order: a sheet has exactly one setup and one run; the setup and every predict come before the
 * run, every check after it, and there is at least one predict and one check.
 *
 * PATH: names separated by dots; a name may be followed by selectors in brackets. `[name]` picks
 * the element of a list whose "name" (or else "id") field is that text — domains by name, devices
 * by id; `[3]` picks by index (from 0). Examples: `audit.ok`, `domains[pv].walk.refsPerWalk`,
 * `devices[disk0].owner`, `domains[pv].vmexits.byReason.EPT_VIOLATION`, `timeline[0].ok`.
 */

export const CLAIMS = ['C1', 'C2', 'C3', 'C4', 'C5', 'C6', 'C7', 'C8', 'C9'] as const;
export type Claim = (typeof CLAIMS)[number];

export const CHECK_OPS = ['==', '!=', '>', '>=', '<', '<=', 'between'] as const;
export type CheckOp = (typeof CHECK_OPS)[number];

export type Scalar = number | string | boolean;
export type ExpectValue = Scalar | [number, number] | { path: string };

export interface Expectation {
  path: string;
  op: CheckOp;
  value: ExpectValue;
  explain: string;
  counters?: string[];
}

export type SheetStep =
  | { kind: 'read'; quote: string; source: string }
  | { kind: 'setup'; preset: string; note?: string }
  | { kind: 'predict'; question: string; choices?: string[]; answer?: string }
  | { kind: 'run'; note?: string; pace?: number | 'max' }
  | { kind: 'check'; expect: Expectation[] };

export const STEP_KINDS = ['read', 'setup', 'predict', 'run', 'check'] as const;

export interface LabSheet {
  id: string;
  claim: Claim;
  title: string;
  steps: SheetStep[];
}

export interface SheetProblem {
  /** Where: `steps[2].expect[0].op`, in the notation of the host's argument errors. */
  path: string;
  message: string;
}

export type SheetValidation = { ok: true; sheet: LabSheet } | { ok: false; problems: SheetProblem[] };

const STEP_FIELDS: Record<SheetStep['kind'], { required: string[]; optional: string[] }> = {
  read: { required: ['quote', 'source'], optional: [] },
  setup: { required: ['preset'], optional: ['note'] },
  predict: { required: ['question'], optional: ['choices', 'answer'] },
  run: { required: [], optional: ['note', 'pace'] },
  check: { required: ['expect'], optional: [] },
};
const EXPECT_FIELDS = ['path', 'op', 'value', 'explain', 'counters'];

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.trim().length > 0;
const list = (xs: readonly string[]) => xs.map((x) => `"${x}"`).join(', ');

/**
 * Checks a sheet document. `presets`: the preset ids that exist (a setup naming another is refused);
 * omitted, any id is accepted. Every problem names its field path; nothing throws.
 */
export function validateSheet(doc: unknown, presets?: readonly string[]): SheetValidation {
  const out: SheetProblem[] = [];
  const bad = (path: string, message: string) => out.push({ path, message });
  if (!isObj(doc)) return { ok: false, problems: [{ path: '(sheet)', message: 'a sheet is a JSON object with "id", "claim", "title" and "steps"' }] };
  for (const k of Object.keys(doc)) if (!['id', 'claim', 'title', 'steps'].includes(k)) bad(k, `unknown field; a sheet has ${list(['id', 'claim', 'title', 'steps'])}`);
  if (!nonEmpty(doc.id) || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(doc.id)) bad('id', 'needs an id of letters, digits, "-", "_" or "." (at most 64), e.g. "c7-walks"');
  if (!(CLAIMS as readonly unknown[]).includes(doc.claim)) bad('claim', `must be one of ${list(CLAIMS)}`);
  if (!nonEmpty(doc.title)) bad('title', 'needs a title (text)');
  if (!Array.isArray(doc.steps) || doc.steps.length === 0) {
    bad('steps', 'needs a list of steps (read, setup, predict, run, check)');
    return { ok: false, problems: out };
  }
  let runAt = -1;
  let setupAt = -1;
  let predicts = 0;
  let checks = 0;
  doc.steps.forEach((s: unknown, i: number) => {
    const at = `steps[${i}]`;
    if (!isObj(s)) return bad(at, 'a step is an object with a "kind"');
    const kind = s.kind as SheetStep['kind'];
    if (!(STEP_KINDS as readonly unknown[]).includes(kind)) return bad(`${at}.kind`, `must be one of ${list(STEP_KINDS)}`);
    const f = STEP_FIELDS[kind];
    for (const k of Object.keys(s)) if (k !== 'kind' && !f.required.includes(k) && !f.optional.includes(k)) bad(`${at}.${k}`, `unknown field for a ${kind} step; it has ${list([...f.required, ...f.optional])}`);
    for (const k of f.required) if (s[k] === undefined) bad(`${at}.${k}`, `a ${kind} step needs "${k}"`);
    for (const k of ['quote', 'source', 'preset', 'question', 'note', 'answer']) if (s[k] !== undefined && !nonEmpty(s[k])) bad(`${at}.${k}`, 'must be non-empty text');
    switch (kind) {
      case 'setup':
        if (setupAt >= 0) bad(at, `a sheet has one setup step (steps[${setupAt}] is one)`);
        setupAt = i;
        if (runAt >= 0) bad(at, 'the setup comes before the run');
        if (presets && nonEmpty(s.preset) && !presets.includes(s.preset)) bad(`${at}.preset`, `no preset "${s.preset}"; presets: ${presets.join(', ')}`);
        break;
      case 'predict':
        predicts++;
        if (runAt >= 0) bad(at, 'a prediction is recorded before the run: move it above the run step');
        if (s.choices !== undefined) {
          if (!Array.isArray(s.choices) || s.choices.length < 2 || !s.choices.every(nonEmpty)) bad(`${at}.choices`, 'must be a list of at least two texts');
          else if (new Set(s.choices).size !== s.choices.length) bad(`${at}.choices`, 'the choices must differ');
          else if (s.answer !== undefined && !s.choices.includes(s.answer as string)) bad(`${at}.answer`, 'must be one of the choices');
        }
        break;
      case 'run':
        if (runAt >= 0) bad(at, `a sheet has one run step (steps[${runAt}] is one)`);
        else runAt = i;
        if (setupAt < 0) bad(at, 'the run needs a setup step before it (the preset it runs)');
        if (s.pace !== undefined && s.pace !== 'max' && !(typeof s.pace === 'number' && Number.isFinite(s.pace) && s.pace > 0)) bad(`${at}.pace`, 'must be "max" or a positive number (simulated seconds per real second)');
        break;
      case 'check':
        checks++;
        if (runAt < 0) bad(at, 'a check evaluates the run: it comes after the run step');
        if (!Array.isArray(s.expect) || s.expect.length === 0) bad(`${at}.expect`, 'must be a list of at least one expectation');
        else s.expect.forEach((e: unknown, j: number) => checkExpectation(e, `${at}.expect[${j}]`, bad));
        break;
    }
  });
  if (runAt < 0) bad('steps', 'a sheet needs one run step');
  if (predicts === 0) bad('steps', 'a sheet needs at least one predict step (before the run)');
  if (checks === 0) bad('steps', 'a sheet needs at least one check step (after the run)');
  return out.length ? { ok: false, problems: out } : { ok: true, sheet: doc as unknown as LabSheet };
}

function checkExpectation(e: unknown, at: string, bad: (path: string, message: string) => void): void {
  if (!isObj(e)) return bad(at, 'an expectation is an object with "path", "op", "value" and "explain"');
  for (const k of Object.keys(e)) if (!EXPECT_FIELDS.includes(k)) bad(`${at}.${k}`, `unknown field; an expectation has ${list(EXPECT_FIELDS)}`);
  if (typeof e.path !== 'string') bad(`${at}.path`, 'needs a path into the results, e.g. "domains[g1].ops"');
  else {
    const p = parsePath(e.path);
    if (!p.ok) bad(`${at}.path`, p.message);
  }
  if (!(CHECK_OPS as readonly unknown[]).includes(e.op)) bad(`${at}.op`, `must be one of ${list(CHECK_OPS)}`);
  const v = e.value;
  if (v === undefined) bad(`${at}.value`, 'needs a value');
  else if (e.op === 'between') {
    if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'number' && Number.isFinite(x)) || (v[0] as number) > (v[1] as number)) bad(`${at}.value`, '"between" needs [low, high]: two numbers, low ≤ high');
  } else if (isObj(v)) {
    if (typeof v.path !== 'string' || Object.keys(v).length !== 1) bad(`${at}.value`, 'a reference is {"path": "…"} and nothing else');
    else {
      const p = parsePath(v.path);
      if (!p.ok) bad(`${at}.value.path`, p.message);
    }
  } else if (!(typeof v === 'number' ? Number.isFinite(v) : typeof v === 'string' || typeof v === 'boolean')) bad(`${at}.value`, 'must be a number, a text, true/false, or {"path": "…"}');
  else if (['>', '>=', '<', '<='].includes(e.op as string) && typeof v !== 'number') bad(`${at}.value`, `"${String(e.op)}" compares numbers: the value must be a number or {"path": "…"}`);
  if (!nonEmpty(e.explain)) bad(`${at}.explain`, 'needs one sentence: which counter shows why');
  if (e.counters !== undefined) {
    if (!Array.isArray(e.counters)) bad(`${at}.counters`, 'must be a list of paths');
    else
      e.counters.forEach((c: unknown, k: number) => {
        const p = typeof c === 'string' ? parsePath(c) : { ok: false as const, message: 'must be a path (text)' };
        if (!p.ok) bad(`${at}.counters[${k}]`, p.message);
      });
  }
}

/** One step of a path: a field name, or a selector of a list element by name/id or index. */
export type PathPart = { field: string } | { select: string } | { index: number };

/** Splits a path (see PATH above); the message says where it stops making sense. */
export function parsePath(path: string): { ok: true; parts: PathPart[] } | { ok: false; message: string } {
  const parts: PathPart[] = [];
  if (path.length === 0 || path.length > 256) return { ok: false, message: 'a path has 1 to 256 characters' };
  let i = 0;
  let expectName = true;
  while (i < path.length) {
    const c = path[i]!;
    if (c === '[') {
      const end = path.indexOf(']', i);
      if (end < 0) return { ok: false, message: `"[" at character ${i + 1} has no "]"` };
      const inner = path.slice(i + 1, end).trim();
      if (!inner) return { ok: false, message: `empty "[]" at character ${i + 1}: put a name or an index inside` };
      if (parts.length === 0) return { ok: false, message: 'a path starts with a field name, e.g. "domains[g1]"' };
      parts.push(/^\d+$/.test(inner) ? { index: Number(inner) } : { select: inner });
      i = end + 1;
      expectName = false;
    } else if (c === '.') {
      if (expectName) return { ok: false, message: `a name is missing before "." at character ${i + 1}` };
      i++;
      expectName = true;
    } else {
      if (!expectName) return { ok: false, message: `a "." is missing before character ${i + 1}` };
      const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(path.slice(i));
      if (!m) return { ok: false, message: `unexpected "${c}" at character ${i + 1}: names are letters, digits, "_" and "-"` };
      parts.push({ field: m[0] });
      i += m[0].length;
      expectName = false;
    }
  }
  if (expectName) return { ok: false, message: 'the path ends with "."' };
  return { ok: true, parts };
}

export type Lookup = { ok: true; value: unknown } | { ok: false; message: string };

/** The value at `path` in a document, or why there is none (the message names the part that failed). */
export function lookupPath(doc: unknown, path: string): Lookup {
  const p = parsePath(path);
  if (!p.ok) return p;
  let cur: unknown = doc;
  let where = '';
  for (const part of p.parts) {
    if ('field' in part) {
      where += where ? `.${part.field}` : part.field;
      if (!isObj(cur) || !Object.prototype.hasOwnProperty.call(cur, part.field)) {
        const have = isObj(cur) ? Object.keys(cur).slice(0, 12).join(', ') : typeof cur;
        return { ok: false, message: `${where}: not in the results (there: ${have || 'nothing'})` };
      }
      cur = cur[part.field];
    } else if ('index' in part) {
      where += `[${part.index}]`;
      if (!Array.isArray(cur) || part.index >= cur.length) return { ok: false, message: `${where}: no element ${part.index}${Array.isArray(cur) ? ` (the list has ${cur.length})` : ' (not a list)'}` };
      cur = cur[part.index];
    } else {
      where += `[${part.select}]`;
      if (!Array.isArray(cur)) return { ok: false, message: `${where}: not a list` };
      const hit = cur.find((x) => isObj(x) && (x.name === part.select || (x.name === undefined && x.id === part.select)));
      if (hit === undefined) {
        const names = cur.map((x) => (isObj(x) ? (x.name ?? x.id) : undefined)).filter((x) => x !== undefined);
        return { ok: false, message: `${where}: no element named "${part.select}" (there: ${names.join(', ') || 'none'})` };
      }
      cur = hit;
    }
  }
  return { ok: true, value: cur };
}

export interface CheckOutcome {
  path: string;
  op: CheckOp;
  /** What the sheet expected, as text ("> 0", "between 23 and 25", "== domains[hap].cycles.perOp (812)"). */
  expected: string;
  /** What the run shows (the value, or null when the path found nothing). */
  observed: Scalar | null;
  pass: boolean;
  explain: string;
  /** The explaining counters, each with its value (or the reason it has none). */
  counters: { path: string; value: Scalar | null; problem?: string }[];
  /** Why it could not be evaluated (a path not in the results, a value of the wrong type). */
  problem?: string;
}

const scalar = (v: unknown): Scalar | null => (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' ? v : null);
export const fmtValue = (v: Scalar | null): string => (v === null ? '—' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)))) : typeof v === 'string' ? `"${v}"` : String(v));

/** Evaluates one expectation against a results document; never throws. */
export function evaluateExpectation(results: unknown, e: Expectation): CheckOutcome {
  const counters = (e.counters ?? []).map((c) => {
    const l = lookupPath(results, c);
    if (!l.ok) return { path: c, value: null, problem: l.message };
    // A list of numbers (reconnectMs, a histogram) shows as its values.
    const v = Array.isArray(l.value) && l.value.every((x) => typeof x === 'number') ? `[${l.value.map((x) => fmtValue(x as number)).join(', ')}]` : scalar(l.value);
    return { path: c, value: v };
  });
  const base = { path: e.path, op: e.op, explain: e.explain, counters };
  let expected: string;
  let target: Scalar | [number, number];
  if (e.op === 'between' && Array.isArray(e.value)) {
    target = e.value;
    expected = `between ${fmtValue(e.value[0])} and ${fmtValue(e.value[1])}`;
  } else if (isObj(e.value)) {
    const ref = lookupPath(results, e.value.path);
    const rv = ref.ok ? scalar(ref.value) : null;
    expected = `${e.op} ${e.value.path}${rv !== null ? ` (${fmtValue(rv)})` : ''}`;
    if (!ref.ok) return { ...base, expected, observed: null, pass: false, problem: ref.message };
    if (rv === null) return { ...base, expected, observed: null, pass: false, problem: `${e.value.path}: not a number, text or true/false` };
    target = rv;
  } else {
    target = e.value as Scalar;
    expected = `${e.op} ${fmtValue(target)}`;
  }
  const got = lookupPath(results, e.path);
  if (!got.ok) return { ...base, expected, observed: null, pass: false, problem: got.message };
  const v = scalar(got.value);
  if (v === null) return { ...base, expected, observed: null, pass: false, problem: `${e.path}: is ${Array.isArray(got.value) ? 'a list' : typeof got.value}, not a number, text or true/false` };
  let pass: boolean;
  if (e.op === '==' || e.op === '!=') pass = (v === target) === (e.op === '==');
  else if (typeof v !== 'number') return { ...base, expected, observed: v, pass: false, problem: `${e.path}: "${e.op}" compares numbers, and this is ${typeof v}` };
  else if (e.op === 'between') pass = v >= (target as [number, number])[0] && v <= (target as [number, number])[1];
  else if (typeof target !== 'number') return { ...base, expected, observed: v, pass: false, problem: `"${e.op}" compares numbers, and the expected value is ${typeof target}` };
  else pass = e.op === '>' ? v > target : e.op === '>=' ? v >= target : e.op === '<' ? v < target : v <= target;
  return { ...base, expected, observed: v, pass };
}

/** Every check step's outcomes, keyed by the check step's index in the sheet. */
export function evaluateSheet(sheet: LabSheet, results: unknown): Record<number, CheckOutcome[]> {
  const out: Record<number, CheckOutcome[]> = {};
  sheet.steps.forEach((s, i) => {
    if (s.kind === 'check') out[i] = s.expect.map((e) => evaluateExpectation(results, e));
  });
  return out;
}

/**
 * A student's progress on one sheet, as saved (host: saveLabProgress) and exported. Predictions are
 * keyed by the predict step's index; they lock once a run is recorded (lockedAt).
 */
export interface SheetProgress {
  sheetId: string;
  predictions: Record<string, string>;
  /** ISO 8601: when the predictions were locked (the run started). */
  lockedAt?: string;
  /** The run's outcome: when, its History id if it was saved, and each check step's outcomes. */
  run?: { at: string; runId?: number | null; checks: Record<string, CheckOutcome[]>; chart: ChartRow[] };
}

/** One bar of a sheet's chart: a domain's cycles per operation, split as the Compare view splits them. */
export interface ChartRow {
  name: string;
  mode: string;
  guest: number;
  hypervisor: number;
  walk: number;
}

/** The chart's rows from a results document: every domain that did work (ops > 0). */
export function chartRows(results: unknown): ChartRow[] {
  const doms = isObj(results) && Array.isArray(results.domains) ? results.domains : [];
  const rows: ChartRow[] = [];
  for (const d of doms) {
    if (!isObj(d) || !isObj(d.cycles) || typeof d.ops !== 'number' || d.ops <= 0) continue;
    const c = d.cycles as Record<string, unknown>;
    const per = (k: string) => (typeof c[k] === 'number' ? (c[k] as number) / (d.ops as number) : 0);
    rows.push({ name: String(d.name), mode: String(d.mode), guest: per('guest'), hypervisor: per('hypervisor'), walk: per('walk') });
  }
  return rows;
}

/** Passed and total expectations of a progress record (0 of n before a run). */
export function passCount(sheet: LabSheet, p: SheetProgress | undefined): { passed: number; total: number } {
  let total = 0;
  for (const s of sheet.steps) if (s.kind === 'check') total += s.expect.length;
  let passed = 0;
  if (p?.run) for (const list of Object.values(p.run.checks)) passed += list.filter((c) => c.pass).length;
  return { passed, total };
}

/**
 * Workloads written on one line, as a shell command or an xl.cfg string: the kind, then its
 * parameters in the order the schema declares them (`random-access 512 1000000`) or by name
 * (`random-access workingSetMiB=512 accesses=1000000`). The parameter list is read from
 * `workloadSchema` itself (workloadFields.ts), so a workload added there is accepted here too.
 */
import { WORKLOAD_KINDS, workloadSchema, type Problem, type Workload, type WorkloadKind } from './scenario.js';
import { workloadParams, type WorkloadParam } from './workloadFields.js';

type FieldParam = Exclude<WorkloadParam, { type: 'structured' }>;

export interface WorkloadShape {
  kind: WorkloadKind;
  /** The parameters a command line can give, in the schema's order. */
  params: FieldParam[];
  /** Its parameters are structured data (a hypercall script): only a scenario file can give them. */
  scriptOnly: boolean;
}

const SHAPES: WorkloadShape[] = WORKLOAD_KINDS.map((kind) => {
  const all = workloadParams(kind);
  return { kind, params: all.filter((p): p is FieldParam => p.type !== 'structured'), scriptOnly: all.some((p) => p.type === 'structured') };
});

export function workloadShapes(): readonly WorkloadShape[] {
  return SHAPES;
}

export function workloadShape(kind: string): WorkloadShape | null {
  return SHAPES.find((s) => s.kind === kind) ?? null;
}

/** `random-access <workingSetMiB> <accesses>`; optional parameters in brackets. */
export function workloadUsage(shape: WorkloadShape): string {
  return [shape.kind, ...shape.params.map((p) => (p.required ? `<${p.key}>` : `[${p.key}]`))].join(' ');
}

function describe(p: FieldParam): string {
  if (p.type === 'enum') return `one of ${p.options.join(', ')}`;
  if (p.type === 'text') return 'a name';
  const what = p.int ? 'an integer' : 'a number';
  return Number.isFinite(p.min) && Number.isFinite(p.max) ? `${what} from ${p.min} to ${p.max}` : what;
}

function parseValue(p: FieldParam, text: string): { ok: true; value: number | string } | { ok: false; message: string } {
  if (p.type === 'enum') {
    return p.options.includes(text) ? { ok: true, value: text } : { ok: false, message: `must be ${describe(p)} (got "${text}")` };
  }
  if (p.type === 'text') return text.length > 0 ? { ok: true, value: text } : { ok: false, message: 'must be a name, not empty' };
  const clean = text.replace(/_/g, '');
  const n = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(clean) ? Number(clean) : NaN;
  const bad = Number.isNaN(n) || (p.int && !Number.isInteger(n)) || n < p.min || n > p.max;
  return bad ? { ok: false, message: `must be ${describe(p)} (got "${text}")` } : { ok: true, value: n };
}

export type WorkloadArgsResult = { ok: true; workload: Workload } | { ok: false; problems: Problem[]; shape: WorkloadShape | null };

/**
 * Parses `kind arg...` where each arg is positional or `name=value`. Problems' paths are the
 * parameter names (`kind` for the kind itself).
 */
export function parseWorkloadArgs(words: readonly string[]): WorkloadArgsResult {
  const [kind, ...args] = words;
  if (!kind) return { ok: false, problems: [{ path: 'kind', message: `missing workload kind; one of ${WORKLOAD_KINDS.join(', ')}` }], shape: null };
  const shape = workloadShape(kind);
  if (!shape) return { ok: false, problems: [{ path: 'kind', message: `unknown workload "${kind}"; one of ${WORKLOAD_KINDS.join(', ')}` }], shape: null };
  if (shape.scriptOnly) {
    return { ok: false, problems: [{ path: 'kind', message: `a ${kind} workload is a script: write it in a scenario file` }], shape };
  }
  const problems: Problem[] = [];
  const values: Record<string, number | string> = {};
  let next = 0;
  for (const arg of args) {
    const eq = arg.indexOf('=');
    let p: FieldParam | undefined;
    let text = arg;
    if (eq > 0) {
      const name = arg.slice(0, eq);
      p = shape.params.find((q) => q.key === name);
      text = arg.slice(eq + 1);
      if (!p) {
        problems.push({ path: name, message: `${kind} has no parameter "${name}"; its parameters: ${shape.params.map((q) => q.key).join(', ') || '(none)'}` });
        continue;
      }
    } else {
      p = shape.params[next++];
      if (!p) {
        problems.push({ path: '(args)', message: `too many arguments: ${kind} takes ${shape.params.length} (${shape.params.map((q) => q.key).join(', ') || 'none'})` });
        break;
      }
    }
    if (p.key in values) {
      problems.push({ path: p.key, message: 'given twice' });
      continue;
    }
    const v = parseValue(p, text);
    if (v.ok) values[p.key] = v.value;
    else problems.push({ path: p.key, message: v.message });
  }
  for (const p of shape.params) {
    if (!(p.key in values) && p.required && !problems.some((q) => q.path === p.key)) {
      problems.push({ path: p.key, message: `missing (${describe(p)})` });
    }
  }
  if (problems.length > 0) return { ok: false, problems, shape };
  const parsed = workloadSchema.safeParse({ kind, ...values });
  if (!parsed.success) {
    return { ok: false, problems: parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.') || 'kind', message: i.message })), shape };
  }
  return { ok: true, workload: parsed.data };
}

/** The named form, `random-access workingSetMiB=512 accesses=1000000`; null for a script. */
export function formatWorkload(w: Workload): string | null {
  const shape = workloadShape(w.kind);
  if (!shape || shape.scriptOnly) return null;
  const rec = w as unknown as Record<string, number | string>;
  return [w.kind, ...shape.params.filter((p) => rec[p.key] !== undefined).map((p) => `${p.key}=${rec[p.key]}`)].join(' ');
}

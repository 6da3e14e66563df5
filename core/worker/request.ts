/**
 * Checks that a message posted to the worker is a WorkerRequest before the session sees it: the
 * renderer is trusted code, but a malformed message must become an 'error' event, not a throw.
 * The scenario inside a request is validated later, by the session, with field paths.
 */
import { PAGING_MODES, workloadSchema, type PagingMode } from '../api/scenario.js';
import { IO_PATH_WORKLOADS } from '../api/ioPaths.js';
import { MAX_NUMERIC_PACE, PACES, type WorkerRequest } from '../api/worker.js';

/** A refused request still names its `id` when it had a usable one, so the error answers it. */
export type ParsedRequest =
  | { ok: true; req: WorkerRequest }
  /** `problems`: every field refused, by path (io-paths' workload), the first of them in `message`. */
  | { ok: false; message: string; id?: number; problems?: { path: string; message: string }[] };

const TYPES = ['start', 'pause', 'resume', 'stop', 'pace', 'console-input', 'compare', 'cancel-compare', 'walk', 'reproduce', 'io-paths', 'cancel-io-paths'] as const;

/** A pace: "max" or simulated seconds per real second, more than 0 and at most MAX_NUMERIC_PACE. */
function isPace(x: unknown): boolean {
  return x === 'max' || (typeof x === 'number' && Number.isFinite(x) && x > 0 && x <= MAX_NUMERIC_PACE);
}

function paceProblem(field: string): string {
  return `${field}: "max" or simulated seconds per real second, a number above 0 and at most ${MAX_NUMERIC_PACE} (the controls offer ${PACES.map((p) => (p.pace === 'max' ? '"max"' : `${p.pace} for ${p.label}`)).join(', ')})`;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function bad(message: string, id?: unknown): ParsedRequest {
  return isId(id) ? { ok: false, message, id } : { ok: false, message };
}

/** Request ids are positive safe integers (the sender counts them up). */
function isId(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x > 0;
}

/** The types of request that carry an id and are answered with it. */
const ANSWERED: readonly string[] = ['compare', 'cancel-compare', 'walk', 'reproduce', 'io-paths', 'cancel-io-paths'];

export function parseRequest(data: unknown): ParsedRequest {
  if (!isObject(data)) return bad(`a worker request must be an object with a "type", got ${data === null ? 'null' : Array.isArray(data) ? 'an array' : typeof data}`);
  const type = data.type;
  if (typeof type !== 'string' || !(TYPES as readonly string[]).includes(type)) {
    return bad(`unknown worker request type ${JSON.stringify(type) ?? 'undefined'} (expected one of ${TYPES.join(', ')})`);
  }
  if (ANSWERED.includes(type) && !isId(data.id)) return bad(`${type}.id: the request's id, a positive integer (its answer carries it back)`);
  const id = data.id;
  const optNumber = (k: string) => data[k] === undefined || (typeof data[k] === 'number' && Number.isFinite(data[k]) && (data[k] as number) > 0);
  const optString = (k: string) => data[k] === undefined || typeof data[k] === 'string';
  const optBool = (k: string) => data[k] === undefined || typeof data[k] === 'boolean';
  switch (type) {
    case 'start':
      if (!optNumber('snapshotMs')) return bad('start.snapshotMs: a positive number of milliseconds');
      if (data.pace !== undefined && !isPace(data.pace)) return bad(paceProblem('start.pace'));
      if (!optBool('repeat')) return bad('start.repeat: true (repeat every workload until stopped) or false');
      break;
    case 'pace':
      if (!isPace(data.pace)) return bad(paceProblem('pace.pace'));
      break;
    case 'console-input':
      if (typeof data.console !== 'string') return bad('console-input.console: the console name, a string');
      if (typeof data.data !== 'string') return bad('console-input.data: the text typed, a string');
      break;
    case 'compare': {
      const modes = data.modes;
      if (!Array.isArray(modes) || !modes.every((m) => (PAGING_MODES as readonly string[]).includes(m as string))) {
        return bad(`compare.modes: a list of paging modes (${PAGING_MODES.join(', ')})`, id);
      }
      const sweep = data.sweep;
      if (sweep !== undefined) {
        if (!isObject(sweep) || typeof sweep.param !== 'string') return bad('compare.sweep.param: the name of a numeric workload parameter', id);
        if (!Array.isArray(sweep.values) || !sweep.values.every((v) => typeof v === 'number' && Number.isFinite(v))) {
          return bad('compare.sweep.values: a list of numbers', id);
        }
      }
      return { ok: true, req: { ...data, modes: modes as PagingMode[] } as WorkerRequest };
    }
    case 'reproduce':
      // The file itself is validated by the runner, with field paths.
      if (!isObject(data.file)) return bad('reproduce.file: the reproduction, a parsed JSON object', id);
      break;
    case 'io-paths': {
      const w = data.workload;
      const kinds = IO_PATH_WORKLOADS.join(', ');
      if (!isObject(w)) return bad(`io-paths.workload: an I/O workload object with a "kind" (${kinds})`, id);
      if (!(IO_PATH_WORKLOADS as readonly unknown[]).includes(w.kind)) {
        return bad(`io-paths.workload.kind: one of ${kinds}, got ${JSON.stringify(w.kind) ?? 'nothing'}`, id);
      }
      const v = workloadSchema.safeParse(w);
      if (!v.success) {
        const problems = v.error.issues.map((i) => ({ path: ['io-paths.workload', ...i.path.map(String)].join('.'), message: i.message }));
        return { ok: false, message: `${problems[0]!.path}: ${problems[0]!.message}`, id: id as number, problems };
      }
      return { ok: true, req: { type: 'io-paths', id: id as number, workload: v.data } };
    }
    case 'walk':
      if (typeof data.domain !== 'string') return bad('walk.domain: the name of a domain of the scenario', id);
      if (!optString('va')) return bad('walk.va: a hex address string', id);
      if (!optBool('warm')) return bad('walk.warm: true or false', id);
      if (!optBool('write')) return bad('walk.write: true or false', id);
      break;
  }
  return { ok: true, req: data as WorkerRequest };
}

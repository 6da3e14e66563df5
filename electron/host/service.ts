/**
 * The host service: the HostApi operations a host serves from Node (everything but the dialogs
 * and the menu), over the run store, and `dispatch` — the single entry a host worker
 * (hostWorker.ts) calls with an operation name and untrusted arguments, for the Electron IPC layer
 * and the browser-mode HTTP server alike (through hostClient.ts). Dispatch never throws and never
 * leaks a stack: every outcome is a reply.
 */
import {
  CLIENT_SIDE_OPS,
  HOST_OP_ARGS,
  HOST_OPS,
  HostError,
  parseHostArgs,
  type HostApi,
  type HostErrorInfo,
  type HostInfo,
  type HostOp,
} from '../../core/api/host.js';
import type { RunStore } from './store.js';

type ServedApi = Omit<HostApi, 'saveFile' | 'openFile' | 'onMenu'>;
export type ServiceOp = keyof ServedApi;

/** The operations dispatch serves. saveFile and openFile need a dialog (Electron) or the browser itself. */
export const SERVICE_OPS: ReadonlySet<HostOp> = new Set(HOST_OPS.filter((op) => !CLIENT_SIDE_OPS.includes(op)));

export type DispatchReply = { ok: true; value: unknown } | { ok: false; error: HostErrorInfo };

export interface HostService extends ServedApi {
  dispatch(op: string, rawArgs: unknown): Promise<DispatchReply>;
}

/** Replies stay short: one line, bounded, whatever was thrown. */
const MAX_MESSAGE = 500;

function oneLine(s: string): string {
  const line = s.split(/\r?\n/, 1)[0]!.trim();
  return line.length > MAX_MESSAGE ? `${line.slice(0, MAX_MESSAGE - 1)}…` : line;
}

/**
 * HostError keeps its code. SQLite's errors (better-sqlite3's SqliteError carries an SQLITE_* code)
 * become 'store', with a hint for the one a user can act on; anything else is a bug: 'internal'.
 */
export function toHostErrorInfo(e: unknown): HostErrorInfo {
  if (e instanceof HostError) return { code: e.code, message: oneLine(e.message) };
  const code = (e as { code?: unknown } | null)?.code;
  const message = e instanceof Error ? e.message : String(e);
  if (typeof code === 'string' && code.startsWith('SQLITE_')) {
    const hint = code.startsWith('SQLITE_BUSY') ? ' (another process is writing the run database; try again)' : '';
    return { code: 'store', message: oneLine(`run database: ${code}: ${message}${hint}`) };
  }
  return { code: 'internal', message: oneLine(`internal error: ${message || 'unknown'}`) };
}

/** The name checks: a string, an operation of HOST_OP_ARGS, one the service serves (not a dialog). */
export function checkOp(op: unknown): { ok: true; op: ServiceOp } | { ok: false; error: HostErrorInfo } {
  if (typeof op !== 'string') return { ok: false, error: { code: 'unknown-op', message: `unknown operation (the name is a ${typeof op}, not a string)` } };
  if (CLIENT_SIDE_OPS.includes(op as HostOp)) {
    return { ok: false, error: { code: 'unknown-op', message: `${op} is handled by the host itself (a dialog or a download), not by the host service` } };
  }
  if (!Object.prototype.hasOwnProperty.call(HOST_OP_ARGS, op) || !SERVICE_OPS.has(op as HostOp)) {
    return { ok: false, error: { code: 'unknown-op', message: `unknown operation "${op}"` } };
  }
  return { ok: true, op: op as ServiceOp };
}

/**
 * The checks every call passes before the service runs it: the name (checkOp), then arguments
 * that parse against HOST_OP_ARGS. The host worker's client runs them on the calling thread
 * before forwarding a call, and dispatch runs them again in the worker.
 */
export function checkCall(op: unknown, rawArgs: unknown): { ok: true; op: ServiceOp; args: unknown[] } | { ok: false; error: HostErrorInfo } {
  const named = checkOp(op);
  if (!named.ok) return named;
  const parsed = parseHostArgs(named.op, rawArgs);
  if (!parsed.ok) return parsed;
  return { ok: true, op: named.op, args: parsed.args };
}

export function createHostService(store: RunStore, info: () => HostInfo): HostService {
  const api: ServedApi = {
    info: async () => info(),
    listRuns: async () => store.listRuns(),
    getRun: async (id) => store.getRun(id),
    beginRun: async (args) => store.beginRun(args),
    renewLease: async (id) => store.renewLease(id),
    appendSeries: async (id, points) => store.appendSeries(id, points),
    appendConsole: async (id, chunks) => store.appendConsole(id, chunks),
    finishRun: async (id, end) => store.finishRun(id, end),
    setNote: async (id, note) => store.setNote(id, note),
    deleteRun: async (id) => store.deleteRun(id),
    saveCompare: async (args) => store.saveCompare(args),
    listScenarios: async () => store.listScenarios(),
    saveScenario: async (name, scenario) => store.saveScenario(name, scenario),
    deleteScenario: async (id) => store.deleteScenario(id),
    exportRun: async (id, format) => store.exportRun(id, format),
    importRun: async (content) => store.importRun(content),
    listLabStudents: async () => store.listLabStudents(),
    getLabProgress: async (student) => store.getLabProgress(student),
    saveLabProgress: async (student, sheetId, progress) => store.saveLabProgress(student, sheetId, progress),
  };

  async function dispatch(op: string, rawArgs: unknown): Promise<DispatchReply> {
    try {
      const call = checkCall(op, rawArgs);
      if (!call.ok) return call;
      const fn = api[call.op] as (...a: unknown[]) => Promise<unknown>;
      return { ok: true, value: await fn(...call.args) };
    } catch (e) {
      return { ok: false, error: toHostErrorInfo(e) };
    }
  }

  return { ...api, dispatch };
}

/**
 * The host API: what the renderer asks of the host (the Electron main process, or the Node server
 * in browser mode). One function per operation; the preload and the browser client implement the
 * same interface, and both hosts validate every call's arguments against HOST_OP_ARGS before it
 * reaches the store.
 */
import { z } from 'zod';
import type { PagingMode } from './scenario.js';
import type { Results } from './results.js';

export const RUN_STATUSES = ['running', 'finished', 'failed', 'cancelled', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** The numbers a history table shows without opening a run. */
export interface RunHeadline {
  auditOk: boolean;
  simulatedCycles: number;
  domains: { name: string; mode: PagingMode; ops: number; cyclesPerOp: number; refsPerWalk: number; tlbMissRate: number }[];
}

export interface RunSummary {
  id: number;
  scenarioName: string;
  /** Paging modes of the run's guest domains, in domain order. */
  modes: PagingMode[];
  seed: number;
  appVersion: string;
  /** ISO 8601. */
  startedAt: string;
  endedAt: string | null;
  status: RunStatus;
  headline: RunHeadline | null;
  note: string;
}

/** One metric sample of one domain (a live chart point), saved while the run goes. */
export interface SeriesPoint {
  /** Simulated cycles since the run began (the x axis of live charts). */
  t: number;
  domain: string;
  values: Record<string, number>;
}

export interface ConsoleChunk {
  /** 'xen', 'dom0' or a guest's name. */
  console: string;
  text: string;
}

export interface RunDetail extends RunSummary {
  /** The scenario as it was run (a snapshot, not a reference to a saved scenario). */
  scenario: unknown;
  results: Results | null;
  error: string | null;
  series: SeriesPoint[];
  console: ConsoleChunk[];
}

export interface SavedScenario {
  id: number;
  name: string;
  updatedAt: string;
  scenario: unknown;
}

export type StoreHealth =
  | { ok: true }
  /** The database could not be used; the file was kept aside (keptAs) and a fresh one opened. */
  | { ok: false; problem: string; keptAs: string | null };

export interface HostInfo {
  version: string;
  host: 'electron' | 'browser';
  dataDir: string;
  store: StoreHealth;
}

export interface FileFilter {
  name: string;
  extensions: string[];
}

export type MenuCommand = 'new-scenario' | 'open-scenario' | 'save-scenario' | 'export-run' | 'about';

export interface HostApi {
  info(): Promise<HostInfo>;
  listRuns(): Promise<RunSummary[]>;
  getRun(id: number): Promise<RunDetail | null>;
  beginRun(args: BeginRunArgs): Promise<{ id: number }>;
  appendSeries(id: number, points: SeriesPoint[]): Promise<void>;
  appendConsole(id: number, chunks: ConsoleChunk[]): Promise<void>;
  finishRun(id: number, end: FinishRunArgs): Promise<void>;
  setNote(id: number, note: string): Promise<void>;
  deleteRun(id: number): Promise<void>;
  listScenarios(): Promise<SavedScenario[]>;
  saveScenario(name: string, scenario: unknown): Promise<{ id: number }>;
  deleteScenario(id: number): Promise<void>;
  /** A run's results as a file's text: JSON (the whole run) or CSV (one row per domain). */
  exportRun(id: number, format: 'json' | 'csv'): Promise<{ filename: string; content: string }>;
  /** Imports a run exported as JSON; it gets a new id. */
  importRun(content: string): Promise<{ id: number }>;
  /** Electron: a save dialog. Browser: a download (the client does it, not the server). */
  saveFile(args: SaveFileArgs): Promise<{ saved: boolean; path?: string }>;
  /** Electron: an open dialog. Browser: a file picker (the client does it). */
  openFile(args: OpenFileArgs): Promise<{ name: string; content: string } | null>;
  /** Application-menu commands (Electron only; the browser never calls back). Returns an unsubscribe. */
  onMenu(cb: (cmd: MenuCommand) => void): () => void;
}

const id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const json = z.unknown().refine((v) => v !== undefined, 'required');
const SMALL = 16 * 1024 * 1024;

export const beginRunArgs = z.strictObject({
  scenarioName: z.string().min(1).max(128),
  scenario: json,
  modes: z.array(z.enum(['native', 'pv', 'shadow', 'hap'])).max(64),
  seed: z.number().int().min(0).max(0xffffffff),
});
export type BeginRunArgs = z.infer<typeof beginRunArgs>;

export const finishRunArgs = z.strictObject({
  status: z.enum(['finished', 'failed', 'cancelled']),
  results: z.unknown().optional(),
  error: z.string().max(64 * 1024).optional(),
});
export type FinishRunArgs = { status: 'finished' | 'failed' | 'cancelled'; results?: Results; error?: string };

const seriesPoint = z.strictObject({
  t: z.number().finite().min(0),
  domain: z.string().min(1).max(64),
  values: z.record(z.string().max(64), z.number()),
});
const consoleChunk = z.strictObject({ console: z.string().min(1).max(64), text: z.string().max(SMALL) });
const filters = z.array(z.strictObject({ name: z.string().max(64), extensions: z.array(z.string().regex(/^[A-Za-z0-9]{1,8}$/)).max(8) })).max(8);

export const saveFileArgs = z.strictObject({
  suggestedName: z.string().min(1).max(255).regex(/^[^/\\\0]+$/, 'a file name, no folders'),
  content: z.string().max(64 * 1024 * 1024),
  filters: filters.optional(),
});
export type SaveFileArgs = z.infer<typeof saveFileArgs>;
export const openFileArgs = z.strictObject({ filters: filters.optional() });
export type OpenFileArgs = z.infer<typeof openFileArgs>;

/**
 * Every operation a host serves, with the schema of its argument list. The hosts refuse a call to
 * an operation not listed here, or whose arguments do not parse, with a HostError.
 */
export const HOST_OP_ARGS = {
  info: z.tuple([]),
  listRuns: z.tuple([]),
  getRun: z.tuple([id]),
  beginRun: z.tuple([beginRunArgs]),
  appendSeries: z.tuple([id, z.array(seriesPoint).max(100_000)]),
  appendConsole: z.tuple([id, z.array(consoleChunk).max(10_000)]),
  finishRun: z.tuple([id, finishRunArgs]),
  setNote: z.tuple([id, z.string().max(64 * 1024)]),
  deleteRun: z.tuple([id]),
  listScenarios: z.tuple([]),
  saveScenario: z.tuple([z.string().min(1).max(128), json]),
  deleteScenario: z.tuple([id]),
  exportRun: z.tuple([id, z.enum(['json', 'csv'])]),
  importRun: z.tuple([z.string().max(256 * 1024 * 1024)]),
  saveFile: z.tuple([saveFileArgs]),
  openFile: z.tuple([openFileArgs]),
} as const;
export type HostOp = keyof typeof HOST_OP_ARGS;
export const HOST_OPS = Object.keys(HOST_OP_ARGS) as HostOp[];

/** Operations the browser client performs itself (the server has no dialogs). */
export const CLIENT_SIDE_OPS: readonly HostOp[] = ['saveFile', 'openFile'];

/** IPC channel prefix: main accepts `hyperlab:<op>` and nothing else. */
export const IPC_PREFIX = 'hyperlab:';
export const MENU_CHANNEL = 'hyperlab-menu';

/** What a host answers for a refused or failed call (never a stack trace). */
export interface HostErrorInfo {
  code: 'unknown-op' | 'bad-args' | 'forbidden' | 'not-found' | 'store' | 'internal';
  message: string;
}

export class HostError extends Error {
  constructor(
    readonly code: HostErrorInfo['code'],
    message: string,
  ) {
    super(message);
    this.name = 'HostError';
  }
}

/** Parses a call's arguments; the message names the argument path and the reason. */
export function parseHostArgs(op: string, args: unknown): { ok: true; op: HostOp; args: unknown[] } | { ok: false; error: HostErrorInfo } {
  if (!Object.prototype.hasOwnProperty.call(HOST_OP_ARGS, op)) {
    return { ok: false, error: { code: 'unknown-op', message: `unknown operation "${op}"` } };
  }
  const schema = HOST_OP_ARGS[op as HostOp];
  const r = schema.safeParse(args);
  if (!r.success) {
    const first = r.error.issues[0]!;
    // args[1][0].values.t: indices in brackets, names after a dot.
    const path = 'args' + first.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    return { ok: false, error: { code: 'bad-args', message: `${op}: ${path}: ${first.message}` } };
  }
  return { ok: true, op: op as HostOp, args: r.data as unknown[] };
}

/**
 * The host API: what the renderer asks of the host (the Electron main process, or the Node server
 * in browser mode). One function per operation; the preload and the browser client implement the
 * same interface, and both hosts validate every call's arguments against HOST_OP_ARGS before it
 * reaches the store.
 */
import { z } from 'zod';
import type { PagingMode } from './scenario.js';
import type { CompareResult, Results } from './results.js';
import type { SweepPoint, SweepSpec } from './worker.js';

export const RUN_STATUSES = ['running', 'finished', 'failed', 'cancelled', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/**
 * What a History entry is: a live run (series, console, results), or a comparison saved from the
 * Compare view — one workload under several paging modes ('compare'), or over a swept parameter
 * too ('sweep').
 */
export const RUN_KINDS = ['run', 'compare', 'sweep'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

/**
 * A running run's lease. The page that records a run renews it every LEASE_RENEW_MS (and every
 * append renews it too); a run whose lease ran out is marked 'interrupted' by the host, so a tab
 * closed (or crashed) mid-run does not stay 'running' for ever.
 *
 * Why three minutes: browsers throttle timers in a background tab — Chrome's intensive throttling
 * runs a hidden page's timers at most once a minute after 5 minutes hidden, Firefox and Safari
 * similarly — so a live page that is merely hidden may renew only once a minute, a few seconds late
 * if its event loop is busy. Three minutes lets two such renewals go missing before the host gives
 * up on the page, and still tells a user within minutes that a closed tab's run was interrupted.
 */
export const DEFAULT_LEASE_MS = 180_000;
/** How often a recording page renews its lease while in the foreground (a shorter lease renews at a third of it). */
export const LEASE_RENEW_MS = 5_000;

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
  /** A live run, or a saved comparison ('compare', or 'sweep' when it swept a parameter). */
  kind: RunKind;
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
  /** A comparison's outcome, as the Compare view drew it (kind 'compare' or 'sweep'); null for a live run. */
  compare: SavedCompare | null;
}

/** What a comparison measured: the Compare view's outcome and what it was run for. */
export interface SavedCompare {
  /** The guest whose workload was compared. */
  guest: string;
  /** The workload document compared (kind and parameters). */
  workload: { kind: string; [param: string]: unknown };
  /** The swept parameter and its values, or null for a plain comparison. */
  sweep: SweepSpec | null;
  /** Per mode (at the sweep's first value): the results the bars, the why table and the histograms come from. */
  result: CompareResult & { skipped: { mode: PagingMode; reason: string }[] };
  /** Every (value, mode) point of the sweep, or null. */
  sweepPoints: SweepPoint[] | null;
}

export interface SaveCompareArgs {
  scenarioName: string;
  /** The scenario the comparison ran (the first guest's workload set as compared). */
  scenario: unknown;
  seed: number;
  compare: SavedCompare;
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

/** A student's saved progress on one lab sheet (the document is core/api/labs.ts SheetProgress). */
export interface LabProgressRecord {
  sheetId: string;
  /** ISO 8601. */
  updatedAt: string;
  progress: unknown;
}

export type MenuCommand = 'new-scenario' | 'open-scenario' | 'save-scenario' | 'export-run' | 'about';

export interface HostApi {
  info(): Promise<HostInfo>;
  listRuns(): Promise<RunSummary[]>;
  getRun(id: number): Promise<RunDetail | null>;
  /** Starts a run record; leaseMs: how long it stays 'running' without renewLease or an append. */
  beginRun(args: BeginRunArgs): Promise<{ id: number; leaseMs?: number }>;
  /** The recording page is still there: the run's lease starts again. Refused once the run ended or its lease ran out. */
  renewLease(id: number): Promise<void>;
  appendSeries(id: number, points: SeriesPoint[]): Promise<void>;
  appendConsole(id: number, chunks: ConsoleChunk[]): Promise<void>;
  finishRun(id: number, end: FinishRunArgs): Promise<void>;
  setNote(id: number, note: string): Promise<void>;
  deleteRun(id: number): Promise<void>;
  /** Saves a comparison from the Compare view as a History entry (kind 'compare' or 'sweep'). */
  saveCompare(args: SaveCompareArgs): Promise<{ id: number }>;
  listScenarios(): Promise<SavedScenario[]>;
  saveScenario(name: string, scenario: unknown): Promise<{ id: number }>;
  deleteScenario(id: number): Promise<void>;
  /** A run's results as a file's text: JSON (the whole run) or CSV (one row per domain). */
  exportRun(id: number, format: 'json' | 'csv'): Promise<{ filename: string; content: string }>;
  /** Imports a run exported as JSON; it gets a new id. */
  importRun(content: string): Promise<{ id: number }>;
  /** Lab sheets: the students with saved progress, by name. */
  listLabStudents(): Promise<string[]>;
  /** Lab sheets: a student's saved progress, one record per sheet. */
  getLabProgress(student: string): Promise<LabProgressRecord[]>;
  /** Lab sheets: saves (replaces) a student's progress on one sheet. */
  saveLabProgress(student: string, sheetId: string, progress: unknown): Promise<void>;
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
/** A student's name as typed: trimmed by the page, 1 to 80 characters, no control characters. */
const labStudent = z.string().min(1).max(80).regex(/^[^\u0000-\u001f\u007f]+$/, 'a name without control characters');

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
  renewLease: z.tuple([id]),
  appendSeries: z.tuple([id, z.array(seriesPoint).max(100_000)]),
  appendConsole: z.tuple([id, z.array(consoleChunk).max(10_000)]),
  finishRun: z.tuple([id, finishRunArgs]),
  setNote: z.tuple([id, z.string().max(64 * 1024)]),
  deleteRun: z.tuple([id]),
  // The outcome is checked by the store (documents.ts), as finishRun's results are.
  saveCompare: z.tuple([
    z.strictObject({
      scenarioName: z.string().min(1).max(128),
      scenario: json,
      seed: z.number().int().min(0).max(0xffffffff),
      compare: json,
    }),
  ]),
  listScenarios: z.tuple([]),
  saveScenario: z.tuple([z.string().min(1).max(128), json]),
  deleteScenario: z.tuple([id]),
  exportRun: z.tuple([id, z.enum(['json', 'csv'])]),
  importRun: z.tuple([z.string().max(256 * 1024 * 1024)]),
  listLabStudents: z.tuple([]),
  getLabProgress: z.tuple([labStudent]),
  saveLabProgress: z.tuple([labStudent, z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'a sheet id'), json]),
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

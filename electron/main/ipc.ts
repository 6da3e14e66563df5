/**
 * The IPC boundary. Every message is checked before it touches the store or the disk (Electron
 * security checklist 17, "Validate the sender of all IPC messages"; the same shape as VS Code's
 * ipcMain wrapper, which checks channel prefix and sender frame of every message):
 *   1. the channel names an operation of HOST_OP_ARGS (nothing else is registered, and the
 *      handler checks again);
 *   2. the sender is a live frame of this app (app://hyperlab/...), not some page that got
 *      loaded by accident, nor a frame that is already gone;
 *   3. the arguments parse against the operation's schema (in dispatch — the host client's, on
 *      this thread, before the call is forwarded to the host worker — or here for the two
 *      operations that open dialogs).
 * A handler never throws: an exception in ipcMain.handle reaches the renderer as an opaque
 * "Error invoking remote method", so every outcome is a reply {ok, value} or {ok: false, error}.
 */
import { readFile as fsReadFile, stat as fsStat, writeFile as fsWriteFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { BrowserWindow, IpcMainInvokeEvent, OpenDialogOptions, SaveDialogOptions } from 'electron';
import { HOST_OPS, IPC_PREFIX, parseHostArgs, type HostErrorInfo, type HostOp, type OpenFileArgs, type SaveFileArgs } from '../../core/api/host.js';
import { APP_ORIGIN } from './protocol.js';

export type HostReply = { ok: true; value: unknown } | { ok: false; error: HostErrorInfo };

/** Files bigger than this are refused by openFile; it matches importRun's argument limit. */
export const MAX_OPEN_BYTES = 256 * 1024 * 1024;

/** What main needs from the host service: electron/host/hostClient.ts, which forwards to the host worker. */
export interface Dispatcher {
  dispatch(op: string, rawArgs: unknown): Promise<HostReply>;
}

export interface IpcDeps {
  service: Dispatcher;
  dialogs: {
    showSaveDialog(owner: BrowserWindow, options: SaveDialogOptions): Promise<{ canceled: boolean; filePath?: string }>;
    showOpenDialog(owner: BrowserWindow, options: OpenDialogOptions): Promise<{ canceled: boolean; filePaths: string[] }>;
  };
  /** The window a message came from (dialogs are modal to it). */
  windowOf(event: IpcMainInvokeEvent): BrowserWindow | null;
  /** Folder a save dialog starts in. */
  defaultDir(): string;
  files?: {
    writeFile(path: string, content: string | Buffer): Promise<void>;
    readFile(path: string): Promise<string>;
    size(path: string): Promise<number>;
  };
  maxOpenBytes?: number;
  log?(message: string): void;
}

export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcMainInvokeEvent, ...args: unknown[]) => Promise<HostReply>): void;
}

const nodeFiles: NonNullable<IpcDeps['files']> = {
  writeFile: (path, content) => (typeof content === 'string' ? fsWriteFile(path, content, 'utf8') : fsWriteFile(path, content)),
  readFile: (path) => fsReadFile(path, 'utf8'),
  size: async (path) => (await fsStat(path)).size,
};

const fail = (code: HostErrorInfo['code'], message: string): HostReply => ({ ok: false, error: { code, message } });

/** The URL of the frame that sent `event`, or null when there is none (destroyed, navigated away). */
function senderUrl(event: IpcMainInvokeEvent): string | null {
  try {
    // senderFrame is null once the frame is gone; reading it can also throw while the frame is
    // being disposed. Either way the message has no trustworthy origin.
    const frame = event.senderFrame;
    return frame && typeof frame.url === 'string' ? frame.url : null;
  } catch {
    return null;
  }
}

export function isTrustedSender(event: IpcMainInvokeEvent): boolean {
  const url = senderUrl(event);
  return url !== null && url.startsWith(`${APP_ORIGIN}/`);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function saveFile(deps: IpcDeps, event: IpcMainInvokeEvent, args: SaveFileArgs): Promise<HostReply> {
  const owner = deps.windowOf(event);
  if (!owner) return fail('forbidden', 'saveFile: the asking window is gone');
  const files = deps.files ?? nodeFiles;
  const options: SaveDialogOptions = {
    defaultPath: join(deps.defaultDir(), args.suggestedName),
    ...(args.filters ? { filters: args.filters } : {}),
    properties: ['createDirectory', 'showOverwriteConfirmation'],
  };
  const choice = await deps.dialogs.showSaveDialog(owner, options);
  if (choice.canceled || !choice.filePath) return { ok: true, value: { saved: false } };
  try {
    await files.writeFile(choice.filePath, fileBytes(args.content));
  } catch (e) {
    return fail('internal', `could not write ${choice.filePath}: ${errorText(e)}`);
  }
  return { ok: true, value: { saved: true, path: choice.filePath } };
}

async function openFile(deps: IpcDeps, event: IpcMainInvokeEvent, args: OpenFileArgs): Promise<HostReply> {
  const owner = deps.windowOf(event);
  if (!owner) return fail('forbidden', 'openFile: the asking window is gone');
  const files = deps.files ?? nodeFiles;
  const cap = deps.maxOpenBytes ?? MAX_OPEN_BYTES;
  const choice = await deps.dialogs.showOpenDialog(owner, {
    properties: ['openFile'],
    ...(args.filters ? { filters: args.filters } : {}),
  });
  const path = choice.filePaths[0];
  if (choice.canceled || !path) return { ok: true, value: null };
  try {
    // The size is checked before reading so a wrong pick (a disk image, a video) costs nothing.
    const size = await files.size(path);
    if (size > cap) {
      return fail('bad-args', `${basename(path)} is ${size} bytes; Hyperlab opens files of at most ${cap} bytes (scenarios and exported runs)`);
    }
    return { ok: true, value: { name: basename(path), content: await files.readFile(path) } };
  } catch (e) {
    return fail('not-found', `could not read ${path}: ${errorText(e)}`);
  }
}

/** Handles one message on `channel`. Exported for tests; registerIpc wires it to ipcMain. */
export async function handleHostCall(deps: IpcDeps, channel: string, event: IpcMainInvokeEvent, rawArgs: unknown[]): Promise<HostReply> {
  const op = channel.startsWith(IPC_PREFIX) ? channel.slice(IPC_PREFIX.length) : null;
  if (op === null || !(HOST_OPS as readonly string[]).includes(op)) {
    deps.log?.(`refused IPC on unknown channel ${JSON.stringify(channel)}`);
    return fail('unknown-op', `unknown operation on channel "${channel}"`);
  }
  if (!isTrustedSender(event)) {
    const from = senderUrl(event);
    deps.log?.(`refused ${op} from ${from ?? 'a destroyed or missing frame'}`);
    return fail('forbidden', `${op}: only the app's own pages (${APP_ORIGIN}/) may call the host`);
  }
  try {
    if (op === 'saveFile' || op === 'openFile') {
      const parsed = parseHostArgs(op, rawArgs);
      if (!parsed.ok) return { ok: false, error: parsed.error };
      return op === 'saveFile'
        ? await saveFile(deps, event, parsed.args[0] as SaveFileArgs)
        : await openFile(deps, event, parsed.args[0] as OpenFileArgs);
    }
    return await deps.service.dispatch(op, rawArgs);
  } catch (e) {
    deps.log?.(`${op} failed: ${errorText(e)}`);
    return fail('internal', `${op}: ${errorText(e)}`);
  }
}

/** Registers one handler per operation, on `${IPC_PREFIX}<op>` and nothing else. */
export function registerIpc(ipcMain: IpcMainLike, deps: IpcDeps): HostOp[] {
  for (const op of HOST_OPS) {
    const channel = `${IPC_PREFIX}${op}`;
    ipcMain.handle(channel, (event, ...args) => handleHostCall(deps, channel, event, args));
  }
  return [...HOST_OPS];
}

/**
 * What a saved file holds: a base64 data: URL (a chart exported as PNG) is written as its bytes;
 * any other string (JSON, CSV, SVG) as UTF-8 text.
 */
export function fileBytes(content: string): string | Buffer {
  const m = /^data:[\w.+-]+\/[\w.+-]+;base64,/.exec(content);
  return m ? Buffer.from(content.slice(m[0].length), 'base64') : content;
}

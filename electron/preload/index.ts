/**
 * The one preload: exposes `window.hyperlab`, a HostApi, through contextBridge. One function per
 * operation, each sending exactly one IPC message on its own channel; ipcRenderer itself, its
 * events and its `send` are never handed to the page (Electron security checklist 20 and the
 * contextBridge docs: exposing ipcRenderer would let any script in the page talk to main freely).
 *
 * This file imports only types from core/api/host.ts: the values it needs (the channel names,
 * the operation list) are written out here and type-checked against the contract, so the
 * sandboxed preload bundle stays a few kilobytes and does not carry zod.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { HostApi, HostErrorInfo, HostInfo, HostOp, IPC_PREFIX, MENU_CHANNEL, MenuCommand } from '../../core/api/host.js';

// `typeof` of the contract's constants: a different string here is a type error.
const PREFIX: typeof IPC_PREFIX = 'hyperlab:';
const MENU: typeof MENU_CHANNEL = 'hyperlab-menu';

/** Every command main may send; anything else on the menu channel is dropped. */
const MENU_COMMANDS: Record<MenuCommand, true> = {
  'new-scenario': true,
  'open-scenario': true,
  'save-scenario': true,
  'export-run': true,
  about: true,
};

type Reply = { ok: true; value: unknown } | { ok: false; error: HostErrorInfo };

/** A rejected call: the message is the host's own (it names the argument and the reason). */
class HostCallError extends Error {
  constructor(
    readonly code: HostErrorInfo['code'],
    message: string,
  ) {
    super(message);
    this.name = 'HostError';
  }
}

async function call(op: HostOp, args: unknown[]): Promise<unknown> {
  const reply = (await ipcRenderer.invoke(`${PREFIX}${op}`, ...args)) as Reply | undefined;
  if (reply && reply.ok === true) return reply.value;
  if (reply && reply.ok === false && reply.error) throw new HostCallError(reply.error.code, reply.error.message);
  throw new HostCallError('internal', `${op}: the host sent no valid reply`);
}

/** The renderer-facing function for `name`, with HostApi's exact signature. */
function op<K extends HostOp>(name: K): HostApi[K] {
  return ((...args: unknown[]) => call(name, args)) as unknown as HostApi[K];
}

// Annotated as HostApi: a missing or an extra member is a compile error, and the test checks the
// exposed object has exactly these keys.
const api: HostApi = {
  // The host fills in `host` too; it is pinned here so the renderer can rely on it under Electron.
  info: async () => ({ ...((await call('info', [])) as HostInfo), host: 'electron' }),
  listRuns: op('listRuns'),
  getRun: op('getRun'),
  beginRun: op('beginRun'),
  renewLease: op('renewLease'),
  appendSeries: op('appendSeries'),
  appendConsole: op('appendConsole'),
  finishRun: op('finishRun'),
  setNote: op('setNote'),
  deleteRun: op('deleteRun'),
  saveCompare: op('saveCompare'),
  listScenarios: op('listScenarios'),
  saveScenario: op('saveScenario'),
  deleteScenario: op('deleteScenario'),
  exportRun: op('exportRun'),
  importRun: op('importRun'),
  listLabStudents: op('listLabStudents'),
  getLabProgress: op('getLabProgress'),
  saveLabProgress: op('saveLabProgress'),
  saveFile: op('saveFile'),
  openFile: op('openFile'),
  onMenu(cb) {
    if (typeof cb !== 'function') throw new TypeError('onMenu(cb): cb must be a function');
    // The IPC event is not passed on: event.sender is ipcRenderer itself.
    const listener = (_event: IpcRendererEvent, cmd: unknown): void => {
      if (typeof cmd === 'string' && Object.prototype.hasOwnProperty.call(MENU_COMMANDS, cmd)) cb(cmd as MenuCommand);
    };
    ipcRenderer.on(MENU, listener);
    return () => {
      ipcRenderer.removeListener(MENU, listener);
    };
  },
};

contextBridge.exposeInMainWorld('hyperlab', api);

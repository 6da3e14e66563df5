/**
 * The main process's lifecycle (electron/main/index.ts) against a mocked Electron: what is set up
 * before and after 'ready', the single-instance lock, the host worker that owns the store, the
 * window, and quitting.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HOST_OPS, IPC_PREFIX } from '../../core/api/host.js';

const m = vi.hoisted(() => {
  const state = {
    order: [] as string[],
    appEvents: new Map<string, ((...a: any[]) => void)[]>(),
    windows: [] as any[],
    packaged: false,
    lock: true,
    openFails: null as Error | null,
  };
  const on = (map: Map<string, ((...a: any[]) => void)[]>) => (ev: string, fn: (...a: any[]) => void) => void map.set(ev, [...(map.get(ev) ?? []), fn]);
  const emitApp = (ev: string, ...args: any[]) => (state.appEvents.get(ev) ?? []).forEach((fn) => fn(...args));
  class BrowserWindow {
    static getAllWindows = () => state.windows;
    static getFocusedWindow = () => state.windows[0] ?? null;
    static fromWebContents = () => state.windows[0] ?? null;
    events = new Map<string, ((...a: any[]) => void)[]>();
    webContents = { on: vi.fn(), send: vi.fn(), isDestroyed: () => false };
    show = vi.fn();
    focus = vi.fn();
    restore = vi.fn();
    isMinimized = () => false;
    loadURL = vi.fn(async () => {});
    on = on(this.events);
    once = on(this.events);
    constructor(readonly options: any) {
      state.windows.push(this);
    }
  }
  // The host client (electron/host/hostClient.ts): ready settles as the worker's store opens.
  const host = { ready: Promise.resolve({ ok: true }), dispatch: vi.fn(), close: vi.fn(async () => void state.order.push('host.close')) };
  const electron = {
    app: {
      get isPackaged() {
        return state.packaged;
      },
      getPath: (name: string) => `/data/${name}`,
      getAppPath: () => '/app',
      enableSandbox: vi.fn(() => void state.order.push('enableSandbox')),
      requestSingleInstanceLock: vi.fn(() => state.lock),
      quit: vi.fn(),
      exit: vi.fn(),
      on: (ev: string, fn: (...a: any[]) => void) => on(state.appEvents)(ev, fn),
      whenReady: vi.fn(() => {
        state.order.push('whenReady');
        return Promise.resolve();
      }),
    },
    protocol: {
      registerSchemesAsPrivileged: vi.fn(() => void state.order.push('registerSchemesAsPrivileged')),
      handle: vi.fn(() => void state.order.push('protocol.handle')),
    },
    session: { defaultSession: { setPermissionRequestHandler: vi.fn(), setPermissionCheckHandler: vi.fn() } },
    ipcMain: { handle: vi.fn() },
    Menu: { buildFromTemplate: vi.fn((t: unknown) => t), setApplicationMenu: vi.fn() },
    dialog: { showErrorBox: vi.fn(), showMessageBox: vi.fn(), showSaveDialog: vi.fn(), showOpenDialog: vi.fn() },
    shell: { openPath: vi.fn() },
    BrowserWindow,
  };
  const startHostClient = vi.fn(() => {
    host.ready = state.openFails ? Promise.reject(state.openFails) : Promise.resolve({ ok: true });
    return host;
  });
  return { state, emitApp, electron, host, startHostClient };
});

vi.mock('electron', () => m.electron);
// The real hostWorkerBeside (where main looks for the worker); only starting one is mocked.
vi.mock('../../electron/host/hostClient.js', async (actual) => ({ ...(await actual<object>()), startHostClient: m.startHostClient }));

async function boot(): Promise<void> {
  vi.resetModules();
  await import('../../electron/main/index.js');
  await new Promise((r) => setImmediate(r));
}

const realPlatform = process.platform;
const setPlatform = (p: string) => Object.defineProperty(process, 'platform', { value: p });

beforeEach(() => {
  vi.clearAllMocks();
  // main logs refusals with console.warn; keep the test output quiet.
  vi.spyOn(console, 'warn').mockImplementation(() => {});
  Object.assign(m.state, { order: [], appEvents: new Map(), windows: [], packaged: false, lock: true, openFails: null });
  delete process.env.HYPERLAB_SQLITE_BINDING;
});
afterEach(() => {
  setPlatform(realPlatform);
  vi.restoreAllMocks();
});

describe('main process lifecycle', () => {
  it('registers the app:// scheme and enables the sandbox before ready, serves it after', async () => {
    await boot();
    const o = m.state.order;
    expect(o.indexOf('registerSchemesAsPrivileged')).toBeLessThan(o.indexOf('whenReady'));
    expect(o.indexOf('enableSandbox')).toBeLessThan(o.indexOf('whenReady'));
    expect(o.indexOf('protocol.handle')).toBeGreaterThan(o.indexOf('whenReady'));
    expect(m.electron.protocol.registerSchemesAsPrivileged).toHaveBeenCalledWith([expect.objectContaining({ scheme: 'app' })]);
    expect(m.electron.protocol.handle).toHaveBeenCalledWith('app', expect.any(Function));
  });

  it('quits at once, without starting the host worker, when another instance holds the lock', async () => {
    m.state.lock = false;
    await boot();
    expect(m.electron.app.quit).toHaveBeenCalled();
    expect(m.startHostClient).not.toHaveBeenCalled();
    expect(m.state.windows).toHaveLength(0);
  });

  it('starts the host worker beside main on userData with the Electron SQLite build from npm start', async () => {
    process.env.HYPERLAB_SQLITE_BINDING = '/cache/better_sqlite3.node';
    await boot();
    expect(m.startHostClient).toHaveBeenCalledTimes(1);
    const opts = (m.startHostClient.mock.calls[0] as unknown[])[0] as Record<string, unknown>;
    expect(opts).toMatchObject({ dataDir: '/data/userData', nativeBinding: '/cache/better_sqlite3.node', host: 'electron' });
    // Beside this module: electron/main/hostWorker.ts here, out/main/hostWorker.js in the build.
    expect(opts.workerFile).toMatch(/[/\\]electron[/\\]main[/\\]hostWorker\.ts$/);
  });

  it('ignores HYPERLAB_SQLITE_BINDING once packaged', async () => {
    process.env.HYPERLAB_SQLITE_BINDING = '/tmp/evil.node';
    m.state.packaged = true;
    await boot();
    expect(m.startHostClient).toHaveBeenCalledWith(expect.objectContaining({ dataDir: '/data/userData', nativeBinding: undefined }));
  });

  it('holds the quit until the host worker has closed the database, then quits', async () => {
    await boot();
    const event = { preventDefault: vi.fn() };
    m.emitApp('will-quit', event);
    expect(event.preventDefault).toHaveBeenCalledTimes(1);
    expect(m.host.close).toHaveBeenCalledTimes(1);
    expect(m.electron.app.quit).not.toHaveBeenCalled();
    await new Promise((r) => setImmediate(r));
    expect(m.electron.app.quit).toHaveBeenCalledTimes(1);
    // The second will-quit (from that app.quit) goes through.
    const again = { preventDefault: vi.fn() };
    m.emitApp('will-quit', again);
    expect(again.preventDefault).not.toHaveBeenCalled();
    expect(m.host.close).toHaveBeenCalledTimes(1);
  });

  it('says what to do and exits 1 when the store cannot be opened, without opening a window', async () => {
    m.state.openFails = new Error('the run database could not be opened: The module was compiled against a different Node.js version');
    await boot();
    expect(m.electron.dialog.showErrorBox).toHaveBeenCalledWith('Hyperlab cannot open its database', expect.stringContaining('npm start'));
    expect(m.electron.dialog.showErrorBox).toHaveBeenCalledWith(expect.any(String), expect.stringContaining('compiled against a different Node.js version'));
    expect(m.electron.app.exit).toHaveBeenCalledWith(1);
    expect(m.state.windows).toHaveLength(0);
    expect(m.electron.ipcMain.handle).not.toHaveBeenCalled();
  });

  it('denies every permission request and check', async () => {
    await boot();
    const request = m.electron.session.defaultSession.setPermissionRequestHandler.mock.calls[0]![0] as (w: unknown, p: string, cb: (ok: boolean) => void) => void;
    const check = m.electron.session.defaultSession.setPermissionCheckHandler.mock.calls[0]![0] as (...a: unknown[]) => boolean;
    for (const p of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal']) {
      const cb = vi.fn();
      request({}, p, cb);
      expect(cb).toHaveBeenCalledWith(false);
      expect(check({}, p, 'app://hyperlab')).toBe(false);
    }
  });

  it('wires one IPC handler per operation, forwarding to the host worker, and sets the application menu', async () => {
    await boot();
    const channels = m.electron.ipcMain.handle.mock.calls.map((c) => c[0] as string);
    expect(channels.sort()).toEqual(HOST_OPS.map((op) => `${IPC_PREFIX}${op}`).sort());
    const handler = m.electron.ipcMain.handle.mock.calls.find((c) => c[0] === `${IPC_PREFIX}listRuns`)![1] as (e: unknown, ...a: unknown[]) => Promise<unknown>;
    m.host.dispatch.mockResolvedValueOnce({ ok: true, value: [] });
    expect(await handler({ senderFrame: { url: 'app://hyperlab/index.html' }, sender: {} })).toEqual({ ok: true, value: [] });
    expect(m.host.dispatch).toHaveBeenCalledWith('listRuns', []);
    expect(m.electron.Menu.setApplicationMenu).toHaveBeenCalledTimes(1);
  });

  it('creates a hidden, sandboxed window, shows it when ready and loads app://hyperlab/index.html', async () => {
    await boot();
    const [win] = m.state.windows;
    expect(win.options.show).toBe(false);
    expect(win.options.webPreferences).toMatchObject({ sandbox: true, contextIsolation: true, nodeIntegration: false, devTools: true });
    expect(win.options.webPreferences.preload).toMatch(/[/\\]preload[/\\]index\.cjs$/);
    expect(win.loadURL).toHaveBeenCalledWith('app://hyperlab/index.html');
    expect(win.show).not.toHaveBeenCalled();
    win.events.get('ready-to-show')[0]();
    expect(win.show).toHaveBeenCalled();
  });

  it('turns dev tools off in a packaged build', async () => {
    m.state.packaged = true;
    await boot();
    expect(m.state.windows[0].options.webPreferences.devTools).toBe(false);
  });

  it('quits when the last window closes, except on macOS', async () => {
    await boot();
    setPlatform('linux');
    m.emitApp('window-all-closed');
    expect(m.electron.app.quit).toHaveBeenCalledTimes(1);
    setPlatform('darwin');
    m.emitApp('window-all-closed');
    expect(m.electron.app.quit).toHaveBeenCalledTimes(1);
  });

  it('focuses the existing window when a second instance starts', async () => {
    await boot();
    m.emitApp('second-instance');
    expect(m.state.windows[0].focus).toHaveBeenCalled();
  });

  it('locks navigation on every web contents created', async () => {
    await boot();
    const contents = { on: vi.fn(), setWindowOpenHandler: vi.fn() };
    m.emitApp('web-contents-created', {}, contents);
    expect(contents.on).toHaveBeenCalledWith('will-navigate', expect.any(Function));
    expect((contents.setWindowOpenHandler.mock.calls[0]![0] as (d: { url: string }) => unknown)({ url: 'https://x.example/' })).toEqual({ action: 'deny' });
  });
});

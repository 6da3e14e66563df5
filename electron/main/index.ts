/**
 * The main process: lifecycle only. Everything with logic lives in a small module beside this
 * one (window, protocol, ipc, menu, about) or in electron/host (the store and the host service,
 * shared with the browser-mode server), so each can be tested without Electron. The store runs in
 * host worker threads (electron/host/hostClient.ts): this thread never waits for SQLite or for
 * an import being parsed.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, session, shell } from 'electron';
// The leaf module, not core/api/index.ts, which would drag the simulator into main.
import { VERSION } from '../../core/api/version.js';
import { hostWorkerBeside, startHostClient } from '../host/hostClient.js';
import { showAbout, showLicences, type AboutDeps } from './about.js';
import { registerIpc } from './ipc.js';
import { menuTemplate, sendToFocused } from './menu.js';
import { APP_ENTRY_URL, APP_SCHEME, APP_SCHEME_PRIVILEGES, createAppProtocolHandler } from './protocol.js';
import { lockNavigation, windowOptions } from './window.js';

// out/main/index.js → out/main/hostWorker.js, out/preload/index.cjs and out/renderer/
// (electron.vite.config.ts builds the host worker as a second entry of the main build).
const here = dirname(fileURLToPath(import.meta.url));
const HOST_WORKER = hostWorkerBeside(import.meta.url);
const PRELOAD = join(here, '../preload/index.cjs');
const RENDERER_DIR = join(here, '../renderer');

const log = (msg: string): void => console.warn(`[hyperlab] ${msg}`);

// Both must happen before 'ready': privileged schemes are fixed at startup, and enableSandbox
// makes every renderer sandboxed whatever a future window's options say (checklist 4).
protocol.registerSchemesAsPrivileged([APP_SCHEME_PRIVILEGES]);
app.enableSandbox();

/**
 * npm start rebuilds better-sqlite3 for Electron's ABI into a cache (scripts/start.mjs) and says
 * where with this variable. Ignored once packaged: there electron-builder built the module in
 * place, and an environment variable must not be able to make an installed app load native code.
 */
function nativeBinding(): string | undefined {
  const p = process.env.HYPERLAB_SQLITE_BINDING;
  return !app.isPackaged && p ? p : undefined;
}

function start(): void {
  let window: BrowserWindow | null = null;
  const dataDir = app.getPath('userData');
  // Started now, so the database opens while Electron gets ready; the binding is main's choice.
  const host = startHostClient({ workerFile: HOST_WORKER, dataDir, nativeBinding: nativeBinding(), host: 'electron', log });
  const cannotOpen = (e: unknown): void => {
    // The one message a user gets (showErrorBox works before and after 'ready'), so say what to do.
    dialog.showErrorBox(
      'Hyperlab cannot open its database',
      `${(e as Error).message}\n\nData folder: ${dataDir}\n` +
        'If you run from the source tree, start with "npm start" (it builds the SQLite module for Electron). ' +
        'Otherwise reinstall Hyperlab.',
    );
    app.exit(1);
  };

  const aboutDeps: AboutDeps = {
    version: VERSION,
    appPath: app.getAppPath(),
    showMessageBox: (o) => (window ? dialog.showMessageBox(window, o) : dialog.showMessageBox(o)),
    openPath: (p) => shell.openPath(p),
  };

  const createWindow = (): void => {
    const icon = join(app.getAppPath(), 'build', 'icon.png');
    const win = new BrowserWindow(windowOptions({ preload: PRELOAD, devTools: !app.isPackaged, ...(existsSync(icon) ? { icon } : {}) }));
    window = win;
    win.once('ready-to-show', () => win.show());
    win.on('closed', () => {
      if (window === win) window = null;
    });
    win.webContents.on('render-process-gone', (_e, d) => log(`renderer gone: ${d.reason}`));
    win.loadURL(APP_ENTRY_URL).catch((e: unknown) => log(`could not load ${APP_ENTRY_URL}: ${(e as Error).message}`));
  };

  // Checklist 13/14 for every web contents, including any a bug might create later.
  app.on('web-contents-created', (_e, contents) => lockNavigation(contents, log));

  app.on('second-instance', () => {
    if (!window) return;
    if (window.isMinimized()) window.restore();
    window.focus();
  });

  const opened = host.ready.then(
    () => true,
    (e: unknown) => {
      cannotOpen(e);
      return false;
    },
  );
  Promise.all([app.whenReady(), opened]).then(([, ok]) => {
    if (!ok) return;
    // Checklist 6: the lab needs no camera, location, notifications, MIDI, USB …; refuse all.
    session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
    session.defaultSession.setPermissionCheckHandler(() => false);
    protocol.handle(APP_SCHEME, createAppProtocolHandler(RENDERER_DIR));

    registerIpc(ipcMain, {
      service: host,
      dialogs: { showSaveDialog: (w, o) => dialog.showSaveDialog(w, o), showOpenDialog: (w, o) => dialog.showOpenDialog(w, o) },
      windowOf: (event) => BrowserWindow.fromWebContents(event.sender),
      defaultDir: () => app.getPath('documents'),
      log,
    });

    Menu.setApplicationMenu(
      Menu.buildFromTemplate(
        menuTemplate({
          platform: process.platform,
          allowReload: !app.isPackaged,
          allowDevTools: !app.isPackaged,
          send: sendToFocused(() => BrowserWindow.getFocusedWindow()),
          showAbout: () => void showAbout(aboutDeps),
          showLicences: () => void showLicences(aboutDeps),
        }),
      ),
    );

    createWindow();
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) createWindow();
    });
  }).catch((e: unknown) => {
    log(`startup failed: ${(e as Error).stack ?? String(e)}`);
    app.exit(1);
  });

  app.on('window-all-closed', () => {
    // macOS apps stay running with no window until the user quits.
    if (process.platform !== 'darwin') app.quit();
  });
  // Quit waits for the host workers to finish the calls already made and close the database
  // (hostClient.ts stops a worker that takes longer than CLOSE_TIMEOUT_MS; SQLite then rolls back
  // its open transaction, if any).
  let hostClosed = false;
  app.on('will-quit', (event) => {
    if (hostClosed) return;
    event.preventDefault();
    void host.close().finally(() => {
      hostClosed = true;
      app.quit();
    });
  });
}

// A second copy would open the same SQLite file; hand over to the first one instead.
if (app.requestSingleInstanceLock()) start();
else app.quit();

/**
 * The one application window: its options and the rules that keep it on the app's own pages.
 * Each setting is an item of Electron's security checklist; the test pins all of them.
 */
import type { BrowserWindowConstructorOptions, WebContents } from 'electron';
import { APP_HOST, APP_SCHEME } from './protocol.js';

export interface WindowSettings {
  /** Absolute path to out/preload/index.cjs. */
  preload: string;
  /** Developer tools are available only when running from the source tree (not packaged). */
  devTools: boolean;
  /** Optional window icon (Linux; macOS and Windows take it from the bundle). */
  icon?: string;
}

export function windowOptions(s: WindowSettings): BrowserWindowConstructorOptions {
  return {
    width: 1400,
    height: 900,
    // Below this the configuration forms and the side-by-side charts stop being usable.
    minWidth: 960,
    minHeight: 600,
    title: 'Hyperlab',
    // Shown on 'ready-to-show' so the user never sees a blank white frame.
    show: false,
    backgroundColor: '#1e1e24',
    ...(s.icon ? { icon: s.icon } : {}),
    webPreferences: {
      preload: s.preload,
      // Checklist 3: the preload's world and the page's world are separate.
      contextIsolation: true,
      // Checklist 4: the renderer process is sandboxed (the preload gets no Node either).
      sandbox: true,
      // Checklist 2: no Node in the page, nor in its workers (the simulation runs in a worker).
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      // Checklist 5: same-origin policy stays on.
      webSecurity: true,
      allowRunningInsecureContent: false,
      // Checklist 9: no experimental Blink features, no <webview>.
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      devTools: s.devTools,
    },
  };
}

/** True when `url` is a page of this app (app://hyperlab/...). */
export function isAppUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST;
  } catch {
    return false;
  }
}

/**
 * Checklist 13 and 14: no navigation away from the app and no new windows. The app is a single
 * page; any attempt to leave it (a stray link, a dropped file, injected markup) is a bug or an
 * attack, and is refused rather than handed to the system browser: the lab works offline and has
 * nothing to open outside.
 */
export function lockNavigation(contents: Pick<WebContents, 'on' | 'setWindowOpenHandler'>, log: (msg: string) => void = () => {}): void {
  const refuseUnlessApp = (event: { preventDefault(): void }, url: string): void => {
    if (!isAppUrl(url)) {
      event.preventDefault();
      log(`refused navigation to ${url}`);
    }
  };
  contents.on('will-navigate', refuseUnlessApp);
  contents.on('will-redirect', refuseUnlessApp);
  contents.on('will-frame-navigate', (event: { preventDefault(): void; url: string }) => refuseUnlessApp(event, event.url));
  // Belt and braces beside webviewTag: false.
  contents.on('will-attach-webview', (event: { preventDefault(): void }) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    log(`refused window.open(${url})`);
    return { action: 'deny' };
  });
}

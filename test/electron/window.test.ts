/**
 * The window's security settings and the navigation lock (Electron security checklist 2-5, 9,
 * 13, 14). window.ts only imports Electron's types, but the mock keeps a stray runtime import
 * from ever trying to load the (absent) Electron binary.
 */
import { describe, expect, it, vi } from 'vitest';
import { isAppUrl, lockNavigation, windowOptions } from '../../electron/main/window.js';

vi.mock('electron', () => ({}));

type Listener = (...args: any[]) => void;

function fakeContents() {
  const listeners = new Map<string, Listener[]>();
  let openHandler: ((d: { url: string }) => { action: string }) | null = null;
  return {
    on(event: string, fn: Listener) {
      listeners.set(event, [...(listeners.get(event) ?? []), fn]);
      return this;
    },
    setWindowOpenHandler(fn: (d: { url: string }) => { action: string }) {
      openHandler = fn;
    },
    /** Emits like Electron: returns whether some listener called preventDefault. */
    emit(event: string, url: string): boolean {
      let prevented = false;
      const ev = { url, preventDefault: () => (prevented = true) };
      for (const fn of listeners.get(event) ?? []) fn(ev, url);
      return prevented;
    },
    open(url: string) {
      return openHandler?.({ url });
    },
    has: (event: string) => (listeners.get(event)?.length ?? 0) > 0,
  };
}

/** The fake has only what lockNavigation uses. */
const asContents = (c: ReturnType<typeof fakeContents>) => c as unknown as Parameters<typeof lockNavigation>[0];

describe('window options', () => {
  const opts = windowOptions({ preload: '/app/out/preload/index.cjs', devTools: false });

  it('turns on context isolation and the sandbox, keeps Node out of the page and its workers, keeps web security', () => {
    expect(opts.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
    });
  });

  it('loads the one bundled CommonJS preload from out/preload', () => {
    expect(opts.webPreferences?.preload).toBe('/app/out/preload/index.cjs');
  });

  it('shows the window only once it is ready, with a usable minimum size', () => {
    expect(opts.show).toBe(false);
    expect(opts.minWidth).toBeGreaterThanOrEqual(800);
    expect(opts.minHeight).toBeGreaterThanOrEqual(500);
  });

  it('offers developer tools only when asked (not packaged)', () => {
    expect(opts.webPreferences?.devTools).toBe(false);
    expect(windowOptions({ preload: '/p.cjs', devTools: true }).webPreferences?.devTools).toBe(true);
  });
});

describe('navigation lock', () => {
  it('recognizes only app://hyperlab pages as the app', () => {
    expect(isAppUrl('app://hyperlab/index.html')).toBe(true);
    expect(isAppUrl('app://hyperlab/#/runs')).toBe(true);
    for (const url of ['https://evil.example/', 'http://127.0.0.1:5173/', 'file:///etc/passwd', 'app://other/index.html', 'app://hyperlab.evil.example/', 'javascript:alert(1)', 'not a url']) {
      expect(isAppUrl(url), url).toBe(false);
    }
  });

  it('prevents will-navigate and will-redirect to another origin, allows the app itself', () => {
    const c = fakeContents();
    const log = vi.fn();
    lockNavigation(asContents(c), log);
    expect(c.emit('will-navigate', 'https://evil.example/phish')).toBe(true);
    expect(c.emit('will-navigate', 'file:///home/user/.ssh/id_rsa')).toBe(true);
    expect(c.emit('will-redirect', 'http://evil.example/')).toBe(true);
    expect(c.emit('will-frame-navigate', 'https://evil.example/frame')).toBe(true);
    expect(c.emit('will-navigate', 'app://hyperlab/index.html')).toBe(false);
    expect(log).toHaveBeenCalledWith(expect.stringContaining('https://evil.example/phish'));
  });

  it('denies window.open, for external links too, and refuses <webview>', () => {
    const c = fakeContents();
    lockNavigation(asContents(c));
    expect(c.open('https://example.org/paper.pdf')).toEqual({ action: 'deny' });
    expect(c.open('app://hyperlab/index.html')).toEqual({ action: 'deny' });
    expect(c.emit('will-attach-webview', 'app://hyperlab/')).toBe(true);
  });
});

/**
 * The preload: what reaches the page through contextBridge, and how replies are unwrapped.
 */
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { HOST_OPS, MENU_CHANNEL } from '../../core/api/host.js';

const bridge = vi.hoisted(() => {
  const listeners = new Map<string, ((...a: unknown[]) => void)[]>();
  const ipcRenderer = {
    invoke: vi.fn(async (_channel: string, ..._args: unknown[]): Promise<unknown> => ({ ok: true, value: null })),
    on: vi.fn((ch: string, fn: (...a: unknown[]) => void) => void listeners.set(ch, [...(listeners.get(ch) ?? []), fn])),
    removeListener: vi.fn((ch: string, fn: (...a: unknown[]) => void) => void listeners.set(ch, (listeners.get(ch) ?? []).filter((f) => f !== fn))),
    send: vi.fn(),
    sendSync: vi.fn(),
  };
  const exposed: Record<string, unknown> = {};
  return {
    listeners,
    ipcRenderer,
    exposed,
    contextBridge: { exposeInMainWorld: vi.fn((key: string, api: unknown) => void (exposed[key] = api)) },
  };
});

vi.mock('electron', () => ({ contextBridge: bridge.contextBridge, ipcRenderer: bridge.ipcRenderer }));

let api: Record<string, (...a: unknown[]) => any>;

beforeAll(async () => {
  await import('../../electron/preload/index.js');
  api = bridge.exposed.hyperlab as typeof api;
});
beforeEach(() => bridge.ipcRenderer.invoke.mockClear());

describe('preload', () => {
  it('exposes one object, window.hyperlab, once', () => {
    expect(bridge.contextBridge.exposeInMainWorld).toHaveBeenCalledTimes(1);
    expect(Object.keys(bridge.exposed)).toEqual(['hyperlab']);
  });

  it('exposes exactly the HostApi functions: every host operation plus onMenu', () => {
    expect(Object.keys(api).sort()).toEqual([...HOST_OPS, 'onMenu'].sort());
    for (const [k, v] of Object.entries(api)) expect(typeof v, k).toBe('function');
  });

  it('never exposes ipcRenderer or any of its methods', () => {
    const values = Object.values(api) as unknown[];
    expect(values).not.toContain(bridge.ipcRenderer);
    for (const m of Object.values(bridge.ipcRenderer)) expect(values).not.toContain(m);
    expect(Object.keys(api)).not.toEqual(expect.arrayContaining(['invoke', 'send', 'on', 'ipcRenderer']));
  });

  it('sends each operation on its own channel with the arguments as given', async () => {
    bridge.ipcRenderer.invoke.mockResolvedValueOnce({ ok: true, value: { id: 9 } });
    await expect(api.saveScenario!('walk', { name: 'walk' })).resolves.toEqual({ id: 9 });
    expect(bridge.ipcRenderer.invoke).toHaveBeenCalledWith('hyperlab:saveScenario', 'walk', { name: 'walk' });
    await api.listRuns!();
    expect(bridge.ipcRenderer.invoke).toHaveBeenLastCalledWith('hyperlab:listRuns');
  });

  it("rejects with an Error carrying the host's message and code", async () => {
    bridge.ipcRenderer.invoke.mockResolvedValueOnce({ ok: false, error: { code: 'bad-args', message: 'getRun: args[0]: Too small' } });
    const err = await api.getRun!(0).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe('getRun: args[0]: Too small');
    expect((err as { code?: string }).code).toBe('bad-args');
    bridge.ipcRenderer.invoke.mockResolvedValueOnce(undefined);
    await expect(api.deleteRun!(1)).rejects.toThrow('deleteRun: the host sent no valid reply');
  });

  it("tells the renderer it runs under Electron through info().host", async () => {
    bridge.ipcRenderer.invoke.mockResolvedValueOnce({ ok: true, value: { version: '0.1.0', host: 'electron', dataDir: '/d', store: { ok: true } } });
    await expect(api.info!()).resolves.toMatchObject({ host: 'electron', version: '0.1.0' });
  });

  it('onMenu forwards known commands only, without the IPC event, and unsubscribes', () => {
    const cb = vi.fn();
    const off = api.onMenu!(cb) as () => void;
    const [listener] = bridge.listeners.get(MENU_CHANNEL)!;
    const fakeEvent = { sender: bridge.ipcRenderer };
    listener!(fakeEvent, 'save-scenario');
    listener!(fakeEvent, 'rm -rf');
    listener!(fakeEvent, { toString: () => 'about' });
    expect(cb.mock.calls).toEqual([['save-scenario']]);
    off();
    expect(bridge.listeners.get(MENU_CHANNEL)).toEqual([]);
    expect(() => api.onMenu!('not a function')).toThrow(TypeError);
  });
});

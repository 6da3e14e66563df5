/**
 * The IPC boundary: channel, sender and arguments are checked for every message, and every
 * outcome is a reply, never a thrown exception.
 */
import { describe, expect, it, vi } from 'vitest';
import { HOST_OPS, IPC_PREFIX, parseHostArgs } from '../../core/api/host.js';
import { handleHostCall, registerIpc, type HostReply, type IpcDeps } from '../../electron/main/ipc.js';

vi.mock('electron', () => ({}));

const APP_FRAME = { url: 'app://hyperlab/index.html' };
const event = (...frame: unknown[]): any => ({ senderFrame: frame.length ? frame[0] : APP_FRAME, sender: {} });

/** A stand-in for electron/host/service.ts: validates with parseHostArgs, as the contract says. */
function fakeService() {
  const calls: { op: string; args: unknown }[] = [];
  return {
    calls,
    dispatch: vi.fn(async (op: string, rawArgs: unknown): Promise<HostReply> => {
      const parsed = parseHostArgs(op, rawArgs);
      if (!parsed.ok) return { ok: false, error: parsed.error };
      calls.push({ op, args: parsed.args });
      return { ok: true, value: { op, echoed: parsed.args } };
    }),
  };
}

function deps(over: Partial<IpcDeps> = {}) {
  const service = fakeService();
  const files = { writeFile: vi.fn(async () => {}), readFile: vi.fn(async () => '{"name":"walk"}'), size: vi.fn(async () => 15) };
  const dialogs = {
    showSaveDialog: vi.fn(async () => ({ canceled: false, filePath: '/home/u/walk.json' })),
    showOpenDialog: vi.fn(async () => ({ canceled: false, filePaths: ['/home/u/walk.json'] })),
  };
  const owner = { id: 1 } as any;
  const d: IpcDeps = { service, dialogs, files, windowOf: () => owner, defaultDir: () => '/home/u/Documents', log: vi.fn(), ...over };
  return { d, service, files, dialogs, owner };
}

describe('registerIpc', () => {
  it('registers one handler per host operation, on hyperlab:<op>, and nothing else', () => {
    const handlers = new Map<string, (...a: any[]) => Promise<HostReply>>();
    registerIpc({ handle: (ch, fn) => handlers.set(ch, fn) }, deps().d);
    expect([...handlers.keys()].sort()).toEqual(HOST_OPS.map((op) => `${IPC_PREFIX}${op}`).sort());
    expect(handlers.has('hyperlab:onMenu')).toBe(false);
  });

  it('passes the invoke arguments through to dispatch', async () => {
    const handlers = new Map<string, (...a: any[]) => Promise<HostReply>>();
    const { d, service } = deps();
    registerIpc({ handle: (ch, fn) => handlers.set(ch, fn) }, d);
    const reply = await handlers.get('hyperlab:setNote')!(event(), 3, 'slow walk');
    expect(reply).toEqual({ ok: true, value: { op: 'setNote', echoed: [3, 'slow walk'] } });
    expect(service.dispatch).toHaveBeenCalledWith('setNote', [3, 'slow walk']);
  });
});

describe('handleHostCall', () => {
  it('refuses an unknown channel or operation with unknown-op, without dispatching', async () => {
    const { d, service } = deps();
    for (const channel of ['hyperlab:exec', 'hyperlab:onMenu', 'hyperlab:__proto__', 'other:info', 'info', '']) {
      const r = await handleHostCall(d, channel, event(), []);
      expect(r, channel).toMatchObject({ ok: false, error: { code: 'unknown-op' } });
    }
    expect(service.dispatch).not.toHaveBeenCalled();
  });

  it('refuses a foreign sender, a missing frame or a dying frame with forbidden', async () => {
    const { d, service } = deps();
    const dying = { get url(): string { throw new Error('Render frame was disposed'); } };
    for (const frame of [{ url: 'http://evil.example/' }, { url: 'file:///tmp/x.html' }, { url: 'app://hyperlab.evil.example/' }, { url: 'app://other/index.html' }, null, undefined, dying]) {
      const r = await handleHostCall(d, 'hyperlab:listRuns', event(frame), []);
      expect(r).toMatchObject({ ok: false, error: { code: 'forbidden' } });
      expect((r as any).error.message).toContain('app://hyperlab/');
    }
    const noFrame = await handleHostCall(d, 'hyperlab:saveFile', { sender: {} } as any, [{ suggestedName: 'a.json', content: '' }]);
    expect(noFrame).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(service.dispatch).not.toHaveBeenCalled();
  });

  it('answers malformed arguments with bad-args and a message naming the argument', async () => {
    const { d, dialogs } = deps();
    const r = await handleHostCall(d, 'hyperlab:getRun', event(), ['seven']);
    expect(r).toMatchObject({ ok: false, error: { code: 'bad-args' } });
    expect((r as any).error.message).toMatch(/^getRun: args\[0\]/);
    const save = await handleHostCall(d, 'hyperlab:saveFile', event(), [{ suggestedName: '../../.bashrc', content: 'x' }]);
    expect(save).toMatchObject({ ok: false, error: { code: 'bad-args' } });
    expect((save as any).error.message).toContain('suggestedName');
    const open = await handleHostCall(d, 'hyperlab:openFile', event(), [{ filters: 'all' }]);
    expect(open).toMatchObject({ ok: false, error: { code: 'bad-args' } });
    expect(dialogs.showSaveDialog).not.toHaveBeenCalled();
    expect(dialogs.showOpenDialog).not.toHaveBeenCalled();
  });

  it('lets a good call from the app reach dispatch with its parsed arguments', async () => {
    const { d, service } = deps();
    const r = await handleHostCall(d, 'hyperlab:exportRun', event(), [12, 'csv']);
    expect(r).toEqual({ ok: true, value: { op: 'exportRun', echoed: [12, 'csv'] } });
    expect(service.calls).toEqual([{ op: 'exportRun', args: [12, 'csv'] }]);
  });

  it('turns an exception in the service into an internal reply instead of throwing', async () => {
    const { d } = deps({ service: { dispatch: async () => { throw new Error('disk I/O error'); } } });
    await expect(handleHostCall(d, 'hyperlab:listRuns', event(), [])).resolves.toEqual({
      ok: false,
      error: { code: 'internal', message: 'listRuns: disk I/O error' },
    });
  });
});

describe('saveFile and openFile', () => {
  it('saves through a dialog modal to the asking window, in the documents folder', async () => {
    const { d, dialogs, files, owner } = deps();
    const r = await handleHostCall(d, 'hyperlab:saveFile', event(), [{ suggestedName: 'walk.json', content: '{}', filters: [{ name: 'Scenario', extensions: ['json'] }] }]);
    expect(r).toEqual({ ok: true, value: { saved: true, path: '/home/u/walk.json' } });
    expect(dialogs.showSaveDialog).toHaveBeenCalledWith(owner, expect.objectContaining({ defaultPath: '/home/u/Documents/walk.json', filters: [{ name: 'Scenario', extensions: ['json'] }] }));
    expect(files.writeFile).toHaveBeenCalledWith('/home/u/walk.json', '{}');
  });

  it('writes an exported PNG (a base64 data: URL) as its bytes, and SVG or CSV as text', async () => {
    const { d, files } = deps();
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    await handleHostCall(d, 'hyperlab:saveFile', event(), [{ suggestedName: 'bars.png', content: `data:image/png;base64,${png.toString('base64')}` }]);
    expect(files.writeFile).toHaveBeenLastCalledWith('/home/u/walk.json', png);
    await handleHostCall(d, 'hyperlab:saveFile', event(), [{ suggestedName: 'bars.svg', content: '<svg/>' }]);
    expect(files.writeFile).toHaveBeenLastCalledWith('/home/u/walk.json', '<svg/>');
  });

  it('writes nothing when the save dialog is cancelled', async () => {
    const { d, files } = deps();
    d.dialogs.showSaveDialog = async () => ({ canceled: true });
    expect(await handleHostCall(d, 'hyperlab:saveFile', event(), [{ suggestedName: 'a.csv', content: 'x' }])).toEqual({ ok: true, value: { saved: false } });
    expect(files.writeFile).not.toHaveBeenCalled();
  });

  it('opens a chosen file, or answers null when cancelled', async () => {
    const { d } = deps();
    expect(await handleHostCall(d, 'hyperlab:openFile', event(), [{}])).toEqual({ ok: true, value: { name: 'walk.json', content: '{"name":"walk"}' } });
    d.dialogs.showOpenDialog = async () => ({ canceled: true, filePaths: [] });
    expect(await handleHostCall(d, 'hyperlab:openFile', event(), [{}])).toEqual({ ok: true, value: null });
  });

  it('refuses to read a file over the size cap, before reading it', async () => {
    const { d, files } = deps({ maxOpenBytes: 1000 });
    files.size.mockResolvedValue(5_000_000_000);
    const r = await handleHostCall(d, 'hyperlab:openFile', event(), [{}]);
    expect(r).toMatchObject({ ok: false, error: { code: 'bad-args' } });
    expect((r as any).error.message).toContain('walk.json is 5000000000 bytes');
    expect(files.readFile).not.toHaveBeenCalled();
  });

  it('reports a write failure as a reply naming the file', async () => {
    const { d, files } = deps();
    files.writeFile.mockRejectedValue(new Error('EACCES: permission denied'));
    const r = await handleHostCall(d, 'hyperlab:saveFile', event(), [{ suggestedName: 'a.json', content: '' }]);
    expect(r).toEqual({ ok: false, error: { code: 'internal', message: 'could not write /home/u/walk.json: EACCES: permission denied' } });
  });
});

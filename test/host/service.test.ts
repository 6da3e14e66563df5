import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LEASE_MS, HOST_OPS, HostError, type HostInfo, type Results } from '../../core/api/index.js';
import { createHostService, SERVICE_OPS, toHostErrorInfo, type HostService } from '../../electron/host/service.js';
import { openStore, type RunStore } from '../../electron/host/store.js';
import { removeTempDirs, tempDir, tinyRun } from './helpers.js';

let results: Results;
beforeAll(() => {
  ({ results } = tinyRun());
});

const open: RunStore[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
  removeTempDirs();
});

function service(): { svc: HostService; store: RunStore } {
  const dataDir = tempDir('service');
  const store = openStore({ dataDir });
  open.push(store);
  const info = (): HostInfo => ({ version: '0.1.0', host: 'browser', dataDir, store: store.health });
  return { svc: createHostService(store, info), store };
}

describe('host service dispatch', () => {
  it('serves every host operation except the dialogs, which the host does itself', () => {
    expect([...SERVICE_OPS].sort()).toEqual(HOST_OPS.filter((op) => op !== 'saveFile' && op !== 'openFile').sort());
  });

  it('runs a whole run through dispatch, as the IPC layer and the HTTP server do', async () => {
    const { svc } = service();
    const begun = await svc.dispatch('beginRun', [{ scenarioName: 'walk', scenario: { name: 'walk' }, modes: ['hap', 'shadow'], seed: 1 }]);
    expect(begun).toEqual({ ok: true, value: { id: 1, leaseMs: DEFAULT_LEASE_MS } });
    expect(await svc.dispatch('appendSeries', [1, [{ t: 5, domain: 'g1', values: { ops: 1 } }]])).toEqual({ ok: true, value: undefined });
    expect(await svc.dispatch('appendConsole', [1, [{ console: 'g1', text: '$ ' }]])).toMatchObject({ ok: true });
    expect(await svc.dispatch('finishRun', [1, { status: 'finished', results }])).toMatchObject({ ok: true });
    const listed = await svc.dispatch('listRuns', []);
    expect(listed.ok && (listed.value as { headline: { domains: { refsPerWalk: number }[] } }[])[0]!.headline.domains.map((d) => d.refsPerWalk)).toEqual([24, 4]);
    const info = await svc.dispatch('info', []);
    expect(info).toMatchObject({ ok: true, value: { host: 'browser', store: { ok: true } } });
  });

  it.each([
    ['an unknown operation', 'dropTables', [], 'unknown-op', /unknown operation "dropTables"/],
    ['a prototype key as the operation', '__proto__', [], 'unknown-op', /unknown operation/],
    ['an operation name that is not a string', 42, [], 'unknown-op', /not a string/],
    ['saveFile, which the host handles itself', 'saveFile', [{ suggestedName: 'a.csv', content: '' }], 'unknown-op', /handled by the host itself/],
    ['openFile, which the host handles itself', 'openFile', [{}], 'unknown-op', /handled by the host itself/],
    ['arguments that are not a list', 'getRun', '1', 'bad-args', /^getRun: args: /],
    ['a string where an id belongs', 'getRun', ['1'], 'bad-args', /^getRun: args\[0\]: .*expected number/],
    ['a negative id', 'deleteRun', [-3], 'bad-args', /^deleteRun: args\[0\]: /],
    ['a fractional id', 'setNote', [1.5, 'x'], 'bad-args', /^setNote: args\[0\]: /],
    ['a note that is not a string', 'setNote', [1, 7], 'bad-args', /^setNote: args\[1\]: /],
    ['too many arguments', 'listRuns', [1], 'bad-args', /^listRuns: args: /],
    ['a seed of the wrong type', 'beginRun', [{ scenarioName: 'w', scenario: {}, modes: [], seed: 'x' }], 'bad-args', /^beginRun: args\[0\]\.seed: /],
    ['an unknown field in beginRun', 'beginRun', [{ scenarioName: 'w', scenario: {}, modes: [], seed: 1, extra: 1 }], 'bad-args', /^beginRun: args\[0\]: .*extra/],
    ['a series value that is not a number', 'appendSeries', [1, [{ t: 0, domain: 'g1', values: { ops: 'many' } }]], 'bad-args', /^appendSeries: args\[1\]\[0\]\.values\.ops: /],
    ['an export format that does not exist', 'exportRun', [1, 'xlsx'], 'bad-args', /^exportRun: args\[1\]: /],
    ['a missing run to delete', 'deleteRun', [999], 'not-found', /deleteRun: there is no run 999/],
    ['a missing run to export', 'exportRun', [999, 'csv'], 'not-found', /exportRun: there is no run 999/],
    ['a missing run to finish', 'finishRun', [999, { status: 'failed' }], 'not-found', /finishRun: there is no run 999/],
    ['a missing scenario to delete', 'deleteScenario', [5], 'not-found', /no saved scenario 5/],
    ['an import that is not JSON', 'importRun', ['{"format":'], 'bad-args', /^importRun: the file is not JSON/],
    ['an import of some other JSON', 'importRun', ['{"name":"walk"}'], 'bad-args', /not a Hyperlab run export \(no "format" field/],
    ['an import from a newer format', 'importRun', ['{"format":"hyperlab-run","formatVersion":9,"run":{}}'], 'bad-args', /formatVersion 9 was written by a newer Hyperlab/],
  ])('refuses %s with the right code and a message naming it', async (_what, op, args, code, message) => {
    const { svc } = service();
    const reply = await svc.dispatch(op as string, args);
    expect(reply.ok).toBe(false);
    if (reply.ok) return;
    expect(reply.error.code).toBe(code);
    expect(reply.error.message).toMatch(message);
    expect(reply.error.message).not.toMatch(/\n|    at /);
  });

  it('answers getRun of a missing run with null, not an error', async () => {
    const { svc } = service();
    expect(await svc.dispatch('getRun', [12345])).toEqual({ ok: true, value: null });
  });

  it('refuses results missing a contract field, naming the field, and keeps the run running', async () => {
    const { svc } = service();
    await svc.dispatch('beginRun', [{ scenarioName: 'w', scenario: {}, modes: ['hap'], seed: 1 }]);
    const broken = structuredClone(results) as unknown as { domains: { tlb: Record<string, unknown> }[] };
    broken.domains[0]!.tlb.misses = 'lots';
    expect(await svc.dispatch('finishRun', [1, { status: 'finished', results: broken }])).toEqual({
      ok: false,
      error: { code: 'bad-args', message: 'finishRun: results.domains[0].tlb.misses: Invalid input: expected number, received string' },
    });
    expect(await svc.dispatch('finishRun', [1, { status: 'finished', results }])).toMatchObject({ ok: true });
    expect(await svc.dispatch('finishRun', [1, { status: 'finished', results }])).toEqual({
      ok: false,
      error: { code: 'bad-args', message: 'finishRun: run 1 is finished, not running; a run is finished only once' },
    });
  });

  it('names the bad field of an exported run that was edited by hand', async () => {
    const { svc, store } = service();
    const { id } = store.beginRun({ scenarioName: 'w', scenario: {}, modes: ['hap'], seed: 1 });
    store.finishRun(id, { status: 'finished', results });
    const doc = JSON.parse(store.exportRun(id, 'json').content);
    doc.run.series = [{ t: -1, domain: 'g1', values: {} }];
    const reply = await svc.dispatch('importRun', [JSON.stringify(doc)]);
    expect(reply).toMatchObject({ ok: false, error: { code: 'bad-args' } });
    expect(!reply.ok && reply.error.message).toMatch(/^importRun: run\.series\[0\]\.t: /);
    expect(store.listRuns()).toHaveLength(1);
  });

  it('never throws out of dispatch: a failing store becomes a one-line error, without a stack', async () => {
    const boom = new Error('kaboom\n    at secret (/home/user/app.js:1:1)');
    const sqlite = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    const failing = new Proxy({} as RunStore, {
      get: (_t, prop) => () => {
        throw prop === 'listRuns' ? boom : prop === 'listScenarios' ? sqlite : 'a string, not an Error';
      },
    });
    const svc = createHostService(failing, () => {
      throw new TypeError('info exploded');
    });
    expect(await svc.dispatch('listRuns', [])).toEqual({ ok: false, error: { code: 'internal', message: 'internal error: kaboom' } });
    expect(await svc.dispatch('listScenarios', [])).toEqual({ ok: false, error: { code: 'store', message: 'run database: SQLITE_FULL: database or disk is full' } });
    expect(await svc.dispatch('deleteRun', [1])).toEqual({ ok: false, error: { code: 'internal', message: 'internal error: a string, not an Error' } });
    expect(await svc.dispatch('info', [])).toEqual({ ok: false, error: { code: 'internal', message: 'internal error: info exploded' } });
  });

  it('reports a closed store as an error reply rather than a crash', async () => {
    const { svc, store } = service();
    store.close();
    const reply = await svc.dispatch('listRuns', []);
    expect(reply).toMatchObject({ ok: false, error: { code: 'internal', message: expect.stringMatching(/not open/) } });
  });

  it('keeps a HostError\'s code and message', () => {
    expect(toHostErrorInfo(new HostError('forbidden', 'not from this window'))).toEqual({ code: 'forbidden', message: 'not from this window' });
    expect(toHostErrorInfo(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' })).message).toMatch(/another process is writing/);
  });
});

// Leases on running runs: a run whose recording page stops renewing is marked 'interrupted' once
// its lease runs out, keeping what was saved; a renewal or an append keeps it alive; a finished
// run has no lease. The clock is the store's own (StoreOptions.now), moved by hand.
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_LEASE_MS, type SeriesPoint } from '../../core/api/index.js';
import { openStore, type RunStore } from '../../electron/host/store.js';
import { createHostService } from '../../electron/host/service.js';
import { refusal, removeTempDirs, tempDir, tinyRun } from './helpers.js';

afterEach(removeTempDirs);

const LEASE = 10_000;
const begin = { scenarioName: 'walk', scenario: { name: 'walk' }, modes: ['pv' as const], seed: 1 };
const pts = (n: number): SeriesPoint[] => Array.from({ length: n }, (_, i) => ({ t: i * 100, domain: 'g1', values: { ops: i } }));

function clocked(leaseMs: number | null = LEASE): { store: RunStore; advance(ms: number): void } {
  let t = Date.UTC(2026, 11, 7, 11, 0, 0);
  const store = openStore({ dataDir: tempDir('lease'), now: () => new Date(t), ...(leaseMs !== null ? { leaseMs } : {}) });
  return { store, advance: (ms) => void (t += ms) };
}

describe('run leases', () => {
  it('tells the page how long its lease is, 3 minutes by default', () => {
    const { store } = clocked(null);
    expect(store.beginRun(begin)).toEqual({ id: 1, leaseMs: 180_000 });
    expect(DEFAULT_LEASE_MS).toBe(3 * 60 * 1000);
    store.close();
  });

  it('marks a run interrupted once its lease runs out, keeping its saved series and console', () => {
    const { store, advance } = clocked();
    const { id } = store.beginRun(begin);
    store.appendSeries(id, pts(5));
    store.appendConsole(id, [{ console: 'dom0', text: 'xl list\n' }]);
    advance(LEASE); // exactly at the end of the lease: still alive
    expect(store.listRuns()[0]!.status).toBe('running');
    advance(1);
    const listed = store.listRuns();
    expect(listed.map((r) => [r.id, r.status])).toEqual([[id, 'interrupted']]);
    const run = store.getRun(id)!;
    expect(run.series).toHaveLength(5);
    expect(run.console).toEqual([{ console: 'dom0', text: 'xl list\n' }]);
    expect(run.error).toMatch(/stopped renewing its lease for 10 s/);
    expect(run.results).toBeNull();
    store.close();
  });

  it('refuses a late renewal or append: an interrupted run stays interrupted', () => {
    const { store, advance } = clocked();
    const { id } = store.beginRun(begin);
    advance(LEASE + 1);
    expect(refusal(() => store.renewLease(id)).message).toBe(`renewLease: run ${id} is interrupted, not running; only a running run has a lease`);
    expect(refusal(() => store.appendSeries(id, pts(1))).message).toMatch(/is interrupted, not running/);
    expect(refusal(() => store.finishRun(id, { status: 'cancelled' })).message).toMatch(/is interrupted, not running/);
    expect(store.getRun(id)!.series).toEqual([]);
    store.close();
  });

  it('keeps a run alive while it is renewed, by renewLease or by appends', () => {
    const { store, advance } = clocked();
    const { id } = store.beginRun(begin);
    for (let i = 0; i < 5; i++) {
      advance(LEASE - 1);
      if (i % 2) store.renewLease(id);
      else store.appendSeries(id, pts(1));
    }
    expect(store.listRuns()[0]!.status).toBe('running');
    advance(LEASE + 1);
    expect(store.expireLeases()).toEqual([id]);
    expect(store.expireLeases()).toEqual([]);
    expect(store.listRuns()[0]!.status).toBe('interrupted');
    store.close();
  });

  it('a finished run has no lease: it never becomes interrupted', () => {
    const { store, advance } = clocked();
    const { id } = store.beginRun(begin);
    store.finishRun(id, { status: 'finished', results: tinyRun().results });
    advance(10 * LEASE);
    expect(store.expireLeases()).toEqual([]);
    expect(store.listRuns()[0]!.status).toBe('finished');
    expect(refusal(() => store.renewLease(id)).message).toMatch(/is finished, not running/);
    store.close();
  });

  it('expires only the runs whose lease ran out', () => {
    const { store, advance } = clocked();
    const a = store.beginRun(begin).id;
    advance(LEASE / 2);
    const b = store.beginRun(begin).id;
    advance(LEASE / 2 + 1);
    expect(store.listRuns().map((r) => [r.id, r.status])).toEqual([
      [b, 'running'],
      [a, 'interrupted'],
    ]);
    store.close();
  });

  it('refuses a lease that is not a positive whole number of milliseconds, naming it', () => {
    for (const bad of [0, -5, 1.5, Number.NaN]) {
      expect(() => openStore({ dataDir: tempDir('lease'), leaseMs: bad })).toThrow(/^leaseMs: expected a positive whole number of milliseconds/);
    }
  });

  it('serves renewLease through dispatch, with its argument checked', async () => {
    const { store } = clocked();
    const svc = createHostService(store, () => ({ version: 't', host: 'browser', dataDir: '', store: { ok: true } }));
    const { id } = store.beginRun(begin);
    expect(await svc.dispatch('renewLease', [id])).toEqual({ ok: true, value: undefined });
    expect(await svc.dispatch('renewLease', ['1'])).toMatchObject({ ok: false, error: { code: 'bad-args', message: expect.stringMatching(/^renewLease: args\[0\]:/) } });
    expect(await svc.dispatch('renewLease', [id + 1])).toMatchObject({ ok: false, error: { code: 'not-found' } });
    store.close();
  });
});

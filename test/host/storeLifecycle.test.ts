import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HostError, type Results, type Scenario, type SeriesPoint } from '../../core/api/index.js';
import { DB_FILENAME, openStore, type RunStore } from '../../electron/host/store.js';
import { removeTempDirs, steppingClock, tempDir, tinyRun } from './helpers.js';

afterEach(removeTempDirs);

let results: Results;
let scenario: Scenario;
beforeAll(() => {
  ({ results, scenario } = tinyRun());
});

/** A minimal RFC 4180 reader, written here so the test does not trust the writer's own helpers. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const endField = () => {
    row.push(field);
    field = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') endField();
    else if (c === '\r' && text[i + 1] === '\n') {
      endField();
      rows.push(row);
      row = [];
      i++;
    } else field += c;
  }
  if (field || row.length) throw new Error('CSV does not end with CRLF');
  return rows;
}

function points(from: number, n: number): SeriesPoint[] {
  return Array.from({ length: n }, (_, i) => ({ t: (from + i) * 100, domain: (from + i) % 2 ? 'g2' : 'g1', values: { ops: from + i, tlbMissRate: (from + i) / 1000 } }));
}

function countRows(dataDir: string, table: 'series' | 'console_logs', runId: number): number {
  const db = new Database(join(dataDir, DB_FILENAME), { readonly: true });
  try {
    return db.prepare(`SELECT COUNT(*) FROM ${table} WHERE run_id = ?`).pluck().get(runId) as number;
  } finally {
    db.close();
  }
}

/** A finished run with three series batches and two console batches. */
function recordRun(store: RunStore): number {
  const { id } = store.beginRun({ scenarioName: 'walk, "tiny"', scenario, modes: ['hap', 'shadow'], seed: 1 });
  store.appendSeries(id, points(0, 3));
  store.appendConsole(id, [{ console: 'xen', text: '(XEN) boot\n' }, { console: 'g1', text: 'hello ' }]);
  store.appendSeries(id, points(3, 4));
  store.appendConsole(id, [{ console: 'g1', text: 'world\n' }]);
  store.appendSeries(id, points(7, 2));
  store.finishRun(id, { status: 'finished', results });
  return id;
}

describe('run lifecycle', () => {
  it('lists a finished run with headline numbers equal to its guests\' results', () => {
    const store = openStore({ dataDir: tempDir(), now: steppingClock() });
    const id = recordRun(store);
    const [summary] = store.listRuns();
    const guests = results.domains.filter((d) => d.name === 'g1' || d.name === 'g2');
    expect(guests).toHaveLength(2);
    expect(summary).toMatchObject({ id, scenarioName: 'walk, "tiny"', status: 'finished', seed: 1, note: '', modes: ['hap', 'shadow'] });
    expect(summary!.startedAt).toBe('2025-01-02T03:04:06.000Z');
    expect(Date.parse(summary!.endedAt!)).toBeGreaterThan(Date.parse(summary!.startedAt));
    expect(summary!.headline).toEqual({
      auditOk: results.audit.ok,
      simulatedCycles: results.simulatedCycles,
      domains: guests.map((d) => ({ name: d.name, mode: d.mode, ops: d.ops, cyclesPerOp: d.cycles.perOp, refsPerWalk: d.walk.refsPerWalk, tlbMissRate: d.tlb.missRate })),
    });
    // C7 through the store: a cold 4K/4K nested walk is 24 references, a shadow walk 4.
    expect(summary!.headline!.domains.map((d) => d.refsPerWalk)).toEqual([24, 4]);
    store.close();
  });

  it('getRun returns the scenario, the results, and series and console in the order they were appended', () => {
    const store = openStore({ dataDir: tempDir() });
    const id = recordRun(store);
    const run = store.getRun(id)!;
    expect(run.scenario).toEqual(scenario);
    expect(run.results).toEqual(results);
    expect(run.error).toBeNull();
    expect(run.series).toEqual(points(0, 9));
    expect(run.console).toEqual([
      { console: 'xen', text: '(XEN) boot\n' },
      { console: 'g1', text: 'hello ' },
      { console: 'g1', text: 'world\n' },
    ]);
    expect(store.getRun(id + 1)).toBeNull();
    store.close();
  });

  it('keeps a note, and lists runs newest first', () => {
    const store = openStore({ dataDir: tempDir() });
    const a = recordRun(store);
    const b = recordRun(store);
    store.setNote(a, 'EPT walk: 24 refs, as Bhargava et al.');
    expect(store.listRuns().map((r) => [r.id, r.note])).toEqual([
      [b, ''],
      [a, 'EPT walk: 24 refs, as Bhargava et al.'],
    ]);
    expect(store.getRun(a)!.note).toBe('EPT walk: 24 refs, as Bhargava et al.');
    expect(() => store.setNote(b + 1, 'x')).toThrow(HostError);
    store.close();
  });

  it('deleteRun removes the run with its series and console rows (cascade)', () => {
    const dataDir = tempDir();
    const store = openStore({ dataDir });
    const gone = recordRun(store);
    const kept = recordRun(store);
    expect([countRows(dataDir, 'series', gone), countRows(dataDir, 'console_logs', gone)]).toEqual([9, 3]);
    store.deleteRun(gone);
    expect(store.getRun(gone)).toBeNull();
    expect([countRows(dataDir, 'series', gone), countRows(dataDir, 'console_logs', gone)]).toEqual([0, 0]);
    expect([countRows(dataDir, 'series', kept), countRows(dataDir, 'console_logs', kept)]).toEqual([9, 3]);
    expect(() => store.deleteRun(gone)).toThrow(/no run/);
    // AUTOINCREMENT: a deleted id is not handed out again.
    expect(store.beginRun({ scenarioName: 'n', scenario: {}, modes: [], seed: 0 }).id).toBe(kept + 1);
    store.close();
  });

  it('refuses to append to, or finish again, a run that is no longer running', () => {
    const store = openStore({ dataDir: tempDir() });
    const id = recordRun(store);
    const refused = (f: () => void) => {
      try {
        f();
      } catch (e) {
        return [(e as HostError).code, (e as Error).message];
      }
      return null;
    };
    expect(refused(() => store.finishRun(id, { status: 'cancelled' }))).toEqual(['bad-args', `finishRun: run ${id} is finished, not running; a run is finished only once`]);
    expect(refused(() => store.appendSeries(id, points(0, 1)))?.[0]).toBe('bad-args');
    expect(refused(() => store.appendConsole(id, [{ console: 'xen', text: 'late' }]))?.[0]).toBe('bad-args');
    expect(refused(() => store.finishRun(id + 5, { status: 'failed' }))?.[0]).toBe('not-found');
    expect(store.getRun(id)!.series).toHaveLength(9);
    store.close();
  });

  it('refuses a finished run without results, and results missing a contract field, naming the field', () => {
    const store = openStore({ dataDir: tempDir() });
    const { id } = store.beginRun({ scenarioName: 's', scenario: {}, modes: ['hap'], seed: 0 });
    expect(() => store.finishRun(id, { status: 'finished' })).toThrow('finishRun: results: required when status is "finished"');
    const broken = structuredClone(results) as unknown as { domains: { walk: Record<string, unknown> }[] };
    delete broken.domains[1]!.walk.refsPerWalk;
    expect(() => store.finishRun(id, { status: 'finished', results: broken as unknown as Results })).toThrow(/^finishRun: results\.domains\[1\]\.walk\.refsPerWalk: /);
    // Still running: a refused finish changes nothing.
    expect(store.getRun(id)!.status).toBe('running');
    store.finishRun(id, { status: 'failed', error: 'the worker crashed' });
    expect(store.getRun(id)).toMatchObject({ status: 'failed', error: 'the worker crashed', results: null, headline: null });
    store.close();
  });

  it('exports CSV whose rows, parsed back, equal every domain\'s numbers in the results', () => {
    const store = openStore({ dataDir: tempDir() });
    const id = recordRun(store);
    const { filename, content } = store.exportRun(id, 'csv');
    expect(filename).toBe(`hyperlab-run-${id}-walk-tiny.csv`);
    const [header, ...rows] = parseCsv(content);
    expect(header).toEqual([
      'name', 'mode', 'ops', 'cycles.total', 'cycles.guest', 'cycles.hypervisor', 'cycles.walk', 'cycles.perOp',
      'tlb.lookups', 'tlb.hits', 'tlb.misses', 'tlb.missRate', 'walk.walks', 'walk.refs', 'walk.refsPerWalk',
      'walk.maxRefs', 'vmexits.total', 'hypercalls.total', 'ptUpdates', 'pageFaults.guest', 'pageFaults.hidden',
    ]);
    expect(rows).toHaveLength(results.domains.length);
    rows.forEach((row, i) => {
      const d = results.domains[i]!;
      const expected = [
        d.ops, d.cycles.total, d.cycles.guest, d.cycles.hypervisor, d.cycles.walk, d.cycles.perOp,
        d.tlb.lookups, d.tlb.hits, d.tlb.misses, d.tlb.missRate, d.walk.walks, d.walk.refs, d.walk.refsPerWalk,
        d.walk.maxRefs, d.vmexits.total, d.hypercalls.total, d.ptUpdates, d.pageFaults.guest, d.pageFaults.hidden,
      ];
      expect(row.slice(0, 2)).toEqual([d.name, d.mode]);
      expect(row.slice(2).map(Number)).toEqual(expected);
    });
    store.close();
  });

  it('exports JSON that imports as a new run with the same numbers, series, console and note', () => {
    const store = openStore({ dataDir: tempDir() });
    const id = recordRun(store);
    store.setNote(id, 'before export');
    const { filename, content } = store.exportRun(id, 'json');
    expect(filename).toBe(`hyperlab-run-${id}-walk-tiny.json`);
    expect(JSON.parse(content)).toMatchObject({ format: 'hyperlab-run', formatVersion: 1 });
    const other = openStore({ dataDir: tempDir() });
    other.beginRun({ scenarioName: 'occupies id 1', scenario: {}, modes: [], seed: 0 });
    const { id: newId } = other.importRun(content);
    expect(newId).toBe(2);
    const original = store.getRun(id)!;
    const imported = other.getRun(newId)!;
    expect(imported).toEqual({ ...original, id: newId });
    expect(other.listRuns()[0]!.headline!.domains.map((d) => d.cyclesPerOp)).toEqual(
      results.domains.filter((d) => d.role === 'guest').map((d) => d.cycles.perOp),
    );
    store.close();
    other.close();
  });

  it('saves scenarios by name: saving the same name again replaces it under the same id', () => {
    const store = openStore({ dataDir: tempDir(), now: steppingClock() });
    const a = store.saveScenario('walk', { v: 1 });
    const b = store.saveScenario('Another', { v: 2 });
    const again = store.saveScenario('walk', { v: 3 });
    expect(again.id).toBe(a.id);
    expect(store.listScenarios()).toEqual([
      { id: b.id, name: 'Another', updatedAt: '2025-01-02T03:04:07.000Z', scenario: { v: 2 } },
      { id: a.id, name: 'walk', updatedAt: '2025-01-02T03:04:08.000Z', scenario: { v: 3 } },
    ]);
    store.deleteScenario(b.id);
    expect(store.listScenarios().map((s) => s.name)).toEqual(['walk']);
    expect(() => store.deleteScenario(b.id)).toThrow(/no saved scenario/);
    store.close();
  });
});

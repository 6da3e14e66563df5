// Time beside cycles (issue 11): the results table shows each domain's µs per op at its run's CPU
// clock and the run's simulated ms; a run saved before CPU profiles (no timeUs, cpu or
// simulatedMs) shows a dash there and nothing invented. Expected values are worked out from the
// hand-made fixture's cycles and clock.
import { cleanup, render, screen } from '@testing-library/svelte';
import { afterEach, describe, expect, it } from 'vitest';
import { CPU_PROFILE_TABLE, type DomainResults, type Results } from '../../core/api/index.js';
import ResultsTable from '../../renderer/src/components/ResultsTable.svelte';
import RunDiff from '../../renderer/src/components/RunDiff.svelte';
import { fmtMs, fmtUs } from '../../renderer/src/lib/format.js';
import { guest, results } from './compareFixtures.js';

afterEach(() => cleanup());

const P4 = CPU_PROFILE_TABLE['p4-2003'];

/** g1 at 4 800 cycles per op on the 2.4 GHz P4: 2 µs per op; 4.8 M cycles in all: 2 ms. */
function p4Run(): Results {
  const r = results('pv', guest('pv', { ops: 1000, guest: 800_000, hypervisor: 1_000_000, walk: 3_000_000 }));
  const mhz = P4.clockGHz * 1000;
  r.cpu = { profile: P4.id, label: P4.label, clockGHz: P4.clockGHz };
  for (const d of r.domains) d.timeUs = { total: d.cycles.total / mhz, guest: d.cycles.guest / mhz, hypervisor: d.cycles.hypervisor / mhz, perOp: d.ops ? d.cycles.perOp / mhz : 0 };
  r.simulatedMs = r.simulatedCycles / (mhz * 1000);
  return r;
}

function beforeProfiles(r: Results): Results {
  const old = structuredClone(r) as Partial<Results>;
  delete old.cpu;
  delete old.simulatedMs;
  for (const d of old.domains!) delete (d as Partial<DomainResults>).timeUs;
  return old as Results;
}

const cell = (domain: string, field: string) => document.querySelector(`[data-result-domain="${domain}"] [data-field="${field}"]`)!.textContent;

describe('time per operation', () => {
  it('formats µs with three significant digits and a dash for none', () => {
    expect([0.033333, 1.9234, 45.61, 2310.4].map(fmtUs)).toEqual(['0.0333\u2009µs', '1.92\u2009µs', '45.6\u2009µs', '2\u2009310\u2009µs']);
    expect(fmtUs(undefined)).toBe('–');
    expect(fmtMs(2)).toBe('2.00\u2009ms');
  });

  it('the results table shows µs per op beside cycles per op, and the simulated ms at the CPU clock', () => {
    render(ResultsTable, { props: { results: p4Run() } });
    expect(cell('g1', 'cyclesPerOp')).toBe('4\u2009800.0');
    expect(cell('g1', 'usPerOp')).toBe('2.00\u2009µs');
    expect(screen.getByTestId('simulated-ms').textContent).toBe(`(2.00\u2009ms at ${P4.clockGHz} GHz)`);
  });

  it('a run saved before CPU profiles shows a dash for its times and no clock, without failing', () => {
    render(ResultsTable, { props: { results: beforeProfiles(p4Run()) } });
    expect(cell('g1', 'cyclesPerOp')).toBe('4\u2009800.0');
    expect(cell('g1', 'usPerOp')).toBe('–');
    expect(screen.queryByTestId('simulated-ms')).toBeNull();
  });

  it('two saved runs side by side: time per op for each, a dash for the old one, and their CPUs', () => {
    const base = { kind: 'run', scenarioName: 's', startedAt: '', status: 'finished', modes: [], note: '', seed: 1, appVersion: 't', scenario: {}, series: [], console: [] };
    const a = { ...base, id: 1, results: beforeProfiles(p4Run()) };
    const b = { ...base, id: 2, results: p4Run() };
    render(RunDiff, { props: { a: a as never, b: b as never } });
    const row = [...document.querySelectorAll('tr')].find((tr) => tr.textContent?.includes('g1') && tr.children[1]?.textContent === 'time/op')!;
    expect([...row.children].slice(2, 4).map((c) => c.textContent)).toEqual(['–', '2.00\u2009µs']);
    expect(screen.getByText(P4.label)).toBeInTheDocument();
  });
});

import { describe, expect, it } from 'vitest';
import { CPU_PROFILE_TABLE, type CompareResult, type DomainResults, type Results } from '../../core/api/index.js';
import { compareRows, formatCompare, formatRun, num, sig3, table } from '../../core/cli/format.js';
import { guest, results } from '../renderer/compareFixtures.js';

describe('CLI number formatting', () => {
  it('groups thousands with thin spaces and rounds', () => {
    expect(num(1234567.8)).toBe('1\u2009234\u2009568');
    expect(num(999)).toBe('999');
    expect(num(24, 2)).toBe('24.00');
    expect(num(12.34)).toBe('12.3');
    expect(num(Number.NaN)).toBe('-');
  });

  it('right-aligns every column but the first', () => {
    const t = table(['mode', 'cycles'], [['pv', '12'], ['shadow', '1\u2009000']]).split('\n');
    expect(t[0]).toBe('mode    cycles');
    expect(t[2]).toBe('pv          12');
    expect(t[3].endsWith('1\u2009000')).toBe(true);
  });
});

describe('lab run and lab compare tables: time beside cycles', () => {
  const P4 = CPU_PROFILE_TABLE['p4-2003'];
  /** A results document by hand: 4 800 cycles per op on the 2.4 GHz P4 is 2 µs per op. */
  function doc(): Results {
    const g = guest('pv', { ops: 1000, guest: 800_000, hypervisor: 1_000_000, walk: 3_000_000 });
    const r = results('pv', g);
    const mhz = P4.clockGHz * 1000;
    r.cpu = { profile: P4.id, label: P4.label, clockGHz: P4.clockGHz };
    for (const d of r.domains) d.timeUs = { total: d.cycles.total / mhz, guest: d.cycles.guest / mhz, hypervisor: d.cycles.hypervisor / mhz, perOp: d.ops ? d.cycles.perOp / mhz : 0 };
    r.simulatedMs = r.simulatedCycles / (mhz * 1000);
    return r;
  }
  const cells = (line: string) => line.trim().split(/\s{2,}/);
  const column = (text: string, name: string, row: string) => {
    const lines = text.split('\n');
    const at = lines.findIndex((l) => cells(l).includes(name));
    return cells(lines.find((l) => l.startsWith(row))!)[cells(lines[at]!).indexOf(name)];
  };

  it('lab run: the CPU profile in the heading and µs/op beside cycles/op', () => {
    const out = formatRun(doc());
    expect(out.split('\n')[0]).toContain(`${P4.label} (p4-2003)`);
    // 4 800 cycles / 2 400 cycles per µs.
    expect(column(out, 'cycles/op', 'g1')).toBe('4\u2009800');
    expect(column(out, 'µs/op', 'g1')).toBe('2.00');
    // 4 800 000 cycles at 2.4 GHz: 2 ms of simulated time.
    expect(out.split('\n')[0]).toContain('2.00 ms simulated');
  });

  it('lab compare: a µs / op row under cycles / op, one value per mode', () => {
    const a = doc();
    const cmp: CompareResult = { scenario: 'cmp', workload: 'update-vs-access', modes: ['pv'], runs: [{ mode: 'pv', results: a }] };
    const rows = compareRows(cmp);
    const i = rows.findIndex((r) => r.label === 'cycles / op');
    expect(rows[i + 1]).toEqual({ label: 'µs / op', values: ['2.00'] });
    expect(formatCompare(cmp).split('\n')[0]).toContain(`on ${P4.label} (p4-2003)`);
  });

  it('prints a results document saved before CPU profiles without times: a dash, no CPU, no crash', () => {
    const old = doc() as Partial<Results>;
    delete old.cpu;
    delete old.simulatedMs;
    for (const d of old.domains!) delete (d as Partial<DomainResults>).timeUs;
    const out = formatRun(old as Results);
    expect(column(out, 'µs/op', 'g1')).toBe('-');
    expect(out.split('\n')[0]).not.toContain('simulated');
    expect(out.split('\n')[0]).toMatch(/^cmp \(seed 1, xen, 1 pCPU/);
  });

  it('three significant digits from a fraction of a µs to thousands', () => {
    expect([0.033333, 1.9234, 45.61, 2310.4, 0].map(sig3)).toEqual(['0.0333', '1.92', '45.6', '2\u2009310', '0']);
    expect(sig3(undefined)).toBe('-');
  });
});

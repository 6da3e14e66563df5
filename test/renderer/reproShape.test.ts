/**
 * The Reproductions page's shaping: paper bars from the file alone before a run (a published
 * value's ratio computed from the two values, a range as a band), lab bars and verdicts from a
 * result, one scale that holds every bar, and the counters line; bundled files checked with
 * their problems listed.
 */
import { describe, expect, it } from 'vitest';
import { reproductionSchema, type ReproRowResult } from '../../core/api/index.js';
import { countersLine, fmtTick, rowShape } from '../../renderer/src/components/repro/shape.js';
import { REPRO_FILES, reproFiles } from '../../renderer/src/components/repro/files.js';

const file = reproductionSchema.parse({
  id: 'sosp',
  title: 'SOSP',
  source: { authors: 'Barham et al.', title: 'Xen and the Art of Virtualization', venue: 'SOSP', year: 2003, where: 'Table 3' },
  hardware: 'P4',
  claim: 'Xen is close to native',
  scenario: { name: 's', machine: { memoryMiB: 1024, pcpus: 1 }, hypervisor: 'xen', domains: [{ name: 'g', mode: 'pv', memoryMiB: 64, vcpus: 1 }] },
  rows: [
    {
      id: 'fork',
      label: 'fork proc',
      where: 'Table 3',
      unit: 'µs',
      better: 'lower',
      baseline: { name: 'Linux', set: { mode: 'native' }, published: 110 },
      variants: [
        { name: 'Xen', published: 198 },
        { name: 'OOS', set: { mode: 'shadow' }, ratioRange: [0.75, 0.93] },
      ],
    },
  ],
});
const row = file.rows[0]!;
const counters = { hypercalls: 2, vmexits: 0, ptUpdates: 40, pageFaults: 1, hiddenFaults: 0, tlbMisses: 3, walkRefs: 12, entriesValidated: 512, emulatedWrites: 0, shadowResyncs: 0 };

describe('rowShape', () => {
  it('before a run: the paper’s bars only, 198/110 = 1.80, a range as a band, modes from set or the scenario', () => {
    const s = rowShape(file, row);
    expect(s.pass).toBeNull();
    expect(s.pairs.map((p) => [p.name, p.mode, p.paper.kind, p.paper.lo, p.paper.hi, p.lab])).toEqual([
      ['Linux', 'native', 'point', 1, 1, null],
      ['Xen', 'pv', 'point', 198 / 110, 198 / 110, null],
      ['OOS', 'shadow', 'range', 0.75, 0.93, null],
    ]);
    expect(s.pairs.map((p) => p.paper.label)).toEqual(['1× (baseline)', '1.80×', '0.75–0.93×']);
    expect(s.gap).toBeNull();
    expect(rowShape(file, { ...row, gap: 'no mechanism for it' }).gap).toBe('no mechanism for it');
    // What the lab's time is: the row's measure in words (its own CPU unless the row says otherwise).
    expect(s.measure).toBe('CPU time');
    expect(rowShape(file, { ...row, measure: 'elapsed' }).measure).toBe('simulated time');
    expect(rowShape(file, { ...row, measure: 'machine-cpu' }).measure).toBe('CPU of every domain');
    expect(s.pairs[1]!.paper.value).toBe('198\u2009µs');
    // The axis holds the largest bar: 1.8 → a nice maximum at or above it.
    expect(s.max).toBeGreaterThanOrEqual(1.8);
    expect(s.ticks[0]).toBe(0);
    expect(s.ticks.at(-1)).toBe(s.max);
  });

  it('after a run: lab bars, verdicts and the scale stretched to the largest lab ratio', () => {
    const entry = (name: string, ratio: number, pass: boolean, mode: 'native' | 'pv' | 'shadow') => ({
      name,
      baseline: name === 'Linux',
      set: '',
      mode,
      paper: { value: null, ratio: null, range: null, us: null },
      lab: { us: ratio * 100, cyclesPerOp: ratio * 3e5, ops: 10, ratio, counters },
      pass,
      reason: pass ? null : 'too slow',
    });
    const result: ReproRowResult = {
      id: 'fork', label: 'fork proc', where: 'Table 3', unit: 'µs', better: 'lower', tolerance: 0.25, absolute: true,
      pass: false, gap: null, orderingOk: true, orderingReason: null,
      entries: [entry('Linux', 1, true, 'native'), entry('Xen', 3.4, false, 'pv'), entry('OOS', 0.8, true, 'shadow')],
    };
    const s = rowShape(file, row, result);
    expect(s.pass).toBe(false);
    expect(s.absolute).toBe(true);
    expect(s.pairs.map((p) => [p.lab?.label, p.pass])).toEqual([['1× (baseline)', true], ['3.40×', false], ['0.800×', true]]);
    expect(s.max).toBeGreaterThanOrEqual(3.4);
    expect(s.pairs[1]!.counters).toBe('PV: 2.00 hypercalls/op, 512 validated entries/op, 40.0 PT updates/op');
  });
});

describe('countersLine', () => {
  it('gives up to three non-zero counters of the mode, per op', () => {
    expect(countersLine('hap', { ...counters, walkRefs: 24, tlbMisses: 1 })).toBe('HAP: 24.0 walk refs/op, 1.00 TLB misses/op, 1.00 guest faults/op');
    const none = Object.fromEntries(Object.keys(counters).map((k) => [k, 0])) as typeof counters;
    expect(countersLine('shadow', none)).toBe('shadow: no hypervisor or walk events');
  });
  it('ticks carry no more decimals than they have', () => {
    expect([0, 0.25, 0.5, 1.25, 2, 10].map(fmtTick)).toEqual(['0', '0.25', '0.5', '1.25', '2', '10']);
  });
});

describe('bundled files', () => {
  it('bundles examples/reproductions, walk-length.json among them, valid', () => {
    const w = REPRO_FILES.find((f) => f.name === 'walk-length.json');
    expect(w?.ok).toBe(true);
    expect(REPRO_FILES.map((f) => f.name)).toEqual([...REPRO_FILES.map((f) => f.name)].sort());
  });
  it('an invalid file is listed with its problems, by field', () => {
    const [f] = reproFiles({ '../x/bad.json': { id: 'Bad' } });
    expect(f!.ok).toBe(false);
    if (!f!.ok) expect(f!.problems.some((p) => p.path === 'id' && /lower-case/.test(p.message))).toBe(true);
  });
});

// The Compare view's data shaping, checked against values worked out by hand.
import { describe, expect, it } from 'vitest';
import type { PagingMode } from '../../core/api/index.js';
import { barStacks, barsCsv, fmtSpread, guestOf, histogramBins, histogramCsv, modeRuns, niceTicks, pctTickLabels, spreadOf, whyCsv, whyRows, type ModeRun } from '../../renderer/src/lib/compare/shape.js';
import {
  crossoverLabel,
  crossovers,
  crossoversOf,
  flowLegend,
  labelRows,
  preferEven,
  sweepCsv,
  sweepLines,
  xScale,
  yScaleOf,
  type SweepLine,
} from '../../renderer/src/lib/compare/sweep.js';
import { guest, outcome, results, SPECS } from './compareFixtures.js';

/** A CSV reader written for these tests (quoted fields, doubled quotes), independent of toCsv. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let f = '';
  let q = false;
  const endField = () => {
    row.push(f);
    f = '';
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (q) {
      if (ch === '"' && text[i + 1] === '"') {
        f += '"';
        i++;
      } else if (ch === '"') q = false;
      else f += ch;
    } else if (ch === '"') q = true;
    else if (ch === ',') endField();
    else if (ch === '\n') {
      endField();
      rows.push(row);
      row = [];
    } else f += ch;
  }
  if (f || row.length) {
    endField();
    rows.push(row);
  }
  return rows;
}

const runs = (): ModeRun[] => modeRuns(outcome().result.runs, 'g1');

describe('compare: stacked bars', () => {
  it('splits each mode’s cycles per op into guest, hypervisor and walk segments that sum to cycles.perOp', () => {
    const stacks = barStacks(runs());
    expect(stacks.map((s) => s.mode)).toEqual(['native', 'pv', 'shadow', 'hap']);
    for (const s of stacks) {
      const sum = s.segments.reduce((a, g) => a + g.perOp, 0);
      expect(sum).toBeCloseTo(s.perOp, 9);
      // Each segment starts where the one before it ends.
      expect(s.segments[1]!.start).toBeCloseTo(s.segments[0]!.perOp, 9);
      expect(s.segments[2]!.start).toBeCloseTo(s.segments[0]!.perOp + s.segments[1]!.perOp, 9);
    }
    // PV: (20 000 + 40 000 + 10 000) cycles over 1 000 ops.
    const pv = stacks.find((s) => s.mode === 'pv')!;
    expect(pv.perOp).toBe(70);
    expect(pv.segments.map((g) => [g.part, g.perOp])).toEqual([['guest', 20], ['hypervisor', 40], ['walk', 10]]);
    expect(pv.segments[1]!.share).toBeCloseTo(40 / 70, 12);
  });

  it('states each mode against the cheapest (native 30 cycles/op here)', () => {
    const rel = Object.fromEntries(barStacks(runs()).map((s) => [s.mode, s.relative]));
    expect(rel).toEqual({ native: 1, pv: 70 / 30, shadow: 120 / 30, hap: 85 / 30 });
  });

  it('finds the compared guest by name, not by position (native runs have no dom0)', () => {
    const r = results('pv', guest('pv', SPECS.pv));
    expect(guestOf(r, 'g1')?.name).toBe('g1');
    expect(guestOf(r)?.name).toBe('g1');
    expect(r.domains[0]!.role).toBe('dom0');
  });
});

describe('compare: why table', () => {
  it('ranks a counter that differs 10× between modes above one that differs 1.1×', () => {
    const a = guest('pv', { guest: 1, hypervisor: 0, walk: 0, ops: 1000, counters: { emulatedWrites: 100 }, tlbMisses: 1000 });
    const b = guest('shadow', { guest: 1, hypervisor: 0, walk: 0, ops: 1000, counters: { emulatedWrites: 1000 }, tlbMisses: 1100 });
    const rows = whyRows([
      { mode: 'pv', guest: a },
      { mode: 'shadow', guest: b },
    ]);
    const keys = rows.map((r) => r.key);
    expect(keys.indexOf('emulatedWrites')).toBeLessThan(keys.indexOf('tlbMisses'));
    const ew = rows.find((r) => r.key === 'emulatedWrites')!;
    expect(ew.perOp).toEqual({ pv: 0.1, shadow: 1 });
    expect(ew.maxMode).toBe('shadow');
    // Ordered by (1 + 0.001) / (0.1 + 0.001); the spread shown and exported is 1 / 0.1.
    expect(ew.rank).toBeCloseTo(1.001 / 0.101, 9);
    expect(ew.spread).toBeCloseTo(10, 9);
    expect(rows.find((r) => r.key === 'tlbMisses')!.rank).toBeCloseTo(1.101 / 1.001, 9);
    expect(rows.find((r) => r.key === 'tlbMisses')!.spread).toBeCloseTo(1.1, 9);
  });

  it('keeps a rare zero-versus-something counter below a real 10× difference', () => {
    // 1 flush-like event in 10 000 ops in one mode, none in the other: ratio (1e-4+ε)/ε = 1.1.
    const a = guest('pv', { guest: 1, hypervisor: 0, walk: 0, ops: 10_000, counters: { shadowResyncs: 1, emulatedWrites: 1000 } });
    const b = guest('hap', { guest: 1, hypervisor: 0, walk: 0, ops: 10_000, counters: { emulatedWrites: 10_000 } });
    const keys = whyRows([{ mode: 'pv', guest: a }, { mode: 'hap', guest: b }]).map((r) => r.key);
    expect(keys.indexOf('emulatedWrites')).toBeLessThan(keys.indexOf('shadowResyncs'));
  });

  it('lists hypercalls by op and VM exits by reason, per operation, and drops counters zero everywhere', () => {
    const rows = whyRows(runs());
    const row = (k: string) => rows.find((r) => r.key === k);
    expect(row('hypercall:mmu_update')!.perOp).toEqual({ native: 0, pv: 0.1, shadow: 0, hap: 0 });
    expect(row('vmexit:EXCEPTION_NMI')!.perOp.shadow).toBe(0.3);
    expect(row('vmexit:EPT_VIOLATION')!.maxMode).toBe('hap');
    expect(row('pfHidden')!.totals).toEqual({ native: 0, pv: 0, shadow: 40, hap: 0 });
    expect(row('shadowUnsyncs')).toBeUndefined();
    // Sorted by rank, largest first; the spread is most ÷ fewest, ∞ where a mode has none.
    for (let i = 1; i < rows.length; i++) expect(rows[i - 1]!.rank).toBeGreaterThanOrEqual(rows[i]!.rank);
    expect(row('hypercall:mmu_update')!.spread).toBe(Infinity);
    expect(row('pfHidden')!.spread).toBe(Infinity);
  });
});

const line = (mode: PagingMode, pts: [number, number][]): SweepLine => ({ mode, points: pts.map(([x, y]) => ({ x, y })) });

describe('compare: sweep lines and crossovers', () => {
  it('groups sweep points into one line per mode, in mode order, sorted by the swept value', () => {
    const lines = sweepLines([
      { value: 10, mode: 'shadow', cyclesPerOp: 5 },
      { value: 0, mode: 'shadow', cyclesPerOp: 1 },
      { value: 0, mode: 'pv', cyclesPerOp: 2 },
      { value: 10, mode: 'pv', cyclesPerOp: 3 },
    ]);
    expect(lines).toEqual([line('pv', [[0, 2], [10, 3]]), line('shadow', [[0, 1], [10, 5]])]);
  });

  it('finds where two straight lines cross: y = x and y = 10 − x meet at x = 5', () => {
    const p = line('pv', [[0, 0], [10, 10]]);
    const q = line('shadow', [[0, 10], [10, 0]]);
    expect(crossoversOf(p, q)).toEqual([{ a: 'pv', b: 'shadow', x: 5, y: 5 }]);
  });

  it('interpolates within the segment that crosses: 2 + x/2 against 8 − x, across 0, 2, 5, 10', () => {
    // PV: 2, 3, 4.5, 7; shadow: 8, 6, 3, −2. They meet where 2 + x/2 = 8 − x, x = 4, y = 4.
    const pv = line('pv', [[0, 2], [2, 3], [5, 4.5], [10, 7]]);
    const sh = line('shadow', [[0, 8], [2, 6], [5, 3], [10, -2]]);
    const [c] = crossovers([pv, sh]);
    expect(c!.a).toBe('pv');
    expect(c!.b).toBe('shadow');
    expect(c!.x).toBeCloseTo(4, 12);
    expect(c!.y).toBeCloseTo(4, 12);
  });

  it('reports a touch at a measured value once, and no crossing for lines that only meet and part the same way', () => {
    const a = line('pv', [[0, 0], [1, 5], [2, 10]]);
    const b = line('hap', [[0, 10], [1, 5], [2, 0]]);
    expect(crossoversOf(a, b)).toEqual([{ a: 'pv', b: 'hap', x: 1, y: 5 }]);
    const c = line('shadow', [[0, 10], [1, 5], [2, 20]]);
    expect(crossoversOf(a, c)).toEqual([]);
  });

  it('labels a crossover with both modes, the value and its unit', () => {
    expect(crossoverLabel({ a: 'pv', b: 'shadow', x: 7.31, y: 100 }, 'updates/1k')).toBe('PV = shadow at ≈ 7.3 updates/1k');
  });

  it('writes the sweep as CSV, one row per value and one column per mode, that reads back to the points', () => {
    const lines = [line('pv', [[0, 2], [5, 4.25]]), line('hap', [[0, 10.5], [5, 3]])];
    const rows = parseCsv(sweepCsv('updatesPerKiloAccess', lines));
    expect(rows).toEqual([
      ['updatesPerKiloAccess', 'pv_cycles_per_op', 'hap_cycles_per_op'],
      ['0', '2', '10.5'],
      ['5', '4.25', '3'],
    ]);
  });
});

describe('compare: walk-length histograms', () => {
  it('makes one bin per walk length up to the longest seen, with shares and the mean', () => {
    // 2 walks of 1 ref, 6 of 4, 2 of 24: mean (2 + 24 + 48) / 10 = 7.4.
    const h = Array(25).fill(0) as number[];
    h[1] = 2;
    h[4] = 6;
    h[24] = 2;
    h.push(0, 0); // trailing empty buckets carry no bins
    const r = histogramBins(h);
    expect(r.bins).toHaveLength(25);
    expect(r.bins[4]).toEqual({ refs: 4, walks: 6, share: 0.6 });
    expect(r.bins[3]).toEqual({ refs: 3, walks: 0, share: 0 });
    expect(r.walks).toBe(10);
    expect(r.mean).toBeCloseTo(7.4, 12);
    expect(r.maxRefs).toBe(24);
    expect(histogramBins([])).toEqual({ bins: [], walks: 0, mean: 0, maxRefs: 0 });
  });

  it('writes walk counts per mode as CSV, padding the shorter histogram with zeros', () => {
    const rows = parseCsv(histogramCsv([
      { mode: 'pv', hist: histogramBins([0, 3, 0, 0, 7]) },
      { mode: 'hap', hist: histogramBins([0, 1, 0, 0, 0, 9]) },
    ]));
    expect(rows[0]).toEqual(['refs_per_walk', 'pv_walks', 'hap_walks']);
    expect(rows.slice(1).map((r) => r.map(Number))).toEqual([[0, 0, 0], [1, 3, 1], [2, 0, 0], [3, 0, 0], [4, 7, 0], [5, 0, 9]]);
  });
});

describe('compare: CSV of the bars and the why table', () => {
  it('reads back to the same numbers, and guest + hypervisor + walk = total per op in every row', () => {
    const stacks = barStacks(runs());
    const [head, ...body] = parseCsv(barsCsv(stacks));
    expect(head).toEqual(['mode', 'ops', 'guest_cycles_per_op', 'hypervisor_cycles_per_op', 'walk_cycles_per_op', 'total_cycles_per_op', 'guest_cycles', 'hypervisor_cycles', 'walk_cycles', 'total_cycles', 'us_per_op']);
    expect(body.map((r) => r[0])).toEqual(['native', 'pv', 'shadow', 'hap']);
    body.forEach((r, i) => {
      const n = r.slice(1).map(Number);
      const s = stacks[i]!;
      expect(n).toEqual([s.ops, ...s.segments.map((g) => g.perOp), s.perOp, ...s.segments.map((g) => g.cycles), s.totalCycles, s.usPerOp]);
      expect(n[1]! + n[2]! + n[3]!).toBeCloseTo(n[4]!, 9);
      // Time per op at the fixtures' 3 GHz clock: cycles per op / 3 000.
      expect(n[9]!).toBeCloseTo(n[4]! / 3000, 12);
    });
    expect(body[3]!.slice(2, 6).map(Number)).toEqual([20, 5, 60, 85]);
  });

  it('writes the spread the table shows: most ÷ fewest per op, unrounded; inf where a mode has none', () => {
    const rows = whyRows(runs());
    const modes: PagingMode[] = ['native', 'pv', 'shadow', 'hap'];
    const [head, ...body] = parseCsv(whyCsv(rows, modes));
    const at = (name: string) => head!.indexOf(name);
    for (const r of body) {
      const v = modes.map((m) => Number(r[at(`${m}_per_op`)]));
      const [max, min] = [Math.max(...v), Math.min(...v)];
      const want = max === min ? 1 : min === 0 ? 'inf' : max / min;
      if (want === 'inf') expect(r[at('spread')]).toBe('inf');
      else expect(Number(r[at('spread')])).toBeCloseTo(want, 9);
    }
    expect(fmtSpread(732.4)).toBe('×732');
    expect(fmtSpread(6)).toBe('×6.0');
    expect(fmtSpread(Infinity)).toBe('∞');
    expect(fmtSpread(null)).toBe('–');
    expect(spreadOf([0, 0])).toBe(1);
    expect(spreadOf([3])).toBeNull();
  });

  it('quotes labels that hold commas or quotes', () => {
    const rows = whyRows(runs());
    const odd = [{ ...rows[0]!, label: 'a, "b"' }];
    const parsed = parseCsv(whyCsv(odd, ['native', 'pv', 'shadow', 'hap']));
    expect(parsed[1]![1]).toBe('a, "b"');
    expect(parsed[1]!.slice(2, 6).map(Number)).toEqual(['native', 'pv', 'shadow', 'hap'].map((m) => odd[0]!.perOp[m as PagingMode]));
  });
});

describe('compare: axes and labels', () => {
  it('labels percentage ticks with as many decimals as make each exact, so no two read the same', () => {
    expect(pctTickLabels([0, 0.005, 0.01])).toEqual(['0.0\u2009%', '0.5\u2009%', '1.0\u2009%']);
    expect(pctTickLabels([0, 0.5, 1])).toEqual(['0\u2009%', '50\u2009%', '100\u2009%']);
    expect(pctTickLabels([0, 0.02, 0.04])).toEqual(['0\u2009%', '2\u2009%', '4\u2009%']);
  });

  it('flows legend entries left to right and wraps one that would pass the right edge', () => {
    expect(flowLegend([50, 50, 50], 0, 200, 10)).toEqual([{ x: 0, row: 0 }, { x: 60, row: 0 }, { x: 120, row: 0 }]);
    expect(flowLegend([50, 50, 170], 0, 200, 10)).toEqual([{ x: 0, row: 0 }, { x: 60, row: 0 }, { x: 0, row: 1 }]);
    // Wider than the whole width: a row of its own, not an empty row before it.
    expect(flowLegend([300, 20], 0, 200, 10)).toEqual([{ x: 0, row: 0 }, { x: 0, row: 1 }]);
  });

  it('rounds the axis up to a nice maximum with evenly stepped ticks', () => {
    // 152.7 / 5 ≈ 30.5 → a step of 50 → 0 … 200.
    expect(niceTicks(152.7, 5)).toEqual({ max: 200, ticks: [0, 50, 100, 150, 200] });
    // 24 / 4 = 6 → a step of 10.
    expect(niceTicks(24, 4)).toEqual({ max: 30, ticks: [0, 10, 20, 30] });
    expect(niceTicks(0)).toEqual({ max: 1, ticks: [0, 1] });
    expect(niceTicks(1, 5).ticks).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  });

  it('spaces uneven sweep values evenly and keeps interpolation straight within a segment', () => {
    const values = [0, 1, 2, 5, 10, 20, 50, 100];
    expect(preferEven(values)).toBe(true);
    expect(preferEven([0, 10, 20, 30])).toBe(false);
    const even = xScale(values, 'even', 0, 700);
    expect(values.map(even)).toEqual([0, 100, 200, 300, 400, 500, 600, 700]);
    // 7.5 is halfway from 5 to 10: halfway from 300 to 400.
    expect(even(7.5)).toBe(350);
    expect(xScale([0, 100], 'linear', 10, 110)(25)).toBe(35);
  });

  it('puts crossover labels in rows above the plot, over their points, none overlapping', () => {
    // Two labels 120 wide at x = 100 and 110 collide: the second goes one row up. One near the right
    // edge is pulled in so it ends at the edge. One far away shares the first row.
    const slots = labelRows([{ x: 100, w: 120 }, { x: 110, w: 120 }, { x: 390, w: 120 }, { x: 250, w: 60 }], 0, 400);
    expect(slots).toEqual([
      { left: 40, row: 0 },
      { left: 50, row: 1 },
      { left: 280, row: 1 },
      { left: 220, row: 0 },
    ]);
  });

  it('maps cycles/op linearly from 0, or by decades on a log scale', () => {
    const lin = yScaleOf('linear', [10, 152.7], 200, 0);
    expect(lin.ticks).toEqual([0, 50, 100, 150, 200]);
    expect(lin.map(100)).toBe(100);
    const log = yScaleOf('log', [13.5, 661.7], 300, 0);
    // 10 … 1 000: two decades over 300 px, so 100 sits halfway up.
    expect(log.ticks).toEqual([10, 20, 50, 100, 200, 500, 1000]);
    expect(log.map(10)).toBe(300);
    expect(log.map(100)).toBeCloseTo(150, 9);
    expect(log.map(1000)).toBeCloseTo(0, 9);
  });
});

// Chart data shaping for the live charts and the numbers' formatting.
import { describe, expect, it } from 'vitest';
import type { DomainMetrics, MetricSnapshot } from '../../core/api/index.js';
import { alignSeries, sparkline, sparkPoints } from '../../renderer/src/lib/series.js';
import { fmtInt, fmtNum, fmtPct, fmtDuration, groupDigits } from '../../renderer/src/lib/format.js';

const m = (name: string, over: Partial<DomainMetrics> = {}): DomainMetrics => ({
  name,
  state: 'running',
  ops: 0,
  cycles: 0,
  tlbMissRate: 0,
  refsPerWalk: 0,
  exitsPerSec: 0,
  hypercallsPerSec: 0,
  cyclesPerOp: 0,
  ...over,
});
const snap = (t: number, domains: DomainMetrics[]): MetricSnapshot => ({ t, wallMs: t / 1e6, domains });

describe('live chart series', () => {
  const snaps = [
    snap(1000, [m('g1', { tlbMissRate: 0.002, cyclesPerOp: 10 }), m('g2', { refsPerWalk: 24, exitsPerSec: 5, hypercallsPerSec: 7 })]),
    snap(2000, [m('g1', { tlbMissRate: 0.004, cyclesPerOp: 12 })]),
    snap(3000, [m('g1', { cyclesPerOp: 14 }), m('g2', { refsPerWalk: 20 })]),
  ];

  it('aligns one line per domain on the snapshots’ simulated time, breaking where a domain is absent', () => {
    expect(alignSeries(snaps, ['g1', 'g2'], 'refsPerWalk')).toEqual([
      [1000, 2000, 3000],
      [0, 0, 0],
      [24, null, 20],
    ]);
  });

  it('shows TLB misses per 1000 lookups and exits + hypercalls as one rate', () => {
    expect(alignSeries(snaps, ['g1'], 'tlbMissRate')[1]).toEqual([2, 4, 0]);
    expect(alignSeries(snaps, ['g2'], 'exitsAndHypercallsPerSec')[1]).toEqual([12, null, 0]);
  });

  it('takes the last n values of one domain for a sparkline and scales them into the box', () => {
    expect(sparkline(snaps, 'g1', 'cyclesPerOp', 2)).toEqual([12, 14]);
    // min is 0 (the baseline), max 14: 14 → top (y=0), 7 → middle (y=10).
    expect(sparkPoints([7, 14], 100, 20)).toBe('0.0,10.0 100.0,0.0');
    expect(sparkPoints([], 100, 20)).toBe('');
  });
});

describe('number formatting', () => {
  it('groups thousands with thin spaces and keeps decimals', () => {
    expect(groupDigits('1234567.25')).toBe('1\u2009234\u2009567.25');
    expect(fmtInt(-1234)).toBe('-1\u2009234');
    expect(fmtNum(24, 2)).toBe('24.00');
    expect(fmtPct(0.125, 1)).toBe('12.5\u2009%');
    expect(fmtInt(NaN)).toBe('–');
  });
  it('shows durations as m:ss', () => {
    expect(fmtDuration(61_400)).toBe('1:01');
    expect(fmtDuration(null)).toBe('–:––');
  });
});

// Chart data shaping for the live charts and the numbers' formatting.
import { describe, expect, it } from 'vitest';
import type { DomainMetrics, MetricSnapshot } from '../../core/api/index.js';
import { alignIoSeries, alignSeries, hasIoMetrics, ioDomains, sparkline, sparkPoints } from '../../renderer/src/lib/series.js';
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
    snap(1000, [m('g1', { tlbMissRate: 0.002, cyclesPerOp: 10, cycles: 100, ops: 10 }), m('g2', { refsPerWalk: 24, exitsPerSec: 5, hypercallsPerSec: 7, cycles: 50, ops: 1 })]),
    snap(2000, [m('g1', { tlbMissRate: 0.004, cyclesPerOp: 12, cycles: 220, ops: 20 })]),
    snap(3000, [m('g1', { cyclesPerOp: 14, cycles: 360, ops: 30 }), m('g2', { refsPerWalk: 20, cycles: 90, ops: 2 })]),
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

  it('an interval that measured nothing keeps the last measured value while the domain runs, and has none (not 0) once it stopped', () => {
    const quiet = [
      snap(1000, [m('g1', { cycles: 100, ops: 10, cyclesPerOp: 10, tlbMissRate: 0.001 })]),
      // Ran but completed no operation (one long operation in progress).
      snap(2000, [m('g1', { cycles: 200, ops: 10, cyclesPerOp: 0, tlbMissRate: 0.002 })]),
      // Did not run (other domains had the pCPU).
      snap(3000, [m('g1', { cycles: 200, ops: 10, cyclesPerOp: 0, tlbMissRate: 0 })]),
      snap(4000, [m('g1', { cycles: 300, ops: 11, cyclesPerOp: 100, tlbMissRate: 0.003 })]),
      // Its workload ended: blocked in its idle loop, nothing measured.
      snap(5000, [m('g1', { state: 'blocked', cycles: 300, ops: 11, cyclesPerOp: 0, tlbMissRate: 0 })]),
    ];
    expect(alignSeries(quiet, ['g1'], 'cyclesPerOp')[1]).toEqual([10, 10, 10, 100, null]);
    expect(alignSeries(quiet, ['g1'], 'tlbMissRate')[1]).toEqual([1, 2, 2, 3, null]);
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

// Issue 12: the Run view's I/O charts.
describe('I/O series', () => {
  const io = (over: Partial<DomainMetrics>) => ({ ioRequests: 0, ioBytes: 0, ioMBps: 0, ioLatencyP50Us: null, cpuPct: 0, ...over });
  const snaps = [
    snap(1000, [m('dd', io({ cpuPct: 0 })), m('g', io({}))]),
    snap(2000, [m('dd', io({ cpuPct: 30 })), m('g', io({ ioRequests: 4, ioMBps: 12, ioLatencyP50Us: 40, cpuPct: 50 }))]),
    // dd destroyed: absent; g completes nothing.
    snap(3000, [m('g', io({ ioRequests: 4, ioMBps: 0, ioLatencyP50Us: null, cpuPct: 1 }))]),
    snap(4000, [m('dd', io({ cpuPct: 20 })), m('g', io({ ioRequests: 9, ioMBps: 20, ioLatencyP50Us: 60, cpuPct: 40 }))]),
  ];

  it('has I/O metrics only when the snapshots carry them', () => {
    expect(hasIoMetrics(snaps)).toBe(true);
    expect(hasIoMetrics([snap(1, [m('g')])])).toBe(false);
    expect(hasIoMetrics([])).toBe(false);
  });

  it('lists the domains once each, the frontends being those that completed I/O', () => {
    expect(ioDomains(snaps)).toEqual(['dd', 'g']);
    expect(ioDomains(snaps, true)).toEqual(['g']);
  });

  it('breaks a destroyed domain’s line, holds latency through an interval without completions', () => {
    expect(alignIoSeries(snaps, ['dd', 'g'], 'cpuPct')).toEqual([
      [1000, 2000, 3000, 4000],
      [null, 30, null, 20],
      [null, 50, 1, 40],
    ]);
    expect(alignIoSeries(snaps, ['g'], 'ioMBps')[1]).toEqual([null, 12, 0, 20]);
    expect(alignIoSeries(snaps, ['g'], 'ioLatencyP50Us')[1]).toEqual([null, 40, 40, 60]);
  });
});

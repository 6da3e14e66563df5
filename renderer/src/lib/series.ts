/**
 * Chart data shaping: metric snapshots (one per interval, every domain in each) into uPlot's
 * aligned arrays, one line per domain; and mode → colour/dash so every chart agrees.
 */
import type { DomainMetrics, MetricSnapshot, PagingMode } from '../../../core/api/index.js';

export type MetricKey = 'tlbMissRate' | 'refsPerWalk' | 'exitsPerSec' | 'hypercallsPerSec' | 'cyclesPerOp' | 'exitsAndHypercallsPerSec';

export const MODE_COLOR: Record<PagingMode, string> = {
  native: '--mode-native',
  pv: '--mode-pv',
  shadow: '--mode-shadow',
  hap: '--mode-hap',
};

/** Dash patterns so lines differ without colour too. */
export const MODE_DASH: Record<PagingMode, number[] | undefined> = {
  native: [2, 3],
  pv: undefined,
  shadow: [8, 4],
  hap: [4, 2, 1, 2],
};

function value(d: DomainMetrics, key: MetricKey): number {
  if (key === 'exitsAndHypercallsPerSec') return d.exitsPerSec + d.hypercallsPerSec;
  if (key === 'tlbMissRate') return d.tlbMissRate * 1000;
  return d[key];
}

/**
 * Whether an interval measured anything for `d` (its previous snapshot `prev`): its vCPU ran
 * (cycles moved: they also move when a new run's counters restart) and, for cycles per operation,
 * an operation completed. An interval that measured nothing has no value, not a zero.
 */
export function measured(d: DomainMetrics, prev: DomainMetrics | undefined, key: MetricKey): boolean {
  if (!prev) return d.cycles > 0 && (key !== 'cyclesPerOp' || d.ops > 0);
  if (d.cycles === prev.cycles) return false;
  return key !== 'cyclesPerOp' || d.ops !== prev.ops;
}

/**
 * [xs, ys(domain 0), ys(domain 1), …] for `key`, x the simulated time (host clock cycles). An
 * interval that measured nothing for a domain (see measured()) keeps the domain's last measured
 * value while it is running (its vCPU waited for the pCPU, or an operation is still in progress:
 * the rate of its work is unchanged), and gives null once it stopped running (its workload ended,
 * it was paused) or before it measured anything; a domain absent from a snapshot (not yet created,
 * or destroyed) gives null. TLB miss rate is per 1000 lookups.
 */
export function alignSeries(snapshots: readonly MetricSnapshot[], domains: readonly string[], key: MetricKey): (number | null)[][] {
  const xs = snapshots.map((s) => s.t);
  const ys = domains.map((name) => {
    let prev: DomainMetrics | undefined;
    let held: number | null = null;
    return snapshots.map((s) => {
      const d = s.domains.find((x) => x.name === name);
      let v: number | null = null;
      if (d && measured(d, prev, key)) v = held = value(d, key);
      else if (d && d.state === 'running') v = held;
      else held = null;
      prev = d;
      return v;
    });
  });
  return [xs, ...ys];
}

/** The last `n` values of one domain's metric (for a card's sparkline). */
export function sparkline(snapshots: readonly MetricSnapshot[], domain: string, key: MetricKey, n = 40): number[] {
  const out: number[] = [];
  for (let i = Math.max(0, snapshots.length - n); i < snapshots.length; i++) {
    const d = snapshots[i]!.domains.find((x) => x.name === domain);
    if (d) out.push(value(d, key));
  }
  return out;
}

/** An SVG polyline `points` attribute for values in a w×h box (min at the bottom). */
export function sparkPoints(values: readonly number[], w: number, h: number): string {
  if (values.length === 0) return '';
  const max = Math.max(...values);
  const min = Math.min(0, ...values);
  const span = max - min || 1;
  const step = values.length > 1 ? w / (values.length - 1) : 0;
  return values.map((v, i) => `${(i * step).toFixed(1)},${(h - ((v - min) / span) * h).toFixed(1)}`).join(' ');
}

/** The I/O metrics of a run with I/O (core/api/worker.ts DomainMetrics). */
export type IoMetricKey = 'ioMBps' | 'ioLatencyP50Us' | 'cpuPct';

/** Whether the snapshots carry I/O metrics (the scenario has I/O). */
export function hasIoMetrics(snapshots: readonly MetricSnapshot[]): boolean {
  const last = snapshots[snapshots.length - 1];
  return last !== undefined && last.domains.some((d) => d.cpuPct !== undefined);
}

/**
 * The domains the snapshots name, in order of first appearance (a domain destroyed and created
 * again is one line); with `frontends`, only those that completed I/O of their own.
 */
export function ioDomains(snapshots: readonly MetricSnapshot[], frontends = false): string[] {
  const out: string[] = [];
  for (const s of snapshots) for (const d of s.domains) if (!out.includes(d.name) && (!frontends || (d.ioRequests ?? 0) > 0)) out.push(d.name);
  return out;
}

/**
 * [xs, ys(domain 0), …] for an I/O metric. A domain absent from a snapshot (destroyed, or not yet
 * created) gives null; so does the first snapshot, which has no interval before it. Latency holds
 * its last value through an interval in which no request of the domain completed (the latency of
 * what is in flight is not known yet), and is null before the first completes.
 */
export function alignIoSeries(snapshots: readonly MetricSnapshot[], domains: readonly string[], key: IoMetricKey): (number | null)[][] {
  const xs = snapshots.map((s) => s.t);
  const ys = domains.map((name) => {
    let held: number | null = null;
    return snapshots.map((s, i) => {
      const d = s.domains.find((x) => x.name === name);
      if (!d || i === 0) {
        held = null;
        return null;
      }
      const v = d[key];
      if (typeof v === 'number') {
        if (key === 'ioLatencyP50Us') held = v;
        return v;
      }
      return key === 'ioLatencyP50Us' ? held : null;
    });
  });
  return [xs, ...ys];
}

/**
 * Live metrics of a running session: per-domain rates over the interval since the previous
 * snapshot, computed from counter deltas (DESIGN.md §5, perf charts).
 *
 * A workload's counters restart when its setup ends (MEASURE, see workloads/index.ts), so a
 * counter can go backwards between two snapshots. The session calls observe() after every
 * scheduling round; a domain gets one slice per round, so right after the slice that reset its
 * counters they are all back to zero and the drop is seen exactly. The interval then starts again
 * from zero ("a new baseline"): its deltas are the counts since the reset.
 */
import { CLOCK_HZ, type DomainMetrics, type MetricSnapshot } from '../api/worker.js';
import { C } from '../machine/counters.js';
import type { Vm } from '../vm/vm.js';

interface Track {
  /** Counters after the previous round (to notice a reset). */
  readonly last: Float64Array;
  /** Counters at the previous snapshot (zeros after a reset). */
  readonly base: Float64Array;
  /** At the previous snapshot: the domain's CPU cycles, its I/O bytes, how many latencies it had recorded. */
  cpu: number;
  ioBytes: number;
  ioLatencies: number;
}

/** The median of `xs` (sorted here), or null for none. */
function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  xs.sort((a, b) => a - b);
  // The same rank as results' percentile(): the smallest value with at least half at or below it.
  return xs[Math.max(0, Math.ceil(xs.length / 2) - 1)]!;
}

function cyclesOf(c: Float64Array): number {
  return c[C.CycGuest]! + c[C.CycHv]! + c[C.CycWalk]!;
}

function ratio(num: number, den: number): number {
  return den > 0 ? num / den : 0;
}

export class SessionMetrics {
  private readonly tracks = new Map<Vm, Track>();
  /** The host clock at the previous snapshot (I/O rates are per simulated second of it). */
  private lastT = -1;

  /** `clockHz`: the run's CPU clock, which turns an interval's cycles into simulated seconds. */
  constructor(private readonly clockHz = CLOCK_HZ) {}

  private track(d: Vm): Track {
    let t = this.tracks.get(d);
    if (t === undefined) {
      t = { last: new Float64Array(C.Count), base: new Float64Array(C.Count), cpu: d.dom.cpuCycles, ioBytes: 0, ioLatencies: 0 };
      this.tracks.set(d, t);
    }
    return t;
  }

  /** After every round: notices counters that went backwards (a reset) and starts a new baseline. */
  observe(domains: readonly Vm[]): void {
    for (let k = 0; k < domains.length; k++) {
      const d = domains[k]!;
      const t = this.track(d);
      const c = d.counters.c;
      const last = t.last;
      let reset = false;
      for (let i = 0; i < C.Count; i++) {
        if (c[i]! < last[i]!) {
          reset = true;
          break;
        }
      }
      if (reset) t.base.fill(0);
      last.set(c);
    }
  }

  /**
   * Rates since the previous snapshot, and totals so far; the interval restarts here. `t` is the
   * host clock (Simulation.cycles: the busiest pCPU's cycles, which never go back).
   */
  snapshot(domains: readonly Vm[], t: number, wallMs: number, stateOf: (d: Vm) => DomainMetrics['state'] = (d) => d.state): MetricSnapshot {
    this.observe(domains);
    const out: DomainMetrics[] = [];
    const dT = this.lastT >= 0 && t > this.lastT ? t - this.lastT : 0;
    this.lastT = t;
    for (const d of domains) {
      const c = d.counters.c;
      const track = this.track(d);
      const base = track.base;
      // A reset the rounds did not see (one outside a round): the same rule, a new baseline.
      for (let i = 0; i < C.Count; i++) {
        if (c[i]! < base[i]!) {
          base.fill(0);
          break;
        }
      }
      const dCycles = cyclesOf(c) - cyclesOf(base);
      const dLookups = c[C.TlbLookups]! - base[C.TlbLookups]!;
      const dMisses = c[C.TlbMisses]! - base[C.TlbMisses]!;
      const dWalks = c[C.Walks]! - base[C.Walks]!;
      const dRefs = c[C.WalkRefs]! - base[C.WalkRefs]!;
      const dExits = c[C.VmExits]! - base[C.VmExits]!;
      const dCalls = c[C.Hypercalls]! - base[C.Hypercalls]!;
      const dOps = c[C.Ops]! - base[C.Ops]!;
      const seconds = dCycles / this.clockHz;
      out.push({
        name: d.name,
        state: stateOf(d),
        ops: c[C.Ops]!,
        cycles: cyclesOf(c),
        tlbMissRate: ratio(dMisses, dLookups),
        refsPerWalk: ratio(dRefs, dWalks),
        exitsPerSec: ratio(dExits, seconds),
        hypercallsPerSec: ratio(dCalls, seconds),
        cyclesPerOp: ratio(dCycles, dOps),
        ...(d.io ? this.ioOf(d, track, dT) : {}),
        ...(d.balloon?.used ? { memoryMiB: Math.floor(d.dom.xen.totPages(d.dom) / 256), targetMiB: d.balloon.stats.targetPages / 256 } : {}),
      });
      base.set(c);
    }
    // Domains that are gone (destroyed from a console) are forgotten.
    if (this.tracks.size > domains.length) {
      const live = new Set(domains);
      for (const d of [...this.tracks.keys()]) if (!live.has(d)) this.tracks.delete(d);
    }
    return { t, wallMs, domains: out };
  }

  /** The I/O fields of a domain with a driver environment, over `dT` host-clock cycles. */
  private ioOf(d: Vm, track: Track, dT: number): Pick<DomainMetrics, 'ioRequests' | 'ioBytes' | 'ioMBps' | 'ioLatencyP50Us' | 'cpuPct'> {
    const s = d.io!.stats;
    const seconds = dT / this.clockHz;
    const dCpu = d.dom.cpuCycles - track.cpu;
    // The workload's statistics start again with a new run of it (repeat): a new baseline then.
    const restarted = s.bytes < track.ioBytes || s.latencies.length < track.ioLatencies;
    const fromBytes = restarted ? 0 : track.ioBytes;
    const fromLat = restarted ? 0 : track.ioLatencies;
    const p50 = median(s.latencies.slice(fromLat));
    track.cpu = d.dom.cpuCycles;
    track.ioBytes = s.bytes;
    track.ioLatencies = s.latencies.length;
    return {
      ioRequests: s.requests,
      ioBytes: s.bytes,
      ioMBps: ratio((s.bytes - fromBytes) / 1e6, seconds),
      ioLatencyP50Us: p50 === null ? null : p50 / (this.clockHz / 1e6),
      cpuPct: ratio(100 * dCpu, dT),
    };
  }
}

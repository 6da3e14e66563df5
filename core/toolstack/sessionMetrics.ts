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
}

function cyclesOf(c: Float64Array): number {
  return c[C.CycGuest]! + c[C.CycHv]! + c[C.CycWalk]!;
}

function ratio(num: number, den: number): number {
  return den > 0 ? num / den : 0;
}

export class SessionMetrics {
  private readonly tracks = new Map<Vm, Track>();

  /** `clockHz`: the run's CPU clock, which turns an interval's cycles into simulated seconds. */
  constructor(private readonly clockHz = CLOCK_HZ) {}

  private track(d: Vm): Track {
    let t = this.tracks.get(d);
    if (t === undefined) {
      t = { last: new Float64Array(C.Count), base: new Float64Array(C.Count) };
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
    for (const d of domains) {
      const c = d.counters.c;
      const base = this.track(d).base;
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
}

/**
 * `vmstat [count]` in a guest: one line per scheduling turn in which the domain ran, with what its
 * counters did over that turn (operations, TLB misses, walks and references per walk, hypercalls,
 * VM exits, cycles per operation), until Ctrl-C or `count` lines. It is how a student watches the
 * mechanisms move while a workload runs — and a console that prints continuously.
 */
import { C } from '../machine/counters.js';
import type { Vm } from '../vm/vm.js';

const HEADER = '     ops   tlbmiss     walks refs/w  hcalls   exits   cyc/op';
const EVERY = 20;

function cyclesOf(c: Float64Array): number {
  return c[C.CycGuest]! + c[C.CycHv]! + c[C.CycWalk]!;
}

const col = (v: number, w: number, digits = 0) => v.toFixed(digits).padStart(w);

export class Vmstat {
  private readonly base: Float64Array;
  lines = 0;

  constructor(
    private readonly d: Vm,
    /** Lines to print before stopping by itself; 0 = until Ctrl-C. */
    readonly count: number,
  ) {
    this.base = Float64Array.from(d.counters.c);
  }

  get done(): boolean {
    return this.count > 0 && this.lines >= this.count;
  }

  /** The next lines to print (a header every 20), or none when the domain did nothing. */
  next(): string[] {
    const c = this.d.counters.c;
    const b = this.base;
    // Counters restart when a workload's setup ends: that turn starts a new baseline.
    for (let i = 0; i < c.length; i++) {
      if (c[i]! < b[i]!) {
        b.fill(0);
        break;
      }
    }
    const ops = c[C.Ops]! - b[C.Ops]!;
    const cycles = cyclesOf(c) - cyclesOf(b);
    if (ops === 0 && cycles === 0) return [];
    const walks = c[C.Walks]! - b[C.Walks]!;
    const refs = c[C.WalkRefs]! - b[C.WalkRefs]!;
    const out: string[] = [];
    if (this.lines % EVERY === 0) out.push(HEADER);
    out.push(
      col(ops, 8) +
        col(c[C.TlbMisses]! - b[C.TlbMisses]!, 10) +
        col(walks, 10) +
        col(walks > 0 ? refs / walks : 0, 7, 2) +
        col(c[C.Hypercalls]! - b[C.Hypercalls]!, 8) +
        col(c[C.VmExits]! - b[C.VmExits]!, 8) +
        col(ops > 0 ? cycles / ops : 0, 9, 1),
    );
    b.set(c);
    this.lines++;
    return out;
  }
}

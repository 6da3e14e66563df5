/**
 * The workloads' hot loop: a slice of user accesses made in order, TLB hits in runs through the
 * pv-ops, each other access through the kernel's fault path.
 */
import type { GuestKernel } from '../guest/kernel.js';

/** Operations between yields (and the most accesses one call makes). */
export const SLICE = 4096;

// The hot loops live in plain functions: V8 optimizes them far better than a generator's body.

// A slice's accesses are generated into these first, then made in order by touchAll: the
// addresses stay unboxed doubles, and TLB hits go through the pv-ops in runs. writes[i] is 1 for
// a store, 0 for a load.
export const vas = new Float64Array(SLICE);
export const writes = new Uint8Array(SLICE);
export const draws = new Uint32Array(SLICE);

/**
 * k.touch(vas[i], writes[i] === 1) for i in [0, n), in order: runs of TLB hits through
 * ops.accessRun, each other access through touch() (walk, faults), exactly as one by one.
 */
export function touchAll(k: GuestKernel, n: number): void {
  const ops = k.ops;
  let i = 0;
  while (i < n) {
    const end = ops.accessRun(vas, writes, i, n);
    if (end < n) i = touchSome(k, end, end === i ? MISS_BURST : 1, n);
    else i = n;
  }
}

/**
 * touch() for up to `count` accesses from `from`; returns where it stopped. After a run that
 * stopped at once (misses come thick: a working set far beyond the TLBs), touchAll sends a few
 * this way, which counts exactly what a run would, without searching the TLB twice per miss.
 */
function touchSome(k: GuestKernel, from: number, count: number, n: number): number {
  const stop = Math.min(n, from + count);
  for (let i = from; i < stop; i++) k.touch(vas[i]!, writes[i] === 1);
  return stop;
}

/** Accesses touchAll takes one by one after a run that found no hit. */
const MISS_BURST = 8;


/**
 * What every workload shares: the steps a workload yields to its scheduler, the grain of its
 * pauses, and starting a process with populated memory.
 */
import { PAGE_SIZE_SHIFT, type PageSize } from '../base/types.js';
import type { GuestKernel } from '../guest/kernel.js';
import type { Process, Vma } from '../guest/mm.js';

export const MEASURE = 0;
export const PROGRESS = 1;
/**
 * A pause inside a slice (every `grain.ops` operations): the caller may look at the clock, post a
 * snapshot or sleep, then resumes the same job. It is not a scheduling point: the scheduler gives
 * the pCPU to the next job only at PROGRESS, so where PART falls changes no result.
 */
export const PART = 2;
/**
 * The workload waits for I/O: its domain's vCPU blocks (SCHEDOP_block) until an event arrives,
 * and the scheduler runs something else or lets time pass to the next device event. A scheduling
 * point, as PROGRESS is.
 */
export const BLOCK = 3;
export type WorkloadStep = typeof MEASURE | typeof PROGRESS | typeof PART | typeof BLOCK;


/** Operations between PART yields: Infinity (never) for a run as fast as possible; read at each yield. */
export interface Grain {
  ops: number;
}

/** Never pauses inside a slice (runScenario, the CLI). */
export const WHOLE_SLICES: Readonly<Grain> = Object.freeze({ ops: Infinity });

/** No yield due (Pieces). */
export const NONE = -1;

/**
 * Counts a job's operations down to its next PART; the count restarts at every yield (PROGRESS
 * too) and reads `g.ops` then, so a pace change applies from the next piece.
 */
export class Pieces {
  private left: number;

  constructor(private readonly g: Readonly<Grain>) {
    this.left = g.ops;
  }

  /** Counts afresh (after MEASURE). */
  restart(): void {
    this.left = this.g.ops;
  }

  /** After one operation: PART when the piece is full, else NONE. */
  part(): typeof PART | typeof NONE {
    if (--this.left > 0) return NONE;
    this.left = this.g.ops;
    return PART;
  }

  /** After operation `i`: PROGRESS when (i & mask) === mask (a scheduling point), else as part(). */
  after(i: number, mask: number): WorkloadStep | typeof NONE {
    if ((i & mask) !== mask) return this.part();
    this.left = this.g.ops;
    return PROGRESS;
  }
}

export function start(k: GuestKernel, name: string): Process {
  const p = k.spawn(name);
  k.switchTo(p);
  return p;
}

/**
 * Maps `mib` of anonymous memory (hugetlb for 2M/1G guest pages) and writes every page once,
 * pausing (PART) every `g.ops` pages.
 */
export function* populate(k: GuestKernel, p: Process, mib: number, size: PageSize, g: Readonly<Grain>): Generator<WorkloadStep, Vma, void> {
  const shift = PAGE_SIZE_SHIFT[size];
  const v = k.mmap(p.mm, mib * 2 ** 20, { pageShift: shift });
  const page = 2 ** shift;
  for (let va = v.start; va < v.end; ) {
    const end = Math.min(v.end, va + g.ops * page);
    writePages(k, va, end, page);
    va = end;
    if (va < v.end) yield PART;
  }
  return v;
}

function writePages(k: GuestKernel, from: number, to: number, page: number): void {
  for (let va = from; va < to; va += page) k.touch(va, true);
}


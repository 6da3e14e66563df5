/**
 * Workloads: parameterized, seeded, deterministic programs run by the guest kernel. Each is a
 * generator that yields MEASURE once its setup is done (counters restart there) and PROGRESS
 * every so often (so a scheduler can interleave domains and report progress).
 */
import { Rng } from '../base/rng.js';
import type { UpdateKind, Workload } from '../api/scenario.js';
import { PAGE_SIZE_SHIFT, type PageSize } from '../base/types.js';
import { C } from '../machine/counters.js';
import type { GuestKernel } from '../guest/kernel.js';
import { FileImage, type Process, type Vma } from '../guest/mm.js';
import { ScriptRunner } from '../guest/attack/scriptRunner.js';
import { XenPvMachine } from '../vm/pvMachine.js';
import type { Vm } from '../vm/vm.js';

export const MEASURE = 0;
export const PROGRESS = 1;
/**
 * A pause inside a slice (every `grain.ops` operations): the caller may look at the clock, post a
 * snapshot or sleep, then resumes the same job. It is not a scheduling point: the scheduler gives
 * the pCPU to the next job only at PROGRESS, so where PART falls changes no result.
 */
export const PART = 2;
export type WorkloadStep = typeof MEASURE | typeof PROGRESS | typeof PART;

/** Operations between yields. */
const SLICE = 4096;

/** Operations between PART yields: Infinity (never) for a run as fast as possible; read at each yield. */
export interface Grain {
  ops: number;
}

/** Never pauses inside a slice (runScenario, the CLI). */
export const WHOLE_SLICES: Readonly<Grain> = Object.freeze({ ops: Infinity });

/** No yield due (Pieces). */
const NONE = -1;

/**
 * Counts a job's operations down to its next PART; the count restarts at every yield (PROGRESS
 * too) and reads `g.ops` then, so a pace change applies from the next piece.
 */
class Pieces {
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

export interface WorkloadContext {
  /** The machine the workload runs in: its kernel runs the workload's processes. */
  vm: Vm;
  rng: Rng;
  guestPageSize: PageSize;
  /** How often to yield PART inside a slice (default: never). */
  grain?: Readonly<Grain>;
}

/** Total operations a workload will count (for progress). */
export function plannedOps(w: Workload): number {
  switch (w.kind) {
    case 'idle':
      return 0;
    case 'cold-walk':
      return w.pages * (w.rounds ?? 1);
    case 'page-fault':
      return w.pages;
    case 'random-access':
    case 'update-vs-access':
      return w.accesses;
    case 'sequential':
      return w.passes * w.workingSetMiB * 16384;
    case 'fork-exit':
      return w.forks;
    case 'exec':
      return w.execs;
    case 'mmap-churn':
      return w.maps;
    case 'context-switch':
      return w.switches;
    case 'kernel-build':
      return w.jobs;
    case 'hypercalls':
      return w.steps.length;
  }
}

export function* runWorkload(w: Workload, x: WorkloadContext): Generator<WorkloadStep, void, void> {
  const k = x.vm.kernel;
  const c = x.vm.counters.c;
  const g = x.grain ?? WHOLE_SLICES;
  const pieces = new Pieces(g);
  switch (w.kind) {
    case 'idle':
      yield MEASURE;
      return;

    case 'cold-walk': {
      // N distinct pages, each touched once in setup (so every table, shadow and EPT entry
      // exists), then probed with every TLB and walk cache cold: each probe is one full walk.
      const p = start(k, 'cold-walk');
      const shift = PAGE_SIZE_SHIFT[x.guestPageSize];
      const v = k.mmap(p.mm, w.pages * 2 ** shift, { pageShift: shift });
      for (let i = 0; i < w.pages; i++) {
        k.touch(v.start + i * 2 ** shift, false);
        if (pieces.part() === PART) yield PART;
      }
      pieces.restart();
      yield MEASURE;
      const mmu = x.vm.mmu;
      const probes = w.pages * (w.rounds ?? 1);
      for (let n = 0; n < probes; n++) {
        const i = n % w.pages;
        mmu.coldFlush();
        k.touch(v.start + i * 2 ** shift, false);
        c[C.Ops]++;
        const step = pieces.after(n, 1023);
        if (step !== NONE) yield step;
      }
      return;
    }

    case 'random-access': {
      const p = start(k, 'random-access');
      const v = yield* populate(k, p, w.workingSetMiB, x.guestPageSize, g);
      yield MEASURE;
      for (let done = 0; done < w.accesses; done += SLICE) {
        const n = Math.min(SLICE, w.accesses - done);
        // The slice in pieces of g.ops: the same accesses in the same order (the draws and the
        // TLB runs continue across pieces).
        for (let m = 0; ; ) {
          const take = Math.min(n - m, g.ops);
          randomAccesses(k, x.rng, v, take);
          m += take;
          if (m >= n) break;
          yield PART;
        }
        yield PROGRESS;
      }
      return;
    }

    case 'sequential': {
      const p = start(k, 'sequential');
      const v = yield* populate(k, p, w.workingSetMiB, x.guestPageSize, g);
      yield MEASURE;
      const chunk = SLICE * 64;
      for (let pass = 0; pass < w.passes; pass++) {
        for (let va = v.start; va < v.end; va += chunk) {
          const to = Math.min(v.end, va + chunk);
          for (let from = va; ; ) {
            const end = Math.min(to, from + g.ops * 64);
            sequentialLines(k, from, end);
            from = end;
            if (from >= to) break;
            yield PART;
          }
          yield PROGRESS;
        }
      }
      return;
    }

    case 'update-vs-access': {
      yield* updateVsAccess(k, x, w.workingSetMiB, w.accesses, w.updatesPerKiloAccess, w.updateKind);
      return;
    }

    case 'fork-exit': {
      // lmbench lat_proc fork: fork, the child exits, the parent waits.
      const parent = start(k, 'lat_proc');
      yield* populate(k, parent, w.residentMiB, '4k', g);
      yield MEASURE;
      for (let i = 0; i < w.forks; i++) {
        const child = k.fork(parent);
        k.switchTo(child);
        k.exit(child);
        k.switchTo(parent);
        c[C.Ops]++;
        const step = pieces.after(i, 15);
        if (step !== NONE) yield step;
      }
      return;
    }

    case 'exec': {
      // lmbench lat_proc exec: fork, the child execs a program that runs briefly and exits.
      const shell = start(k, 'sh');
      yield* populate(k, shell, 1, '4k', g);
      const image = new FileImage('hello', w.imageMiB * 256);
      yield MEASURE;
      for (let i = 0; i < w.execs; i++) {
        yield* runImage(k, shell, image, 0, x.rng, g);
        c[C.Ops]++;
        const step = pieces.after(i, 7);
        if (step !== NONE) yield step;
      }
      return;
    }

    case 'page-fault': {
      // lmbench lat_pagefault: map a cached file and touch each page once.
      const p = start(k, 'lat_pagefault');
      const file = new FileImage('data', w.pages);
      const warm = k.mmap(p.mm, w.pages * 4096, { write: false, file });
      for (let i = 0; i < w.pages; i++) {
        k.touch(warm.start + i * 4096, false);
        if (pieces.part() === PART) yield PART;
      }
      pieces.restart();
      k.munmap(p.mm, warm);
      yield MEASURE;
      const v = k.mmap(p.mm, w.pages * 4096, { write: false, file });
      for (let i = 0; i < w.pages; i++) {
        k.touch(v.start + i * 4096, false);
        c[C.Ops]++;
        const step = pieces.after(i, 1023);
        if (step !== NONE) yield step;
      }
      k.munmap(p.mm, v);
      return;
    }

    case 'mmap-churn': {
      const p = start(k, 'mmap-churn');
      yield MEASURE;
      for (let i = 0; i < w.maps; i++) {
        const v = k.mmap(p.mm, w.pagesPerMap * 4096);
        for (let va = v.start; va < v.end; va += 4096) k.touch(va, true);
        k.munmap(p.mm, v);
        c[C.Ops]++;
        const step = pieces.after(i, 63);
        if (step !== NONE) yield step;
      }
      return;
    }

    case 'context-switch': {
      // lmbench lat_ctx: a ring of processes passing a token, each touching a little memory.
      const procs: { p: Process; v: Vma }[] = [];
      for (let i = 0; i < w.processes; i++) {
        const p = k.spawn(`lat_ctx.${i}`);
        k.switchTo(p);
        const v = k.mmap(p.mm, 16 * 4096);
        for (let va = v.start; va < v.end; va += 4096) k.touch(va, true);
        procs.push({ p, v });
      }
      yield MEASURE;
      for (let i = 0; i < w.switches; i++) {
        const { p, v } = procs[i % procs.length];
        k.switchTo(p);
        for (let j = 0; j < 4; j++) k.touch(v.start + j * 4096 * 4, (j & 1) === 0);
        c[C.Ops]++;
        const step = pieces.after(i, 1023);
        if (step !== NONE) yield step;
      }
      return;
    }

    case 'hypercalls': {
      // The attack lab: a PV guest with a live address space runs a script of hypercalls.
      const p = start(k, 'attack');
      const v = k.mmap(p.mm, 16 * 4096);
      for (let va = v.start; va < v.end; va += 4096) k.touch(va, true);
      const runner = new ScriptRunner(k, new XenPvMachine(x.vm.dom));
      runner.setup(Object.keys(w.pages));
      yield MEASURE;
      x.vm.scriptCalls = runner.run(w.steps, () => c[C.Ops]++);
      return;
    }

    case 'kernel-build': {
      // A make -j style mix: each job forks, execs the compiler, churns its heap and exits.
      const shell = start(k, 'make');
      yield* populate(k, shell, 2, '4k', g);
      const cc1 = new FileImage('cc1', 8 * 256);
      const as = new FileImage('as', 2 * 256);
      yield MEASURE;
      for (let j = 0; j < w.jobs; j++) {
        yield* runImage(k, shell, j % 3 === 2 ? as : cc1, 256, x.rng, g);
        c[C.Ops]++;
        yield PROGRESS;
      }
      return;
    }
  }
}

// The hot loops live in plain functions: V8 optimizes them far better than a generator's body.

// A slice's accesses are generated into these first, then made in order by touchAll: the
// addresses stay unboxed doubles, and TLB hits go through the pv-ops in runs. writes[i] is 1 for
// a store, 0 for a load.
const vas = new Float64Array(SLICE);
const writes = new Uint8Array(SLICE);
const draws = new Uint32Array(SLICE);

/**
 * k.touch(vas[i], writes[i] === 1) for i in [0, n), in order: runs of TLB hits through
 * ops.accessRun, each other access through touch() (walk, faults), exactly as one by one.
 */
function touchAll(k: GuestKernel, n: number): void {
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

/** `n` (≤ SLICE) random accesses (1 in 4 a store) at random 64-byte lines of `v`. */
function randomAccesses(k: GuestKernel, rng: Rng, v: Vma, n: number): void {
  const c = k.plat.counters.c;
  const pages = ((v.end - v.start) / 4096) | 0;
  const base = v.start;
  // The accesses draw nothing from rng, so drawing the slice's numbers first keeps the sequence.
  rng.fillU32(draws, n);
  // Bits 0–1 choose load or store, 2–31 the page, 26–31 the line. (x % 2^k is x & (2^k - 1) for
  // x ≥ 0, and an integer division is the slowest step of the loop.)
  const pow2 = (pages & (pages - 1)) === 0;
  const mask = pages - 1;
  for (let i = 0; i < n; i++) {
    const r = draws[i]!;
    const page = pow2 ? (r >>> 2) & mask : (r >>> 2) % pages;
    vas[i] = base + page * 4096 + (r >>> 26) * 64;
    // 1 when bits 0–1 are 0, else 0, without a branch on a random bit.
    writes[i] = ((r & 3) - 1) >>> 31;
  }
  touchAll(k, n);
  c[C.Ops] += n;
}

/** One load per 64-byte line of [from, to) (at most SLICE lines). */
function sequentialLines(k: GuestKernel, from: number, to: number): void {
  const c = k.plat.counters.c;
  let n = 0;
  for (let va = from; va < to; va += 64) vas[n++] = va;
  writes.fill(0, 0, n);
  touchAll(k, n);
  c[C.Ops] += (to - from) / 64;
}

function start(k: GuestKernel, name: string): Process {
  const p = k.spawn(name);
  k.switchTo(p);
  return p;
}

/**
 * Maps `mib` of anonymous memory (hugetlb for 2M/1G guest pages) and writes every page once,
 * pausing (PART) every `g.ops` pages.
 */
function* populate(k: GuestKernel, p: Process, mib: number, size: PageSize, g: Readonly<Grain>): Generator<WorkloadStep, Vma, void> {
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

/** Touches between PART pauses inside one fork + exec + run (when the run pauses at all). */
const IMAGE_TOUCHES = 64;

/**
 * fork + exec `image` + run it (touch its text, data, a heap of `heapPages`) + exit + wait. An
 * operation of millions of cycles: a paced run pauses (PART) every IMAGE_TOUCHES touches inside it.
 */
function* runImage(k: GuestKernel, shell: Process, image: FileImage, heapPages: number, rng: Rng, g: Readonly<Grain>): Generator<WorkloadStep, void, void> {
  const pieces = new Pieces({ ops: g.ops === Infinity ? Infinity : IMAGE_TOUCHES });
  const child = k.fork(shell);
  k.switchTo(child);
  k.exec(child, image);
  const mm = child.mm;
  for (const v of [...mm.vmas]) {
    for (let va = v.start; va < v.end; va += 4096) {
      k.touch(va, v.write);
      if (pieces.part() === PART) yield PART;
    }
  }
  if (heapPages > 0) {
    const heap = k.mmap(mm, heapPages * 4096);
    for (let va = heap.start; va < heap.end; va += 4096) {
      k.touch(va, true);
      if (pieces.part() === PART) yield PART;
    }
    for (let i = 0; i < 2000; i++) {
      k.touch(heap.start + rng.below(heapPages) * 4096, (i & 3) === 0);
      if (pieces.part() === PART) yield PART;
    }
    k.munmap(mm, heap);
  }
  k.exit(child);
  k.switchTo(shell);
}

/** Page-table updates arrive in runs of this many neighbouring pages, as a kernel makes them. */
export const UPDATE_RUN = 8;

/**
 * The C8 sweep: random accesses over a working set, with `rate` page-table updates per 1000
 * accesses. Updates come as a kernel makes them, in runs of UPDATE_RUN neighbouring pages
 * followed by the flush they need:
 *  - populate: fresh pages faulted in (not-present → present); a spare region of one L1's worth
 *    of pages is recycled (zapped, one flush) when used up, as an allocator recycles an arena;
 *  - protect: pages write-protected (as for dirty tracking), with their INVLPGs; the next write
 *    to one faults and the kernel makes it writable again;
 *  - unmap: pages dropped (MADV_DONTNEED: clear, INVLPG, free); the next access faults them in;
 *  - mix: populate, protect, unmap, populate in turn.
 */
function* updateVsAccess(
  k: GuestKernel,
  x: WorkloadContext,
  mib: number,
  accesses: number,
  rate: number,
  kind: UpdateKind,
): Generator<WorkloadStep, void, void> {
  const p = start(k, 'update-vs-access');
  const v = yield* populate(k, p, mib, '4k', x.grain ?? WHOLE_SLICES);
  const spare = k.mmap(p.mm, 512 * 4096);
  const pages = (v.end - v.start) / 4096;
  const runs = Math.floor(pages / UPDATE_RUN);
  yield MEASURE;
  const st = { credit: 0, turn: 0, spareNext: 0 };
  const g = x.grain ?? WHOLE_SLICES;
  for (let done = 0; done < accesses; done += SLICE) {
    const n = Math.min(SLICE, accesses - done);
    for (let m = 0; ; ) {
      const take = Math.min(n - m, g.ops);
      updateSlice(k, x.rng, p, v, spare, st, take, rate, kind, runs);
      m += take;
      if (m >= n) break;
      yield PART;
    }
    yield PROGRESS;
  }
}

function updateSlice(
  k: GuestKernel,
  rng: Rng,
  p: Process,
  v: Vma,
  spare: Vma,
  st: { credit: number; turn: number; spareNext: number },
  n: number,
  rate: number,
  kind: UpdateKind,
  runs: number,
): void {
  const c = k.plat.counters.c;
  const pages = ((v.end - v.start) / 4096) | 0;
  for (let i = 0; i < n; i++) {
    const r = rng.nextU32();
    k.touch(v.start + ((r >>> 2) % pages) * 4096 + (r >>> 26) * 64, (r & 3) === 0);
    st.credit += rate / 1000;
    while (st.credit >= UPDATE_RUN) {
      st.credit -= UPDATE_RUN;
      const which = kind === 'mix' ? (['populate', 'protect', 'unmap', 'populate'] as const)[st.turn++ & 3] : kind;
      if (which === 'populate') {
        if (st.spareNext === 512) {
          k.zap(p.mm, spare, spare.start, spare.end, true);
          st.spareNext = 0;
        }
        for (let j = 0; j < UPDATE_RUN; j++) k.touch(spare.start + st.spareNext++ * 4096, true);
      } else {
        const va = v.start + rng.below(runs) * UPDATE_RUN * 4096;
        if (which === 'protect') k.mprotect(p.mm, va, va + UPDATE_RUN * 4096, false);
        else k.zap(p.mm, v, va, va + UPDATE_RUN * 4096, true);
      }
    }
  }
  c[C.Ops] += n;
}

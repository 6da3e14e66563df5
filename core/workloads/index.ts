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
import { draws, SLICE, touchAll, vas, writes } from './touch.js';
import { MEASURE, NONE, PART, Pieces, populate, PROGRESS, start, WHOLE_SLICES, type Grain, type WorkloadStep } from './steps.js';
import { runProgramKind } from './programs.js';
import { runDiskIo } from './io.js';
import { runNetRr, runNetStream } from './net.js';
import { runRogueDma } from './rogue.js';
import { runBackendSnoop } from './snoop.js';

export { MEASURE, PROGRESS, PART, BLOCK, WHOLE_SLICES, type WorkloadStep, type Grain } from './steps.js';
export interface WorkloadContext {
  /** The machine the workload runs in: its kernel runs the workload's processes. */
  vm: Vm;
  rng: Rng;
  guestPageSize: PageSize;
  /** How often to yield PART inside a slice (default: never). */
  grain?: Readonly<Grain>;
  /** Another running domain, by name (rogue-dma's victim). */
  domain?: (name: string) => Vm | undefined;
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
    case 'sh-proc':
      return w.count;
    case 'prot-fault':
      return w.faults;
    case 'mmap':
    case 'mmap-churn':
      return w.maps;
    case 'null-syscall':
      return w.calls;
    case 'context-switch':
      return w.switches;
    case 'kernel-build':
      return w.jobs;
    case 'oltp':
      return w.transactions;
    case 'spec':
      return w.instructionsM;
    case 'hypercalls':
      return w.steps.length;
    case 'disk-io':
      return w.ops;
    case 'net-stream':
      return Math.ceil(w.bytes / w.packetBytes);
    case 'net-rr':
      return w.transactions;
    case 'rogue-dma':
      return w.pages;
    case 'backend-snoop':
      return w.pages;
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

    case 'fork-exit':
    case 'exec':
    case 'sh-proc':
    case 'prot-fault':
    case 'mmap':
    case 'null-syscall':
    case 'context-switch':
    case 'kernel-build':
    case 'oltp':
    case 'spec':
      yield* runProgramKind(w, x);
      return;

    case 'disk-io':
      yield* runDiskIo(w, x);
      return;

    case 'net-stream':
      yield* runNetStream(w, x);
      return;

    case 'net-rr':
      yield* runNetRr(w, x);
      return;

    case 'rogue-dma':
      yield* runRogueDma(w, x);
      return;

    case 'backend-snoop':
      yield* runBackendSnoop(w, x);
      return;

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

  }
}

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

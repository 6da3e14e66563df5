/**
 * Programs: lmbench's process and VM microbenchmarks as lmbench runs them (lmbench 3, src/lat_*.c),
 * and macro workloads with user-mode work (a kernel build's compiler jobs, an OLTP server, SPEC CPU
 * programs). The same programs run in every paging mode; each operation is one iteration of the
 * benchmark's timed loop.
 */
import type { Rng } from '../base/rng.js';
import { PAGE_SIZE_SHIFT } from '../base/types.js';
import type { Workload } from '../api/scenario.js';
import { SegmentationFault, type GuestKernel } from '../guest/kernel.js';
import { FileImage, type Process, type Vma } from '../guest/mm.js';
import { C } from '../machine/counters.js';
import type { WorkloadContext } from './index.js';
import { MEASURE, NONE, PART, Pieces, populate, PROGRESS, start, WHOLE_SLICES, type Grain, type WorkloadStep } from './steps.js';
import { SLICE, touchAll, vas, writes } from './touch.js';
import { GCC, mapProgramData, USER_PROFILES, userWork, type ProgramData, type UserProfile } from './user.js';

type Program = Extract<
  Workload,
  { kind: 'fork-exit' | 'exec' | 'sh-proc' | 'prot-fault' | 'mmap' | 'null-syscall' | 'context-switch' | 'kernel-build' | 'oltp' | 'spec' }
>;

/** lat_proc's /tmp/hello and what it maps: a small dynamically linked program (pages of ld.so and libc it touches). */
const HELLO_PAGES = 64;
/**
 * /bin/sh (bash 2.05 on the Linux 2.4 systems of SOSP 2003): the pages it touches starting up,
 * text and data of bash and libc (estimate: ~1 MiB of a ~600 KiB binary plus libc).
 */
const SH_PAGES = 256;
/**
 * bash's startup and parse of `-c /tmp/hello` before it forks the command: estimate 1.5 M
 * instructions (environment, locale, hashing $PATH, the parser). lmbench's sh proc takes 7.5× its
 * exec proc natively [SOSP03 Table 3: 4.0 ms vs 530 µs], which is mostly this work.
 */
const SH_STARTUP_INSTRUCTIONS = 1_500_000;
const SHELL: UserProfile = { name: 'sh', cpi: 1.2, instrPerRef: 50, hotPages: 32, coldMiB: 1, coldPer1024: 50, faultsPerM: 0, arenaPages: 16 };

/**
 * A kernel build's compiler job (gcc 2.96's cc1 on one source file, SOSP 2003's build): the gcc
 * profile with a 8 MiB resident tail (estimate for one kernel source file's compile) and
 * CC1_INSTRUCTIONS of work: chosen so that a native build on the P4 spends ~7 % of its time in
 * the kernel, as Barham et al. measured ("Native Linux spends about 7% of the CPU time in the OS").
 */
const CC1: UserProfile = { ...GCC, name: 'cc1', coldMiB: 8 };
const CC1_PAGES = 1024; // cc1's text and data touched: ~4 MiB (estimate; gcc 2.96's cc1 is ~2.5 MiB of text)
const CC1_INSTRUCTIONS = 110_000_000;
/** The gcc driver and `as` of each job: small programs with little work (estimate). */
const DRIVER_PAGES = 64;
const AS_PAGES = 128;
const AS_INSTRUCTIONS = 2_000_000;

/**
 * An OLTP server (OSDB-OLTP on PostgreSQL in SOSP 2003): per transaction a client request over a
 * socket, the backend's work over a buffer pool, and a log write with fsync. Estimates, no
 * published per-transaction breakdown at hand: 400 k instructions per transaction; 6 system calls
 * (recv, send, 2 file reads, the log write and its fsync); a 64 MiB buffer pool with database
 * locality (1 in 8 references cold); two context switches (client ↔ backend).
 */
const OLTP: UserProfile = { name: 'oltp', cpi: 1.5, instrPerRef: 50, hotPages: 32, coldMiB: 64, coldPer1024: 256, faultsPerM: 0, arenaPages: 16 };
const OLTP_INSTRUCTIONS = 400_000;
const OLTP_SYSCALLS = 6;

/** Instructions between PART pauses of a long user phase when a paced run pauses. */
const USER_PIECE = SLICE * 50;

export function* runProgramKind(w: Program, x: WorkloadContext): Generator<WorkloadStep, void, void> {
  const k = x.vm.kernel;
  const c = x.vm.counters.c;
  const g = x.grain ?? WHOLE_SLICES;
  const pieces = new Pieces(g);
  switch (w.kind) {
    case 'fork-exit': {
      // lat_proc fork: fork; the child returns on its stack (a copy-on-write fault) and exits;
      // the parent waits and touches its own stack again.
      const parent = start(k, 'lat_proc');
      const v = yield* populate(k, parent, w.residentMiB, '4k', g);
      yield MEASURE;
      for (let i = 0; i < w.forks; i++) {
        const child = k.fork(parent);
        k.switchTo(child);
        k.touch(v.start, true);
        k.exit(child);
        k.switchTo(parent);
        k.ops.syscall(); // waitpid
        k.touch(v.start, true);
        c[C.Ops]++;
        const step = pieces.after(i, 15);
        if (step !== NONE) yield step;
      }
      return;
    }

    case 'exec': {
      // lat_proc exec: fork; the child execs /tmp/hello, which writes a line and exits; wait.
      const shell = start(k, 'lat_proc');
      const v = yield* populate(k, shell, 1, '4k', g);
      const image = new FileImage('hello', w.imageMiB * 256);
      yield MEASURE;
      for (let i = 0; i < w.execs; i++) {
        const child = yield* spawnImage(k, shell, image, g);
        k.ops.syscall(); // write(1, "Hello world\n")
        yield* exitAndWait(k, child, shell, v);
        c[C.Ops]++;
        const step = pieces.after(i, 7);
        if (step !== NONE) yield step;
      }
      return;
    }

    case 'sh-proc': {
      // lat_proc shell: fork; the child execs /bin/sh -c /tmp/hello; sh starts up, forks and
      // execs hello, waits, exits; the parent waits.
      const parent = start(k, 'lat_proc');
      const v = yield* populate(k, parent, 1, '4k', g);
      const sh = new FileImage('sh', SH_PAGES);
      const hello = new FileImage('hello', HELLO_PAGES);
      yield MEASURE;
      for (let i = 0; i < w.count; i++) {
        const shell = yield* spawnImage(k, parent, sh, g);
        const data = mapProgramData(k, shell, SHELL);
        yield* userPieces(k, x.rng, shell, data, SHELL, SH_STARTUP_INSTRUCTIONS, g);
        const cmd = yield* spawnImage(k, shell, hello, g);
        k.ops.syscall(); // write
        yield* exitAndWait(k, cmd, shell, data.hot);
        yield* exitAndWait(k, shell, parent, v);
        c[C.Ops]++;
        yield PROGRESS;
      }
      return;
    }

    case 'prot-fault': {
      // lat_sig prot: a store to a page mapped read-only (MAP_SHARED file, PROT_READ); the
      // kernel refuses it with SIGSEGV and the handler returns, so the store faults again.
      // lmbench subtracts the signal's own catch cost, so an operation is the fault alone.
      const p = start(k, 'lat_sig');
      const v = k.mmap(p.mm, 4096, { write: false, file: new FileImage('lat_sig', 1), shared: true });
      k.touch(v.start, false);
      yield MEASURE;
      for (let i = 0; i < w.faults; i++) {
        try {
          k.touch(v.start, true);
          throw new Error(`${k.name}: a store to a read-only page did not fault`);
        } catch (e) {
          if (!(e instanceof SegmentationFault)) throw e;
        }
        c[C.Ops]++;
        const step = pieces.after(i, 1023);
        if (step !== NONE) yield step;
      }
      return;
    }

    case 'mmap': {
      // lat_mmap: mmap `sizeMiB` of a file (PROT_READ|PROT_WRITE, MAP_SHARED), store one byte
      // every 16 KiB over the first tenth, munmap. The file is in the page cache (warm run first).
      const p = start(k, 'lat_mmap');
      const bytes = w.sizeMiB * 2 ** 20;
      const file = new FileImage('lat_mmap', bytes / 4096);
      const touchEnd = Math.floor(bytes / 10);
      const once = () => {
        const m = k.mmap(p.mm, bytes, { file, shared: true });
        for (let off = 0; off < touchEnd; off += 16384) k.touch(m.start + off, true);
        k.munmap(p.mm, m);
      };
      once();
      yield MEASURE;
      for (let i = 0; i < w.maps; i++) {
        once();
        c[C.Ops]++;
        const step = pieces.after(i, 15);
        if (step !== NONE) yield step;
      }
      return;
    }

    case 'null-syscall': {
      // lat_syscall null: getppid().
      start(k, 'lat_syscall');
      yield MEASURE;
      for (let i = 0; i < w.calls; i++) {
        k.ops.syscall();
        c[C.Ops]++;
        const step = pieces.after(i, 4095);
        if (step !== NONE) yield step;
      }
      return;
    }

    case 'context-switch': {
      // lat_ctx -s sizeKiB N: N processes in a ring of pipes pass a token; each, on receiving
      // it, sums its private sizeKiB array and writes to the next. lmbench subtracts the pipe
      // transfer and a single process's summing, so an operation is the switch and what it costs
      // the next process (its TLB refill after the CR3 load).
      const ring: { p: Process; v: Vma | null }[] = [];
      for (let i = 0; i < w.processes; i++) {
        const p = start(k, `lat_ctx.${i}`);
        let v: Vma | null = null;
        if (w.sizeKiB > 0) {
          v = k.mmap(p.mm, w.sizeKiB * 1024);
          for (let va = v.start; va < v.end; va += 4096) k.touch(va, true);
        }
        ring.push({ p, v });
      }
      yield MEASURE;
      for (let i = 0; i < w.switches; i++) {
        const { p, v } = ring[i % ring.length]!;
        k.switchTo(p);
        if (v) sumLines(k, v);
        c[C.Ops]++;
        const step = pieces.after(i, 255);
        if (step !== NONE) yield step;
      }
      return;
    }

    case 'kernel-build': {
      // make: each job forks a shell that runs the gcc driver, which runs cc1 on one file and
      // then as; every program execs from the page cache, faults its pages in, works, exits.
      const make = start(k, 'make');
      const v = yield* populate(k, make, 2, '4k', g);
      const driver = new FileImage('gcc', DRIVER_PAGES);
      const cc1 = new FileImage('cc1', CC1_PAGES);
      const as = new FileImage('as', AS_PAGES);
      yield MEASURE;
      for (let j = 0; j < w.jobs; j++) {
        const gcc = yield* spawnImage(k, make, driver, g);
        const gv = gcc.mm.vmas[gcc.mm.vmas.length - 1]!;
        const comp = yield* spawnImage(k, gcc, cc1, g);
        const data = mapProgramData(k, comp, CC1);
        yield* userPieces(k, x.rng, comp, data, CC1, CC1_INSTRUCTIONS, g);
        yield* exitAndWait(k, comp, gcc, gv);
        const asm = yield* spawnImage(k, gcc, as, g);
        const adata = mapProgramData(k, asm, { ...CC1, name: 'as', coldMiB: 1 });
        yield* userPieces(k, x.rng, asm, adata, CC1, AS_INSTRUCTIONS, g);
        yield* exitAndWait(k, asm, gcc, gv);
        yield* exitAndWait(k, gcc, make, v);
        c[C.Ops]++;
        yield PROGRESS;
      }
      return;
    }

    case 'oltp': {
      // A client and a database backend: per transaction the client's request (send, a switch),
      // the backend's work over its buffer pool with its file reads and the log write + fsync,
      // the reply (a switch back).
      const client = start(k, 'client');
      const cv = yield* populate(k, client, 1, '4k', g);
      const backend = start(k, 'postgres');
      const data = mapProgramData(k, backend, OLTP, PAGE_SIZE_SHIFT[x.guestPageSize]);
      yield MEASURE;
      for (let i = 0; i < w.transactions; i++) {
        k.switchTo(client);
        k.touch(cv.start, true);
        k.ops.syscall(); // send
        k.switchTo(backend);
        for (let s = 0; s < OLTP_SYSCALLS; s++) k.ops.syscall();
        yield* userPieces(k, x.rng, backend, data, OLTP, OLTP_INSTRUCTIONS, g);
        c[C.Ops]++;
        const step = pieces.after(i, 7);
        if (step !== NONE) yield step;
      }
      return;
    }

    case 'spec': {
      // One SPEC CPU2006 program: its data mapped and resident, then instructionsM millions of
      // instructions (an operation is one million).
      const prof = USER_PROFILES[w.profile];
      const p = start(k, w.profile);
      const data = mapProgramData(k, p, prof, PAGE_SIZE_SHIFT[x.guestPageSize]);
      yield MEASURE;
      for (let i = 0; i < w.instructionsM; i++) {
        yield* userPieces(k, x.rng, p, data, prof, 1_000_000, g);
        c[C.Ops]++;
        yield PROGRESS;
      }
      return;
    }
  }
}

/** userWork in pieces, pausing (PART) between them when the run pauses at all. */
function* userPieces(k: GuestKernel, rng: Rng, p: Process, d: ProgramData, prof: UserProfile, instructions: number, g: Readonly<Grain>): Generator<WorkloadStep, void, void> {
  if (g.ops === Infinity) {
    userWork(k, rng, p, d, prof, instructions);
    return;
  }
  for (let done = 0; done < instructions; done += USER_PIECE) {
    userWork(k, rng, p, d, prof, Math.min(USER_PIECE, instructions - done));
    if (done + USER_PIECE < instructions) yield PART;
  }
}

/** Touches between PART pauses inside one program start (when the run pauses at all). */
const IMAGE_TOUCHES = 64;

/** fork + exec `image` from `parent` + fault every page of the image in; returns the child, running. */
function* spawnImage(k: GuestKernel, parent: Process, image: FileImage, g: Readonly<Grain>): Generator<WorkloadStep, Process, void> {
  const pieces = new Pieces({ ops: g.ops === Infinity ? Infinity : IMAGE_TOUCHES });
  const child = k.fork(parent);
  k.switchTo(child);
  k.exec(child, image);
  for (const v of [...child.mm.vmas]) {
    for (let va = v.start; va < v.end; va += 4096) {
      k.touch(va, v.write);
      if (pieces.part() === PART) yield PART;
    }
  }
  return child;
}

/** `child` exits; `parent` runs again, returns from waitpid and touches its stack (`stack`). */
function* exitAndWait(k: GuestKernel, child: Process, parent: Process, stack: Vma): Generator<WorkloadStep, void, void> {
  k.exit(child);
  k.switchTo(parent);
  k.ops.syscall(); // waitpid
  k.touch(stack.start, true);
}

/** One load per 64-byte line of `v` (lat_ctx's bread over its array). */
function sumLines(k: GuestKernel, v: Vma): void {
  for (let from = v.start; from < v.end; ) {
    let n = 0;
    for (; n < SLICE && from < v.end; from += 64) vas[n++] = from;
    writes.fill(0, 0, n);
    touchAll(k, n);
  }
}

/**
 * A workload started from a guest's shell: a Simulation job whose failures are caught (the
 * process dies, the shell lives on, as under Linux), whose processes are reaped when it ends or
 * is interrupted, and whose counters make the summary the shell prints.
 */
import type { Workload } from '../api/scenario.js';
import { OutOfMemory, SegmentationFault } from '../guest/kernel.js';
import type { Vm } from '../vm/vm.js';
import { GuestPanic, XenRefusal } from '../guest/errors.js';
import { domainResults, type Job, type Simulation } from '../sim/simulation.js';
import type { WorkloadStep } from '../workloads/index.js';

export interface ShellJob {
  readonly job: Job;
  readonly d: Vm;
  /** Kernel processes that existed before the job (the job's are the others). */
  readonly pidsBefore: ReadonlySet<number>;
  /** Host clock when it started. */
  readonly startedAt: number;
  /** Set when the workload died (out of memory, a fault, a refused hypercall). */
  error: string | null;
  /** The workload ran to its end (false when it was stopped from outside, or died). */
  completed: boolean;
}

function describeFailure(e: unknown): string {
  if (e instanceof OutOfMemory) return `Out of memory: ${e.message}`;
  if (e instanceof SegmentationFault) return `Segmentation fault (${e.message})`;
  if (e instanceof XenRefusal) return `Killed: ${e.message}`;
  if (e instanceof GuestPanic) return `Kernel oops: ${e.message}`;
  return `Killed: ${e instanceof Error ? e.message : String(e)}`;
}

function* guarded(inner: Generator<WorkloadStep, void, void>, sj: { error: string | null; completed: boolean }): Generator<WorkloadStep, void, void> {
  try {
    yield* inner;
    sj.completed = true;
  } catch (e) {
    sj.error = describeFailure(e);
  }
}

/**
 * Watches a job the shell did not start (the scenario's): `completed` is set when its workload
 * ends by itself. Failures propagate as they would without the watch.
 */
export function watch(job: Job): { completed: boolean } {
  const seen = { completed: false };
  const inner = job.gen;
  job.gen = (function* () {
    yield* inner;
    seen.completed = true;
  })();
  return seen;
}

export function startShellJob(sim: Simulation, d: Vm, w: Workload): ShellJob {
  const pidsBefore = new Set(d.kernel.procs.keys());
  const job = sim.startJob(d, w);
  const sj: ShellJob = { job, d, pidsBefore, startedAt: sim.cycles, error: null, completed: false };
  job.gen = guarded(job.gen, sj);
  return sj;
}

/**
 * Ends the job's processes (exit_mmap of each), on the domain's vCPU. Returns an error message if
 * the kernel could not tear them down (after a failure left it inconsistent).
 */
export function reap(sim: Simulation, sj: ShellJob): string | null {
  const k = sj.d.kernel;
  const mine = [...k.procs.values()].filter((p) => !sj.pidsBefore.has(p.pid));
  if (mine.length === 0 || !sim.domains.includes(sj.d)) return null;
  try {
    sim.onVcpu(sj.d, () => {
      for (const p of mine) k.exit(p);
    });
    return null;
  } catch (e) {
    return `could not tear down the workload's address space: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/** Ctrl-C: the job stops where it is, and its processes exit. */
export function interrupt(sim: Simulation, sj: ShellJob): string | null {
  sim.stopJob(sj.job);
  return reap(sim, sj);
}

/** The numbers a finished workload's summary shows, from the domain's counters. */
export function summaryLine(d: Vm): string {
  const r = domainResults(d);
  return (
    `${r.ops} ops, ${r.cycles.perOp.toFixed(2)} cycles/op, ${r.tlb.misses} TLB misses, ` +
    `${r.walk.refsPerWalk.toFixed(2)} walk refs/walk, ${r.hypercalls.total} hypercalls, ${r.vmexits.total} exits`
  );
}

/** Roughly the guest pages a workload needs (its data, page cache and tables), to refuse a run that cannot fit. */
export function footprintPages(w: Workload, guestPageSize: Vm['config']['guestPageSize']): number {
  const mib = (n: number) => n * 256;
  let pages: number;
  switch (w.kind) {
    case 'idle':
    case 'hypercalls':
      pages = 16;
      break;
    case 'cold-walk':
      pages = w.pages * (guestPageSize === '1g' ? 262144 : guestPageSize === '2m' ? 512 : 1);
      break;
    case 'random-access':
    case 'sequential':
      pages = mib(w.workingSetMiB);
      break;
    case 'update-vs-access':
      pages = mib(w.workingSetMiB) + 512;
      break;
    case 'fork-exit':
      pages = mib(w.residentMiB) + Math.ceil(mib(w.residentMiB) / 512) * 2;
      break;
    case 'exec':
      pages = mib(w.imageMiB) * 2 + 64;
      break;
    case 'page-fault':
      pages = w.pages;
      break;
    case 'mmap-churn':
      pages = w.pagesPerMap;
      break;
    case 'context-switch':
      pages = w.processes * (24 + Math.ceil(w.sizeKiB / 4));
      break;
    case 'kernel-build':
      pages = mib(24);
      break;
    case 'sh-proc':
      pages = mib(4);
      break;
    case 'prot-fault':
    case 'null-syscall':
      pages = 16;
      break;
    case 'mmap':
      pages = Math.ceil(mib(w.sizeMiB) / 10) + 64;
      break;
    case 'oltp':
      pages = mib(68);
      break;
    case 'spec':
      pages = mib(w.profile === 'mcf' ? 260 : 68);
      break;
    case 'disk-io':
      pages = (w.queueDepth * w.blockKiB) / 4 + 64;
      break;
    case 'net-stream':
    case 'net-rr':
      // netfront's receive buffers (one page per rx slot), its two ring pages, the program's send buffers.
      pages = 256 + 2 + 64;
      break;
    case 'rogue-dma':
      // Its one marked page; the victim's pages are not its own.
      pages = 1;
      break;
    case 'backend-snoop':
      // The secret pages the backend goes after.
      pages = w.pages;
      break;
  }
  return pages + Math.ceil(pages / 512) + 64;
}

/** Free memory the kernel's allocator has, in MiB (what `run` compares a workload with). */
export function freeMiBOf(d: Vm): number {
  return Math.floor(d.kernel.freePages / 256);
}

/**
 * The user-mode work real programs do between their system calls and faults: instructions at a
 * base CPI, and memory references with realistic locality (a hot set plus a colder tail), so that
 * a program's share of time in the kernel and its TLB misses per thousand instructions are those
 * published for it. The same program runs in every paging mode; only the mechanisms differ (a TLB
 * miss walks the native, shadow or nested tables; a fault enters Xen or not).
 *
 * One simulated reference stands for the run of accesses a program makes to one page before it
 * moves on (`instrPerRef` instructions), which keeps TLB behaviour while a run of hundreds of
 * millions of instructions stays cheap to simulate. Cycles: the base CPI covers every cycle of the
 * instruction stream with a perfect TLB (its L1 hits included); the walks the references cause are
 * charged on top by the MMU, and the faults by the kernel and the hypervisor.
 */
import type { Rng } from '../base/rng.js';
import type { GuestKernel } from '../guest/kernel.js';
import type { Process, Vma } from '../guest/mm.js';
import { C } from '../machine/counters.js';
import { draws, SLICE, touchAll, vas, writes } from './touch.js';

export interface UserProfile {
  /** What the profile stands for and where its numbers come from. */
  name: string;
  /** Cycles per instruction on the reference (Nehalem) core with a perfect TLB; CPUs scale it (userCpiScale). */
  cpi: number;
  /** Instructions per simulated reference (a run of accesses to one page). */
  instrPerRef: number;
  /** Pages of the hot set: stack, current data, allocator heads; within every generation's L1 DTLB. */
  hotPages: number;
  /** MiB of the colder tail (the rest of the resident data). */
  coldMiB: number;
  /** Share of references that go to the cold tail, in 1/1024ths (uniform over it). */
  coldPer1024: number;
  /** New heap pages first touched (demand-zero faults) per million instructions. */
  faultsPerM: number;
  /** Heap arena in pages: when used up it is unmapped (malloc returning it) and a fresh one mapped. */
  arenaPages: number;
}

/**
 * SPEC CPU2006 403.gcc, and the cc1 jobs of a kernel build (the same compiler): Wang et al.
 * (VEE 2011, Core i7-860) measured 13.3 M page faults and 1.08 G TLB misses (HAP) in 403 s, i.e.
 * ~0.015 faults and ~1.2 TLB misses per thousand instructions for ~8.9×10^11 instructions
 * (their Table 1 row ">150000×10^-7 faults/KI, <1 TLB miss/KI"; Table 3 totals).
 *  - cpi 1.2: 403 s × 2.8 GHz / 8.9×10^11 instructions = 1.27 all-in, less the faults and walks.
 *  - instrPerRef 50: the simulation's grain (one reference per run of same-page accesses); the
 *    miss rate is set by coldPer1024, so the grain changes the cost of simulating, not the MPKI.
 *  - coldPer1024 61: 1.2 misses/KI × 50 instructions per reference = 0.06 misses per reference;
 *    the 64 MiB tail is far beyond every profile's TLB reach, so nearly every tail reference
 *    misses: 61/1024 = 0.06.
 *  - faultsPerM 15: 0.015 faults/KI.
 *  - arenaPages 256: glibc's mmap threshold (128 KiB) and trim behaviour return heap to the
 *    kernel in chunks; 1 MiB chunks give gcc's pattern of fresh pages and unmaps.
 */
export const GCC: UserProfile = {
  name: 'gcc',
  cpi: 1.2,
  instrPerRef: 50,
  hotPages: 32,
  coldMiB: 64,
  coldPer1024: 61,
  faultsPerM: 15,
  arenaPages: 256,
};

/**
 * SPEC CPU2006 429.mcf: a network-simplex solver chasing pointers over ~860 MiB; Wang et al.'s
 * Table 1 row with 16 TLB misses per thousand instructions (mcf: "a small number of page faults
 * but intensive memory accessing and a large number of TLB misses"), and 243,491 faults for
 * ~7.8×10^11 instructions (Table 3): 0.31 per million.
 *  - cpi 1.0: 329 s (SP) × 2.8 GHz / 7.8×10^11 = 1.18 all-in, less its walks.
 *  - coldPer1024 819: 16 misses/KI × 50 instructions per reference = 0.8 per reference; the
 *    256 MiB tail is far beyond any TLB, so nearly every tail reference misses.
 */
export const MCF: UserProfile = {
  name: 'mcf',
  cpi: 1.0,
  instrPerRef: 50,
  hotPages: 32,
  coldMiB: 256,
  coldPer1024: 819,
  faultsPerM: 0.31,
  arenaPages: 256,
};

export const USER_PROFILES = { gcc: GCC, mcf: MCF } as const;

/** A program's data: the hot set, the cold tail, and the heap arena it grows into. */
export interface ProgramData {
  hot: Vma;
  cold: Vma;
  arena: Vma;
  /** Next fresh page of the arena. */
  arenaNext: number;
  /** Fractional faults carried between chunks. */
  faultCredit: number;
}

/**
 * Maps and populates a program's hot set and cold tail, in pages of 2^pageShift bytes (a program
 * given large pages: hugetlbfs or transparent huge pages).
 */
export function mapProgramData(k: GuestKernel, p: Process, prof: UserProfile, pageShift = 12): ProgramData {
  const hot = k.mmap(p.mm, prof.hotPages * 4096, { pageShift });
  const cold = k.mmap(p.mm, prof.coldMiB * 2 ** 20, { pageShift });
  const step = 2 ** pageShift;
  for (const v of [hot, cold]) for (let va = v.start; va < v.end; va += step) k.touch(va, true);
  const arena = k.mmap(p.mm, prof.arenaPages * 4096);
  return { hot, cold, arena, arenaNext: 0, faultCredit: 0 };
}

/**
 * `instructions` of user-mode work: references over the hot set and the cold tail, and the
 * heap's fresh pages at the profile's fault rate. Returns nothing; charges cycles and counts
 * userInstructions and cyclesUser.
 */
export function userWork(k: GuestKernel, rng: Rng, p: Process, d: ProgramData, prof: UserProfile, instructions: number): void {
  const c = k.c;
  const chunkInstr = SLICE * prof.instrPerRef;
  for (let done = 0; done < instructions; ) {
    const n = Math.min(chunkInstr, instructions - done);
    const refs = Math.max(1, Math.round(n / prof.instrPerRef));
    references(k, rng, d, prof, refs);
    const cycles = n * prof.cpi * k.plat.userCpiScale;
    c[C.CycGuest] += Math.max(0, cycles - refs * k.plat.costs.access);
    c[C.CycUser] += cycles;
    c[C.UserInstructions] += n;
    d.faultCredit += (n * prof.faultsPerM) / 1e6;
    while (d.faultCredit >= 1) {
      d.faultCredit -= 1;
      heapPage(k, p, d, prof);
    }
    done += n;
  }
}

/** One fresh heap page (a demand-zero fault); a full arena is unmapped and a new one mapped. */
function heapPage(k: GuestKernel, p: Process, d: ProgramData, prof: UserProfile): void {
  if (d.arenaNext === prof.arenaPages) {
    k.munmap(p.mm, d.arena);
    d.arena = k.mmap(p.mm, prof.arenaPages * 4096);
    d.arenaNext = 0;
  }
  k.touch(d.arena.start + d.arenaNext++ * 4096, true);
}

/** `n` (≤ SLICE) references: 1 in 4 a store; cold with probability coldPer1024/1024. */
function references(k: GuestKernel, rng: Rng, d: ProgramData, prof: UserProfile, n: number): void {
  rng.fillU32(draws, n);
  const hotBase = d.hot.start;
  const hotPages = Math.min(prof.hotPages, (d.hot.end - d.hot.start) / 4096);
  const coldBase = d.cold.start;
  const coldPages = (d.cold.end - d.cold.start) / 4096;
  const thr = prof.coldPer1024;
  for (let i = 0; i < n; i++) {
    const u = draws[i]!;
    // Bits 0–9 choose hot or cold, 10–29 the page, 30–31 load or store.
    const page = (u >>> 10) & 0xfffff;
    vas[i] = (u & 1023) < thr ? coldBase + (page % coldPages) * 4096 : hotBase + (page % hotPages) * 4096;
    writes[i] = u >>> 30 === 0 ? 1 : 0;
  }
  touchAll(k, n);
}

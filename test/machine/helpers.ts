/**
 * Hand-built machines for the MMU tests: machine memory, a bump allocator of machine frames, an
 * Mmu, and table builders for 1D tables, EPT and a nested guest's own tables.
 */
import { C, Counters } from '../../core/machine/counters.js';
import { DEFAULT_COSTS } from '../../core/machine/cost.js';
import { MachineMemory } from '../../core/machine/memory.js';
import { Mmu } from '../../core/machine/mmu/mmu.js';
import { TableBuilder } from '../../core/machine/mmu/tableBuilder.js';
import { DEFAULT_MMU_CONFIG, PagingKind, type MmuConfig, type TranslationContext } from '../../core/machine/mmu/types.js';
import type { PageSize } from '../../core/base/types.js';

export const KiB4 = 4096;
export const MiB2 = 2 ** 21;
export const GiB1 = 2 ** 30;
export const SIZE_BYTES: Record<PageSize, number> = { '4k': KiB4, '2m': MiB2, '1g': GiB1 };
export const PAGE_SIZES: PageSize[] = ['4k', '2m', '1g'];

/** Levels walked to reach a leaf of this size, derived from the sizes: 48-bit va, 9 bits per level. */
export function levelsFor(size: PageSize): number {
  const offsetBits = Math.log2(SIZE_BYTES[size]);
  return (48 - offsetBits) / 9;
}

/** Bhargava et al. (ASPLOS 2008): n guest levels, each needing an m-level host walk, plus the data's. */
export function nestedRefs(n: number, m: number): number {
  return (n + 1) * (m + 1) - 1;
}

/** 8 GiB of sparse machine memory. */
export const MACHINE_FRAMES = 2 ** 21;

export function config(overrides: Partial<MmuConfig> = {}): MmuConfig {
  const d = DEFAULT_MMU_CONFIG;
  return {
    tlb4k: { ...d.tlb4k },
    tlb2m: { ...d.tlb2m },
    tlb1g: { ...d.tlb1g },
    psc: { ...d.psc },
    nestedTlb: { ...d.nestedTlb },
    dataCache: { ...d.dataCache },
    ...overrides,
  };
}

export class Machine {
  readonly mem = new MachineMemory(MACHINE_FRAMES);
  readonly mmu: Mmu;
  readonly counters = new Counters();
  readonly ctx: TranslationContext;
  /** Next free machine frame for tables (data frames are chosen by the tests, far above). */
  private nextMfn = 16;
  /** 1D tables and EPT: machine frames. */
  readonly x86: TableBuilder;
  readonly ept: TableBuilder;

  constructor(cfg: MmuConfig = config()) {
    this.mmu = new Mmu(this.mem, cfg, DEFAULT_COSTS);
    this.ctx = { kind: PagingKind.OneD, cr3: 0, eptRoot: 0, vpid: 0, pcid: 0, counters: this.counters };
    this.mmu.ctx = this.ctx;
    this.x86 = new TableBuilder(this.mem, 'x86', () => this.allocMfn());
    this.ept = new TableBuilder(this.mem, 'ept', () => this.allocMfn());
  }

  allocMfn(): number {
    return this.nextMfn++;
  }

  get c(): Float64Array {
    return this.counters.c;
  }

  /** Counter deltas of running `f`. */
  delta(f: () => void): { refs: number; walks: number; hits: number; misses: number; cached: number; memory: number; psc: number; ntlb: number } {
    const before = Float64Array.from(this.c);
    f();
    const d = (k: C) => this.c[k]! - before[k]!;
    return {
      refs: d(C.WalkRefs),
      walks: d(C.Walks),
      hits: d(C.TlbHits),
      misses: d(C.TlbMisses),
      cached: d(C.WalkRefsCached),
      memory: d(C.WalkRefsMemory),
      psc: d(C.PscHits),
      ntlb: d(C.NtlbHits),
    };
  }
}

/**
 * A nested guest: guest-physical frames [0, GUEST_FRAMES) backed by machine frames at
 * GUEST_BASE_MFN + gfn (1 GiB aligned, so any host page size fits), its own x86 tables in gfn
 * space, and an EPT mapping gfns on demand with a chosen host page size.
 */
export const GUEST_FRAMES = 2 ** 19;
export const GUEST_BASE_MFN = 2 ** 19;

export class NestedGuest {
  readonly guest: TableBuilder;
  readonly eptRoot: number;
  private nextGfn = 1;

  constructor(
    readonly m: Machine,
    readonly hostSize: PageSize,
  ) {
    this.guest = new TableBuilder(m.mem, 'x86', () => this.allocTableGfn(), (gfn) => GUEST_BASE_MFN + gfn);
    this.eptRoot = m.ept.newRoot();
    m.ctx.kind = PagingKind.Nested;
    m.ctx.eptRoot = this.eptRoot;
    m.ctx.vpid = 1;
  }

  /** A gfn for a guest table, mapped in EPT with the host page size. */
  allocTableGfn(): number {
    const gfn = this.nextGfn++;
    this.mapGfn(gfn);
    return gfn;
  }

  /** Maps (RWX) the host page holding `gfn`, if not yet mapped. */
  mapGfn(gfn: number, rights = 7): void {
    const pages = SIZE_BYTES[this.hostSize] / KiB4;
    const base = gfn - (gfn % pages);
    if (this.m.ept.leaf(this.eptRoot, base * KiB4) === null) {
      this.m.ept.map(this.eptRoot, base * KiB4, GUEST_BASE_MFN + base, this.hostSize, rights);
    }
  }

  newRoot(): number {
    return this.guest.newRoot();
  }
}

/**
 * The MMU of one physical CPU (Intel SDM Vol. 3A ch. 4, Vol. 3C ch. 28–29): TLBs split by page
 * size, paging-structure caches, a nested TLB, the data cache walk references go through, and the
 * hardware walker. Two paths, tested against each other (jor1k's fastcpu beside safecpu):
 *
 *  - translate(): the hot path. A TLB hit is a few typed-array loads and compares: no closure, no
 *    object, no allocation (see the note on translate). A miss walks (walker.ts) and fills.
 *  - referenceTranslate(): a readable, side-effect-free walk (referenceWalk.ts) with a trace of
 *    every reference, for tests, the walk view and the auditor.
 *
 * Conventions a caller relies on:
 *  - Virtual addresses are the 48 low bits of the linear address, in [0, 2^48).
 *  - A translation is cached in the TLB of its page size; a nested one in the TLB of the smaller of
 *    the guest and host leaf sizes, tagged by the VPID and the guest's PCID.
 *  - Global (G) entries are honoured for 1D translations only: they match every PCID of their
 *    VPID. Nested translations are cached per PCID.
 *  - A write through a TLB entry whose D was clear, or an access a TLB entry does not allow,
 *    drops the entry and walks again (the walker sets D, or reports the fault from the tables
 *    as they are now); it counts as a TLB miss.
 *  - Every walk counts in C.Walks and the walk histogram, including walks that fault (a cold-walk
 *    probe whose walk hits an EPT violation counts that short walk too).
 *  - flushVpid() is INVVPID: it leaves the nested TLB alone (guest-physical mappings). After
 *    removing or downgrading an EPT entry, call flushNestedTlb() (INVEPT), which also drops every
 *    TLB and paging-structure-cache entry derived through EPT.
 *
 * Performance notes (measured; see test/bench): hot-path counter indices come from hotIndex.ts,
 * not the const enum, and fields set in constructors are `declare`d (see walker.ts).
 */
import type { CostTable } from '../cost.js';
import type { MachineMemory } from '../memory.js';
import { DataCache } from './dataCache.js';
import { CTR_TLB_HITS, CTR_TLB_LOOKUPS, CTR_TLB_MISSES } from './hotIndex.js';
import { NestedTlb } from './nestedTlb.js';
import { PagingStructureCache } from './pagingStructureCache.js';
import { referenceTranslate } from './referenceWalk.js';
import { asidTag, globalTag, Tlb, TLB_DIRTY, TLB_NX, TLB_RW, TLB_US } from './tlb.js';
import { Counters } from '../counters.js';
import {
  Fault,
  PagingKind,
  PFEC_INSN,
  PFEC_USER,
  PFEC_WRITE,
  type MmuConfig,
  type ReferenceResult,
  type TranslationContext,
} from './types.js';
import { Walker } from './walker.js';

export class Mmu {
  /** The running vCPU's translation state; the hypervisor sets it when it schedules a vCPU. */
  declare ctx: TranslationContext;
  /** Filled when translate() returns -1. */
  readonly fault = new Fault();
  declare readonly tlb4k: Tlb;
  declare readonly tlb2m: Tlb;
  declare readonly tlb1g: Tlb;
  declare readonly psc: PagingStructureCache;
  declare readonly ntlb: NestedTlb;
  /**
   * EPT paging-structure caches, one per non-leaf EPT level: EPT PDEs (the EPT page table of a
   * 2 MiB region of guest-physical space) by gfn >> 9, EPT PDPTEs (the EPT page directory of a
   * 1 GiB region) by gfn >> 18, EPT PML4Es (the EPT PDPT of 512 GiB) by gfn >> 27. A nested
   * translation that misses the nested TLB starts below the deepest hit: after an EPT PDE hit it
   * reads only the EPT PTE, after a PDPTE hit the EPT PDE and what it points to.
   *
   * The SDM lets processors cache EPT paging-structure entries of every level ("EPT
   * paging-structure-cache entries", Vol. 3C §29.4.1) without giving sizes, and Bhargava et al.
   * (ASPLOS 2008) cache the nested dimension's entries of every level but the last in their 2D
   * page-walk cache. They are on with the paging-structure caches, each with as many entries as
   * the x86 cache of the same level (psc.pde, psc.pdpte, psc.pml4e), up to 4-way (an estimate:
   * Intel publishes no EPT cache sizes, and small hardware caches of this kind are
   * set-associative).
   */
  declare readonly eptPde: NestedTlb;
  declare readonly eptPdpte: NestedTlb;
  declare readonly eptPml4e: NestedTlb;
  declare readonly dcache: DataCache;
  declare readonly walker: Walker;
  declare private readonly mem: MachineMemory;
  declare readonly config: MmuConfig;

  constructor(mem: MachineMemory, config: MmuConfig, costs: CostTable) {
    this.mem = mem;
    this.config = config;
    this.ctx = { kind: PagingKind.OneD, cr3: 0, eptRoot: 0, vpid: 0, pcid: 0, counters: new Counters() };
    this.tlb4k = new Tlb(config.tlb4k.entries, config.tlb4k.ways, 12);
    this.tlb2m = new Tlb(config.tlb2m.entries, config.tlb2m.ways, 21);
    this.tlb1g = new Tlb(config.tlb1g.entries, config.tlb1g.ways, 30);
    this.psc = new PagingStructureCache(config.psc);
    this.ntlb = new NestedTlb(config.nestedTlb);
    const eptCache = (entries: number) => new NestedTlb({ enabled: config.psc.enabled, entries, ways: Math.min(4, entries) });
    this.eptPde = eptCache(config.psc.pde);
    this.eptPdpte = eptCache(config.psc.pdpte);
    this.eptPml4e = eptCache(config.psc.pml4e);
    this.dcache = new DataCache(config.dataCache.sizeKiB, config.dataCache.ways);
    this.walker = new Walker(mem, costs, this.dcache, this.psc, this.ntlb, [this.eptPde, this.eptPdpte, this.eptPml4e], this.fault);
  }

  // --- the hot path ------------------------------------------------------------------------------

  /**
   * Machine address of `va` for a data access by the running context, or -1 with `fault` filled.
   *
   * The hit path allocates nothing: every value is a number in a local or a typed-array slot, the
   * TLBs are one class (monomorphic), and the miss path is a separate method. (JS cannot assert
   * "no allocation" in a test; keep it so by inspection, and re-run test/bench after any change.)
   */
  translate(va: number, write: boolean, user: boolean): number {
    const ctx = this.ctx;
    const c = ctx.counters.c;
    c[CTR_TLB_LOOKUPS]!++;
    const vpid = ctx.vpid;
    const asid = (vpid << 12) | ctx.pcid;
    const gtag = ~vpid;
    let t = this.tlb4k;
    let i = t.lookup(Math.floor(va / 4096), asid, gtag);
    if (i < 0 && this.tlb2m.live !== 0) {
      t = this.tlb2m;
      i = t.lookup(Math.floor(va / 2097152), asid, gtag);
    }
    if (i < 0 && this.tlb1g.live !== 0) {
      t = this.tlb1g;
      i = t.lookup(Math.floor(va / 1073741824), asid, gtag);
    }
    if (i >= 0) {
      const need = (write ? TLB_RW | TLB_DIRTY : 0) | (user ? TLB_US : 0);
      if ((t.flags[i]! & need) === need) {
        c[CTR_TLB_HITS]!++;
        return t.mfn[i]! * 4096 + (va & t.offsetMask);
      }
      t.invalidate(i);
    }
    return this.miss(va, (write ? PFEC_WRITE : 0) | (user ? PFEC_USER : 0));
  }

  /**
   * translate()'s hit path for a run of data accesses: vas[from..to), a store where writes[k] is
   * 1 (0: a load; nothing else). Each hit is counted as translate() counts it (a lookup, the entry marked most recently
   * used, a hit). Stops before the first access that is not a plain hit — a miss, or an entry that
   * does not allow it — leaving everything as it was for that one, so the caller can take it
   * through translate() and resume. Returns the index it stopped at.
   *
   * Why a run: the workloads' inner loops pay a call chain per access (kernel, pv-ops, MMU) and,
   * since a 48-bit address is a double, a heap number for each non-inlined call. Here the
   * addresses stay in a Float64Array and the loop allocates nothing.
   */
  hitRun(vas: Float64Array, writes: Uint8Array, from: number, to: number, user: boolean): number {
    const ctx = this.ctx;
    const vpid = ctx.vpid;
    const asid = (vpid << 12) | ctx.pcid;
    const gtag = ~vpid;
    const t4 = this.tlb4k;
    const t2 = this.tlb2m;
    const t1 = this.tlb1g;
    const vpn4 = t4.vpn;
    const tag4 = t4.tag;
    const flags4 = t4.flags;
    const stamp4 = t4.stamp;
    // tlb4k's LRU clock, in a local for the loop (the common case: 4 KiB pages).
    let tick4 = t4.tick;
    const ways4 = t4.ways;
    const mask4 = t4.sets - 1;
    const us = user ? TLB_US : 0;
    // The 4 KiB page of the last access and the entry that served it: nothing is filled or
    // dropped during a run, so every access in that page finds the same entry (sequential
    // accesses make 64 in a row).
    // (Compared by page number, not by address range: a random access then fails the test in a
    // way the branch predictor learns.)
    let memoT = t4;
    let memoE = -1;
    let memoVpn = -1;
    const rwd = TLB_RW | TLB_DIRTY;
    let i = from;
    for (; i < to; i++) {
      const va = vas[i]!;
      const vpn = Math.floor(va / 4096);
      let t = memoT;
      let e = memoE;
      if (vpn !== memoVpn) {
        // tlb4k.peek inlined. Peek, not lookup: an entry that turns out not to allow the access
        // must not be marked used here and again by translate().
        const set = (vpn & mask4) * ways4;
        const end = set + ways4;
        t = t4;
        e = -1;
        for (let k = set; k < end; k++) {
          if (vpn4[k] === vpn) {
            const g = tag4[k];
            if (g === asid || g === gtag) {
              e = k;
              break;
            }
          }
        }
        if (e < 0 && t2.live !== 0) {
          t = t2;
          e = t2.peek(Math.floor(va / 2097152), asid, gtag);
        }
        if (e < 0 && t1.live !== 0) {
          t = t1;
          e = t1.peek(Math.floor(va / 1073741824), asid, gtag);
        }
        if (e < 0) break;
        memoT = t;
        memoE = e;
        memoVpn = vpn;
      }
      // writes[i] is 0 or 1 (a multiply, not a branch on a random bit).
      const need = (writes[i]! * rwd) | us;
      if (t === t4) {
        if ((flags4[e]! & need) !== need) break;
        stamp4[e] = ++tick4;
      } else {
        if ((t.flags[e]! & need) !== need) break;
        t.touch(e);
      }
    }
    t4.tick = tick4;
    const n = i - from;
    if (n > 0) {
      const c = ctx.counters.c;
      c[CTR_TLB_LOOKUPS]! += n;
      c[CTR_TLB_HITS]! += n;
    }
    return i;
  }

  /** Like translate, for an instruction fetch: XD applies and writes do not. */
  translateFetch(va: number, user: boolean): number {
    const ctx = this.ctx;
    const c = ctx.counters.c;
    c[CTR_TLB_LOOKUPS]!++;
    const asid = asidTag(ctx.vpid, ctx.pcid);
    const gtag = globalTag(ctx.vpid);
    let t = this.tlb4k;
    let i = t.lookup(Math.floor(va / 4096), asid, gtag);
    if (i < 0 && this.tlb2m.live !== 0) {
      t = this.tlb2m;
      i = t.lookup(Math.floor(va / 2097152), asid, gtag);
    }
    if (i < 0 && this.tlb1g.live !== 0) {
      t = this.tlb1g;
      i = t.lookup(Math.floor(va / 1073741824), asid, gtag);
    }
    if (i >= 0) {
      const need = user ? TLB_US : 0;
      if ((t.flags[i]! & (need | TLB_NX)) === need) {
        c[CTR_TLB_HITS]!++;
        return t.mfn[i]! * 4096 + (va & t.offsetMask);
      }
      t.invalidate(i);
    }
    return this.miss(va, PFEC_INSN | (user ? PFEC_USER : 0));
  }

  // --- the slow path -----------------------------------------------------------------------------

  private miss(va: number, access: number): number {
    const ctx = this.ctx;
    ctx.counters.c[CTR_TLB_MISSES]!++;
    const w = this.walker;
    const mfn = w.walk(ctx, va, access);
    if (mfn < 0) return -1;
    if (w.outCacheable) {
      const shift = w.outShift;
      const t = shift === 12 ? this.tlb4k : shift === 21 ? this.tlb2m : this.tlb1g;
      const tag = w.outGlobal ? globalTag(ctx.vpid) : asidTag(ctx.vpid, ctx.pcid);
      // va and the machine address agree modulo the page size: the page's base frame.
      t.fill(Math.floor(va / t.pageSize), tag, mfn - ((va & t.offsetMask) >>> 12), w.outFlags);
    }
    return mfn * 4096 + (va & 0xfff);
  }

  // --- invalidation ------------------------------------------------------------------------------

  /**
   * INVLPG for the running vpid/pcid (SDM §4.10.4.1): the translation of `va` in every page-size
   * TLB, global ones included, and every paging-structure-cache entry of this pcid whatever its
   * address. A nested translation cached smaller than the guest's page (a splinter) goes with the
   * whole guest page (SDM §4.10.2.3). The nested TLB is not touched (guest-physical mappings,
   * SDM Vol. 3C §29.4.3).
   */
  invlpg(va: number): void {
    const ctx = this.ctx;
    const asid = asidTag(ctx.vpid, ctx.pcid);
    const gtag = globalTag(ctx.vpid);
    this.tlb4k.invalidatePage(Math.floor(va / 4096), asid, gtag);
    this.tlb2m.invalidatePage(Math.floor(va / 2097152), asid, gtag);
    this.tlb1g.invalidatePage(Math.floor(va / 1073741824), asid, gtag);
    this.tlb4k.invalidateSplinters(va, asid);
    this.tlb2m.invalidateSplinters(va, asid);
    this.psc.flushAsid(asid);
  }

  /** A CR3 load without the no-flush bit (or INVPCID single-context): non-global entries of the pcid. */
  flushPcid(vpid: number, pcid: number): void {
    const asid = asidTag(vpid, pcid);
    this.tlb4k.flushAsid(asid);
    this.tlb2m.flushAsid(asid);
    this.tlb1g.flushAsid(asid);
    this.psc.flushAsid(asid);
  }

  /** INVVPID single-context: every linear and combined entry of the vpid, global ones included. */
  flushVpid(vpid: number): void {
    this.tlb4k.flushVpid(vpid);
    this.tlb2m.flushVpid(vpid);
    this.tlb1g.flushVpid(vpid);
    this.psc.flushVpid(vpid);
  }

  /**
   * INVEPT (all-context): the nested TLB's guest-physical mappings and every combined mapping
   * derived through EPT (nested TLB entries and paging-structure-cache entries), SDM Vol. 3C §29.4.3.
   */
  flushNestedTlb(): void {
    this.ntlb.flush();
    this.flushEptPsc();
    this.tlb4k.flushNested();
    this.tlb2m.flushNested();
    this.tlb1g.flushNested();
    this.psc.flushNested();
  }

  flushPsc(): void {
    this.psc.flush();
  }

  /** TLBs, paging-structure caches and nested TLB. */
  flushAll(): void {
    this.tlb4k.flushAll();
    this.tlb2m.flushAll();
    this.tlb1g.flushAll();
    this.psc.flush();
    this.ntlb.flush();
    this.flushEptPsc();
  }

  /** The EPT paging-structure caches (INVEPT, or a full flush). */
  private flushEptPsc(): void {
    this.eptPde.flush();
    this.eptPdpte.flush();
    this.eptPml4e.flush();
  }

  flushDataCache(): void {
    this.dcache.flush();
  }

  /** Everything cold, the data cache included: the next walk costs the architectural count in DRAM references. */
  coldFlush(): void {
    this.flushAll();
    this.dcache.flush();
  }

  /** Switches the paging-structure caches on or off (they start empty either way). */
  setPscEnabled(on: boolean): void {
    this.psc.flush();
    this.psc.enabled = on;
    this.flushEptPsc();
    this.eptPde.enabled = on;
    this.eptPdpte.enabled = on;
    this.eptPml4e.enabled = on;
  }

  /** Switches the nested TLB on or off (it starts empty either way). */
  setNestedTlbEnabled(on: boolean): void {
    this.ntlb.flush();
    this.ntlb.enabled = on;
  }

  // --- the reference path ------------------------------------------------------------------------

  /**
   * What a fresh walk of `va` for `ctx` would give, changing nothing (no cache, A/D bit or
   * counter is touched). `refs` is the architectural count; with `trace`, one WalkRef per
   * reference (see referenceWalk.ts for the order and the meaning of `source`).
   */
  referenceTranslate(ctx: TranslationContext, va: number, write: boolean, user: boolean, trace = false, fetch = false): ReferenceResult {
    const access = (write ? PFEC_WRITE : 0) | (user ? PFEC_USER : 0) | (fetch ? PFEC_INSN : 0);
    return referenceTranslate(this.mem, this, ctx, va, access, trace);
  }
}

/**
 * The MMU of one physical CPU: TLBs split by page size, paging-structure caches, a nested TLB, a
 * data cache for walk references, and the hardware walker (Intel SDM Vol. 3A ch. 4; EPT, Vol. 3C
 * ch. 29). Two paths, tested against each other:
 *  - translate(): the fast path (a TLB hit allocates nothing) and the slow path (a walk that
 *    reads every entry from machine memory, sets A/D and counts each reference);
 *  - referenceTranslate(): a readable, side-effect-free walk that uses no cache, for tests, the
 *    walk view and the auditor, optionally tracing every reference of the 2D grid.
 * A nested walk is plain composition: every guest-table address and the final guest-physical
 * address is translated by the EPT walk, giving (n+1)(m+1)−1 references for n guest and m host
 * levels (Bhargava et al., ASPLOS 2008).
 */
import { C } from '../counters.js';
import type { CostTable } from '../cost.js';
import type { MachineMemory } from '../memory.js';
import { EPT_PS, EPT_R, EPT_RWX, EPT_W, PTE_A, PTE_D, PTE_G, PTE_HI_NX, PTE_P, PTE_PS, PTE_RW, PTE_US, pteFrame, pteHex } from '../pte.js';
import { DataCache } from './dataCache.js';
import { TaggedCache, Tlb, TLB_DIRTY, TLB_GLOBAL, TLB_NX, TLB_RW, TLB_US } from './tlb.js';
import {
  Fault,
  FaultKind,
  PagingKind,
  PFEC_PRESENT,
  PFEC_RSVD,
  PFEC_USER,
  PFEC_WRITE,
  type MmuConfig,
  type ReferenceResult,
  type RefSource,
  type TranslationContext,
  type WalkRef,
} from './types.js';

const P2 = [1, 4096, 2 ** 21, 2 ** 30, 2 ** 39];

function index(addr: number, level: number): number {
  return Math.floor(addr / P2[level]) % 512;
}

export class Mmu {
  ctx!: TranslationContext;
  readonly fault = new Fault();
  readonly tlb4k: Tlb;
  readonly tlb2m: Tlb;
  readonly tlb1g: Tlb;
  /** Paging-structure caches indexed by the level of the entry they cache (4 = PML4E, 3, 2). */
  private readonly psc: (TaggedCache | null)[];
  private readonly ntlb: TaggedCache | null;
  readonly dcache: DataCache;
  // Walk outputs (no allocation per walk).
  private wFrame = 0;
  private wSize = 0;
  private wPerm = 0;
  private refs = 0;

  constructor(
    private readonly mem: MachineMemory,
    readonly config: MmuConfig,
    private readonly costs: CostTable,
  ) {
    this.tlb4k = new Tlb(config.tlb4k.entries, config.tlb4k.ways);
    this.tlb2m = new Tlb(config.tlb2m.entries, config.tlb2m.ways);
    this.tlb1g = new Tlb(config.tlb1g.entries, config.tlb1g.ways);
    const p = config.psc;
    this.psc = p.enabled
      ? [null, null, new TaggedCache(p.pde, p.pde), new TaggedCache(p.pdpte, p.pdpte), new TaggedCache(p.pml4e, p.pml4e)]
      : [null, null, null, null, null];
    const n = config.nestedTlb;
    this.ntlb = n.enabled ? new TaggedCache(n.entries, n.ways) : null;
    this.dcache = new DataCache(config.dataCache.sizeKiB, config.dataCache.ways);
  }

  // --- fast path -------------------------------------------------------------------------------

  /** Machine address of `va` for the running context, or -1 with `fault` filled. */
  translate(va: number, write: boolean, user: boolean): number {
    const ctx = this.ctx;
    const c = ctx.counters.c;
    c[C.TlbLookups]++;
    const vpid = ctx.vpid;
    const pcid = ctx.pcid;
    let t = this.tlb4k;
    let vpn = Math.floor(va / 4096);
    let s = t.lookup(vpn, vpid, pcid);
    let size = 4096;
    if (s < 0) {
      t = this.tlb2m;
      vpn = Math.floor(va / 2097152);
      s = t.lookup(vpn, vpid, pcid);
      size = 2097152;
      if (s < 0) {
        t = this.tlb1g;
        vpn = Math.floor(va / 1073741824);
        s = t.lookup(vpn, vpid, pcid);
        size = 1073741824;
      }
    }
    if (s >= 0) {
      const perm = t.perm[s];
      if ((!write || (perm & (TLB_RW | TLB_DIRTY)) === (TLB_RW | TLB_DIRTY)) && (!user || perm & TLB_US)) {
        c[C.TlbHits]++;
        return t.frame[s] * 4096 + (va % size);
      }
      // A permission or dirty miss: drop the entry and re-walk (the entry may have changed).
      t.invalidateSlot(s);
    }
    c[C.TlbMisses]++;
    return this.walk(va, write, user);
  }

  // --- slow path -------------------------------------------------------------------------------

  private readRef(maddr: number): void {
    const c = this.ctx.counters.c;
    this.refs++;
    c[C.WalkRefs]++;
    if (this.dcache.access(maddr)) {
      c[C.WalkRefsCached]++;
      c[C.CycWalk] += this.costs.walkRefCached;
    } else {
      c[C.WalkRefsMemory]++;
      c[C.CycWalk] += this.costs.walkRefMemory;
    }
  }

  private pageFault(va: number, code: number, level: number): number {
    const f = this.fault;
    f.kind = FaultKind.PageFault;
    f.va = va;
    f.errorCode = code;
    f.level = level;
    f.gpa = 0;
    f.duringGuestWalk = false;
    return -1;
  }

  private eptViolation(va: number, gpa: number, level: number, during: boolean): number {
    const f = this.fault;
    f.kind = FaultKind.EptViolation;
    f.va = va;
    f.errorCode = 0;
    f.level = level;
    f.gpa = gpa;
    f.duringGuestWalk = during;
    return -1;
  }

  private endWalk(): void {
    const k = this.ctx.counters;
    k.c[C.Walks]++;
    const r = this.refs;
    k.walkHist[r < k.walkHist.length ? r : k.walkHist.length - 1]++;
    if (r > k.walkMaxRefs) k.walkMaxRefs = r;
  }

  /**
   * EPT walk of guest-physical `gpa`: the machine frame of its 4 KiB page (leaf size in eSize), or
   * -1 after recording an EPT violation. Uses and fills the nested TLB.
   */
  private eSize = 4096;
  private ept(va: number, gpa: number, write: boolean, during: boolean): number {
    const ctx = this.ctx;
    const gfn = Math.floor(gpa / 4096);
    const nt = this.ntlb;
    if (nt !== null) {
      ctx.counters.c[C.CycWalk] += this.costs.walkCacheLookup;
      const m = nt.get(gfn, ctx.vpid, 0);
      if (m >= 0 && (!write || nt.lastPerm & TLB_RW)) {
        ctx.counters.c[C.NtlbHits]++;
        this.eSize = nt.lastPerm >> 5 === 0 ? 4096 : nt.lastPerm >> 5 === 1 ? 2097152 : 1073741824;
        return m;
      }
    }
    const mem = this.mem;
    let table = ctx.eptRoot;
    for (let level = 4; level >= 1; level--) {
      const i = index(gpa, level);
      this.readRef(table * 4096 + i * 8);
      const lo = mem.readLo(table, i);
      if (!(lo & EPT_RWX) || (level === 4 && lo & EPT_PS)) return this.eptViolation(va, gpa, level, during);
      const frame = pteFrame(lo, mem.readHi(table, i));
      if (level === 1 || lo & EPT_PS) {
        if (!(lo & EPT_R) || (write && !(lo & EPT_W))) return this.eptViolation(va, gpa, level, during);
        const size = P2[level];
        const m = frame + Math.floor((gpa % size) / 4096);
        this.eSize = size;
        if (nt !== null) nt.put(gfn, ctx.vpid, 0, m, (lo & EPT_W ? TLB_RW : 0) | ((level - 1) << 5));
        return m;
      }
      table = frame;
    }
    return -1;
  }

  /** The walk after a TLB miss: fills the TLB and returns the machine address, or -1. */
  private walk(va: number, write: boolean, user: boolean): number {
    const ctx = this.ctx;
    const nested = ctx.kind === PagingKind.Nested;
    const mem = this.mem;
    const c = ctx.counters.c;
    this.refs = 0;
    let level = 4;
    // table: machine frame of the table to read at `level` (nested: after EPT translation).
    let table = -1;
    let rw = TLB_RW;
    let us = TLB_US;
    let nx = 0;
    // Paging-structure caches: deepest hit first.
    for (let l = 2; l <= 4; l++) {
      const pc = this.psc[l];
      if (pc === null) continue;
      c[C.CycWalk] += this.costs.walkCacheLookup;
      const key = Math.floor(va / P2[l]);
      const f = pc.get(key, ctx.vpid, ctx.pcid);
      if (f >= 0) {
        c[C.PscHits]++;
        table = f;
        level = l - 1;
        const p = pc.lastPerm;
        rw = p & TLB_RW;
        us = p & TLB_US;
        nx = p & TLB_NX;
        break;
      }
    }
    if (table < 0) {
      if (nested) {
        table = this.ept(va, ctx.cr3 * 4096, false, true);
        if (table < 0) {
          this.endWalk();
          return -1;
        }
      } else table = ctx.cr3;
    }
    for (; level >= 1; level--) {
      const i = index(va, level);
      this.readRef(table * 4096 + i * 8);
      const lo = mem.readLo(table, i);
      const ec = (write ? PFEC_WRITE : 0) | (user ? PFEC_USER : 0);
      if (!(lo & PTE_P)) {
        this.endWalk();
        return this.pageFault(va, ec, level);
      }
      const hi = mem.readHi(table, i);
      if (level === 4 && lo & PTE_PS) {
        this.endWalk();
        return this.pageFault(va, ec | PFEC_PRESENT | PFEC_RSVD, level);
      }
      if (!(lo & PTE_RW)) rw = 0;
      if (!(lo & PTE_US)) us = 0;
      if (hi & PTE_HI_NX) nx = TLB_NX;
      const leaf = level === 1 || (lo & PTE_PS) !== 0;
      if ((write && !rw) || (user && !us)) {
        this.endWalk();
        return this.pageFault(va, ec | PFEC_PRESENT, level);
      }
      let set = PTE_A;
      if (leaf && write) set |= PTE_D;
      if ((lo & set) !== set) mem.orLo(table, i, set);
      const frame = pteFrame(lo, hi);
      if (leaf) {
        let size = P2[level];
        // Guest frame of the 4 KiB page within the leaf.
        let target = frame - (frame % (size / 4096)) + Math.floor((va % size) / 4096);
        let perm = rw | us | nx | ((lo | set) & PTE_D ? TLB_DIRTY : 0) | (lo & PTE_G && !nested ? TLB_GLOBAL : 0);
        if (nested) {
          target = this.ept(va, target * 4096, write, false);
          if (target < 0) {
            this.endWalk();
            return -1;
          }
          if (this.eSize < size) size = this.eSize;
        }
        this.endWalk();
        // Frame of the first 4 KiB of the (possibly smaller, for nested) page.
        const first = target - Math.floor((va % size) / 4096);
        const t = size === 4096 ? this.tlb4k : size === 2097152 ? this.tlb2m : this.tlb1g;
        t.insert(Math.floor(va / size), ctx.vpid, ctx.pcid, first, perm);
        perm = 0;
        return target * 4096 + (va % 4096);
      }
      // Non-leaf: the next table, through EPT for nested paging.
      let next = frame;
      if (nested) {
        next = this.ept(va, frame * 4096, false, true);
        if (next < 0) {
          this.endWalk();
          return -1;
        }
      }
      const pc = this.psc[level];
      if (pc !== null) pc.put(Math.floor(va / P2[level]), ctx.vpid, ctx.pcid, next, rw | us | nx);
      table = next;
    }
    this.endWalk();
    return -1;
  }

  // --- invalidation ----------------------------------------------------------------------------

  /** INVLPG for the running vpid/pcid: the page in every TLB, and the paging-structure caches. */
  invlpg(va: number): void {
    const vpid = this.ctx.vpid;
    this.tlb4k.invlpg(Math.floor(va / 4096), vpid);
    this.tlb2m.invlpg(Math.floor(va / 2097152), vpid);
    this.tlb1g.invlpg(Math.floor(va / 1073741824), vpid);
    for (const pc of this.psc) pc?.flushPcid(vpid, this.ctx.pcid);
  }

  flushPcid(vpid: number, pcid: number): void {
    this.tlb4k.flushPcid(vpid, pcid);
    this.tlb2m.flushPcid(vpid, pcid);
    this.tlb1g.flushPcid(vpid, pcid);
    for (const pc of this.psc) pc?.flushPcid(vpid, pcid);
  }

  flushVpid(vpid: number): void {
    this.tlb4k.flushVpid(vpid);
    this.tlb2m.flushVpid(vpid);
    this.tlb1g.flushVpid(vpid);
    for (const pc of this.psc) pc?.flushVpid(vpid);
    this.ntlb?.flushVpid(vpid);
  }

  flushPsc(): void {
    for (const pc of this.psc) pc?.flushAll();
  }

  /** INVEPT: drop cached guest-physical translations. */
  flushNestedTlb(): void {
    this.ntlb?.flushAll();
  }

  flushAll(): void {
    this.tlb4k.flushAll();
    this.tlb2m.flushAll();
    this.tlb1g.flushAll();
    this.flushPsc();
    this.flushNestedTlb();
  }

  flushDataCache(): void {
    this.dcache.flush();
  }

  /** Everything cold, the data cache included (the cold-walk probe). */
  coldFlush(): void {
    this.flushAll();
    this.flushDataCache();
  }

  // --- reference translation -------------------------------------------------------------------

  /**
   * Translates `va` for `ctx` as a fresh walk with no caches would, changing nothing. With
   * `trace`, records every reference in order, with what would serve it in the current state.
   */
  referenceTranslate(ctx: TranslationContext, va: number, write: boolean, user: boolean, trace = false): ReferenceResult {
    const mem = this.mem;
    const out: ReferenceResult = {
      ok: false,
      maddr: -1,
      pageSize: 0,
      writable: false,
      user: false,
      nx: false,
      refs: 0,
      faultKind: FaultKind.None,
      faultLevel: 0,
      faultGpa: 0,
      faultDuringGuestWalk: false,
      trace: [],
    };
    const nested = ctx.kind === PagingKind.Nested;
    const record = (guestLevel: number, hostLevel: number, maddr: number, lo: number, hi: number, source: RefSource) => {
      out.refs++;
      if (trace) out.trace.push({ n: out.refs, guestLevel, hostLevel, maddr, entry: pteHex(lo, hi), source } satisfies WalkRef);
    };
    const srcOf = (maddr: number): RefSource => (this.dcache.has(maddr) ? 'data-cache' : 'memory');
    /** gpa → { mfn of its 4K page, leaf size } or null after recording a violation. */
    const eptWalk = (gpa: number, guestLevel: number, wr: boolean): { mfn: number; size: number } | null => {
      let table = ctx.eptRoot;
      const ntHit = this.ntlb?.has(Math.floor(gpa / 4096), ctx.vpid, 0) ?? false;
      for (let level = 4; level >= 1; level--) {
        const i = index(gpa, level);
        const lo = mem.readLo(table, i);
        const hi = mem.readHi(table, i);
        const maddr = table * 4096 + i * 8;
        record(guestLevel, level, maddr, lo, hi, ntHit ? 'nested-tlb' : srcOf(maddr));
        if (!(lo & EPT_RWX) || (level === 4 && lo & EPT_PS)) {
          out.faultKind = FaultKind.EptViolation;
          out.faultLevel = level;
          out.faultGpa = gpa;
          out.faultDuringGuestWalk = guestLevel !== 0;
          return null;
        }
        const frame = pteFrame(lo, hi);
        if (level === 1 || lo & EPT_PS) {
          if (!(lo & EPT_R) || (wr && !(lo & EPT_W))) {
            out.faultKind = FaultKind.EptViolation;
            out.faultLevel = level;
            out.faultGpa = gpa;
            out.faultDuringGuestWalk = guestLevel !== 0;
            return null;
          }
          const size = P2[level];
          return { mfn: frame + Math.floor((gpa % size) / 4096), size };
        }
        table = frame;
      }
      return null;
    };
    let table: number;
    if (nested) {
      const r = eptWalk(ctx.cr3 * 4096, 4, false);
      if (!r) return out;
      table = r.mfn;
    } else table = ctx.cr3;
    let rw = true;
    let us = true;
    let nx = false;
    for (let level = 4; level >= 1; level--) {
      const i = index(va, level);
      const lo = mem.readLo(table, i);
      const hi = mem.readHi(table, i);
      const maddr = table * 4096 + i * 8;
      const pscHit = level < 4 && (this.psc[level + 1]?.has(Math.floor(va / P2[level + 1]), ctx.vpid, ctx.pcid) ?? false);
      record(level, 0, maddr, lo, hi, pscHit ? 'psc' : srcOf(maddr));
      if (!(lo & PTE_P) || (level === 4 && lo & PTE_PS)) {
        out.faultKind = FaultKind.PageFault;
        out.faultLevel = level;
        return out;
      }
      rw = rw && (lo & PTE_RW) !== 0;
      us = us && (lo & PTE_US) !== 0;
      nx = nx || (hi & PTE_HI_NX) !== 0;
      if ((write && !rw) || (user && !us)) {
        out.faultKind = FaultKind.PageFault;
        out.faultLevel = level;
        return out;
      }
      const frame = pteFrame(lo, hi);
      if (level === 1 || lo & PTE_PS) {
        let size = P2[level];
        const gframe = frame - (frame % (size / 4096)) + Math.floor((va % size) / 4096);
        let mfn = gframe;
        if (nested) {
          const r = eptWalk(gframe * 4096, 0, write);
          if (!r) return out;
          mfn = r.mfn;
          size = Math.min(size, r.size);
        }
        out.ok = true;
        out.maddr = mfn * 4096 + (va % 4096);
        out.pageSize = size;
        out.writable = rw;
        out.user = us;
        out.nx = nx;
        return out;
      }
      if (nested) {
        const r = eptWalk(frame * 4096, level - 1, false);
        if (!r) return out;
        table = r.mfn;
      } else table = frame;
    }
    return out;
  }
}

/**
 * The hardware page walker (Intel SDM Vol. 3A §4.5 for 4-level paging, Vol. 3C §29.3 for EPT).
 *
 * One walk loop that reads one entry per step, in the order hardware reads them (gem5's walker
 * state machine), each step driven by the small record of paging parameters of its table —
 * levels, present bits, rights, largest leaf — as in Spike's riscv/mmu.cc. Nested translation is
 * plain composition: before the guest entry of each level is read, the guest-physical address of
 * its table goes through EPT, and so does the final guest-physical address, which is where the
 * (n+1)(m+1)−1 references of a 2D walk come from (Bhargava et al., ASPLOS 2008). The loop keeps
 * both dimensions' state in locals and switches between them; it does not recurse.
 *
 * Every entry is read from machine memory and is one reference, charged through the data cache.
 * The paging-structure caches (x86 dimension) and the nested TLB (EPT dimension) let a walk skip
 * references. Faults are written into the preallocated Fault, never thrown; nothing here
 * allocates. Fields set in the constructor are `declare`d: an ES2022 class field would first be
 * defined as undefined, and V8 would then lose the field's exact type (a map check on every
 * typed-array access in the hot loop).
 */
import type { CostTable } from '../cost.js';
import { FRAME_CHUNK_MASK, FRAME_CHUNK_SHIFT, type MachineMemory } from '../memory.js';
import { EPT_PS, EPT_R, EPT_RWX, EPT_W, EPT_X, PTE_A, PTE_D, PTE_G, PTE_HI_NX, PTE_P, PTE_PS, PTE_RW, PTE_US } from '../pte.js';
import { LINES_PER_FRAME } from './types.js';
import {
  CTR_CYC_WALK,
  CTR_NTLB_HITS,
  CTR_PSC_HITS,
  CTR_WALK_REFS,
  CTR_WALK_REFS_CACHED,
  CTR_WALK_REFS_MEMORY,
  CTR_WALKS,
  FAULT_EPT,
  FAULT_PAGE,
  KIND_NESTED,
} from './hotIndex.js';
import type { DataCache } from './dataCache.js';
import type { NestedTlb } from './nestedTlb.js';
import type { PagingStructureCache } from './pagingStructureCache.js';
import { asidTag, TLB_DIRTY, TLB_NESTED, TLB_NX, TLB_RW, TLB_SPLIT_1G, TLB_SPLIT_2M } from './tlb.js';
import { Fault, PFEC_INSN, PFEC_PRESENT, PFEC_RSVD, PFEC_USER, PFEC_WRITE, type TranslationContext } from './types.js';

export const enum EntryFormat {
  /** IA-32e paging entries (SDM Vol. 3A Tables 4-14 … 4-20). */
  X86 = 0,
  /** EPT entries (SDM Vol. 3C Tables 29-1 … 29-6). */
  Ept = 1,
}

/** What the walk loop needs to know about a kind of table (Spike's vm_info). */
export interface PagingParams {
  readonly format: EntryFormat;
  readonly levels: number;
  /** An entry is present if any of these bits is set: P for x86, R|W|X for EPT. */
  readonly presentMask: number;
  /** Rights ANDed over the levels (SDM §4.6.1, Vol. 3C §29.3.2): R/W and U/S, or R, W and X. */
  readonly rightsMask: number;
  /** Highest level whose entry may map a page (PS = 1): 3, a 1 GiB page. PS above it is reserved. */
  readonly maxLeafLevel: number;
  /** High-half bit ORed over the levels: XD (bit 63) for x86; EPT has none. */
  readonly nxHi: number;
}

export const X86_4LEVEL: PagingParams = Object.freeze({
  format: EntryFormat.X86,
  levels: 4,
  presentMask: PTE_P,
  rightsMask: PTE_RW | PTE_US,
  maxLeafLevel: 3,
  nxHi: PTE_HI_NX,
});

export const EPT_4LEVEL: PagingParams = Object.freeze({
  format: EntryFormat.Ept,
  levels: 4,
  presentMask: EPT_RWX,
  rightsMask: EPT_RWX,
  maxLeafLevel: 3,
  nxHi: 0,
});

/**
 * Guest frames one entry of the EPT paging-structure cache of each level covers (index = level of
 * the cached EPT entry): a PDE 512 (2 MiB), a PDPTE 512² (1 GiB), a PML4E 512³ (512 GiB).
 */
const EPT_PSC_SPAN: readonly number[] = [0, 1, 512, 262144, 134217728];
/** Fills one walk can make: 3 non-leaf EPT levels × 5 EPT walks (4 guest tables and the data). */
const EPT_PSC_FILLS = 15;

/** log2 of the size of the page a leaf at each level maps (index = level). */
export const LEVEL_PAGE_SHIFT: readonly number[] = [0, 12, 21, 30, 39];

/**
 * Index (0..511) of the entry at `level` for the page number whose low 18 bits are in `plo` (or
 * all of it: only those bits are used) and whose bits 18 and up are `phi`.
 */
function indexAt(plo: number, phi: number, level: number): number {
  return level === 1 ? plo & 511 : level === 2 ? (plo >>> 9) & 511 : level === 3 ? phi & 511 : (phi >>> 9) & 511;
}

/** EPT right a guest access needs on its final guest-physical address (SDM Vol. 3C §29.3.3.2). */
export function eptNeed(access: number): number {
  return access & PFEC_WRITE ? EPT_W : access & PFEC_INSN ? EPT_X : EPT_R;
}

export class Walker {
  // The walk in progress.
  private va = 0;
  /** PFEC_WRITE | PFEC_USER | PFEC_INSN of the access being translated. */
  private access = 0;
  private asid = 0;
  private eptRoot = 0;
  /**
   * Tallies of the walk in progress, added to the counters once at its end (small integers in
   * fields: cheaper than a Float64Array update per reference).
   */
  refs = 0;
  private refsCached = 0;
  private cacheLookups = 0;
  private pscHits = 0;
  private ntlbHits = 0;

  // The guest (or 1D) leaf of the last successful walk: level, R/W and U/S, XD, low half.
  private leafLevel = 1;
  private leafRights = 0;
  private leafNx = 0;
  private leafLo = 0;
  // The EPT leaf of the final translation of a nested walk: level and R/W/X.
  private eptLeafLevel = 1;
  private eptLeafRights = 0;

  // Result of the last successful walk(), for the TLB fill.
  /** log2 of the translation's page size (for nested: the smaller of guest and host leaf). */
  outShift = 12;
  /** TLB_RW | TLB_US | TLB_NX | TLB_DIRTY | TLB_NESTED | TLB_SPLIT_*. */
  outFlags = 0;
  /** G in a 1D leaf: the TLB entry belongs to every PCID. */
  outGlobal = false;
  /** False when the EPT leaf is not readable (execute-only): the TLB entry could not serve reads. */
  outCacheable = true;

  declare private readonly mem: MachineMemory;
  declare private readonly costs: CostTable;
  declare private readonly dcache: DataCache;
  declare private readonly psc: PagingStructureCache;
  declare private readonly ntlb: NestedTlb;
  /**
   * EPT paging-structure caches by level (Mmu.eptPsc): index 2 the EPT PDE cache, 3 the EPT PDPTE
   * cache, 4 the EPT PML4E cache; 0 and 1 unused.
   */
  declare private readonly eptPsc: readonly NestedTlb[];
  declare private readonly fault: Fault;
  /**
   * EPT paging-structure-cache fills of the walk in progress (level, tag, frame of the next EPT
   * table, rights), applied when it ends: a walk does not hit what it cached itself, so with every
   * cache cold it makes the architectural (n+1)(m+1)−1 references. At most 3 levels × 5 EPT walks.
   */
  declare private readonly pdeTags: Float64Array;
  declare private readonly pdeMfns: Float64Array;
  declare private readonly pdeRights: Uint8Array;
  declare private readonly pdeLevels: Uint8Array;
  /** The last tag recorded per EPT level in this walk (-1: none). */
  declare private readonly pdeLast: Float64Array;
  private pdeFills = 0;
  /** Nested TLB fills of the walk in progress, applied when it ends (as pdeFills). */
  declare private readonly fillGfns: Float64Array;
  declare private readonly fillMfns: Float64Array;
  declare private readonly fillInfo: Uint8Array;
  private ntlbFills = 0;

  /**
   * `eptPsc`: the EPT PDE, PDPTE and PML4E caches, in that order (see Mmu.eptPsc).
   */
  constructor(mem: MachineMemory, costs: CostTable, dcache: DataCache, psc: PagingStructureCache, ntlb: NestedTlb, eptPsc: readonly [NestedTlb, NestedTlb, NestedTlb], fault: Fault) {
    this.mem = mem;
    this.costs = costs;
    this.dcache = dcache;
    this.psc = psc;
    this.ntlb = ntlb;
    this.eptPsc = [eptPsc[0], eptPsc[0], eptPsc[0], eptPsc[1], eptPsc[2]];
    this.fault = fault;
    this.pdeTags = new Float64Array(EPT_PSC_FILLS);
    this.pdeMfns = new Float64Array(EPT_PSC_FILLS);
    this.pdeRights = new Uint8Array(EPT_PSC_FILLS);
    this.pdeLevels = new Uint8Array(EPT_PSC_FILLS);
    this.pdeLast = new Float64Array(5).fill(-1);
    this.fillGfns = new Float64Array(8);
    this.fillMfns = new Float64Array(8);
    this.fillInfo = new Uint8Array(8);
  }

  /**
   * Walks `va` for `ctx`: the machine frame of the 4 KiB page holding the byte (the caller adds
   * va & 0xfff), or -1 with the fault filled. `access` is PFEC_WRITE / PFEC_USER / PFEC_INSN. Sets A (and D for a write) as hardware does, uses and
   * fills the paging-structure caches and nested TLB, and counts the walk in ctx.counters.
   */
  walk(ctx: TranslationContext, va: number, access: number): number {
    this.va = va;
    this.access = access;
    this.asid = asidTag(ctx.vpid, ctx.pcid);
    this.eptRoot = ctx.eptRoot;
    this.cacheLookups = 0;
    this.pscHits = 0;
    this.ntlbHits = 0;
    const nested = ctx.kind === KIND_NESTED;
    const offset = va & 0xfff;

    // Small integers, not byte addresses, flow through the walk: a double passed to a function
    // that is not inlined is boxed, an allocation per call. The virtual page number goes in two
    // 18-bit halves: va[47:30] (the PML4 and PDPT indices) and va[29:12] (PD and PT indices).
    if (this.pdeFills !== 0) this.pdeLast.fill(-1);
    this.pdeFills = 0;
    this.ntlbFills = 0;
    const frame = this.run(ctx.cr3, Math.floor(va / 1073741824), Math.floor(va / 4096) & 0x3ffff, offset, access, nested);
    // The caches learn what the walk read once it is over (see pdeTags).
    for (let i = 0; i < this.ntlbFills; i++) {
      const info = this.fillInfo[i]!;
      this.ntlb.fill(this.eptRoot, this.fillGfns[i]!, this.fillMfns[i]!, info & 7, info >>> 3);
    }
    // Each EPT paging-structure cache is keyed by its own tag (gfn >> 9·(level−1)): a 4 KiB-style
    // (level 1) key of a NestedTlb.
    for (let i = 0; i < this.pdeFills; i++) this.eptPsc[this.pdeLevels[i]!]!.fill(this.eptRoot, this.pdeTags[i]!, this.pdeMfns[i]!, this.pdeRights[i]!, 1);
    if (frame >= 0) {
      let shift = LEVEL_PAGE_SHIFT[this.leafLevel]!;
      let flags = (this.leafRights >>> 1) | (this.leafNx !== 0 ? TLB_NX : 0) | (this.leafLo & PTE_D ? TLB_DIRTY : 0);
      // CR4.PGE is on; G is honoured for 1D translations only (see Mmu: nested entries are per PCID).
      this.outGlobal = !nested && (this.leafLo & PTE_G) !== 0;
      this.outCacheable = true;
      if (nested) {
        const eShift = LEVEL_PAGE_SHIFT[this.eptLeafLevel]!;
        if (eShift < shift) {
          flags |= shift === 30 ? TLB_SPLIT_1G : TLB_SPLIT_2M;
          shift = eShift;
        }
        const r = this.eptLeafRights;
        // The combined entry allows what both dimensions allow (SDM Vol. 3C §29.4).
        if (!(r & EPT_W)) flags &= ~1;
        if (!(r & EPT_X)) flags |= TLB_NX;
        flags |= TLB_NESTED;
        this.outCacheable = (r & EPT_R) !== 0;
      }
      const ld = ctx.logDirty;
      if (ld !== undefined && !nested) {
        // Shadow log-dirty: the shadows map each page 4 KiB at a time (fl1 shadows splinter a
        // guest superpage), read-only until its first write of the round.
        shift = 12;
        if (ld.wp[frame] === 1) {
          if (access & PFEC_WRITE) ld.fault(frame);
          else flags &= ~TLB_RW;
        }
      }
      this.outShift = shift;
      this.outFlags = flags;
    }

    const k = ctx.counters;
    const c = k.c;
    const n = this.refs;
    const cached = this.refsCached;
    const costs = this.costs;
    c[CTR_WALKS]!++;
    c[CTR_WALK_REFS]! += n;
    c[CTR_WALK_REFS_CACHED]! += cached;
    c[CTR_WALK_REFS_MEMORY]! += n - cached;
    c[CTR_CYC_WALK]! += cached * costs.walkRefCached + (n - cached) * costs.walkRefMemory + this.cacheLookups * costs.walkCacheLookup;
    c[CTR_PSC_HITS]! += this.pscHits;
    c[CTR_NTLB_HITS]! += this.ntlbHits;
    const hist = k.walkHist;
    hist[n < hist.length ? n : hist.length - 1]!++;
    if (n > k.walkMaxRefs) k.walkMaxRefs = n;
    return frame;
  }

  /**
   * The walk loop: one entry per iteration, in the order hardware reads them (gem5's walker
   * state machine), each step driven by the paging parameters of its table (Spike's vm_info).
   * Two dimensions take turns. The guest (or 1D) dimension walks x86 tables from `root` for the
   * virtual page vhi·2^18 + vlo. When nested, each guest table's frame and the final guest frame
   * are guest-physical: before the guest step can read, an EPT translation of that frame runs to
   * completion (or hits the nested TLB) — plain composition, without recursion.
   *
   * Returns the machine frame of the page holding the byte (the guest leaf in leafLevel,
   * leafRights, leafNx, leafLo; the EPT leaf of the final translation in eptLeafLevel and
   * eptLeafRights), or -1 after a fault.
   */
  private run(root: number, vhi: number, vlo: number, offset: number, access: number, nested: boolean): number {
    // Machine memory's directory, read inline (MachineMemory.frame): finding a table's backing is
    // a typed-array load and an array load, with no call and no test beyond the frame number's.
    const mem = this.mem;
    const dir = mem.dir;
    const slots = mem.slots;
    const nrFrames = mem.nrFrames;
    const dcache = this.dcache;
    // The data cache's common case (the line is its set's most recent) tested inline.
    const dFront = dcache.front;
    const dMask = dcache.setMask;
    const dSets = dcache.sets;
    const ntlb = this.ntlb;
    const psc = this.psc;
    const G = X86_4LEVEL;
    const E = EPT_4LEVEL;
    // References made and those the data cache served, kept in locals until the walk ends.
    let refs = 0;
    let cached = 0;

    // Guest dimension: the level read next, the machine frame of its table (-1 while that
    // frame is being translated), and the rights accumulated so far.
    let gLevel = G.levels;
    let gTable = -1;
    let gRights = G.rightsMask;
    let gNx = 0;
    // EPT dimension: the guest frame being translated (-1: none), the byte in it (for a
    // violation's gpa), whether it is the final one, the rights it needs, and the walk's state
    // (eLevel 0: not started, look in the nested TLB first).
    let eGfn = -1;
    let eOffset = 0;
    let eFinal = false;
    let eNeed = EPT_R;
    let eLevel = 0;
    let eTable = 0;
    let eRights = 0;
    let eHi = 0;

    const usePsc = psc.enabled;
    if (usePsc) {
      this.cacheLookups++;
      gLevel = psc.lookup(this.asid, vhi, vlo);
      if (gLevel < G.levels) {
        this.pscHits++;
        gTable = psc.hitFrame;
        const h = psc.hitRights;
        gRights = (h << 1) & (PTE_RW | PTE_US);
        gNx = h & TLB_NX ? PTE_HI_NX : 0;
      }
    }
    if (gTable < 0) {
      if (nested) {
        eGfn = root;
        eOffset = indexAt(vlo, vhi, gLevel) * 8;
      } else {
        gTable = root;
      }
    }

    for (;;) {
      if (eGfn >= 0) {
        // --- an EPT step (SDM Vol. 3C §29.3.2) -------------------------------------------------
        let mfn = -1;
        if (eLevel === 0) {
          if (ntlb.enabled) {
            this.cacheLookups++;
            if (ntlb.lookup(this.eptRoot, eGfn, eNeed)) {
              this.ntlbHits++;
              mfn = ntlb.hitMfn;
              eLevel = ntlb.hitLevel;
              eRights = ntlb.hitRights;
            }
          }
          if (mfn < 0) {
            eLevel = E.levels;
            eTable = this.eptRoot;
            eRights = E.rightsMask;
            eHi = Math.floor(eGfn / 262144);
            const eptPsc = this.eptPsc;
            if (eptPsc[2]!.enabled) {
              // The EPT PDE, PDPTE and PML4E caches are looked up together (one lookup, as the
              // x86 ones); the walk starts below the deepest hit.
              this.cacheLookups++;
              for (let l = 2; l <= 4; l++) {
                const cache = eptPsc[l]!;
                if (cache.lookup(this.eptRoot, Math.floor(eGfn / EPT_PSC_SPAN[l]!), 0)) {
                  this.pscHits++;
                  eLevel = l - 1;
                  eTable = cache.hitMfn;
                  eRights = cache.hitRights;
                  break;
                }
              }
            }
          }
        }
        if (mfn < 0) {
          const idx = indexAt(eGfn, eHi, eLevel);
          const f = eTable < nrFrames ? slots[(dir[eTable >>> FRAME_CHUNK_SHIFT]! << FRAME_CHUNK_SHIFT) | (eTable & FRAME_CHUNK_MASK)] : undefined;
          const lo = f === undefined ? 0 : f[idx << 1]!;
          const hi = f === undefined ? 0 : f[(idx << 1) + 1]!;
          refs++;
          const line = eTable * LINES_PER_FRAME + (idx >>> 3);
          const dSet = dMask >= 0 ? line & dMask : line % dSets;
          if (dFront[dSet] === line || dcache.accessBehindFront(line, dSet)) cached++;
          const ps = lo & EPT_PS;
          // PS in an EPT PML4E is a misconfiguration, which we report as a violation.
          if ((lo & E.presentMask) === 0 || (ps !== 0 && eLevel > E.maxLeafLevel)) {
            return this.done(refs, cached, this.eptViolation(eGfn * 4096 + eOffset, eLevel, !eFinal));
          }
          eRights &= lo;
          if (eLevel !== 1 && ps === 0) {
            eTable = (lo >>> 12) + (hi & 0xfffff) * 1048576;
            if (this.eptPsc[2]!.enabled) this.recordEptPscFill(eLevel, Math.floor(eGfn / EPT_PSC_SPAN[eLevel]!), eTable, eRights & 7);
            eLevel--;
            continue;
          }
          if ((eRights & eNeed) !== eNeed) return this.done(refs, cached, this.eptViolation(eGfn * 4096 + eOffset, eLevel, !eFinal));
          const mask = eLevel === 1 ? 0 : eLevel === 2 ? 511 : 262143;
          mfn = (lo >>> 12) - ((lo >>> 12) & mask) + (hi & 0xfffff) * 1048576 + (eGfn & mask);
          if (ntlb.enabled && this.ntlbFills < 8) {
            // Filled when the walk ends (a guest table may be mapped as its own data, too).
            const n = this.ntlbFills++;
            this.fillGfns[n] = eGfn;
            this.fillMfns[n] = mfn;
            this.fillInfo[n] = (eRights & 7) | (eLevel << 3);
          }
        }
        // The translation is complete.
        eGfn = -1;
        if (eFinal) {
          this.eptLeafLevel = eLevel;
          this.eptLeafRights = eRights;
          return this.done(refs, cached, mfn);
        }
        eLevel = 0;
        gTable = mfn;
        if (usePsc && gLevel < G.levels) psc.fill(gLevel + 1, this.asid, vhi, vlo, mfn, (gRights >>> 1) | (gNx !== 0 ? TLB_NX : 0), true);
      }

      // --- a guest (or 1D) step (SDM Vol. 3A §4.5) ---------------------------------------------
      const idx = indexAt(vlo, vhi, gLevel);
      const f = gTable >= 0 && gTable < nrFrames ? slots[(dir[gTable >>> FRAME_CHUNK_SHIFT]! << FRAME_CHUNK_SHIFT) | (gTable & FRAME_CHUNK_MASK)] : undefined;
      const w = idx << 1;
      const lo = f === undefined ? 0 : f[w]!;
      const hi = f === undefined ? 0 : f[w + 1]!;
      refs++;
      const line = gTable * LINES_PER_FRAME + (idx >>> 3);
      const dSet = dMask >= 0 ? line & dMask : line % dSets;
      if (dFront[dSet] === line || dcache.accessBehindFront(line, dSet)) cached++;
      if ((lo & G.presentMask) === 0) return this.done(refs, cached, this.pageFault(access, gLevel));
      const ps = lo & PTE_PS;
      // PS in a PML4E is reserved (SDM §4.5.4): #PF with RSVD.
      if (ps !== 0 && gLevel > G.maxLeafLevel) return this.done(refs, cached, this.pageFault(access | PFEC_PRESENT | PFEC_RSVD, gLevel));
      gRights &= lo;
      gNx |= hi & G.nxHi;

      if (gLevel !== 1 && ps === 0) {
        // A on every paging-structure entry the walk uses (SDM §4.8).
        if ((lo & PTE_A) === 0) f![w] = (lo | PTE_A) >>> 0;
        const next = (lo >>> 12) + (hi & 0xfffff) * 1048576;
        gLevel--;
        if (nested) {
          eGfn = next;
          eOffset = indexAt(vlo, vhi, gLevel) * 8;
          // Reading a guest table needs EPT R. The walker's A/D writes into it would need EPT W
          // too; we check R only, which is simpler and differs only for a guest table mapped
          // read-only in EPT.
          eNeed = EPT_R;
        } else {
          gTable = next;
          if (usePsc) psc.fill(gLevel + 1, this.asid, vhi, vlo, next, (gRights >>> 1) | (gNx !== 0 ? TLB_NX : 0), false);
        }
        continue;
      }

      // The leaf. PFEC_WRITE is PTE_RW's bit and PFEC_USER is PTE_US's: the access is its own
      // mask. CR0.WP = 1 (supervisor writes honour R/W); SMEP/SMAP off; EFER.NXE = 1.
      const needRights = access & (PTE_RW | PTE_US);
      if ((gRights & needRights) !== needRights || (gNx !== 0 && access & PFEC_INSN)) {
        return this.done(refs, cached, this.pageFault(access | PFEC_PRESENT, gLevel));
      }
      // A on the leaf, D too for a write (SDM §4.8), only once the access is allowed.
      const set = access & PFEC_WRITE ? PTE_A | PTE_D : PTE_A;
      if ((lo & set) !== set) f![w] = (lo | set) >>> 0;
      this.leafLo = lo | set;
      this.leafLevel = gLevel;
      this.leafRights = gRights;
      this.leafNx = gNx;
      // Frame bits below the page size are reserved in a PS leaf, and bit 12 is PAT there: the
      // page's base frame, plus the frame of the byte within the page. (Masks, not %: % on a
      // double is a library call.)
      const mask = gLevel === 1 ? 0 : gLevel === 2 ? 511 : 262143;
      const frame = (lo >>> 12) - ((lo >>> 12) & mask) + (hi & 0xfffff) * 1048576 + (vlo & mask);
      if (!nested) return this.done(refs, cached, frame);
      eGfn = frame;
      eOffset = offset;
      eFinal = true;
      eNeed = eptNeed(access);
    }
  }

  /**
   * Remembers an EPT paging-structure-cache fill (the non-leaf EPT entry at `level` for the
   * region `tag`, pointing to EPT table `mfn`) for the end of the walk. The walk's guest tables
   * often share one region: one fill for them.
   */
  private recordEptPscFill(level: number, tag: number, mfn: number, rights: number): void {
    // Most repeats are of the level's previous fill (the guest tables of a walk are close together).
    const last = this.pdeLast;
    if (last[level] === tag) return;
    last[level] = tag;
    const n = this.pdeFills;
    for (let i = 0; i < n; i++) if (this.pdeLevels[i] === level && this.pdeTags[i] === tag) return;
    if (n === EPT_PSC_FILLS) return;
    this.pdeFills = n + 1;
    this.pdeLevels[n] = level;
    this.pdeTags[n] = tag;
    this.pdeMfns[n] = mfn;
    this.pdeRights[n] = rights;
  }

  /** Ends run(): stores its reference tallies and returns `result`. */
  private done(refs: number, cached: number, result: number): number {
    this.refs = refs;
    this.refsCached = cached;
    return result;
  }

  private pageFault(errorCode: number, level: number): number {
    const f = this.fault;
    f.kind = FAULT_PAGE;
    f.va = this.va;
    f.errorCode = errorCode;
    f.level = level;
    f.gpa = 0;
    f.duringGuestWalk = false;
    return -1;
  }

  private eptViolation(gpa: number, level: number, duringGuestWalk: boolean): number {
    const f = this.fault;
    f.kind = FAULT_EPT;
    f.va = this.va;
    // The access that caused it (the exit qualification's read/write/fetch bits, SDM Table 28-7).
    f.errorCode = this.access & (PFEC_WRITE | PFEC_USER | PFEC_INSN);
    f.level = level;
    f.gpa = gpa;
    f.duringGuestWalk = duringGuestWalk;
    return -1;
  }
}

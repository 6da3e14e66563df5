/**
 * The reference translation: a plain, readable walk that changes nothing — no TLB, paging-structure
 * cache, nested TLB or data cache is used or updated, no A/D bit is written, no counter moves. It
 * gives the result a fresh walk of the tables as they are now would give, and the architectural
 * reference count. It is the "safecpu" beside the fast path (jor1k's habit): tests compare the
 * two, the walk view draws its trace, the auditor trusts it.
 *
 * The trace has one WalkRef per reference, in the order hardware makes them. For a nested walk
 * that is the guest-level × host-level grid, row by row: for guest level 4..1, the EPT reads of the
 * guest table's address (hostLevel 4..1) and then the guest entry itself (hostLevel 0); then the
 * final guest-physical address (guestLevel 0, hostLevel 4..1). A 1D walk has guestLevel 4..1 and
 * hostLevel 0. Each reference names what would serve it if the fast walker ran now: 'psc' or
 * 'nested-tlb' for a reference a cache hit would skip, 'data-cache' or 'memory' for one it would
 * make. To get that exactly — a walk's own fills and evictions change what serves its later
 * references — a traced walk replays the walk's nested-TLB and data-cache traffic on copies of
 * them; the real ones are never touched.
 */
import type { MachineMemory } from '../memory.js';
import { EPT_PS, EPT_R, EPT_RWX, EPT_W, EPT_X, pteFrame, pteHex, PTE_HI_NX, PTE_P, PTE_PS, PTE_RW, PTE_US } from '../pte.js';
import { tableIndex } from '../../base/types.js';
import type { DataCache } from './dataCache.js';
import type { NestedTlb } from './nestedTlb.js';
import type { PagingStructureCache } from './pagingStructureCache.js';
import { asidTag } from './tlb.js';
import {
  FaultKind,
  LINES_PER_FRAME,
  PagingKind,
  PFEC_INSN,
  PFEC_PRESENT,
  PFEC_RSVD,
  PFEC_USER,
  PFEC_WRITE,
  type ReferenceResult,
  type RefSource,
  type TranslationContext,
} from './types.js';
import { eptNeed } from './walker.js';

/** The caches whose state a trace starts from (copied or peeked, never updated). */
export interface WalkCaches {
  readonly psc: PagingStructureCache;
  readonly ntlb: NestedTlb;
  /** The EPT paging-structure caches (EPT PDE, PDPTE and PML4E entries; see Mmu). */
  readonly eptPde: NestedTlb;
  readonly eptPdpte: NestedTlb;
  readonly eptPml4e: NestedTlb;
  readonly dcache: DataCache;
}

/** Bytes a leaf at `level` maps: 4 KiB, 2 MiB, 1 GiB. */
function leafSize(level: number): number {
  return 2 ** (12 + 9 * (level - 1));
}

/** EPT translation of one guest-physical address. */
interface EptResult {
  maddr: number;
  size: number;
  rights: number;
}

/**
 * Translates `va` for `ctx` as a fresh walk would, changing nothing. `access` is PFEC_WRITE |
 * PFEC_USER | PFEC_INSN; with `trace`, every reference is recorded.
 */
export function referenceTranslate(
  mem: MachineMemory,
  caches: WalkCaches,
  ctx: TranslationContext,
  va: number,
  access: number,
  trace: boolean,
): ReferenceResult {
  return new ReferenceWalk(mem, caches, ctx, va, access, trace).translate();
}

class ReferenceWalk {
  private readonly out: ReferenceResult = {
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
    faultErrorCode: 0,
    trace: [],
  };
  private readonly nested: boolean;
  /** Guest level the fast walk would start at after a paging-structure-cache hit (4: no hit). */
  private readonly pscStart: number;
  /** Copies the walk's cache traffic is replayed on (traced walks only). */
  private readonly ntlb: NestedTlb | null;
  /** The EPT paging-structure caches by the level of the entry they hold (2, 3, 4). */
  private readonly eptPsc: readonly NestedTlb[];
  private readonly dcache: DataCache | null;

  constructor(
    private readonly mem: MachineMemory,
    caches: WalkCaches,
    private readonly ctx: TranslationContext,
    private readonly va: number,
    private readonly access: number,
    private readonly trace: boolean,
  ) {
    this.nested = ctx.kind === PagingKind.Nested;
    this.pscStart = caches.psc.peek(asidTag(ctx.vpid, ctx.pcid), Math.floor(va / 2 ** 30), Math.floor(va / 4096) % 2 ** 18);
    this.ntlb = trace ? caches.ntlb.clone() : null;
    this.eptPsc = [caches.eptPde, caches.eptPde, caches.eptPde, caches.eptPdpte, caches.eptPml4e];
    this.dcache = trace ? caches.dcache.clone() : null;
  }

  translate(): ReferenceResult {
    const out = this.out;
    const va = this.va;
    const pscStart = this.pscStart;
    const write = (this.access & PFEC_WRITE) !== 0;
    const user = (this.access & PFEC_USER) !== 0;
    const fetch = (this.access & PFEC_INSN) !== 0;

    // The frame of the table at each level: a guest frame when nested, else a machine frame.
    let tableFrame = this.ctx.cr3;
    let writable = true;
    let userOk = true;
    let nx = false;
    for (let level = 4; level >= 1; level--) {
      const index = tableIndex(va, level);
      let tableMfn = tableFrame;
      if (this.nested) {
        // The PSC would hand over this table's machine frame, skipping its EPT walk.
        const skip = level >= pscStart && pscStart < 4;
        const t = this.eptTranslate(tableFrame * 4096 + index * 8, level, EPT_R, skip);
        if (t === null) return out;
        tableMfn = Math.floor(t.maddr / 4096);
      }
      const { lo, hi } = this.read(tableMfn, index, level, 0, level > pscStart ? 'psc' : null);

      if (!(lo & PTE_P)) return this.pageFault(this.access, level);
      if (level === 4 && lo & PTE_PS) return this.pageFault(this.access | PFEC_PRESENT | PFEC_RSVD, level);
      writable &&= (lo & PTE_RW) !== 0;
      userOk &&= (lo & PTE_US) !== 0;
      nx ||= (hi & PTE_HI_NX) !== 0;

      const isLeaf = level === 1 || (lo & PTE_PS) !== 0;
      if (!isLeaf) {
        tableFrame = pteFrame(lo, hi);
        continue;
      }
      if ((write && !writable) || (user && !userOk) || (fetch && nx)) {
        return this.pageFault(this.access | PFEC_PRESENT, level);
      }
      let size = leafSize(level);
      const pages = size / 4096;
      const frame = pteFrame(lo, hi);
      let addr = (frame - (frame % pages)) * 4096 + (va % size);
      if (this.nested) {
        const t = this.eptTranslate(addr, 0, eptNeed(this.access), false);
        if (t === null) return out;
        addr = t.maddr;
        size = Math.min(size, t.size);
        writable &&= (t.rights & EPT_W) !== 0;
        nx ||= (t.rights & EPT_X) === 0;
      }
      out.ok = true;
      out.maddr = addr;
      out.pageSize = size;
      out.writable = writable;
      out.user = userOk;
      out.nx = nx;
      return out;
    }
    throw new Error('unreachable: level 1 is always a leaf');
  }

  /**
   * Walks the EPT for `gpa` (the address of a guest entry of `guestLevel`, or the final address
   * when guestLevel is 0). `skippedByPsc`: the fast walker would not make these references.
   */
  private eptTranslate(gpa: number, guestLevel: number, need: number, skippedByPsc: boolean): EptResult | null {
    const gfn = Math.floor(gpa / 4096);
    const ntlb = this.ntlb;
    // As the fast walker: a table the PSC hands over needs no EPT walk; otherwise the nested TLB
    // is looked up first (the fast walker fills it when the whole walk ends).
    const ntlbHit = !skippedByPsc && ntlb !== null && ntlb.enabled && ntlb.lookup(this.ctx.eptRoot, gfn, need);
    const skip: RefSource | null = skippedByPsc ? 'psc' : ntlbHit ? 'nested-tlb' : null;
    // The EPT paging-structure caches (their fills wait for the end of the walk, so they are as
    // at the start): the walk starts below the deepest hit, at `start`.
    let start = 4;
    if (skip === null) {
      for (let l = 2; l <= 4; l++) {
        if (this.eptPsc[l]!.peek(this.ctx.eptRoot, Math.floor(gfn / 512 ** (l - 1)), 0)) {
          start = l - 1;
          break;
        }
      }
    }

    let table = this.ctx.eptRoot;
    let rights = EPT_RWX;
    for (let level = 4; level >= 1; level--) {
      const index = tableIndex(gpa, level);
      const { lo, hi } = this.read(table, index, guestLevel, level, skip ?? (level > start ? 'psc' : null));
      if (!(lo & EPT_RWX)) return this.eptViolation(gpa, level, guestLevel);
      if (level === 4 && lo & EPT_PS) return this.eptViolation(gpa, level, guestLevel);
      rights &= lo & EPT_RWX;
      if (level === 1 || lo & EPT_PS) {
        if ((rights & need) !== need) return this.eptViolation(gpa, level, guestLevel);
        const size = leafSize(level);
        const frame = pteFrame(lo, hi);
        const maddr = (frame - (frame % (size / 4096))) * 4096 + (gpa % size);
        // (The fast walker fills the nested TLB when the walk ends, so nothing it caches serves this walk.)
        return { maddr, size, rights };
      }
      table = pteFrame(lo, hi);
    }
    throw new Error('unreachable: EPT level 1 is always a leaf');
  }

  /** Reads entry `index` of machine frame `mfn`: one reference. */
  private read(mfn: number, index: number, guestLevel: number, hostLevel: number, skippedBy: RefSource | null): { lo: number; hi: number } {
    const lo = this.mem.readLo(mfn, index);
    const hi = this.mem.readHi(mfn, index);
    const out = this.out;
    out.refs++;
    if (this.trace) {
      const maddr = mfn * 4096 + index * 8;
      let source = skippedBy;
      if (source === null) source = this.dcache!.access(mfn * LINES_PER_FRAME + (index >>> 3)) ? 'data-cache' : 'memory';
      out.trace.push({ n: out.refs, guestLevel, hostLevel, maddr, entry: pteHex(lo, hi), source });
    }
    return { lo, hi };
  }

  private pageFault(errorCode: number, level: number): ReferenceResult {
    this.out.faultKind = FaultKind.PageFault;
    this.out.faultLevel = level;
    this.out.faultErrorCode = errorCode;
    return this.out;
  }

  private eptViolation(gpa: number, level: number, guestLevel: number): null {
    this.out.faultKind = FaultKind.EptViolation;
    this.out.faultLevel = level;
    this.out.faultGpa = gpa;
    this.out.faultDuringGuestWalk = guestLevel !== 0;
    this.out.faultErrorCode = this.access;
    return null;
  }
}

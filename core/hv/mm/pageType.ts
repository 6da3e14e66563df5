/**
 * Direct paging for PV guests: page types, reference counts and page-table validation, the core
 * of Xen's xen/arch/x86/mm.c (get_page, get_page_type, get_page_from_lNe, mod_lN_entry).
 *
 * A PV guest's page tables hold machine frame numbers and are used by the hardware as they are.
 * This is safe only because Xen owns every change: tables are read-only to the guest, every update
 * goes through mmu_update / mmuext_op / update_va_mapping, and Xen keeps per-frame counts so that
 *  - a frame is used as a page table of one level only while it has no writable mapping
 *    (type PGT_lN_page_table vs PGT_writable_page, changed only at type count 0), and
 *  - every frame a domain maps is one it owns.
 * Error codes are Xen's: a type conflict on pinning is -EINVAL; a mapping Xen cannot take a
 * reference for (foreign frame, or RW mapping of a table) fails in get_page_from_l1e with -EBUSY;
 * bad flags are -EINVAL.
 *
 * The hypercalls that drive this are in hv/hypercall/ (mmuUpdate.ts, mmuextOp.ts,
 * updateVaMapping.ts); their ABI is hv/hypercall/abi.ts.
 */
import { EBUSY, EINVAL } from '../../base/errno.js';
import { C, type Counters } from '../../machine/counters.js';
import type { CostTable } from '../../machine/cost.js';
import type { MachineMemory } from '../../machine/memory.js';
import {
  PTE_A,
  PTE_AVAIL,
  PTE_D,
  PTE_G,
  PTE_HI_AVAIL_FLAGS,
  PTE_NX,
  PTE_P,
  PTE_PCD,
  PTE_PS,
  PTE_PWT,
  PTE_RW,
  PTE_US,
  pteFlags,
  pteFrame,
  PTE_GNTTAB,
} from '../../machine/pte.js';
import {
  FrameTable,
  PGT_l1_page_table,
  PGT_l4_page_table,
  PGT_none,
  PGT_validated,
  PGT_writable_page,
  type PageType,
} from './frameTable.js';

/** Xen's private L4 slots in a 64-bit PV guest's L4 (ROOT_PAGETABLE_FIRST/LAST_XEN_SLOT). */
export const ROOT_PAGETABLE_FIRST_XEN_SLOT = 256;
export const ROOT_PAGETABLE_LAST_XEN_SLOT = 271;
export function isGuestL4Slot(slot: number): boolean {
  return slot < ROOT_PAGETABLE_FIRST_XEN_SLOT || slot > ROOT_PAGETABLE_LAST_XEN_SLOT;
}

/**
 * BASE_DISALLOW_MASK = 0xFFFFF198 & ~_PAGE_NX in Xen's folded flags: PWT, PCD, PSE/PAT, GLOBAL and
 * the high available bits. L1 entries may use GLOBAL; an ordinary domU (no I/O memory) may not
 * set cache attributes. L2–L4 disallow PSE: PV guests get no superpages.
 */
const BASE_DISALLOW_MASK = PTE_PWT | PTE_PCD | PTE_PS | PTE_G | PTE_HI_AVAIL_FLAGS;
export const L1_DISALLOW_MASK = BASE_DISALLOW_MASK & ~PTE_G;
export const L2_DISALLOW_MASK = BASE_DISALLOW_MASK;
export const L3_DISALLOW_MASK = BASE_DISALLOW_MASK;
export const L4_DISALLOW_MASK = BASE_DISALLOW_MASK;
const DISALLOW = [0, L1_DISALLOW_MASK, L2_DISALLOW_MASK, L3_DISALLOW_MASK, L4_DISALLOW_MASK];

/** Flags whose change alone does not need revalidation (FASTPATH_FLAG_WHITELIST). */
export const FASTPATH_FLAG_WHITELIST = PTE_NX | PTE_HI_AVAIL_FLAGS | PTE_AVAIL | PTE_G | PTE_D | PTE_A | PTE_US;

/** PGT_none (a fresh frame) or PGT_writable_page: what a strict PV domain's IOMMU table maps. */
function writableish(t: PageType): boolean {
  return t === PGT_none || t === PGT_writable_page;
}

/** What the PV code needs of a domain. */
export interface PvDomain {
  readonly domid: number;
  readonly counters: Counters;
  /** mfn of the L4 the vCPU runs on (its guest CR3). */
  guestCr3: number;
  /** Flush this domain's TLB entries on the vCPU's pCPU (non-global), or one page. */
  flushTlb(): void;
  invlpg(va: number): void;
  /** Whether the domain may map frames it does not own (dom0's privileged mappings). */
  readonly privileged: boolean;
}

/** Xen's per-frame count_info / type_info rules over the frame table; PvMm adds the hypercalls. */
export class PageTypes {
  /**
   * Called when a frame becomes or stops being writable-typed (PGT_none, a fresh frame, counts as
   * writable: Xen's populate makes every new PV page PGT_writable_page): _get_page_type's
   * iommu_legacy_map / iommu_legacy_unmap, so a device never reaches a page table. Null: no IOMMU.
   */
  onWritableChange: ((mfn: number, writable: boolean) => void) | null = null;

  constructor(
    readonly mem: MachineMemory,
    readonly ft: FrameTable,
    readonly costs: CostTable,
  ) {}

  private charge(d: PvDomain, n = 1): void {
    d.counters.c[C.EntriesValidated] += n;
    d.counters.c[C.CycHv] += n * this.costs.validateEntry;
  }

  // --- general references -------------------------------------------------------------------

  /** get_page: a general reference to a frame the domain owns. */
  getPage(mfn: number, d: PvDomain): boolean {
    if (mfn < 0 || mfn >= this.ft.nrFrames) return false;
    if (this.ft.owner(mfn) !== d.domid) return false;
    this.ft.setCount(mfn, this.ft.count(mfn) + 1);
    return true;
  }

  putPage(mfn: number): void {
    if (this.ft.count(mfn) <= 0) throw new Error(`put_page underflow on mfn ${mfn}`);
    this.ft.setCount(mfn, this.ft.count(mfn) - 1);
  }

  // --- types ---------------------------------------------------------------------------------

  /**
   * get_page_type: take a type reference. At type count 0 the type may change; a new page-table
   * type is validated (every present entry must be acceptable, recursively). Returns 0 or -EINVAL.
   */
  getPageType(mfn: number, type: PageType, d: PvDomain): number {
    const ft = this.ft;
    const cur = ft.type(mfn);
    if (ft.typeCount(mfn) > 0) {
      if (cur !== type) return EINVAL; // "Bad type (saw … != exp …)"
      if (type <= PGT_l4_page_table && type >= PGT_l1_page_table && !(ft.flags(mfn) & PGT_validated)) return EINVAL;
      ft.setTypeCount(mfn, ft.typeCount(mfn) + 1);
      return 0;
    }
    const was = cur;
    ft.setType(mfn, type);
    ft.setTypeCount(mfn, 1);
    ft.setFlags(mfn, ft.flags(mfn) & ~PGT_validated);
    if (type >= PGT_l1_page_table && type <= PGT_l4_page_table) {
      // XSA-401: a frame that was writable may still be reachable through stale writable TLB
      // entries. Flush once the type reference is held (so no new writable mapping can appear),
      // before the frame is used as a table.
      if (was === PGT_writable_page) {
        d.counters.c[C.TlbFlushes]++;
        d.flushTlb();
      }
      const rc = this.allocPageType(mfn, type, d);
      if (rc !== 0) {
        ft.setType(mfn, PGT_none);
        ft.setTypeCount(mfn, 0);
        if (!writableish(was)) this.onWritableChange?.(mfn, true);
        return rc;
      }
    }
    ft.setFlags(mfn, ft.flags(mfn) | PGT_validated);
    if (writableish(was) !== writableish(type)) this.onWritableChange?.(mfn, writableish(type));
    return 0;
  }

  /** put_page_type: drop a type reference; at zero a table's entries release their references. */
  putPageType(mfn: number, d: PvDomain): void {
    const ft = this.ft;
    if (ft.typeCount(mfn) <= 0) throw new Error(`put_page_type underflow on mfn ${mfn}`);
    ft.setTypeCount(mfn, ft.typeCount(mfn) - 1);
    if (ft.typeCount(mfn) === 0) {
      const t = ft.type(mfn);
      if (t >= PGT_l1_page_table && t <= PGT_l4_page_table && ft.flags(mfn) & PGT_validated) {
        this.freePageType(mfn, t, d);
      }
      ft.setFlags(mfn, ft.flags(mfn) & ~PGT_validated);
    }
  }

  getPageAndType(mfn: number, type: PageType, d: PvDomain): number {
    if (!this.getPage(mfn, d)) return EINVAL;
    const rc = this.getPageType(mfn, type, d);
    if (rc !== 0) this.putPage(mfn);
    return rc;
  }

  putPageAndType(mfn: number, d: PvDomain): void {
    this.putPageType(mfn, d);
    this.putPage(mfn);
  }

  /** alloc_lN_table: validate every present entry; on failure, roll back what was taken. */
  private allocPageType(mfn: number, level: number, d: PvDomain): number {
    const idx = this.mem.nonZeroEntries(mfn, []);
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k]!;
      if (level === 4 && !isGuestL4Slot(i)) continue;
      const lo = this.mem.readLo(mfn, i);
      const hi = this.mem.readHi(mfn, i);
      if (!(lo & PTE_P)) continue;
      const rc = this.getPageFromEntry(level, lo, hi, mfn, d);
      if (rc !== 0) {
        for (let j = 0; j < k; j++) {
          const i2 = idx[j]!;
          if (level === 4 && !isGuestL4Slot(i2)) continue;
          this.putPageFromEntry(level, this.mem.readLo(mfn, i2), this.mem.readHi(mfn, i2), mfn, d);
        }
        return rc;
      }
    }
    return 0;
  }

  private freePageType(mfn: number, level: number, d: PvDomain): void {
    const idx = this.mem.nonZeroEntries(mfn, []);
    for (const i of idx) {
      if (level === 4 && !isGuestL4Slot(i)) continue;
      this.putPageFromEntry(level, this.mem.readLo(mfn, i), this.mem.readHi(mfn, i), mfn, d);
    }
  }

  // --- entries -------------------------------------------------------------------------------

  /** get_page_from_lNe for an entry found in a table of `level` at machine frame `table`. */
  getPageFromEntry(level: number, lo: number, hi: number, table: number, d: PvDomain): number {
    if (!(lo & PTE_P)) return 0;
    this.charge(d);
    const flags = pteFlags(lo, hi);
    if (flags & DISALLOW[level]!) return EINVAL; // "Bad L%d flags"
    const target = pteFrame(lo, hi);
    if (level === 1) {
      if (!this.getPage(target, d)) return EBUSY; // could_not_pin: not owned, not granted
      if (flags & PTE_RW) {
        const rc = this.getPageType(target, PGT_writable_page, d);
        if (rc !== 0) {
          this.putPage(target);
          return EBUSY; // "Could not get page type PGT_writable_page"
        }
      }
      return 0;
    }
    const rc = target === table ? EINVAL : this.getPageAndType(target, (level - 1) as PageType, d);
    if (rc === EINVAL) return this.getLinearPagetable(level, table, flags, target, d);
    return rc;
  }

  /**
   * get_lN_linear_pagetable: an entry pointing at a table of its own level (a "linear" page
   * table). Allowed only read-only; a self-reference holds no reference; otherwise the target must
   * be the same domain's, validated at that level, and (XSA-240) one level deep: a table mapped
   * linearly may not hold linear entries, and one holding them may not be mapped linearly.
   */
  private getLinearPagetable(level: number, table: number, flags: number, target: number, d: PvDomain): number {
    if (flags & PTE_RW) return EINVAL; // "Attempt to create linear p.t. with write perms"
    if (target === table) return 0;
    const ft = this.ft;
    if (ft.owner(target) !== d.domid) return EINVAL;
    if (ft.type(target) !== level || ft.typeCount(target) === 0 || !(ft.flags(target) & PGT_validated)) return EINVAL;
    if (ft.linear(table) > 0 || ft.linear(target) < 0) return EINVAL; // inc_linear_entries / inc_linear_uses
    ft.setLinear(table, ft.linear(table) - 1);
    ft.setLinear(target, ft.linear(target) + 1);
    ft.setCount(target, ft.count(target) + 1);
    ft.setTypeCount(target, ft.typeCount(target) + 1);
    return 0;
  }

  putPageFromEntry(level: number, lo: number, hi: number, table: number, d: PvDomain): void {
    if (!(lo & PTE_P)) return;
    d.counters.c[C.CycHv] += this.costs.validateEntry;
    const target = pteFrame(lo, hi);
    if (level === 1) {
      // A grant PTE's references are the grant's: the unmap drops them (put_page_from_l1e).
      if (pteFlags(lo, hi) & PTE_GNTTAB) return;
      if (pteFlags(lo, hi) & PTE_RW) this.putPageType(target, d);
      this.putPage(target);
      return;
    }
    if (target === table) return;
    if (this.ft.type(target) === this.ft.type(table)) {
      // put_pt_page: a same-level target was a linear mapping.
      this.ft.setLinear(table, this.ft.linear(table) + 1);
      this.ft.setLinear(target, this.ft.linear(target) - 1);
    }
    this.putPageAndType(target, d);
  }

  /**
   * mod_lN_entry: replace entry `index` of the validated table `table` (level from its type).
   * The fast path rewrites without revalidation only when frame and all flags outside
   * FASTPATH_FLAG_WHITELIST are unchanged.
   */
  modEntry(table: number, index: number, lo: number, hi: number, d: PvDomain): number {
    const level = this.ft.type(table);
    if (level === 4 && !isGuestL4Slot(index)) return EINVAL; // "Illegal L4 update attempt in Xen-private area"
    const olo = this.mem.readLo(table, index);
    const ohi = this.mem.readHi(table, index);
    // "Attempt to implicitly unmap a granted PTE": only GNTTABOP_unmap_grant_ref may change an entry
    // Xen wrote for a grant. Xen crashes the domain that tries (put_page_from_l1e → domain_crash);
    // the lab refuses the update instead, so the grant's references stay whole.
    if (level === 1 && olo & PTE_P && pteFlags(olo, ohi) & PTE_GNTTAB) {
      this.charge(d);
      return EINVAL;
    }
    if (lo & PTE_P) {
      const flags = pteFlags(lo, hi);
      if (flags & DISALLOW[level]!) {
        this.charge(d);
        return EINVAL;
      }
      if (
        olo & PTE_P &&
        pteFrame(olo, ohi) === pteFrame(lo, hi) &&
        ((pteFlags(olo, ohi) ^ flags) & ~FASTPATH_FLAG_WHITELIST) === 0
      ) {
        this.mem.write(table, index, lo, hi);
        if (level >= 2) this.linearFlushPending = true;
        return 0;
      }
      const rc = this.getPageFromEntry(level, lo, hi, table, d);
      if (rc !== 0) return rc;
    }
    this.mem.write(table, index, lo, hi);
    this.putPageFromEntry(level, olo, ohi, table, d);
    // XSA-286: a changed L2–L4 entry may be cached as a leaf through a linear mapping, so the
    // TLB must be flushed before the hypercall returns.
    if (level >= 2 && olo & PTE_P) this.linearFlushPending = true;
    return 0;
  }

  private linearFlushPending = false;

  /** The flush an L2–L4 change owes, done once at the end of the hypercall. */
  flushLinear(d: PvDomain): void {
    if (!this.linearFlushPending) return;
    this.linearFlushPending = false;
    d.counters.c[C.TlbFlushes]++;
    d.flushTlb();
  }
}

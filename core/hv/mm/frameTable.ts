/**
 * Xen's per-frame bookkeeping (xen/arch/x86/include/asm/mm.h, struct page_info): an owner, a
 * general reference count (count_info & PGC_count_mask), a type (type_info & PGT_type_mask) with
 * its own count, and the validated and pinned flags. Kept as parallel typed arrays over all of
 * machine memory, plus the m2p (machine_to_phys_mapping) that maps an mfn back to its owner's pfn.
 */
export const PGT_none = 0;
export const PGT_l1_page_table = 1;
export const PGT_l2_page_table = 2;
export const PGT_l3_page_table = 3;
export const PGT_l4_page_table = 4;
export const PGT_seg_desc_page = 5;
export const PGT_writable_page = 6;
export type PageType = 0 | 1 | 2 | 3 | 4 | 5 | 6;

export const PGT_NAMES = ['none', 'l1', 'l2', 'l3', 'l4', 'seg_desc', 'writable'] as const;

/** PGT_validated: the frame's contents were checked for its current type. */
export const PGT_validated = 1;
/** PGT_pinned: the guest pinned the frame as a table (MMUEXT_PIN_Ln_TABLE): it holds a type ref. */
export const PGT_pinned = 2;

/** Owner values that are not domains. */
export const DOMID_FREE = -1;
/** Frames Xen uses itself (shadow pool, EPT tables, its heap). */
export const DOMID_XEN = 0x7ff2;
export const INVALID_M2P = -1;

export class FrameTable {
  readonly nrFrames: number;
  readonly owner: Int32Array;
  readonly count: Int32Array;
  readonly type: Uint8Array;
  readonly typeCount: Int32Array;
  readonly flags: Uint8Array;
  /** machine_to_phys_mapping: mfn → pfn of its owner, or INVALID_M2P. */
  readonly m2p: Int32Array;
  /**
   * linear_pt_count (after XSA-240): > 0, the number of linear entries pointing at this table;
   * < 0, the number of linear entries this table holds. A table is never both (one level deep).
   */
  readonly linear: Int32Array;

  constructor(nrFrames: number) {
    this.nrFrames = nrFrames;
    this.owner = new Int32Array(nrFrames).fill(DOMID_FREE);
    this.count = new Int32Array(nrFrames);
    this.type = new Uint8Array(nrFrames);
    this.typeCount = new Int32Array(nrFrames);
    this.flags = new Uint8Array(nrFrames);
    this.m2p = new Int32Array(nrFrames).fill(INVALID_M2P);
    this.linear = new Int32Array(nrFrames);
  }

  assign(mfn: number, domid: number, pfn: number): void {
    this.owner[mfn] = domid;
    this.m2p[mfn] = pfn;
    this.count[mfn] = 0;
    this.type[mfn] = PGT_none;
    this.typeCount[mfn] = 0;
    this.flags[mfn] = 0;
    this.linear[mfn] = 0;
  }

  release(mfn: number): void {
    this.owner[mfn] = DOMID_FREE;
    this.m2p[mfn] = INVALID_M2P;
    this.count[mfn] = 0;
    this.type[mfn] = PGT_none;
    this.typeCount[mfn] = 0;
    this.flags[mfn] = 0;
  }

  isPageTable(mfn: number): boolean {
    const t = this.type[mfn]!;
    return t >= PGT_l1_page_table && t <= PGT_l4_page_table && this.typeCount[mfn]! > 0;
  }
}

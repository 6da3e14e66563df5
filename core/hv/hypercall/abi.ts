/**
 * The memory-management part of the hypercall ABI (xen/include/public/xen.h): what a PV guest
 * passes to mmu_update, mmuext_op and update_va_mapping. Guests and the hypervisor both see it;
 * nothing here holds state.
 */

/** mmu_update commands (xen/include/public/xen.h). */
export const MMU_NORMAL_PT_UPDATE = 0;
export const MMU_MACHPHYS_UPDATE = 1;

export const enum MmuextCmd {
  PIN_L1_TABLE = 0,
  PIN_L2_TABLE = 1,
  PIN_L3_TABLE = 2,
  PIN_L4_TABLE = 3,
  UNPIN_TABLE = 4,
  NEW_BASEPTR = 5,
  TLB_FLUSH_LOCAL = 6,
  INVLPG_LOCAL = 7,
  TLB_FLUSH_MULTI = 8,
  INVLPG_MULTI = 9,
  TLB_FLUSH_ALL = 10,
  INVLPG_ALL = 11,
}

/** update_va_mapping flags (UVMF_*). */
export const UVMF_NONE = 0;
export const UVMF_TLB_FLUSH = 1;
export const UVMF_INVLPG = 2;

/** struct mmu_update, with the new entry split into its low and high 32 bits. */
export interface MmuUpdateReq {
  /** Machine address of the entry to update, or for MMU_MACHPHYS_UPDATE the mfn. */
  ptr: number;
  cmd: number;
  lo: number;
  hi: number;
  /** MMU_MACHPHYS_UPDATE: the pfn. */
  pfn?: number;
}

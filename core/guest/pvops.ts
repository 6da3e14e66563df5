/**
 * The paravirt-ops boundary (after Linux's pv_mmu_ops): the same guest kernel code runs in every
 * paging mode; only what is behind these calls differs.
 *
 *  native, hap  plain stores into the tables; CR3 loads and INVLPG run natively (PCID/VPID tagged).
 *  pv           tables hold machine frames (pfn → mfn through the guest's p2m) and are read-only;
 *               updates are hypercalls (batched in lazy-MMU mode), and so are CR3 loads and flushes.
 *  shadow       stores into shadowed tables trap and are emulated (or the L1 goes out of sync);
 *               CR3 loads and INVLPG exit to the hypervisor.
 */
import type { PagingMode } from '../api/scenario.js';

export interface PvOps {
  readonly mode: PagingMode;

  /** Entry `i` of table `tablePfn` (a table of `level`) := `targetPfn` with `flags`; flags 0 clears it. */
  setPte(tablePfn: number, level: number, i: number, targetPfn: number, flags: number): void;
  /** Reads entry `i` of `tablePfn`: returns its flags (0 if not present) and sets `lastPfn`. */
  readPte(tablePfn: number, i: number): number;
  /** Target pfn of the last `readPte`. */
  lastPfn: number;

  /** arch_enter_lazy_mmu_mode / arch_leave_lazy_mmu_mode: updates in between may be batched. */
  lazyBegin(): void;
  lazyEnd(): void;

  /** A freshly zeroed page becomes a table of `level` (PV: made read-only, L1s pinned). */
  allocPt(pfn: number, level: number): void;
  /** A table of `level` is about to be freed (PV: unpinned and made writable again). */
  releasePt(pfn: number, level: number): void;
  /** A new address space's root is complete (PV: pin the L4). */
  pinRoot(pfn: number): void;
  /** An address space is being torn down as a whole (PV: unpin everything before the teardown). */
  unpinMm(rootPfn: number, tables: readonly { pfn: number; level: number }[]): void;

  /** Load CR3 with the root `pfn` and address-space tag `pcid`. */
  switchRoot(pfn: number, pcid: number): void;
  /** Flush the current address space's non-global TLB entries. */
  flushTlb(): void;
  /** Invalidate one page. */
  invlpg(va: number): void;

  /**
   * A load or store by the running user process. Returns true if it completed (after any faults
   * the hypervisor resolved on its own), false if the guest kernel must handle a page fault.
   */
  access(va: number, write: boolean): boolean;
  /**
   * access() for vas[from..to) (a store where writes[k] is 1, a load where 0) while each is a TLB hit, counted
   * exactly as access() counts it; stops before the first that is not. Returns where it stopped:
   * the caller takes that access through access() (and the fault path), then resumes.
   */
  accessRun(vas: Float64Array, writes: Uint8Array, from: number, to: number): number;
  /** Around the guest kernel's page-fault handler: the costs of getting there and back. */
  faultEnter(): void;
  faultExit(): void;
  /** A system call's entry into the kernel and return (PV on x86-64: through Xen). */
  syscall(): void;
  /** switch_to's per-task state beyond CR3 (PV: the kernel stack pointer Xen keeps, HYPERVISOR_stack_switch). */
  taskSwitch(): void;
  /** The guest zeroed `pfn` to reuse it (shadow: stale shadows of a former table go). */
  pageZeroed(pfn: number): void;
}

/**
 * The cost model: one table of simulated cycles. Every result the lab shows is a count of events
 * (walk references, exits, hypercalls, validated entries …) multiplied by these costs, so a user
 * can change a cost and see exactly which results move. Defaults and their sources:
 *
 *  - DESIGN.md §7 figures: a VM exit round trip is ~1,000–2,000 cycles on Nehalem-era cores and less
 *    on newer ones; a hypercall round trip is of the same order; a native TLB miss whose walk hits
 *    the caches costs tens of cycles, a DRAM miss hundreds.
 *  - Intel 64 and IA-32 Optimization Reference Manual (L1D ~5 cycles, L2 ~14, DRAM ~200+ on
 *    Skylake-class cores).
 *  - Barham et al., "Xen and the Art of Virtualization", SOSP 2003 (lmbench under Xen: page-table
 *    updates validated by Xen; each fault enters Xen twice).
 *  - Bhargava et al., ASPLOS 2008 (2D walks; page-walk caches and nested TLB).
 */
export interface CostTable {
  /** A load or store that hits the TLB (the workload's own memory access). */
  access: number;
  /** One page-walk reference served by the modelled data cache. */
  walkRefCached: number;
  /** One page-walk reference that misses the data cache and goes to DRAM. */
  walkRefMemory: number;
  /** Looking up a paging-structure cache or the nested TLB (hit or miss). */
  walkCacheLookup: number;
  /** A plain store into a page table by the guest kernel (native, HAP, out-of-sync shadow). */
  pteWrite: number;
  /** VM exit plus VM entry, round trip, excluding the handler's own work. */
  vmexit: number;
  /** PV hypercall round trip (syscall into Xen and back), excluding the handler's work. */
  hypercall: number;
  /** A PV exception that enters Xen and is bounced to the guest kernel (the first entry of a PV fault). */
  pvTrapBounce: number;
  /** Xen checking one entry: get_page_from_lNe (owner, counts, type) or put_page_from_lNe. */
  validateEntry: number;
  /** Xen's x86 emulator for one trapped page-table write (decode, fetch, write), beyond the exit. */
  emulateWrite: number;
  /** Shadow code propagating one guest entry into a shadow entry. */
  shadowPropagate: number;
  /** Shadow fault handler's software walk and bookkeeping, beyond the exit. */
  shadowFault: number;
  /** Comparing one entry of an out-of-sync page against its snapshot on resync. */
  shadowResyncEntry: number;
  /** EPT violation handler: p2m lookup and EPT entry installation, beyond the exit. */
  eptViolation: number;
  /**
   * KVM: get_user_pages faulting a page of qemu's guest RAM in (hva_to_pfn's slow path into
   * handle_mm_fault), excluding zeroing the new page (zeroPage per 4 KiB) and the host walk.
   */
  hostPageFault: number;
  /** Exception delivery to a native (or HVM) kernel and the return (iret). */
  faultTrap: number;
  /** The guest kernel's page-fault handler work (find the VMA, allocate, account). */
  faultHandler: number;
  /** A fault the kernel refuses (find the VMA, check the access, raise SIGSEGV): lmbench's prot fault. */
  faultCheck: number;
  /** Per page mapped or unmapped in bulk (fork's copy_page_range, exit's zap): struct page refcount and rmap. */
  pageRef: number;
  /** Zeroing a 4 KiB page (~8 bytes per cycle). */
  zeroPage: number;
  /** Copying a 4 KiB page (copy-on-write). */
  copyPage: number;
  /** A system call's entry and exit in a native kernel. */
  syscall: number;
  /** A guest kernel's context switch work beyond the CR3 write. */
  contextSwitch: number;
  /** Loading CR3 natively (with PCID, no flush). */
  cr3Write: number;
  /** INVLPG executed natively. */
  invlpg: number;
  /** A full (non-global) TLB flush executed natively, excluding the refill misses it causes. */
  tlbFlush: number;
  /** exec(): loading and setting up a new image, excluding its page faults. */
  execBase: number;
  /** fork(): creating the task, excluding copying the page tables. */
  forkBase: number;
  /** EVTCHNOP_send's handler beyond the hypercall entry: the 2-level set_pending and the vCPU kick. */
  evtchnSend: number;
  /** An event's delivery into the guest (the upcall) and its handler's scan and dispatch. */
  upcall: number;
  /** GNTTABOP_map_grant_ref, one op beyond the hypercall entry: pin, page reference, the host PTE. */
  grantMap: number;
  /** GNTTABOP_unmap_grant_ref, one op beyond the entry, including the TLB flush Xen does before returning. */
  grantUnmap: number;
  /** GNTTABOP_copy, one op beyond the entry: both ends pinned, mapped and released, excluding the bytes. */
  grantCopyBase: number;
  /** GNTTABOP_copy: copying 1 KiB. */
  grantCopyPerKiB: number;
  /** Xen writing one 4 KiB entry of a domain's IOMMU (VT-d second-level) table: intel_iommu_map_page. */
  iommuMap: number;
  /** Xen clearing one entry of a domain's IOMMU table (dma_pte_clear_one), excluding the IOTLB flush. */
  iommuUnmap: number;
  /** One IOTLB or context-cache invalidation Xen issues and waits for (register or queued invalidation). */
  iotlbFlush: number;
}

export const DEFAULT_COSTS: Readonly<CostTable> = Object.freeze({
  access: 4, // L1D hit latency, optimization manual
  walkRefCached: 14, // L2 hit latency: PTEs mostly live in L2 (optimization manual)
  walkRefMemory: 200, // DRAM latency (DESIGN.md §7: "a DRAM miss hundreds")
  walkCacheLookup: 1,
  pteWrite: 2,
  vmexit: 1200, // DESIGN.md §7: 1,000–2,000 on Nehalem, less on newer cores
  hypercall: 1000, // DESIGN.md §7: same order as a VM exit
  pvTrapBounce: 800, // a ring transition into Xen and a bounce frame to the guest kernel
  validateEntry: 30, // a few page_info loads and an atomic cmpxchg per reference
  emulateWrite: 1500, // decode + emulated guest access in Xen's x86 emulator
  shadowPropagate: 40,
  shadowFault: 1500, // sh_page_fault's software guest walk + propagation
  shadowResyncEntry: 8, // snapshot compare is a memcmp; changed entries also pay shadowPropagate
  eptViolation: 600, // p2m lookup + ept_set_entry
  // handle_mm_fault's work as faultHandler (find the VMA, allocate, account) plus GUP's slow path
  // (mmap lock, follow_page_mask, the page reference): twice faultHandler, a model estimate.
  hostPageFault: 1000,
  faultTrap: 300, // exception delivery + iret
  faultHandler: 500,
  faultCheck: 300,
  pageRef: 20,
  zeroPage: 512, // 4096 bytes at ~8 bytes/cycle
  copyPage: 1024,
  syscall: 100,
  contextSwitch: 1000,
  cr3Write: 100,
  invlpg: 150,
  tlbFlush: 200,
  execBase: 30000,
  forkBase: 10000,
  evtchnSend: 250, // a channel lock and three locked bit operations in shared_info, then vcpu_kick
  upcall: 1000, // a bounce into the guest's callback (as pvTrapBounce) plus the 2-level scan and irq dispatch
  grantMap: 600, // maptrack handle, active-entry pin, cmpxchg on the shared entry, page refs, the PTE
  grantUnmap: 600, // the reverse bookkeeping (~400) plus a local TLB flush (tlbFlush)
  grantCopyBase: 800, // two acquire_grant_for_copy (pin + page ref) and map_domain_page, then release
  grantCopyPerKiB: 256, // copyPage / 4: 1 KiB read and written at ~8 bytes per cycle
  // IOMMU: no per-operation cycle counts are published for Xen's VT-d paths; estimates from their
  // steps. A map or unmap walks to the leaf through map_domain_page and writes one entry (like a
  // validated PTE write, validateEntry ×10 for the walk and locking). An invalidation writes
  // IOTLB_REG (or queues a descriptor) and spins until the unit reports it done (IOMMU_WAIT_OP):
  // ~1 µs; Ben-Yehuda et al. (OLS 2007, "The Price of Safety") found the invalidations, not the
  // table updates, the bulk of per-DMA mapping cost.
  iommuMap: 300,
  iommuUnmap: 300,
  iotlbFlush: 3000,
});

export const COST_KEYS = Object.keys(DEFAULT_COSTS) as (keyof CostTable)[];

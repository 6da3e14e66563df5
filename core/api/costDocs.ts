/**
 * What each entry of the cost table means and where its default comes from, one line each, for the
 * Scenario view. Taken from the comments in core/machine/cost.ts; where that file gives no source,
 * the entry says it is the model's own estimate rather than inventing one.
 */
import type { CostTable } from '../machine/cost.js';
import { cpuProfile, type CpuProfileId } from '../machine/cpu.js';

export interface CostDoc {
  /** What one unit of this cost is. */
  what: string;
  /** Where the default comes from. */
  source: string;
}

const OPT = 'Intel 64 and IA-32 Optimization Reference Manual';
const FIGURES = 'DESIGN.md §7 figures';
const ESTIMATE = 'model estimate (no cited figure)';

export const COST_DOCS: Record<keyof CostTable, CostDoc> = {
  access: { what: 'A load or store that hits the TLB (the workload’s own memory access).', source: `L1D hit latency, ${OPT}` },
  walkRefCached: {
    what: 'One page-walk reference served by the modelled data cache.',
    source: `L2 hit latency: page-table entries mostly live in L2 (${OPT})`,
  },
  walkRefMemory: {
    what: 'One page-walk reference that misses the data cache and goes to DRAM.',
    source: `DRAM latency: “a DRAM miss hundreds” (${FIGURES}; ${OPT}: ~200+ on Skylake-class cores)`,
  },
  walkCacheLookup: {
    what: 'Looking up a paging-structure cache or the nested TLB (hit or miss).',
    source: `${ESTIMATE}: a small fully associative lookup, about a cycle (structures as in Bhargava et al., ASPLOS 2008)`,
  },
  pteWrite: {
    what: 'A plain store into a page table by the guest kernel (native, HAP, out-of-sync shadow).',
    source: `${ESTIMATE}: an ordinary store that hits the cache`,
  },
  vmexit: {
    what: 'VM exit plus VM entry, round trip, excluding the handler’s own work.',
    source: `${FIGURES}: 1,000–2,000 cycles on Nehalem-era cores, less on newer ones`,
  },
  hypercall: {
    what: 'PV hypercall round trip (syscall into Xen and back), excluding the handler’s work.',
    source: `${FIGURES}: the same order as a VM exit`,
  },
  pvTrapBounce: {
    what: 'A PV exception that enters Xen and is bounced to the guest kernel (the first entry of a PV fault).',
    source: 'a ring transition into Xen and a bounce frame to the guest kernel (Barham et al., SOSP 2003: each PV fault enters Xen twice)',
  },
  validateEntry: {
    what: 'Xen checking one entry: get_page_from_lNe (owner, counts, type) or put_page_from_lNe.',
    source: 'a few page_info loads and an atomic cmpxchg per reference (Barham et al., SOSP 2003: updates validated by Xen)',
  },
  emulateWrite: {
    what: 'Xen’s x86 emulator for one trapped page-table write (decode, fetch, write), beyond the exit.',
    source: 'decode plus an emulated guest access in Xen’s x86 emulator',
  },
  shadowPropagate: { what: 'Shadow code propagating one guest entry into a shadow entry.', source: `${ESTIMATE}: read, check and write of one entry` },
  shadowFault: {
    what: 'Shadow fault handler’s software walk and bookkeeping, beyond the exit.',
    source: 'sh_page_fault’s software guest walk plus propagation',
  },
  shadowResyncEntry: {
    what: 'Comparing one entry of an out-of-sync page against its snapshot on resync.',
    source: 'the snapshot compare is a memcmp; changed entries also pay shadowPropagate',
  },
  eptViolation: {
    what: 'EPT violation handler: p2m lookup and EPT entry installation, beyond the exit.',
    source: 'a p2m lookup plus ept_set_entry',
  },
  hostPageFault: {
    what: 'KVM: get_user_pages faulting a page of qemu’s guest RAM in (handle_mm_fault), excluding zeroing it.',
    source: `${ESTIMATE}: twice faultHandler (the fault’s work plus GUP’s slow path: mmap lock, follow_page_mask, page reference)`,
  },
  faultTrap: { what: 'Exception delivery to a native (or HVM) kernel and the return (iret).', source: 'exception delivery plus iret' },
  faultHandler: {
    what: 'The guest kernel’s page-fault handler work (find the VMA, allocate, account).',
    source: `${ESTIMATE}: a few hundred cycles of kernel bookkeeping`,
  },
  faultCheck: {
    what: 'A fault the kernel refuses: find the VMA, check the access, raise SIGSEGV (lmbench’s prot fault).',
    source: `${ESTIMATE}: the VMA lookup and permission check of a fault, without allocation`,
  },
  pageRef: {
    what: 'Per page mapped or unmapped in bulk (fork’s copy_page_range, exit’s zap): the page’s refcount and rmap.',
    source: `${ESTIMATE}: an atomic increment or decrement and a few loads`,
  },
  zeroPage: { what: 'Zeroing a 4 KiB page.', source: '4096 bytes at ~8 bytes per cycle' },
  copyPage: { what: 'Copying a 4 KiB page (copy-on-write).', source: 'twice zeroPage: each of the 4096 bytes is read and written' },
  syscall: { what: 'A system call’s entry and exit in a native kernel.', source: `${ESTIMATE}: a fast syscall/sysret round trip` },
  contextSwitch: { what: 'A guest kernel’s context switch work beyond the CR3 write.', source: `${ESTIMATE}: scheduler and register state` },
  cr3Write: { what: 'Loading CR3 natively (with PCID, no flush).', source: `${ESTIMATE}: a serializing control-register write` },
  invlpg: { what: 'INVLPG executed natively.', source: `${ESTIMATE}: a single-entry TLB invalidation` },
  tlbFlush: {
    what: 'A full (non-global) TLB flush executed natively, excluding the refill misses it causes.',
    source: `${ESTIMATE}: the flush itself; its cost shows up as later misses`,
  },
  execBase: {
    what: 'exec(): loading and setting up a new image, excluding its page faults.',
    source: `${ESTIMATE}; the page faults exec causes are charged separately`,
  },
  forkBase: {
    what: 'fork(): creating the task, excluding copying the page tables.',
    source: `${ESTIMATE}; copying the page tables is charged separately`,
  },
  evtchnSend: {
    what: 'EVTCHNOP_send beyond the hypercall entry: marking the remote port pending (2-level ABI) and kicking its vCPU.',
    source: `${ESTIMATE}: a channel lock and three locked bit operations in shared_info (xen/common/event_channel.c, event_2l.c)`,
  },
  upcall: {
    what: 'Delivering an event into a guest (its event callback) and the handler’s scan of pending_sel and pending & ~mask, then the irq dispatch.',
    source: `${ESTIMATE}: a bounce into the guest like pvTrapBounce plus a short scan and dispatch`,
  },
  grantMap: {
    what: 'GNTTABOP_map_grant_ref, one op beyond the hypercall entry: maptrack handle, pin, page references and the host mapping.',
    source: `${ESTIMATE}: the steps of map_grant_ref (xen/common/grant_table.c), a few locked operations and a validated PTE write`,
  },
  grantUnmap: {
    what: 'GNTTABOP_unmap_grant_ref, one op beyond the hypercall entry, including the TLB flush Xen does before it returns.',
    source: `${ESTIMATE}: unmap_common’s bookkeeping plus gnttab_flush_tlb (xen/common/grant_table.c)`,
  },
  grantCopyBase: {
    what: 'GNTTABOP_copy, one op beyond the hypercall entry and excluding the bytes: both ends pinned, mapped and released.',
    source: `${ESTIMATE}: two acquire_grant_for_copy and map_domain_page calls (xen/common/grant_table.c)`,
  },
  grantCopyPerKiB: { what: 'GNTTABOP_copy: copying 1 KiB between two frames.', source: 'a quarter of copyPage (4 KiB read and written)' },
  iommuMap: {
    what: 'Xen writing one 4 KiB entry of a domain’s IOMMU (VT-d second-level) table, charged to that domain.',
    source: `${ESTIMATE}: intel_iommu_map_page’s walk to the leaf and one entry write (xen/drivers/passthrough/vtd/iommu.c)`,
  },
  iommuUnmap: {
    what: 'Xen clearing one entry of a domain’s IOMMU table, excluding the IOTLB flush that follows.',
    source: `${ESTIMATE}: dma_pte_clear_one’s walk and entry write (xen/drivers/passthrough/vtd/iommu.c)`,
  },
  iotlbFlush: {
    what: 'One IOTLB or context-cache invalidation Xen issues and waits for.',
    source: `${ESTIMATE}: a register write and IOMMU_WAIT_OP’s poll, ~1 µs; invalidations dominate per-DMA mapping cost (Ben-Yehuda et al., OLS 2007)`,
  },
};

/** Where `key`'s value on CPU profile `cpu` comes from (the profile's own source, else the default's). */
export function costSource(cpu: CpuProfileId | undefined, key: keyof CostTable): string {
  return cpuProfile(cpu).sources[key] ?? COST_DOCS[key].source;
}

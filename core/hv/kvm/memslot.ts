/**
 * KVM memory slots (include/linux/kvm_host.h, struct kvm_memory_slot): a guest-physical range
 * backed by a range of the VMM's (qemu's) own virtual memory. The VMM registers one with the
 * KVM_SET_USER_MEMORY_REGION ioctl (include/uapi/linux/kvm.h, struct
 * kvm_userspace_memory_region {slot, flags, guest_phys_addr, memory_size, userspace_addr}); KVM
 * then translates gfn → hva by arithmetic (__gfn_to_hva_memslot) and hva → pfn through the
 * process's page tables (hva_to_pfn, kvm_main.c). There is no p2m: the host's page tables are it.
 */

/** KVM_MEM_LOG_DIRTY_PAGES (include/uapi/linux/kvm.h). */
export const KVM_MEM_LOG_DIRTY_PAGES = 1 << 0;
/** KVM_MEM_READONLY (include/uapi/linux/kvm.h). */
export const KVM_MEM_READONLY = 1 << 1;
/** Linux's PAGE_SHIFT on x86. */
export const PAGE_SHIFT = 12;

export interface KvmMemorySlot {
  /** The slot number the VMM chose (kvm_userspace_memory_region.slot). */
  readonly id: number;
  readonly baseGfn: number;
  readonly npages: number;
  /** The hva of the slot's first page in the VMM's address space. */
  readonly userspaceAddr: number;
  readonly flags: number;
}

/** search_memslots: the slot that holds `gfn`, or undefined (the gfn is not guest memory: MMIO or a hole). */
export function searchMemslots(slots: readonly KvmMemorySlot[], gfn: number): KvmMemorySlot | undefined {
  for (const s of slots) if (gfn >= s.baseGfn && gfn < s.baseGfn + s.npages) return s;
  return undefined;
}

/** __gfn_to_hva_memslot: userspace_addr + (gfn − base_gfn) × PAGE_SIZE. */
export function gfnToHvaMemslot(slot: KvmMemorySlot, gfn: number): number {
  return slot.userspaceAddr + (gfn - slot.baseGfn) * 2 ** PAGE_SHIFT;
}

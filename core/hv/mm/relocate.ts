/**
 * Moving a domain's memory to other machine frames (C9: "the guest sees real hardware memory
 * addresses in the form of mfns, so Xen can't move pages around, at least not without some form
 * of explicit synchronisation").
 *
 * A translated domain (HVM: shadow or HAP) names its memory by gfn, and only Xen's tables hold the
 * mfn: the p2m, the EPT (or the shadows built from it). So Xen can move a page on its own, as its
 * memory sharing and paging code does with p2m_change_type and guest_physmap_add_page: take a
 * fresh frame, copy the page, point the p2m (and the EPT leaf, splitting a superpage that covers
 * it, as ept_split_super_page does, and the IOMMU's entry for a domain that owns a device) at the
 * new frame, drop every shadow entry that mapped the old one, flush (INVEPT, or the vCPU's TLB;
 * the IOTLB), and free the old frame. The guest sees nothing.
 *
 * A PV domain's own page tables, its p2m and the M2P hold the mfn, and Xen cannot rewrite a
 * guest's data structures: it refuses. Only the guest can move its page (core/vm/relocate.ts).
 *
 * A frame with references beyond the domain's own (a backend's grant mapping, a DMA buffer in
 * flight) is not moved: Xen cannot take a page out from under a mapping it does not own. Nor is any
 * page of a domain that drives a device (passthrough): a device's DMA cannot fault and wait for a
 * page to come back, which is why Xen's paging refuses such a domain.
 *
 * Xen's own page movers (mem_paging, mem_sharing) work on HAP domains only; the lab also moves a
 * shadow guest's pages (dropping the shadow entries that mapped the old frame), its own choice, to
 * show that the guest's not knowing machine frames is what matters.
 */
import { C } from '../../machine/counters.js';
import type { Domain } from '../domain.js';
import type { Hypervisor } from '../hypervisor.js';

export type RelocateOutcome = 'moved' | 'pv' | 'passthrough' | 'in-use' | 'hole' | 'no-memory';

/** What each outcome means, for logs and the toolstack. */
export const RELOCATE_WHY: Record<Exclude<RelocateOutcome, 'moved'>, string> = {
  pv: 'a PV guest holds machine frame numbers in its own page tables and p2m: Xen cannot move its pages without it',
  passthrough:
    'the domain drives a device that DMAs into its memory, and a DMA cannot take a fault: Xen moves none of its pages (xen/arch/x86/mm/mem_paging.c: "No paging if iommu is used", -EMLINK)',
  'in-use': 'the frame has references beyond its owner’s (a grant mapping or DMA in flight)',
  hole: 'no frame behind this gfn',
  'no-memory': 'no free frame to move it to',
};

/**
 * Moves the frame behind `gfn` of translated domain `d` to a fresh one (see the header). Charged to
 * the domain as Xen's work: the copy, the p2m and EPT update, and the shadows' brute-force search.
 */
export function relocateGfn(xen: Hypervisor, d: Domain, gfn: number): RelocateOutcome {
  if (d.config.mode === 'pv') return 'pv';
  if (xen.iommu?.assignments().some((a) => a.domid === d.domid)) return 'passthrough';
  const old = gfn >= 0 && gfn < d.p2m.length ? d.p2m[gfn]! : -1;
  if (old < 0) return 'hole';
  const ft = xen.ft;
  if (ft.owner(old) !== d.domid || ft.count(old) !== 0 || ft.typeCount(old) !== 0) return 'in-use';
  const m = xen.alloc.alloc();
  if (m < 0) return 'no-memory';
  const c = d.counters.c;
  ft.assign(m, d.domid, gfn);
  xen.mem.moveFrame(m, old);
  c[C.CycHv] += xen.costs.copyPage + 2 * xen.costs.pageRef;
  // Shadows first, while the p2m still names the old frame (their writable-mapping counts are by gfn).
  d.shadow?.removeAllMappingsOf(old);
  d.p2m[gfn] = m;
  // The device's view follows (its IOMMU table maps gfns), then the old entry's IOTLB line goes.
  xen.iommu?.p2mChanged(d, gfn, m);
  if (d.hap) {
    d.hap.remapGfn(gfn);
    d.mmu.flushNestedTlb(); // INVEPT: no cached gpa → hpa translation may keep the old frame
  }
  xen.freeStolenPage(old);
  return 'moved';
}

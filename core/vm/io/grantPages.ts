/**
 * Pages a backend's kernel sets aside to map other domains' grants into (Linux's
 * gnttab_alloc_pages / gnttab_free_pages, drivers/xen/grant-table.c): each is named by the address
 * the backend passes as GNTMAP_host_map's host_addr.
 *
 *  PV kernel: a page from the kernel's allocator, ballooned out (alloc_xenballooned_pages): its
 *    direct-map entry is cleared with HYPERVISOR_update_va_mapping (and INVLPG), so the L1 entry
 *    exists and is empty, and host_addr is its direct-map address; Xen writes the grant's entry
 *    there at map time. Its frame goes back to Xen (XENMEM_decrease_reservation) and its p2m entry
 *    is invalid, as the balloon driver leaves a ballooned page. Releasing the pool takes fresh
 *    frames (XENMEM_increase_reservation), maps each back (update_va_mapping, MMU_MACHPHYS_UPDATE)
 *    and returns the pages to the allocator.
 *  Translated kernel (HVM, PVH): a gfn above the domain's RAM, as Linux's unpopulated-alloc.c
 *    gives (ZONE_DEVICE pages over an unused physical range), so the p2m entry is empty and
 *    host_addr is its guest-physical address.
 *
 * Costs: the update_va_mapping is a hypercall, charged as one (hv/hypercall/updateVaMapping.ts);
 * a translated kernel's pool costs nothing (it only picks an address).
 */
import { MMU_MACHPHYS_UPDATE, UVMF_INVLPG } from '../../api/public/xen.js';
import { errnoName } from '../../base/errno.js';
import { PTE_A, PTE_D, PTE_P, PTE_RW, pteHi, pteLo } from '../../machine/pte.js';
import { DIRECTMAP_BASE } from '../../guest/layout.js';
import type { Vm } from '../vm.js';

/** The grant pages of one domain's kernel (its backends share them, as Linux's balloon pages). */
export class GrantPages {
  /** Freed host addresses, reused first. */
  private readonly spare: number[] = [];
  /** Translated: the next gfn above RAM not yet handed out. */
  private nextGfn: number;
  /** Host addresses handed out and not yet freed. */
  private readonly inUse = new Set<number>();

  constructor(private readonly vm: Vm) {
    this.nextGfn = vm.dom.p2m.length;
  }

  private get pv(): boolean {
    return this.vm.mode === 'pv';
  }

  /** gnttab_alloc_pages(1): a host address with nothing mapped at it. */
  alloc(): number {
    let addr = this.spare.pop();
    if (addr === undefined) addr = this.pv ? this.balloonOut() : this.nextGfn++ * 4096;
    this.inUse.add(addr);
    return addr;
  }

  /** gnttab_free_pages: the page goes back (the caller has unmapped its grant). */
  free(addr: number): void {
    if (!this.inUse.delete(addr)) throw new Error(`${this.vm.name}: grant page 0x${addr.toString(16)} is not in use`);
    this.spare.push(addr);
  }

  /** How many pages are handed out now. */
  get used(): number {
    return this.inUse.size;
  }

  /** A kernel page with its direct-map entry cleared and its frame given back to Xen. */
  private balloonOut(): number {
    const vm = this.vm;
    const pfn = vm.kernel.allocPage();
    const va = DIRECTMAP_BASE + pfn * 4096;
    const rc = vm.dom.xen.pvMm.updateVaMapping(vm.dom, va, 0, 0, UVMF_INVLPG);
    if (rc !== 0) throw new Error(`${vm.name}: Xen refused to unmap pfn ${pfn} for a grant page (update_va_mapping: ${errnoName(rc)})`);
    const mfn = vm.dom.p2m[pfn]!;
    if (vm.dom.xen.decreaseReservation(vm.dom, [mfn]) !== 1) throw new Error(`${vm.name}: Xen refused to take back mfn ${mfn} of a grant page (decrease_reservation)`);
    vm.dom.p2m[pfn] = -1;
    return va;
  }

  /**
   * Backs every spare ballooned page with a fresh frame and gives it to the allocator (the kernel
   * stops using grants). No run path calls it yet: a backend's pages stay ballooned out until its
   * domain goes, as they would in a kernel that keeps its grant-page pool.
   */
  release(): void {
    if (this.inUse.size > 0) throw new Error(`${this.vm.name}: ${this.inUse.size} grant page(s) still in use`);
    if (this.pv) {
      const vm = this.vm;
      const xen = vm.dom.xen;
      for (const va of this.spare) {
        const pfn = (va - DIRECTMAP_BASE) / 4096;
        const [mfn] = xen.increaseReservation(vm.dom, 1);
        if (mfn === undefined) throw new Error(`${vm.name}: no frame from Xen to back pfn ${pfn} again (increase_reservation)`);
        vm.dom.p2m[pfn] = mfn;
        const m2p = xen.pvMm.mmuUpdate(vm.dom, [{ ptr: mfn, cmd: MMU_MACHPHYS_UPDATE, lo: 0, hi: 0, pfn }]);
        if (m2p.rc !== 0) throw new Error(`${vm.name}: MMU_MACHPHYS_UPDATE of mfn ${mfn} failed (${errnoName(m2p.rc)})`);
        const flags = PTE_P | PTE_RW | PTE_A | PTE_D;
        const rc = xen.pvMm.updateVaMapping(vm.dom, va, pteLo(mfn, flags), pteHi(mfn, flags), UVMF_INVLPG);
        if (rc !== 0) throw new Error(`${vm.name}: Xen refused to map pfn ${pfn} back (update_va_mapping: ${errnoName(rc)})`);
        vm.kernel.freePage(pfn);
      }
    }
    this.spare.length = 0;
  }
}

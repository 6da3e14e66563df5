/**
 * Pages a backend's kernel sets aside to map other domains' grants into (Linux's
 * gnttab_alloc_pages / gnttab_free_pages, drivers/xen/grant-table.c): each is named by the address
 * the backend passes as GNTMAP_host_map's host_addr.
 *
 *  PV kernel: a page from the kernel's allocator, ballooned out (alloc_xenballooned_pages): its
 *    direct-map entry is cleared with HYPERVISOR_update_va_mapping (and INVLPG), so the L1 entry
 *    exists and is empty, and host_addr is its direct-map address; Xen writes the grant's entry
 *    there at map time. Departure: Linux also hands the frame back to Xen
 *    (XENMEM_decrease_reservation); the lab keeps it with the domain, unmapped, since the lab has
 *    no balloon driver yet. Freeing the page maps its frame back and returns it to the allocator.
 *  Translated kernel (HVM, PVH): a gfn above the domain's RAM, as Linux's unpopulated-alloc.c
 *    gives (ZONE_DEVICE pages over an unused physical range), so the p2m entry is empty and
 *    host_addr is its guest-physical address.
 *
 * Costs: the update_va_mapping is a hypercall, charged as one (hv/hypercall/updateVaMapping.ts);
 * a translated kernel's pool costs nothing (it only picks an address).
 */
import { UVMF_INVLPG } from '../../api/public/xen.js';
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

  /** A kernel page with its direct-map entry cleared (decrease_reservation's first half). */
  private balloonOut(): number {
    const vm = this.vm;
    const pfn = vm.kernel.allocPage();
    const va = DIRECTMAP_BASE + pfn * 4096;
    const rc = vm.dom.xen.pvMm.updateVaMapping(vm.dom, va, 0, 0, UVMF_INVLPG);
    if (rc !== 0) throw new Error(`${vm.name}: Xen refused to unmap pfn ${pfn} for a grant page (update_va_mapping: ${errnoName(rc)})`);
    return va;
  }

  /** Maps every ballooned page's own frame back and gives it to the allocator (the kernel stops using grants). */
  release(): void {
    if (this.inUse.size > 0) throw new Error(`${this.vm.name}: ${this.inUse.size} grant page(s) still in use`);
    if (this.pv) {
      const vm = this.vm;
      for (const va of this.spare) {
        const pfn = (va - DIRECTMAP_BASE) / 4096;
        const mfn = vm.dom.p2m[pfn]!;
        const flags = PTE_P | PTE_RW | PTE_A | PTE_D;
        const rc = vm.dom.xen.pvMm.updateVaMapping(vm.dom, va, pteLo(mfn, flags), pteHi(mfn, flags), UVMF_INVLPG);
        if (rc !== 0) throw new Error(`${vm.name}: Xen refused to map pfn ${pfn} back (update_va_mapping: ${errnoName(rc)})`);
        vm.kernel.freePage(pfn);
      }
    }
    this.spare.length = 0;
  }
}

/**
 * Page flipping for a PV kernel's network drivers (PageFlipOps, core/guest/io/env.ts), through the
 * hypervisor's real hypercalls: update_va_mapping on the kernel's direct map (the page-type and
 * reference counting of mm.c), mmu_update's MMU_MACHPHYS_UPDATE, XENMEM_increase/
 * decrease_reservation and GNTTABOP_transfer, batched in one multicall per call as Linux
 * 2.6.18-xen's netback (net_rx_action) and netfront (network_alloc_rx_buffers, netif_poll) did.
 */
import { MMU_MACHPHYS_UPDATE, UVMF_NONE, UVMF_TLB_FLUSH, type MmuUpdateReq } from '../../api/public/xen.js';
import { GNTST_bad_page, GNTST_general_error } from '../../api/public/grant_table.js';
import type { PageFlipOps } from '../../guest/io/env.js';
import { DIRECTMAP_BASE } from '../../guest/layout.js';
import type { Domain } from '../../hv/domain.js';
import { hypercallEnter } from '../../hv/hypercall/entry.js';
import type { Hypervisor } from '../../hv/hypervisor.js';
import { Hc } from '../../machine/counters.js';
import { PTE_A, PTE_D, PTE_P, PTE_RW, pteHi, pteLo } from '../../machine/pte.js';

/** Frames netback asks Xen for at once when its spare ones run out (MAX_MFN_ALLOC, netback.c). */
export const NETBACK_MFN_ALLOC = 64;

const DIRECT_MAP_FLAGS = PTE_P | PTE_RW | PTE_A | PTE_D;

function directMapVa(pfn: number): number {
  return DIRECTMAP_BASE + pfn * 4096;
}

/** The flip operations of PV domain `d`'s kernel. */
export function pvPageFlip(xen: Hypervisor, d: Domain): PageFlipOps {
  const pv = xen.pvMm;
  const p2m = d.p2m;
  /** Fresh frames from increase_reservation not yet behind a page (netback's mfn_list). */
  const spare: number[] = [];
  const fail = (what: string, rc: number) => {
    throw new Error(`d${d.domid} page flip: ${what} failed (${rc})`);
  };
  const multicall = () => hypercallEnter(d, xen.costs, Hc.Multicall, false);
  /** Points `pfn` at `mfn`: the direct-map entry (flushing the TLB when asked), the p2m, the m2p request. */
  const remap = (pfn: number, mfn: number, flush: boolean, m2p: MmuUpdateReq[]) => {
    const lo = pteLo(mfn, DIRECT_MAP_FLAGS);
    const hi = pteHi(mfn, DIRECT_MAP_FLAGS);
    const rc = pv.updateVaMapping(d, directMapVa(pfn), lo, hi, flush ? UVMF_TLB_FLUSH : UVMF_NONE, true);
    if (rc !== 0) fail(`update_va_mapping of pfn ${pfn}`, rc);
    p2m[pfn] = mfn;
    m2p.push({ ptr: mfn, cmd: MMU_MACHPHYS_UPDATE, lo: 0, hi: 0, pfn });
  };
  return {
    giveAway(pfns) {
      const backed = pfns.filter((pfn) => p2m[pfn]! >= 0);
      if (backed.length === 0) return 0;
      multicall();
      const mfns: number[] = [];
      backed.forEach((pfn, i) => {
        // The last update flushes the TLB (UVMF_TLB_FLUSH|UVMF_ALL in netfront): no stale entry may reach a frame given away.
        const rc = pv.updateVaMapping(d, directMapVa(pfn), 0, 0, i === backed.length - 1 ? UVMF_TLB_FLUSH : UVMF_NONE, true);
        if (rc !== 0) fail(`update_va_mapping (unmap) of pfn ${pfn}`, rc);
        mfns.push(p2m[pfn]!);
        p2m[pfn] = -1;
      });
      const done = xen.decreaseReservation(d, mfns, true);
      if (done !== mfns.length) fail('XENMEM_decrease_reservation', done);
      return done;
    },
    adopt(pages) {
      if (pages.length === 0) return;
      multicall();
      const m2p: MmuUpdateReq[] = [];
      // The entries were not present: nothing stale can be in a TLB, so no flush.
      for (const { pfn, mfn } of pages) remap(pfn, mfn, false, m2p);
      const r = pv.mmuUpdate(d, m2p, m2p.length, true);
      if (r.rc !== 0) fail('mmu_update (MMU_MACHPHYS_UPDATE)', r.rc);
    },
    transfer(ops) {
      if (ops.length === 0) return [];
      // alloc_mfn: fresh frames, NETBACK_MFN_ALLOC at a time, by a memory_op of its own.
      while (spare.length < ops.length) {
        const got = xen.increaseReservation(d, Math.max(NETBACK_MFN_ALLOC, ops.length - spare.length));
        if (got.length === 0) break;
        spare.push(...got);
      }
      const n = Math.min(ops.length, spare.length);
      const out: number[] = new Array<number>(ops.length).fill(GNTST_general_error);
      if (n === 0) return out;
      multicall();
      const m2p: MmuUpdateReq[] = [];
      const gops: { mfn: number; domid: number; ref: number }[] = [];
      for (let i = 0; i < n; i++) {
        const { pfn, domid, ref } = ops[i]!;
        const old = p2m[pfn]!;
        remap(pfn, spare.pop()!, i === n - 1, m2p);
        gops.push({ mfn: old, domid, ref });
      }
      const r = pv.mmuUpdate(d, m2p, m2p.length, true);
      if (r.rc !== 0) fail('mmu_update (MMU_MACHPHYS_UPDATE)', r.rc);
      xen.gnttab.transfer(d.domid, gops, true).forEach((rc, i) => (out[i] = rc));
      // A frame Xen would not take (GNTST_bad_page: still referenced) is still ours: the page
      // points at it again and the fresh frame goes back to the spares, so neither leaks. (Any
      // other failure means Xen freed the old frame: the page keeps the fresh one.)
      const back: MmuUpdateReq[] = [];
      out.forEach((rc, i) => {
        if (rc !== GNTST_bad_page) return;
        const pfn = ops[i]!.pfn;
        const fresh = p2m[pfn]!;
        remap(pfn, gops[i]!.mfn, false, back);
        spare.push(fresh);
      });
      if (back.length > 0) {
        const rb = pv.mmuUpdate(d, back, back.length, true);
        if (rb.rc !== 0) fail('mmu_update (MMU_MACHPHYS_UPDATE)', rb.rc);
      }
      return out;
    },
  };
}

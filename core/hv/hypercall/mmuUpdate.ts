/**
 * HYPERVISOR_mmu_update (Xen's do_mmu_update, xen/arch/x86/mm.c): batched writes of page-table
 * entries, each validated against the frame's type (mod_lN_entry), and m2p updates.
 */
import { EINVAL, ENOSYS } from '../../base/errno.js';
import { Hc } from '../../machine/counters.js';
import { PGT_l1_page_table, PGT_l4_page_table, PGT_writable_page } from '../mm/frameTable.js';
import type { PageTypes, PvDomain } from '../mm/pageType.js';
import { MMU_MACHPHYS_UPDATE, MMU_NORMAL_PT_UPDATE, type MmuUpdateReq } from '../../api/public/xen.js';
import { hypercallEnter } from './entry.js';

/**
 * do_mmu_update: apply requests in order; stop at the first failure. Returns the rc and how many
 * requests succeeded (Xen's success_count). `inMulticall` skips the entry cost.
 */
export function doMmuUpdate(
  mm: PageTypes,
  d: PvDomain,
  reqs: readonly MmuUpdateReq[],
  n = reqs.length,
  inMulticall = false,
): { rc: number; done: number } {
  hypercallEnter(d, mm.costs, Hc.MmuUpdate, inMulticall);
  for (let k = 0; k < n; k++) {
    const r = reqs[k]!;
    const rc = mmuUpdateOne(mm, d, r);
    if (rc !== 0) {
      mm.flushLinear(d);
      return { rc, done: k };
    }
  }
  mm.flushLinear(d);
  return { rc: 0, done: n };
}

function mmuUpdateOne(mm: PageTypes, d: PvDomain, r: MmuUpdateReq): number {
  if (r.cmd === MMU_MACHPHYS_UPDATE) {
    const mfn = r.ptr;
    if (mfn < 0 || mfn >= mm.ft.nrFrames || mm.ft.owner(mfn) !== d.domid) return EINVAL;
    mm.ft.setM2p(mfn, r.pfn ?? -1);
    return 0;
  }
  if (r.cmd !== MMU_NORMAL_PT_UPDATE) return ENOSYS;
  if (r.ptr % 8 !== 0) return EINVAL;
  const table = Math.floor(r.ptr / 4096);
  const index = (r.ptr % 4096) / 8;
  if (!mm.getPage(table, d)) return EINVAL; // the table frame must be the domain's own
  let rc: number;
  const ft = mm.ft;
  const t = ft.type(table);
  if (t >= PGT_l1_page_table && t <= PGT_l4_page_table && ft.typeCount(table) > 0) {
    rc = mm.modEntry(table, index, r.lo, r.hi, d);
  } else {
    // Not a table: a plain write, allowed if the guest could map the frame writable anyway.
    rc = mm.getPageType(table, PGT_writable_page, d);
    if (rc === 0) {
      mm.mem.write(table, index, r.lo, r.hi);
      mm.putPageType(table, d);
    }
  }
  mm.putPage(table);
  return rc;
}

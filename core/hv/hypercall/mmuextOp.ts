/**
 * HYPERVISOR_mmuext_op (Xen's do_mmuext_op, xen/arch/x86/mm.c): pinning and unpinning page
 * tables, switching the base pointer, and TLB flushes.
 */
import { EINVAL, ENOSYS, EPERM } from '../../base/errno.js';
import { C, Hc } from '../../machine/counters.js';
import { PGT_l4_page_table, PGT_pinned, type PageType } from '../mm/frameTable.js';
import type { PageTypes, PvDomain } from '../mm/pageType.js';
import { MmuextCmd } from '../../api/public/xen.js';
import { hypercallEnter } from './entry.js';

/** do_mmuext_op, one operation. */
export function doMmuextOp(mm: PageTypes, d: PvDomain, cmd: MmuextCmd, arg: number, inMulticall = false): number {
  hypercallEnter(d, mm.costs, Hc.MmuextOp, inMulticall);
  const ft = mm.ft;
  switch (cmd) {
    case MmuextCmd.PIN_L1_TABLE:
    case MmuextCmd.PIN_L2_TABLE:
    case MmuextCmd.PIN_L3_TABLE:
    case MmuextCmd.PIN_L4_TABLE: {
      const mfn = arg;
      const type = (cmd - MmuextCmd.PIN_L1_TABLE + 1) as PageType;
      if (mfn < 0 || mfn >= ft.nrFrames) return EINVAL;
      if (ft.owner(mfn) !== d.domid) return EPERM;
      if (ft.flags(mfn) & PGT_pinned) return EINVAL; // "mfn already pinned"
      const rc = mm.getPageAndType(mfn, type, d);
      if (rc !== 0) return rc;
      ft.setFlags(mfn, ft.flags(mfn) | PGT_pinned);
      return 0;
    }
    case MmuextCmd.UNPIN_TABLE: {
      const mfn = arg;
      if (mfn < 0 || mfn >= ft.nrFrames || ft.owner(mfn) !== d.domid) return EINVAL;
      if (!(ft.flags(mfn) & PGT_pinned)) return EINVAL; // "mfn not pinned"
      ft.setFlags(mfn, ft.flags(mfn) & ~PGT_pinned);
      mm.putPageAndType(mfn, d);
      return 0;
    }
    case MmuextCmd.NEW_BASEPTR: {
      const mfn = arg;
      if (mfn === d.guestCr3) return 0;
      const rc = mm.getPageAndType(mfn, PGT_l4_page_table, d);
      if (rc !== 0) return rc;
      const old = d.guestCr3;
      d.guestCr3 = mfn;
      if (old >= 0) mm.putPageAndType(old, d);
      d.flushTlb();
      return 0;
    }
    case MmuextCmd.TLB_FLUSH_LOCAL:
    case MmuextCmd.TLB_FLUSH_MULTI:
    case MmuextCmd.TLB_FLUSH_ALL:
      d.counters.c[C.TlbFlushes]++;
      d.flushTlb();
      return 0;
    case MmuextCmd.INVLPG_LOCAL:
    case MmuextCmd.INVLPG_MULTI:
    case MmuextCmd.INVLPG_ALL:
      d.counters.c[C.Invlpgs]++;
      d.invlpg(arg);
      return 0;
    default:
      return ENOSYS;
  }
}

/**
 * PV memory management as the rest of the hypervisor uses it: the page-type machinery
 * (pageType.ts, Xen's mm.c core) with the hypercalls that drive it (hv/hypercall/). One object
 * per hypervisor, so a caller holds `xen.pvMm` and calls `pvMm.mmuUpdate(d, ...)`.
 */
import type { MmuextCmd, MmuUpdateReq } from '../../api/public/xen.js';
import { doMmuextOp } from '../hypercall/mmuextOp.js';
import { doMmuUpdate } from '../hypercall/mmuUpdate.js';
import { doUpdateVaMapping, guestMapL1e } from '../hypercall/updateVaMapping.js';
import { PageTypes, type PvDomain } from './pageType.js';

export class PvMm extends PageTypes {
  /** HYPERVISOR_mmu_update (hypercall/mmuUpdate.ts). */
  mmuUpdate(d: PvDomain, reqs: readonly MmuUpdateReq[], n = reqs.length, inMulticall = false): { rc: number; done: number } {
    return doMmuUpdate(this, d, reqs, n, inMulticall);
  }

  /** HYPERVISOR_mmuext_op, one operation (hypercall/mmuextOp.ts). */
  mmuextOp(d: PvDomain, cmd: MmuextCmd, arg: number, inMulticall = false): number {
    return doMmuextOp(this, d, cmd, arg, inMulticall);
  }

  /** HYPERVISOR_update_va_mapping (hypercall/updateVaMapping.ts). */
  updateVaMapping(d: PvDomain, va: number, lo: number, hi: number, flags: number, inMulticall = false): number {
    return doUpdateVaMapping(this, d, va, lo, hi, flags, inMulticall);
  }

  /** Machine frame of the L1 table mapping `va` under root `l4`, or -1. */
  findL1(l4: number, va: number): number {
    return guestMapL1e(this.mem, l4, va);
  }
}

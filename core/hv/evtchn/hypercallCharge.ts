/**
 * Entering Xen for an I/O hypercall (event_channel_op, grant_table_op), charged to the caller: a
 * PV domain pays the hypercall round trip (hypercallEnter: `costs.hypercall`, counted by op); an
 * HVM domain reaches Xen with VMCALL, a VM exit (`costs.vmexit`, reason VMCALL, and the TLB flush
 * an exit costs without VPID), counted as a hypercall by op too.
 */
import { C, Vx, type Hc } from '../../machine/counters.js';
import type { CostTable } from '../../machine/cost.js';
import type { Domain } from '../domain.js';
import { hypercallEnter } from '../hypercall/entry.js';

/** True for a domain whose memory Xen translates (shadow or HAP): gfns, not mfns, in its grants. */
export function isTranslated(d: Domain): boolean {
  return d.mode === 'shadow' || d.mode === 'hap';
}

export function chargeHypercall(d: Domain, costs: CostTable, op: Hc, inMulticall = false): void {
  if (inMulticall) {
    // Inside a multicall: counted by op; the multicall paid the one entry into Xen.
    d.counters.hypercalls[op]++;
    return;
  }
  if (!isTranslated(d)) {
    hypercallEnter(d, costs, op, false);
    return;
  }
  const counters = d.counters;
  counters.c[C.VmExits]++;
  counters.vmexits[Vx.Vmcall]++;
  counters.c[C.Hypercalls]++;
  counters.hypercalls[op]++;
  counters.c[C.CycHv] += costs.vmexit;
  d.vmTransition();
}

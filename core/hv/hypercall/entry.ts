/**
 * Entering Xen for a hypercall: one trap and its cost, counted by op. A call issued inside a
 * multicall is counted by op only: the multicall paid for the single entry into Xen.
 */
import { C, type Hc } from '../../machine/counters.js';
import type { CostTable } from '../../machine/cost.js';
import type { PvDomain } from '../mm/pageType.js';

export function hypercallEnter(d: PvDomain, costs: CostTable, op: Hc, inMulticall: boolean): void {
  if (!inMulticall) {
    d.counters.c[C.Hypercalls]++;
    d.counters.hypercalls[op]++;
    d.counters.c[C.CycHv] += costs.hypercall;
  } else d.counters.hypercalls[op]++;
}

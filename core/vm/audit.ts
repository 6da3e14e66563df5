/**
 * The whole machine's audit: the hypervisor's invariants (hv/audit.ts) and, after each domain's
 * findings, its guest kernel's page reference counts recounted from its own page tables.
 */
import type { AuditResult } from '../api/results.js';
import { audit as auditHypervisor, Auditor, type GuestAudit } from '../hv/audit.js';
import type { Hypervisor } from '../hv/hypervisor.js';
import type { Vm } from './vm.js';

export function auditMachine(xen: Hypervisor, vms: readonly Vm[]): AuditResult {
  return auditHypervisor(xen, guestAudit(vms));
}

/** An incremental auditor (for fuzzing) over the machine, guest kernels included. */
export function machineAuditor(xen: Hypervisor, vms: readonly Vm[], fullEvery?: number): Auditor {
  return new Auditor(xen, guestAudit(vms), fullEvery);
}

function guestAudit(vms: readonly Vm[]): GuestAudit {
  return (d, out) => {
    const vm = vms.find((v) => v.dom === d);
    // A hypercalls script bypasses the guest kernel's bookkeeping on purpose; Xen's invariants
    // are what isolation rests on, and they are checked in full.
    if (vm && vm.config.workload.kind !== 'hypercalls') auditKernel(vm, out);
  };
}

function auditKernel(vm: Vm, out: string[]): void {
  const k = vm.kernel;
  const counts = k.recountMapcounts();
  let reported = 0;
  for (let p = 0; p < counts.length && reported < 20; p++) {
    if (counts[p] !== k.mapcount[p]) {
      out.push(`${vm.name}: pfn ${p} has mapcount ${k.mapcount[p]} but ${counts[p]} mappings`);
      reported++;
    }
  }
}

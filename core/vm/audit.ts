/**
 * The whole machine's audit: the hypervisor's invariants (hv/audit.ts) and, beside them, each
 * guest kernel's page reference counts recounted from its own page tables.
 */
import type { AuditResult } from '../api/results.js';
import { audit as auditHypervisor } from '../hv/audit.js';
import type { Hypervisor } from '../hv/hypervisor.js';
import type { Vm } from './vm.js';

export function auditMachine(xen: Hypervisor, vms: readonly Vm[]): AuditResult {
  const r = auditHypervisor(xen);
  const violations = [...r.violations];
  for (const vm of vms) {
    // A hypercalls script bypasses the guest kernel's bookkeeping on purpose; Xen's invariants
    // are what isolation rests on, and they are checked in full.
    if (vm.config.workload.kind !== 'hypercalls') auditKernel(vm, violations);
  }
  return { ok: violations.length === 0, violations: violations.slice(0, 200), checked: r.checked };
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

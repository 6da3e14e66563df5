/**
 * The machine the audit tests corrupt: a PV dom0 and one guest g1 (64 MiB, in `mode`) running a
 * process with a 64-page mapping not yet touched.
 */
import { validateScenario } from '../../core/api/index.js';
import { Hypervisor } from '../../core/hv/hypervisor.js';
import { costsOf, mmuConfigOf } from '../../core/sim/run.js';
import { buildDomain } from '../../core/vm/builder.js';

export function auditMachineWithGuest(mode: 'pv' | 'shadow' | 'hap') {
  const v = validateScenario({ name: 'audit', machine: { memoryMiB: 1024, pcpus: 1 }, hypervisor: 'xen', domains: [{ name: 'g1', mode, memoryMiB: 64, vcpus: 1 }] });
  if (!v.ok) throw new Error('invalid');
  const xen = new Hypervisor(v.scenario, costsOf(v.scenario), mmuConfigOf(v.scenario));
  const dom0 = buildDomain(xen, { ...v.scenario.domains[0], name: 'Domain-0', role: 'dom0', mode: 'pv' });
  const d = buildDomain(xen, v.scenario.domains[0]);
  xen.contextSwitch(d.dom);
  const p = d.kernel.spawn('t');
  d.kernel.switchTo(p);
  const vma = d.kernel.mmap(p.mm, 64 * 4096);
  return { xen, dom0, d, vma };
}

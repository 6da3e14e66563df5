/**
 * A small Xen machine for the event-channel and grant-table tests: dom0 (PV, privileged) and two
 * guests whose modes the test picks, each with its memory populated but no kernel built (the I/O
 * paths need domains and their frames, not a running guest).
 */
import { validateScenario, type DomainConfig } from '../../core/api/index.js';
import { Hypervisor } from '../../core/hv/hypervisor.js';
import type { Domain } from '../../core/hv/domain.js';
import { costsOf, mmuConfigOf } from '../../core/sim/run.js';

export interface IoMachine {
  xen: Hypervisor;
  dom0: Domain;
  a: Domain;
  b: Domain;
}

export function ioMachine(modeA: 'pv' | 'hap' = 'pv', modeB: 'pv' | 'hap' = 'pv', cpu?: 'p4-2003' | 'modern'): IoMachine {
  const v = validateScenario({
    name: 'io',
    machine: { memoryMiB: 512, pcpus: 1, ...(cpu ? { cpu } : {}) },
    hypervisor: 'xen',
    domains: [
      { name: 'dom0', role: 'dom0', mode: 'pv', memoryMiB: 32, vcpus: 1 },
      { name: 'a', mode: modeA, memoryMiB: 16, vcpus: 1 },
      { name: 'b', mode: modeB, memoryMiB: 16, vcpus: 1 },
    ],
  });
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  const xen = new Hypervisor(v.scenario, costsOf(v.scenario), mmuConfigOf(v.scenario));
  const make = (c: DomainConfig) => {
    const d = xen.createDomain(c);
    xen.populatePhysmap(d, 0);
    return d;
  };
  const [dom0, a, b] = v.scenario.domains.map(make) as [Domain, Domain, Domain];
  return { xen, dom0, a, b };
}

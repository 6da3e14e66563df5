import { describe, expect, it } from 'vitest';
import { validateScenario, type Scenario } from '../../core/api/scenario.js';
import { runScenario } from '../../core/sim/run.js';

function scenario(over: { workload?: unknown; timeline?: unknown[]; pcpus?: number } = {}): Scenario {
  const v = validateScenario({
    name: 'net',
    machine: { memoryMiB: 2048, pcpus: over.pcpus ?? 2, devices: [{ id: 'nic0', kind: 'nic' }] },
    hypervisor: 'xen',
    domains: [
      { name: 'netdd', mode: 'pv', memoryMiB: 128, vcpus: 1, pci: ['nic0'] },
      { name: 'guest', mode: 'pv', memoryMiB: 256, vcpus: 1, vifs: [{ backend: 'netdd', device: 'nic0' }], workload: over.workload ?? { kind: 'net-stream', bytes: 1500 * 2000 } },
    ],
    timeline: over.timeline ?? [],
  });
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return v.scenario;
}

describe('try', () => {
  it('rx', () => {
    const r = runScenario(scenario());
    console.log(JSON.stringify(r.domains.map((d) => [d.name, d.ops, (d as any).io]), null, 1));
    console.log(JSON.stringify((r as any).timeline), JSON.stringify((r as any).devices));
  });
});

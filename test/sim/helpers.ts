import { validateScenario, type Results, type DomainResults } from '../../core/api/index.js';
import { runScenario } from '../../core/sim/run.js';

export type Mode = 'native' | 'pv' | 'shadow' | 'hap';

/** A one-guest scenario (bare metal for native, Xen otherwise), validated. */
export function oneGuest(mode: Mode, workload: Record<string, unknown>, extra: Record<string, unknown> = {}, machineMiB = 2048) {
  const input = {
    name: `test-${mode}`,
    machine: { memoryMiB: machineMiB, pcpus: 1 },
    hypervisor: mode === 'native' ? 'none' : 'xen',
    domains: [{ name: 'g1', mode, memoryMiB: 512, vcpus: 1, guestPageSize: '4k', hostPageSize: '4k', workload, ...extra }],
  };
  const v = validateScenario(input);
  if (!v.ok) throw new Error(v.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return v.scenario;
}

export function run(mode: Mode, workload: Record<string, unknown>, extra: Record<string, unknown> = {}, machineMiB = 2048): { r: Results; g: DomainResults } {
  const r = runScenario(oneGuest(mode, workload, extra, machineMiB));
  const g = r.domains.find((d) => d.name === 'g1')!;
  return { r, g };
}

export function perOp(g: DomainResults, counter: string): number {
  return (g.counters[counter] ?? 0) / g.ops;
}

import { it } from 'vitest';
import { validateScenario } from '../../core/api/index.js';
import { Simulation } from '../../core/sim/simulation.js';
import { C } from '../../core/machine/counters.js';
it('dbg', () => {
  const v = validateScenario({
    name: 'mig', machine: { memoryMiB: 1024, pcpus: 1 }, hypervisor: 'xen',
    domains: [{ name: 'g', mode: 'hap', memoryMiB: 32, vcpus: 1, cap: 2, workload: { kind: 'random-access', workingSetMiB: 4, accesses: 100_000_000 } }],
    migrationTarget: { memoryMiB: 1024, pcpus: 1, linkMbps: 100 },
  });
  if (!v.ok) throw new Error('x');
  const s = new Simulation(v.scenario);
  const g = s.domains.find((d) => d.name === 'g')!;
  let last = 0;
  let n = 0;
  let m: any = null;
  while (s.step(1) && n++ < 200000) {
    if (!m && s.elapsedMs > 2) { m = s.migrate(g).migration; console.log('start', s.elapsedMs); }
    if (s.elapsedMs > last + 200) { last = s.elapsedMs; console.log(s.elapsedMs.toFixed(0), g.counters.c[C.Ops], g.state, m?.phase, s.migrationLog.length, g.counters.c[C.PfHidden], s.jobs.map(j=>[j.d.name,j.done,j.blocked])); }
    if (s.elapsedMs > 3000) break;
  }
});

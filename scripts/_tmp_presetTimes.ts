import { PRESETS } from '../core/api/presets.js';
import { validateScenario } from '../core/api/scenario.js';
import { Simulation } from '../core/sim/simulation.js';
for (const p of PRESETS) {
  const v = validateScenario(p.scenario); if (!v.ok) throw new Error('bad');
  const t0 = performance.now();
  const sim = new Simulation(v.scenario);
  const c0 = sim.cycles;
  let steps = 0;
  while (sim.step(1)) steps++;
  const r = sim.results();
  console.log(p.id, 'bootCycles', c0, 'endCycles', sim.cycles, 'simMs', ((sim.cycles - c0)/3e6).toFixed(3), 'rounds', steps, 'wall', (performance.now()-t0).toFixed(0));
}

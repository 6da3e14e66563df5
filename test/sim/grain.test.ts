/**
 * Pausing inside a slice (PART, for a paced run in the GUI) changes no result: the jobs still take
 * turns at the same points, and a slice's operations run in the same order whatever its pieces.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateScenario, type Scenario } from '../../core/api/scenario.js';
import { PRESETS } from '../../core/api/presets.js';
import { Simulation } from '../../core/sim/simulation.js';

function load(file: string): Scenario {
  const v = validateScenario(JSON.parse(readFileSync(file, 'utf8')));
  if (!v.ok) throw new Error(`${file}: ${v.problems[0]!.message}`);
  return v.scenario;
}

function runToEnd(s: Scenario, setup: (sim: Simulation) => void): { results: string; steps: number } {
  const sim = new Simulation(s);
  setup(sim);
  let steps = 0;
  while (sim.step(1)) steps++;
  const r = sim.results(0);
  return { results: JSON.stringify(r), steps };
}

const dir = 'examples';
const files = [
  ...readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => join(dir, f)),
  ...readdirSync(join(dir, 'attacks')).filter((f) => f.endsWith('.json')).map((f) => join(dir, 'attacks', f)),
];

describe('the grain of a run changes no result', () => {
  // Small grains make many more steps; a few examples cover every kind of loop.
  const fine = ['examples/random-access.json', 'examples/update-vs-access.json', 'examples/lmbench.json', 'examples/walk-4k.json', 'examples/attacks/double-pin.json'];
  for (const f of fine) {
    it(`${f}: pieces of 7 operations give the same results as whole slices`, () => {
      const whole = runToEnd(load(f), () => {});
      const pieces = runToEnd(load(f), (sim) => sim.setGrain(7));
      expect(pieces.results).toBe(whole.results);
      expect(pieces.steps).toBeGreaterThanOrEqual(whole.steps);
    });
  }
  for (const f of files) {
    it(`${f}: ~100 pieces per job's planned work give the same results`, () => {
      const whole = runToEnd(load(f), () => {});
      const planned = runToEnd(load(f), (sim) => sim.setGrainByPlan(100));
      expect(planned.results).toBe(whole.results);
    });
  }
  for (const p of PRESETS) {
    it(`preset ${p.id}: ~100 pieces per job give the same results, and at least 50 steps`, () => {
      const v = validateScenario(p.scenario);
      if (!v.ok) throw new Error(p.id);
      const whole = runToEnd(v.scenario, () => {});
      const planned = runToEnd(v.scenario, (sim) => sim.setGrainByPlan(100));
      expect(planned.results).toBe(whole.results);
      expect(planned.steps).toBeGreaterThanOrEqual(50);
    });
  }
});

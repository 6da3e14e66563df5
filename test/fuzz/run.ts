/**
 * Long fuzzing campaigns: npm run fuzz -- --steps N [--seed S] [--mode pv|shadow|hap|all]
 * Runs random step sequences with the auditor after every step until N steps have run, reports
 * steps per second, and on a failure prints the shrunk counterexample (for PV, as an attack-lab
 * scenario you can save and run with `lab run`).
 */
import fc from 'fast-check';
import { kernelOpArb, pvScenario, runKernelOps, runPvSteps, stepArb } from './harness.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

const target = Number(arg('--steps', '100000'));
const seed = Number(arg('--seed', String(Date.now() % 1e9)));
const mode = arg('--mode', 'all');
if (!Number.isInteger(target) || target <= 0 || !Number.isInteger(seed) || !['pv', 'shadow', 'hap', 'all'].includes(mode)) {
  console.error('usage: npm run fuzz -- --steps N [--seed S] [--mode pv|shadow|hap|all]');
  process.exit(2);
}

const modes = (mode === 'all' ? ['pv', 'shadow', 'hap'] : [mode]) as ('pv' | 'shadow' | 'hap')[];
let steps = 0;
let round = 0;
const t0 = performance.now();
let lastReport = t0;
while (steps < target) {
  for (const m of modes) {
    const s = seed + round++;
    const result =
      m === 'pv'
        ? fc.check(fc.property(fc.array(stepArb, { minLength: 1, maxLength: 40 }), (xs) => void (steps += runPvSteps(xs))), { numRuns: 50, seed: s })
        : fc.check(fc.property(fc.array(kernelOpArb, { minLength: 1, maxLength: 60 }), fc.boolean(), (ops, oos) => void (steps += runKernelOps(m, ops, oos))), { numRuns: 20, seed: s });
    if (result.failed) {
      console.error(`counterexample (mode ${m}, seed ${s}, after ${steps} steps):`);
      const example = result.counterexample?.[0];
      if (m === 'pv') console.log(JSON.stringify(pvScenario(example as never), null, 1));
      else console.log(JSON.stringify(result.counterexample));
      console.error(String(result.errorInstance));
      process.exit(1);
    }
  }
  const now = performance.now();
  if (now - lastReport > 10_000) {
    lastReport = now;
    console.error(`${steps} steps, ${Math.round(steps / ((now - t0) / 1000))} steps/s`);
  }
}
const secs = (performance.now() - t0) / 1000;
console.log(`${steps} steps in ${secs.toFixed(1)} s: ${Math.round(steps / secs)} steps/s, auditor after every step, no invariant broken (seed ${seed}, modes ${modes.join(',')})`);

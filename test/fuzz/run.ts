/**
 * Long fuzzing campaigns: npm run fuzz -- --steps N [--seed S] [--mode pv|shadow|hap|all|io|iommu] [--min-length L]
 * Runs random step sequences with the auditor after every step until N steps have run, reports
 * steps per second, and on a failure prints the shrunk counterexample (for PV, as an attack-lab
 * scenario you can save and run with `lab run`).
 *
 * Every sequence boots a fresh machine and ends with a full audit; with fast-check's small
 * default sequences (about 12 steps) that boot is most of the time. So a campaign's sequences are
 * at least --min-length steps long (default 150, up to L + 50): deeper states per boot, and more
 * steps per second; --min-length 1 gives the short sequences the CI fuzz test runs.
 */
import fc from 'fast-check';
import { kernelOpArb, pvScenario, runKernelOps, runPvSteps, stepArb } from './harness.js';
import { IoFuzzFailure, runIoFuzz } from './ioHarness.js';
import { IommuFuzzFailure, runIommuFuzz } from './iommuHarness.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

const target = Number(arg('--steps', '100000'));
const seed = Number(arg('--seed', String(Date.now() % 1e9)));
const mode = arg('--mode', 'all');
const minLength = Number(arg('--min-length', '150'));
if (!Number.isInteger(target) || target <= 0 || !Number.isInteger(seed) || !['pv', 'shadow', 'hap', 'all', 'io', 'iommu'].includes(mode) || !Number.isInteger(minLength) || minLength < 1) {
  console.error('usage: npm run fuzz -- --steps N [--seed S] [--mode pv|shadow|hap|all|io|iommu] [--min-length L]');
  process.exit(2);
}

// --mode io: the adversarial I/O machine (ioHarness.ts), one seed per 1500 hostile steps.
if (mode === 'io') {
  const t0 = performance.now();
  let done = 0;
  for (let s = seed; done < target; s++) {
    const steps = Math.min(1500, target - done);
    try {
      const r = runIoFuzz({ seed: s, steps });
      done += steps;
      console.error(`seed ${s}: ${steps} hostile steps, ${r.injected} bad blkif requests (${r.answered} answered), victims whole`);
    } catch (e) {
      console.error(e instanceof IoFuzzFailure ? `${e.message}\nrerun: HYPERLAB_IO_FUZZ_SEED=${e.seed} HYPERLAB_IO_FUZZ_STEPS=${steps} npx vitest run --project unit test/fuzz/ioFuzz.test.ts` : String(e));
      process.exit(1);
    }
  }
  const secs = (performance.now() - t0) / 1000;
  console.log(`${done} hostile I/O steps in ${secs.toFixed(1)} s, audit after every step, no invariant broken (seeds from ${seed})`);
  process.exit(0);
}
// --mode iommu: malicious device owners with the IOMMU on (iommuHarness.ts), one seed per 1000 steps.
if (mode === 'iommu') {
  const t0 = performance.now();
  let done = 0;
  for (let s = seed; done < target; s++) {
    const steps = Math.min(1000, target - done);
    try {
      const r = runIommuFuzz({ seed: s, steps });
      done += steps;
      console.error(`seed ${s}: ${steps} steps, ${r.refused} transfers refused (${r.faults} faults), ${r.allowed} onto the owner's own or granted frames`);
    } catch (e) {
      console.error(e instanceof IommuFuzzFailure ? `${e.message}\nrerun: HYPERLAB_IOMMU_FUZZ_SEED=${s} HYPERLAB_IOMMU_FUZZ_STEPS=${steps} npx vitest run --project unit test/fuzz/iommuFuzz.test.ts` : String(e));
      process.exit(1);
    }
  }
  const secs = (performance.now() - t0) / 1000;
  console.log(`${done} IOMMU fuzz steps in ${secs.toFixed(1)} s, audit after every step, no invariant broken (seeds from ${seed})`);
  process.exit(0);
}
const pvLength = { minLength, maxLength: minLength > 1 ? minLength + 50 : 40 };
const kernelLength = { minLength, maxLength: minLength > 1 ? minLength + 50 : 60 };

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
        ? fc.check(fc.property(fc.array(stepArb, pvLength), (xs) => void (steps += runPvSteps(xs))), { numRuns: 50, seed: s })
        : fc.check(fc.property(fc.array(kernelOpArb, kernelLength), fc.boolean(), (ops, oos) => void (steps += runKernelOps(m, ops, oos))), { numRuns: 20, seed: s });
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

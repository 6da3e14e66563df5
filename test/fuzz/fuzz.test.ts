/**
 * A bounded fuzzing budget for CI (a few seconds); `npm run fuzz` runs long campaigns.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { kernelOpArb, runKernelOps, runPvSteps, stepArb } from './harness.js';

const runs = Number(process.env.HYPERLAB_FUZZ_RUNS ?? 30);

describe('fuzzing with the auditor after every step', () => {
  it('no sequence of PV hypercalls breaks an invariant', () => {
    fc.assert(fc.property(fc.array(stepArb, { minLength: 1, maxLength: 30 }), (steps) => void runPvSteps(steps)), { numRuns: runs, seed: 7 });
  });

  for (const mode of ['shadow', 'hap', 'pv'] as const) {
    it(`no sequence of guest-kernel operations breaks an invariant under ${mode}`, () => {
      fc.assert(fc.property(fc.array(kernelOpArb, { minLength: 1, maxLength: 40 }), fc.boolean(), (ops, oos) => void runKernelOps(mode, ops, oos)), { numRuns: Math.ceil(runs / 3), seed: 11 });
    });
  }

  it('shadow with a tiny pool survives evictions', () => {
    fc.assert(fc.property(fc.array(kernelOpArb, { minLength: 10, maxLength: 60 }), (ops) => void runKernelOps('shadow', ops, true, 24)), { numRuns: Math.ceil(runs / 3), seed: 13 });
  });
});

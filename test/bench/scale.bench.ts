/**
 * A machine that scales with what it uses (each row beside a baseline measured in the same run):
 *
 *  - a 1 TiB machine running one 256 MiB HAP guest's 64-page cold-walk (and the default 512 MiB
 *    PV dom0), in a fresh process (scaleChild.ts), against the same scenario on a 2 GiB machine:
 *    the ratio is how close the big machine comes to the small one's time (1 = no cost for
 *    memory nobody uses); the note gives the times and the big run's peak RSS;
 *  - the fuzzers (test/fuzz: PV hypercall scripts, kernel operations under shadow and HAP) with the
 *    incremental Auditor after every step, against the same sequences with a full audit() after
 *    every step.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { kernelOpArb, runKernelOps, runPvSteps, stepArb } from '../fuzz/harness.js';
import type { BenchResult } from './types.js';

const HERE = new URL('.', import.meta.url).pathname;

function scenario(memoryMiB: number): object {
  return {
    name: 'scale',
    machine: { memoryMiB, pcpus: 1 },
    hypervisor: 'xen',
    domains: [{ name: 'g1', mode: 'hap', memoryMiB: 256, vcpus: 1, guestPageSize: '4k', hostPageSize: '4k', workload: { kind: 'cold-walk', pages: 64 } }],
  };
}

interface ChildRun {
  ms: number;
  maxRssMiB: number;
  audit: boolean;
}

/** One run in a fresh Node process; the best time of `runs`, the largest RSS. */
function child(memoryMiB: number, runs = 2): ChildRun {
  const dir = mkdtempSync(join(tmpdir(), 'hyperlab-scale-'));
  try {
    const file = join(dir, 'scenario.json');
    writeFileSync(file, JSON.stringify(scenario(memoryMiB)));
    let best: ChildRun | null = null;
    for (let i = 0; i < runs; i++) {
      const out = execFileSync(process.execPath, ['--import', 'tsx', join(HERE, 'scaleChild.ts'), file], { encoding: 'utf8' });
      const r = JSON.parse(out.trim().split('\n').pop()!) as ChildRun;
      if (!r.audit) throw new Error(`the ${memoryMiB} MiB scale run failed its audit`);
      best = best === null ? r : { ms: Math.min(best.ms, r.ms), maxRssMiB: Math.max(best.maxRssMiB, r.maxRssMiB), audit: true };
    }
    return best!;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function benchBigMachine(): BenchResult {
  const big = child(1024 * 1024);
  const small = child(2048);
  return {
    name: '1 TiB machine, 256 MiB HAP cold-walk',
    opsPerSec: 1000 / big.ms,
    baselineOpsPerSec: 1000 / small.ms,
    ratio: small.ms / big.ms,
    note: `runs/s; 1 TiB: ${big.ms} ms, peak RSS ${big.maxRssMiB} MiB (goals < 500 ms, < 300 MB); baseline: same on 2 GiB, ${small.ms} ms, ${small.maxRssMiB} MiB`,
  };
}

/**
 * Steps per second of `npm run fuzz`'s campaign (seeded, all three modes) up to `target` steps,
 * with its default sequences or (minLength > 1, as `--min-length`) sequences of minLength..+50.
 */
function fuzzRate(fullAudit: boolean, target: number, minLength = 1): number {
  const pvLength = { minLength, maxLength: minLength > 1 ? minLength + 50 : 40 };
  const kernelLength = { minLength, maxLength: minLength > 1 ? minLength + 50 : 60 };
  const prev = process.env.HYPERLAB_FUZZ_FULL_AUDIT;
  if (fullAudit) process.env.HYPERLAB_FUZZ_FULL_AUDIT = '1';
  else delete process.env.HYPERLAB_FUZZ_FULL_AUDIT;
  let steps = 0;
  let round = 0;
  const t = performance.now();
  try {
    // The loop of test/fuzz/run.ts (fast-check grows its sequences over a property's runs).
    while (steps < target) {
      for (const m of ['pv', 'shadow', 'hap'] as const) {
        const seed = 1 + round++;
        if (m === 'pv') fc.assert(fc.property(fc.array(stepArb, pvLength), (xs) => void (steps += runPvSteps(xs))), { numRuns: 50, seed });
        else fc.assert(fc.property(fc.array(kernelOpArb, kernelLength), fc.boolean(), (ops, oos) => void (steps += runKernelOps(m, ops, oos))), { numRuns: 20, seed });
      }
    }
  } finally {
    if (prev === undefined) delete process.env.HYPERLAB_FUZZ_FULL_AUDIT;
    else process.env.HYPERLAB_FUZZ_FULL_AUDIT = prev;
  }
  return steps / ((performance.now() - t) / 1000);
}

function benchFuzz(minLength: number, target: number): BenchResult {
  const incremental = fuzzRate(false, target, minLength);
  const full = fuzzRate(true, target, minLength);
  const seqs = minLength > 1 ? `npm run fuzz (${minLength}–${minLength + 50} steps)` : 'short sequences (CI test)';
  return {
    name: `fuzzer, ${seqs}`,
    opsPerSec: incremental,
    baselineOpsPerSec: full,
    ratio: incremental / full,
    note: `steps/s${minLength > 1 ? ', goal ≥ 5000' : ', each sequence ~12 steps: boot and final audit dominate'}; auditor after every step: incremental (full every 32 calls and at each sequence end); baseline: full audit() after every step`,
  };
}

export async function benchScale(): Promise<BenchResult[]> {
  return [benchBigMachine(), benchFuzz(150, 15000), benchFuzz(1, 3000)];
}

/**
 * Parallel runs (issue 15): `lab compare` of four modes and the 20-point sweep of
 * examples/sweeps/update-ratio-20.json, each run whole by the CLI (a fresh process, start-up
 * included) with --jobs 2 against --jobs 1 on the same machine in the same bench run. The ratio is
 * the speed-up (serial wall time over parallel wall time); the note gives both times and whether the
 * JSON was the same bytes (it must be: a difference throws). A reported ratio, never an assert on time.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseScenarioText } from '../../core/api/index.js';
import { runAll } from '../../core/cli/pool.js';
import { planSweep, sweepDocument } from '../../core/sim/sweep.js';
import type { BenchResult } from './types.js';

const TSX = join(process.cwd(), 'node_modules', '.bin', 'tsx');

/** The best wall time of `runs` runs of the CLI, and its stdout (the same every time, or it throws). */
function timeLab(args: string[], runs = 2): { ms: number; out: string } {
  let best = Infinity;
  let out: string | null = null;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const o = execFileSync(TSX, ['core/cli/lab.ts', ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
    best = Math.min(best, performance.now() - t0);
    if (out !== null && o !== out) throw new Error(`lab ${args.join(' ')}: two runs gave different output`);
    out = o;
  }
  return { ms: best, out: out! };
}

function speedup(name: string, args: string[], runs: number): BenchResult {
  const serial = timeLab([...args, '--jobs', '1']);
  const parallel = timeLab([...args, '--jobs', '2']);
  if (serial.out !== parallel.out) throw new Error(`${name}: --jobs 2 gave different JSON from --jobs 1`);
  return {
    name,
    opsPerSec: (runs * 1000) / parallel.ms,
    baselineOpsPerSec: (runs * 1000) / serial.ms,
    ratio: serial.ms / parallel.ms,
    note: `runs/s; --jobs 1 ${(serial.ms / 1000).toFixed(2)} s, --jobs 2 ${(parallel.ms / 1000).toFixed(2)} s wall (process start-up included), JSON identical`,
  };
}

/**
 * The runs alone, in this process (no CLI start-up, thread start-up included): the sweep's 80 runs
 * through the pool with 2 threads against 1, the documents compared byte for byte.
 */
async function sweepRunsOnly(file: string): Promise<BenchResult> {
  const p = planSweep(JSON.parse(readFileSync(file, 'utf8')), (path) => {
    const v = parseScenarioText(readFileSync(resolve(dirname(file), path), 'utf8'));
    return v.ok ? { ok: true, scenario: v.scenario } : { ok: false, problems: v.problems };
  });
  if (!p.ok) throw new Error(`${file}: ${p.problems.map((x) => `${x.path}: ${x.message}`).join('; ')}`);
  const { header, items } = p.plan;
  const doc = async (jobs: number) => {
    const t0 = performance.now();
    const results = await runAll(items, jobs);
    const ms = performance.now() - t0;
    return { ms, json: JSON.stringify(sweepDocument(header, items.map((it, i) => ({ ...it, results: results[i]! })))) };
  };
  const serial = await doc(1);
  const parallel = await doc(2);
  if (serial.json !== parallel.json) throw new Error('sweep runs: 2 threads gave a different document from 1');
  return {
    name: 'sweep runs only (in-process pool), 2 threads vs 1',
    opsPerSec: (items.length * 1000) / parallel.ms,
    baselineOpsPerSec: (items.length * 1000) / serial.ms,
    ratio: serial.ms / parallel.ms,
    note: `runs/s; 1 thread ${(serial.ms / 1000).toFixed(2)} s, 2 threads ${(parallel.ms / 1000).toFixed(2)} s (thread start-up included), same document`,
  };
}

export async function benchParallel(): Promise<BenchResult[]> {
  return [
    speedup('lab compare, 4 modes, --jobs 2 vs 1', ['compare', 'examples/update-vs-access.json', '--json', '--deterministic'], 4),
    speedup('lab sweep, 20 points x 4 modes, --jobs 2 vs 1', ['sweep', 'examples/sweeps/update-ratio-20.json', '--json'], 80),
    await sweepRunsOnly('examples/sweeps/update-ratio-20.json'),
  ];
}

/**
 * Simulated accesses per second through the whole simulator: runScenario (core/sim/run.ts) on
 * `random-access` and `sequential` workloads over 1 MiB and 64 MiB working sets, in each paging
 * mode, beside the C reference model (/work/shared/perf-ref/tlbref.c, or HYPERLAB_TLBREF): the
 * same TLB-hit model written plainly in C, compiled with `cc -O2` at bench time and run in this
 * process's run, over the same number of pages. Each row's ratio is to that C figure.
 *
 * Only the measured phase is timed: from the first progress report (the workload's setup is done
 * and its counters restarted) to the last (the workload has ended). Boot, setup and the final
 * audit are outside. Accesses are the guest's `ops` counter (one load or store each; with no
 * faults in the measured phase it equals its TLB lookups, which is checked).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateScenario, type Scenario } from '../../core/api/index.js';
import { runScenario } from '../../core/sim/run.js';
import type { BenchResult } from './types.js';

type Mode = 'native' | 'pv' | 'shadow' | 'hap';
export const MODES: readonly Mode[] = ['native', 'pv', 'shadow', 'hap'];

/** A scenario running `workload` in one guest of `mode` (with a small dom0 under Xen). */
export function e2eScenario(mode: Mode, workload: Record<string, unknown>, workingSetMiB: number): Scenario {
  const v = validateScenario({
    name: `e2e-${mode}`,
    machine: { memoryMiB: 1024, pcpus: 1 },
    hypervisor: mode === 'native' ? 'none' : 'xen',
    domains: [
      ...(mode === 'native' ? [] : [{ name: 'Domain-0', role: 'dom0', mode: 'pv', memoryMiB: 32, vcpus: 1 }]),
      { name: 'g1', mode, memoryMiB: workingSetMiB + 32, vcpus: 1, workload },
    ],
  });
  if (!v.ok) throw new Error(`bench scenario invalid: ${JSON.stringify(v.problems)}`);
  return v.scenario;
}

/** Runs `s`; returns the guest's accesses per second over the measured phase. */
function measure(s: Scenario): number {
  let first = -1;
  let last = -1;
  const r = runScenario(s, {
    onProgress: () => {
      const t = performance.now();
      if (first < 0) first = t;
      last = t;
    },
  });
  const g = r.domains.find((d) => d.name === 'g1')!;
  if (g.tlb.lookups !== g.ops) throw new Error(`${s.name}: ${g.tlb.lookups} TLB lookups for ${g.ops} accesses (a fault in the measured phase?)`);
  return g.ops / ((last - first) / 1000);
}

let tlbref: string | null = null;
let tmp: string | null = null;

/** Compiles the C reference once per run; null if there is no C compiler or no source. */
function compileRef(): string | null {
  if (tlbref) return tlbref;
  const src = process.env.HYPERLAB_TLBREF ?? '/work/shared/perf-ref/tlbref.c';
  if (!existsSync(src)) return null;
  tmp = mkdtempSync(join(tmpdir(), 'hyperlab-tlbref-'));
  const bin = join(tmp, 'tlbref');
  try {
    execFileSync('cc', ['-O2', '-o', bin, src], { stdio: 'pipe' });
  } catch {
    return null;
  }
  process.on('exit', () => tmp && rmSync(tmp, { recursive: true, force: true }));
  tlbref = bin;
  return bin;
}

/** The C model's simulated accesses per second over `pages` pages (best of three short runs). */
function cReference(pages: number): number {
  const bin = compileRef();
  if (!bin) return NaN;
  // Over many pages most of its accesses miss (and touch cold frames): fewer suffice.
  const accesses = pages <= 4096 ? 30_000_000 : 4_000_000;
  let best = 0;
  for (let i = 0; i < 3; i++) {
    const out = JSON.parse(execFileSync(bin, [String(pages), String(accesses)], { encoding: 'utf8' })) as { maccPerSec: number };
    best = Math.max(best, out.maccPerSec * 1e6);
  }
  return best;
}

interface Case {
  label: string;
  workingSetMiB: number;
  workload: Record<string, unknown>;
  goal: (mode: Mode) => string;
}

const CASES: Case[] = [
  { label: 'sequential 1 MiB', workingSetMiB: 1, workload: { kind: 'sequential', workingSetMiB: 1, passes: 1000 }, goal: () => 'goal ≥ 80 M/s' },
  { label: 'random 1 MiB', workingSetMiB: 1, workload: { kind: 'random-access', workingSetMiB: 1, accesses: 12_000_000 }, goal: () => 'goal ratio ≥ 0.8' },
  { label: 'sequential 64 MiB', workingSetMiB: 64, workload: { kind: 'sequential', workingSetMiB: 64, passes: 3 }, goal: () => '' },
  { label: 'random 64 MiB', workingSetMiB: 64, workload: { kind: 'random-access', workingSetMiB: 64, accesses: 3_000_000 }, goal: () => '' },
];

export async function benchEndToEnd(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  const refs = new Map<number, number>();
  for (const c of CASES) {
    const pages = c.workingSetMiB * 256;
    if (!refs.has(pages)) refs.set(pages, cReference(pages));
    const ref = refs.get(pages)!;
    for (const mode of MODES) {
      const ops = measure(e2eScenario(mode, c.workload, c.workingSetMiB));
      const goal = c.goal(mode);
      out.push({
        name: `e2e ${c.label}, ${mode}`,
        opsPerSec: ops,
        baselineOpsPerSec: ref,
        ratio: ops / ref,
        note: `${goal ? goal + '; ' : ''}runScenario, measured phase only; baseline: C tlbref.c -O2, ${pages} pages, random`,
      });
    }
  }
  return out;
}

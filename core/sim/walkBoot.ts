/**
 * The worker's 'walk' request: boot the scenario in a fresh Simulation (never the live one), run
 * the named domain's workload until its setup is done (its address space is then built: every
 * table, shadow and EPT entry the workload needs exists), and trace one translation.
 *
 * It has to answer while a user waits, so the boot is made small where it can be without changing
 * what is walked: the other domains run no workload (they are still created, so domids, memory
 * placement and pCPUs are the scenario's), and the named domain's working-set sizes are capped
 * (WALK_CAPS) — a walk of a 64 MiB working set has the same shape as one of 64 GiB; only the
 * setup time differs (populating 512 MiB takes the better part of a second).
 */
import type { Scenario, Workload } from '../api/scenario.js';
import { validateScenario } from '../api/scenario.js';
import type { WalkTrace } from '../api/worker.js';
import { MEASURE, type WorkloadStep } from '../workloads/index.js';
import { domainsOf, Simulation } from './simulation.js';
import { traceWalk, walkCandidates } from './walkTrace.js';

/** Caps on the parameters that size a workload's setup, for a walk's boot only. */
export const WALK_CAPS: Readonly<Record<string, number>> = Object.freeze({
  workingSetMiB: 64,
  residentMiB: 64,
  pages: 4096,
});

/** Rounds a walk's setup may take before it gives up (the capped setups need a handful). */
const MAX_SETUP_ROUNDS = 10_000;
/** Rounds past the setup, for workloads whose setup leaves nothing mapped (page-fault). */
const EXTRA_ROUNDS = 4;

export interface WalkRequest {
  scenario: unknown;
  domain: string;
  va?: string;
  warm?: boolean;
  write?: boolean;
}

export class WalkRequestError extends Error {
  constructor(
    message: string,
    readonly problems?: { path: string; message: string }[],
  ) {
    super(message);
  }
}

function capped(w: Workload): Workload {
  const out = { ...w } as Record<string, unknown>;
  for (const [k, cap] of Object.entries(WALK_CAPS)) {
    const v = out[k];
    if (typeof v === 'number' && v > cap) out[k] = cap;
  }
  return out as Workload;
}

/** The scenario a walk boots: only `name` runs its workload, capped. */
export function walkScenario(s: Scenario, name: string): Scenario {
  const all = domainsOf(s);
  if (!all.some((d) => d.name === name)) {
    throw new WalkRequestError(`no domain named "${name}" in the scenario (domains: ${all.map((d) => d.name).join(', ')})`);
  }
  return {
    ...s,
    domains: s.domains.map((d) => ({ ...d, workload: d.name === name ? capped(d.workload) : { kind: 'idle' as const } })),
  };
}

/** Passes a workload's steps through, noting when its setup is done. */
function* watchSetup(g: Generator<WorkloadStep, void, void>, seen: { measured: boolean }): Generator<WorkloadStep, void, void> {
  for (;;) {
    const r = g.next();
    if (r.done) return;
    if (r.value === MEASURE) seen.measured = true;
    yield r.value;
  }
}

/** Boots `s` for a walk of domain `name`: returns the simulation once its setup is done. */
export function bootForWalk(s: Scenario, name: string): Simulation {
  const sim = new Simulation(walkScenario(s, name));
  const job = sim.jobs.find((j) => j.d.name === name);
  if (!job) return sim;
  const seen = { measured: false };
  job.gen = watchSetup(job.gen, seen);
  for (let r = 0; r < MAX_SETUP_ROUNDS && !seen.measured && !job.done; r++) sim.step(1);
  for (let r = 0; r < EXTRA_ROUNDS && !job.done && walkCandidates(job.d).length === 0; r++) sim.step(1);
  return sim;
}

/** Parses a va given as hex ('0x7f00…' or bare digits). */
export function parseVa(va: string | undefined): number | undefined {
  if (va === undefined || va.trim() === '') return undefined;
  const t = va.trim();
  if (!/^(0x)?[0-9a-f]{1,12}$/i.test(t)) throw new WalkRequestError(`va: "${va}" is not a hex address of at most 48 bits (e.g. 0x7effffe00000)`);
  return parseInt(t.replace(/^0x/i, ''), 16);
}

/** The whole request: validate, boot, trace. A cold walk starts from cold pCPU caches. */
export function runWalkRequest(req: WalkRequest): { trace: WalkTrace; candidates: string[] } {
  const v = validateScenario(req.scenario);
  if (!v.ok) throw new WalkRequestError('the scenario to walk is not valid', v.problems);
  const va = parseVa(req.va);
  const sim = bootForWalk(v.scenario, req.domain);
  const d = sim.domains.find((x) => x.name === req.domain)!;
  // As a cold-walk probe: with every TLB and walk cache cold the trace is the architectural walk
  // from memory; warm then fills them with one translation of the address, and shows the hits.
  d.mmu.coldFlush();
  return traceWalk(sim, req.domain, va, { warm: req.warm ?? false, write: req.write ?? false });
}

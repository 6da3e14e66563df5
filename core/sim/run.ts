/**
 * Runs a scenario to the end: builds the machine and hypervisor, boots the domains, runs their
 * workloads interleaved on the physical CPUs, audits, and reports.
 */
import type { Scenario } from '../api/scenario.js';
import type { Results } from '../api/results.js';
import { Simulation, type Progress } from './simulation.js';

export { costsOf, domainResults, domainsOf, mmuConfigOf, type Progress } from './simulation.js';

export interface RunOptions {
  /** Called every so often with progress (the CLI ignores it, the worker forwards it). */
  onProgress?: (p: Progress) => void;
  /** Returns true when the run should stop early (cancellation). */
  shouldStop?: () => boolean;
  /** Wall clock in ms, injected by the caller (core/ has no timer of its own). */
  now?: () => number;
}

export function runScenario(scenario: Scenario, opts: RunOptions = {}): Results {
  const now = opts.now ?? (() => 0);
  const t0 = now();
  const sim = new Simulation(scenario);
  const stop = opts.shouldStop;
  let stopped = false;
  const check = () => (stopped ||= stop?.() ?? false);
  while (!stopped && sim.step(1, check)) opts.onProgress?.(sim.progress());
  opts.onProgress?.(sim.progress());
  return sim.results(now() - t0);
}

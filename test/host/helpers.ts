/**
 * Shared by the store and service tests: a fresh data folder per test, a real results document
 * from the simulator (a tiny two-guest walk), and a clock that moves one second per call so
 * timestamps are distinct and predictable.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HostError, validateScenario, type Results, type Scenario } from '../../core/api/index.js';
import { runScenario } from '../../core/sim/run.js';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));

const made: string[] = [];

export function tempDir(tag = 'store'): string {
  const dir = mkdtempSync(join(tmpdir(), `hyperlab-${tag}-`));
  made.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** examples/walk-4k.json with 8 pages, plus a second guest under shadow paging. */
export function tinyScenario(): Scenario {
  const s = JSON.parse(readFileSync(join(REPO, 'examples', 'walk-4k.json'), 'utf8'));
  s.domains[0].workload.pages = 8;
  s.domains.push({ ...s.domains[0], name: 'g2', mode: 'shadow', workload: { kind: 'cold-walk', pages: 8 } });
  const v = validateScenario(s);
  if (!v.ok) throw new Error(`tiny scenario is invalid: ${JSON.stringify(v.problems)}`);
  return v.scenario;
}

let cached: { scenario: Scenario; results: Results } | undefined;

/** Runs the simulator once per test file; the results are deterministic, so sharing is safe. */
export function tinyRun(): { scenario: Scenario; results: Results } {
  if (!cached) {
    const scenario = tinyScenario();
    cached = { scenario, results: runScenario(scenario) };
  }
  return { scenario: cached.scenario, results: structuredClone(cached.results) };
}

export function steppingClock(start = Date.UTC(2025, 0, 2, 3, 4, 5)): () => Date {
  let t = start;
  return () => new Date((t += 1000));
}

/** The HostError a store call refuses with (anything else it throws, or no throw, fails the test). */
export function refusal(f: () => unknown): HostError {
  try {
    f();
  } catch (e) {
    if (e instanceof HostError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

/**
 * One run of a scenario in a fresh process, for the scale benchmark (scale.bench.ts): prints
 * {ms, rssMiB, maxRssMiB, audit} as one JSON line. `ms` is runScenario alone (build, boot, run,
 * audit), not Node's or tsx's start-up; the RSS figures are the whole process's.
 *
 *   node --import tsx test/bench/scaleChild.ts <scenario.json>
 */
import { readFileSync } from 'node:fs';
import { validateScenario } from '../../core/api/index.js';
import { runScenario } from '../../core/sim/run.js';

const v = validateScenario(JSON.parse(readFileSync(process.argv[2]!, 'utf8')));
if (!v.ok) throw new Error(`invalid scenario: ${JSON.stringify(v.problems)}`);
const t = performance.now();
const r = runScenario(v.scenario);
const ms = performance.now() - t;
const mib = (b: number) => Math.round(b / 2 ** 20);
console.log(
  JSON.stringify({
    ms: Math.round(ms),
    rssMiB: mib(process.memoryUsage().rss),
    // resourceUsage().maxRSS is in KiB.
    maxRssMiB: mib(process.resourceUsage().maxRSS * 1024),
    audit: r.audit.ok,
  }),
);

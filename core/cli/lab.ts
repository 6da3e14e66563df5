/**
 * The `lab` command line: validate, run and compare scenarios. The one place in core/ (with the
 * worker entry) that touches a runtime: it reads files and writes to stdout/stderr.
 *
 *   npm run --silent lab -- validate <scenario.json>
 *   npm run --silent lab -- run <scenario.json> [--json] [--seed N]
 *   npm run --silent lab -- compare <scenario.json> --modes native,pv,shadow,hap [--json]
 */
import { readFileSync } from 'node:fs';
import { PAGING_MODES, parseScenarioText, type PagingMode, type Scenario } from '../api/index.js';
import { runScenario } from '../sim/run.js';
import { compareModes } from '../sim/compare.js';
import { formatCompare, formatRun } from './format.js';

const USAGE = `usage: lab <command> <scenario.json> [options]
  validate <file>                              check a scenario; one line per problem
  run <file> [--json] [--seed N]               run it and print results (a table, or one JSON document)
  compare <file> --modes native,pv,shadow,hap [--json]
                                               run the first guest's workload under each mode`;

class UsageError extends Error {}

function load(file: string | undefined): Scenario {
  if (!file) throw new UsageError('missing <scenario.json>');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    process.stderr.write(`lab: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
    process.exit(2);
  }
  const v = parseScenarioText(text);
  if (!v.ok) {
    for (const p of v.problems) process.stderr.write(`${p.path}: ${p.message}\n`);
    process.exit(1);
  }
  return v.scenario;
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new UsageError(`${name} needs a value`);
  return v;
}

function main(argv: string[]): void {
  const [cmd, file, ...rest] = argv;
  const json = rest.includes('--json');
  switch (cmd) {
    case 'validate': {
      const s = load(file);
      process.stdout.write(`ok: ${s.name} (${s.domains.length} domain${s.domains.length === 1 ? '' : 's'}, hypervisor ${s.hypervisor})\n`);
      return;
    }
    case 'run': {
      let s = load(file);
      const seed = flag(rest, '--seed');
      if (seed !== undefined) {
        const n = Number(seed);
        if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new UsageError('--seed takes an integer 0..4294967295');
        s = { ...s, seed: n };
      }
      const r = runScenario(s, { now: () => performance.now() });
      process.stdout.write(json ? JSON.stringify(r) + '\n' : formatRun(r) + '\n');
      return;
    }
    case 'compare': {
      const s = load(file);
      const m = flag(rest, '--modes') ?? PAGING_MODES.join(',');
      const modes = m.split(',').map((x) => x.trim());
      for (const x of modes) {
        if (!(PAGING_MODES as readonly string[]).includes(x)) throw new UsageError(`--modes: unknown mode "${x}"; allowed: ${PAGING_MODES.join(', ')}`);
      }
      const cmp = compareModes(s, { modes: modes as PagingMode[], now: () => performance.now() });
      process.stdout.write(json ? JSON.stringify(cmp) + '\n' : formatCompare(cmp) + '\n');
      return;
    }
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stderr.write(USAGE + '\n');
      process.exit(cmd === undefined ? 2 : 0);
      return;
    default:
      throw new UsageError(`unknown command "${cmd}"`);
  }
}

try {
  main(process.argv.slice(2));
} catch (e) {
  if (e instanceof UsageError) {
    process.stderr.write(`lab: ${e.message}\n${USAGE}\n`);
    process.exit(2);
  }
  process.stderr.write(`lab: ${(e as Error).message}\n`);
  if (process.env.HYPERLAB_DEBUG === '1') process.stderr.write(String((e as Error).stack) + '\n');
  process.exit(3);
}

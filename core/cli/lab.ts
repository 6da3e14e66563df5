/**
 * The `lab` command line: validate, run and compare scenarios. The one place in core/ (with the
 * worker entry) that touches a runtime: it reads files and writes to stdout/stderr.
 *
 *   npm run --silent lab -- validate <scenario.json>
 *   npm run --silent lab -- run <scenario.json> [--json] [--seed N]
 *   npm run --silent lab -- compare <scenario.json> [--modes native,pv,shadow,hap] [--json] [--jobs N] [--deterministic]
 *   npm run --silent lab -- sweep <spec.json> [--json] [--jobs N] [--shard i/n --out dir]
 *   npm run --silent lab -- merge <dir> [--json]
 *   npm run --silent lab -- reproduce <file|dir> [--json]
 *   npm run --silent lab -- help [<command>]      (or --help anywhere)
 *
 * Exit codes: 0 done (reproduce: every row passed); 1 the scenario (or a reproduction file) is not
 * valid; 2 a usage error (unknown command, flag or argument, a bad flag value) or a file or
 * directory that cannot be read; 3 the run itself failed; 4 reproduce ran and some row failed;
 * 5 reproduce ran and the only rows that failed are known gaps (the file names the missing mechanism).
 * `merge` exits 1 when the shards are not one complete sweep (missing, twice, another sweep's).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { PAGING_MODES, parseScenarioText, VERSION, type Reproduction, type Scenario } from '../api/index.js';
import { compareDocument, compareRuns } from '../sim/compare.js';
import { mergeShards, planSweep, shardFileName, shardItems, SHARD_FORMAT, sweepDocument, withoutWallTime, type SweepPlan, type SweepShard } from '../sim/sweep.js';
import { checkReproductionText, runReproduction } from '../sim/reproduce.js';
import { runScenario } from '../sim/run.js';
import { commandUsage, parseArgs, synopsis, UsageError } from './args.js';
import { formatCompare, formatReproductions, formatRun, formatSweep, reproductionsDocument } from './format.js';
import { defaultJobs, runAll } from './pool.js';
import { COMMANDS, isCommand, type Command } from './commands.js';

const USAGE = [
  'usage: lab <command> <scenario.json> [options]',
  ...Object.entries(COMMANDS).flatMap(([cmd, spec]) => [`  ${synopsis(cmd, spec)}`, `      ${spec.summary}`]),
  '  lab help <command>',
  '      the options of one command (also: lab <command> --help)',
].join('\n');

/** `read(path)`, or exit 2 with "cannot read <path>: <why>" (a missing file, a directory, no permission). */
function readOrExit<T>(path: string, read: (p: string) => T): T {
  try {
    return read(path);
  } catch (e) {
    process.stderr.write(`lab: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
    process.exit(2);
  }
}

function load(file: string): Scenario {
  const text = readOrExit(file, (f) => readFileSync(f, 'utf8'));
  // One pass: a JSON syntax error (line and column), else every problem of the scenario.
  const v = parseScenarioText(text);
  if (!v.ok) {
    for (const p of v.problems) process.stderr.write(`${p.path}: ${p.message}\n`);
    process.exit(1);
  }
  return v.scenario;
}

/** The reproduction files a path names: the file, or a directory's *.json sorted by name (exit 2 if none or unreadable). */
function reproFiles(path: string): string[] {
  if (!readOrExit(path, (p) => statSync(p).isDirectory())) return [path];
  const names = readOrExit(path, (p) => readdirSync(p).filter((n) => n.endsWith('.json')).sort());
  if (names.length === 0) {
    process.stderr.write(`lab: reproduce: ${path} has no *.json reproduction files\n`);
    process.exit(2);
  }
  return names.map((n) => join(path, n));
}

/** Every file read and checked before any runs: all problems of all files at once (exit 1). */
function loadReproductions(files: string[]): Reproduction[] {
  const out: Reproduction[] = [];
  let bad = false;
  for (const f of files) {
    const v = checkReproductionText(readOrExit(f, (p) => readFileSync(p, 'utf8')));
    if (v.ok) out.push(v.file);
    else {
      bad = true;
      for (const p of v.problems) process.stderr.write(`${f}: ${p.path}: ${p.message}\n`);
    }
  }
  if (bad) process.exit(1);
  return out;
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined) throw new UsageError('missing <command>');
  if (cmd === '--help' || cmd === '-h' || cmd === 'help') {
    const [topic, ...extra] = rest;
    if (extra.length > 0) throw new UsageError(`help: unexpected argument "${extra[0]}"; help takes at most one <command>`);
    if (topic !== undefined && !isCommand(topic)) throw new UsageError(`help: unknown command "${topic}"; commands: ${Object.keys(COMMANDS).join(', ')}`);
    if (topic !== undefined) return help(topic);
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (!isCommand(cmd)) throw new UsageError(`unknown command "${cmd}"; commands: ${Object.keys(COMMANDS).join(', ')}, help`);
  switch (cmd) {
    case 'validate': {
      const a = parseArgs(cmd, COMMANDS.validate, rest);
      if (a === 'help') return help(cmd);
      const s = load(a.args[0]!);
      process.stdout.write(`ok: ${s.name} (${s.domains.length} domain${s.domains.length === 1 ? '' : 's'}, hypervisor ${s.hypervisor})\n`);
      return;
    }
    case 'run': {
      const a = parseArgs(cmd, COMMANDS.run, rest);
      if (a === 'help') return help(cmd);
      let s = load(a.args[0]!);
      if (a.flags.seed !== undefined) s = { ...s, seed: a.flags.seed };
      const r = runScenario(s, { now: () => performance.now() });
      process.stdout.write(a.flags.json ? JSON.stringify(r) + '\n' : formatRun(r) + '\n');
      return;
    }
    case 'compare': {
      const a = parseArgs(cmd, COMMANDS.compare, rest);
      if (a === 'help') return help(cmd);
      const s = load(a.args[0]!);
      const { runs, skipped } = compareRuns(s, a.flags.modes ?? [...PAGING_MODES]);
      const results = await runAll(
        runs.map((r) => ({ label: r.mode, scenario: r.scenario })),
        a.flags.jobs ?? defaultJobs(),
        progress('compare'),
      );
      const cmp = compareDocument(
        s,
        runs.map((r, i) => ({ mode: r.mode, results: a.flags.deterministic ? withoutWallTime(results[i]!) : results[i]! })),
        skipped,
      );
      process.stdout.write(a.flags.json ? JSON.stringify(cmp) + '\n' : formatCompare(cmp) + '\n');
      return;
    }
    case 'sweep': {
      const a = parseArgs(cmd, COMMANDS.sweep, rest);
      if (a === 'help') return help(cmd);
      if ((a.flags.shard === undefined) !== (a.flags.out === undefined)) {
        throw new UsageError(`sweep: --shard and --out go together: --shard i/n --out dir writes shard i's file into dir`, cmd);
      }
      if (a.flags.shard !== undefined && a.flags.json) throw new UsageError('sweep: --json prints a whole sweep; a shard goes into its file (--out); lab merge --json prints the sweep', cmd);
      const plan = loadSweep(a.args[0]!);
      const jobs = a.flags.jobs ?? defaultJobs();
      if (a.flags.shard !== undefined) {
        const { shard, shards } = a.flags.shard;
        const mine = shardItems(plan.items, shard, shards);
        const results = await runAll(mine, jobs, progress(`shard ${shard}/${shards}`));
        const file: SweepShard = {
          format: SHARD_FORMAT,
          spec: specHash(plan),
          shard,
          shards,
          runs: plan.items.length,
          header: plan.header,
          items: mine.map((it, i) => ({ index: it.index, value: it.value, mode: it.mode, results: withoutWallTime(results[i]!) })),
        };
        const path = writeAtomically(a.flags.out!, shardFileName(shard, shards), JSON.stringify(file) + '\n');
        process.stdout.write(`${path}: shard ${shard} of ${shards}, ${mine.length} of ${plan.items.length} runs\n`);
        return;
      }
      const results = await runAll(plan.items, jobs, progress('sweep'));
      const doc = sweepDocument(plan.header, plan.items.map((it, i) => ({ index: it.index, value: it.value, mode: it.mode, results: results[i]! })));
      process.stdout.write(a.flags.json ? JSON.stringify(doc) + '\n' : formatSweep(doc) + '\n');
      return;
    }
    case 'merge': {
      const a = parseArgs(cmd, COMMANDS.merge, rest);
      if (a === 'help') return help(cmd);
      const dir = a.args[0]!;
      const names = readOrExit(dir, (p) => readdirSync(p).filter((n) => n.endsWith('.json')).sort());
      const files = names.map((n) => {
        const text = readOrExit(join(dir, n), (p) => readFileSync(p, 'utf8'));
        try {
          return { name: n, data: JSON.parse(text) as unknown };
        } catch (e) {
          return { name: n, data: `not valid JSON: ${(e as Error).message}` };
        }
      });
      const m = mergeShards(files);
      if (!m.ok) {
        for (const p of m.problems) process.stderr.write(`lab: merge: ${dir}: ${p}\n`);
        process.exit(1);
      }
      process.stdout.write(a.flags.json ? JSON.stringify(m.doc) + '\n' : formatSweep(m.doc) + '\n');
      return;
    }
    case 'reproduce': {
      const a = parseArgs(cmd, COMMANDS.reproduce, rest);
      if (a === 'help') return help(cmd);
      const files = loadReproductions(reproFiles(a.args[0]!));
      // Progress only for a person watching: never into a pipe or a file.
      const tty = process.stderr.isTTY === true;
      const results = files.map((f) =>
        runReproduction(f, tty ? { onProgress: (done, total, label) => process.stderr.write(`${f.id}: run ${done}/${total} (${label})\n`) } : {}),
      );
      process.stdout.write(a.flags.json ? JSON.stringify(reproductionsDocument(results)) + '\n' : formatReproductions(results) + '\n');
      // A row that fails with a declared gap (the file names the missing mechanism) still fails:
      // 5 tells it apart from a row that fails unexpectedly (4).
      if (!results.every((r) => r.passExceptGaps)) process.exitCode = 4;
      else if (!results.every((r) => r.pass)) process.exitCode = 5;
      return;
    }
  }
}

/** Progress for a person watching (stderr is a terminal): never into a pipe or a file, never on stdout. */
function progress(what: string): ((done: number, total: number, label: string) => void) | undefined {
  if (process.stderr.isTTY !== true) return undefined;
  return (done, total, label) => process.stderr.write(`${what}: ${done}/${total} runs done (${label})\n`);
}

/** A sweep spec read, checked (exit 1 with one line per problem) and planned; its scenario path is relative to the spec file. */
function loadSweep(file: string): SweepPlan {
  const text = readOrExit(file, (f) => readFileSync(f, 'utf8'));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    process.stderr.write(`${file}: not valid JSON: ${(e as Error).message}\n`);
    process.exit(1);
  }
  const v = planSweep(json, (path) => {
    const p = resolve(dirname(file), path);
    const sv = parseScenarioText(readOrExit(p, (f) => readFileSync(f, 'utf8')));
    return sv.ok ? { ok: true, scenario: sv.scenario } : { ok: false, problems: sv.problems };
  });
  if (!v.ok) {
    for (const p of v.problems) process.stderr.write(`${file}: ${p.path}: ${p.message}\n`);
    process.exit(1);
  }
  return v.plan;
}

/**
 * What makes shards one sweep: the lab's version and the resolved spec (the scenario with its seed,
 * the modes, the parameter and its values), hashed. The shard count is stored beside it.
 */
function specHash(plan: SweepPlan): string {
  const { header } = plan;
  const canonical = JSON.stringify({ version: VERSION, scenario: plan.base, modes: header.modes, param: header.param, values: header.values });
  return createHash('sha256').update(canonical).digest('hex');
}

/** Writes `dir/name` whole or not at all: a temporary file in the same directory, then a rename. */
function writeAtomically(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (e) {
    process.stderr.write(`lab: cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
    process.exit(2);
  }
  return path;
}

/** What a command's help says beyond its flags. */
const MORE_HELP: Partial<Record<Command, string>> = {
  sweep: [
    '  spec.json: {"scenario": "<file, relative to the spec>" or {an inline scenario}, "modes"?: [...] (default all),',
    '  "param": "<a numeric workload parameter of the first guest>", "values": [numbers], "seed"?: N}',
    '  runs are ordered value by value, modes in the order given; the output is in that order whatever --jobs;',
    '  wallMs is 0 in every run, so the same spec gives the same bytes (serial, parallel, or sharded and merged)',
    '  --shard i/n runs the values at places i, i+n, i+2n, … of "values" (from 0); lab merge <dir> puts the n files together',
    '  exit codes: 0 done; 1 the spec or its scenario is not valid; 2 a usage error or a file that cannot be read;',
    '  3 a run failed',
  ].join('\n'),
  merge: [
    '  reads every *.json of <dir>: the shard files of one sweep (one spec, one n), shards 0..n-1 each once',
    '  exit codes: 0 merged; 1 a shard is missing, given twice, from another sweep or not a shard; 2 <dir> cannot be read',
  ].join('\n'),
  reproduce: [
    '  ratios are time per operation over the row\'s baseline (above 1: slower); a row passes when each',
    '  ratio is within the tolerance (or inside its range) and the paper\'s order holds',
    '  a row with a "gap" (the mechanism the lab lacks, in the file) is run and shown; its failure is a',
    '  known gap, counted apart',
    '  exit codes: 0 every row passed; 5 the only failures are known gaps; 4 some other row failed; 1 a file is',
    '  not valid (one line per problem: file: field: reason); 2 a usage error or a path that cannot be read',
  ].join('\n'),
};

function help(cmd: Command): void {
  process.stdout.write(commandUsage(cmd, COMMANDS[cmd]) + (MORE_HELP[cmd] ? `\n${MORE_HELP[cmd]}` : '') + '\n');
}

try {
  await main(process.argv.slice(2));
} catch (e) {
  if (e instanceof UsageError) {
    const usage = e.command !== undefined && isCommand(e.command) ? commandUsage(e.command, COMMANDS[e.command]) : USAGE;
    process.stderr.write(`lab: ${e.message}\n${usage}\n`);
    process.exit(2);
  }
  process.stderr.write(`lab: ${(e as Error).message}\n`);
  if (process.env.HYPERLAB_DEBUG === '1') process.stderr.write(String((e as Error).stack) + '\n');
  process.exit(3);
}

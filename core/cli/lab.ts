/**
 * The `lab` command line: validate, run and compare scenarios. The one place in core/ (with the
 * worker entry) that touches a runtime: it reads files and writes to stdout/stderr.
 *
 *   npm run --silent lab -- validate <scenario.json>
 *   npm run --silent lab -- run <scenario.json> [--json] [--seed N]
 *   npm run --silent lab -- compare <scenario.json> [--modes native,pv,shadow,hap] [--json]
 *   npm run --silent lab -- reproduce <file|dir> [--json]
 *   npm run --silent lab -- help [<command>]      (or --help anywhere)
 *
 * Exit codes: 0 done (reproduce: every row passed); 1 the scenario (or a reproduction file) is not
 * valid; 2 a usage error (unknown command, flag or argument, a bad flag value) or a file or
 * directory that cannot be read; 3 the run itself failed; 4 reproduce ran and some row failed;
 * 5 reproduce ran and the only rows that failed are known gaps (the file names the missing mechanism).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PAGING_MODES, parseScenarioText, type Reproduction, type Scenario } from '../api/index.js';
import { compareModes } from '../sim/compare.js';
import { checkReproductionText, runReproduction } from '../sim/reproduce.js';
import { runScenario } from '../sim/run.js';
import { commandUsage, parseArgs, parseList, parseUint32, switchFlag, synopsis, UsageError, valueFlag } from './args.js';
import { formatCompare, formatReproductions, formatRun, reproductionsDocument } from './format.js';

/** Every command, its arguments and its flags. Anything not declared here is refused. */
const COMMANDS = {
  validate: {
    args: ['scenario.json'],
    flags: {},
    summary: 'check a scenario: exit 0, or 1 with one line per problem (field path, reason) on stderr',
  },
  run: {
    args: ['scenario.json'],
    flags: {
      json: switchFlag('--json', 'print exactly one JSON document on stdout instead of a table'),
      seed: valueFlag('--seed', 'N', 'an integer 0..4294967295', "run with this seed instead of the scenario's", parseUint32),
    },
    summary: 'run it, audit it and print the results',
  },
  compare: {
    args: ['scenario.json'],
    flags: {
      modes: valueFlag(
        '--modes',
        'M,M…',
        `a comma-separated list of ${PAGING_MODES.join(', ')}`,
        'paging modes to run; default all',
        parseList(PAGING_MODES, 'mode'),
      ),
      json: switchFlag('--json', 'print exactly one JSON document on stdout instead of tables'),
    },
    summary: "run the first guest's workload under each mode, everything else equal",
  },
  reproduce: {
    args: ['file|dir'],
    flags: {
      json: switchFlag('--json', 'print exactly one JSON document on stdout instead of tables'),
    },
    summary: 'run published results (a reproduction file, or every *.json of a directory): paper beside lab per row',
  },
} as const;
type Command = keyof typeof COMMANDS;
const isCommand = (x: string): x is Command => Object.hasOwn(COMMANDS, x);

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

function main(argv: string[]): void {
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
      const cmp = compareModes(s, { modes: a.flags.modes ?? [...PAGING_MODES], now: () => performance.now() });
      process.stdout.write(a.flags.json ? JSON.stringify(cmp) + '\n' : formatCompare(cmp) + '\n');
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

/** What a command's help says beyond its flags. */
const MORE_HELP: Partial<Record<Command, string>> = {
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
  main(process.argv.slice(2));
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

/**
 * The `lab` command line's commands: their arguments and flags, declared once. Anything not
 * declared here is refused. Kept apart from lab.ts (which runs on import) so that tests and the
 * batch manifests' checks parse a command line with the CLI's own parser.
 */
import { PAGING_MODES } from '../api/index.js';
import { parseShard } from '../sim/sweep.js';
import { parseList, parseUint32, switchFlag, valueFlag } from './args.js';
import { MAX_JOBS, parseJobs } from './pool.js';

const jobsFlag = valueFlag('--jobs', 'N', `an integer 1..${MAX_JOBS}`, 'runs at once, each on its own thread; default the number of cores; 1 runs them one after another in-process', parseJobs);

/** Every command, its arguments and its flags. Anything not declared here is refused. */
export const COMMANDS = {
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
      jobs: jobsFlag,
      deterministic: switchFlag('--deterministic', "write 0 for each run's wallMs (the one measured field), so the same seed gives the same bytes"),
    },
    summary: "run the first guest's workload under each mode, everything else equal",
  },
  sweep: {
    args: ['spec.json'],
    flags: {
      json: switchFlag('--json', 'print exactly one JSON document on stdout instead of a table'),
      jobs: jobsFlag,
      shard: valueFlag('--shard', 'i/n', 'i/n with 0 <= i < n, numbered from 0', "run only shard i of n (the values i, i+n, i+2n, … of the spec, all modes) and write it into --out's directory", parseShard),
      out: valueFlag('--out', 'dir', 'a directory, created if missing', 'with --shard: where the shard file goes', (v) => (v === '' ? { ok: false, why: 'empty path' } : { ok: true, value: v })),
    },
    summary: 'run every (value, mode) of a sweep spec: one numeric workload parameter of the first guest over its values',
  },
  merge: {
    args: ['dir'],
    flags: {
      json: switchFlag('--json', 'print exactly one JSON document on stdout instead of a table'),
    },
    summary: "put the shard files of a directory together: the same output as the sweep run unsharded",
  },
  reproduce: {
    args: ['file|dir'],
    flags: {
      json: switchFlag('--json', 'print exactly one JSON document on stdout instead of tables'),
    },
    summary: 'run published results (a reproduction file, or every *.json of a directory): paper beside lab per row',
  },
} as const;
export type Command = keyof typeof COMMANDS;
export const isCommand = (x: string): x is Command => Object.hasOwn(COMMANDS, x);


/**
 * Parallel compares and sweeps (issue 15): `--jobs N` gives the same bytes as a serial run, a sweep
 * cut into shards and merged gives the same bytes as the sweep run whole, the merge refuses shard
 * sets that are not one whole sweep, and the batch manifests (Slurm, Kubernetes) run valid CLI
 * command lines. Run as a user would: the CLI in child processes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { parseArgs } from '../../core/cli/args.js';
import { COMMANDS } from '../../core/cli/commands.js';
import { labRunner, scratch, TSX } from './labProcess.js';

// Each test spawns a few CLI processes (start-up included); on a busy 2-core machine that is slow.
vi.setConfig({ testTimeout: 300_000 });

const lab = labRunner(120_000);
/** The same, without waiting: several at once, as shards on a cluster run. */
const labAsync = (cmd: string, args: string[], env: Record<string, string> = {}) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });

const { dir, write } = scratch('hyperlab-parallel-');

/** A small scenario: a few thousand accesses, so every run takes a fraction of a second. */
const scenario = {
  name: 'small-update',
  machine: { memoryMiB: 1024, pcpus: 1 },
  hypervisor: 'xen',
  domains: [
    { name: 'g1', mode: 'pv', memoryMiB: 128, vcpus: 1, workload: { kind: 'update-vs-access', workingSetMiB: 16, accesses: 3000, updatesPerKiloAccess: 20, updateKind: 'mix' } },
  ],
};
const scenarioFile = write('small.json', scenario);
/** Five values, two modes: ten runs, in the spec's order value by value. */
const spec = { scenario: 'small.json', modes: ['pv', 'hap'], param: 'updatesPerKiloAccess', values: [0, 10, 40, 20, 80], seed: 7 };
const specFile = write('sweep.json', spec);

describe('lab compare --jobs', () => {
  it('gives the same bytes with 1 and 2 threads for four modes, in the order of --modes; only wallMs is measured', () => {
    const args = ['compare', scenarioFile, '--modes', 'hap,native,shadow,pv', '--json'];
    const serial = lab(...args, '--deterministic', '--jobs', '1');
    const parallel = lab(...args, '--deterministic', '--jobs', '2');
    expect(serial.status, serial.stderr).toBe(0);
    expect(parallel.status, parallel.stderr).toBe(0);
    expect(parallel.stdout).toBe(serial.stdout);
    const doc = JSON.parse(serial.stdout);
    // Run order, never completion order: the order asked for, each run its own mode.
    expect(doc.modes).toEqual(['hap', 'native', 'shadow', 'pv']);
    expect(doc.runs.map((r: any) => r.results.domains.find((d: any) => d.name === 'g1').mode)).toEqual(['hap', 'native', 'shadow', 'pv']);
    // --deterministic writes 0 for the one measured field; without it that is the only difference.
    expect(doc.runs.every((r: any) => r.results.wallMs === 0)).toBe(true);
    const timed = JSON.parse(lab(...args, '--jobs', '2').stdout);
    expect(timed.runs.every((r: any) => r.results.wallMs > 0)).toBe(true);
    for (const r of timed.runs) r.results.wallMs = 0;
    expect(timed).toEqual(doc);
  });

  const bad: [string[], string][] = [
    [['--jobs', '0'], '--jobs: 0 threads cannot run anything; allowed: an integer 1..256'],
    [['--jobs', 'abc'], '--jobs: "abc" is not a whole number; allowed: an integer 1..256'],
    [['--jobs', '1.5'], '--jobs: "1.5" is not a whole number; allowed: an integer 1..256'],
    [['--jobs=-2'], '--jobs: "-2" is not a whole number; allowed: an integer 1..256'],
    [['--jobs', '257'], '--jobs: 257 is more than 256; allowed: an integer 1..256'],
    [['--jobs'], '--jobs needs a value: --jobs N, an integer 1..256'],
  ];
  it('refuses a bad --jobs naming the flag and what is allowed (the CLI\'s parser, compare and sweep)', () => {
    for (const [args, message] of bad) {
      expect(() => parseArgs('compare', COMMANDS.compare, ['x.json', ...args])).toThrow(`compare: ${message}`);
      expect(() => parseArgs('sweep', COMMANDS.sweep, ['x.json', ...args])).toThrow(`sweep: ${message}`);
    }
    expect(parseArgs('compare', COMMANDS.compare, ['x.json', '--jobs', '3'])).toEqual({ args: ['x.json'], flags: { jobs: 3 } });
  });

  it('exits 2 for a bad --jobs, with the message on stderr and nothing on stdout', () => {
    const r = lab('compare', scenarioFile, '--jobs', '0');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`lab: compare: ${bad[0]![1]}`);
    expect(r.stdout).toBe('');
  });
});

let serialJson = '';
let sweepTable = '';
describe('lab sweep', () => {
  it('gives the same bytes with 1 and 2 threads; one point per value in the spec’s order, modes in theirs', () => {
    const serial = lab('sweep', specFile, '--json', '--jobs', '1');
    const parallel = lab('sweep', specFile, '--json', '--jobs', '2');
    expect(serial.status, serial.stderr).toBe(0);
    expect(parallel.stdout).toBe(serial.stdout);
    serialJson = serial.stdout;
    const doc = JSON.parse(serial.stdout);
    expect(doc.param).toBe('updatesPerKiloAccess');
    expect(doc.seed).toBe(7);
    expect(doc.points.map((p: any) => p.value)).toEqual(spec.values);
    for (const p of doc.points) {
      expect(p.runs.map((r: any) => r.mode)).toEqual(['pv', 'hap']);
      expect(p.runs.every((r: any) => r.results.wallMs === 0 && r.results.seed === 7)).toBe(true);
    }
  });

  it('each point is the compare of the scenario with the parameter at that value (same per-run JSON)', () => {
    const at40 = structuredClone(scenario) as any;
    at40.domains[0].workload.updatesPerKiloAccess = 40;
    at40.seed = 7;
    const cmp = JSON.parse(lab('compare', write('at40.json', at40), '--modes', 'pv,hap', '--json', '--deterministic', '--jobs', '1').stdout);
    const doc = JSON.parse(serialJson);
    expect(doc.points[2].value).toBe(40);
    expect(doc.points[2].runs).toEqual(cmp.runs);
  });

  it('prints a table: one row per value, one column per mode', () => {
    const r = lab('sweep', specFile, '--jobs', '2');
    expect(r.status, r.stderr).toBe(0);
    sweepTable = r.stdout;
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^small-update: update-vs-access, updatesPerKiloAccess over 5 values, seed 7/);
    expect(lines[1]!.split(/\s+/).filter(Boolean)).toEqual(['updatesPerKiloAccess', 'pv', 'hap']);
    expect(lines.slice(3).map((l) => l.trim().split(/\s+/)[0])).toEqual(spec.values.map(String));
  });

  it('checks the spec with field paths, every problem at once (exit 1)', () => {
    const r = lab(
      'sweep',
      write('bad-spec.json', { scenario: 'small.json', modes: ['pv', 'turbo', 'pv'], param: 'updatesPerKiloAccess', values: [1, 'x', 1, 5000], seed: -1, colour: 'red' }),
    );
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n').map((l) => l.replace(/^.*bad-spec\.json: /, ''));
    expect(lines).toContain('colour: unknown field; a sweep spec has scenario, modes, param, values, seed');
    expect(lines).toContain('modes[1]: unknown paging mode "turbo"; one of native, pv, shadow, hap');
    expect(lines).toContain('modes[2]: mode "pv" given twice');
    expect(lines).toContain('values[1]: not a number: "x"');
    expect(lines).toContain('values[2]: 1 given twice');
    // 5000 is above the schema's 1000 updates per thousand accesses.
    expect(lines.some((l) => l.startsWith('values[3]: updatesPerKiloAccess = 5000: domains[0].workload.updatesPerKiloAccess:'))).toBe(true);
    expect(lines.some((l) => l.startsWith('seed: an integer 0..4294967295'))).toBe(true);
  });

  it('names the numeric parameters the workload has when param is not one, and a scenario problem by its path', () => {
    const r = lab('sweep', write('bad-param.json', { ...spec, param: 'updateKind' }));
    expect(r.status).toBe(1);
    const m = /param: the update-vs-access workload of g1 has no numeric parameter "updateKind" \(it has: (.*)\)/.exec(r.stderr);
    expect(m?.[1]!.split(', ').sort()).toEqual(['accesses', 'updatesPerKiloAccess', 'workingSetMiB']);
    const inline = structuredClone(scenario) as any;
    inline.domains[0].memoryMiB = 'lots';
    const r2 = lab('sweep', write('bad-inline.json', { ...spec, scenario: inline }));
    expect(r2.status).toBe(1);
    expect(r2.stderr).toMatch(/bad-inline\.json: scenario\.domains\[0\]\.memoryMiB: /);
    const r3 = lab('sweep', write('no-scenario.json', { ...spec, scenario: 'nowhere.json' }));
    expect(r3.status).toBe(2);
    expect(r3.stderr).toMatch(/cannot read .*nowhere\.json: ENOENT/);
  });

  it('--shard and --out go together; a shard number at or above n is refused (exit 2)', () => {
    const r = lab('sweep', specFile, '--shard', '0/2');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--shard and --out go together/);
    expect(() => parseArgs('sweep', COMMANDS.sweep, ['s.json', '--shard', '2/2'])).toThrow('--shard: i = 2 is not below n = 2; allowed: i/n with 0 <= i < n, numbered from 0');
    expect(() => parseArgs('sweep', COMMANDS.sweep, ['s.json', '--shard', '1/0'])).toThrow('--shard: n = 0 is out of range');
    expect(() => parseArgs('sweep', COMMANDS.sweep, ['s.json', '--shard', '1'])).toThrow('--shard: "1" is not i/n');
  });
});

describe('lab sweep --shard and lab merge', () => {
  const shardsDir = join(dir, 'shards');
  let unsharded = '';

  it('four shards run as separate processes merge into the same bytes as the unsharded sweep', async () => {
    unsharded = serialJson;
    expect(unsharded).not.toBe('');
    const runs = await Promise.all([0, 1, 2, 3].map((i) => labAsync(TSX, ['core/cli/lab.ts', 'sweep', specFile, '--shard', `${i}/4`, '--out', shardsDir, '--jobs', '1'])));
    for (const r of runs) expect(r.status, r.stderr).toBe(0);
    // One file per shard, no temporary left behind.
    expect(readdirSync(shardsDir).sort()).toEqual(['shard-0-of-4.json', 'shard-1-of-4.json', 'shard-2-of-4.json', 'shard-3-of-4.json']);
    // Round-robin by the value's place: shard 0 has values 0 and 4 (two modes each), the others one value.
    const counts = [0, 1, 2, 3].map((i) => JSON.parse(readFileSync(join(shardsDir, `shard-${i}-of-4.json`), 'utf8')).items.length);
    expect(counts).toEqual([4, 2, 2, 2]);
    const merged = lab('merge', shardsDir, '--json');
    expect(merged.status, merged.stderr).toBe(0);
    expect(merged.stdout).toBe(unsharded);
    // And the table is the sweep's table.
    expect(lab('merge', shardsDir).stdout).toBe(sweepTable);
  });

  const variant = (name: string, change: (d: string) => void) => {
    const d = join(dir, name);
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d);
    for (const f of readdirSync(shardsDir)) copyFileSync(join(shardsDir, f), join(d, f));
    change(d);
    return d;
  };

  it('names a missing shard (exit 1)', () => {
    const d = variant('missing', (x) => rmSync(join(x, 'shard-2-of-4.json')));
    const r = lab('merge', d, '--json');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/missing shard 2 of 4 \(shards are numbered 0\.\.3; have 0, 1, 3\)/);
    expect(r.stdout).toBe('');
  });

  it('names a shard given twice (exit 1)', () => {
    const d = variant('twice', (x) => copyFileSync(join(x, 'shard-1-of-4.json'), join(x, 'shard-1-copy.json')));
    const r = lab('merge', d);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/shard 1 of 4 given twice: shard-1-copy\.json and shard-1-of-4\.json/);
  });

  it("refuses another sweep's shard, and a shard cut into another n (exit 1)", () => {
    const other = write('other-spec.json', { ...spec, seed: 8 });
    const d = variant('foreign', (x) => {
      rmSync(join(x, 'shard-3-of-4.json'));
      expect(lab('sweep', other, '--shard', '3/4', '--out', x, '--jobs', '1').status).toBe(0);
    });
    const r = lab('merge', d);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/shard-3-of-4\.json belongs to another sweep than shard-0-of-4\.json: spec [0-9a-f]{12}… in 4 shards, against spec [0-9a-f]{12}… in 4 shards/);
    // The same spec cut into 2: its shard 1 says so.
    const d2 = variant('other-n', (x) => {
      const f = JSON.parse(readFileSync(join(x, 'shard-3-of-4.json'), 'utf8'));
      rmSync(join(x, 'shard-3-of-4.json'));
      writeFileSync(join(x, 'shard-1-of-2.json'), JSON.stringify({ ...f, shard: 1, shards: 2 }));
    });
    const r2 = lab('merge', d2);
    expect(r2.status).toBe(1);
    expect(r2.stderr).toMatch(/in 2 shards, against spec .* in 4 shards/);
  });

  it('refuses a file that is not a shard, an empty directory (exit 1) and a directory that does not exist (exit 2)', () => {
    const d = variant('stray', (x) => writeFileSync(join(x, 'notes.json'), '{"hello": 1}'));
    const r = lab('merge', d);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/notes\.json: not a sweep shard \(format undefined; expected "hyperlab-sweep-shard\/1"\)/);
    const empty = join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    expect(lab('merge', empty).stderr).toMatch(/no shard files \(\*\.json\) to merge/);
    expect(lab('merge', join(dir, 'absent')).status).toBe(2);
  });
});

// ---------------------------------------------------------------------------------------------
// The batch manifests

/** The words of a shell command line, with `$VAR`, `${VAR}` and `${VAR:-default}` from `env` (enough for these scripts). */
function shellWords(line: string, env: Record<string, string>): string[] {
  const expanded = line.replace(/\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)/g, (_, a: string | undefined, def: string | undefined, b: string | undefined) => {
    const name = (a ?? b)!;
    const v = env[name] ?? def;
    if (v === undefined) throw new Error(`unset variable ${name} in: ${line}`);
    return v;
  });
  const words: string[] = [];
  for (const m of expanded.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) words.push(m[1] ?? m[2] ?? m[3]!);
  return words;
}

/** The `lab` invocation in a command: the words after `tsx core/cli/lab.ts` (or `npm run lab --`). */
function labArgs(words: string[]): string[] {
  const i = words.indexOf('core/cli/lab.ts');
  if (i >= 0) return words.slice(i + 1);
  const j = words.indexOf('--');
  if (words.includes('lab') && j >= 0) return words.slice(j + 1);
  throw new Error(`not a lab command: ${words.join(' ')}`);
}

const yaml = createRequire(import.meta.url)('js-yaml') as { load(text: string): unknown };

describe('deploy/slurm/sweep.sbatch', () => {
  const text = readFileSync('deploy/slurm/sweep.sbatch', 'utf8');
  const sbatch = text.split('\n').filter((l) => l.startsWith('#SBATCH '));
  const directive = (name: string) => sbatch.map((l) => l.slice('#SBATCH '.length).trim()).find((d) => d.startsWith(`--${name}=`))?.split('=')[1];

  it('is a bash script whose #SBATCH lines come before the first command and make a 0-based job array', () => {
    expect(text.startsWith('#!/bin/bash\n')).toBe(true);
    expect(spawnSync('bash', ['-n', 'deploy/slurm/sweep.sbatch']).status).toBe(0);
    // sbatch stops reading directives at the first command.
    const lines = text.split('\n');
    const firstCommand = lines.findIndex((l) => l.trim() !== '' && !l.startsWith('#'));
    const lastDirective = lines.map((l) => l.startsWith('#SBATCH ')).lastIndexOf(true);
    expect(lastDirective).toBeLessThan(firstCommand);
    // Every directive is --name=value or --name value, of sbatch's long options.
    for (const l of sbatch) expect(l).toMatch(/^#SBATCH --[a-z-]+(=\S+| \S+)?$/);
    expect(directive('array')).toMatch(/^0-\d+$/);
    expect(directive('ntasks')).toBe('1');
    expect(Number(directive('cpus-per-task'))).toBeGreaterThan(0);
  });

  it('runs a valid `lab sweep --shard i/n --out dir` for every array task, and its merge step is a valid `lab merge`', () => {
    const n = Number(directive('array')!.split('-')[1]) + 1;
    const line = text.split('\n').find((l) => l.includes('core/cli/lab.ts') && !l.startsWith('#'))!;
    for (let i = 0; i < n; i++) {
      const env = { SPEC: 'examples/sweeps/update-ratio-20.json', OUT: 'sweep-out', SHARDS: String(n), SLURM_ARRAY_TASK_ID: String(i), SLURM_CPUS_PER_TASK: directive('cpus-per-task')! };
      const argv = labArgs(shellWords(line, env));
      expect(argv[0]).toBe('sweep');
      const a = parseArgs('sweep', COMMANDS.sweep, argv.slice(1));
      expect(a).not.toBe('help');
      if (a === 'help') return;
      expect(a.flags.shard).toEqual({ shard: i, shards: n });
      expect(a.flags.out).toBe('sweep-out');
      expect(existsSync(a.args[0]!)).toBe(true);
    }
    const merge = text.split('\n').find((l) => l.includes(' merge '))!;
    const words = shellWords(merge.replace(/^#\s*/, '').replace(/^.*--wrap "/, '').replace(/ >.*$/, ''), {});
    const m = labArgs(words);
    expect(m[0]).toBe('merge');
    expect(parseArgs('merge', COMMANDS.merge, m.slice(1))).toEqual({ args: ['sweep-out'], flags: { json: true } });
  });

  it('run by bash as four array tasks would run it, its shards merge into the unsharded sweep', async () => {
    const out = join(dir, 'slurm-out');
    const runs = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        labAsync('bash', ['deploy/slurm/sweep.sbatch', specFile, out], { SLURM_ARRAY_TASK_ID: String(i), SLURM_ARRAY_TASK_COUNT: '4', SLURM_CPUS_PER_TASK: '1' }),
      ),
    );
    for (const r of runs) expect(r.status, r.stderr).toBe(0);
    expect(serialJson).not.toBe('');
    expect(lab('merge', out, '--json').stdout).toBe(serialJson);
  });
});

describe('deploy/k8s/sweep-job.yaml', () => {
  const job = yaml.load(readFileSync('deploy/k8s/sweep-job.yaml', 'utf8')) as any;

  it('is a batch/v1 Indexed Job with one completion per shard', () => {
    expect(job.apiVersion).toBe('batch/v1');
    expect(job.kind).toBe('Job');
    expect(typeof job.metadata.name).toBe('string');
    expect(job.spec.completionMode).toBe('Indexed');
    expect(Number.isInteger(job.spec.completions) && job.spec.completions > 0).toBe(true);
    expect(job.spec.parallelism).toBeGreaterThan(0);
    expect(job.spec.parallelism).toBeLessThanOrEqual(job.spec.completions);
    // A Job's pods may not restart Always; a per-index backoff needs Never.
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
    const c = job.spec.template.spec.containers;
    expect(c).toHaveLength(1);
    const env = Object.fromEntries(c[0].env.map((e: any) => [e.name, e.value]));
    expect(Number(env.SHARDS)).toBe(job.spec.completions);
    // The volume the shards go to is mounted where --out points.
    const mounts = c[0].volumeMounts.map((m: any) => m.name);
    expect(job.spec.template.spec.volumes.map((v: any) => v.name)).toEqual(expect.arrayContaining(mounts));
  });

  it('runs a valid `lab sweep --shard k/n --out dir` for every completion index', () => {
    const c = job.spec.template.spec.containers[0];
    expect(c.command).toEqual(['sh', '-c']);
    const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value]));
    for (let k = 0; k < job.spec.completions; k++) {
      const argv = labArgs(shellWords(c.args[0], { ...env, JOB_COMPLETION_INDEX: String(k) }));
      expect(argv[0]).toBe('sweep');
      const a = parseArgs('sweep', COMMANDS.sweep, argv.slice(1));
      if (a === 'help') throw new Error('help');
      expect(a.flags.shard).toEqual({ shard: k, shards: job.spec.completions });
      expect(a.flags.out!.startsWith(c.volumeMounts[0].mountPath + '/')).toBe(true);
      expect(existsSync(a.args[0]!)).toBe(true);
    }
  });
});

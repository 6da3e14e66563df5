/**
 * What the `lab` command line refuses, run as a user would (DESIGN.md §6: unknown CLI flags are
 * errors, as unknown scenario fields are). A refusal exits 2, prints nothing on stdout, and says
 * on stderr which argument was wrong and what is allowed, followed by the command's usage.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const TSX = join(process.cwd(), 'node_modules', '.bin', 'tsx');
const lab = (...args: string[]) => spawnSync(TSX, ['core/cli/lab.ts', ...args], { encoding: 'utf8', timeout: 60_000 });
const dir = mkdtempSync(join(tmpdir(), 'hyperlab-cli-usage-'));
const write = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};

const scenario = write(
  'walk.json',
  JSON.stringify({
    name: 'walk',
    machine: { memoryMiB: 2048, pcpus: 1 },
    hypervisor: 'xen',
    domains: [{ name: 'g1', mode: 'hap', memoryMiB: 256, vcpus: 1, guestPageSize: '4k', hostPageSize: '4k', workload: { kind: 'cold-walk', pages: 8 } }],
  }),
);

/** A refusal: exit 2, stdout empty, the first stderr line matches, then the command's usage. */
function expectRefused(r: ReturnType<typeof lab>, firstLine: RegExp, usageOf: string) {
  expect(r.status, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n');
  expect(lines[0]).toMatch(/^lab: /);
  expect(lines[0]).toMatch(firstLine);
  expect(lines[1]).toMatch(new RegExp(`^usage: lab ${usageOf}`));
}

describe('lab refuses what it does not know', () => {
  it.each([
    ['validate', [scenario, '--bogus-flag'], 'only --help'],
    ['run', [scenario, '--json', '--bogus-flag'], '--json, --seed, --help'],
    ['compare', [scenario, '--bogus-flag'], '--modes, --json, --jobs, --deterministic, --help'],
    ['merge', ['.', '--bogus-flag'], '--json, --help'],
  ])('an unknown flag on %s: named, with the flags the command takes', (cmd, args, takes) => {
    const r = lab(cmd, ...args);
    expectRefused(r, new RegExp(`unknown flag --bogus-flag; ${cmd} takes ${takes.replace(/-/g, '\\-')}$`), cmd);
  });

  // --jobs N is compare's and sweep's (issue 15); run has one run, nothing to share out.
  it('--jobs 2 on run, as an unknown flag', () => {
    expectRefused(lab('run', scenario, '--jobs', '2'), /unknown flag --jobs;/, 'run');
  });

  it('sweep --shard without --out: a usage error naming both', () => {
    const r = lab('sweep', scenario, '--shard', '1/2');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^lab: sweep: --shard and --out go together/);
  });

  it('a flag that needs a value, given none (at the end, or followed by another flag)', () => {
    expectRefused(lab('run', scenario, '--seed'), /--seed needs a value: --seed N, an integer 0\.\.4294967295/, 'run');
    expectRefused(lab('run', scenario, '--seed', '--json'), /--seed needs a value/, 'run');
    expectRefused(lab('compare', scenario, '--modes'), /--modes needs a value: --modes M,M…, a comma-separated list of native, pv, shadow, hap/, 'compare');
  });

  it.each([
    [['run', scenario, '--seed', 'seven'], /--seed: "seven" is not a decimal integer; allowed: an integer 0\.\.4294967295/],
    [['run', scenario, '--seed=-1'], /--seed: "-1" is not a decimal integer/],
    [['run', scenario, '--seed', '4294967296'], /--seed: 4294967296 is too large/],
    [['run', scenario, '--json=yes'], /--json takes no value \(got "yes"\)/],
    [['compare', scenario, '--modes', 'pv,,hap'], /--modes: empty mode in "pv,,hap"/],
    [['compare', scenario, '--modes', 'pv,pv'], /--modes: mode "pv" given twice/],
  ])('a bad value: %j', (args, line) => {
    expectRefused(lab(...args), line, args[0]!);
  });

  it('a flag given twice', () => {
    expectRefused(lab('run', scenario, '--seed', '1', '--seed', '2'), /--seed given twice/, 'run');
  });

  it('an extra positional argument, and a missing one', () => {
    expectRefused(lab('run', scenario, 'other.json', '--json'), /unexpected argument "other\.json"; run takes one <scenario\.json>/, 'run');
    expectRefused(lab('validate'), /validate: missing <scenario\.json>/, 'validate');
  });

  it('no command at all: the general usage on stderr, exit 2', () => {
    const r = lab();
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^lab: missing <command>\nusage: lab <command>/);
  });
});

describe('lab --help', () => {
  it('prints the usage of every command on stdout and exits 0', () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const r = lab(...args);
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^usage: lab <command>/);
      for (const synopsis of ['lab validate <scenario.json>', 'lab run <scenario.json> [--json] [--seed N]', 'lab compare <scenario.json> [--modes M,M…] [--json]']) {
        expect(r.stdout).toContain(synopsis);
      }
    }
  });

  it("prints one command's flags, wherever --help is, and runs nothing", () => {
    for (const args of [['run', '--help'], ['help', 'run'], ['run', scenario, '--json', '--help']]) {
      const r = lab(...args);
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^usage: lab run <scenario\.json> \[--json\] \[--seed N\]\n/);
      expect(r.stdout).toMatch(/^ {2}--seed N {2}.*an integer 0\.\.4294967295/m);
      expect(r.stdout).not.toMatch(/"domains"/);
    }
  });
});

describe('flags the parser accepts reach the run', () => {
  it('--seed N and --seed=N both set the seed of the results', () => {
    for (const args of [['--seed', '7'], ['--seed=7']]) {
      const r = lab('run', scenario, ...args, '--json');
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.trim().split('\n')).toHaveLength(1);
      expect(JSON.parse(r.stdout).seed).toBe(7);
    }
  });
});

describe('a scenario that is not JSON', () => {
  it('is reported with its line and column, on one line', () => {
    // Line 3 is `  "machine": {,` — two spaces, `"machine":` (10), a space, `{`: the comma is column 15.
    const f = write('broken.json', '{\n  "name": "walk",\n  "machine": {,\n  "hypervisor": "xen"\n}\n');
    const r = lab('validate', f);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('(file): not valid JSON at line 3, column 15: expected a double-quoted property name, found ","\n');
  });

  it('says where an unquoted word is (JSON.parse itself gives no position for it)', () => {
    const f = write('unquoted.json', '{\n  "name": walk\n}\n');
    const r = lab('run', f, '--json');
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('(file): not valid JSON at line 2, column 11: expected a value, found "walk" (strings need double quotes)\n');
  });
});

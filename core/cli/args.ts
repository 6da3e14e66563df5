/**
 * The `lab` command line's argument parser: each command declares its positional arguments and
 * its flags with their value types, and anything else is refused (DESIGN.md §6: unknown CLI
 * flags are errors, as unknown scenario fields are). Pure (no Node), so it is unit-tested
 * directly; lab.ts turns a UsageError into a message and exit code 2.
 */

export class UsageError extends Error {
  /** The command whose usage to show, or undefined for the general usage. */
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

/** A flag: `--json` (no value) or `--seed N` / `--seed=N` (a value, parsed and checked). */
export interface FlagSpec<T> {
  /** `--seed`. */
  name: `--${string}`;
  /** `N` in `--seed N`; absent for a flag that takes no value. */
  metavar?: string;
  /** What values are allowed, for messages: `an integer 0..4294967295`. */
  allowed?: string;
  help: string;
  /** Returns the value, or a string saying what is wrong with it. */
  parse: (value: string) => { ok: true; value: T } | { ok: false; why: string };
}

export interface CommandSpec<F extends Record<string, FlagSpec<unknown>>> {
  /** Positional arguments, all required: `['scenario.json']`. */
  args: readonly string[];
  flags: F;
  summary: string;
}

export type FlagValues<F extends Record<string, FlagSpec<unknown>>> = {
  [K in keyof F]?: F[K] extends FlagSpec<infer T> ? T : never;
};

export interface Parsed<F extends Record<string, FlagSpec<unknown>>> {
  args: string[];
  flags: FlagValues<F>;
}

/** A flag that takes no value; its value is `true` when given. */
export function switchFlag(name: `--${string}`, help: string): FlagSpec<true> {
  return { name, help, parse: () => ({ ok: true, value: true }) };
}

export function valueFlag<T>(
  name: `--${string}`,
  metavar: string,
  allowed: string,
  help: string,
  parse: FlagSpec<T>['parse'],
): FlagSpec<T> {
  return { name, metavar, allowed, help, parse };
}

/** `--seed N` … as a usage synopsis: `[--json] [--seed N]`. */
export function synopsis(cmd: string, spec: CommandSpec<Record<string, FlagSpec<unknown>>>): string {
  const flags = Object.values(spec.flags).map((f) => `[${f.name}${f.metavar ? ` ${f.metavar}` : ''}]`);
  return ['lab', cmd, ...spec.args.map((a) => `<${a}>`), ...flags].join(' ');
}

/** The usage of one command: synopsis, summary and one line per flag. */
export function commandUsage(cmd: string, spec: CommandSpec<Record<string, FlagSpec<unknown>>>): string {
  const flags = Object.values(spec.flags);
  const left = flags.map((f) => `${f.name}${f.metavar ? ` ${f.metavar}` : ''}`);
  const width = Math.max(8, ...left.map((l) => l.length));
  const lines = [`usage: ${synopsis(cmd, spec)}`, `  ${spec.summary}`];
  flags.forEach((f, i) => lines.push(`  ${left[i]!.padEnd(width)}  ${f.help}${f.allowed ? ` (${f.allowed})` : ''}`));
  lines.push(`  ${'--help'.padEnd(width)}  print this and exit`);
  return lines.join('\n');
}

/**
 * Parses the arguments after the command name. `--help` / `-h` anywhere returns 'help'. Throws a
 * UsageError naming the offending argument and what is allowed instead.
 */
export function parseArgs<F extends Record<string, FlagSpec<unknown>>>(
  cmd: string,
  spec: CommandSpec<F>,
  argv: readonly string[],
): Parsed<F> | 'help' {
  if (argv.some((a) => a === '--help' || a === '-h')) return 'help';
  const byName = new Map<string, [keyof F, FlagSpec<unknown>]>();
  for (const [key, f] of Object.entries(spec.flags)) byName.set(f.name, [key, f]);
  const known = () => (byName.size > 0 ? [...byName.keys(), '--help'].join(', ') : 'only --help');
  const args: string[] = [];
  const flags: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-') || a === '-') {
      args.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    const entry = byName.get(name);
    if (!entry) throw new UsageError(`${cmd}: unknown flag ${name}; ${cmd} takes ${known()}`, cmd);
    const [key, f] = entry;
    if (key in flags) throw new UsageError(`${cmd}: ${name} given twice`, cmd);
    let raw: string;
    if (!f.metavar) {
      if (eq > 0) throw new UsageError(`${cmd}: ${name} takes no value (got "${a.slice(eq + 1)}")`, cmd);
      raw = '';
    } else if (eq > 0) {
      raw = a.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        throw new UsageError(`${cmd}: ${name} needs a value: ${name} ${f.metavar}, ${f.allowed}`, cmd);
      }
      raw = next;
      i++;
    }
    const v = f.parse(raw);
    if (!v.ok) throw new UsageError(`${cmd}: ${name}: ${v.why}; allowed: ${f.allowed}`, cmd);
    flags[key as string] = v.value;
  }
  if (args.length < spec.args.length) {
    throw new UsageError(`${cmd}: missing ${spec.args.slice(args.length).map((x) => `<${x}>`).join(' ')}`, cmd);
  }
  if (args.length > spec.args.length) {
    const extra = args.slice(spec.args.length).map((x) => `"${x}"`).join(', ');
    const takes = spec.args.length === 1 ? `one <${spec.args[0]}>` : `${spec.args.length} arguments`;
    throw new UsageError(`${cmd}: unexpected argument ${extra}; ${cmd} takes ${takes}`, cmd);
  }
  return { args, flags: flags as FlagValues<F> };
}

/** An integer 0 .. 2^32−1, in decimal (what a scenario's `seed` accepts). */
export function parseUint32(s: string): { ok: true; value: number } | { ok: false; why: string } {
  if (!/^\d+$/.test(s)) return { ok: false, why: `"${s}" is not a decimal integer` };
  const n = Number(s);
  if (n > 0xffffffff) return { ok: false, why: `${s} is too large` };
  return { ok: true, value: n };
}

/** A comma-separated list of distinct members of `allowed`. */
export function parseList<T extends string>(
  allowed: readonly T[],
  what: string,
): (s: string) => { ok: true; value: T[] } | { ok: false; why: string } {
  return (s) => {
    const out: T[] = [];
    for (const x of s.split(',').map((y) => y.trim())) {
      if (x === '') return { ok: false, why: `empty ${what} in "${s}"` };
      if (!(allowed as readonly string[]).includes(x)) return { ok: false, why: `unknown ${what} "${x}"` };
      if (out.includes(x as T)) return { ok: false, why: `${what} "${x}" given twice` };
      out.push(x as T);
    }
    return { ok: true, value: out };
  };
}

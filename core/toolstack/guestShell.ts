/**
 * The shell on a domain's console: a line editor, a prompt, and commands that act on the live
 * simulation — `run` starts a workload in this domain's kernel (foreground: the prompt returns
 * when it ends or on Ctrl-C, with a summary from the domain's counters), `free` and `ps` read the
 * kernel's allocator and processes, `dmesg` shows the boot log and later kernel messages, and
 * the xenstore tools run as this domain. dom0's shell adds the toolstack (see xlShell.ts).
 *
 * Job control as bash has it: `run … &` starts the workload in the background (`[1] <pid>`) and
 * the prompt returns at once, so `ps`, `free` and `vmstat` can watch it; `jobs` lists it, `fg`
 * brings it to the foreground, `kill %1` ends it, and when it ends bash's `[1]+  Done …` line is
 * printed before the next prompt. Ctrl-C interrupts the foreground job only. While a foreground
 * job runs, what is typed is echoed and read by the next prompt (type-ahead, see lineEditor.ts).
 * A domain's kernel runs one workload at a time: `run` while one runs says which and what to do.
 */
import { validateScenario, type Workload } from '../api/scenario.js';
import { parseWorkloadArgs, workloadShapes, workloadUsage, formatWorkload } from '../api/workloadSpec.js';
import type { Vm } from '../vm/vm.js';
import type { Job, Simulation } from '../sim/simulation.js';
import { splitWords, type Word } from './argv.js';
import { cyclesToSeconds, stamp, stampedBoot } from './bootLog.js';
import { LineEditor } from './lineEditor.js';
import { footprintPages, interrupt, reap, startShellJob, summaryLine, watch, type ShellJob } from './shellJob.js';
import { freeCommand, psCommand } from './procTools.js';
import type { Xenstore } from './xenstore.js';
import { XENSTORE_COMMANDS, xenstoreTool } from './xenstoreCli.js';
import { Vmstat } from './vmstat.js';

export interface ShellEnv {
  readonly sim: Simulation;
  readonly store: Xenstore;
  /** Work was started: the session should resume stepping. */
  kick(): void;
}

export interface ShellCommand {
  /** `name args`, as help shows it. */
  usage: string;
  summary: string;
  run(args: Word[], sh: DomainShell): void;
}

const CLEAR = '\x1b[H\x1b[2J\x1b[3J';

/** A job in the shell's job table (bash's jobs.c): a workload started with `run`. */
export interface JobEntry {
  /** Job number, `%n`. */
  readonly n: number;
  readonly sj: ShellJob;
  /** The command line as typed, without a trailing `&`. */
  readonly command: string;
  /** The workload's first process (bash prints the job's pid). */
  readonly pid: number;
}

/** Status words as bash's `jobs` and its notifications print them (jobs.c, padded to 24). */
const STATUS_WIDTH = 24;

export class DomainShell {
  readonly editor: LineEditor;
  readonly commands = new Map<string, ShellCommand>();
  /** The foreground job (started without `&`, or brought back with `fg`). */
  private fg: JobEntry | null = null;
  /** Background jobs still running or not yet reported, by job number. */
  private readonly table: JobEntry[] = [];
  /** What bash prints before the next prompt: background jobs that ended ("[1]+  Done …"). */
  private readonly notices: { j: JobEntry; mark: string; status: string }[] = [];
  /** The line being executed: its text without `&`, and whether it ended with `&`. */
  private line: { command: string; background: boolean } = { command: '', background: false };
  /** The scenario's workload for this domain, watched so its end is reported once. */
  private bootJob: { job: Job; seen: { completed: boolean } } | null = null;
  private readonly dmesgLines: string[] = [];
  /** `vmstat` printing in the foreground. */
  private vmstat: Vmstat | null = null;
  private kernelLogSeen: number;

  constructor(
    readonly d: Vm,
    readonly env: ShellEnv,
    private readonly write: (data: string) => void,
    readonly hostname: string = d.name,
    extra: ReadonlyMap<string, ShellCommand> = new Map(),
  ) {
    this.editor = new LineEditor({
      write: (s) => this.write(s),
      line: (l) => this.execute(l),
      interrupt: () => this.interrupted(),
    });
    this.kernelLogSeen = d.kernel.log.length;
    for (const [name, c] of baseCommands(d.dom.xen.kind === 'xen')) this.commands.set(name, c);
    for (const [name, c] of extra) this.commands.set(name, c);
  }

  get prompt(): string {
    return `root@${this.hostname}:~# `;
  }

  /** Seconds on this kernel's clock: its boot, then host time since it was built. */
  now(): number {
    return cyclesToSeconds(this.d.dom.bootCycles + (this.env.sim.cycles - this.d.dom.createdAt), this.d.dom.xen.cpu.clockGHz);
  }

  /** Raw output, as it is. */
  print(data: string): void {
    this.write(data);
  }

  /** Output lines ('\n' inside becomes '\r\n'). */
  println(text = ''): void {
    this.write(text.replace(/\r?\n/g, '\r\n') + '\r\n');
  }

  /** Prints the boot log and the first prompt. */
  boot(): void {
    const lines = stampedBoot(this.d);
    this.dmesgLines.push(...lines);
    for (const l of lines) this.println(l);
    const job = this.env.sim.jobs.find((j) => j.d === this.d && !j.done && j.workload.kind !== 'idle') ?? null;
    if (job) {
      this.bootJob = { job, seen: watch(job) };
      const line = `${stamp(this.now())}init: started ${formatWorkload(job.workload) ?? job.workload.kind} (the scenario's workload)`;
      this.dmesgLines.push(line);
      this.println(line);
    }
    this.println('');
    this.println(`Hyperlab ${this.d.dom.xen.kind === 'none' ? 'native' : this.d.mode} domain ${this.d.name} (domid ${this.d.domid}). Type 'help' for commands.`);
    this.editor.prompt(this.prompt);
  }

  /** The prompt, after what bash reports first: background jobs that ended since the last one. */
  private showPrompt(): void {
    for (const x of this.notices.splice(0)) this.println(jobLine(x.j, x.mark, x.status));
    this.editor.prompt(this.prompt);
  }

  input(data: string): void {
    this.editor.feed(data);
  }

  /** A kernel message: stamped, kept for dmesg, shown above the line being typed. */
  kernelLog(msg: string): void {
    const line = stamp(this.now()) + msg;
    this.dmesgLines.push(line);
    this.editor.interject(line + '\n');
  }

  get dmesg(): readonly string[] {
    return this.dmesgLines;
  }

  /** The shell-started job running in the foreground, if any. */
  get foreground(): ShellJob | null {
    return this.fg?.sj ?? null;
  }

  /** `vmstat [count]`: prints a line per turn in which this domain ran, until Ctrl-C or count lines. */
  startVmstat(count: number): void {
    const running = this.env.sim.jobs.some((j) => j.d === this.d && !j.done);
    if (!running) {
      this.println(`vmstat: nothing is running in ${this.d.name}: start a workload first (run …), then watch it`);
      return;
    }
    this.vmstat = new Vmstat(this.d, count);
    this.editor.suspend();
  }

  private endVmstat(): void {
    const v = this.vmstat!;
    this.vmstat = null;
    this.println(`vmstat: ${v.lines} line${v.lines === 1 ? '' : 's'}`);
    this.showPrompt();
  }

  /** After a batch of slices: report what finished, pass on new kernel messages. */
  tick(): void {
    const vm = this.vmstat;
    if (vm) {
      for (const l of vm.next()) this.println(l);
      if (vm.done || !this.env.sim.jobs.some((j) => j.d === this.d && !j.done)) this.endVmstat();
    }
    const log = this.d.kernel.log;
    while (this.kernelLogSeen < log.length) this.kernelLog(log[this.kernelLogSeen++]!);
    const fg = this.fg;
    if (fg && fg.sj.job.done) {
      for (const l of this.endOf(fg, true)) this.println(l);
      this.fg = null;
      this.removeJob(fg);
      const err = reap(this.env.sim, fg.sj);
      if (err) this.kernelLog(err);
      this.showPrompt();
    }
    for (const j of [...this.table]) {
      if (j === this.fg || !j.sj.job.done) continue;
      // A background job's own output goes out as it ends (above the line being typed); bash
      // reports the job itself before the next prompt.
      this.notices.push({ j, mark: this.markOf(j), status: statusOf(j.sj) });
      this.removeJob(j);
      const out = this.endOf(j, false);
      if (out.length > 0) this.editor.interject(out.join('\n') + '\n');
      const err = reap(this.env.sim, j.sj);
      if (err) this.kernelLog(err);
    }
    const bj = this.bootJob;
    if (bj && bj.job.done) {
      this.bootJob = null;
      const kind = bj.job.workload.kind;
      this.kernelLog(bj.seen.completed ? `init: ${kind} finished: ${summaryLine(this.d)}` : `init: ${kind} stopped`);
    }
  }

  /** What the workload printed as it ended: its failure, or its summary. */
  private endOf(j: JobEntry, foreground: boolean): string[] {
    const fg = j.sj;
    const secs = cyclesToSeconds(this.env.sim.cycles - fg.startedAt, this.d.dom.xen.cpu.clockGHz).toFixed(6);
    const what = fg.job.workload.kind;
    if (fg.error) {
      this.kernelLog(`${what}: ${fg.error}`);
      return [fg.error];
    }
    // Stopped from outside (the session's Stop): a background job's notice says Terminated.
    if (!fg.completed) return foreground ? [`Terminated (${what}: the session stopped the workloads)`] : [];
    return [`${what} finished: ${secs} s simulated`, `  ${summaryLine(this.d)}`];
  }

  /** bash's marks: '+' the current job (the newest), '-' the previous one. */
  private markOf(j: JobEntry): string {
    const i = this.table.indexOf(j);
    const n = this.table.length;
    return i === n - 1 ? '+' : i === n - 2 ? '-' : ' ';
  }

  private removeJob(j: JobEntry): void {
    const i = this.table.indexOf(j);
    if (i >= 0) this.table.splice(i, 1);
  }

  /** The shell's jobs, background and foreground, oldest first. */
  get jobs(): readonly JobEntry[] {
    return this.table;
  }

  /** The workload the shell started that is still running here (foreground or background). */
  get runningJob(): JobEntry | null {
    return this.fg ?? this.table.find((j) => !j.sj.job.done) ?? null;
  }

  /** Whether the line being run ended with `&`. */
  get inBackground(): boolean {
    return this.line.background;
  }

  /**
   * Starts a workload (used by `run`): in the foreground, the prompt returns when it ends; with
   * `&`, in the background with a job number, and the prompt returns now.
   */
  startJob(w: Workload): JobEntry {
    // An idle job not yet stepped would restart the counters under the new one: it ends here.
    for (const j of [...this.env.sim.jobs]) if (j.d === this.d && !j.done && j.workload.kind === 'idle') this.env.sim.stopJob(j);
    const pid = this.d.kernel.nextPid;
    const sj = startShellJob(this.env.sim, this.d, w);
    const background = this.line.background;
    // bash numbers a new job one past the highest in its table (1 when it is empty).
    const n = background ? Math.max(0, ...this.table.map((j) => j.n)) + 1 : 0;
    const entry: JobEntry = { n, sj, command: this.line.command, pid };
    if (background) {
      this.table.push(entry);
      this.println(`[${n}] ${pid}`);
    } else {
      this.fg = entry;
      this.editor.suspend();
    }
    this.env.kick();
    return entry;
  }

  /** Starts a workload in the foreground (tests and callers outside a command line). */
  startForeground(w: Workload): void {
    this.line = { command: `run ${formatWorkload(w) ?? w.kind}`, background: false };
    this.startJob(w);
  }

  /** `fg`: the job comes to the foreground; its command line is printed as bash does. */
  foregroundJob(j: JobEntry): void {
    this.println(j.command);
    this.fg = j;
    this.editor.suspend();
    this.env.kick();
  }

  /** `kill %n`: the job ends now; bash reports "Terminated" before the next prompt. */
  killJob(j: JobEntry): void {
    this.notices.push({ j, mark: this.markOf(j), status: 'Terminated' });
    const err = interrupt(this.env.sim, j.sj);
    if (err) this.kernelLog(err);
    this.removeJob(j);
  }

  /**
   * A job spec as bash reads it (`%n`, `%%`, `%+`, `%-`, `%name` prefix; `fg` also takes `n`):
   * the job, or the message bash prints.
   */
  findJob(builtin: string, spec: string | undefined): JobEntry | string {
    const live = this.table;
    if (spec === undefined || spec === '%%' || spec === '%+' || spec === '%') {
      return live[live.length - 1] ?? `-bash: ${builtin}: current: no such job`;
    }
    if (spec === '%-') return live[live.length - 2] ?? live[live.length - 1] ?? `-bash: ${builtin}: previous: no such job`;
    const body = spec.startsWith('%') ? spec.slice(1) : spec;
    if (/^\d+$/.test(body)) return live.find((j) => j.n === Number(body)) ?? `-bash: ${builtin}: ${spec}: no such job`;
    if (!spec.startsWith('%')) return `-bash: ${builtin}: ${spec}: no such job`;
    const hits = live.filter((j) => j.command.startsWith(body));
    if (hits.length > 1) return `-bash: ${builtin}: ${spec}: ambiguous job spec`;
    return hits[0] ?? `-bash: ${builtin}: ${spec}: no such job`;
  }

  /** `jobs`: a line per job as bash prints it; jobs that ended are reported once, then forgotten. */
  jobsLines(long: boolean): string[] {
    const out = this.table.map((j) => jobLine(j, this.markOf(j), 'Running', long) + ' &');
    // Ended jobs not yet reported are reported here instead of before the next prompt.
    for (const x of this.notices.splice(0)) out.push(jobLine(x.j, x.mark, x.status, long));
    return out;
  }

  private execute(line: string): void {
    // `cmd … &`: run in the background (a trailing `&`, not `&&`).
    const bg = /(^|[^&])&\s*$/.test(line);
    this.line = { command: (bg ? line.replace(/&\s*$/, '') : line).trim(), background: bg };
    const split = splitWords(this.line.command);
    if (!split.ok) {
      this.println(`-bash: ${split.message}`);
    } else if (split.words.length > 0) {
      const [cmd, ...args] = split.words;
      const c = this.commands.get(cmd!.text);
      if (!c) this.println(`-bash: ${cmd!.text}: command not found`);
      else if (bg && cmd!.text !== 'run') this.println(`-bash: ${cmd!.text}: only 'run' can be put in the background here ('run <workload> … &')`);
      else c.run(args, this);
    } else if (bg) {
      this.println("-bash: syntax error near unexpected token `&'");
    }
    this.line = { command: '', background: false };
    if (!this.fg && !this.vmstat && !this.editor.active) this.showPrompt();
  }

  private interrupted(): void {
    if (this.vmstat) return this.endVmstat();
    const fg = this.fg;
    if (fg) {
      this.fg = null;
      this.removeJob(fg);
      const err = interrupt(this.env.sim, fg.sj);
      if (err) this.kernelLog(err);
    }
    this.showPrompt();
  }
}

/** `[1]+  Running                 run random-access 16 300000` (jobs.c's pretty_print_job). */
function jobLine(j: JobEntry, mark: string, status: string, long = false): string {
  return `[${j.n}]${mark} ${long ? `${j.pid} ` : ' '}${status.padEnd(STATUS_WIDTH)}${j.command}`;
}

/** How a background job ended, in bash's words. */
function statusOf(sj: ShellJob): string {
  if (sj.completed) return 'Done';
  if (!sj.error) return 'Terminated';
  if (sj.error.startsWith('Segmentation fault')) return 'Segmentation fault';
  if (sj.error.startsWith('Killed') || sj.error.startsWith('Out of memory')) return 'Killed';
  return 'Exit 1';
}

function jobsCommand(args: Word[], sh: DomainShell): void {
  let long = false;
  const specs: string[] = [];
  for (const a of args) {
    if (a.text === '-l') long = true;
    else if (a.text.startsWith('-') && a.text !== '-') return sh.println(`-bash: jobs: ${a.text}: invalid option\njobs: usage: jobs [-l] [jobspec ...]`);
    else specs.push(a.text);
  }
  const all = sh.jobsLines(long);
  if (specs.length === 0) return all.forEach((l) => sh.println(l));
  for (const spec of specs) {
    const j = sh.findJob('jobs', spec);
    if (typeof j === 'string') sh.println(j);
    else sh.println(all.find((l) => l.startsWith(`[${j.n}]`)) ?? '');
  }
}

function fgCommand(args: Word[], sh: DomainShell): void {
  if (args.length > 1) return sh.println('-bash: fg: too many arguments');
  const j = sh.findJob('fg', args[0]?.text);
  if (typeof j === 'string') return sh.println(j);
  sh.foregroundJob(j);
}

function killCommand(args: Word[], sh: DomainShell): void {
  const targets = args.filter((a) => !/^-(TERM|KILL|INT|15|9|2|s)$/.test(a.text) && a.text !== 'TERM' && a.text !== 'KILL');
  if (targets.length === 0) return sh.println('kill: usage: kill [-s sigspec | -n signum | -sigspec] pid | jobspec ... or kill -l [sigspec]');
  for (const a of targets) {
    const t = a.text;
    if (t.startsWith('%')) {
      const j = sh.findJob('kill', t);
      if (typeof j === 'string') sh.println(j);
      else sh.killJob(j);
    } else if (/^\d+$/.test(t)) {
      const j = sh.jobs.find((x) => x.sj.d.kernel.procs.has(Number(t)) && !x.sj.pidsBefore.has(Number(t)));
      if (j) sh.killJob(j);
      else if (sh.d.kernel.procs.has(Number(t))) sh.println(`-bash: kill: (${t}) - Operation not permitted (not started from this shell)`);
      else sh.println(`-bash: kill: (${t}) - No such process`);
    } else sh.println(`-bash: kill: ${t}: arguments must be process or job IDs`);
  }
}

function runCommand(args: Word[], sh: DomainShell): void {
  const words = args.map((a) => a.text);
  const usage = () => {
    sh.println('Usage: run <workload> [params...]   (params in order, or as name=value)');
    sh.println('Workloads:');
    for (const s of workloadShapes()) if (!s.scriptOnly) sh.println(`  ${workloadUsage(s)}`);
  };
  if (words.length === 0 || words[0] === '-h' || words[0] === '--help') return usage();
  const r = parseWorkloadArgs(words);
  if (!r.ok) {
    if (!r.shape) {
      // An unknown name: the workloads `run` can start (a script-only kind is written in a scenario).
      const kinds = workloadShapes().filter((s) => !s.scriptOnly).map((s) => s.kind);
      sh.println(`run: unknown workload "${words[0]}"; one of ${kinds.join(', ')}`);
      // Not the whole usage: a line per workload no longer fits a console's screen.
      sh.println('Usage: run <workload> [params...]   ("run" alone lists each workload\'s parameters)');
      return;
    }
    for (const p of r.problems) sh.println(`run: ${p.path === 'kind' || p.path === '(args)' ? '' : `${p.path}: `}${p.message}`);
    if (r.shape && !r.shape.scriptOnly) sh.println(`Usage: run ${workloadUsage(r.shape)}`);
    else usage();
    return;
  }
  const w = r.workload;
  const { d, env } = sh;
  const kind = d.dom.xen.kind;
  const v = validateScenario({ name: 'run', machine: { memoryMiB: 1_048_576, pcpus: 1 }, hypervisor: kind, domains: [{ ...d.config, workload: w }] });
  const problems = v.ok ? [] : v.problems.filter((p) => p.path.includes('workload'));
  if (problems.length > 0) {
    for (const p of problems) sh.println(`run: ${p.message}`);
    return;
  }
  // One workload at a time in a domain's kernel (the simulation runs one job per vCPU).
  const mine = sh.runningJob;
  if (mine) {
    sh.println(`-bash: run: job [${mine.n || 'fg'}] (${mine.command}) is still running in ${d.name}: one workload at a time; wait for it (jobs, fg %${mine.n}) or end it (kill %${mine.n})`);
    return;
  }
  const busy = env.sim.jobs.find((j) => j.d === d && !j.done && j.workload.kind !== 'idle');
  if (busy) {
    sh.println(`-bash: run: ${busy.workload.kind} (the scenario's workload) is still running in ${d.name}; wait for it to finish`);
    return;
  }
  const need = footprintPages(w, d.config.guestPageSize);
  if (need > d.kernel.freePages) {
    sh.println(`run: ${w.kind} needs about ${Math.ceil(need / 256)} MiB but ${d.name}'s kernel has ${Math.floor(d.kernel.freePages / 256)} MiB free (see 'free'); use a smaller working set`);
    return;
  }
  const paused = d.state === 'paused' ? ` (${d.name} is paused: it runs once unpaused)` : '';
  if (sh.inBackground) {
    sh.startJob(w);
    if (paused) sh.println(`run:${paused}`);
    return;
  }
  sh.println(`${formatWorkload(w)}: running${paused}; Ctrl-C stops it`);
  sh.startJob(w);
}

function baseCommands(xenstore: boolean): [string, ShellCommand][] {
  const cmds: [string, ShellCommand][] = [
    ['run', { usage: 'run <workload> [params...] [&]', summary: "start a workload in this domain (Ctrl-C stops it; '&': in the background)", run: runCommand }],
    ['jobs', { usage: 'jobs [-l] [%n...]', summary: "the workloads this shell started with '&'", run: jobsCommand }],
    ['fg', { usage: 'fg [%n]', summary: 'bring a background job to the foreground (Ctrl-C then stops it)', run: fgCommand }],
    ['kill', { usage: 'kill %n | pid', summary: 'end a job', run: killCommand }],
    ['free', { usage: 'free [-b|-k|-m]', summary: "this kernel's page allocator: total, used, free", run: freeCommand }],
    ['ps', { usage: 'ps', summary: "this kernel's processes", run: psCommand }],
    [
      'vmstat',
      {
        usage: 'vmstat [count]',
        summary: 'watch the counters move, a line per turn (Ctrl-C stops)',
        run: (args, sh) => {
          const n = args.length === 0 ? 0 : Number(args[0]!.text);
          if (args.length > 1 || !Number.isInteger(n) || n < 0) return sh.println('Usage: vmstat [count]   (count: lines to print, 0 or none = until Ctrl-C)');
          sh.startVmstat(n);
        },
      },
    ],
    [
      'dmesg',
      {
        usage: 'dmesg',
        summary: 'the boot log and later kernel messages',
        run: (args, sh) => {
          if (args.length > 0) return sh.println('Usage:\n dmesg');
          for (const l of sh.dmesg) sh.println(l);
        },
      },
    ],
    ['clear', { usage: 'clear', summary: 'clear the screen', run: (_a, sh) => sh.print(CLEAR) }],
    [
      'help',
      {
        usage: 'help',
        summary: 'this list',
        run: (_a, sh) => {
          sh.println(`Commands on ${sh.d.name}:`);
          for (const c of sh.commands.values()) sh.println(`  ${c.usage.padEnd(30)} ${c.summary}`);
          sh.println('Keys: Up/Down history, Left/Right edit, Ctrl-C stop the foreground job, Ctrl-U clear line, Ctrl-L clear screen');
        },
      },
    ],
  ];
  for (const tool of xenstore ? XENSTORE_COMMANDS : []) {
    cmds.push([
      tool,
      {
        usage: `${tool} ${tool === 'xenstore-write' ? 'path value' : tool === 'xenstore-ls' ? '[path]' : 'path'}`,
        summary: 'xenstore, with this domain\'s permissions',
        run: (args, sh) => {
          for (const l of xenstoreTool(sh.env.store, sh.d.domid, tool, args.map((a) => a.text))) sh.println(l);
        },
      },
    ]);
  }
  return cmds;
}

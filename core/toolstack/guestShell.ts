/**
 * The shell on a domain's console: a line editor, a prompt, and commands that act on the live
 * simulation — `run` starts a workload in this domain's kernel (foreground: the prompt returns
 * when it ends or on Ctrl-C, with a summary from the domain's counters), `free` and `ps` read the
 * kernel's allocator and processes, `dmesg` shows the boot log and later kernel messages, and
 * the xenstore tools run as this domain. dom0's shell adds the toolstack (see xlShell.ts).
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

export class DomainShell {
  readonly editor: LineEditor;
  readonly commands = new Map<string, ShellCommand>();
  private fg: ShellJob | null = null;
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
    return cyclesToSeconds(this.d.dom.bootCycles + (this.env.sim.cycles - this.d.dom.createdAt));
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

  /** The shell-started job still running, if any. */
  get foreground(): ShellJob | null {
    return this.fg;
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
    this.editor.prompt(this.prompt);
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
    if (fg && fg.job.done) {
      this.fg = null;
      const secs = cyclesToSeconds(this.env.sim.cycles - fg.startedAt).toFixed(6);
      const what = fg.job.workload.kind;
      if (fg.error) {
        this.println(fg.error);
        this.kernelLog(`${what}: ${fg.error}`);
      } else if (!fg.completed) {
        this.println(`Terminated (${what}: the session stopped the workloads)`);
      } else {
        this.println(`${what} finished: ${secs} s simulated`);
        this.println(`  ${summaryLine(this.d)}`);
      }
      const err = reap(this.env.sim, fg);
      if (err) this.kernelLog(err);
      this.editor.prompt(this.prompt);
    }
    const bj = this.bootJob;
    if (bj && bj.job.done) {
      this.bootJob = null;
      const kind = bj.job.workload.kind;
      this.kernelLog(bj.seen.completed ? `init: ${kind} finished: ${summaryLine(this.d)}` : `init: ${kind} stopped`);
    }
  }

  /** Starts a workload in the foreground (used by `run`). */
  startForeground(w: Workload): void {
    // An idle job not yet stepped would restart the counters under the new one: it ends here.
    for (const j of [...this.env.sim.jobs]) if (j.d === this.d && !j.done && j.workload.kind === 'idle') this.env.sim.stopJob(j);
    this.fg = startShellJob(this.env.sim, this.d, w);
    this.editor.suspend();
    this.env.kick();
  }

  private execute(line: string): void {
    const split = splitWords(line);
    if (!split.ok) {
      this.println(`-bash: ${split.message}`);
    } else if (split.words.length > 0) {
      const [cmd, ...args] = split.words;
      const c = this.commands.get(cmd!.text);
      if (c) c.run(args, this);
      else this.println(`-bash: ${cmd!.text}: command not found`);
    }
    if (!this.fg && !this.vmstat && !this.editor.active) this.editor.prompt(this.prompt);
  }

  private interrupted(): void {
    if (this.vmstat) return this.endVmstat();
    const fg = this.fg;
    if (fg) {
      this.fg = null;
      const err = interrupt(this.env.sim, fg);
      if (err) this.kernelLog(err);
    }
    this.editor.prompt(this.prompt);
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
  sh.println(`${formatWorkload(w)}: running${d.state === 'paused' ? ` (${d.name} is paused: it runs once unpaused)` : ''}; Ctrl-C stops it`);
  sh.startForeground(w);
}

function baseCommands(xenstore: boolean): [string, ShellCommand][] {
  const cmds: [string, ShellCommand][] = [
    ['run', { usage: 'run <workload> [params...]', summary: 'start a workload in this domain (Ctrl-C stops it)', run: runCommand }],
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
          sh.println('Keys: Up/Down history, Left/Right edit, Ctrl-C stop a workload, Ctrl-U clear line, Ctrl-L clear screen');
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

/**
 * The KVM host's shell on its console ('host'): the host is a Linux box, a guest is a qemu
 * process on it. `ps` lists the processes (each guest's qemu-system-x86_64 with its RSS — the
 * guest RAM resident in it — and vhost worker threads), `kill` ends one: a guest dies with its
 * qemu, the others run on. Output follows procps (`ps -eo pid,rss,args`: RSS in KiB) and bash's
 * kill builtin messages.
 */
import { EPERM, ESRCH } from '../base/errno.js';
import type { KvmHost } from '../hv/kvm/kvmHost.js';
import { SIGKILL, SIGTERM } from '../hv/kvm/kvmHost.js';
import { LineEditor } from './lineEditor.js';

export interface HostShellEnv {
  readonly host: KvmHost;
  /** The host's name, for the prompt. */
  readonly hostname: string;
  /** A qemu was killed: end its guest. */
  killed(domid: number, pid: number, signal: string): void;
}

const SIGNALS: Record<string, number> = { '9': SIGKILL, KILL: SIGKILL, SIGKILL, '15': SIGTERM, TERM: SIGTERM, SIGTERM };
const SIGNAL_NAME: Record<number, string> = { [SIGKILL]: 'SIGKILL', [SIGTERM]: 'SIGTERM' };

export class HostShell {
  readonly editor: LineEditor;

  constructor(
    private readonly env: HostShellEnv,
    private readonly write: (data: string) => void,
  ) {
    this.editor = new LineEditor({
      write: (s) => this.write(s),
      line: (l) => {
        this.execute(l);
        this.prompt();
      },
      interrupt: () => this.prompt(),
    });
  }

  get promptText(): string {
    return `root@${this.env.hostname}:~# `;
  }

  prompt(): void {
    this.editor.prompt(this.promptText);
  }

  input(data: string): void {
    this.editor.feed(data);
  }

  /** Runs one command line and returns nothing; output goes to the console. */
  execute(line: string): void {
    const out = (s: string) => this.write(s.replace(/\n/g, '\r\n') + '\r\n');
    const [cmd, ...args] = line.trim().split(/\s+/).filter(Boolean);
    if (!cmd) return;
    switch (cmd) {
      case 'ps':
        for (const l of psLines(this.env.host)) out(l);
        return;
      case 'kill':
        this.kill(args, out);
        return;
      case 'help':
        out('ps                  list the host\'s processes: a qemu-system-x86_64 per guest (RSS in KiB)');
        out('kill [-9|-15] PID   end a process: killing a guest\'s qemu ends that guest');
        return;
      default:
        out(`-bash: ${cmd}: command not found (this host shell has: ps, kill, help)`);
    }
  }

  private kill(args: string[], out: (s: string) => void): void {
    let sig = SIGTERM;
    const pids: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (a === '-s' || a === '-n') {
        const name = args[++i] ?? '';
        if (SIGNALS[name.toUpperCase()] === undefined) return out(`-bash: kill: ${name}: invalid signal specification (the lab delivers SIGTERM and SIGKILL)`);
        sig = SIGNALS[name.toUpperCase()]!;
      } else if (a.startsWith('-') && pids.length === 0) {
        const name = a.slice(1).toUpperCase();
        if (SIGNALS[name] === undefined) return out(`-bash: kill: ${a.slice(1)}: invalid signal specification (the lab delivers SIGTERM and SIGKILL)`);
        sig = SIGNALS[name]!;
      } else pids.push(a);
    }
    if (pids.length === 0) return out('kill: usage: kill [-s sigspec | -n signum | -sigspec] pid ...');
    for (const p of pids) {
      if (!/^\d+$/.test(p)) {
        out(`-bash: kill: ${p}: arguments must be process or job IDs`);
        continue;
      }
      const pid = Number(p);
      const rc = this.env.host.kill(pid, sig);
      if (rc === ESRCH) out(`-bash: kill: (${pid}) - No such process`);
      else if (rc === EPERM) out(`-bash: kill: (${pid}) - Operation not permitted (only a guest's qemu or vhost thread can be killed here)`);
      else if (rc < 0) out(`-bash: kill: (${pid}) - Invalid argument`);
      else this.env.killed(rc, pid, SIGNAL_NAME[sig]!);
    }
  }
}

/** `ps -eo pid,rss,args`: PID, RSS (KiB), the command line; kernel threads in brackets. */
export function psLines(host: KvmHost): string[] {
  const out = ['    PID   RSS CMD'];
  for (const p of host.processes()) {
    const rss = p.mm ? p.mm.rssPages * 4 : 0;
    out.push(`${String(p.pid).padStart(7)} ${String(rss).padStart(5)} ${p.cmdline}`);
  }
  return out;
}

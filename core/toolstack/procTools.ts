/**
 * `free` and `ps` for a guest shell, read from the guest kernel itself: its page allocator's free
 * pages and page cache, its processes and their address spaces (resident pages counted from the
 * page tables, as the kernel's RSS counters would).
 */
import { PTE_P, PTE_PS } from '../machine/pte.js';
import type { GuestKernel } from '../guest/kernel.js';
import type { Mm } from '../guest/mm.js';
import type { Word } from './argv.js';
import type { DomainShell } from './guestShell.js';

export interface MemInfo {
  /** Pages, of the kernel's page allocator. */
  total: number;
  free: number;
  cache: number;
  used: number;
}

export function memInfo(k: GuestKernel): MemInfo {
  let cache = 0;
  for (let p = 0; p < k.inPageCache.length; p++) cache += k.inPageCache[p]!;
  const total = k.totalramPages;
  const free = k.freePages;
  return { total, free, cache, used: total - free - cache };
}

export function freeCommand(args: Word[], sh: DomainShell): void {
  let unit = 1024;
  for (const a of args) {
    if (a.text === '-b') unit = 1;
    else if (a.text === '-k') unit = 1024;
    else if (a.text === '-m') unit = 1024 * 1024;
    else {
      sh.println(`free: invalid option -- '${a.text.replace(/^-+/, '').slice(0, 1) || a.text}'`);
      sh.println('\nUsage:\n free [options]\n\nOptions:\n -b, --bytes         show output in bytes\n -k, --kibi          show output in kibibytes\n -m, --mebi          show output in mebibytes');
      return;
    }
  }
  const m = memInfo(sh.d.kernel);
  const v = (pages: number) => String(Math.floor((pages * 4096) / unit)).padStart(12);
  const head = ['total', 'used', 'free', 'shared', 'buff/cache', 'available'].map((h) => h.padStart(12)).join('');
  sh.println(''.padEnd(7) + head);
  sh.println('Mem:'.padEnd(7) + [m.total, m.used, m.free, 0, m.cache, m.free + m.cache].map(v).join(''));
  sh.println('Swap:'.padEnd(7) + [0, 0, 0].map(v).join(''));
}

/** Present user pages mapped by `mm` (4 KiB units), from its page tables. */
export function residentPages(k: GuestKernel, mm: Mm): number {
  const ops = k.ops;
  let n = 0;
  const walk = (table: number, level: number, from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const flags = ops.readPte(table, i);
      if (!(flags & PTE_P)) continue;
      const child = ops.lastPfn;
      if (level === 1) n++;
      else if (flags & PTE_PS) n += 512 ** (level - 1);
      else walk(child, level - 1, 0, 512);
    }
  };
  walk(mm.root, 4, 0, 256); // the user half; the kernel half is shared by every mm
  return n;
}

export function psCommand(args: Word[], sh: DomainShell): void {
  if (args.length > 0) {
    sh.println(`error: unsupported option (this ps takes none)\n\nUsage:\n ps`);
    return;
  }
  const k = sh.d.kernel;
  const running = sh.d.state === 'running' && sh.env.sim.jobs.some((j) => j.d === sh.d && !j.done);
  sh.println(`${'PID'.padStart(7)} STAT ${'VSZ'.padStart(9)} ${'RSS'.padStart(9)} COMMAND`);
  for (const p of k.procs.values()) {
    const vsz = p.mm.vmas.reduce((a, v) => a + (v.end - v.start) / 1024, 0);
    const rss = residentPages(k, p.mm) * 4;
    const stat = sh.d.state === 'paused' ? 'T' : k.current === p && running ? 'R' : 'S';
    sh.println(`${String(p.pid).padStart(7)} ${stat.padEnd(4)} ${String(vsz).padStart(9)} ${String(rss).padStart(9)} ${p.name}`);
  }
}

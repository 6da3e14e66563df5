import { describe, expect, it } from 'vitest';
import { C } from '../../core/machine/counters.js';
import { boot, scenario } from './toolstackHelpers.js';

const plain = (s: string) => s.replace(/\r\n/g, '\n');

function busyGuest() {
  return scenario({
    machine: { memoryMiB: 1024, pcpus: 1 },
    hypervisor: 'xen',
    domains: [{ name: 'g1', mode: 'pv', memoryMiB: 256, vcpus: 1, workload: { kind: 'update-vs-access', updatesPerKiloAccess: 20, workingSetMiB: 8, accesses: 400_000 } }],
  });
}

describe('vmstat', () => {
  it('prints a line per turn whose columns are the counters’ changes over that turn, until Ctrl-C', () => {
    const b = boot(busyGuest());
    const g1 = b.sim.domains.find((d) => d.name === 'g1')!;
    expect(b.cmd('g1', 'vmstat')).toBe('');
    const rows: { ops: number; hcalls: number }[] = [];
    for (let turn = 0; turn < 6; turn++) {
      const before = Float64Array.from(g1.counters.c);
      b.sim.step(1);
      const c = g1.counters.c;
      const reset = c[C.Ops]! < before[C.Ops]!;
      const start = (raw: string) => raw.length;
      const at = start(b.raw.g1!);
      b.hub.tick();
      const printed = plain(b.raw.g1!.slice(at)).split('\n').filter((l) => /^\s+\d/.test(l));
      if (reset) continue;
      expect(printed).toHaveLength(1);
      const cols = printed[0]!.trim().split(/\s+/).map(Number);
      rows.push({ ops: cols[0]!, hcalls: cols[4]! });
      expect(cols[0]).toBe(c[C.Ops]! - before[C.Ops]!);
      expect(cols[1]).toBe(c[C.TlbMisses]! - before[C.TlbMisses]!);
      expect(cols[4]).toBe(c[C.Hypercalls]! - before[C.Hypercalls]!);
    }
    expect(rows.length).toBeGreaterThan(3);
    // A PV guest updating its page tables pays hypercalls every turn.
    expect(rows.every((r) => r.ops > 0 && r.hcalls > 0)).toBe(true);
    const out = plain(b.keys('g1', '\x03'));
    expect(out).toMatch(/vmstat: \d+ lines\nroot@g1:~# $/);
  });

  it('stops by itself after count lines, and says so when nothing runs', () => {
    const b = boot(busyGuest());
    b.cmd('g1', 'vmstat 2');
    for (let i = 0; i < 10; i++) {
      b.sim.step(1);
      b.hub.tick();
    }
    expect(plain(b.raw.g1!)).toMatch(/vmstat: 2 lines\nroot@g1:~# $/);
    b.runToEnd();
    expect(b.cmd('g1', 'vmstat')).toBe('vmstat: nothing is running in g1: start a workload first (run …), then watch it\n');
    expect(b.cmd('g1', 'vmstat x')).toBe('Usage: vmstat [count]   (count: lines to print, 0 or none = until Ctrl-C)\n');
  });
});

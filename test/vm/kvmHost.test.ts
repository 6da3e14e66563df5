/**
 * The KVM host's console: a guest is a qemu process. `ps` lists one qemu-system-x86_64 per guest
 * with its resident guest RAM; `kill` ends a qemu and its guest with it, the others run on.
 */
import { describe, expect, it } from 'vitest';
import { boot, scenario } from '../toolstack/toolstackHelpers.js';
import { FIRST_QEMU_PID, QEMU_RAM_HVA } from '../../core/hv/kvm/kvmHost.js';

const PROMPT = 'root@hyperlab:~# ';

function twoGuests() {
  return boot(
    scenario({
      machine: { memoryMiB: 1024, pcpus: 1 },
      hypervisor: 'kvm',
      domains: [
        { name: 'g1', mode: 'hap', memoryMiB: 128, vcpus: 1, workload: { kind: 'random-access', workingSetMiB: 4, accesses: 20000 } },
        { name: 'g2', mode: 'shadow', memoryMiB: 64, vcpus: 2, workload: { kind: 'random-access', workingSetMiB: 4, accesses: 20000 } },
      ],
    }),
  );
}

/** Output of a host command: echo and the next prompt stripped, '\n' line ends. */
function host(b: ReturnType<typeof twoGuests>, line: string): string {
  const out = b.cmd('host', line);
  return out.endsWith(PROMPT) ? out.slice(0, -PROMPT.length) : out;
}

describe('the KVM host shell', () => {
  it('ps lists a qemu-system-x86_64 per guest, pids in creation order, RSS in KiB from the host page tables', () => {
    const b = twoGuests();
    expect(b.raw.host!.endsWith(PROMPT)).toBe(true);
    const lines = host(b, 'ps').trimEnd().split('\n');
    expect(lines[0]).toBe('    PID   RSS CMD');
    const kvm = b.sim.xen.kvm!;
    const [q1, q2] = [kvm.vm(b.sim.domains[0]!.domid)!, kvm.vm(b.sim.domains[1]!.domid)!];
    expect([q1.proc.pid, q2.proc.pid]).toEqual([FIRST_QEMU_PID, FIRST_QEMU_PID + 1]);
    const qemuLines = lines.filter((l) => l.includes('qemu-system-x86_64'));
    expect(qemuLines).toHaveLength(2);
    expect(qemuLines[0]).toBe(`${String(FIRST_QEMU_PID).padStart(7)} ${String(q1.proc.mm.rssPages * 4).padStart(5)} qemu-system-x86_64 -name g1 -m 128 -smp 1 -machine pc,accel=kvm`);
    expect(qemuLines[1]).toContain('qemu-system-x86_64 -name g2 -m 64 -smp 2');
    // RSS counts exactly the host leaves present: a hand walk over qemu's RAM agrees.
    let resident = 0;
    for (let k = 0; k < 128 * 256; k++) if (q1.proc.mm.walk(QEMU_RAM_HVA + k * 4096).frame >= 0) resident++;
    expect(q1.proc.mm.rssPages).toBe(resident);
    expect(resident).toBeGreaterThan(0);
    expect(resident).toBeLessThan(128 * 256); // touched pages only, not all of its RAM
  });

  it('kill <qemu pid> ends that guest, frees its memory and qemu’s page tables; the other guest runs to the end', () => {
    const b = twoGuests();
    const free = b.sim.freeFrames;
    const g1 = b.sim.domains[0]!;
    const tables = b.sim.xen.kvm!.vm(g1.domid)!.proc.mm.tableFrames.length;
    const eptTables = g1.dom.hap!.tableFrames.length;
    const out = host(b, `kill -9 ${FIRST_QEMU_PID}`);
    expect(b.sim.domains.map((d) => d.name)).toEqual(['g2']);
    expect(b.sim.freeFrames).toBe(free + 128 * 256 + tables + eptTables);
    expect(out).toContain(`kvm: g1: qemu-system-x86_64 (pid ${FIRST_QEMU_PID}) killed by SIGKILL: the guest ends with it\n`);
    expect(out).toContain(`kvm: g1: VM destroyed: ${128 * 256} pages and ${tables + eptTables} host kernel pages (EPT tables, qemu page tables) returned to the heap\n`);
    expect(host(b, 'ps')).not.toContain('-name g1');
    b.runToEnd();
    const r = b.sim.results();
    expect(r.domains.map((d) => d.name)).toEqual(['g2']);
    expect(r.domains[0]!.ops).toBe(20000);
    expect(r.audit.ok).toBe(true);
  });

  it('refuses what bash’s kill refuses: a gone pid, the host’s own processes, a bad signal or pid', () => {
    const b = twoGuests();
    expect(host(b, 'kill 4242')).toBe('-bash: kill: (4242) - No such process\n');
    expect(host(b, 'kill 1')).toContain('-bash: kill: (1) - Operation not permitted');
    expect(host(b, `kill -HUP ${FIRST_QEMU_PID}`)).toContain('-bash: kill: HUP: invalid signal specification');
    expect(host(b, 'kill g1')).toBe('-bash: kill: g1: arguments must be process or job IDs\n');
    expect(b.sim.domains).toHaveLength(2);
    host(b, `kill ${FIRST_QEMU_PID + 1}`);
    expect(host(b, `kill ${FIRST_QEMU_PID + 1}`)).toBe(`-bash: kill: (${FIRST_QEMU_PID + 1}) - No such process\n`);
  });
});

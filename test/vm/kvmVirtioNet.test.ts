/**
 * virtio-net under KVM: qemu with a tap on the host's bridge, or vhost-net in the host kernel.
 * Per net-rr transaction (one request frame out, one response frame in, never overlapping), by
 * the paths' steps: one notify exit (the transmit), two irqfd injections (the transmit's
 * completion, the received frame), two host NIC interrupts (transmit done, frame received); qemu
 * makes a system call each way (writev, read on the tap) and copies three times (guest → skb;
 * skb → its buffer → guest), vhost none and two (copy_from_iter, copy_to_iter).
 */
import { describe, expect, it } from 'vitest';
import { validateScenario } from '../../core/api/index.js';
import { runScenario } from '../../core/sim/run.js';
import { boot, scenario } from '../toolstack/toolstackHelpers.js';

const T = 40;

function netRr(backend: 'qemu' | 'vhost') {
  const v = validateScenario({ name: 'n', machine: { memoryMiB: 2048, pcpus: 1, devices: [{ id: 'nic0', kind: 'nic' }] }, hypervisor: 'kvm', domains: [{ name: 'g1', mode: 'hap', memoryMiB: 256, vcpus: 1, vifs: [{ device: 'nic0', backend }], workload: { kind: 'net-rr', transactions: T } }] });
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  const r = runScenario(v.scenario);
  return { r, g: r.domains[0]! };
}

describe('virtio-net: qemu and vhost-net', () => {
  it('qemu: per transaction one exit, two irqfds, two host NIC interrupts, two system calls, three copies', () => {
    const { g, r } = netRr('qemu');
    const k = g.kvm!.io;
    expect(g.io!.requests).toBe(T);
    expect(g.io!.packetsDropped).toBe(0);
    expect(g.vmexits.byReason.IO_INSTRUCTION).toBe(T);
    expect(k.irqfdInjections).toBe(2 * T);
    expect(k.hostInterrupts).toBe(2 * T);
    expect(k.syscalls).toBe(2 * T);
    expect(k.copies).toBe(3 * T);
    expect(k.qemuCycles).toBeGreaterThan(0);
    expect(r.audit.ok).toBe(true);
  });

  it('vhost: the same exits and interrupts, but no system call, no qemu work, and one copy each way', () => {
    const { g } = netRr('vhost');
    const k = g.kvm!.io;
    expect(g.io!.requests).toBe(T);
    expect(g.vmexits.byReason.IO_INSTRUCTION).toBe(T);
    expect(k.irqfdInjections).toBe(2 * T);
    expect(k.syscalls).toBe(0);
    expect(k.copies).toBe(2 * T);
    expect(k.qemuCycles).toBe(0);
  });

  it('vhost answers faster than qemu: the same path less the trips through user space', () => {
    expect(netRr('vhost').g.io!.latencyUs.p50).toBeLessThan(netRr('qemu').g.io!.latencyUs.p50);
  });

  it('net-stream in both directions arrives whole through qemu and through vhost', () => {
    for (const backend of ['qemu', 'vhost'] as const) {
      for (const direction of ['rx', 'tx'] as const) {
        const v = validateScenario({ name: 'n', machine: { memoryMiB: 2048, pcpus: 1, devices: [{ id: 'nic0', kind: 'nic' }] }, hypervisor: 'kvm', domains: [{ name: 'g1', mode: 'hap', memoryMiB: 256, vcpus: 1, vifs: [{ device: 'nic0', backend }], workload: { kind: 'net-stream', bytes: 300_000, packetBytes: 1500, direction } }] });
        if (!v.ok) throw new Error(JSON.stringify(v.problems));
        const g = runScenario(v.scenario).domains[0]!;
        expect(g.io!.requests + g.io!.packetsDropped, `${backend} ${direction}`).toBe(200);
        expect(g.io!.packetsDropped, `${backend} ${direction}`).toBe(0);
      }
    }
  });

  it('the host lists a vhost worker thread beside a vhost guest’s qemu', () => {
    const b = boot(scenario({ machine: { memoryMiB: 1024, pcpus: 1, devices: [{ id: 'nic0', kind: 'nic' }] }, hypervisor: 'kvm', domains: [{ name: 'g1', mode: 'hap', memoryMiB: 128, vcpus: 1, vifs: [{ device: 'nic0', backend: 'vhost' }] }] }));
    const pid = b.sim.xen.kvm!.vm(b.sim.domains[0]!.domid)!.proc.pid;
    const ps = b.cmd('host', 'ps');
    expect(ps).toContain(`qemu-system-x86_64 -name g1 -m 128 -smp 1 -machine pc,accel=kvm -netdev tap,id=net0,vhost=on -device virtio-net-pci,netdev=net0`);
    expect(ps).toContain(`[vhost-${pid}]`);
  });

  it('refuses vif fields that are Xen’s under KVM, and a vif on a disk', () => {
    const v = validateScenario({ name: 'n', machine: { memoryMiB: 2048, pcpus: 1, devices: [{ id: 'nic0', kind: 'nic' }, { id: 'disk0', kind: 'disk' }] }, hypervisor: 'kvm', domains: [{ name: 'g1', mode: 'hap', memoryMiB: 256, vcpus: 1, vifs: [{ device: 'nic0', backend: 'Domain-0', rx: 'copy' }, { device: 'disk0' }] }] });
    expect(v.ok ? [] : v.problems.map((p) => p.path)).toEqual(['domains[0].vifs[0].backend', 'domains[0].vifs[0].rx', 'domains[0].vifs[1].device']);
  });
});

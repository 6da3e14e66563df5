/**
 * C5 against C1: the same disk-io, one request at a time, through Xen's dom0 backend and through
 * KVM's qemu. Per-request KVM figures are summed by hand from the cost table (DEFAULT_COSTS) and
 * the virtio path's steps (KVM_IO_COSTS): one notify exit, one qemu wake-up for the request and
 * one for its completion, one system call, one NVMe command and interrupt on the host, one irqfd.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_COSTS as K } from '../../core/machine/cost.js';
import { KVM_IO_COSTS as V } from '../../core/vm/io/kvm/kvmIo.js';
import { compareIoPaths } from '../../core/sim/ioPaths.js';

describe('disk-io per request: Xen dom0 backend vs KVM qemu', () => {
  const [xen, kvm] = compareIoPaths({ kind: 'disk-io', ops: 100, blockKiB: 4, writeFraction: 1, flushEvery: 0, pattern: 'random', queueDepth: 1 });

  it('both do every request; neither copies the data (grant map under Xen, O_DIRECT into guest pages under KVM)', () => {
    expect([xen!.requests, kvm!.requests]).toEqual([100, 100]);
    expect([xen!.copies, kvm!.copies]).toEqual([0, 0]);
  });

  it('one exit per request on each (the HVM guest’s event-channel send; the virtio notify), and two backend wake-ups', () => {
    expect(xen!.exits).toBe(1);
    expect(kvm!.exits).toBe(1);
    expect(kvm!.backendWakeups).toBe(2);
    expect(xen!.backendWakeups).toBe(2); // dom0 upcalls: the guest's kick, the disk's interrupt
  });

  it('KVM’s cycles per request split as the path’s steps sum', () => {
    expect(kvm!.cycles.guest).toBe(V.guestRequest + V.guestComplete + K.faultTrap + K.syscall); // driver, injected interrupt, io_submit
    expect(kvm!.cycles.hypervisor).toBe(K.vmexit + V.ioeventfd + V.irqfd);
    expect(kvm!.cycles.hostKernel).toBe(K.syscall + V.hostSubmit + V.hostComplete + 2 * K.contextSwitch + K.faultTrap + V.nvmeCommand + V.nvmeInterrupt);
    expect(kvm!.cycles.backend).toBe(V.qemuRequest + V.qemuComplete);
    expect(kvm!.cycles.total).toBe(kvm!.cycles.guest + kvm!.cycles.hypervisor + kvm!.cycles.hostKernel + kvm!.cycles.backend);
  });

  it('under Xen there is no host kernel: the backend is dom0’s kernel', () => {
    expect(xen!.cycles.hostKernel).toBe(0);
    expect(xen!.cycles.backend).toBeGreaterThan(0);
  });

  it('refuses vhost for a disk: vhost serves network devices only', () => {
    expect(() => compareIoPaths({ kind: 'disk-io', ops: 10, blockKiB: 4, writeFraction: 1, flushEvery: 0, pattern: 'random', queueDepth: 1 }, ['kvm-vhost'])).toThrow(/vhost serves network devices only/);
  });
});

describe('net-rr per transaction: Xen dom0, KVM qemu, KVM vhost', () => {
  const [xen, qemu, vhost] = compareIoPaths({ kind: 'net-rr', transactions: 40, requestBytes: 64, responseBytes: 64 });

  it('one row per path, each doing every transaction', () => {
    expect([xen!.path, qemu!.path, vhost!.path]).toEqual(['xen-dom0', 'kvm-qemu', 'kvm-vhost']);
    expect([xen!.requests, qemu!.requests, vhost!.requests]).toEqual([40, 40, 40]);
  });

  it('copies: qemu three (writev into an skb; read into its buffer, then into the guest), vhost two, Xen’s netback one grant copy in', () => {
    expect(qemu!.copies).toBe(3);
    expect(vhost!.copies).toBe(2);
    expect(xen!.copies).toBeGreaterThanOrEqual(1);
  });

  it('vhost does no user-space work, so no qemu cycles; its work is the host kernel’s', () => {
    expect(vhost!.cycles.backend).toBe(0);
    expect(vhost!.cycles.hostKernel).toBeGreaterThan(0);
    expect(qemu!.cycles.backend).toBeGreaterThan(0);
    expect(vhost!.cycles.total).toBeLessThan(qemu!.cycles.total);
  });
});

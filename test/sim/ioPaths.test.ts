/**
 * C5 against C1: the same disk-io, one request at a time, through Xen's dom0 backend and through
 * KVM's qemu. Per-request KVM figures are summed by hand from the cost table (DEFAULT_COSTS) and
 * the virtio path's steps (KVM_IO_COSTS): one notify exit, one qemu wake-up for the request and
 * one for its completion, one system call, one NVMe command and interrupt on the host, one irqfd.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_COSTS as K } from '../../core/machine/cost.js';
import { KVM_IO_COSTS as V } from '../../core/vm/io/kvm/kvmIo.js';
import { IO_PATH_COSTS as IO } from '../../core/vm/io/ioWorld.js';
import { compareIoPaths, ioPathsFor } from '../../core/sim/ioPaths.js';

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

/*
 * The driver domain (C4) and passthrough (C2) against dom0's backend, one 4 KiB write at a time.
 * Expected values summed by hand from the cost table (DEFAULT_COSTS) and the block path's steps
 * (IO_PATH_COSTS in core/vm/io/ioWorld.ts).
 */
describe('disk-io per request: a driver domain and passthrough beside dom0', () => {
  const wl = { kind: 'disk-io', ops: 100, blockKiB: 4, writeFraction: 1, flushEvery: 0, pattern: 'random', queueDepth: 1 } as const;
  const [dom0, dd, pt] = compareIoPaths(wl, ['xen-dom0', 'xen-driver-domain', 'passthrough']);

  it('the default comparison of a disk runs every path but vhost', () => {
    expect(ioPathsFor('disk-io')).toEqual(['xen-dom0', 'kvm-qemu', 'xen-driver-domain', 'passthrough']);
    expect(ioPathsFor('net-rr')).toEqual(['xen-dom0', 'kvm-qemu', 'kvm-vhost', 'xen-driver-domain', 'passthrough']);
  });

  it('every path does every request, each moving its 4 KiB block', () => {
    expect([dom0!.requests, dd!.requests, pt!.requests]).toEqual([100, 100, 100]);
    expect([dom0!.bytes, dd!.bytes, pt!.bytes]).toEqual([4096, 4096, 4096]);
  });

  it('the driver domain does what dom0 does, plus one IOMMU map, unmap and IOTLB flush per request for the granted page its disk DMAs into', () => {
    expect(dd!.exits).toBe(dom0!.exits);
    expect(dd!.backendWakeups).toBe(2); // the guest's kick, the disk's interrupt
    expect(dd!.cycles.guest).toBe(dom0!.cycles.guest);
    expect(dd!.cycles.backend).toBe(dom0!.cycles.backend);
    expect(dd!.cycles.hypervisor - dom0!.cycles.hypervisor).toBe(K.iommuMap + K.iommuUnmap + K.iotlbFlush);
    expect(dd!.cycles.hostKernel).toBe(0);
  });

  it('passthrough: no exit, no copy, no backend; the guest runs the whole driver, Xen only takes the MSI and sends it as an event', () => {
    expect(pt!.exits).toBe(0);
    expect(pt!.copies).toBe(0);
    expect(pt!.backendWakeups).toBe(0);
    expect(pt!.interrupts).toBe(1);
    // blkfront's place is the block layer's own request and completion; io_submit; the NVMe driver's command and interrupt.
    expect(pt!.cycles.guest).toBe(IO.frontRequest + IO.frontComplete + IO.nvmeCommand + IO.nvmeInterrupt + K.syscall);
    expect(pt!.cycles.hypervisor).toBe(K.faultTrap + K.upcall); // do_IRQ, then the pirq event's upcall
    expect([pt!.cycles.hostKernel, pt!.cycles.backend]).toEqual([0, 0]);
    expect(pt!.cycles.total).toBe(pt!.cycles.guest + pt!.cycles.hypervisor);
    expect(pt!.cycles.total).toBeLessThan(dom0!.cycles.total);
  });

  it('refuses an unknown path by name', () => {
    expect(() => compareIoPaths(wl, ['xen-stubdom' as never])).toThrow(/unknown path "xen-stubdom"/);
  });
});

describe('net-rr per transaction: a driver domain and passthrough beside dom0', () => {
  const [dom0, dd, pt] = compareIoPaths({ kind: 'net-rr', transactions: 40, requestBytes: 64, responseBytes: 64 }, ['xen-dom0', 'xen-driver-domain', 'passthrough']);

  it('netback grant-copies into its own buffers, so a driver domain costs exactly what dom0 costs (no IOMMU entry per frame)', () => {
    expect(dd!.requests).toBe(40);
    expect(dd!.cycles).toEqual(dom0!.cycles);
    expect(dd!.copies).toBe(dom0!.copies);
  });

  it('passthrough of the NIC: the guest drives it itself, with no exit, copy or backend, and two interrupts (its request sent, its response received)', () => {
    expect(pt!.requests).toBe(40);
    expect([dom0!.bytes, dd!.bytes, pt!.bytes]).toEqual([128, 128, 128]); // a 64-byte request and a 64-byte response
    expect([pt!.exits, pt!.copies, pt!.backendWakeups]).toEqual([0, 0, 0]);
    expect(pt!.interrupts).toBe(2);
    expect(pt!.cycles.hypervisor).toBe(2 * (K.faultTrap + K.upcall));
    expect([pt!.cycles.hostKernel, pt!.cycles.backend]).toEqual([0, 0]);
    expect(pt!.cycles.total).toBeLessThan(dom0!.cycles.total);
  });
});

/**
 * virtio-blk under KVM: the split virtqueue's bytes in guest memory (virtio 1.1 §2.6, §5.2), qemu
 * reading it through its own mapping, and disk-io end to end (exits, ioeventfd, irqfd, the host's
 * NVMe driver, durability after a flush).
 */
import { describe, expect, it } from 'vitest';
import { validateScenario } from '../../core/api/index.js';
import { BLKIF_RSP_ERROR, BLKIF_RSP_OKAY } from '../../core/api/public/io/blkif.js';
import { VirtioBlkFront } from '../../core/guest/io/virtioBlk.js';
import type { BlockTransfer } from '../../core/guest/io/blkback.js';
import { QemuVirtioBlk } from '../../core/vm/io/kvm/qemuVirtioBlk.js';
import { runScenario } from '../../core/sim/run.js';

/** A flat guest memory of `pages` pages, gpa = pfn × 4096, and a bump allocator from pfn 1. */
function guestMemory(pages = 64) {
  const buf = new ArrayBuffer(pages * 4096);
  let next = 1;
  return {
    page: (pfn: number) => new DataView(buf, pfn * 4096, 4096),
    gpaPage: (gpa: number) => new DataView(buf, Math.floor(gpa / 4096) * 4096, 4096),
    allocPage: () => next++,
  };
}

function front(notifies: number[] = []) {
  const m = guestMemory();
  const f = new VirtioBlkFront({ page: m.page, allocPage: m.allocPage, charge: () => {}, notify: (q) => notifies.push(q) }, 1 << 20, { request: 0, complete: 0 });
  return { m, f };
}

describe('the split virtqueue in guest memory (virtio 1.1 §2.6)', () => {
  it('a 2-page write is a chain of 4 descriptors (16 bytes each): header, data ×2 device-readable, status device-writable', () => {
    const notifies: number[] = [];
    const { m, f } = front(notifies);
    const statuses: number[] = [];
    f.submit({ op: 'write', sector: 16, pfns: [40, 41], done: (s) => statuses.push(s) });
    expect(notifies).toEqual([0]); // one OUT to the notify register, queue 0
    const avail = m.gpaPage(f.queue.avail);
    expect(avail.getUint16(2, true)).toBe(1); // avail.idx at byte 2
    const head = avail.getUint16(4, true); // avail.ring[0] at byte 4
    const desc = m.gpaPage(f.queue.desc);
    const rd = (i: number) => ({ addr: Number(desc.getBigUint64(i * 16, true)), len: desc.getUint32(i * 16 + 8, true), flags: desc.getUint16(i * 16 + 12, true), next: desc.getUint16(i * 16 + 14, true) });
    const d0 = rd(head);
    expect([d0.len, d0.flags]).toEqual([16, 1]); // VIRTQ_DESC_F_NEXT
    const d1 = rd(d0.next);
    const d2 = rd(d1.next);
    const d3 = rd(d2.next);
    expect([d1.addr, d1.len, d1.flags]).toEqual([40 * 4096, 4096, 1]); // NEXT, not WRITE: the device reads it
    expect([d2.addr, d2.len, d2.flags]).toEqual([41 * 4096, 4096, 1]);
    expect([d3.len, d3.flags]).toEqual([1, 2]); // VIRTQ_DESC_F_WRITE, end of chain
    // virtio_blk_outhdr: le32 type @0 = VIRTIO_BLK_T_OUT (1), le64 sector @8.
    const hdr = m.gpaPage(d0.addr);
    expect(hdr.getUint32(d0.addr % 4096, true)).toBe(1);
    expect(Number(hdr.getBigUint64((d0.addr % 4096) + 8, true))).toBe(16);
    // The device's answer: status byte 0 (VIRTIO_BLK_S_OK), used.ring[0] = {id: head, len: 1} @4, used.idx @2.
    m.gpaPage(d3.addr).setUint8(d3.addr % 4096, 0);
    const used = m.gpaPage(f.queue.used);
    used.setUint32(4, head, true);
    used.setUint32(8, 1, true);
    used.setUint16(2, 1, true);
    f.interrupt();
    expect(statuses).toEqual([BLKIF_RSP_OKAY]);
    expect(f.inFlight).toBe(0);
  });

  it('a read marks its data buffers device-writable; a status other than 0 fails the request', () => {
    const { m, f } = front();
    const statuses: number[] = [];
    f.submit({ op: 'read', sector: 0, pfns: [50], done: (s) => statuses.push(s) });
    const head = m.gpaPage(f.queue.avail).getUint16(4, true);
    const desc = m.gpaPage(f.queue.desc);
    const data = desc.getUint16(head * 16 + 14, true);
    expect(desc.getUint16(data * 16 + 12, true)).toBe(1 | 2); // NEXT | WRITE
    const status = desc.getUint16(data * 16 + 14, true);
    const sAddr = Number(desc.getBigUint64(status * 16, true));
    m.gpaPage(sAddr).setUint8(sAddr % 4096, 1); // VIRTIO_BLK_S_IOERR
    const used = m.gpaPage(f.queue.used);
    used.setUint32(4, head, true);
    used.setUint16(2, 1, true);
    f.interrupt();
    expect(statuses).toEqual([BLKIF_RSP_ERROR]);
  });
});

describe("qemu's virtio-blk device reads the queue through its mapping", () => {
  function pair(sectors = 1 << 20) {
    const { m, f } = front();
    const transfers: BlockTransfer[] = [];
    let irqs = 0;
    const q = new QemuVirtioBlk({ page: m.gpaPage, maddr: (gpa) => 0x100000 + gpa }, f.queue, { sectors, writeCache: true, submit: (t) => transfers.push(t) }, { request: 0, complete: 0 }, { charge: () => {}, syscall: () => {}, irqfd: () => irqs++ });
    return { m, f, q, transfers, irqs: () => irqs };
  }

  it('turns the chain into one host transfer (op, sector, machine addresses), then status, used entry and an irqfd', () => {
    const { m, f, q, transfers, irqs } = pair();
    const statuses: number[] = [];
    f.submit({ op: 'write', sector: 24, pfns: [40, 41], done: (s) => statuses.push(s) });
    f.submit({ op: 'flush', sector: 0, pfns: [], done: (s) => statuses.push(s) });
    q.handleOutput();
    expect(transfers.map((t) => [t.op, t.sector, t.segments.map((s) => [s.busAddr, s.bytes])])).toEqual([
      ['write', 24, [[0x100000 + 40 * 4096, 4096], [0x100000 + 41 * 4096, 4096]]],
      ['flush', 0, []],
    ]);
    transfers[0]!.done(true);
    transfers[1]!.done(true);
    expect(irqs()).toBe(2);
    const used = m.gpaPage(f.queue.used);
    expect(used.getUint16(2, true)).toBe(2); // used.idx
    const head0 = m.gpaPage(f.queue.avail).getUint16(4, true);
    expect([used.getUint32(4, true), used.getUint32(8, true)]).toEqual([head0, 1]); // {id, len}: only the status byte written
    f.interrupt();
    expect(statuses).toEqual([BLKIF_RSP_OKAY, BLKIF_RSP_OKAY]);
  });

  it('answers an unknown request type with VIRTIO_BLK_S_UNSUPP and an I/O past the end with VIRTIO_BLK_S_IOERR', () => {
    const { m, f, q, transfers } = pair(64);
    const statuses: number[] = [];
    f.submit({ op: 'read', sector: 64, pfns: [40], done: (s) => statuses.push(s) });
    q.handleOutput();
    expect(transfers).toHaveLength(0);
    f.submit({ op: 'read', sector: 0, pfns: [40], done: (s) => statuses.push(s) });
    // Corrupt the second request's header type to 99 before qemu sees it.
    const avail = m.gpaPage(f.queue.avail);
    const head = avail.getUint16(6, true);
    const desc = m.gpaPage(f.queue.desc);
    const hAddr = Number(desc.getBigUint64(head * 16, true));
    m.gpaPage(hAddr).setUint32(hAddr % 4096, 99, true);
    q.handleOutput();
    const status = (h: number) => {
      let i = h;
      for (let k = 0; k < 4 && desc.getUint16(i * 16 + 12, true) & 1; k++) i = desc.getUint16(i * 16 + 14, true);
      const a = Number(desc.getBigUint64(i * 16, true));
      return m.gpaPage(a).getUint8(a % 4096);
    };
    expect(status(avail.getUint16(4, true))).toBe(1); // VIRTIO_BLK_S_IOERR: sector 64 of a 64-sector disk
    expect(status(head)).toBe(2); // VIRTIO_BLK_S_UNSUPP
    f.interrupt();
    expect(statuses).toEqual([BLKIF_RSP_ERROR, BLKIF_RSP_ERROR]);
  });
});

function kvmDiskIo(workload: Record<string, unknown>) {
  const v = validateScenario({ name: 'k', machine: { memoryMiB: 1024, pcpus: 1, devices: [{ id: 'disk0', kind: 'disk', sizeMiB: 64 }] }, hypervisor: 'kvm', domains: [{ name: 'g1', mode: 'hap', memoryMiB: 128, vcpus: 1, disks: [{ device: 'disk0' }], workload: { kind: 'disk-io', ...workload } }] });
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return runScenario(v.scenario);
}

describe('disk-io under KVM, through qemu', () => {
  it('acknowledged writes followed by a flush are all on the durable media', () => {
    const r = kvmDiskIo({ ops: 300, flushEvery: 10, queueDepth: 8 });
    const g = r.domains[0]!;
    expect(g.io!.requests).toBe(300);
    expect(g.io!.acknowledgedWrites).toBe(300);
    expect(g.io!.flushes).toBe(30);
    expect(g.io!.lostWrites).toBe(0);
    expect(g.io!.errors).toBe(0);
    expect(r.devices!.find((d) => d.id === 'disk0')!.stats.flushes).toBe(30);
    expect(r.audit.ok).toBe(true);
  });

  it('without a flush the last writes may sit in the volatile write cache (lost on power loss), as under Xen', () => {
    const g = kvmDiskIo({ ops: 50 }).domains[0]!;
    expect(g.io!.acknowledgedWrites).toBe(50);
    expect(g.io!.lostWrites).toBe(g.io!.volatileWrites);
    expect(g.io!.lostWrites).toBeGreaterThan(0);
  });

  it('each request is one notify exit into an ioeventfd, one system call of qemu, one host NVMe interrupt, one irqfd', () => {
    // Queue depth 1: requests never share a notify, an NVMe interrupt or a used-ring batch.
    const g = kvmDiskIo({ ops: 40, queueDepth: 1, writeFraction: 0.5 }).domains[0]!;
    const k = g.kvm!.io;
    expect(g.vmexits.byReason.IO_INSTRUCTION).toBe(40);
    expect(k.notifies).toBe(40);
    expect(k.syscalls).toBe(40);
    expect(k.hostInterrupts).toBe(40);
    expect(k.irqfdInjections).toBe(40);
    expect(k.hostContextSwitches).toBe(80); // qemu's thread woken for the request and for its completion
    expect(k.copies).toBe(0); // O_DIRECT: the host's disk DMAs into the guest's own pages
    expect(g.io!.grantOps).toEqual({ map: 0, unmap: 0, copy: 0 });
    expect(k.kvmCycles + k.hostKernelCycles + k.qemuCycles).toBeLessThanOrEqual(g.cycles.hypervisor);
  });
});

/**
 * The NVMe-style disk, driven the way a driver drives it: SQEs written by hand into machine
 * memory in the layout of the NVMe Base Specification 1.4 §4.2 (CDW0 opcode 7:0 and CID 31:16,
 * NSID in DW1, PRP1 in DW6–7, PRP2 in DW8–9, SLBA in CDW10–11, NLB (0's based) and FUA bit 30 in
 * CDW12), doorbells rung, CQEs read back by hand (§4.6: DW2 SQ head 15:0 and SQID 31:16; DW3 CID
 * 15:0, phase tag bit 16, status 31:17). Status values are the spec's (§4.6.1.2.1): Invalid
 * Command Opcode 01h, Invalid Field 02h, Data Transfer Error 04h, Invalid Namespace 0Bh, LBA Out
 * of Range 80h; Do Not Retry is status bit 14.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { DirectDma } from '../../core/machine/devices/dma.js';
import { NvmeDisk } from '../../core/machine/devices/disk.js';
import { Msi } from '../../core/machine/devices/msi.js';
import { decodeCqe, encodeSqe, fnv1a32 } from '../../core/machine/devices/nvme.js';
import { EventQueue } from '../../core/machine/events.js';
import { MachineMemory } from '../../core/machine/memory.js';

const SQ_MFN = 1;
const CQ_MFN = 2;
const LIST_MFN = 3;
const BUF_MFN = 16; // data buffers from here up
const PAGE = 4096;

interface Rig {
  mem: MachineMemory;
  disk: NvmeDisk;
  queue: EventQueue;
  msi: Msi;
  dma: DirectDma;
  t: { now: number };
  irqs: { vector: number; at: number }[];
}

function rig(o: { sizeMiB?: number; writeCache?: boolean; cyclesPerUs?: number; timing?: object; depth?: number } = {}): Rig {
  const mem = new MachineMemory(64);
  const queue = new EventQueue();
  const t = { now: 0 };
  const msi = new Msi();
  const dma = new DirectDma(mem);
  const disk = new NvmeDisk({
    id: 'disk0', bdf: '04:00.0', sizeMiB: o.sizeMiB ?? 1, writeCache: o.writeCache,
    clock: { now: () => t.now, queue, cyclesPerUs: o.cyclesPerUs ?? 1000 }, dma, msi, timing: o.timing,
  });
  const irqs: { vector: number; at: number }[] = [];
  disk.config.setBusMaster(true);
  disk.config.setMemorySpace(true);
  disk.config.msi.program(0xfee00000, 0x51);
  msi.handler = (vector) => irqs.push({ vector, at: t.now });
  expect(disk.createIoQueues(SQ_MFN, CQ_MFN, o.depth ?? 16)).toBe(0);
  return { mem, disk, queue, msi, dma, t, irqs };
}

/** Runs the event queue to empty, moving the clock to each event's time. */
function drain(r: Rig): void {
  while (r.queue.peekTime() !== Infinity) {
    r.t.now = Math.max(r.t.now, r.queue.peekTime());
    r.queue.runDue(r.t.now);
  }
}

/** Writes SQE `slot` word by word (8-byte entries: entry 8·slot + k holds dwords 2k, 2k+1). */
function putSqe(mem: MachineMemory, slot: number, c: { op: number; cid: number; nsid?: number; prp1: number; prp2?: number; slba?: number; nlb?: number; fua?: boolean; cdw0hi?: number }): void {
  const e = slot * 8;
  const cdw0 = (c.op | ((c.cdw0hi ?? 0) << 8) | (c.cid << 16)) >>> 0;
  mem.write(SQ_MFN, e + 0, cdw0, c.nsid ?? 1);
  mem.write(SQ_MFN, e + 1, 0, 0);
  mem.write(SQ_MFN, e + 2, 0, 0);
  mem.write(SQ_MFN, e + 3, c.prp1 % 2 ** 32, Math.floor(c.prp1 / 2 ** 32));
  mem.write(SQ_MFN, e + 4, (c.prp2 ?? 0) % 2 ** 32, Math.floor((c.prp2 ?? 0) / 2 ** 32));
  mem.write(SQ_MFN, e + 5, c.slba ?? 0, 0);
  mem.write(SQ_MFN, e + 6, ((c.nlb ?? 0) | (c.fua ? 1 << 30 : 0)) >>> 0, 0);
  mem.write(SQ_MFN, e + 7, 0, 0);
}

/** Reads CQE `slot` by hand: entry 2·slot+1 holds DW2 (low) and DW3 (high). */
function cqe(mem: MachineMemory, slot: number): { sqHead: number; sqId: number; cid: number; phase: number; sc: number; sct: number; dnr: boolean } {
  const dw2 = mem.readLo(CQ_MFN, 2 * slot + 1);
  const dw3 = mem.readHi(CQ_MFN, 2 * slot + 1);
  const status = dw3 >>> 17;
  return { sqHead: dw2 & 0xffff, sqId: dw2 >>> 16, cid: dw3 & 0xffff, phase: (dw3 >>> 16) & 1, sc: status & 0xff, sct: (status >>> 8) & 7, dnr: ((status >>> 14) & 1) === 1 };
}

/** Fills `pages` frames from `mfn` with bytes (seed + i) & 0xff. */
function fill(mem: MachineMemory, mfn: number, pages: number, seed: number): Uint8Array {
  const bytes = Uint8Array.from({ length: pages * PAGE }, (_, i) => (seed + i * 7) & 0xff);
  for (let p = 0; p < pages; p++) {
    for (let e = 0; e < 512; e++) {
      const o = p * PAGE + e * 8;
      const lo = (bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24)) >>> 0;
      const hi = (bytes[o + 4]! | (bytes[o + 5]! << 8) | (bytes[o + 6]! << 16) | (bytes[o + 7]! << 24)) >>> 0;
      mem.write(mfn + p, e, lo, hi);
    }
  }
  return bytes;
}

function bytesAt(mem: MachineMemory, mfn: number, pages: number): Uint8Array {
  const out = new Uint8Array(pages * PAGE);
  for (let p = 0; p < pages; p++) {
    for (let e = 0; e < 512; e++) {
      const lo = mem.readLo(mfn + p, e);
      const hi = mem.readHi(mfn + p, e);
      for (let k = 0; k < 4; k++) {
        out[p * PAGE + e * 8 + k] = (lo >>> (8 * k)) & 0xff;
        out[p * PAGE + e * 8 + 4 + k] = (hi >>> (8 * k)) & 0xff;
      }
    }
  }
  return out;
}

const WRITE = 0x01;
const READ = 0x02;
const FLUSH = 0x00;

describe('NvmeDisk: identity and queues', () => {
  it('shows as an NVMe controller on PCI (class 01h/08h/02h), reset with bus mastering off', () => {
    const r = rig();
    expect(r.disk.kind).toBe('disk');
    expect(r.disk.bdf).toEqual({ seg: 0, bus: 4, dev: 0, fn: 0 });
    expect(r.disk.config.read(0x0b, 1)).toBe(0x01);
    expect(r.disk.config.read(0x0a, 1)).toBe(0x08);
    expect(r.disk.config.read(0x09, 1)).toBe(0x02);
    expect(r.disk.blocks).toBe(256); // 1 MiB / 4 KiB
  });

  it('refuses a queue depth outside 2…1024 with Invalid Queue Size and a second queue pair with Invalid Queue Identifier', () => {
    const r = rig();
    // Command Specific (SCT 1), SC 01h / 02h, DNR set.
    expect(r.disk.createIoQueues(5, 6, 8)).toBe((1 << 8) | 0x01 | (1 << 14));
    r.disk.deleteIoQueues();
    expect(r.disk.createIoQueues(5, 6, 1)).toBe((1 << 8) | 0x02 | (1 << 14));
    expect(r.disk.createIoQueues(5, 6, 1025)).toBe((1 << 8) | 0x02 | (1 << 14));
    expect(r.disk.createIoQueues(5, 6, 1024)).toBe(0);
  });

  it('refuses a doorbell value past the queue without fetching anything', () => {
    const r = rig({ depth: 4 });
    expect(r.disk.ringSqDoorbell(4)).toBe(false);
    expect(r.disk.ringCqDoorbell(-1)).toBe(false);
    expect(r.disk.outstanding).toBe(0);
    expect(r.disk.stats.errors).toBe(2);
  });
});

describe('NvmeDisk: data', () => {
  let r: Rig;
  beforeEach(() => {
    r = rig();
  });

  it('a write then a read returns the bytes (PRP1 + PRP2, two pages), with CQEs as the spec lays them out', () => {
    const data = fill(r.mem, BUF_MFN, 2, 3);
    putSqe(r.mem, 0, { op: WRITE, cid: 0x1234, prp1: BUF_MFN * PAGE, prp2: (BUF_MFN + 1) * PAGE, slba: 10, nlb: 1 });
    putSqe(r.mem, 1, { op: READ, cid: 0xbeef, prp1: 30 * PAGE, prp2: 31 * PAGE, slba: 10, nlb: 1 });
    r.disk.ringSqDoorbell(2);
    drain(r);
    expect(cqe(r.mem, 0)).toEqual({ sqHead: 2, sqId: 1, cid: 0x1234, phase: 1, sc: 0, sct: 0, dnr: false });
    expect(cqe(r.mem, 1)).toEqual({ sqHead: 2, sqId: 1, cid: 0xbeef, phase: 1, sc: 0, sct: 0, dnr: false });
    expect(bytesAt(r.mem, 30, 2)).toEqual(data);
    expect(r.irqs.map((i) => i.vector)).toEqual([0x51, 0x51]);
    expect(r.disk.stats).toMatchObject({ reads: 1, writes: 1, bytesRead: 8192, bytesWritten: 8192, dirtyBlocks: 2, errors: 0 });
  });

  it('follows a PRP list for a transfer of more than two pages, starting at an offset in the first page', () => {
    // 4 blocks = 16 KiB from buffer offset 512: PRP1 covers 3584 bytes of page 16, then pages 17–19
    // and 512 bytes of page 20 come from the list (4 entries).
    const src = fill(r.mem, BUF_MFN, 5, 9);
    for (let i = 0; i < 4; i++) r.mem.write(LIST_MFN, i, (BUF_MFN + 1 + i) * PAGE, 0);
    putSqe(r.mem, 0, { op: WRITE, cid: 1, prp1: BUF_MFN * PAGE + 512, prp2: LIST_MFN * PAGE, slba: 0, nlb: 3 });
    r.disk.ringSqDoorbell(1);
    drain(r);
    expect(cqe(r.mem, 0).sc).toBe(0);
    for (let b = 0; b < 4; b++) {
      expect(r.disk.dirtyLbas()).toContain(b);
    }
    // Read back to pages 40–43 through a list as well.
    for (let i = 0; i < 3; i++) r.mem.write(LIST_MFN, 8 + i, (41 + i) * PAGE, 0);
    putSqe(r.mem, 1, { op: READ, cid: 2, prp1: 40 * PAGE, prp2: LIST_MFN * PAGE + 64, slba: 0, nlb: 3 });
    r.disk.ringSqDoorbell(2);
    drain(r);
    expect(cqe(r.mem, 1).sc).toBe(0);
    expect(bytesAt(r.mem, 40, 4)).toEqual(src.slice(512, 512 + 4 * PAGE));
  });

  it('flips the phase tag each time the CQ wraps, and holds CQEs while the CQ is full', () => {
    r = rig({ depth: 4 });
    const issue = (slot: number, cid: number) => putSqe(r.mem, slot, { op: READ, cid, prp1: 30 * PAGE, slba: cid });
    // A 4-entry queue holds at most 3 entries (full when tail + 1 = head, §4.1.2): three
    // commands fill the CQ.
    issue(0, 1); issue(1, 2); issue(2, 3);
    r.disk.ringSqDoorbell(3);
    drain(r);
    expect([0, 1, 2].map((s) => cqe(r.mem, s).phase)).toEqual([1, 1, 1]);
    issue(3, 4);
    r.disk.ringSqDoorbell(0); // the SQ tail wraps
    drain(r);
    expect(cqe(r.mem, 3).cid).toBe(0); // the fourth completion waits: no room
    r.disk.ringCqDoorbell(3); // host consumed three
    expect(cqe(r.mem, 3)).toMatchObject({ cid: 4, phase: 1 });
    issue(0, 5); issue(1, 6);
    r.disk.ringSqDoorbell(2);
    drain(r);
    // Second pass over the CQ: slots 0 and 1 posted with phase 0.
    expect(cqe(r.mem, 0)).toMatchObject({ cid: 5, phase: 0 });
    expect(cqe(r.mem, 1)).toMatchObject({ cid: 6, phase: 0, sqHead: 2 });
    expect(decodeCqe(Uint8Array.from(bytesAt(r.mem, CQ_MFN, 1).subarray(16, 32)))).toMatchObject({ cid: 6, phase: 0, sqId: 1, status: 0 });
  });
});

describe('NvmeDisk: durability (volatile write cache, FLUSH, FUA)', () => {
  it('loses a write without FUA on power loss; keeps a flushed one and a FUA one', () => {
    const r = rig();
    const a = fill(r.mem, BUF_MFN, 1, 1);
    const b = fill(r.mem, BUF_MFN + 1, 1, 2);
    const c = fill(r.mem, BUF_MFN + 2, 1, 3);
    putSqe(r.mem, 0, { op: WRITE, cid: 1, prp1: BUF_MFN * PAGE, slba: 5 });
    putSqe(r.mem, 1, { op: FLUSH, cid: 2, prp1: 0 });
    putSqe(r.mem, 2, { op: WRITE, cid: 3, prp1: (BUF_MFN + 1) * PAGE, slba: 6, fua: true });
    putSqe(r.mem, 3, { op: WRITE, cid: 4, prp1: (BUF_MFN + 2) * PAGE, slba: 7 });
    r.disk.ringSqDoorbell(4);
    drain(r);
    expect([0, 1, 2, 3].map((s) => cqe(r.mem, s).sc)).toEqual([0, 0, 0, 0]);
    // Before the power fails, a read sees the cached block.
    expect(r.disk.dirtyLbas()).toEqual([7]);
    expect(r.disk.powerLoss()).toBe(1);
    expect(r.disk.lastLostLbas).toEqual([7]);
    expect(r.disk.readMedia(5)).toEqual(a);
    expect(r.disk.readMedia(6)).toEqual(b);
    expect(r.disk.readMedia(7)).toEqual(new Uint8Array(PAGE));
    expect(r.disk.blockHash(5)).toBe(fnv1a32(a));
    expect(r.disk.blockHash(6)).toBe(fnv1a32(b));
    expect(r.disk.blockHash(7)).toBe(0);
    expect(fnv1a32(c)).not.toBe(0);
    expect(r.disk.stats).toMatchObject({ writes: 3, fuaWrites: 1, flushes: 1, dirtyBlocks: 0, lostOnPowerLoss: 1 });
    // Power loss resets the controller: queues gone, bus mastering off.
    expect(r.disk.hasQueues).toBe(false);
    expect(r.disk.config.busMaster).toBe(false);
  });

  it('with the write cache off every write is durable at completion', () => {
    const r = rig({ writeCache: false });
    const a = fill(r.mem, BUF_MFN, 1, 11);
    putSqe(r.mem, 0, { op: WRITE, cid: 1, prp1: BUF_MFN * PAGE, slba: 9 });
    r.disk.ringSqDoorbell(1);
    drain(r);
    expect(r.disk.powerLoss()).toBe(0);
    expect(r.disk.readMedia(9)).toEqual(a);
  });

  it('blockHash is FNV-1a 32-bit (published test vectors)', () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(fnv1a32(enc(''))).toBe(0x811c9dc5);
    expect(fnv1a32(enc('a'))).toBe(0xe40c292c);
    expect(fnv1a32(enc('foobar'))).toBe(0xbf9cf968);
  });
});

describe('NvmeDisk: bad commands complete with the spec\'s status', () => {
  it('LBA Out of Range (80h), Invalid Opcode (01h), Invalid Namespace (0Bh), Invalid Field (02h), all with DNR', () => {
    const r = rig(); // 256 blocks
    putSqe(r.mem, 0, { op: WRITE, cid: 1, prp1: BUF_MFN * PAGE, slba: 255, nlb: 1 }); // 255 + 2 > 256
    putSqe(r.mem, 1, { op: 0x7f, cid: 2, prp1: BUF_MFN * PAGE });
    putSqe(r.mem, 2, { op: READ, cid: 3, nsid: 2, prp1: BUF_MFN * PAGE });
    putSqe(r.mem, 3, { op: READ, cid: 4, prp1: BUF_MFN * PAGE, nlb: 32 }); // 33 blocks > MDTS 128 KiB
    putSqe(r.mem, 4, { op: READ, cid: 5, prp1: BUF_MFN * PAGE, cdw0hi: 0x40 }); // PSDT = 01b: SGL
    putSqe(r.mem, 5, { op: READ, cid: 6, prp1: BUF_MFN * PAGE, slba: 255 }); // the last block: fine
    r.disk.ringSqDoorbell(6);
    drain(r);
    const got = [0, 1, 2, 3, 4, 5].map((s) => { const c = cqe(r.mem, s); return [c.cid, c.sct, c.sc, c.dnr]; });
    expect(got).toEqual([[1, 0, 0x80, true], [2, 0, 0x01, true], [3, 0, 0x0b, true], [4, 0, 0x02, true], [5, 0, 0x02, true], [6, 0, 0, false]]);
    expect(r.disk.stats.errors).toBe(5);
    expect(r.disk.stats.writes).toBe(0);
    expect(r.disk.dirtyLbas()).toEqual([]);
  });

  it('a PRP pointing past the machine completes with Data Transfer Error (04h) and moves nothing', () => {
    const r = rig();
    putSqe(r.mem, 0, { op: WRITE, cid: 7, prp1: 64 * PAGE, slba: 3 });
    putSqe(r.mem, 1, { op: WRITE, cid: 8, prp1: BUF_MFN * PAGE + 2, slba: 3 }); // PRP1 not dword aligned
    r.disk.ringSqDoorbell(2);
    drain(r);
    expect([cqe(r.mem, 0).cid, cqe(r.mem, 0).sc]).toEqual([7, 0x04]);
    expect([cqe(r.mem, 1).cid, cqe(r.mem, 1).sc]).toEqual([8, 0x13]); // PRP Offset Invalid
    expect(r.disk.dirtyLbas()).toEqual([]);
  });

  it('with Bus Master Enable clear the device does no DMA: nothing fetched, nothing posted, no MSI', () => {
    const r = rig();
    fill(r.mem, BUF_MFN, 1, 5);
    putSqe(r.mem, 0, { op: READ, cid: 9, prp1: BUF_MFN * PAGE, slba: 0 });
    r.mem.startDirtyLog();
    r.disk.config.setBusMaster(false);
    r.disk.ringSqDoorbell(1);
    drain(r);
    expect(r.disk.outstanding).toBe(0);
    expect(r.mem.dirty!.size).toBe(0);
    expect(r.irqs).toEqual([]);
    // Bus mastering back on: the next doorbell fetches and the read completes.
    r.disk.config.setBusMaster(true);
    r.disk.ringSqDoorbell(1);
    drain(r);
    expect(cqe(r.mem, 0)).toMatchObject({ cid: 9, sc: 0, phase: 1 });
    expect(bytesAt(r.mem, BUF_MFN, 1)).toEqual(new Uint8Array(PAGE)); // block 0 never written: zeros
  });

  it('a command whose transfer meets a cleared BME fails with Data Transfer Error, posted once BME returns', () => {
    const r = rig();
    const before = fill(r.mem, 30, 1, 77);
    putSqe(r.mem, 0, { op: READ, cid: 10, prp1: 30 * PAGE, slba: 1 });
    r.disk.ringSqDoorbell(1);
    r.disk.config.setBusMaster(false);
    drain(r);
    expect(bytesAt(r.mem, 30, 1)).toEqual(before);
    expect(cqe(r.mem, 0).cid).toBe(0);
    r.disk.config.setBusMaster(true);
    r.disk.ringCqDoorbell(0);
    expect(cqe(r.mem, 0)).toMatchObject({ cid: 10, sc: 0x04, sct: 0 });
  });
});

describe('NvmeDisk: timing', () => {
  // Inputs different from the defaults, so the test checks the formula, not the P3700 numbers.
  const timing = { readUs: 50, readPerExtraBlockUs: 2, cacheWriteUs: 10, writePerExtraBlockUs: 1, programPerBlockUs: 3, flushBaseUs: 7 };

  it('serves commands in parallel units, a FLUSH as a barrier, each for the documented service time', () => {
    const cpu = 1000;
    const r = rig({ timing, cyclesPerUs: cpu });
    putSqe(r.mem, 0, { op: WRITE, cid: 1, prp1: BUF_MFN * PAGE, prp2: (BUF_MFN + 1) * PAGE, slba: 0, nlb: 1 });
    putSqe(r.mem, 1, { op: WRITE, cid: 2, prp1: BUF_MFN * PAGE, slba: 4, fua: true });
    putSqe(r.mem, 2, { op: FLUSH, cid: 3, prp1: 0 });
    putSqe(r.mem, 3, { op: READ, cid: 4, prp1: 30 * PAGE, prp2: LIST_MFN * PAGE, slba: 0, nlb: 2 });
    for (let i = 0; i < 2; i++) r.mem.write(LIST_MFN, i, (31 + i) * PAGE, 0);
    putSqe(r.mem, 4, { op: 0x55, cid: 5, prp1: 0 });
    r.t.now = 5000;
    r.disk.ringSqDoorbell(5);
    drain(r);
    // By hand, all from t = 5000: the two writes start together — 2 blocks to cache 10 + 1 = 11 µs,
    // FUA of 1 block 10 + 3 = 13 µs. The flush waits for both (13 µs), then writes back the 2
    // dirty blocks: 7 + 2·3 = 13 µs, done at 26 µs. The read and the refused opcode wait for the
    // flush; the refused one takes no media time (26 µs), the read of 3 blocks 50 + 2·2 = 54 µs (80 µs).
    const ends = [11, 13, 26, 26, 80].map((us) => 5000 + us * cpu);
    expect(r.irqs.map((i) => i.at)).toEqual(ends);
  });

  it('a command starts when it arrives while a unit is free; with one unit, when the previous one finishes', () => {
    const cpu = 2;
    const r = rig({ timing, cyclesPerUs: cpu });
    putSqe(r.mem, 0, { op: READ, cid: 1, prp1: 30 * PAGE });
    r.disk.ringSqDoorbell(1);
    drain(r); // done at 50 µs = 100 cycles
    r.t.now = 1000;
    putSqe(r.mem, 1, { op: READ, cid: 2, prp1: 30 * PAGE });
    putSqe(r.mem, 2, { op: WRITE, cid: 3, prp1: 30 * PAGE });
    r.disk.ringSqDoorbell(3);
    drain(r);
    // Both start at 1000 on their own units: the write (10 µs) finishes before the read (50 µs).
    expect(r.irqs.map((i) => i.at)).toEqual([100, 1000 + 20, 1000 + 100]);
    const one = rig({ timing: { ...timing, parallelUnits: 1 }, cyclesPerUs: cpu });
    putSqe(one.mem, 0, { op: READ, cid: 1, prp1: 30 * PAGE });
    putSqe(one.mem, 1, { op: WRITE, cid: 2, prp1: 30 * PAGE });
    one.disk.ringSqDoorbell(2);
    drain(one);
    expect(one.irqs.map((i) => i.at)).toEqual([100, 100 + 20]);
  });

  it('by default a 4 KiB read takes the P3700\'s QD1 time: 4096 B at 36.5 MB/s', () => {
    const r = rig({ cyclesPerUs: 3000 });
    putSqe(r.mem, 0, { op: READ, cid: 1, prp1: 30 * PAGE });
    r.disk.ringSqDoorbell(1);
    drain(r);
    expect(r.irqs[0]!.at).toBe(Math.round((4096 / 36.5e6) * 1e6 * 3000));
  });
});

describe('NvmeDisk: Function Level Reset', () => {
  it('drops the queues and the in-flight command, clears BME and MSI, keeps the cache', () => {
    const r = rig();
    fill(r.mem, BUF_MFN, 1, 4);
    putSqe(r.mem, 0, { op: WRITE, cid: 1, prp1: BUF_MFN * PAGE, slba: 2 });
    r.disk.ringSqDoorbell(1);
    drain(r);
    putSqe(r.mem, 1, { op: FLUSH, cid: 2, prp1: 0 });
    r.disk.ringSqDoorbell(2);
    r.disk.reset();
    drain(r);
    expect(r.irqs).toHaveLength(1);
    expect(cqe(r.mem, 1).cid).toBe(0);
    expect(r.disk.hasQueues).toBe(false);
    expect(r.disk.config.busMaster).toBe(false);
    expect(r.msi.enabled).toBe(false);
    expect(r.disk.dirtyLbas()).toEqual([2]);
    expect(r.queue.size).toBe(0);
  });

  it('encodeSqe lays out the same bytes as the hand-built entry', () => {
    const r = rig();
    putSqe(r.mem, 0, { op: WRITE, cid: 0xabcd, prp1: 0x1_2345_6000, prp2: 0x7000, slba: 77, nlb: 3, fua: true });
    const enc = encodeSqe({ opcode: WRITE, cid: 0xabcd, nsid: 1, prp1: 0x1_2345_6000, prp2: 0x7000, slba: 77, nlb: 3, fua: true });
    expect(enc).toEqual(bytesAt(r.mem, SQ_MFN, 1).subarray(0, 64));
  });
});

/**
 * The e1000-style NIC and its link partner. Descriptors are built by hand in the 8254x SDM's
 * legacy layouts (§3.2.3 receive: buffer address bytes 0–7, length 8–9, status 12 with DD bit 0
 * and EOP bit 1; §3.3.3 transmit: address 0–7, length 8–9, CMD byte 11 with EOP bit 0 and RS bit
 * 3, STA byte 12 with DD bit 0). Wire times are computed by hand from IEEE 802.3's overheads:
 * FCS 4, minimum frame 64, preamble + SFD 8, inter-frame gap 12 bytes.
 */
import { describe, expect, it } from 'vitest';
import { DirectDma } from '../../core/machine/devices/dma.js';
import { Msi } from '../../core/machine/devices/msi.js';
import {
  E1000_GPRC, E1000_ICR, E1000_IMS, E1000_MPC, E1000_RCTL, E1000_RDBAL, E1000_RDH, E1000_RDLEN, E1000_RDT, E1000_STATUS,
  E1000_TCTL, E1000_TDBAL, E1000_TDH, E1000_TDLEN, E1000_TDT, E1000Nic, LinkPartner,
} from '../../core/machine/devices/nic.js';
import { EventQueue } from '../../core/machine/events.js';
import { MachineMemory } from '../../core/machine/memory.js';

const PAGE = 4096;
const RX_RING = 1;
const TX_RING = 2;

function rig(cyclesPerUs = 1000) {
  const mem = new MachineMemory(64);
  const queue = new EventQueue();
  const t = { now: 0 };
  const clock = { now: () => t.now, queue, cyclesPerUs };
  const msi = new Msi();
  const nic = new E1000Nic({ id: 'nic0', bdf: '03:00.0', clock, dma: new DirectDma(mem), msi });
  nic.config.setBusMaster(true);
  msi.program(0xfee00000, 0x62);
  const irqs: { at: number; icr: number }[] = [];
  // A driver's handler reads ICR (which clears it) so that the next cause interrupts again.
  msi.handler = () => irqs.push({ at: t.now, icr: nic.readReg(E1000_ICR) });
  const drain = () => {
    while (queue.peekTime() !== Infinity) {
      t.now = Math.max(t.now, queue.peekTime());
      queue.runDue(t.now);
    }
  };
  return { mem, queue, t, clock, msi, nic, irqs, drain };
}

type Rig = ReturnType<typeof rig>;

/** Receive ring of `n` descriptors at RX_RING, buffers at frames 20, 21, … */
function setupRx(r: Rig, n: number, tail: number): void {
  for (let i = 0; i < n; i++) {
    r.mem.write(RX_RING, 2 * i, (20 + i) * PAGE, 0);
    r.mem.write(RX_RING, 2 * i + 1, 0, 0);
  }
  r.nic.writeReg(E1000_RDBAL, RX_RING * PAGE);
  r.nic.writeReg(E1000_RDLEN, n * 16);
  r.nic.writeReg(E1000_RDH, 0);
  r.nic.writeReg(E1000_RDT, tail);
  r.nic.writeReg(E1000_RCTL, 1 << 1);
  r.nic.writeReg(E1000_IMS, (1 << 7) | 1);
}

/** Byte `k` of frame `mfn` (little-endian words). */
function byteAt(mem: MachineMemory, mfn: number, k: number): number {
  const e = k >> 3;
  const w = (k & 7) < 4 ? mem.readLo(mfn, e) : mem.readHi(mfn, e);
  return (w >>> ((k & 3) * 8)) & 0xff;
}

describe('E1000Nic: receive', () => {
  it('fills free descriptors, writes back length and DD|EOP, and counts the rest as missed', () => {
    const r = rig();
    setupRx(r, 8, 7); // hardware owns descriptors 0–6: seven free
    const lp = new LinkPartner({ clock: r.clock, rateMbps: 1000, frameBytes: 1000, frames: 10 });
    lp.connect(r.nic);
    expect(r.nic.readReg(E1000_STATUS) & 2).toBe(2); // Link Up
    lp.start(0);
    r.drain();
    expect(r.nic.stats).toMatchObject({ rxFrames: 7, rxBytes: 7000, rxMissed: 3 });
    expect(lp).toMatchObject({ sent: 10, dropped: 3 });
    expect(r.nic.readReg(E1000_RDH)).toBe(7);
    expect(r.nic.readReg(E1000_MPC)).toBe(3);
    expect(r.nic.readReg(E1000_MPC)).toBe(0); // read-to-clear
    expect(r.nic.readReg(E1000_GPRC)).toBe(7);
    for (let i = 0; i < 7; i++) {
      // Descriptor i's second half: length 1000 in bits 15:0, status DD|EOP = 3 in bits 7:0 of the high word.
      expect(r.mem.readLo(RX_RING, 2 * i + 1)).toBe(1000);
      expect(r.mem.readHi(RX_RING, 2 * i + 1)).toBe(3);
      // The frame: EtherType 88B5h at bytes 12–13, sequence number i big-endian at 14–17.
      expect([12, 13, 14, 15, 16, 17].map((k) => byteAt(r.mem, 20 + i, k))).toEqual([0x88, 0xb5, 0, 0, 0, i]);
    }
    expect(r.mem.readHi(RX_RING, 15)).toBe(0); // descriptor 7 was never the hardware's
  });

  it('sends at the offered rate, wire overheads included, never faster than the link', () => {
    const r = rig(1000);
    setupRx(r, 64, 63);
    // 1000-byte frames: (1000 + 4 + 8 + 12)·8 = 8192 bits; at 100 Mb/s, 81.92 µs apart.
    const lp = new LinkPartner({ clock: r.clock, rateMbps: 100, frameBytes: 1000, frames: 4 });
    lp.connect(r.nic);
    lp.start(500);
    r.drain();
    expect(r.irqs.map((i) => i.at)).toEqual([500, 500 + 81920, 500 + 163840, 500 + 245760]);
    // Offered 5 Gb/s on a 1 Gb/s link: 60-byte frames are padded to 64 with FCS, (64+20)·8 = 672 bits: 0.672 µs apart.
    const fast = new LinkPartner({ clock: r.clock, rateMbps: 5000, frameBytes: 60 });
    fast.connect(r.nic);
    expect(fast.intervalUs).toBeCloseTo(0.672, 12);
  });

  it('drops everything while the receiver is disabled', () => {
    const r = rig();
    setupRx(r, 8, 7);
    r.nic.writeReg(E1000_RCTL, 0);
    const lp = new LinkPartner({ clock: r.clock, rateMbps: 1000, frameBytes: 64, frames: 3 });
    lp.connect(r.nic);
    lp.start();
    r.drain();
    expect(r.nic.stats.rxFrames).toBe(0);
    expect(r.nic.stats.rxMissed).toBe(3);
  });

  it('interrupts only for unmasked causes, once until ICR is read', () => {
    const r = rig();
    setupRx(r, 8, 7);
    r.msi.handler = () => r.irqs.push({ at: r.t.now, icr: -1 }); // a handler that never reads ICR
    const lp = new LinkPartner({ clock: r.clock, rateMbps: 1000, frameBytes: 64, frames: 3 });
    lp.connect(r.nic);
    lp.start();
    r.drain();
    expect(r.irqs).toHaveLength(1);
    expect(r.nic.readReg(E1000_ICR)).toBe(1 << 7); // RXT0
    expect(r.nic.readReg(E1000_ICR)).toBe(0);
  });

  it('a masked cause sets ICR but sends no MSI', () => {
    const r = rig();
    setupRx(r, 8, 7);
    r.nic.writeReg(0x00d8, 0xffffffff); // IMC: mask everything
    const lp = new LinkPartner({ clock: r.clock, rateMbps: 1000, frameBytes: 64, frames: 2 });
    lp.connect(r.nic);
    lp.start();
    r.drain();
    expect(r.irqs).toEqual([]);
    expect(r.nic.stats.rxFrames).toBe(2);
    expect(r.nic.readReg(E1000_ICR)).toBe(1 << 7);
  });

  it('ignores a tail value outside the ring', () => {
    const r = rig();
    setupRx(r, 8, 3);
    r.nic.writeReg(E1000_RDT, 8);
    expect(r.nic.readReg(E1000_RDT)).toBe(3);
    expect(r.nic.stats.rxErrors).toBe(1);
  });
});

describe('E1000Nic: transmit', () => {
  /** Transmit descriptor i: buffer, length, CMD. */
  function txDesc(r: Rig, i: number, buf: number, len: number, cmd: number): void {
    r.mem.write(TX_RING, 2 * i, buf, 0);
    r.mem.write(TX_RING, 2 * i + 1, (len | (cmd << 24)) >>> 0, 0);
  }

  function setupTx(r: Rig, n: number): void {
    r.nic.writeReg(E1000_TDBAL, TX_RING * PAGE);
    r.nic.writeReg(E1000_TDLEN, n * 16);
    r.nic.writeReg(E1000_TDH, 0);
    r.nic.writeReg(E1000_TDT, 0);
    r.nic.writeReg(E1000_TCTL, 1 << 1);
    r.nic.writeReg(E1000_IMS, 1);
  }

  it('sends frames made of descriptors up to EOP, back to back at the link rate, and writes DD back where RS asks', () => {
    const r = rig(1000);
    setupTx(r, 8);
    const lp = new LinkPartner({ clock: r.clock, rateMbps: 1, frameBytes: 60 });
    lp.connect(r.nic);
    const got: { at: number; bytes: number[] }[] = [];
    lp.onFrame = (f) => got.push({ at: r.t.now, bytes: [...f] });
    // Frame A: 100 bytes of 0x11 then 200 of 0x22 in two descriptors; frame B: 40 bytes of 0x33.
    for (let e = 0; e < 512; e++) {
      r.mem.write(30, e, 0x11111111, 0x11111111);
      r.mem.write(31, e, 0x22222222, 0x22222222);
      r.mem.write(32, e, 0x33333333, 0x33333333);
    }
    txDesc(r, 0, 30 * PAGE, 100, 0);
    txDesc(r, 1, 31 * PAGE, 200, 0x01 | 0x08);
    txDesc(r, 2, 32 * PAGE, 40, 0x01 | 0x08);
    r.t.now = 10_000;
    r.nic.writeReg(E1000_TDT, 3);
    r.drain();
    // A: (300 + 4 + 8 + 12)·8 = 2592 bits = 2.592 µs; B: 40 + 4 < 64 → (64 + 20)·8 = 672 bits.
    expect(got.map((g) => g.at)).toEqual([10_000 + 2592, 10_000 + 2592 + 672]);
    expect(got[0]!.bytes).toEqual([...new Array(100).fill(0x11), ...new Array(200).fill(0x22)]);
    expect(got[1]!.bytes).toEqual(new Array(40).fill(0x33));
    expect(r.nic.readReg(E1000_TDH)).toBe(3);
    // STA is byte 12: bits 7:0 of descriptor i's high word. Descriptor 0 had no RS.
    expect([0, 1, 2].map((i) => r.mem.readHi(TX_RING, 2 * i + 1) & 0xff)).toEqual([0, 1, 1]);
    expect(r.nic.stats).toMatchObject({ txFrames: 2, txBytes: 340 });
    expect(lp).toMatchObject({ received: 2, receivedBytes: 340 });
    expect(r.irqs.length).toBeGreaterThanOrEqual(1);
    expect(r.irqs[0]!.icr & 1).toBe(1); // TXDW
  });

  it('waits for the EOP descriptor before sending a frame', () => {
    const r = rig();
    setupTx(r, 8);
    const lp = new LinkPartner({ clock: r.clock, rateMbps: 1, frameBytes: 60 });
    lp.connect(r.nic);
    txDesc(r, 0, 30 * PAGE, 64, 0);
    txDesc(r, 1, 31 * PAGE, 64, 0x01);
    r.nic.writeReg(E1000_TDT, 1);
    r.drain();
    expect(lp.received).toBe(0);
    r.nic.writeReg(E1000_TDT, 2);
    r.drain();
    expect(lp.received).toBe(1);
    expect(lp.receivedBytes).toBe(128);
  });

  it('sends nothing while Bus Master Enable is clear', () => {
    const r = rig();
    setupTx(r, 8);
    const lp = new LinkPartner({ clock: r.clock, rateMbps: 1, frameBytes: 60 });
    lp.connect(r.nic);
    txDesc(r, 0, 30 * PAGE, 64, 0x01 | 0x08);
    r.nic.config.setBusMaster(false);
    r.nic.writeReg(E1000_TDT, 1);
    r.drain();
    expect(lp.received).toBe(0);
    expect(r.mem.readHi(TX_RING, 1)).toBe(0);
    r.nic.config.setBusMaster(true);
    r.nic.writeReg(E1000_TDT, 1);
    r.drain();
    expect(lp.received).toBe(1);
  });

  it('Function Level Reset drops the frame on the wire and clears rings, BME and MSI', () => {
    const r = rig();
    setupTx(r, 8);
    const lp = new LinkPartner({ clock: r.clock, rateMbps: 1, frameBytes: 60 });
    lp.connect(r.nic);
    txDesc(r, 0, 30 * PAGE, 64, 0x01 | 0x08);
    r.nic.writeReg(E1000_TDT, 1);
    r.nic.reset();
    r.drain();
    expect(lp.received).toBe(0);
    expect(r.nic.readReg(E1000_TDLEN)).toBe(0);
    expect(r.nic.readReg(E1000_TCTL)).toBe(0);
    expect(r.nic.config.busMaster).toBe(false);
    expect(r.msi.enabled).toBe(false);
  });
});

describe('LinkPartner', () => {
  it('refuses a frame size outside 60…1514 and a rate that is not positive, saying which', () => {
    const clock = { now: () => 0, queue: new EventQueue(), cyclesPerUs: 1 };
    expect(() => new LinkPartner({ clock, rateMbps: 100, frameBytes: 1515 })).toThrow(/frameBytes must be an integer from 60 to 1514, got 1515/);
    expect(() => new LinkPartner({ clock, rateMbps: 100, frameBytes: 59 })).toThrow(/got 59/);
    expect(() => new LinkPartner({ clock, rateMbps: 0, frameBytes: 100 })).toThrow(/rateMbps must be positive/);
  });

  it('stop() ends the stream', () => {
    const r = rig();
    setupRx(r, 8, 7);
    const lp = new LinkPartner({ clock: r.clock, rateMbps: 1000, frameBytes: 100 });
    lp.connect(r.nic);
    lp.start(0);
    r.t.now = 0;
    r.queue.runDue(0);
    lp.stop();
    r.drain();
    expect(lp.sent).toBe(1);
  });
});

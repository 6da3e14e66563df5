/**
 * An e1000-style gigabit NIC and the link partner at the other end of its cable.
 *
 * The NIC follows the Intel 8254x Family of Gigabit Ethernet Controllers Software Developer's
 * Manual (order no. 317453; "SDM" below): register offsets of §13 (Table 13-2), legacy receive
 * descriptors (§3.2.3) and legacy transmit descriptors (§3.3.3), each 16 bytes in a ring in host
 * memory described by base/length/head/tail registers. Hardware owns receive descriptors from
 * RDH up to RDT−1 and consumes transmit descriptors from TDH up to TDT−1 (§3.2, §3.3). One
 * deviation: the 82540EM signals INTx; this model signals MSI as its PCIe descendants (82574L)
 * do, raised when an unmasked cause appears in ICR while none was pending. ICR is cleared when
 * read (SDM §13.4, ICR), so a driver reads ICR in its handler to be interrupted again.
 *
 * Timing is the wire: a frame of L bytes (without FCS) occupies max(L + 4, 64) bytes of frame,
 * plus 8 of preamble and start delimiter and 12 of inter-frame gap (IEEE 802.3 clause 4:
 * minFrameSize 512 bits, interFrameGap 96 bits, 7 octets preamble + 1 SFD), at the link rate
 * (1000 Mb/s by default, the 82540EM's). Transmission is serial; a frame leaves the NIC (and its
 * descriptors are written back) when its last bit is on the wire.
 */
import { type DmaPort, TWO32 } from './dma.js';
import type { DeviceClock } from '../events.js';
import { Msi } from './msi.js';
import { type Bdf, parseBdf, PciConfigSpace, type PciFunction } from './pci.js';

/** Register offsets (SDM Table 13-2; the names of Linux's and FreeBSD's e1000_regs.h). */
export const E1000_CTRL = 0x0000;
export const E1000_STATUS = 0x0008;
export const E1000_ICR = 0x00c0;
export const E1000_IMS = 0x00d0;
export const E1000_IMC = 0x00d8;
export const E1000_RCTL = 0x0100;
export const E1000_TCTL = 0x0400;
export const E1000_RDBAL = 0x2800;
export const E1000_RDBAH = 0x2804;
export const E1000_RDLEN = 0x2808;
export const E1000_RDH = 0x2810;
export const E1000_RDT = 0x2818;
export const E1000_TDBAL = 0x3800;
export const E1000_TDBAH = 0x3804;
export const E1000_TDLEN = 0x3808;
export const E1000_TDH = 0x3810;
export const E1000_TDT = 0x3818;
/** Missed Packet Count: frames dropped for want of a receive descriptor (read-to-clear). */
export const E1000_MPC = 0x4010;
/** Good Packets Received / Transmitted Count (read-to-clear). */
export const E1000_GPRC = 0x4074;
export const E1000_GPTC = 0x4080;

/** STATUS bit 1: Link Up. */
export const E1000_STATUS_LU = 1 << 1;
/** RCTL / TCTL bit 1: receiver / transmitter enable. */
export const E1000_RCTL_EN = 1 << 1;
export const E1000_TCTL_EN = 1 << 1;
/** Interrupt causes (ICR/IMS bits): transmit descriptor written back, receiver timer (a frame arrived). */
export const E1000_ICR_TXDW = 1 << 0;
export const E1000_ICR_RXT0 = 1 << 7;
/** Transmit descriptor CMD (byte 11): End Of Packet, Report Status. STA (byte 12): Descriptor Done. */
export const E1000_TXD_CMD_EOP = 0x01;
export const E1000_TXD_CMD_RS = 0x08;
export const E1000_TXD_STAT_DD = 0x01;
/** Receive descriptor status (byte 12): Descriptor Done, End Of Packet. */
export const E1000_RXD_STAT_DD = 0x01;
export const E1000_RXD_STAT_EOP = 0x02;
export const E1000_DESC_SIZE = 16;
/** Receive buffer size with RCTL.BSIZE = 00b, BSEX = 0 (the reset value): 2048 bytes. */
export const E1000_RX_BUFFER = 2048;
/** 82540EM: vendor 8086h, device 100Eh, class 020000h (Ethernet controller). */
export const E1000_VENDOR_ID = 0x8086;
export const E1000_DEVICE_ID = 0x100e;
export const E1000_CLASS_CODE = 0x020000;

/** Largest frame without FCS (1518 with it) and smallest (60; padded to 64 with FCS), IEEE 802.3. */
export const ETH_MAX_FRAME = 1514;
export const ETH_MIN_FRAME = 60;

/** Bits a frame of `len` bytes (no FCS) occupies on the wire, overheads included (IEEE 802.3 clause 4). */
export function wireBits(len: number): number {
  return (Math.max(len + 4, 64) + 8 + 12) * 8;
}

export interface NicStats {
  txFrames: number;
  txBytes: number;
  rxFrames: number;
  rxBytes: number;
  /** Frames dropped because the receive ring had no free descriptor (or the receiver was off). */
  rxMissed: number;
  /** Frames that could not be sent or delivered: a DMA fault, bus mastering off, a frame too long. */
  txErrors: number;
  rxErrors: number;
}

export interface E1000Options {
  id: string;
  bdf: Bdf | string;
  clock: DeviceClock;
  dma: DmaPort;
  msi: Msi;
  /** Link speed, Mb/s. Default 1000. */
  linkMbps?: number;
}

export class E1000Nic implements PciFunction {
  readonly id: string;
  readonly kind = 'nic';
  readonly bdf: Bdf;
  readonly config: PciConfigSpace;
  readonly linkMbps: number;
  readonly stats: NicStats = { txFrames: 0, txBytes: 0, rxFrames: 0, rxBytes: 0, rxMissed: 0, txErrors: 0, rxErrors: 0 };
  partner: LinkPartner | null = null;

  private readonly clock: DeviceClock;
  private readonly dma: DmaPort;
  private readonly msi: Msi;
  private regs = new Map<number, number>();
  private icr = 0;
  private ims = 0;
  private mpc = 0;
  private gprc = 0;
  private gptc = 0;
  private txEvent = -1;
  private txIdleSince = 0;

  constructor(o: E1000Options) {
    this.id = o.id;
    this.bdf = typeof o.bdf === 'string' ? parseBdf(o.bdf) : o.bdf;
    this.linkMbps = o.linkMbps ?? 1000;
    if (!(this.linkMbps > 0)) throw new RangeError(`nic ${o.id}: linkMbps must be positive, got ${String(o.linkMbps)}`);
    this.clock = o.clock;
    this.dma = o.dma;
    this.msi = o.msi;
    this.config = new PciConfigSpace({ vendorId: E1000_VENDOR_ID, deviceId: E1000_DEVICE_ID, classCode: E1000_CLASS_CODE, msi: o.msi });
  }

  /** A 32-bit register read. ICR and the statistics registers clear on read. */
  readReg(off: number): number {
    switch (off) {
      case E1000_STATUS:
        return this.partner ? E1000_STATUS_LU : 0;
      case E1000_ICR: {
        const v = this.icr;
        this.icr = 0;
        return v;
      }
      case E1000_IMS:
        return this.ims;
      case E1000_MPC: return this.takeCounter('mpc');
      case E1000_GPRC: return this.takeCounter('gprc');
      case E1000_GPTC: return this.takeCounter('gptc');
      default:
        return this.regs.get(off) ?? 0;
    }
  }

  /** A 32-bit register write. Writing TDT starts transmission; RDT hands receive buffers over. */
  writeReg(off: number, value: number): void {
    const v = value >>> 0;
    switch (off) {
      case E1000_IMS: {
        const before = this.icr & this.ims;
        this.ims |= v;
        if (before === 0) this.signal();
        return;
      }
      case E1000_IMC:
        this.ims &= ~v;
        return;
      case E1000_ICR:
        this.icr &= ~v; // writing 1s clears causes
        return;
      case E1000_RDBAL: case E1000_TDBAL:
        this.regs.set(off, v & ~0xf); // the ring base is 16-byte aligned (SDM §13.4, RDBAL/TDBAL)
        return;
      case E1000_RDLEN: case E1000_TDLEN:
        this.regs.set(off, v & 0xfff80); // a multiple of 128 bytes
        return;
      case E1000_RDH: case E1000_RDT: case E1000_TDH: case E1000_TDT: {
        const ring = off === E1000_RDH || off === E1000_RDT ? 'rx' : 'tx';
        if (v >= this.ringCount(ring)) {
          if (ring === 'rx') this.stats.rxErrors++;
          else this.stats.txErrors++;
          return; // a value outside the ring is ignored
        }
        this.regs.set(off, v);
        if (off === E1000_TDT) this.kickTx();
        return;
      }
      default:
        this.regs.set(off, v);
        if (off === E1000_TCTL) this.kickTx();
    }
  }

  /** Function Level Reset: rings, enables and causes cleared, a frame on the wire dropped, BME and MSI off. */
  reset(): void {
    if (this.txEvent >= 0) this.clock.queue.cancel(this.txEvent);
    this.txEvent = -1;
    this.regs.clear();
    this.icr = 0;
    this.ims = 0;
    this.config.reset();
  }

  /** A frame arriving from the wire; false if it was dropped (and counted). */
  receive(frame: Uint8Array): boolean {
    const head = this.readReg(E1000_RDH);
    const count = this.ringCount('rx');
    if ((this.readReg(E1000_RCTL) & E1000_RCTL_EN) === 0 || count === 0 || head === this.readReg(E1000_RDT)) {
      this.stats.rxMissed++;
      this.mpc++;
      return false;
    }
    if (!this.config.busMaster || frame.length > E1000_RX_BUFFER) {
      this.stats.rxErrors++;
      return false;
    }
    const desc = this.ringBase('rx') + head * E1000_DESC_SIZE;
    const d = new Uint8Array(E1000_DESC_SIZE);
    const v = new DataView(d.buffer);
    if (!this.dma.read(desc, d)) {
      this.stats.rxErrors++;
      return false;
    }
    const buf = v.getUint32(0, true) + v.getUint32(4, true) * TWO32;
    if (!this.dma.write(buf, frame)) {
      this.stats.rxErrors++;
      return false;
    }
    // Write-back (§3.2.3): length, checksum 0, status DD|EOP, errors 0, special 0.
    v.setUint16(8, frame.length, true);
    v.setUint16(10, 0, true);
    v.setUint8(12, E1000_RXD_STAT_DD | E1000_RXD_STAT_EOP);
    v.setUint8(13, 0);
    v.setUint16(14, 0, true);
    this.dma.write(desc + 8, d.subarray(8));
    this.regs.set(E1000_RDH, (head + 1) % count);
    this.stats.rxFrames++;
    this.stats.rxBytes += frame.length;
    this.gprc++;
    this.cause(E1000_ICR_RXT0);
    return true;
  }

  private takeCounter(k: 'mpc' | 'gprc' | 'gptc'): number {
    const v = this[k];
    this[k] = 0;
    return Math.min(v, 0xffffffff);
  }

  private ringCount(ring: 'rx' | 'tx'): number {
    return (this.regs.get(ring === 'rx' ? E1000_RDLEN : E1000_TDLEN) ?? 0) / E1000_DESC_SIZE;
  }

  private ringBase(ring: 'rx' | 'tx'): number {
    const lo = this.regs.get(ring === 'rx' ? E1000_RDBAL : E1000_TDBAL) ?? 0;
    const hi = this.regs.get(ring === 'rx' ? E1000_RDBAH : E1000_TDBAH) ?? 0;
    return lo + hi * TWO32;
  }

  private cause(bits: number): void {
    const before = this.icr & this.ims;
    this.icr |= bits;
    if (before === 0) this.signal();
  }

  private signal(): void {
    if ((this.icr & this.ims) !== 0 && this.config.busMaster) this.msi.raise();
  }

  /**
   * Starts the next frame if the transmitter is idle: the descriptors from TDH up to the one
   * with EOP (a frame whose EOP is not yet before TDT waits), their buffers read by DMA now, the
   * frame on the wire for wireBits/linkMbps.
   */
  private kickTx(): void {
    if (this.txEvent >= 0 || (this.readReg(E1000_TCTL) & E1000_TCTL_EN) === 0 || !this.config.busMaster) return;
    const count = this.ringCount('tx');
    const tail = this.readReg(E1000_TDT);
    let i = this.readReg(E1000_TDH);
    if (count === 0 || i === tail) return;
    const base = this.ringBase('tx');
    const d = new Uint8Array(E1000_DESC_SIZE);
    const v = new DataView(d.buffer);
    const parts: { desc: number; buf: number; len: number; cmd: number }[] = [];
    for (;;) {
      if (i === tail) return; // no EOP yet: wait for the driver to finish the frame
      const desc = base + i * E1000_DESC_SIZE;
      if (!this.dma.read(desc, d)) return this.txFault((i + 1) % count);
      const cmd = v.getUint8(11);
      parts.push({ desc, buf: v.getUint32(0, true) + v.getUint32(4, true) * TWO32, len: v.getUint16(8, true), cmd });
      i = (i + 1) % count;
      if (cmd & E1000_TXD_CMD_EOP) break;
    }
    const len = parts.reduce((s, p) => s + p.len, 0);
    const frame = new Uint8Array(len);
    let off = 0;
    for (const p of parts) {
      if (!this.dma.read(p.buf, frame.subarray(off, off + p.len))) return this.txFault(i);
      off += p.len;
    }
    const start = Math.max(this.clock.now(), this.txIdleSince);
    const done = start + Math.round((wireBits(len) / this.linkMbps) * this.clock.cyclesPerUs);
    const next = i;
    this.txEvent = this.clock.queue.push(done, () => {
      this.txEvent = -1;
      this.txIdleSince = done;
      for (const p of parts) {
        if (p.cmd & E1000_TXD_CMD_RS) this.dma.write(p.desc + 12, Uint8Array.of(E1000_TXD_STAT_DD));
      }
      this.regs.set(E1000_TDH, next);
      this.stats.txFrames++;
      this.stats.txBytes += len;
      this.gptc++;
      this.partner?.sink(frame);
      this.cause(E1000_ICR_TXDW);
      this.kickTx();
    });
  }

  /** A descriptor or buffer the NIC cannot read: the frame is skipped (TDH moves past it), counted. */
  private txFault(next: number): void {
    this.stats.txErrors++;
    this.regs.set(E1000_TDH, next);
    this.kickTx();
  }
}

export interface LinkPartnerOptions {
  clock: DeviceClock;
  /** Offered load toward the NIC in Mb/s of wire time (overheads included), capped at the link's rate. */
  rateMbps: number;
  /** Bytes per frame sent, without FCS: 60…1514. */
  frameBytes: number;
  /** Frames to send; default unlimited (until stop()). */
  frames?: number;
}

/**
 * The machine at the other end of the cable: sends frames to the NIC at a set rate and sinks
 * what the NIC transmits. Frame k is sent at start + round(k · wireBits(frameBytes) / rate µs),
 * so rounding never accumulates. Each frame carries an EtherType of 88B5h (IEEE 802 local
 * experimental) and its sequence number, big-endian, in bytes 14–17.
 */
export class LinkPartner {
  readonly rateMbps: number;
  readonly frameBytes: number;
  readonly limit: number;
  sent = 0;
  sentBytes = 0;
  received = 0;
  receivedBytes = 0;
  /** Frames the NIC dropped or refused of those sent. */
  dropped = 0;
  /** Optional: sees every frame the NIC transmits. */
  onFrame: ((frame: Uint8Array) => void) | null = null;

  private readonly clock: DeviceClock;
  private nic: E1000Nic | null = null;
  private event = -1;
  private startAt = 0;

  constructor(o: LinkPartnerOptions) {
    if (!(Number.isInteger(o.frameBytes) && o.frameBytes >= ETH_MIN_FRAME && o.frameBytes <= ETH_MAX_FRAME)) {
      throw new RangeError(`link partner: frameBytes must be an integer from ${ETH_MIN_FRAME} to ${ETH_MAX_FRAME}, got ${String(o.frameBytes)}`);
    }
    if (!(o.rateMbps > 0)) throw new RangeError(`link partner: rateMbps must be positive, got ${String(o.rateMbps)}`);
    this.clock = o.clock;
    this.rateMbps = o.rateMbps;
    this.frameBytes = o.frameBytes;
    this.limit = o.frames ?? Infinity;
  }

  /** Plugs the cable into `nic` (its STATUS shows Link Up). */
  connect(nic: E1000Nic): void {
    this.nic = nic;
    nic.partner = this;
  }

  disconnect(): void {
    if (this.nic) this.nic.partner = null;
    this.nic = null;
    this.stop();
  }

  /** Microseconds between frames: the wire time at the offered rate, never faster than the link. */
  get intervalUs(): number {
    const rate = Math.min(this.rateMbps, this.nic?.linkMbps ?? Infinity);
    return wireBits(this.frameBytes) / rate;
  }

  /** Starts sending: the first frame at `at` (default now). */
  start(at = this.clock.now()): void {
    this.stop();
    this.startAt = at;
    this.schedule(at);
  }

  stop(): void {
    if (this.event >= 0) this.clock.queue.cancel(this.event);
    this.event = -1;
  }

  /** Called by the NIC for each frame it puts on the wire. */
  sink(frame: Uint8Array): void {
    this.received++;
    this.receivedBytes += frame.length;
    this.onFrame?.(frame);
  }

  private schedule(at: number): void {
    this.event = this.clock.queue.push(at, () => {
      this.event = -1;
      const f = new Uint8Array(this.frameBytes);
      const v = new DataView(f.buffer);
      f.fill(0xff, 0, 6); // broadcast destination
      f.set([0x02, 0, 0, 0, 0, 0x01], 6); // a locally administered source
      v.setUint16(12, 0x88b5);
      v.setUint32(14, this.sent);
      for (let i = 18; i < f.length; i++) f[i] = (this.sent + i) & 0xff;
      this.sent++;
      this.sentBytes += f.length;
      if (!this.nic || !this.nic.receive(f)) this.dropped++;
      if (this.sent < this.limit) {
        this.schedule(this.startAt + Math.round(this.sent * this.intervalUs * this.clock.cyclesPerUs));
      }
    });
  }
}

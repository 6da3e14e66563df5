/**
 * An NVMe-style disk on the PCI bus: one I/O submission/completion queue pair in machine memory,
 * doorbells, PRP-described DMA, MSI, and a volatile write cache in front of durable media.
 * Layouts, opcodes and status codes are in nvme.ts with their sections of the NVMe spec.
 *
 * How a command goes: the driver writes SQEs and rings the SQ tail doorbell; the device fetches
 * them (a DMA read each) and serves up to timing.parallelUnits at once, in order of arrival (a
 * FLUSH is a barrier: it waits for everything before it and holds what follows). A command's
 * service time (nvmeServiceUs) starts when it arrives and a unit is free; at its completion time the data moves (DMA read for a write, DMA write for
 * a read), the CQE is posted with the current phase tag and MSI is raised once for the CQEs
 * posted together. Bad commands complete with the status the spec gives, never a throw.
 *
 * Durability: a Write without FUA completes once its blocks are in the cache; with FUA (or with
 * the cache off) once they are on media; Flush writes back every cached block before it
 * completes. powerLoss() drops the cache. FLR (reset()) drops the queues but not the cache.
 *
 * Bus mastering: every memory access of the device — fetching an SQE, walking a PRP list,
 * moving data, posting a CQE, and MSI — is a PCI memory request, refused while the Command
 * register's Bus Master Enable is clear. Then nothing is fetched; a command that reaches its
 * data transfer completes with Data Transfer Error, and CQEs wait in the device until BME is set
 * again and a doorbell is rung. A full CQ holds CQEs the same way until the CQ head doorbell.
 */
import type { DeviceClock } from '../events.js';
import { type DmaPort, PAGE_SIZE, TWO32 } from './dma.js';
import { Msi } from './msi.js';
import { type Bdf, parseBdf, PciConfigSpace, type PciFunction } from './pci.js';
import {
  fnv1a32,
  NVME_BLOCK_SIZE,
  NVME_CMD_FLUSH,
  NVME_CMD_READ,
  NVME_CMD_WRITE,
  NVME_CQE_SIZE,
  NVME_IO_QID,
  NVME_MAX_QUEUE_ENTRIES,
  NVME_MAX_XFER,
  NVME_NSID,
  NVME_NSID_ALL,
  NVME_RW_FUA,
  NVME_SC_DATA_XFER_ERROR,
  NVME_SC_INVALID_FIELD,
  NVME_SC_INVALID_NS,
  NVME_SC_INVALID_OPCODE,
  NVME_SC_LBA_RANGE,
  NVME_SC_PRP_INVALID_OFFSET,
  NVME_SC_QID_INVALID,
  NVME_SC_QUEUE_SIZE,
  NVME_SCT_CMD_SPECIFIC,
  NVME_SCT_GENERIC,
  NVME_SQE_SIZE,
  nvmeServiceUs,
  nvmeStatus,
  type NvmeTiming,
  P3700_TIMING,
} from './nvme.js';

export type { DeviceClock };

export interface NvmeDiskOptions {
  id: string;
  bdf: Bdf | string;
  sizeMiB: number;
  /** Volatile write cache enabled (Set Features, Volatile Write Cache, FID 06h). Default true. */
  writeCache?: boolean;
  clock: DeviceClock;
  dma: DmaPort;
  msi: Msi;
  /** Overrides of the P3700 defaults (nvme.ts documents each). */
  timing?: Partial<NvmeTiming>;
}

export interface NvmeDiskStats {
  reads: number;
  /** Write commands completed successfully (FUA ones included). */
  writes: number;
  flushes: number;
  fuaWrites: number;
  bytesRead: number;
  bytesWritten: number;
  /** Blocks in the volatile cache not yet on media. */
  dirtyBlocks: number;
  /** Blocks dropped from the cache by power losses, in total. */
  lostOnPowerLoss: number;
  /** Commands completed with an error status, plus refused doorbell writes. */
  errors: number;
}

/** PCI identity: Intel (8086h) SSD DC P3700 (0953h); class 010802h, mass storage / NVM / NVMe. */
export const NVME_VENDOR_ID = 0x8086;
export const NVME_DEVICE_ID = 0x0953;
export const NVME_CLASS_CODE = 0x010802;

interface Cmd {
  opcode: number;
  cid: number;
  nsid: number;
  /** CDW0 bits 15:8 (FUSE, PSDT and reserved) must be zero here. */
  flags: number;
  prp1: number;
  prp2: number;
  slba: number;
  nblocks: number;
  fua: boolean;
  /** Simulated time the command was fetched. */
  arrival: number;
}

interface Queue {
  base: number;
  depth: number;
  head: number;
  tail: number;
}

const OK = 0;

export class NvmeDisk implements PciFunction {
  readonly id: string;
  readonly kind = 'disk';
  readonly bdf: Bdf;
  readonly config: PciConfigSpace;
  readonly sizeMiB: number;
  /** Namespace size in logical blocks (NSZE). */
  readonly blocks: number;
  readonly writeCache: boolean;
  readonly timing: Readonly<NvmeTiming>;
  /** Durable content per 4 KiB block; a block never written is absent (reads as zeros). */
  readonly media = new Map<number, Uint8Array>();
  readonly stats: NvmeDiskStats = {
    reads: 0, writes: 0, flushes: 0, fuaWrites: 0, bytesRead: 0, bytesWritten: 0,
    dirtyBlocks: 0, lostOnPowerLoss: 0, errors: 0,
  };
  /** The blocks the last powerLoss() dropped, ascending. */
  lastLostLbas: number[] = [];

  private readonly clock: DeviceClock;
  private readonly dma: DmaPort;
  private readonly msi: Msi;
  /** The volatile write cache: block → data not yet on media. */
  private readonly cache = new Map<number, Uint8Array>();
  private sq: Queue | null = null;
  /** CQ: `tail` is where the device posts next, `head` what the host last acknowledged. */
  private cq: (Queue & { phase: 0 | 1 }) | null = null;
  private readonly fetched: Cmd[] = [];
  /** Commands being served, at most timing.parallelUnits at once. */
  private readonly inFlight = new Set<{ cmd: Cmd; event: number; done: number }>();
  /** A FLUSH waits for the commands before it and holds the ones after it (a barrier). */
  private flushing = false;
  /** CQEs waiting for CQ space or Bus Master Enable: [cid, status]. */
  private readonly toPost: [number, number][] = [];

  constructor(o: NvmeDiskOptions) {
    if (!(Number.isInteger(o.sizeMiB) && o.sizeMiB > 0)) {
      throw new RangeError(`disk ${o.id}: sizeMiB must be a positive integer, got ${String(o.sizeMiB)}`);
    }
    this.id = o.id;
    this.bdf = typeof o.bdf === 'string' ? parseBdf(o.bdf) : o.bdf;
    this.sizeMiB = o.sizeMiB;
    this.blocks = (o.sizeMiB * 1024 * 1024) / NVME_BLOCK_SIZE;
    this.writeCache = o.writeCache ?? true;
    this.timing = Object.freeze({ ...P3700_TIMING, ...(o.timing ?? {}) });
    this.clock = o.clock;
    this.dma = o.dma;
    this.msi = o.msi;
    this.config = new PciConfigSpace({ vendorId: NVME_VENDOR_ID, deviceId: NVME_DEVICE_ID, classCode: NVME_CLASS_CODE, msi: o.msi });
  }

  /**
   * Create I/O Completion Queue and Create I/O Submission Queue (§5.3, §5.4) in one: QID 1, both
   * physically contiguous from the given frames. Returns the status field (0 = success):
   * Invalid Queue Size for a depth outside 2…1024, Invalid Queue Identifier if they exist.
   */
  createIoQueues(sqMfn: number, cqMfn: number, depth: number): number {
    if (this.sq !== null) return nvmeStatus(NVME_SCT_CMD_SPECIFIC, NVME_SC_QID_INVALID, true);
    if (!Number.isInteger(depth) || depth < 2 || depth > NVME_MAX_QUEUE_ENTRIES) {
      return nvmeStatus(NVME_SCT_CMD_SPECIFIC, NVME_SC_QUEUE_SIZE, true);
    }
    if (!Number.isSafeInteger(sqMfn) || sqMfn < 0 || !Number.isSafeInteger(cqMfn) || cqMfn < 0) {
      return nvmeStatus(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD, true);
    }
    this.sq = { base: sqMfn * PAGE_SIZE, depth, head: 0, tail: 0 };
    // The host zeroes the CQ first; the controller posts its first pass with phase 1 (§4.6).
    this.cq = { base: cqMfn * PAGE_SIZE, depth, head: 0, tail: 0, phase: 1 };
    return OK;
  }

  /** Delete I/O Completion/Submission Queue (§5.5, §5.6): commands not yet completed are dropped. */
  deleteIoQueues(): void {
    this.dropQueues();
  }

  get hasQueues(): boolean {
    return this.sq !== null;
  }

  /** The SQ tail doorbell (SQyTDBL, §3.1). False for a value past the queue or no queue (Invalid Doorbell Write Value). */
  ringSqDoorbell(tail: number): boolean {
    const sq = this.sq;
    if (sq === null || !Number.isInteger(tail) || tail < 0 || tail >= sq.depth) {
      this.stats.errors++;
      return false;
    }
    sq.tail = tail;
    this.postPending();
    this.fetch();
    return true;
  }

  /** The CQ head doorbell (CQyHDBL, §3.1): the host has consumed CQEs up to `head`. */
  ringCqDoorbell(head: number): boolean {
    const cq = this.cq;
    if (cq === null || !Number.isInteger(head) || head < 0 || head >= cq.depth) {
      this.stats.errors++;
      return false;
    }
    cq.head = head;
    this.postPending();
    this.fetch();
    return true;
  }

  /** Function Level Reset: queues and in-flight commands dropped, BME and MSI off. The cache stays. */
  reset(): void {
    this.dropQueues();
    this.config.reset();
  }

  /** Power fails: the volatile cache is lost and the controller comes back reset. Returns the blocks lost. */
  powerLoss(): number {
    this.lastLostLbas = [...this.cache.keys()].sort((a, b) => a - b);
    const lost = this.cache.size;
    this.cache.clear();
    this.stats.dirtyBlocks = 0;
    this.stats.lostOnPowerLoss += lost;
    this.reset();
    return lost;
  }

  /** A copy of block `lba` as it is on media (zeros if never written there). */
  readMedia(lba: number): Uint8Array {
    const b = this.media.get(lba);
    return b === undefined ? new Uint8Array(NVME_BLOCK_SIZE) : b.slice();
  }

  /** FNV-1a 32-bit over block `lba` as on media; 0 for a block never written to media. */
  blockHash(lba: number): number {
    const b = this.media.get(lba);
    return b === undefined ? 0 : fnv1a32(b);
  }

  /** Blocks in the volatile cache, ascending. */
  dirtyLbas(): number[] {
    return [...this.cache.keys()].sort((a, b) => a - b);
  }

  /** Commands fetched and not yet completed (in the pipeline). */
  get outstanding(): number {
    return this.fetched.length + this.inFlight.size;
  }

  private dropQueues(): void {
    for (const f of this.inFlight) this.clock.queue.cancel(f.event);
    this.inFlight.clear();
    this.flushing = false;
    this.fetched.length = 0;
    this.toPost.length = 0;
    this.sq = null;
    this.cq = null;
  }

  private fetch(): void {
    const sq = this.sq;
    if (sq === null || !this.config.busMaster) return;
    const buf = new Uint8Array(NVME_SQE_SIZE);
    const v = new DataView(buf.buffer);
    while (sq.head !== sq.tail) {
      if (!this.dma.read(sq.base + sq.head * NVME_SQE_SIZE, buf)) {
        // The SQ itself is unreachable; nothing can be completed from it (a fatal controller error).
        this.stats.errors++;
        return;
      }
      sq.head = (sq.head + 1) % sq.depth;
      const cdw0 = v.getUint32(0, true);
      const cdw12 = v.getUint32(48, true);
      this.fetched.push({
        opcode: cdw0 & 0xff,
        flags: (cdw0 >>> 8) & 0xff,
        cid: cdw0 >>> 16,
        nsid: v.getUint32(4, true),
        prp1: v.getUint32(24, true) + v.getUint32(28, true) * TWO32,
        prp2: v.getUint32(32, true) + v.getUint32(36, true) * TWO32,
        slba: v.getUint32(40, true) + v.getUint32(44, true) * TWO32,
        nblocks: (cdw12 & 0xffff) + 1,
        fua: (cdw12 & NVME_RW_FUA) !== 0,
        arrival: this.clock.now(),
      });
    }
    this.startNext();
  }

  /** Status of the checks made on decode, before any media time (0 if the command is well formed). */
  private decodeStatus(c: Cmd): number {
    if (c.opcode !== NVME_CMD_FLUSH && c.opcode !== NVME_CMD_WRITE && c.opcode !== NVME_CMD_READ) {
      return nvmeStatus(NVME_SCT_GENERIC, NVME_SC_INVALID_OPCODE, true);
    }
    // FUSE (bits 9:8) and PSDT (15:14) other than 0: fused operations and SGLs are not supported.
    if (c.flags !== 0) return nvmeStatus(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD, true);
    if (c.nsid !== NVME_NSID && !(c.opcode === NVME_CMD_FLUSH && c.nsid === NVME_NSID_ALL)) {
      return nvmeStatus(NVME_SCT_GENERIC, NVME_SC_INVALID_NS, true);
    }
    if (c.opcode === NVME_CMD_FLUSH) return OK;
    if (c.slba + c.nblocks > this.blocks) return nvmeStatus(NVME_SCT_GENERIC, NVME_SC_LBA_RANGE, true);
    if (c.nblocks * NVME_BLOCK_SIZE > NVME_MAX_XFER) return nvmeStatus(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD, true);
    return OK;
  }

  /**
   * Starts fetched commands, in order, while a unit is free: each is served from the moment it
   * arrives (the units work in parallel). A FLUSH starts only when everything before it is done,
   * and nothing after it starts until it is.
   */
  private startNext(): void {
    while (this.fetched.length > 0 && !this.flushing && this.inFlight.size < this.timing.parallelUnits) {
      const cmd = this.fetched[0]!;
      const isFlush = cmd.opcode === NVME_CMD_FLUSH && this.decodeStatus(cmd) === OK;
      if (isFlush && this.inFlight.size > 0) return;
      this.fetched.shift();
      const start = Math.max(cmd.arrival, this.clock.now());
      let us: number;
      if (this.decodeStatus(cmd) !== OK) us = nvmeServiceUs(this.timing, 'refused', 0);
      else if (cmd.opcode === NVME_CMD_READ) us = nvmeServiceUs(this.timing, 'read', cmd.nblocks);
      else if (cmd.opcode === NVME_CMD_WRITE) {
        us = nvmeServiceUs(this.timing, cmd.fua || !this.writeCache ? 'writeMedia' : 'write', cmd.nblocks);
      } else us = nvmeServiceUs(this.timing, 'flush', this.cache.size);
      const done = start + Math.round(us * this.clock.cyclesPerUs);
      const f = { cmd, event: 0, done };
      f.event = this.clock.queue.push(done, () => this.finish(f));
      this.inFlight.add(f);
      if (isFlush) this.flushing = true;
    }
  }

  private finish(f: { cmd: Cmd; event: number; done: number }): void {
    if (!this.inFlight.delete(f)) return;
    if (f.cmd.opcode === NVME_CMD_FLUSH) this.flushing = false;
    const status = this.execute(f.cmd);
    if (status !== OK) this.stats.errors++;
    this.toPost.push([f.cmd.cid, status]);
    this.postPending();
    this.startNext();
  }

  /** Moves the data and updates cache and media; returns the status field. */
  private execute(c: Cmd): number {
    const st = this.decodeStatus(c);
    if (st !== OK) return st;
    if (c.opcode === NVME_CMD_FLUSH) {
      for (const [lba, data] of this.cache) this.media.set(lba, data);
      this.cache.clear();
      this.stats.dirtyBlocks = 0;
      this.stats.flushes++;
      return OK;
    }
    const len = c.nblocks * NVME_BLOCK_SIZE;
    const segs = this.prpSegments(c.prp1, c.prp2, len);
    if (typeof segs === 'number') return segs;
    const buf = new Uint8Array(len);
    if (c.opcode === NVME_CMD_READ) {
      for (let i = 0; i < c.nblocks; i++) {
        const b = this.cache.get(c.slba + i) ?? this.media.get(c.slba + i);
        if (b !== undefined) buf.set(b, i * NVME_BLOCK_SIZE);
      }
      if (!this.transfer(segs, buf, true)) return nvmeStatus(NVME_SCT_GENERIC, NVME_SC_DATA_XFER_ERROR);
      this.stats.reads++;
      this.stats.bytesRead += len;
      return OK;
    }
    if (!this.transfer(segs, buf, false)) return nvmeStatus(NVME_SCT_GENERIC, NVME_SC_DATA_XFER_ERROR);
    const durable = c.fua || !this.writeCache;
    for (let i = 0; i < c.nblocks; i++) {
      const lba = c.slba + i;
      const data = buf.slice(i * NVME_BLOCK_SIZE, (i + 1) * NVME_BLOCK_SIZE);
      if (durable) {
        this.media.set(lba, data);
        this.cache.delete(lba);
      } else this.cache.set(lba, data);
    }
    this.stats.dirtyBlocks = this.cache.size;
    this.stats.writes++;
    if (c.fua) this.stats.fuaWrites++;
    this.stats.bytesWritten += len;
    return OK;
  }

  /**
   * The transfer's [busAddr, length] segments from PRP1/PRP2 (§4.3): PRP1 may start inside a
   * page (dword aligned); if the rest fits one page PRP2 is that page, else PRP2 points to a PRP
   * list whose entries are page addresses, the last entry of a list page pointing to the next
   * list page when more remain. Returns a status field instead on a bad offset or a list that
   * cannot be read.
   */
  private prpSegments(prp1: number, prp2: number, len: number): number[] | number {
    const badOffset = nvmeStatus(NVME_SCT_GENERIC, NVME_SC_PRP_INVALID_OFFSET, true);
    if (prp1 % 4 !== 0) return badOffset;
    const segs: number[] = [];
    const first = Math.min(len, PAGE_SIZE - (prp1 % PAGE_SIZE));
    segs.push(prp1, first);
    let left = len - first;
    if (left === 0) return segs;
    if (left <= PAGE_SIZE) {
      if (prp2 % PAGE_SIZE !== 0) return badOffset;
      segs.push(prp2, left);
      return segs;
    }
    if (prp2 % 8 !== 0) return badOffset;
    if (!this.config.busMaster) return nvmeStatus(NVME_SCT_GENERIC, NVME_SC_DATA_XFER_ERROR);
    const e = new Uint8Array(8);
    const v = new DataView(e.buffer);
    let ptr = prp2;
    while (left > 0) {
      if (!this.dma.read(ptr, e)) return nvmeStatus(NVME_SCT_GENERIC, NVME_SC_DATA_XFER_ERROR);
      const entry = v.getUint32(0, true) + v.getUint32(4, true) * TWO32;
      const lastInPage = ptr % PAGE_SIZE === PAGE_SIZE - 8;
      if (lastInPage && left > PAGE_SIZE) {
        if (entry % 8 !== 0) return badOffset;
        ptr = entry;
        continue;
      }
      if (entry % PAGE_SIZE !== 0) return badOffset;
      const n = Math.min(left, PAGE_SIZE);
      segs.push(entry, n);
      left -= n;
      ptr += 8;
    }
    return segs;
  }

  /** Moves `buf` to (toHost) or from the segments; false if bus mastering is off or the DMA faults. */
  private transfer(segs: number[], buf: Uint8Array, toHost: boolean): boolean {
    if (!this.config.busMaster) return false;
    let off = 0;
    for (let i = 0; i < segs.length; i += 2) {
      const part = buf.subarray(off, off + segs[i + 1]!);
      if (!(toHost ? this.dma.write(segs[i]!, part) : this.dma.read(segs[i]!, part))) return false;
      off += segs[i + 1]!;
    }
    return true;
  }

  /** Posts waiting CQEs while the CQ has room and bus mastering is on; one MSI for the batch. */
  private postPending(): void {
    const cq = this.cq;
    const sq = this.sq;
    if (cq === null || sq === null || !this.config.busMaster) return;
    let posted = 0;
    const b = new Uint8Array(NVME_CQE_SIZE);
    const v = new DataView(b.buffer);
    while (this.toPost.length > 0 && (cq.tail + 1) % cq.depth !== cq.head) {
      const [cid, status] = this.toPost[0]!;
      v.setUint32(0, 0, true);
      v.setUint32(4, 0, true);
      v.setUint32(8, (sq.head | (NVME_IO_QID << 16)) >>> 0, true);
      v.setUint32(12, ((cid & 0xffff) | (cq.phase << 16) | ((status & 0x7fff) << 17)) >>> 0, true);
      if (!this.dma.write(cq.base + cq.tail * NVME_CQE_SIZE, b)) {
        this.stats.errors++;
        break;
      }
      this.toPost.shift();
      posted++;
      cq.tail++;
      if (cq.tail === cq.depth) {
        cq.tail = 0;
        cq.phase = cq.phase === 1 ? 0 : 1;
      }
    }
    if (posted > 0) this.msi.raise();
  }
}

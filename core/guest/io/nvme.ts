/**
 * The NVMe disk's driver in the kernel of the domain that owns the disk (after Linux
 * drivers/nvme/host/pci.c, reduced to one I/O queue pair): submission queue entries written into a
 * page of the kernel's, a doorbell write to tell the controller, completion queue entries read
 * back by phase tag in the interrupt handler. Layouts from the NVMe Base Specification 1.4:
 * §4.2 submission queue entry (64 bytes), §4.6 completion queue entry (16 bytes), §6.8 Flush,
 * §6.9 Read, §6.15 Write (FUA: CDW12 bit 30).
 */
import type { BlockDriver, BlockTransfer } from './blkback.js';
import type { XenIoEnv } from './env.js';

/** The controller's registers as the driver programs them (doorbells are MMIO writes). */
export interface NvmeController {
  /** Bytes per logical block of namespace 1. */
  readonly lbaBytes: number;
  readonly sizeBytes: number;
  readonly volatileWriteCache: boolean;
  /** Create I/O completion and submission queues at these bus addresses (Admin Create I/O CQ/SQ). */
  createIoQueues(sqBusAddr: number, cqBusAddr: number, depth: number): void;
  sqDoorbell(tail: number): void;
  cqDoorbell(head: number): void;
}

export const NVME_OP_FLUSH = 0x00;
export const NVME_OP_WRITE = 0x01;
export const NVME_OP_READ = 0x02;
const SQE_BYTES = 64;
const CQE_BYTES = 16;
/** One page of SQEs (64 × 64 B); the CQ page could hold 256 but a queue pair has one depth. */
export const NVME_QUEUE_DEPTH = 4096 / SQE_BYTES;

export interface NvmeCosts {
  /** Building one command and writing the doorbell (an uncached MMIO write). */
  command: number;
  /** The interrupt handler: entry, reading completions, the CQ doorbell. */
  interrupt: number;
}

interface Cmd {
  transfer: BlockTransfer;
  /** Commands of the transfer still out. */
  left: number;
  ok: boolean;
}

export class NvmeDriver implements BlockDriver {
  readonly sectors: number;
  readonly writeCache: boolean;
  private readonly sq: DataView;
  private readonly cq: DataView;
  private sqTail = 0;
  private cqHead = 0;
  private phase = 1;
  private readonly byCid = new Map<number, Cmd>();
  private nextCid = 0;
  private readonly waiting: { cmd: Cmd; op: number; lba: number; nlb: number; busAddr: number }[] = [];
  readonly stats = { commands: 0, interrupts: 0, errors: 0 };

  constructor(
    private readonly env: XenIoEnv,
    private readonly ctrl: NvmeController,
    private readonly costs: NvmeCosts,
  ) {
    this.sectors = Math.floor(ctrl.sizeBytes / 512);
    this.writeCache = ctrl.volatileWriteCache;
    const sqPfn = env.allocPage();
    const cqPfn = env.allocPage();
    this.sq = env.page(sqPfn);
    this.cq = env.page(cqPfn);
    ctrl.createIoQueues(env.busAddr(sqPfn), env.busAddr(cqPfn), NVME_QUEUE_DEPTH);
  }

  /** The MSI's handler (bound to the device's pirq through an event channel under Xen). */
  readonly interrupt = (): void => {
    this.stats.interrupts++;
    this.env.charge(this.costs.interrupt);
    let n = 0;
    for (;;) {
      const off = this.cqHead * CQE_BYTES;
      const dw3 = this.cq.getUint32(off + 12, true);
      if (((dw3 >>> 16) & 1) !== this.phase) break;
      const cid = dw3 & 0xffff;
      const status = dw3 >>> 17;
      if (++this.cqHead === NVME_QUEUE_DEPTH) {
        this.cqHead = 0;
        this.phase ^= 1;
      }
      n++;
      const c = this.byCid.get(cid);
      if (!c) continue;
      this.byCid.delete(cid);
      if (status !== 0) {
        c.ok = false;
        this.stats.errors++;
      }
      if (--c.left === 0) c.transfer.done(c.ok);
    }
    if (n > 0) this.ctrl.cqDoorbell(this.cqHead);
    this.drain();
  };

  submit(t: BlockTransfer): void {
    const lbaBytes = this.ctrl.lbaBytes;
    if (t.op === 'flush') {
      const cmd: Cmd = { transfer: t, left: 1, ok: true };
      this.waiting.push({ cmd, op: NVME_OP_FLUSH, lba: 0, nlb: 0, busAddr: 0 });
    } else {
      const cmd: Cmd = { transfer: t, left: t.segments.length, ok: true };
      let byte = t.sector * 512;
      for (const s of t.segments) {
        this.waiting.push({ cmd, op: t.op === 'read' ? NVME_OP_READ : NVME_OP_WRITE, lba: Math.floor(byte / lbaBytes), nlb: Math.ceil(s.bytes / lbaBytes), busAddr: s.busAddr });
        byte += s.bytes;
      }
    }
    this.drain();
  }

  /** Commands into free SQ slots (one slot stays empty: a full queue has tail + 1 = head). */
  private drain(): void {
    let wrote = 0;
    while (this.waiting.length > 0 && this.byCid.size < NVME_QUEUE_DEPTH - 1) {
      const w = this.waiting.shift()!;
      const cid = this.nextCid;
      this.nextCid = (this.nextCid + 1) & 0xffff;
      const off = this.sqTail * SQE_BYTES;
      const sq = this.sq;
      for (let i = 0; i < SQE_BYTES; i += 4) sq.setUint32(off + i, 0, true);
      sq.setUint32(off, w.op | (cid << 16), true); // CDW0: opcode, command id
      sq.setUint32(off + 4, 1, true); // NSID 1
      if (w.op !== NVME_OP_FLUSH) {
        sq.setBigUint64(off + 24, BigInt(w.busAddr), true); // PRP1
        sq.setUint32(off + 40, w.lba >>> 0, true); // CDW10: SLBA low
        sq.setUint32(off + 44, Math.floor(w.lba / 2 ** 32), true); // CDW11: SLBA high
        sq.setUint32(off + 48, (w.nlb - 1) & 0xffff, true); // CDW12: NLB, 0's based
      }
      this.byCid.set(cid, w.cmd);
      this.sqTail = (this.sqTail + 1) % NVME_QUEUE_DEPTH;
      this.stats.commands++;
      this.env.charge(this.costs.command);
      wrote++;
    }
    if (wrote > 0) this.ctrl.sqDoorbell(this.sqTail);
  }
}

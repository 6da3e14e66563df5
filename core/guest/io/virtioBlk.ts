/**
 * The guest's virtio-blk driver (Linux's drivers/block/virtio_blk.c over drivers/virtio/virtio_ring.c):
 * one split virtqueue in the guest's own memory. A request is a descriptor chain — the
 * virtio_blk_outhdr (device-readable), the data pages (device-writable for a read), the status
 * byte (device-writable) — whose head goes into the available ring; the driver then notifies the
 * device (virtqueue_kick: an OUT to the queue-notify register). The device puts the head into the
 * used ring and interrupts; the handler (vring_interrupt → virtblk_done) ends each request by its
 * status byte. Nothing is granted: the device (qemu) can read all of the guest's memory anyway.
 */
import { BLKIF_RSP_ERROR, BLKIF_RSP_OKAY } from '../../api/public/io/blkif.js';
import { VIRTIO_BLK_OUTHDR_BYTES, VIRTIO_BLK_S_OK, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTQ_DESC_F_WRITE } from '../../api/public/io/virtio.js';
import type { BlkIo } from './blkfront.js';
import { DriverVirtq, type VirtqAddrs, type VirtqBuf } from './virtioQueue.js';

/** What the driver needs of its kernel and of the virtual PCI function. */
export interface VirtioGuestEnv {
  page(pfn: number): DataView;
  allocPage(): number;
  /** Guest kernel cycles for driver work. */
  charge(cycles: number): void;
  /** virtqueue_notify: the OUT to VIRTIO_PCI_QUEUE_NOTIFY (a VM exit, or a signalled ioeventfd). */
  notify(queue: number): void;
}

export interface VirtioBlkCosts {
  /** virtio_queue_rq: blk-mq dispatch and the descriptor chain (as blkfront's request). */
  request: number;
  /** virtblk_done per request: ending it and waking the waiter (as blkfront's response). */
  complete: number;
}

export type { VirtqAddrs } from './virtioQueue.js';

/** Per header slot: the 16-byte virtio_blk_outhdr, then the status byte. */
const SLOT_BYTES = 32;

export class VirtioBlkFront {
  readonly connected = true;
  readonly stats = { requests: 0, notifies: 0, interrupts: 0, errors: 0 };
  private readonly vq: DriverVirtq;
  private readonly hdr: DataView;
  private readonly hdrGpa: number;
  private readonly inflight = new Map<number, BlkIo>();
  private readonly waiting: BlkIo[] = [];

  constructor(
    private readonly env: VirtioGuestEnv,
    readonly sectors: number,
    private readonly costs: VirtioBlkCosts,
  ) {
    this.vq = new DriverVirtq(env.page, env.allocPage);
    const h = env.allocPage();
    this.hdr = env.page(h);
    new Uint8Array(this.hdr.buffer, this.hdr.byteOffset, 4096).fill(0);
    this.hdrGpa = h * 4096;
  }

  get queue(): VirtqAddrs {
    return this.vq.addrs;
  }

  get inFlight(): number {
    return this.inflight.size;
  }

  submit(io: BlkIo): void {
    this.env.charge(this.costs.request);
    this.waiting.push(io);
    this.kick();
  }

  /** Queues what fits in the free descriptors, then notifies the device once (virtqueue_kick). */
  private kick(): void {
    let added = 0;
    while (this.waiting.length > 0 && this.vq.freeDescs >= 2 + this.waiting[0]!.pfns.length) {
      const io = this.waiting.shift()!;
      // The header slot is the head descriptor's: the queue hands out heads in 0…size-1.
      const head = this.vq.nextHead;
      const slot = head * SLOT_BYTES;
      const type = io.op === 'flush' ? VIRTIO_BLK_T_FLUSH : io.op === 'write' ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
      this.hdr.setUint32(slot, type, true);
      this.hdr.setUint32(slot + 4, 0, true);
      this.hdr.setBigUint64(slot + 8, BigInt(io.op === 'flush' ? 0 : io.sector), true);
      this.hdr.setUint8(slot + VIRTIO_BLK_OUTHDR_BYTES, 0xff); // not yet written by the device
      const bufs: VirtqBuf[] = [{ addr: this.hdrGpa + slot, len: VIRTIO_BLK_OUTHDR_BYTES, flags: 0 }];
      for (const pfn of io.pfns) bufs.push({ addr: pfn * 4096, len: 4096, flags: io.op === 'read' ? VIRTQ_DESC_F_WRITE : 0 });
      bufs.push({ addr: this.hdrGpa + slot + VIRTIO_BLK_OUTHDR_BYTES, len: 1, flags: VIRTQ_DESC_F_WRITE });
      this.vq.add(bufs);
      this.inflight.set(head, io);
      this.stats.requests++;
      added++;
    }
    if (added > 0 && !this.vq.noNotify) {
      this.stats.notifies++;
      this.env.notify(0);
    }
  }

  /** vring_interrupt → virtblk_done: every used entry since the last, ended by its status byte. */
  readonly interrupt = (): void => {
    this.stats.interrupts++;
    for (let u = this.vq.take(); u; u = this.vq.take()) {
      const io = this.inflight.get(u.head);
      if (!io) continue;
      this.inflight.delete(u.head);
      const status = this.hdr.getUint8(u.head * SLOT_BYTES + VIRTIO_BLK_OUTHDR_BYTES);
      this.env.charge(this.costs.complete);
      if (status !== VIRTIO_BLK_S_OK) this.stats.errors++;
      io.done(status === VIRTIO_BLK_S_OK ? BLKIF_RSP_OKAY : BLKIF_RSP_ERROR);
    }
    this.kick();
  };
}

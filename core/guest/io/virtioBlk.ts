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
import {
  VIRTIO_BLK_OUTHDR_BYTES,
  VIRTIO_BLK_S_OK,
  VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
  VIRTQ_DESC_BYTES,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  VIRTQ_SIZE,
  VIRTQ_USED_F_NO_NOTIFY,
  availRingOffset,
  usedRingOffset,
} from '../../api/public/io/virtio.js';
import type { BlkIo } from './blkfront.js';

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

/** The guest-physical addresses of the queue's three parts (queue_desc, queue_driver, queue_device). */
export interface VirtqAddrs {
  readonly size: number;
  readonly desc: number;
  readonly avail: number;
  readonly used: number;
}

/** Per header slot: the 16-byte virtio_blk_outhdr, then the status byte. */
const SLOT_BYTES = 32;

export class VirtioBlkFront {
  readonly connected = true;
  readonly queue: VirtqAddrs;
  readonly stats = { requests: 0, notifies: 0, interrupts: 0, errors: 0 };
  private readonly desc: DataView;
  private readonly avail: DataView;
  private readonly used: DataView;
  private readonly hdr: DataView;
  private readonly hdrGpa: number;
  private readonly freeDesc: number[] = [];
  private availIdx = 0;
  private lastUsed = 0;
  private readonly inflight = new Map<number, { io: BlkIo; descs: number[] }>();
  private readonly waiting: BlkIo[] = [];

  constructor(
    private readonly env: VirtioGuestEnv,
    readonly sectors: number,
    private readonly costs: VirtioBlkCosts,
  ) {
    const size = VIRTQ_SIZE;
    const [d, a, u, h] = [env.allocPage(), env.allocPage(), env.allocPage(), env.allocPage()];
    for (const p of [d, a, u, h]) new Uint8Array(env.page(p).buffer, env.page(p).byteOffset, 4096).fill(0);
    this.desc = env.page(d);
    this.avail = env.page(a);
    this.used = env.page(u);
    this.hdr = env.page(h);
    this.hdrGpa = h * 4096;
    this.queue = { size, desc: d * 4096, avail: a * 4096, used: u * 4096 };
    for (let i = size - 1; i >= 0; i--) this.freeDesc.push(i);
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
    while (this.waiting.length > 0) {
      const io = this.waiting[0]!;
      const need = 2 + io.pfns.length;
      if (this.freeDesc.length < need) break;
      this.waiting.shift();
      const descs = Array.from({ length: need }, () => this.freeDesc.pop()!);
      const head = descs[0]!;
      const slot = head * SLOT_BYTES;
      const type = io.op === 'flush' ? VIRTIO_BLK_T_FLUSH : io.op === 'write' ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
      this.hdr.setUint32(slot, type, true);
      this.hdr.setUint32(slot + 4, 0, true);
      this.hdr.setBigUint64(slot + 8, BigInt(io.op === 'flush' ? 0 : io.sector), true);
      this.hdr.setUint8(slot + VIRTIO_BLK_OUTHDR_BYTES, 0xff); // not yet written by the device
      const bufs: { addr: number; len: number; flags: number }[] = [{ addr: this.hdrGpa + slot, len: VIRTIO_BLK_OUTHDR_BYTES, flags: 0 }];
      for (const pfn of io.pfns) bufs.push({ addr: pfn * 4096, len: 4096, flags: io.op === 'read' ? VIRTQ_DESC_F_WRITE : 0 });
      bufs.push({ addr: this.hdrGpa + slot + VIRTIO_BLK_OUTHDR_BYTES, len: 1, flags: VIRTQ_DESC_F_WRITE });
      bufs.forEach((b, k) => {
        const off = descs[k]! * VIRTQ_DESC_BYTES;
        const last = k === bufs.length - 1;
        this.desc.setBigUint64(off, BigInt(b.addr), true);
        this.desc.setUint32(off + 8, b.len, true);
        this.desc.setUint16(off + 12, b.flags | (last ? 0 : VIRTQ_DESC_F_NEXT), true);
        this.desc.setUint16(off + 14, last ? 0 : descs[k + 1]!, true);
      });
      this.avail.setUint16(availRingOffset(this.availIdx % this.queue.size), head, true);
      // virtio_wmb, then the index: the device never sees an index ahead of its ring entry.
      this.availIdx = (this.availIdx + 1) & 0xffff;
      this.avail.setUint16(2, this.availIdx, true);
      this.inflight.set(head, { io, descs });
      this.stats.requests++;
      added++;
    }
    if (added > 0 && !(this.used.getUint16(0, true) & VIRTQ_USED_F_NO_NOTIFY)) {
      this.stats.notifies++;
      this.env.notify(0);
    }
  }

  /** vring_interrupt → virtblk_done: every used entry since the last, ended by its status byte. */
  readonly interrupt = (): void => {
    this.stats.interrupts++;
    const usedIdx = this.used.getUint16(2, true);
    while (this.lastUsed !== usedIdx) {
      const off = usedRingOffset(this.lastUsed % this.queue.size);
      const head = this.used.getUint32(off, true);
      this.lastUsed = (this.lastUsed + 1) & 0xffff;
      const r = this.inflight.get(head);
      if (!r) continue;
      this.inflight.delete(head);
      const status = this.hdr.getUint8(head * SLOT_BYTES + VIRTIO_BLK_OUTHDR_BYTES);
      for (const dsc of r.descs) this.freeDesc.push(dsc);
      this.env.charge(this.costs.complete);
      if (status !== VIRTIO_BLK_S_OK) this.stats.errors++;
      r.io.done(status === VIRTIO_BLK_S_OK ? BLKIF_RSP_OKAY : BLKIF_RSP_ERROR);
    }
    this.kick();
  };
}

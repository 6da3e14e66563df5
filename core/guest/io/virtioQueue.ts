/**
 * The driver's side of one split virtqueue (drivers/virtio/virtio_ring.c): descriptor table,
 * available ring and used ring, each in a page of the guest's own memory, a free list of
 * descriptors, and the driver's indices. Layout: core/api/public/io/virtio.ts.
 */
import { VIRTQ_DESC_BYTES, VIRTQ_DESC_F_NEXT, VIRTQ_SIZE, VIRTQ_USED_F_NO_NOTIFY, availRingOffset, usedRingOffset } from '../../api/public/io/virtio.js';

/** The guest-physical addresses of the queue's three parts (queue_desc, queue_driver, queue_device). */
export interface VirtqAddrs {
  readonly size: number;
  readonly desc: number;
  readonly avail: number;
  readonly used: number;
}

export interface VirtqBuf {
  addr: number;
  len: number;
  /** VIRTQ_DESC_F_WRITE or 0; NEXT is added by the queue. */
  flags: number;
}

export class DriverVirtq {
  readonly addrs: VirtqAddrs;
  private readonly desc: DataView;
  private readonly avail: DataView;
  private readonly used: DataView;
  private readonly free: number[] = [];
  private readonly chains = new Map<number, number[]>();
  private availIdx = 0;
  private lastUsed = 0;

  constructor(page: (pfn: number) => DataView, allocPage: () => number) {
    const [d, a, u] = [allocPage(), allocPage(), allocPage()];
    for (const p of [d, a, u]) new Uint8Array(page(p).buffer, page(p).byteOffset, 4096).fill(0);
    this.desc = page(d);
    this.avail = page(a);
    this.used = page(u);
    this.addrs = { size: VIRTQ_SIZE, desc: d * 4096, avail: a * 4096, used: u * 4096 };
    for (let i = VIRTQ_SIZE - 1; i >= 0; i--) this.free.push(i);
  }

  get freeDescs(): number {
    return this.free.length;
  }

  /** The descriptor the next add() takes as its chain's head (-1 when none is free). */
  get nextHead(): number {
    return this.free.length > 0 ? this.free[this.free.length - 1]! : -1;
  }

  /** virtqueue_add: the chain's descriptors and its head in the available ring; the head, or -1 when full. */
  add(bufs: readonly VirtqBuf[]): number {
    if (bufs.length === 0 || this.free.length < bufs.length) return -1;
    const ids = bufs.map(() => this.free.pop()!);
    bufs.forEach((b, k) => {
      const off = ids[k]! * VIRTQ_DESC_BYTES;
      const last = k === bufs.length - 1;
      this.desc.setBigUint64(off, BigInt(b.addr), true);
      this.desc.setUint32(off + 8, b.len, true);
      this.desc.setUint16(off + 12, b.flags | (last ? 0 : VIRTQ_DESC_F_NEXT), true);
      this.desc.setUint16(off + 14, last ? 0 : ids[k + 1]!, true);
    });
    const head = ids[0]!;
    this.avail.setUint16(availRingOffset(this.availIdx % VIRTQ_SIZE), head, true);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    this.avail.setUint16(2, this.availIdx, true);
    this.chains.set(head, ids);
    return head;
  }

  /** The device asked not to be notified (VIRTQ_USED_F_NO_NOTIFY). */
  get noNotify(): boolean {
    return (this.used.getUint16(0, true) & VIRTQ_USED_F_NO_NOTIFY) !== 0;
  }

  /** virtqueue_get_buf: the next used entry {head, len}, its descriptors freed; null when none. */
  take(): { head: number; len: number } | null {
    if (this.lastUsed === this.used.getUint16(2, true)) return null;
    const off = usedRingOffset(this.lastUsed % VIRTQ_SIZE);
    const head = this.used.getUint32(off, true);
    const len = this.used.getUint32(off + 4, true);
    this.lastUsed = (this.lastUsed + 1) & 0xffff;
    for (const id of this.chains.get(head) ?? []) this.free.push(id);
    this.chains.delete(head);
    return { head, len };
  }
}

/**
 * The device's side of one split virtqueue (qemu's hw/virtio/virtio.c, vhost's drivers/vhost/vhost.c):
 * the available ring read and the used ring written through the backend's mapping of guest RAM.
 * Layout: core/api/public/io/virtio.ts.
 */
import { VIRTQ_DESC_BYTES, VIRTQ_DESC_F_NEXT, VIRTQ_USED_F_NO_NOTIFY, availRingOffset, usedRingOffset } from '../../../api/public/io/virtio.js';
import type { VirtqAddrs } from '../../../guest/io/virtioBlk.js';
import type { QemuRam } from './qemuVirtioBlk.js';

/** The device's view of one virtqueue, through the backend's mapping of guest RAM. */
export class DeviceVirtq {
  private lastAvail = 0;
  private usedIdx = 0;
  constructor(
    private readonly ram: QemuRam,
    readonly q: VirtqAddrs,
  ) {}

  /** virtqueue_pop / vhost_get_vq_desc: the next available chain, or null. */
  pop(): { head: number; bufs: { addr: number; len: number; flags: number }[] } | null {
    const avail = this.ram.page(this.q.avail);
    if (this.lastAvail === avail.getUint16(2, true)) return null;
    const head = avail.getUint16(availRingOffset(this.lastAvail % this.q.size), true);
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    const desc = this.ram.page(this.q.desc);
    const bufs: { addr: number; len: number; flags: number }[] = [];
    for (let i = head, n = 0; n < this.q.size; n++) {
      const off = i * VIRTQ_DESC_BYTES;
      const flags = desc.getUint16(off + 12, true);
      bufs.push({ addr: Number(desc.getBigUint64(off, true)), len: desc.getUint32(off + 8, true), flags });
      if (!(flags & VIRTQ_DESC_F_NEXT)) break;
      i = desc.getUint16(off + 14, true);
    }
    return { head, bufs };
  }

  push(head: number, len: number): void {
    const used = this.ram.page(this.q.used);
    const off = usedRingOffset(this.usedIdx % this.q.size);
    used.setUint32(off, head, true);
    used.setUint32(off + 4, len, true);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    used.setUint16(2, this.usedIdx, true);
  }

  /** VIRTQ_USED_F_NO_NOTIFY on or off: whether the driver should notify when it adds buffers. */
  setNoNotify(on: boolean): void {
    const used = this.ram.page(this.q.used);
    used.setUint16(0, on ? VIRTQ_USED_F_NO_NOTIFY : 0, true);
  }
}

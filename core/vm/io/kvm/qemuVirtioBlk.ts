/**
 * qemu's virtio-blk device (hw/block/virtio-blk.c over hw/virtio/virtio.c): woken by the
 * ioeventfd KVM signals on a queue notify, it pops each new available entry (virtqueue_pop),
 * reading the descriptor chain and the request header through its own mapping of the guest's RAM,
 * turns it into an I/O on the disk image (preadv / pwritev / fdatasync on the host's block
 * device, cache=none: O_DIRECT, so the host's driver DMAs straight into the guest's pages), and
 * when the host completes it writes the status byte, pushes the used entry and signals the irqfd
 * that makes KVM inject the guest's interrupt.
 */
import type { BlockDriver } from '../../../guest/io/blkback.js';
import {
  VIRTIO_BLK_OUTHDR_BYTES,
  VIRTIO_BLK_S_IOERR,
  VIRTIO_BLK_S_OK,
  VIRTIO_BLK_S_UNSUPP,
  VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
  VIRTQ_DESC_F_WRITE,
} from '../../../api/public/io/virtio.js';
import { DeviceVirtq } from './deviceVirtq.js';
import type { VirtqAddrs } from '../../../guest/io/virtioBlk.js';

/** qemu's view of guest RAM: a guest-physical address through its memslot mapping (its own page tables). */
export interface QemuRam {
  /** The page holding `gpa`, as qemu reads and writes it (address_space_map). */
  page(gpa: number): DataView;
  /** The machine address behind `gpa` (what the host's GUP pins for an O_DIRECT transfer). */
  maddr(gpa: number): number;
}

export interface QemuBlkCosts {
  /** virtio_blk_handle_request per request: virtqueue_pop (the chain, address_space_map), the aio built. */
  request: number;
  /** virtio_blk_req_complete: status byte, virtqueue_push, virtio_notify. */
  complete: number;
}

export interface QemuBlkHooks {
  /** qemu's user-space cycles. */
  charge(cycles: number): void;
  /** The system call that hands one request to the host kernel (preadv/pwritev/fdatasync). */
  syscall(op: 'read' | 'write' | 'flush'): void;
  /** virtio_notify → the irqfd: KVM injects the queue's interrupt into the guest. */
  irqfd(): void;
}

export class QemuVirtioBlk {
  private readonly vq: DeviceVirtq;
  readonly stats = { requests: 0, errors: 0, unsupported: 0, bytesRead: 0, bytesWritten: 0 };

  constructor(
    private readonly ram: QemuRam,
    q: VirtqAddrs,
    private readonly disk: BlockDriver,
    private readonly costs: QemuBlkCosts,
    private readonly hooks: QemuBlkHooks,
  ) {
    this.vq = new DeviceVirtq(ram, q);
  }

  /** virtio_blk_handle_output: every request the guest made available since the last time. */
  handleOutput(): void {
    for (let c = this.vq.pop(); c; c = this.vq.pop()) this.request(c.head, c.bufs);
  }

  private request(head: number, chain: { addr: number; len: number; flags: number }[]): void {
    this.hooks.charge(this.costs.request);
    this.stats.requests++;
    const status = chain[chain.length - 1]!;
    const hdrBuf = chain[0]!;
    const fail = (code: number) => this.complete(head, status.addr, code, 0);
    // A request is header, data, status: a header the device cannot read or a status it cannot write is malformed.
    if (chain.length < 2 || hdrBuf.len < VIRTIO_BLK_OUTHDR_BYTES || hdrBuf.flags & VIRTQ_DESC_F_WRITE || !(status.flags & VIRTQ_DESC_F_WRITE) || status.len < 1) {
      this.stats.errors++;
      return fail(VIRTIO_BLK_S_IOERR);
    }
    const hp = this.ram.page(hdrBuf.addr);
    const at = hdrBuf.addr % 4096;
    const type = hp.getUint32(at, true);
    const sector = Number(hp.getBigUint64(at + 8, true));
    const data = chain.slice(1, -1);
    let op: 'read' | 'write' | 'flush';
    if (type === VIRTIO_BLK_T_IN) op = 'read';
    else if (type === VIRTIO_BLK_T_OUT) op = 'write';
    else if (type === VIRTIO_BLK_T_FLUSH) op = 'flush';
    else {
      this.stats.unsupported++;
      return fail(VIRTIO_BLK_S_UNSUPP);
    }
    // A read's buffers must be device-writable, a write's device-readable.
    if (op !== 'flush' && data.some((b) => !!(b.flags & VIRTQ_DESC_F_WRITE) !== (op === 'read'))) {
      this.stats.errors++;
      return fail(VIRTIO_BLK_S_IOERR);
    }
    const bytes = data.reduce((a, b) => a + b.len, 0);
    if (op !== 'flush' && sector * 512 + bytes > this.disk.sectors * 512) {
      this.stats.errors++;
      return fail(VIRTIO_BLK_S_IOERR);
    }
    this.hooks.syscall(op);
    this.disk.submit({
      op,
      sector,
      segments: op === 'flush' ? [] : data.map((b) => ({ busAddr: this.ram.maddr(b.addr), bytes: b.len })),
      done: (ok) => {
        if (ok && op === 'read') this.stats.bytesRead += bytes;
        if (ok && op === 'write') this.stats.bytesWritten += bytes;
        if (!ok) this.stats.errors++;
        this.complete(head, status.addr, ok ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR, op === 'read' && ok ? bytes + 1 : 1);
      },
    });
  }

  /** The status byte, the used entry {id: head, len: bytes written into the guest's buffers}, the irqfd. */
  private complete(head: number, statusGpa: number, status: number, written: number): void {
    this.hooks.charge(this.costs.complete);
    this.ram.page(statusGpa).setUint8(statusGpa % 4096, status);
    this.vq.push(head, written);
    this.hooks.irqfd();
  }
}

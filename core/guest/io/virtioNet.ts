/**
 * The guest's virtio-net driver (drivers/net/virtio_net.c): a receive queue the driver keeps
 * filled with page-sized buffers the device writes frames into, and a transmit queue of
 * [virtio_net_hdr, frame] chains. Every frame, both ways, starts with the 12-byte header; the
 * lab sends no offloads, so the header is zero. A transmit is a notify (an exit into KVM, whose
 * ioeventfd wakes the backend: qemu or vhost-net); the device's interrupt ends transmits and
 * brings received frames up the stack.
 */
import { NETIF_RSP_OKAY } from '../../api/public/io/netif.js';
import { VIRTIO_NET_HDR_BYTES, VIRTIO_NET_RX_QUEUE, VIRTIO_NET_TX_QUEUE, VIRTQ_DESC_F_WRITE } from '../../api/public/io/virtio.js';
import type { NetfrontStats, NetIface, SendResult, VifDrops } from './netfront.js';
import { DriverVirtq } from './virtioQueue.js';
import type { VirtioGuestEnv } from './virtioBlk.js';

export interface VirtioNetCosts {
  /** start_xmit: the header, the chain, the kick (as netfront's xmit). */
  xmit: number;
  /** One received frame up the stack and its buffer posted again (as netfront's receive). */
  rxFrame: number;
  /** One transmitted frame's buffer freed (as netfront's tx completion). */
  txComplete: number;
}

/** Receive buffers the driver keeps posted (one page each: hdr + a frame of up to 4084 bytes). */
export const VIRTIO_NET_RX_BUFFERS = 48;

export class VirtioNetFront implements NetIface {
  readonly connected = true;
  readonly stats: NetfrontStats = { txPackets: 0, txBytes: 0, rxPackets: 0, rxBytes: 0, txDropped: 0, txErrors: 0, reconnects: 0, reconnectCycles: [], grantsIssued: 0, notifies: 0 };
  readonly taps: ((frame: Uint8Array) => void)[] = [];
  onReceive: ((frame: Uint8Array) => void) | null = null;
  readonly rxq: DriverVirtq;
  readonly txq: DriverVirtq;
  private readonly rxPfn = new Map<number, number>();
  private readonly tx = new Map<number, { hdrSlot: number; done?: (status: number) => void }>();
  private readonly hdr: DataView;
  private readonly hdrGpa: number;
  private readonly freeHdr: number[] = [];

  constructor(
    private readonly env: VirtioGuestEnv,
    readonly mac: Uint8Array,
    readonly drops: VifDrops,
    private readonly costs: VirtioNetCosts,
  ) {
    this.rxq = new DriverVirtq(env.page, env.allocPage);
    this.txq = new DriverVirtq(env.page, env.allocPage);
    const h = env.allocPage();
    this.hdr = env.page(h);
    this.hdrGpa = h * 4096;
    for (let i = 0; i < 4096 / 16; i++) this.freeHdr.push(i);
    for (let i = 0; i < VIRTIO_NET_RX_BUFFERS; i++) this.postRx(env.allocPage());
  }

  private postRx(pfn: number): void {
    const head = this.rxq.add([{ addr: pfn * 4096, len: 4096, flags: VIRTQ_DESC_F_WRITE }]);
    if (head >= 0) this.rxPfn.set(head, pfn);
  }

  get txFree(): number {
    return Math.min(Math.floor(this.txq.freeDescs / 2), this.freeHdr.length);
  }

  send(pfn: number, len: number, done?: (status: number) => void): SendResult {
    if (!(Number.isInteger(len) && len > 0 && len <= 4096)) throw new RangeError(`eth0: a frame is 1…4096 bytes of one page (got ${len})`);
    if (this.txFree === 0) return 'busy';
    this.env.charge(this.costs.xmit);
    const slot = this.freeHdr.pop()!;
    for (let i = 0; i < VIRTIO_NET_HDR_BYTES; i++) this.hdr.setUint8(slot * 16 + i, 0);
    const head = this.txq.add([
      { addr: this.hdrGpa + slot * 16, len: VIRTIO_NET_HDR_BYTES, flags: 0 },
      { addr: pfn * 4096, len, flags: 0 },
    ]);
    this.tx.set(head, { hdrSlot: slot, ...(done ? { done } : {}) });
    this.stats.txPackets++;
    this.stats.txBytes += len;
    if (!this.txq.noNotify) {
      this.stats.notifies++;
      this.env.notify(VIRTIO_NET_TX_QUEUE);
    }
    return 'queued';
  }

  /** The device's interrupt (vring_interrupt on either queue → the NAPI poll): transmits ended, frames up. */
  readonly interrupt = (): void => {
    for (let u = this.txq.take(); u; u = this.txq.take()) {
      const t = this.tx.get(u.head);
      if (!t) continue;
      this.tx.delete(u.head);
      this.freeHdr.push(t.hdrSlot);
      this.env.charge(this.costs.txComplete);
      t.done?.(NETIF_RSP_OKAY);
    }
    let posted = false;
    for (let u = this.rxq.take(); u; u = this.rxq.take()) {
      const pfn = this.rxPfn.get(u.head);
      if (pfn === undefined) continue;
      this.rxPfn.delete(u.head);
      const p = this.env.page(pfn);
      const len = u.len - VIRTIO_NET_HDR_BYTES;
      if (len > 0) {
        const f = new Uint8Array(p.buffer, p.byteOffset + VIRTIO_NET_HDR_BYTES, len);
        this.env.charge(this.costs.rxFrame);
        this.stats.rxPackets++;
        this.stats.rxBytes += len;
        for (const t of this.taps) t(f);
        this.onReceive?.(f);
      }
      this.postRx(pfn);
      posted = true;
    }
    // New receive buffers: the device may have been waiting for them (it drops meanwhile).
    if (posted && !this.rxq.noNotify) this.env.notify(VIRTIO_NET_RX_QUEUE);
  };
}

/**
 * The device side of a virtio-net function under KVM, in one of two places:
 *  - "qemu": hw/net/virtio-net.c with a tap backend. A frame for the guest is queued on the tap
 *    device's socket and wakes qemu's I/O thread, which read()s it into its own buffer (a system
 *    call, a copy) and copies it into a receive buffer the guest posted (a second copy); a
 *    transmit wakes qemu through the ioeventfd, which writev()s the guest's buffer to the tap (a
 *    system call, a copy into a host skb).
 *  - "vhost": drivers/vhost/net.c. The host kernel's vhost worker thread serves the virtqueues
 *    itself, reaching the guest's buffers through qemu's address space (copy_to_iter /
 *    copy_from_iter: one copy each way), and signals the irqfd itself: no exit to user space, no
 *    system call, no qemu.
 * Either way the tap device is a port on the host's bridge with the machine's NIC.
 */
import { VIRTIO_NET_HDR_BYTES } from '../../../api/public/io/virtio.js';
import { DeviceVirtq } from './deviceVirtq.js';
import type { BridgePort, Bridge, Skb } from '../../../guest/io/e1000.js';
import { skbAlloc, skbBytes, skbFree } from '../../../guest/io/e1000.js';
import type { XenIoEnv } from '../../../guest/io/env.js';
import type { VifDrops } from '../../../guest/io/netfront.js';
import type { VirtqAddrs } from '../../../guest/io/virtioBlk.js';
import type { QemuRam } from './qemuVirtioBlk.js';

export type VirtioNetBackendKind = 'qemu' | 'vhost';

export interface VirtioNetHooks {
  /** Wakes the backend's thread (qemu's I/O thread or the vhost worker) to run `fn`: a host context switch. */
  wake(fn: () => void): void;
  /** Cycles of the backend's own work (qemu user space, or the vhost worker: host kernel). */
  charge(cycles: number): void;
  /** Host kernel cycles (tap, syscalls). */
  chargeHost(cycles: number): void;
  /** A system call qemu makes (read / writev on the tap). */
  syscall(): void;
  /** One copy of `bytes` between buffers. */
  copy(bytes: number): void;
  /** The irqfd: KVM injects the device's interrupt into the guest. */
  irqfd(): void;
}

export interface VirtioNetBackendCosts {
  /** Per frame: the backend popping and pushing a chain (virtio_net_receive / flush_tx; vhost handle_rx / handle_tx). */
  frame: number;
  /** Per frame: the tap device's work (tun_get_user / tun_net_xmit and the socket queue). */
  tap: number;
}

export class VirtioNetBackend implements BridgePort {
  private readonly rxq: DeviceVirtq;
  private readonly txq: DeviceVirtq;
  private readonly pending: Skb[] = [];
  private woken = false;
  readonly stats = { rxFrames: 0, txFrames: 0, rxDropped: 0, txDropped: 0 };

  constructor(
    readonly kind: VirtioNetBackendKind,
    readonly mac: Uint8Array,
    private readonly drops: VifDrops,
    ram: QemuRam,
    queues: { rx: VirtqAddrs; tx: VirtqAddrs },
    private readonly bridge: Bridge,
    private readonly host: XenIoEnv,
    private readonly ramPage: (gpa: number) => DataView,
    private readonly hooks: VirtioNetHooks,
    private readonly costs: VirtioNetBackendCosts,
  ) {
    this.rxq = new DeviceVirtq(ram, queues.rx);
    this.txq = new DeviceVirtq(ram, queues.tx);
    // The device needs no kick for new receive buffers until it runs out of them.
    this.rxq.setNoNotify(true);
  }

  /** The bridge hands over a frame for the guest: it waits on the tap's socket and wakes the backend. */
  deliver(skb: Skb): void {
    this.hooks.chargeHost(this.costs.tap);
    this.pending.push(skb);
    this.kick();
  }

  countDrop(): void {
    this.drops.dropped++;
  }

  /** The guest notified the transmit queue (the ioeventfd): the backend's thread runs. */
  notifyTx(): void {
    this.kick();
  }

  private kick(): void {
    if (this.woken) return;
    this.woken = true;
    this.hooks.wake(() => {
      this.woken = false;
      this.run();
    });
  }

  /** One wake-up: every waiting frame into the guest, every queued transmit out, then one interrupt. */
  private run(): void {
    let used = 0;
    while (this.pending.length > 0) {
      const skb = this.pending.shift()!;
      used += this.receive(skb) ? 1 : 0;
    }
    for (let c = this.txq.pop(); c; c = this.txq.pop()) {
      this.transmit(c.head, c.bufs);
      used++;
    }
    if (used > 0) this.hooks.irqfd();
  }

  private receive(skb: Skb): boolean {
    const frame = skbBytes(this.host, skb);
    const len = frame.length;
    if (this.kind === 'qemu') {
      // read() on the tap: the frame copied into qemu's buffer.
      this.hooks.syscall();
      this.hooks.copy(len);
    }
    const chain = this.rxq.pop();
    if (!chain || chain.bufs[0]!.len < VIRTIO_NET_HDR_BYTES + len) {
      // No buffer posted: dropped, and the driver asked to say when it adds some.
      this.rxq.setNoNotify(false);
      this.stats.rxDropped++;
      this.drops.dropped++;
      skbFree(this.host, skb);
      return false;
    }
    this.hooks.charge(this.costs.frame);
    const at = chain.bufs[0]!.addr;
    const dst = this.ramPage(at);
    const off = at % 4096;
    for (let i = 0; i < VIRTIO_NET_HDR_BYTES; i++) dst.setUint8(off + i, 0);
    new Uint8Array(dst.buffer, dst.byteOffset + off + VIRTIO_NET_HDR_BYTES, len).set(frame);
    this.hooks.copy(len);
    skbFree(this.host, skb);
    this.rxq.push(chain.head, VIRTIO_NET_HDR_BYTES + len);
    this.stats.rxFrames++;
    return true;
  }

  private transmit(head: number, bufs: { addr: number; len: number; flags: number }[]): void {
    this.hooks.charge(this.costs.frame);
    // [virtio_net_hdr][frame]: the frame is everything after the header.
    const data = bufs.slice(1);
    const len = data.reduce((a, b) => a + b.len, 0);
    const bytes = new Uint8Array(len);
    let o = 0;
    for (const b of data) {
      const p = this.ramPage(b.addr);
      bytes.set(new Uint8Array(p.buffer, p.byteOffset + (b.addr % 4096), b.len), o);
      o += b.len;
    }
    if (this.kind === 'qemu') this.hooks.syscall(); // writev() on the tap
    const skb = skbAlloc(this.host, bytes, len);
    this.hooks.copy(len);
    this.hooks.chargeHost(this.costs.tap);
    this.txq.push(head, 0);
    if (!this.bridge.fromVif(this, skb)) {
      // The NIC's ring is full: the tap drops it (the guest was told it was sent, as with a real NIC).
      skbFree(this.host, skb);
      this.stats.txDropped++;
      this.drops.dropped++;
      return;
    }
    this.stats.txFrames++;
  }
}

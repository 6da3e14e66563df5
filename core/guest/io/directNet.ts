/**
 * A NIC the kernel drives itself (bare metal): the stack hands each frame straight to the e1000
 * driver and takes received frames from it, with no ring, grant, event channel or bridge between.
 * The native baseline of the split network path, charged the same stack costs as netfront's side
 * (the frame is copied into an skb of the driver's, as the socket layer copies it on send).
 */
import { NETIF_RSP_OKAY } from '../../api/public/io/netif.js';
import { type Bridge, type BridgePort, type E1000Driver, isMulticast, macEquals, type Skb, skbAlloc, skbBytes, skbFree } from './e1000.js';
import type { XenIoEnv } from './env.js';
import type { NetfrontStats, NetIface, SendResult, VifDrops } from './netfront.js';

export interface DirectNetCosts {
  /** Sending one frame through the stack to the driver (as netfront's xmit, less the ring). */
  xmit: number;
  /** One received frame up the stack (as netfront's receive, less the ring). */
  rxFrame: number;
}

export class DirectNet implements NetIface {
  readonly connected = true;
  readonly stats: NetfrontStats = { txPackets: 0, txBytes: 0, rxPackets: 0, rxBytes: 0, txDropped: 0, txErrors: 0, reconnects: 0, reconnectCycles: [], grantsIssued: 0, notifies: 0 };
  readonly taps: ((frame: Uint8Array) => void)[] = [];
  onReceive: ((frame: Uint8Array) => void) | null = null;

  constructor(
    private readonly env: XenIoEnv,
    private readonly driver: E1000Driver,
    readonly mac: Uint8Array,
    readonly drops: VifDrops,
    private readonly costs: DirectNetCosts,
  ) {
    driver.onReceive = (skb) => {
      const f = skbBytes(env, skb);
      // The NIC's own address filter would keep other unicast out; the lab's NIC receives all.
      if (isMulticast(f) || macEquals(f, 0, mac)) {
        env.charge(costs.rxFrame);
        this.stats.rxPackets++;
        this.stats.rxBytes += f.length;
        for (const t of this.taps) t(f);
        this.onReceive?.(f);
      }
      skbFree(env, skb);
    };
  }

  get txFree(): number {
    return this.driver.txFree;
  }

  send(pfn: number, len: number, done?: (status: number) => void): SendResult {
    if (!(Number.isInteger(len) && len > 0 && len <= 4096)) throw new RangeError(`eth0: a frame is 1…4096 bytes of one page (got ${len})`);
    if (this.driver.txFree === 0) return 'busy';
    const p = this.env.page(pfn);
    const skb = skbAlloc(this.env, new Uint8Array(p.buffer, p.byteOffset, len), len);
    this.env.charge(this.costs.xmit);
    if (!this.driver.xmit(skb)) {
      skbFree(this.env, skb);
      return 'busy';
    }
    this.stats.txPackets++;
    this.stats.txBytes += len;
    done?.(NETIF_RSP_OKAY);
    return 'queued';
  }
}

/**
 * The owning domain's own interface on its bridge (dom0's or a driver domain's eth0 on xenbr0, as
 * xl's network script enslaves the NIC and moves the address to the bridge): frames for its MAC
 * come up its stack, what it sends goes out through the bridge like a vif's frames. What dom0
 * itself measures when it receives.
 */
export class LocalPort implements NetIface, BridgePort {
  readonly connected = true;
  readonly stats: NetfrontStats = { txPackets: 0, txBytes: 0, rxPackets: 0, rxBytes: 0, txDropped: 0, txErrors: 0, reconnects: 0, reconnectCycles: [], grantsIssued: 0, notifies: 0 };
  readonly taps: ((frame: Uint8Array) => void)[] = [];
  onReceive: ((frame: Uint8Array) => void) | null = null;

  constructor(
    private readonly env: XenIoEnv,
    private readonly bridge: Bridge,
    readonly mac: Uint8Array,
    readonly drops: VifDrops,
    private readonly costs: DirectNetCosts,
  ) {}

  deliver(skb: Skb): void {
    const f = skbBytes(this.env, skb);
    this.env.charge(this.costs.rxFrame);
    this.stats.rxPackets++;
    this.stats.rxBytes += f.length;
    for (const t of this.taps) t(f);
    this.onReceive?.(f);
    skbFree(this.env, skb);
  }

  countDrop(): void {
    this.drops.dropped++;
  }

  get txFree(): number {
    return this.bridge.nic ? this.bridge.nic.txFree : 1;
  }

  send(pfn: number, len: number, done?: (status: number) => void): SendResult {
    if (!(Number.isInteger(len) && len > 0 && len <= 4096)) throw new RangeError(`eth0: a frame is 1…4096 bytes of one page (got ${len})`);
    if (this.txFree === 0) return 'busy';
    const p = this.env.page(pfn);
    const skb = skbAlloc(this.env, new Uint8Array(p.buffer, p.byteOffset, len), len);
    this.env.charge(this.costs.xmit);
    if (!this.bridge.fromVif(this, skb)) {
      skbFree(this.env, skb);
      return 'busy';
    }
    this.stats.txPackets++;
    this.stats.txBytes += len;
    done?.(NETIF_RSP_OKAY);
    return 'queued';
  }
}

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

/**
 * The kernel's own stack on an interface (no split driver): received frames up the stack, sent
 * frames copied into an skb of the kernel's and handed to `transmit`.
 */
abstract class StackIface implements NetIface {
  readonly connected = true;
  readonly stats: NetfrontStats = { txPackets: 0, txBytes: 0, rxPackets: 0, rxBytes: 0, txDropped: 0, txErrors: 0, reconnects: 0, reconnectCycles: [], grantsIssued: 0, notifies: 0 };
  readonly taps: ((frame: Uint8Array) => void)[] = [];
  onReceive: ((frame: Uint8Array) => void) | null = null;

  constructor(
    protected readonly env: XenIoEnv,
    readonly mac: Uint8Array,
    readonly drops: VifDrops,
    private readonly costs: DirectNetCosts,
  ) {}

  abstract readonly txFree: number;
  /** Hands the frame on; false when the way out is full (the frame is then the caller's). */
  protected abstract transmit(skb: Skb): boolean;

  /** One frame up the stack. */
  protected up(f: Uint8Array): void {
    this.env.charge(this.costs.rxFrame);
    this.stats.rxPackets++;
    this.stats.rxBytes += f.length;
    for (const t of this.taps) t(f);
    this.onReceive?.(f);
  }

  send(pfn: number, len: number, done?: (status: number) => void): SendResult {
    if (!(Number.isInteger(len) && len > 0 && len <= 4096)) throw new RangeError(`eth0: a frame is 1…4096 bytes of one page (got ${len})`);
    if (this.txFree === 0) return 'busy';
    const p = this.env.page(pfn);
    const skb = skbAlloc(this.env, new Uint8Array(p.buffer, p.byteOffset, len), len);
    this.env.charge(this.costs.xmit);
    if (!this.transmit(skb)) {
      skbFree(this.env, skb);
      return 'busy';
    }
    this.stats.txPackets++;
    this.stats.txBytes += len;
    done?.(NETIF_RSP_OKAY);
    return 'queued';
  }
}

/** Bare metal: the stack straight on the NIC's driver. */
export class DirectNet extends StackIface {
  constructor(env: XenIoEnv, private readonly driver: E1000Driver, mac: Uint8Array, drops: VifDrops, costs: DirectNetCosts) {
    super(env, mac, drops, costs);
    driver.onReceive = (skb) => {
      const f = skbBytes(env, skb);
      // The NIC's own address filter would keep other unicast out; the lab's NIC receives all.
      if (isMulticast(f) || macEquals(f, 0, mac)) this.up(f);
      skbFree(env, skb);
    };
  }

  get txFree(): number {
    return this.driver.txFree;
  }

  protected transmit(skb: Skb): boolean {
    return this.driver.xmit(skb);
  }
}

/**
 * The owning domain's own interface on its bridge (dom0's or a driver domain's eth0 on xenbr0, as
 * xl's network script enslaves the NIC and moves the address to the bridge): frames for its MAC
 * come up its stack, what it sends goes out through the bridge like a vif's frames. What dom0
 * itself measures when it receives.
 */
export class LocalPort extends StackIface implements BridgePort {
  constructor(env: XenIoEnv, private readonly bridge: Bridge, mac: Uint8Array, drops: VifDrops, costs: DirectNetCosts) {
    super(env, mac, drops, costs);
  }

  deliver(skb: Skb): void {
    this.up(skbBytes(this.env, skb));
    skbFree(this.env, skb);
  }

  countDrop(): void {
    this.drops.dropped++;
  }

  get txFree(): number {
    return this.bridge.nic ? this.bridge.nic.txFree : 1;
  }

  protected transmit(skb: Skb): boolean {
    return this.bridge.fromVif(this, skb);
  }
}

/**
 * The NIC's driver in the kernel of the domain that owns it (after Linux
 * drivers/net/ethernet/intel/e1000: legacy descriptors, one rx and one tx ring), and the software
 * bridge (Linux's net/bridge, as xl's vif-bridge script sets it up) that moves frames between the
 * NIC and the vifs that domain's netback serves.
 *
 * Descriptor layouts from the Intel 8254x SDM (see core/machine/devices/nic.ts): a legacy receive
 * descriptor is buffer address u64 @0, length u16 @8, checksum u16 @10, status u8 @12, errors u8
 * @13, special u16 @14; a legacy transmit descriptor is buffer address u64 @0, length u16 @8, CSO
 * u8 @10, CMD u8 @11, STA u8 @12, CSS u8 @13, special u16 @14. The hardware owns receive
 * descriptors RDH … RDT−1, so the driver fills all but one (e1000_alloc_rx_buffers writes RDT as the
 * next descriptor it will fill) and reads ICR in its interrupt handler (ICR clears on read).
 *
 * Frames (skbs) live in whole pages of the owning kernel, the frame at offset 0. A received frame's
 * page goes up the stack (the descriptor gets a fresh page, as e1000 does for frames above its
 * copybreak); whoever consumes a frame last frees its page.
 *
 * Forwarding is by the Ethernet destination address (the "small header" the lab's frames carry is
 * Ethernet's own): a frame for a vif's MAC goes to that vif; a broadcast or multicast frame from
 * the NIC goes to every vif, one from a vif to every other vif and the NIC; any other unicast from
 * a vif leaves by the NIC. The bridge's table is the vifs' configured MACs (what a learning bridge
 * holds once each guest has sent one frame); a frame from the NIC for no known MAC is dropped and
 * counted (`stats.unknown`).
 */
import {
  E1000_DESC_SIZE,
  E1000_ICR,
  E1000_ICR_RXT0,
  E1000_ICR_TXDW,
  E1000_IMS,
  E1000_RCTL,
  E1000_RCTL_EN,
  E1000_RDBAH,
  E1000_RDBAL,
  E1000_RDH,
  E1000_RDLEN,
  E1000_RDT,
  E1000_RXD_STAT_DD,
  E1000_TCTL,
  E1000_TCTL_EN,
  E1000_TDBAH,
  E1000_TDBAL,
  E1000_TDH,
  E1000_TDLEN,
  E1000_TDT,
  E1000_TXD_CMD_EOP,
  E1000_TXD_CMD_RS,
  E1000_TXD_STAT_DD,
} from '../../machine/devices/nic.js';
import type { XenIoEnv } from './env.js';

/** A frame in one page of the kernel's memory, at offset 0. `refs`: holders left (a flood shares it). */
export interface Skb {
  readonly pfn: number;
  readonly len: number;
  refs: number;
}

export function skbAlloc(env: XenIoEnv, bytes: Uint8Array | null, len: number): Skb {
  const pfn = env.allocPage();
  if (bytes) new Uint8Array(env.page(pfn).buffer, env.page(pfn).byteOffset, 4096).set(bytes.subarray(0, len));
  return { pfn, len, refs: 1 };
}

/** kfree_skb: the page goes back when the last holder lets go. */
export function skbFree(env: XenIoEnv, skb: Skb): void {
  if (--skb.refs === 0) env.freePage(skb.pfn);
}

/** The frame's bytes (a view of the kernel's page). */
export function skbBytes(env: XenIoEnv, skb: Skb): Uint8Array {
  const p = env.page(skb.pfn);
  return new Uint8Array(p.buffer, p.byteOffset, skb.len);
}

/** The NIC's registers as the driver reaches them (MMIO reads and writes of its BAR). */
export interface E1000Regs {
  readReg(off: number): number;
  writeReg(off: number, value: number): void;
}

export interface E1000Costs {
  /** The MSI handler's entry and its ICR read (an uncached MMIO read). */
  interrupt: number;
  /** One received frame: descriptor, skb handed up, a fresh buffer in the descriptor. */
  rxFrame: number;
  /** One frame transmitted: descriptor written, TDT doorbell (an uncached MMIO write). */
  txFrame: number;
  /** Reclaiming one transmitted frame's descriptor and skb. */
  txClean: number;
}

export interface E1000DriverStats {
  interrupts: number;
  rxFrames: number;
  txFrames: number;
  /** Times the transmit ring was full (netif_stop_queue). */
  txBusy: number;
}

/** Descriptors per ring: one page of 16-byte descriptors (the 82540EM allows up to 4096 in multiples of 8). */
export const E1000_RING_DESCS = 4096 / E1000_DESC_SIZE;

export class E1000Driver {
  readonly stats: E1000DriverStats = { interrupts: 0, rxFrames: 0, txFrames: 0, txBusy: 0 };
  /** Where received frames go (the bridge). */
  onReceive: ((skb: Skb) => void) | null = null;
  private readonly rx: DataView;
  private readonly tx: DataView;
  private readonly rxSkb: (Skb | null)[] = [];
  private readonly txSkb: (Skb | null)[] = [];
  private rxUse = 0;
  private rxClean = 0;
  private rxOwned = 0;
  private txUse = 0;
  private txClean = 0;
  private txInUse = 0;
  private readonly wakers: (() => void)[] = [];
  private dead = false;

  constructor(
    private readonly env: XenIoEnv,
    private readonly regs: E1000Regs,
    private readonly costs: E1000Costs,
    readonly count = E1000_RING_DESCS,
  ) {
    const rxPfn = env.allocPage();
    const txPfn = env.allocPage();
    this.rx = env.page(rxPfn);
    this.tx = env.page(txPfn);
    for (let i = 0; i < count; i++) {
      this.rxSkb.push(null);
      this.txSkb.push(null);
    }
    // e1000_configure_rx / _tx: rings, heads and tails, then enable, then unmask the causes.
    const rxBus = env.busAddr(rxPfn);
    const txBus = env.busAddr(txPfn);
    regs.writeReg(E1000_RDBAL, rxBus % 2 ** 32);
    regs.writeReg(E1000_RDBAH, Math.floor(rxBus / 2 ** 32));
    regs.writeReg(E1000_RDLEN, count * E1000_DESC_SIZE);
    regs.writeReg(E1000_RDH, 0);
    regs.writeReg(E1000_RDT, 0);
    regs.writeReg(E1000_TDBAL, txBus % 2 ** 32);
    regs.writeReg(E1000_TDBAH, Math.floor(txBus / 2 ** 32));
    regs.writeReg(E1000_TDLEN, count * E1000_DESC_SIZE);
    regs.writeReg(E1000_TDH, 0);
    regs.writeReg(E1000_TDT, 0);
    this.refill();
    regs.writeReg(E1000_RCTL, E1000_RCTL_EN);
    regs.writeReg(E1000_TCTL, E1000_TCTL_EN);
    regs.writeReg(E1000_IMS, E1000_ICR_RXT0 | E1000_ICR_TXDW);
  }

  /** The MSI's handler: read (and so clear) ICR, clean both rings. */
  readonly interrupt = (): void => {
    if (this.dead) return;
    this.stats.interrupts++;
    this.env.charge(this.costs.interrupt);
    const icr = this.regs.readReg(E1000_ICR);
    if (icr & E1000_ICR_TXDW) this.cleanTx();
    if (icr & E1000_ICR_RXT0) this.cleanRx();
  };

  /** Free transmit descriptors (one is always left empty so TDT never catches TDH). */
  get txFree(): number {
    return this.count - 1 - this.txInUse;
  }

  /**
   * e1000_xmit_frame: the frame on the next descriptor and TDT moved. False when the ring is full
   * (the queue is stopped): the caller keeps the frame and is called back by `onWake`.
   */
  xmit(skb: Skb): boolean {
    if (this.dead) return false;
    if (this.txFree === 0) {
      this.stats.txBusy++;
      return false;
    }
    const i = this.txUse;
    const off = i * E1000_DESC_SIZE;
    const bus = this.env.busAddr(skb.pfn);
    const t = this.tx;
    t.setUint32(off, bus % 2 ** 32, true);
    t.setUint32(off + 4, Math.floor(bus / 2 ** 32), true);
    t.setUint16(off + 8, skb.len, true);
    t.setUint8(off + 10, 0);
    t.setUint8(off + 11, E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS);
    t.setUint8(off + 12, 0);
    t.setUint8(off + 13, 0);
    t.setUint16(off + 14, 0, true);
    this.txSkb[i] = skb;
    this.txUse = (i + 1) % this.count;
    this.txInUse++;
    this.stats.txFrames++;
    this.env.charge(this.costs.txFrame);
    this.regs.writeReg(E1000_TDT, this.txUse);
    return true;
  }

  /** Called once when the transmit ring has room again (netif_wake_queue). */
  onWake(cb: () => void): void {
    this.wakers.push(cb);
  }

  /** e1000_clean_tx_irq: descriptors the NIC marked done, their skbs freed. */
  private cleanTx(): void {
    while (this.txInUse > 0) {
      const off = this.txClean * E1000_DESC_SIZE;
      if ((this.tx.getUint8(off + 12) & E1000_TXD_STAT_DD) === 0) break;
      const skb = this.txSkb[this.txClean];
      this.txSkb[this.txClean] = null;
      if (skb) skbFree(this.env, skb);
      this.txClean = (this.txClean + 1) % this.count;
      this.txInUse--;
      this.env.charge(this.costs.txClean);
    }
    if (this.txFree > 0 && this.wakers.length > 0) {
      const ws = this.wakers.splice(0);
      for (const w of ws) w();
    }
  }

  /** e1000_clean_rx_irq: every descriptor with DD, its frame up the stack, then refill. */
  private cleanRx(): void {
    while (this.rxOwned > 0) {
      const off = this.rxClean * E1000_DESC_SIZE;
      const st = this.rx.getUint8(off + 12);
      if ((st & E1000_RXD_STAT_DD) === 0) break;
      const len = this.rx.getUint16(off + 8, true);
      const page = this.rxSkb[this.rxClean]!;
      this.rxSkb[this.rxClean] = null;
      this.rx.setUint8(off + 12, 0);
      this.rxClean = (this.rxClean + 1) % this.count;
      this.rxOwned--;
      this.stats.rxFrames++;
      this.env.charge(this.costs.rxFrame);
      const skb: Skb = { pfn: page.pfn, len, refs: 1 };
      if (this.onReceive) this.onReceive(skb);
      else skbFree(this.env, skb);
    }
    this.refill();
  }

  /** e1000_alloc_rx_buffers: a fresh page in each free descriptor, all but one; RDT after the last. */
  private refill(): void {
    let n = 0;
    while (this.rxOwned < this.count - 1) {
      const i = this.rxUse;
      const skb: Skb = { pfn: this.env.allocPage(), len: 0, refs: 1 };
      const bus = this.env.busAddr(skb.pfn);
      const off = i * E1000_DESC_SIZE;
      this.rx.setUint32(off, bus % 2 ** 32, true);
      this.rx.setUint32(off + 4, Math.floor(bus / 2 ** 32), true);
      this.rx.setUint32(off + 8, 0, true);
      this.rx.setUint32(off + 12, 0, true);
      this.rxSkb[i] = skb;
      this.rxUse = (i + 1) % this.count;
      this.rxOwned++;
      n++;
    }
    if (n > 0) this.regs.writeReg(E1000_RDT, this.rxUse);
  }

  /**
   * The owning domain is going away: the frames the NIC wrote into the ring that the driver has
   * not taken (descriptors with DD) are lost with it. Returns them (for the lab to count).
   */
  shutdown(): { rx: Uint8Array[]; tx: Uint8Array[] } {
    this.dead = true;
    const rx: Uint8Array[] = [];
    let i = this.rxClean;
    for (let n = 0; n < this.rxOwned; n++) {
      const off = i * E1000_DESC_SIZE;
      if ((this.rx.getUint8(off + 12) & E1000_RXD_STAT_DD) === 0) break;
      const len = this.rx.getUint16(off + 8, true);
      rx.push(skbBytes(this.env, { pfn: this.rxSkb[i]!.pfn, len, refs: 1 }).slice());
      i = (i + 1) % this.count;
    }
    // Frames queued for transmission whose descriptors the NIC had not written back: never on the wire.
    const tx: Uint8Array[] = [];
    i = this.txClean;
    for (let n = 0; n < this.txInUse; n++) {
      const off = i * E1000_DESC_SIZE;
      const skb = this.txSkb[i];
      if ((this.tx.getUint8(off + 12) & E1000_TXD_STAT_DD) === 0 && skb) tx.push(skbBytes(this.env, skb).slice());
      i = (i + 1) % this.count;
    }
    return { rx, tx };
  }
}

/** A bridge port a vif's netback provides. */
export interface BridgePort {
  /** The guest's MAC address (6 bytes). */
  readonly mac: Uint8Array;
  /** Takes a frame toward the guest (xenvif_start_xmit); the port owns the reference it is given. */
  deliver(skb: Skb): void;
  /** Counts a frame for this port's guest that was lost before it got here. */
  countDrop(): void;
}

export interface BridgeStats {
  fromNic: number;
  toNic: number;
  betweenVifs: number;
  /** Frames from the NIC for no known MAC. */
  unknown: number;
}

export function isMulticast(frame: Uint8Array): boolean {
  return (frame[0]! & 1) === 1;
}

export function macEquals(frame: Uint8Array, at: number, mac: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (frame[at + i] !== mac[i]) return false;
  return true;
}

export interface BridgeCosts {
  /** br_handle_frame + the forwarding database lookup + br_forward, per frame. */
  forward: number;
}

/** The software bridge between one NIC and the vifs served beside it (xenbr0). */
export class Bridge {
  readonly ports: BridgePort[] = [];
  readonly stats: BridgeStats = { fromNic: 0, toNic: 0, betweenVifs: 0, unknown: 0 };

  constructor(
    private readonly env: XenIoEnv,
    readonly nic: E1000Driver | null,
    private readonly costs: BridgeCosts,
  ) {
    if (nic) nic.onReceive = (skb) => this.fromNic(skb);
  }

  /** brctl addif. */
  add(port: BridgePort): void {
    if (!this.ports.includes(port)) this.ports.push(port);
  }

  remove(port: BridgePort): void {
    const i = this.ports.indexOf(port);
    if (i >= 0) this.ports.splice(i, 1);
  }

  /** Which ports a frame from the NIC goes to (empty: nobody on this bridge has its MAC). */
  portsFor(frame: Uint8Array, except: BridgePort | null = null): BridgePort[] {
    if (isMulticast(frame)) return this.ports.filter((p) => p !== except);
    const p = this.ports.find((x) => x !== except && macEquals(frame, 0, x.mac));
    return p ? [p] : [];
  }

  fromNic(skb: Skb): void {
    this.env.charge(this.costs.forward);
    this.stats.fromNic++;
    const to = this.portsFor(skbBytes(this.env, skb));
    if (to.length === 0) {
      this.stats.unknown++;
      skbFree(this.env, skb);
      return;
    }
    skb.refs += to.length - 1;
    for (const p of to) p.deliver(skb);
  }

  /**
   * A frame a vif sent. False when it must leave by the NIC and the NIC's ring is full: the vif
   * keeps it and waits for `onNicWake`.
   */
  fromVif(from: BridgePort, skb: Skb): boolean {
    const frame = skbBytes(this.env, skb);
    const multicast = isMulticast(frame);
    const local = this.portsFor(frame, from);
    const toNic = multicast || local.length === 0;
    if (toNic && this.nic && this.nic.txFree === 0) return false;
    this.env.charge(this.costs.forward);
    const nicToo = toNic && this.nic !== null;
    const holders = local.length + (nicToo ? 1 : 0);
    if (holders === 0) {
      skbFree(this.env, skb); // no NIC on this bridge and nobody with that MAC
      return true;
    }
    skb.refs += holders - 1;
    this.stats.betweenVifs += local.length;
    for (const p of local) p.deliver(skb);
    if (nicToo) {
      this.stats.toNic++;
      this.nic!.xmit(skb);
    }
    return true;
  }

  onNicWake(cb: () => void): void {
    this.nic?.onWake(cb);
  }
}

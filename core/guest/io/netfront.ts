/**
 * netfront (after Linux drivers/net/xen-netfront.c): a guest's virtual NIC (vif). Two shared rings
 * in pages it grants to the backend: on the tx ring each request names a granted page holding a
 * frame (read-only: the backend only reads it); on the rx ring the frontend keeps posting empty
 * pages it grants writable, and the backend copies each arriving frame into one (request-rx-copy)
 * and answers with its length. One event channel serves both rings.
 *
 * xenbus (talk_to_netback, netback_changed): when the backend is InitWait the frontend sets up both
 * rings and the event channel, writes tx-ring-ref, rx-ring-ref, event-channel, request-rx-copy=1
 * and feature-rx-notify=1, and goes Connected; the carrier is on when the backend is Connected.
 *
 * With `rxFlip` (Linux 2.6.18-xen netfront without rx_copy) the frontend asks for page flipping
 * (request-rx-copy=0): each receive buffer is posted with a ref that accepts a frame transfer, and
 * the frame behind it goes back to Xen (network_alloc_rx_buffers: the direct-map entries cleared,
 * XENMEM_decrease_reservation, one multicall per batch); each answered buffer's page takes the frame
 * netback transferred (netif_poll: p2m, direct map and m2p rewritten, one multicall per poll). A
 * backend without feature-rx-flip gets request-rx-copy=1 instead, as netfront fell back.
 *
 * When the backend goes away the frontend reads what responses are already on its rings (they are
 * in its own pages), then gives the rings up. A frame it had put on the tx ring and not seen
 * answered is lost, and a frame it is asked to send with no backend is dropped: both are counted
 * (tx_dropped) in `stats.txDropped` and the vif's `drops`. When the toolstack points it at a new
 * backend it connects again and reposts its receive buffers.
 */
import { NETIF_RSP_OKAY, NETIF_RX_SLOT_BYTES, NETIF_TX_SLOT_BYTES, NET_RX_RING_SIZE, NET_TX_RING_SIZE, readNetifRxResponse, readNetifTxResponse, writeNetifRxRequest, writeNetifTxRequest } from '../../api/public/io/netif.js';
import { FrontRing, sharedRingInit } from '../../api/public/io/ring.js';
import {
  XenbusStateClosed,
  XenbusStateClosing,
  XenbusStateConnected,
  XenbusStateInitialising,
  XenbusStateInitWait,
  XenbusStateUnknown,
  type XenbusState,
} from '../../api/public/io/xenbus.js';
import type { XenIoEnv } from './env.js';
import { readState, stateName, switchState } from './xenbus.js';

export interface NetfrontCosts {
  /** xennet_start_xmit: the request, its slot, the push (without the grant). */
  xmit: number;
  /** xennet_poll per received frame: the skb built and handed to the stack, the buffer reposted. */
  rxFrame: number;
  /** xennet_tx_buf_gc per transmitted frame. */
  txComplete: number;
  /** Granting one page or ending a grant. */
  grant: number;
}

export interface NetfrontStats {
  txPackets: number;
  txBytes: number;
  rxPackets: number;
  rxBytes: number;
  /** Frames given to the driver that never reached the backend, or reached a backend that died before answering. */
  txDropped: number;
  txErrors: number;
  reconnects: number;
  reconnectCycles: number[];
  grantsIssued: number;
  notifies: number;
}

/** Counters the lab keeps per vif, beyond any one backend's life (results io.packetsDropped). */
export interface VifDrops {
  dropped: number;
}

interface TxShadow {
  pfn: number;
  ref: number;
  len: number;
  done?: (status: number) => void;
}

export type SendResult = 'queued' | 'busy' | 'dropped';

/** What the kernel's stack (and the lab's workloads) sees of a network interface: a vif, or a NIC driven directly. */
export interface NetIface {
  readonly mac: Uint8Array;
  /** Frames can flow (carrier on). */
  readonly connected: boolean;
  /** Frames the interface takes now before its queue stops. */
  readonly txFree: number;
  readonly stats: NetfrontStats;
  /** Observers of every received frame (packet capture). */
  readonly taps: ((frame: Uint8Array) => void)[];
  onReceive: ((frame: Uint8Array) => void) | null;
  /** Sends bytes 0…len−1 of page `pfn`; `done` when the interface is finished with the page. */
  send(pfn: number, len: number, done?: (status: number) => void): SendResult;
}

export class Netfront implements NetIface {
  state: XenbusState = XenbusStateInitialising;
  readonly stats: NetfrontStats = { txPackets: 0, txBytes: 0, rxPackets: 0, rxBytes: 0, txDropped: 0, txErrors: 0, reconnects: 0, reconnectCycles: [], grantsIssued: 0, notifies: 0 };
  /** The stack: each frame received, as the guest's page holds it (a view valid during the call). */
  onReceive: ((frame: Uint8Array) => void) | null = null;
  /** Observers of every received frame, called before `onReceive` (packet capture: tests, tcpdump). */
  readonly taps: ((frame: Uint8Array) => void)[] = [];
  /** The backend's carrier: Connected seen. */
  private carrier = false;
  private tx: FrontRing | null = null;
  private rx: FrontRing | null = null;
  private txPfn = -1;
  private rxPfn = -1;
  private txRef = -1;
  private rxRef = -1;
  private port = -1;
  private readonly txShadow = new Map<number, TxShadow>();
  private readonly txFreeIds: number[] = [];
  /** Receive buffers by id: the page, and its grant while posted. */
  private readonly rxBufs: { pfn: number; ref: number }[] = [];
  private backendDir: string | null = null;
  private backendId = -1;
  private disconnectedAt = -1;
  private everConnected = false;
  /** Receiving by page flipping on this connection. */
  private flippingNow = false;
  /** Buffers posted for a transfer whose frames still go back to Xen (the batch's giveAway). */
  private readonly toGive: number[] = [];
  /** Buffer pages whose frame went back to Xen and none came in yet (ballooned out). */
  private readonly unbacked = new Set<number>();

  constructor(
    private readonly env: XenIoEnv,
    /** /local/domain/<id>/device/vif/<handle> */
    readonly dir: string,
    readonly handle: number,
    readonly mac: Uint8Array,
    private readonly costs: NetfrontCosts,
    readonly drops: VifDrops,
    /** Ask for page flipping rather than grant copy on receive. */
    readonly rxFlip = false,
  ) {
    for (let i = NET_TX_RING_SIZE - 1; i >= 0; i--) this.txFreeIds.push(i);
  }

  /** netfront_probe: Initialising, and watch the node naming our backend. */
  start(): void {
    switchState(this.env.xs, this.dir, XenbusStateInitialising);
    this.env.xs.watch(`${this.dir}/backend`, `netfront:${this.handle}`, () => this.backendPathChanged());
  }

  /** The carrier is on: the backend is Connected to our rings. */
  get connected(): boolean {
    return this.state === XenbusStateConnected && this.carrier;
  }
  get backend(): { dir: string | null; domid: number } {
    return { dir: this.backendDir, domid: this.backendId };
  }
  /** Tx slots free (the stack's queue stops at 0). */
  get txFree(): number {
    return this.tx && this.connected ? this.tx.freeRequests() : 0;
  }
  /** Receiving by page flipping on the current connection (asked for, and the backend can). */
  get flipping(): boolean {
    return this.flippingNow;
  }
  get txInFlight(): number {
    return this.txShadow.size;
  }

  /**
   * xennet_start_xmit: the frame in `pfn` (bytes 0…len−1) on the tx ring. With no backend it is
   * dropped and counted; with a full ring the caller waits ('busy').
   */
  send(pfn: number, len: number, done?: (status: number) => void): SendResult {
    if (!(Number.isInteger(len) && len > 0 && len <= 4096)) throw new RangeError(`vif${this.handle}: a frame is 1…4096 bytes of one page (got ${len})`);
    const ring = this.tx;
    if (!ring || !this.connected) {
      this.stats.txDropped++;
      this.drops.dropped++;
      return 'dropped';
    }
    if (ring.full) return 'busy';
    const env = this.env;
    const ref = env.grants.grantForeignAccess(this.backendId, env.grantFrame(pfn), true);
    if (ref < 0) throw new Error(`vif${this.handle}: grant table full`);
    this.stats.grantsIssued++;
    env.charge(this.costs.grant + this.costs.xmit);
    const id = this.txFreeIds.pop()!;
    writeNetifTxRequest(ring.page, ring.nextRequest(), { gref: ref, offset: 0, flags: 0, id, size: len });
    ring.produced();
    this.txShadow.set(id, { pfn, ref, len, done });
    if (ring.pushRequestsAndCheckNotify()) this.notify();
    return 'queued';
  }

  private notify(): void {
    this.stats.notifies++;
    this.env.evtchn.send(this.port);
  }

  /** xennet_interrupt: tx completions, then received frames (xennet_poll), buffers reposted. */
  private interrupt(): void {
    this.txGc();
    this.rxPoll();
  }

  private txGc(): void {
    const ring = this.tx;
    if (!ring) return;
    do {
      while (ring.unconsumedResponses() > 0) {
        const r = readNetifTxResponse(ring.page, ring.slot(ring.rspCons));
        ring.rspCons = (ring.rspCons + 1) >>> 0;
        const s = this.txShadow.get(r.id);
        if (!s) continue;
        this.txShadow.delete(r.id);
        this.txFreeIds.push(r.id);
        this.endGrant(s.ref);
        this.env.charge(this.costs.grant + this.costs.txComplete);
        if (r.status === NETIF_RSP_OKAY) {
          this.stats.txPackets++;
          this.stats.txBytes += s.len;
        } else this.stats.txErrors++;
        s.done?.(r.status);
      }
    } while (ring.finalCheckForResponses());
  }

  private rxPoll(): void {
    const ring = this.rx;
    if (!ring) return;
    if (this.flipping) return this.rxPollFlip(ring);
    const env = this.env;
    let reposted = 0;
    do {
      while (ring.unconsumedResponses() > 0) {
        const r = readNetifRxResponse(ring.page, ring.slot(ring.rspCons));
        ring.rspCons = (ring.rspCons + 1) >>> 0;
        const buf = this.rxBufs[r.id];
        if (!buf || buf.ref < 0) continue;
        this.endGrant(buf.ref);
        buf.ref = -1;
        env.charge(this.costs.rxFrame + this.costs.grant);
        if (r.status > 0 && r.offset + r.status <= 4096) this.receive(buf.pfn, r.offset, r.status);
        if (this.post(r.id)) reposted++;
      }
    } while (ring.finalCheckForResponses());
    if (reposted > 0 && ring.pushRequestsAndCheckNotify()) this.notify();
  }

  /** A received frame up the stack. */
  private receive(pfn: number, offset: number, len: number): void {
    this.stats.rxPackets++;
    this.stats.rxBytes += len;
    const p = this.env.page(pfn);
    const frame = new Uint8Array(p.buffer, p.byteOffset + offset, len);
    for (const t of this.taps) t(frame);
    this.onReceive?.(frame);
  }

  /**
   * netif_poll with flipping: the answered buffers' transferred frames are adopted first (one
   * multicall), then the frames go up the stack, then the buffers are posted again.
   */
  private rxPollFlip(ring: FrontRing): void {
    const env = this.env;
    let reposted = 0;
    do {
      const got: { id: number; offset: number; status: number; mfn: number }[] = [];
      while (ring.unconsumedResponses() > 0) {
        const r = readNetifRxResponse(ring.page, ring.slot(ring.rspCons));
        ring.rspCons = (ring.rspCons + 1) >>> 0;
        const buf = this.rxBufs[r.id];
        if (!buf || buf.ref < 0) continue;
        const mfn = env.grants.endForeignTransfer(buf.ref);
        env.grants.freeRef(buf.ref);
        buf.ref = -1;
        env.charge(this.costs.rxFrame + this.costs.grant);
        got.push({ id: r.id, offset: r.offset, status: r.status, mfn });
      }
      this.adopt(got.filter((g) => g.mfn > 0).map((g) => ({ pfn: this.rxBufs[g.id]!.pfn, mfn: g.mfn })));
      for (const g of got) {
        if (g.mfn > 0 && g.status > 0 && g.offset + g.status <= 4096) this.receive(this.rxBufs[g.id]!.pfn, g.offset, g.status);
        if (this.post(g.id)) reposted++;
      }
      this.giveAway();
    } while (ring.finalCheckForResponses());
    if (reposted > 0 && ring.pushRequestsAndCheckNotify()) this.notify();
  }

  /** The frames behind the buffers just posted for transfer go back to Xen. */
  private giveAway(): void {
    if (this.toGive.length === 0) return;
    this.env.flip!.giveAway(this.toGive);
    for (const pfn of this.toGive) this.unbacked.add(pfn);
    this.toGive.length = 0;
  }

  /** Frames transferred into our buffer pages: the pages are backed again. */
  private adopt(pages: { pfn: number; mfn: number }[]): void {
    this.env.flip!.adopt(pages);
    for (const p of pages) this.unbacked.delete(p.pfn);
  }

  /** One receive buffer (id) granted writable to the backend and put on the rx ring. */
  private post(id: number): boolean {
    const ring = this.rx;
    if (!ring || ring.full) return false;
    const env = this.env;
    const buf = this.rxBufs[id]!;
    if (this.flipping) {
      buf.ref = env.grants.grantForeignTransfer(this.backendId, buf.pfn);
      this.toGive.push(buf.pfn);
    } else buf.ref = env.grants.grantForeignAccess(this.backendId, env.grantFrame(buf.pfn), false);
    if (buf.ref < 0) throw new Error(`vif${this.handle}: grant table full`);
    this.stats.grantsIssued++;
    env.charge(this.costs.grant);
    writeNetifRxRequest(ring.page, ring.nextRequest(), { id, gref: buf.ref });
    ring.produced();
    return true;
  }

  private backendPathChanged(): void {
    const xs = this.env.xs;
    const dir = xs.read(`${this.dir}/backend`);
    const id = Number(xs.read(`${this.dir}/backend-id`) ?? NaN);
    if (dir === null || !Number.isInteger(id)) return;
    if (dir === this.backendDir && id === this.backendId) return;
    if (this.backendDir !== null) xs.unwatch(`${this.backendDir}/state`, `netfront:${this.handle}:be`);
    if (this.tx) this.disconnect();
    this.backendDir = dir;
    this.backendId = id;
    if (this.state !== XenbusStateInitialising) switchState(xs, this.dir, (this.state = XenbusStateInitialising));
    xs.watch(`${dir}/state`, `netfront:${this.handle}:be`, () => this.backendChanged());
  }

  /** netback_changed. */
  private backendChanged(): void {
    if (this.backendDir === null) return;
    const be = readState(this.env.xs, this.backendDir);
    switch (be) {
      case XenbusStateInitWait:
        if (this.state === XenbusStateInitialising) this.talkToNetback();
        break;
      case XenbusStateConnected:
        if (this.state === XenbusStateConnected && !this.carrier) this.carrierOn();
        break;
      case XenbusStateClosing:
      case XenbusStateClosed:
      case XenbusStateUnknown:
        if (this.tx) this.disconnect();
        // netback_changed → xenbus_frontend_closed before it ever connected (xl network-detach): Closed.
        else if (be === XenbusStateClosing && this.state !== XenbusStateClosed) switchState(this.env.xs, this.dir, (this.state = XenbusStateClosed));
        break;
    }
  }

  /** talk_to_netback + xennet_connect: both rings, the event channel, receive buffers, Connected. */
  private talkToNetback(): void {
    const env = this.env;
    const xs = env.xs;
    this.txPfn = env.allocPage();
    this.rxPfn = env.allocPage();
    sharedRingInit(env.page(this.txPfn));
    sharedRingInit(env.page(this.rxPfn));
    this.tx = new FrontRing(env.page(this.txPfn), NETIF_TX_SLOT_BYTES);
    this.rx = new FrontRing(env.page(this.rxPfn), NETIF_RX_SLOT_BYTES);
    this.txRef = env.grants.grantForeignAccess(this.backendId, env.grantFrame(this.txPfn), false);
    this.rxRef = env.grants.grantForeignAccess(this.backendId, env.grantFrame(this.rxPfn), false);
    this.port = env.evtchn.allocUnbound(this.backendId);
    if (this.txRef < 0 || this.rxRef < 0 || this.port < 0) throw new Error(`vif${this.handle}: cannot set up the rings (refs ${this.txRef}/${this.rxRef}, port ${this.port})`);
    env.evtchn.onPort(this.port, () => this.interrupt());
    // The receive buffers: one page per slot, kept across reconnections.
    while (this.rxBufs.length < NET_RX_RING_SIZE) this.rxBufs.push({ pfn: env.allocPage(), ref: -1 });
    // Flip when asked and the backend can; else grant copy (netfront's fallback).
    this.flippingNow = this.rxFlip && env.flip !== null && xs.read(`${this.backendDir}/feature-rx-flip`) === '1';
    // Copying into a buffer needs a frame behind it: a page left ballooned out by an earlier
    // flipping connection is replaced by a fresh page (it stays out, as Linux leaves it to its balloon).
    if (!this.flippingNow) {
      for (const b of this.rxBufs) {
        if (!this.unbacked.has(b.pfn)) continue;
        this.unbacked.delete(b.pfn);
        b.pfn = env.allocPage();
      }
    }
    if (this.rxFlip && !this.flippingNow) env.log(`netfront: vif${this.handle}: page flipping not available (backend feature-rx-flip ${xs.read(`${this.backendDir}/feature-rx-flip`) ?? 'absent'}${env.flip ? '' : ', this kernel cannot flip'}): receiving by grant copy`);
    for (let id = 0; id < NET_RX_RING_SIZE; id++) this.post(id);
    this.giveAway();
    this.rx.pushRequestsAndCheckNotify();
    xs.write(`${this.dir}/tx-ring-ref`, String(this.txRef));
    xs.write(`${this.dir}/rx-ring-ref`, String(this.rxRef));
    xs.write(`${this.dir}/event-channel`, String(this.port));
    xs.write(`${this.dir}/request-rx-copy`, this.flippingNow ? '0' : '1');
    xs.write(`${this.dir}/feature-rx-notify`, '1');
    xs.write(`${this.dir}/feature-sg`, '0');
    switchState(xs, this.dir, (this.state = XenbusStateConnected));
    env.log(`netfront: vif${this.handle}: tx-ring-ref ${this.txRef}, rx-ring-ref ${this.rxRef}, event-channel ${this.port}, backend ${this.backendDir}`);
    if (readState(xs, this.backendDir!) === XenbusStateConnected) this.carrierOn();
  }

  private carrierOn(): void {
    this.carrier = true;
    if (this.everConnected) {
      this.stats.reconnects++;
      if (this.disconnectedAt >= 0) this.stats.reconnectCycles.push(this.env.now() - this.disconnectedAt);
      this.env.log(`netfront: vif${this.handle}: reconnected to ${this.backendDir}`);
    } else this.env.log(`netfront: vif${this.handle}: carrier on (${this.backendDir})`);
    this.everConnected = true;
    this.disconnectedAt = -1;
  }

  /**
   * The backend is gone or closing: what is already on our rings is read (our own pages), every
   * frame still unanswered on the tx ring is lost and counted, the grants end, the rings go.
   */
  private disconnect(): void {
    const env = this.env;
    this.interrupt();
    const lost = [...this.txShadow.entries()].sort((a, b) => a[0] - b[0]);
    for (const [id, s] of lost) {
      this.endGrant(s.ref);
      this.txFreeIds.push(id);
      this.stats.txDropped++;
      this.drops.dropped++;
      s.done?.(-1);
    }
    this.txShadow.clear();
    for (const b of this.rxBufs) {
      if (b.ref >= 0 && this.flipping) {
        // A buffer no frame was transferred into stays without one (its page is ballooned out).
        const mfn = env.grants.endForeignTransfer(b.ref);
        env.grants.freeRef(b.ref);
        if (mfn > 0) this.adopt([{ pfn: b.pfn, mfn }]);
      } else if (b.ref >= 0) this.endGrant(b.ref);
      b.ref = -1;
    }
    if (this.port >= 0) env.evtchn.close(this.port);
    if (this.txRef >= 0) this.endGrant(this.txRef);
    if (this.rxRef >= 0) this.endGrant(this.rxRef);
    if (this.txPfn >= 0) env.freePage(this.txPfn);
    if (this.rxPfn >= 0) env.freePage(this.rxPfn);
    this.tx = this.rx = null;
    this.txPfn = this.rxPfn = this.txRef = this.rxRef = this.port = -1;
    this.carrier = false;
    if (this.disconnectedAt < 0) this.disconnectedAt = env.now();
    const was = this.state;
    switchState(env.xs, this.dir, (this.state = XenbusStateClosed));
    env.log(`netfront: vif${this.handle}: backend ${this.backendDir} went away (${stateName(was)} → Closed); ${lost.length} frames on the tx ring lost`);
  }

  /** xennet_remove: the toolstack deleted our directory (xl network-detach); watches end. */
  remove(): void {
    const xs = this.env.xs;
    xs.unwatch(`${this.dir}/backend`, `netfront:${this.handle}`);
    if (this.backendDir !== null) xs.unwatch(`${this.backendDir}/state`, `netfront:${this.handle}:be`);
    if (this.tx) this.disconnect();
    this.backendDir = null;
    this.env.log(`netfront: vif${this.handle}: removed`);
  }

  private endGrant(ref: number): void {
    if (this.env.grants.endForeignAccess(ref)) this.env.grants.freeRef(ref);
  }

  static readonly TX_RING_SIZE = NET_TX_RING_SIZE;
  static readonly RX_RING_SIZE = NET_RX_RING_SIZE;
}

/** A MAC address as text: "00:16:3e:…". */
export function macString(mac: Uint8Array): string {
  return [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function parseMac(s: string): Uint8Array {
  return Uint8Array.from(s.split(':').map((h) => parseInt(h, 16)));
}

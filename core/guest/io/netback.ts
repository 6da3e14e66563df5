/**
 * netback (after Linux drivers/net/xen-netback): the backend of one vif, in whichever domain owns
 * the NIC (dom0 or a driver domain), a port on that domain's bridge.
 *
 * Transmit (guest → wire): each tx request names a page the guest granted; netback grant-copies
 * the frame into a page of its own (GNTTABOP_copy, source the guest's gref, destination its own
 * frame), answers the request, and hands the frame to the bridge. When the frame must leave by the
 * NIC and the NIC's ring is full, netback stops taking requests until the NIC driver wakes it (the
 * lab has no TCP: this is the back-pressure a sender's window would give).
 *
 * Receive (wire → guest), "grant copy on receive as modern netback does" (request-rx-copy): a
 * frame from the bridge waits on the vif's internal queue until the guest has posted a buffer;
 * netback then copies it from its own page into the guest's granted page (GNTTABOP_copy, source
 * DOMID_SELF's frame, destination the guest's gref) and answers with its length. The queue holds
 * at most XENVIF_RX_QUEUE_BYTES (drivers/net/xen-netback/interface.c: half the rx ring's worth of
 * pages, 128 × 4096 bytes); a frame beyond that is dropped and counted (Linux stops the vif's queue
 * there and its qdisc then drops: the lab drops at the same point).
 *
 * Receive by page flipping (request-rx-copy=0, as Linux 2.6.18-xen's netback did before grant
 * copy replaced it): the guest posts grant refs that accept a transfer, having given the frames
 * behind its buffers back to Xen. netback gives the very frame the NIC wrote the frame into to the
 * guest (GNTTABOP_transfer), after pointing its own page at a fresh frame from its reservation
 * (update_va_mapping, the last one flushing the TLB, and MMU_MACHPHYS_UPDATE, in one multicall with
 * the transfers; XENMEM_increase_reservation when its spare frames run out). Nothing is copied;
 * every frame costs page-table and reservation work in both domains instead. A frame shared with
 * another port of the bridge cannot be given away and is copied into a page of its own first.
 * Only a PV backend can flip (feature-rx-flip=1); a translated one advertises 0.
 *
 * xenbus: features, then InitWait; when the frontend is Connected, map both rings, bind the event
 * channel, Connected. The vif is on the bridge from its creation (the vif-bridge hotplug script),
 * so a frame for a guest that is not connected reaches netback and is dropped and counted there. A
 * frontend that asks for neither copy nor flip (flip from a backend that cannot) is refused
 * ("frontend does not support rx-copy").
 */
import { DOMID_SELF } from '../../api/public/event_channel.js';
import { GNTCOPY_dest_gref, GNTCOPY_source_gref, GNTMAP_host_map, GNTST_okay, type GnttabCopyOp } from '../../api/public/grant_table.js';
import {
  NETIF_RSP_ERROR,
  NETIF_RSP_OKAY,
  NETIF_RX_SLOT_BYTES,
  NETIF_TX_SLOT_BYTES,
  NET_RX_RING_SIZE,
  readNetifRxRequest,
  readNetifTxRequest,
  writeNetifRxResponse,
  writeNetifTxResponse,
} from '../../api/public/io/netif.js';
import { BackRing } from '../../api/public/io/ring.js';
import {
  XenbusStateClosed,
  XenbusStateClosing,
  XenbusStateConnected,
  XenbusStateInitialised,
  XenbusStateInitWait,
  XenbusStateUnknown,
  type XenbusState,
} from '../../api/public/io/xenbus.js';
import { type Bridge, type BridgePort, type Skb, skbAlloc, skbBytes, skbFree } from './e1000.js';
import type { XenIoEnv } from './env.js';
import type { VifDrops } from './netfront.js';
import { readState, switchState } from './xenbus.js';

/** Bytes the vif's internal rx queue holds (XENVIF_RX_QUEUE_BYTES = XEN_NETIF_RX_RING_SIZE/2 × PAGE_SIZE). */
export const XENVIF_RX_QUEUE_BYTES = (NET_RX_RING_SIZE / 2) * 4096;
/** Copy ops batched into one GNTTABOP_copy (netback's rx batch: COPY_BATCH_SIZE 64, rx.c). */
export const NETBACK_COPY_BATCH = 64;

export interface NetbackCosts {
  /** xenvif_tx_build_gops + xenvif_tx_submit per frame: read and check the request, build the skb. */
  txFrame: number;
  /** xenvif_rx_action per frame: the copy op built, the response written. */
  rxFrame: number;
  /** A kernel memcpy of one 4 KiB page (a shared frame copied before it is flipped). */
  copyPage: number;
}

export interface NetbackStats {
  /** Frames taken from the guest's tx ring. */
  txFrames: number;
  /** Frames copied into the guest's rx buffers. */
  rxFrames: number;
  /** Frames toward the guest dropped here (queue full, no connection). */
  rxDropped: number;
  errors: number;
  notifies: number;
  grantMaps: number;
  grantUnmaps: number;
  /** Frames given to the guest by GNTTABOP_transfer (page flipping). */
  flips: number;
}

export class Netback implements BridgePort {
  state: XenbusState = XenbusStateUnknown;
  readonly stats: NetbackStats = { txFrames: 0, rxFrames: 0, rxDropped: 0, errors: 0, notifies: 0, grantMaps: 0, grantUnmaps: 0, flips: 0 };
  private tx: BackRing | null = null;
  private rx: BackRing | null = null;
  private txHandle = -1;
  private rxHandle = -1;
  /** Where the rings are mapped: grant pages of the kernel (xenbus_map_ring_valloc's addresses), -1 when not. */
  private txAddr = -1;
  private rxAddr = -1;
  private port = -1;
  private readonly rxQueue: Skb[] = [];
  private rxQueueBytes = 0;
  /** A frame the NIC could not take yet (its ring was full): tx stops until it goes. */
  private held: Skb | null = null;
  private closed = false;
  /** The frontend asked for page flipping (request-rx-copy=0). */
  private flipping = false;

  constructor(
    private readonly env: XenIoEnv,
    /** /local/domain/<be>/backend/vif/<fe>/<handle> */
    readonly dir: string,
    readonly frontendId: number,
    readonly frontendDir: string,
    private readonly bridge: Bridge,
    readonly mac: Uint8Array,
    /** The vif's drop counter (kept by the lab beyond this backend's life). */
    private readonly drops: VifDrops,
    private readonly costs: NetbackCosts,
  ) {}

  get connected(): boolean {
    return this.state === XenbusStateConnected && this.tx !== null;
  }

  /** netback_probe + the vif-bridge hotplug script: features, then InitWait. */
  start(): void {
    const xs = this.env.xs;
    xs.write(`${this.dir}/feature-sg`, '0');
    xs.write(`${this.dir}/feature-rx-copy`, '1');
    xs.write(`${this.dir}/feature-rx-flip`, this.env.flip ? '1' : '0');
    xs.write(`${this.dir}/feature-rx-notify`, '1');
    xs.write(`${this.dir}/hotplug-status`, 'connected');
    switchState(xs, this.dir, (this.state = XenbusStateInitWait));
    xs.watch(`${this.frontendDir}/state`, `netback:${this.dir}`, () => this.frontendChanged());
  }

  private frontendChanged(): void {
    if (this.closed) return;
    const fe = readState(this.env.xs, this.frontendDir);
    if ((fe === XenbusStateConnected || fe === XenbusStateInitialised) && this.state === XenbusStateInitWait) this.connect();
    else if (fe === XenbusStateClosing || fe === XenbusStateClosed || fe === XenbusStateUnknown) {
      if (this.tx) this.disconnect();
      // As blkback: the frontend Closed with online 0 (xl network-detach), or our node gone: the vif is removed.
      const online = this.env.xs.read(`${this.dir}/online`);
      if (online === null || (online === '0' && fe !== XenbusStateClosing)) return this.remove(online !== null);
      if (this.state === XenbusStateConnected || this.state === XenbusStateClosing) switchState(this.env.xs, this.dir, (this.state = XenbusStateInitWait));
    }
  }

  private fail(msg: string): void {
    this.env.log(`netback: ${this.dir}: ${msg}`);
    this.env.xs.write(`${this.dir}/error`, msg);
    switchState(this.env.xs, this.dir, (this.state = XenbusStateClosing));
  }

  /** connect + xenvif_connect_data: rings mapped, event channel bound, on the bridge. */
  private connect(): void {
    const env = this.env;
    const xs = env.xs;
    this.flipping = xs.read(`${this.frontendDir}/request-rx-copy`) !== '1';
    if (this.flipping && !this.env.flip) return this.fail('frontend does not support rx-copy');
    const txRef = Number(xs.read(`${this.frontendDir}/tx-ring-ref`));
    const rxRef = Number(xs.read(`${this.frontendDir}/rx-ring-ref`));
    const remotePort = Number(xs.read(`${this.frontendDir}/event-channel`));
    const txAddr = env.grantPages.alloc();
    const t = env.gnttab.mapGrantRef({ dom: this.frontendId, ref: txRef, flags: GNTMAP_host_map, hostAddr: txAddr });
    if (t.status !== GNTST_okay) {
      env.grantPages.free(txAddr);
      return this.fail(`mapping tx-ring-ref ${txRef} of domain ${this.frontendId} failed (${t.status})`);
    }
    this.stats.grantMaps++;
    const rxAddr = env.grantPages.alloc();
    const r = env.gnttab.mapGrantRef({ dom: this.frontendId, ref: rxRef, flags: GNTMAP_host_map, hostAddr: rxAddr });
    if (r.status !== GNTST_okay) {
      env.grantPages.free(rxAddr);
      this.unmapRing(t.handle, txAddr);
      return this.fail(`mapping rx-ring-ref ${rxRef} of domain ${this.frontendId} failed (${r.status})`);
    }
    this.stats.grantMaps++;
    const port = env.evtchn.bindInterdomain(this.frontendId, remotePort);
    if (port < 0) {
      this.unmapRing(t.handle, txAddr);
      this.unmapRing(r.handle, rxAddr);
      return this.fail(`binding event channel ${remotePort} failed (${port})`);
    }
    this.txHandle = t.handle;
    this.rxHandle = r.handle;
    this.txAddr = txAddr;
    this.rxAddr = rxAddr;
    this.port = port;
    // The rings are read and written through the mappings just made.
    this.tx = new BackRing(env.hostPage(txAddr), NETIF_TX_SLOT_BYTES);
    this.rx = new BackRing(env.hostPage(rxAddr), NETIF_RX_SLOT_BYTES);
    env.evtchn.onPort(port, () => this.interrupt());
    switchState(xs, this.dir, (this.state = XenbusStateConnected));
    env.log(`netback: ${this.dir}: connected to domain ${this.frontendId} (tx-ring-ref ${txRef}, rx-ring-ref ${rxRef}, port ${port})`);
    this.interrupt();
  }

  private disconnect(): void {
    const env = this.env;
    if (this.port >= 0) env.evtchn.close(this.port);
    if (this.txHandle >= 0) this.unmapRing(this.txHandle, this.txAddr);
    if (this.rxHandle >= 0) this.unmapRing(this.rxHandle, this.rxAddr);
    this.tx = this.rx = null;
    this.port = this.txHandle = this.rxHandle = this.txAddr = this.rxAddr = -1;
    this.dropQueue();
  }

  /** xenbus_unmap_ring_vfree: a ring's grant unmapped at its address, the page back to the pool. */
  private unmapRing(handle: number, addr: number): void {
    const rc = this.env.gnttab.unmapGrantRef({ handle, hostAddr: addr });
    this.stats.grantUnmaps++;
    if (rc === GNTST_okay) this.env.grantPages.free(addr);
    else this.env.log(`netback: ${this.dir}: unmapping a ring at 0x${addr.toString(16)} failed (GNTST ${rc}): its page is not reused`);
  }

  /** netback_remove: the vif leaves the bridge; Closed is published when our node is still there. */
  private remove(publish: boolean): void {
    this.env.xs.unwatch(`${this.frontendDir}/state`, `netback:${this.dir}`);
    this.shutdown();
    if (publish) switchState(this.env.xs, this.dir, (this.state = XenbusStateClosed));
    this.env.log(`netback: ${this.dir}: ${publish ? `frontend ${this.frontendId} closed and the vif is offline` : 'our node is gone'}: removed from the bridge`);
  }

  /** The domain is being torn down: queued frames are lost (counted), nothing more is answered. */
  shutdown(): void {
    this.closed = true;
    this.bridge.remove(this);
    this.dropQueue();
  }

  private dropQueue(): void {
    for (const skb of this.rxQueue) {
      this.dropRx();
      skbFree(this.env, skb);
    }
    this.rxQueue.length = 0;
    this.rxQueueBytes = 0;
    if (this.held) {
      // A frame the guest was told was sent, still waiting for the NIC: lost with us.
      this.drops.dropped++;
      skbFree(this.env, this.held);
      this.held = null;
    }
  }

  /** A frame for our guest lost elsewhere in this domain (the NIC driver's ring at teardown). */
  countDrop(): void {
    this.dropRx();
  }

  private dropRx(): void {
    this.stats.rxDropped++;
    this.drops.dropped++;
  }

  /** xenvif_start_xmit: a frame from the bridge for our guest. */
  deliver(skb: Skb): void {
    if (this.closed || !this.connected || this.rxQueueBytes + skb.len > XENVIF_RX_QUEUE_BYTES) {
      this.dropRx();
      skbFree(this.env, skb);
      return;
    }
    this.rxQueue.push(skb);
    this.rxQueueBytes += skb.len;
    this.rxAction();
  }

  /** The event channel: the guest posted tx requests or rx buffers. */
  private interrupt(): void {
    if (this.closed) return;
    this.txAction();
    this.rxAction();
  }

  /** xenvif_tx_action: requests off the tx ring, each copied into our page and answered, then bridged. */
  private txAction(): void {
    const ring = this.tx;
    if (!ring) return;
    const env = this.env;
    if (this.held) {
      if (!this.forward(this.held)) return this.waitForNic();
      this.held = null;
    }
    let answered = 0;
    do {
      while (ring.unconsumedRequests() > 0) {
        const req = readNetifTxRequest(ring.page, ring.slot(ring.reqCons));
        ring.consumed();
        this.stats.txFrames++;
        env.charge(this.costs.txFrame);
        let status = NETIF_RSP_ERROR;
        let skb: Skb | null = null;
        // Xen's and Linux's checks: the frame lies inside one page and is not empty.
        if (req.size > 0 && req.offset + req.size <= 4096) {
          skb = skbAlloc(env, null, req.size);
          const rc = env.gnttab.copy([
            { source: { ref: req.gref, domid: this.frontendId, offset: req.offset }, dest: { ref: env.grantFrame(skb.pfn), domid: DOMID_SELF, offset: 0 }, len: req.size, flags: GNTCOPY_source_gref },
          ])[0];
          if (rc === GNTST_okay) status = NETIF_RSP_OKAY;
          else {
            env.log(`netback: ${this.dir}: tx request ${req.id}: copy from grant ${req.gref} of domain ${this.frontendId} failed (GNTST ${rc})`);
            skbFree(env, skb);
            skb = null;
          }
        }
        if (status !== NETIF_RSP_OKAY) this.stats.errors++;
        writeNetifTxResponse(ring.page, ring.nextResponse(), { id: req.id, status });
        ring.produced();
        answered++;
        if (skb && !this.forward(skb)) {
          this.held = skb;
          this.waitForNic();
          break;
        }
      }
    } while (!this.held && ring.finalCheckForRequests());
    if (answered > 0 && ring.pushResponsesAndCheckNotify()) this.notify();
  }

  /** netif_wake_queue on the NIC calls us back (from its tx-clean, on this domain's vCPU). */
  private waitForNic(): void {
    this.bridge.onNicWake(() => {
      if (!this.closed) this.txAction();
    });
  }

  private forward(skb: Skb): boolean {
    return this.bridge.fromVif(this, skb);
  }

  /** xenvif_rx_action: queued frames into posted buffers, in batches of grant copies (or transfers). */
  private rxAction(): void {
    const ring = this.rx;
    if (!ring || this.rxQueue.length === 0) return;
    if (this.flipping) return this.rxFlip(ring);
    const env = this.env;
    let answered = 0;
    while (this.rxQueue.length > 0 && ring.unconsumedRequests() > 0) {
      const batch: { skb: Skb; id: number }[] = [];
      const ops: GnttabCopyOp[] = [];
      while (batch.length < NETBACK_COPY_BATCH && this.rxQueue.length > 0 && ring.unconsumedRequests() > 0) {
        const req = readNetifRxRequest(ring.page, ring.slot(ring.reqCons));
        ring.consumed();
        const skb = this.rxQueue.shift()!;
        this.rxQueueBytes -= skb.len;
        batch.push({ skb, id: req.id });
        ops.push({ source: { ref: env.grantFrame(skb.pfn), domid: DOMID_SELF, offset: 0 }, dest: { ref: req.gref, domid: this.frontendId, offset: 0 }, len: skb.len, flags: GNTCOPY_dest_gref });
      }
      const rcs = env.gnttab.copy(ops);
      batch.forEach(({ skb, id }, i) => {
        env.charge(this.costs.rxFrame);
        const ok = rcs[i] === GNTST_okay;
        if (ok) this.stats.rxFrames++;
        else {
          this.stats.errors++;
          this.dropRx();
        }
        writeNetifRxResponse(ring.page, ring.nextResponse(), { id, offset: 0, flags: 0, status: ok ? skb.len : NETIF_RSP_ERROR });
        ring.produced();
        answered++;
        skbFree(env, skb);
      });
    }
    // Out of buffers with frames waiting: ask to be told when the guest posts more.
    if (this.rxQueue.length > 0) ring.finalCheckForRequests();
    if (answered > 0 && ring.pushResponsesAndCheckNotify()) this.notify();
  }

  /** net_rx_action with flipping: each frame's own page frame transferred into a posted ref. */
  private rxFlip(ring: BackRing): void {
    const env = this.env;
    const flip = env.flip!;
    let answered = 0;
    while (this.rxQueue.length > 0 && ring.unconsumedRequests() > 0) {
      const batch: { skb: Skb; id: number }[] = [];
      const ops: { pfn: number; domid: number; ref: number }[] = [];
      while (batch.length < NETBACK_COPY_BATCH && this.rxQueue.length > 0 && ring.unconsumedRequests() > 0) {
        const req = readNetifRxRequest(ring.page, ring.slot(ring.reqCons));
        ring.consumed();
        let skb = this.rxQueue.shift()!;
        this.rxQueueBytes -= skb.len;
        if (skb.refs > 1) {
          // Shared with another port: its page cannot leave us, so the frame goes into a page of its own.
          const own = skbAlloc(env, skbBytes(env, skb), skb.len);
          env.charge((this.costs.copyPage * skb.len) / 4096);
          skbFree(env, skb);
          skb = own;
        }
        batch.push({ skb, id: req.id });
        ops.push({ pfn: skb.pfn, domid: this.frontendId, ref: req.gref });
      }
      const rcs = flip.transfer(ops);
      batch.forEach(({ skb, id }, i) => {
        env.charge(this.costs.rxFrame);
        const ok = rcs[i] === GNTST_okay;
        if (ok) {
          this.stats.rxFrames++;
          this.stats.flips++;
        } else {
          this.stats.errors++;
          this.dropRx();
        }
        writeNetifRxResponse(ring.page, ring.nextResponse(), { id, offset: 0, flags: 0, status: ok ? skb.len : NETIF_RSP_ERROR });
        ring.produced();
        answered++;
        // The page now has a fresh frame (the old one is the guest's): it goes back to our allocator.
        skbFree(env, skb);
      });
    }
    if (this.rxQueue.length > 0) ring.finalCheckForRequests();
    if (answered > 0 && ring.pushResponsesAndCheckNotify()) this.notify();
  }

  private notify(): void {
    this.stats.notifies++;
    this.env.evtchn.send(this.port);
  }
}

/**
 * blkfront (after Linux drivers/block/xen-blkfront.c): a guest's virtual disk. Requests go on a
 * shared ring in a page it grants to the backend; each data page is granted too (read-only for a
 * write: the backend only reads it); an event channel notifies the backend; responses come back on
 * the same ring.
 *
 * Connection follows the xenbus handshake: the frontend starts Initialising; when the backend is
 * InitWait it sets up the ring and event channel, writes ring-ref and event-channel and goes
 * Initialised; when the backend is Connected it reads the disk's size and goes Connected.
 *
 * When the backend goes away (its domain destroyed: its state node vanishes, or it closes), the
 * frontend keeps every request the backend did not answer (the shadow copies Linux keeps for
 * blkif_recover), and when the toolstack points it at a new backend it connects again and re-issues
 * them in order. Linux does exactly this on resume after migration; the lab does it whenever the
 * backend dies, which is what the seed means by "guests … have to be able to deal with a
 * disconnect/reconnect anyway (for migration)".
 */
import {
  BLK_RING_SIZE,
  BLKIF_MAX_SEGMENTS_PER_REQUEST,
  BLKIF_OP_FLUSH_DISKCACHE,
  BLKIF_OP_READ,
  BLKIF_OP_WRITE,
  BLKIF_RSP_OKAY,
  BLKIF_SLOT_BYTES,
  SECTORS_PER_PAGE,
  readBlkifResponse,
  writeBlkifRequest,
} from '../../api/public/io/blkif.js';
import { FrontRing, sharedRingInit } from '../../api/public/io/ring.js';
import {
  XenbusStateClosed,
  XenbusStateClosing,
  XenbusStateConnected,
  XenbusStateInitialised,
  XenbusStateInitialising,
  XenbusStateInitWait,
  XenbusStateUnknown,
  type XenbusState,
} from '../../api/public/io/xenbus.js';
import type { XenIoEnv } from './env.js';
import { readState, stateName, switchState } from './xenbus.js';

export type BlkOp = 'read' | 'write' | 'flush';

/** One I/O the block layer hands the driver. */
export interface BlkIo {
  readonly op: BlkOp;
  /** First 512-byte sector. */
  readonly sector: number;
  /** Whole pages of data (none for a flush), at most BLKIF_MAX_SEGMENTS_PER_REQUEST. */
  readonly pfns: readonly number[];
  /** Called once, when the backend's response arrives (status BLKIF_RSP_*). */
  readonly done: (status: number) => void;
}

interface Shadow {
  io: BlkIo;
  grefs: number[];
  /** With persistent grants: the pool pages the data went through, by segment. */
  pool?: PersistentGrant[];
}

/** A page of the persistent pool and the grant that lends it to the backend for as long as we are connected. */
interface PersistentGrant {
  pfn: number;
  ref: number;
}

/** The costs blkfront's work is charged at (the kernel's cost table). */
export interface BlkfrontCosts {
  /** blkif_queue_request: building one request and putting it on the ring. */
  request: number;
  /** Granting one page (a grant entry written) or ending a grant. */
  grant: number;
  /** Handling one response (ending its grants, completing the I/O). */
  complete: number;
  /** A kernel memcpy of one 4 KiB page (persistent grants: data into or out of a pool page). */
  copyPage?: number;
}

export interface BlkfrontStats {
  requests: number;
  responses: number;
  errors: number;
  reconnects: number;
  /** Time from each disconnection to the reconnection that followed, in cycles. */
  reconnectCycles: number[];
  /** Requests re-issued after a reconnection. */
  reissued: number;
  grantsIssued: number;
  /** Grants the frontend could not end because the backend still had them mapped. */
  grantsStillMapped: number;
  notifies: number;
  /** Pages copied into (writes) or out of (reads) persistently granted pages, and the cycles they cost. */
  copies: number;
  copyCycles: number;
}

export class Blkfront {
  state: XenbusState = XenbusStateInitialising;
  readonly stats: BlkfrontStats = { requests: 0, responses: 0, errors: 0, reconnects: 0, reconnectCycles: [], reissued: 0, grantsIssued: 0, grantsStillMapped: 0, notifies: 0, copies: 0, copyCycles: 0 };
  /** Both ends advertised `feature-persistent`: data goes through the persistent pool (decided at each connect). */
  usePersistent = false;
  /** Persistent grants not carrying a request now (Linux's rinfo->grants list). */
  private readonly freeGrants: PersistentGrant[] = [];
  /** Every persistent grant issued on this connection. */
  private readonly persistentGrants: PersistentGrant[] = [];
  /** Sectors of the disk, from the backend (0 until connected). */
  sectors = 0;
  /** I/Os waiting for the ring (or for a backend). */
  private readonly queue: BlkIo[] = [];
  private readonly shadow = new Map<number, Shadow>();
  private nextId = 0;
  private ring: FrontRing | null = null;
  private ringPfn = -1;
  private ringRef = -1;
  private port = -1;
  private backendDir: string | null = null;
  private backendId = -1;
  private disconnectedAt = -1;
  private everConnected = false;

  constructor(
    private readonly env: XenIoEnv,
    /** Our xenstore directory: /local/domain/<id>/device/vbd/<devid>. */
    readonly dir: string,
    readonly vdev: string,
    private readonly costs: BlkfrontCosts,
    /**
     * Advertise `feature-persistent` (blkif.h; Linux xen-blkfront's `feature_persistent` module
     * parameter): reuse a pool of pages granted once for the whole connection, copying each
     * request's data through them, instead of granting the request's own pages each time.
     */
    readonly persistent = false,
  ) {}

  /** blkfront_probe: Initialising, and watch the node naming our backend. */
  start(): void {
    switchState(this.env.xs, this.dir, XenbusStateInitialising);
    this.env.xs.watch(`${this.dir}/backend`, `blkfront:${this.vdev}`, () => this.backendPathChanged());
  }

  get inFlight(): number {
    return this.shadow.size;
  }
  get queued(): number {
    return this.queue.length;
  }
  get connected(): boolean {
    return this.state === XenbusStateConnected;
  }
  get backend(): { dir: string | null; domid: number } {
    return { dir: this.backendDir, domid: this.backendId };
  }

  /** Hands an I/O to the driver: it goes on the ring now if it can, else waits. */
  submit(io: BlkIo): void {
    if (io.pfns.length > BLKIF_MAX_SEGMENTS_PER_REQUEST) throw new RangeError(`a request holds at most ${BLKIF_MAX_SEGMENTS_PER_REQUEST} pages (got ${io.pfns.length})`);
    this.queue.push(io);
    this.kick();
  }

  /** do_blkif_request: as many queued I/Os as the ring has room for, then one notify if asked. */
  private kick(): void {
    const ring = this.ring;
    if (!ring || this.state !== XenbusStateConnected || this.queue.length === 0) return;
    let queued = 0;
    while (this.queue.length > 0 && !ring.full) {
      const io = this.queue.shift()!;
      const id = this.nextId++;
      const grefs: number[] = [];
      const pool = this.usePersistent ? io.pfns.map(() => this.getGrant()) : undefined;
      io.pfns.forEach((pfn, i) => {
        if (pool) {
          // blkif_setup_rw_req_grant: a write's data is copied into the persistent page first.
          if (io.op === 'write') this.copyPage(pfn, pool[i]!.pfn);
          grefs.push(pool[i]!.ref);
          return;
        }
        const ref = this.env.grants.grantForeignAccess(this.backendId, this.env.grantFrame(pfn), io.op === 'write');
        if (ref < 0) throw new Error(`${this.vdev}: grant table full`);
        grefs.push(ref);
        this.stats.grantsIssued++;
        this.env.charge(this.costs.grant);
      });
      writeBlkifRequest(this.ring!.page, ring.nextRequest(), {
        operation: io.op === 'read' ? BLKIF_OP_READ : io.op === 'write' ? BLKIF_OP_WRITE : BLKIF_OP_FLUSH_DISKCACHE,
        handle: 0,
        id,
        sector: io.sector,
        segs: grefs.map((gref) => ({ gref, firstSect: 0, lastSect: SECTORS_PER_PAGE - 1 })),
      });
      ring.produced();
      this.shadow.set(id, pool ? { io, grefs, pool } : { io, grefs });
      this.stats.requests++;
      this.env.charge(this.costs.request);
      queued++;
    }
    if (queued > 0 && ring.pushRequestsAndCheckNotify()) {
      this.stats.notifies++;
      this.env.evtchn.send(this.port);
    }
  }

  /** blkif_interrupt: every response on the ring, then ask to be told of the next. */
  private interrupt(): void {
    const ring = this.ring;
    if (!ring) return;
    do {
      while (ring.unconsumedResponses() > 0) {
        const r = readBlkifResponse(ring.page, ring.slot(ring.rspCons));
        ring.rspCons = (ring.rspCons + 1) >>> 0;
        const s = this.shadow.get(r.id);
        if (!s) continue; // a response to nothing we sent: Linux warns and drops it
        this.shadow.delete(r.id);
        if (s.pool) {
          // blkif_completion: a read's data is copied out of the persistent pages; they go back to the pool.
          if (s.io.op === 'read' && r.status === BLKIF_RSP_OKAY) s.pool.forEach((g, i) => this.copyPage(g.pfn, s.io.pfns[i]!));
          this.freeGrants.push(...s.pool);
        } else {
          for (const ref of s.grefs) {
            this.endGrant(ref);
            this.env.charge(this.costs.grant);
          }
        }
        this.stats.responses++;
        if (r.status !== BLKIF_RSP_OKAY) this.stats.errors++;
        this.env.charge(this.costs.complete);
        s.io.done(r.status);
      }
    } while (ring.finalCheckForResponses());
    this.kick();
  }

  /** The toolstack wrote (or rewrote) which backend serves us: watch that backend's state. */
  private backendPathChanged(): void {
    const xs = this.env.xs;
    const dir = xs.read(`${this.dir}/backend`);
    const id = Number(xs.read(`${this.dir}/backend-id`) ?? NaN);
    if (dir === null || !Number.isInteger(id)) return;
    if (dir === this.backendDir && id === this.backendId) return;
    if (this.backendDir !== null) xs.unwatch(`${this.backendDir}/state`, `blkfront:${this.vdev}:be`);
    if (this.ring) this.disconnect();
    this.backendDir = dir;
    this.backendId = id;
    if (this.state !== XenbusStateInitialising) switchState(xs, this.dir, (this.state = XenbusStateInitialising));
    xs.watch(`${dir}/state`, `blkfront:${this.vdev}:be`, () => this.backendChanged());
  }

  /** blkback_changed: the backend's state moved. */
  private backendChanged(): void {
    if (this.backendDir === null) return;
    const be = readState(this.env.xs, this.backendDir);
    switch (be) {
      case XenbusStateInitWait:
        if (this.state === XenbusStateInitialising) this.talkToBlkback();
        break;
      case XenbusStateConnected:
        if (this.state === XenbusStateInitialised) this.connect();
        break;
      case XenbusStateClosing:
      case XenbusStateClosed:
      case XenbusStateUnknown:
        // The backend is closing, or its domain is gone with its nodes.
        if (this.ring) this.disconnect();
        // blkfront_closing before it ever connected (xl block-detach of a disk still waiting): Closed.
        else if (be === XenbusStateClosing && this.state !== XenbusStateClosed) switchState(this.env.xs, this.dir, (this.state = XenbusStateClosed));
        break;
    }
  }

  /** talk_to_blkback: ring page, grant, event channel, then Initialised. */
  private talkToBlkback(): void {
    const env = this.env;
    this.ringPfn = env.allocPage();
    const page = env.page(this.ringPfn);
    sharedRingInit(page);
    this.ring = new FrontRing(page, BLKIF_SLOT_BYTES);
    this.ringRef = env.grants.grantForeignAccess(this.backendId, env.grantFrame(this.ringPfn), false);
    this.port = env.evtchn.allocUnbound(this.backendId);
    if (this.ringRef < 0 || this.port < 0) throw new Error(`${this.vdev}: cannot set up the ring (ref ${this.ringRef}, port ${this.port})`);
    env.evtchn.onPort(this.port, () => this.interrupt());
    const xs = env.xs;
    xs.write(`${this.dir}/ring-ref`, String(this.ringRef));
    xs.write(`${this.dir}/event-channel`, String(this.port));
    xs.write(`${this.dir}/protocol`, 'x86_64-abi');
    // talk_to_blkback: "feature-persistent" in our directory (blkif.h, frontend-side feature).
    xs.write(`${this.dir}/feature-persistent`, this.persistent ? '1' : '0');
    switchState(xs, this.dir, (this.state = XenbusStateInitialised));
    env.log(`blkfront: ${this.vdev}: ring-ref ${this.ringRef}, event-channel ${this.port}, backend ${this.backendDir}`);
    // The backend may already be Connected (it saw Initialised before our watch fired).
    if (readState(xs, this.backendDir!) === XenbusStateConnected) this.connect();
  }

  /** blkfront_connect: read the disk's size, go Connected, and re-issue what was not answered. */
  private connect(): void {
    const xs = this.env.xs;
    this.sectors = Number(xs.read(`${this.backendDir}/sectors`) ?? 0);
    // blkfront_gather_backend_features: persistent grants only when the backend offers them too.
    this.usePersistent = this.persistent && xs.read(`${this.backendDir}/feature-persistent`) === '1';
    switchState(xs, this.dir, (this.state = XenbusStateConnected));
    if (this.everConnected) {
      this.stats.reconnects++;
      if (this.disconnectedAt >= 0) this.stats.reconnectCycles.push(this.env.now() - this.disconnectedAt);
      this.env.log(`blkfront: ${this.vdev}: reconnected to ${this.backendDir}; re-issuing ${this.queue.length} requests`);
    } else {
      this.env.log(`blkfront: ${this.vdev}: connected, ${this.sectors} sectors (${(this.sectors / 2048).toFixed(0)} MiB)`);
    }
    this.everConnected = true;
    this.disconnectedAt = -1;
    this.kick();
  }

  /**
   * The backend is gone or closing: give up the ring and the port, and keep every unanswered
   * request (blkif_recover's shadow copies) to re-issue, in the order they were issued.
   */
  private disconnect(): void {
    const env = this.env;
    const pending = [...this.shadow.entries()].sort((a, b) => a[0] - b[0]);
    for (const [, s] of pending) if (!s.pool) for (const ref of s.grefs) this.endGrant(ref);
    this.shadow.clear();
    // blkif_free: every persistent grant ended and its page freed (a new connection grants afresh).
    for (const g of this.persistentGrants) {
      this.endGrant(g.ref);
      env.freePage(g.pfn);
    }
    this.persistentGrants.length = this.freeGrants.length = 0;
    this.queue.unshift(...pending.map(([, s]) => s.io));
    this.stats.reissued += pending.length;
    if (this.port >= 0) env.evtchn.close(this.port);
    if (this.ringRef >= 0) this.endGrant(this.ringRef);
    if (this.ringPfn >= 0) env.freePage(this.ringPfn);
    this.ring = null;
    this.ringPfn = this.ringRef = this.port = -1;
    if (this.disconnectedAt < 0) this.disconnectedAt = env.now();
    const was = this.state;
    switchState(env.xs, this.dir, (this.state = XenbusStateClosed));
    env.log(`blkfront: ${this.vdev}: backend ${this.backendDir} went away (${stateName(was)} → Closed); ${pending.length} requests kept to re-issue`);
  }

  /**
   * blkfront_remove: the toolstack deleted our directory (xl block-detach). Watches end; I/O the
   * backend never answered is never completed (the lab keeps no error path for it: a program
   * waiting on it waits for ever).
   */
  remove(): void {
    const xs = this.env.xs;
    xs.unwatch(`${this.dir}/backend`, `blkfront:${this.vdev}`);
    if (this.backendDir !== null) xs.unwatch(`${this.backendDir}/state`, `blkfront:${this.vdev}:be`);
    if (this.ring) this.disconnect();
    this.backendDir = null;
    this.env.log(`blkfront: ${this.vdev}: removed; ${this.queue.length} requests never completed`);
  }

  /** get_grant: a free persistent grant, or a fresh page granted read-write (the pool grows to what the ring holds). */
  private getGrant(): PersistentGrant {
    const free = this.freeGrants.pop();
    if (free) return free;
    const pfn = this.env.allocPage();
    const ref = this.env.grants.grantForeignAccess(this.backendId, this.env.grantFrame(pfn), false);
    if (ref < 0) throw new Error(`${this.vdev}: grant table full`);
    this.stats.grantsIssued++;
    this.env.charge(this.costs.grant);
    const g = { pfn, ref };
    this.persistentGrants.push(g);
    return g;
  }

  /** memcpy of one page between two of our pages, through the direct map. */
  private copyPage(from: number, to: number): void {
    const src = this.env.page(from);
    const dst = this.env.page(to);
    new Uint8Array(dst.buffer, dst.byteOffset, 4096).set(new Uint8Array(src.buffer, src.byteOffset, 4096));
    const c = this.costs.copyPage ?? 0;
    this.env.charge(c);
    this.stats.copies++;
    this.stats.copyCycles += c;
  }

  /**
   * gnttab_end_foreign_access: a grant the backend still has mapped cannot be ended; its ref is
   * then leaked (counted), as Linux defers it, rather than reused under the backend's feet.
   */
  private endGrant(ref: number): void {
    if (this.env.grants.endForeignAccess(ref)) this.env.grants.freeRef(ref);
    else this.stats.grantsStillMapped++;
  }

  /** The ring holds BLK_RING_SIZE requests. */
  static readonly RING_SIZE = BLK_RING_SIZE;
}

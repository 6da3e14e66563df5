/**
 * blkback (after Linux drivers/block/xen-blkback): the backend of one virtual disk, in whichever
 * domain owns the physical disk (dom0 or a driver domain). It maps the frontend's ring page, takes
 * requests off it, maps each request's granted pages for the device to DMA into (the zero-copy
 * path: the disk reads or writes the guest's own frames), hands the transfers to the disk's driver,
 * and answers on the ring when the disk is done.
 *
 * xenbus: the toolstack creates our directory; we publish the disk's features and size and go
 * InitWait; when the frontend is Initialised we map its ring, bind its event channel and go
 * Connected; when it closes we unmap and close.
 */
import { GNTMAP_device_map, GNTMAP_host_map, GNTMAP_readonly, GNTST_okay } from '../../api/public/grant_table.js';
import {
  BLKIF_MAX_SEGMENTS_PER_REQUEST,
  BLKIF_OP_DISCARD,
  BLKIF_OP_FLUSH_DISKCACHE,
  BLKIF_OP_INDIRECT,
  BLKIF_OP_READ,
  BLKIF_OP_WRITE,
  BLKIF_OP_WRITE_BARRIER,
  BLKIF_RSP_EOPNOTSUPP,
  BLKIF_RSP_ERROR,
  BLKIF_RSP_OKAY,
  BLKIF_SLOT_BYTES,
  SECTOR_BYTES,
  SECTORS_PER_PAGE,
  readBlkifRequest,
  writeBlkifResponse,
} from '../../api/public/io/blkif.js';
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
import type { XenIoEnv } from './env.js';
import { readState, switchState } from './xenbus.js';

/** One transfer for the disk's driver: bus addresses of whole or partial pages. */
export interface BlockTransfer {
  readonly op: 'read' | 'write' | 'flush';
  readonly sector: number;
  readonly segments: readonly { busAddr: number; bytes: number }[];
  readonly done: (ok: boolean) => void;
}

/** The physical disk's driver in the backend's kernel (nvme.ts). */
export interface BlockDriver {
  readonly sectors: number;
  readonly writeCache: boolean;
  submit(t: BlockTransfer): void;
}

export interface BlkbackCosts {
  /** dispatch_rw_block_io: checking one request and building its I/O. */
  request: number;
  /** Answering one request on the ring. */
  response: number;
}

/**
 * Linux xen-blkback's xen_blkif_max_pgrants (drivers/block/xen-blkback/blkback.c, module
 * parameter max_persistent_grants, default 1056): grants a backend keeps mapped persistently per
 * ring. Beyond it this blkback maps a grant for one request, as without the feature (Linux
 * instead purges the least recently used; a 32-slot ring of 11-segment requests needs only 352).
 */
export const BLKBACK_MAX_PERSISTENT_GRANTS = 1056;

export interface BlkbackStats {
  requests: number;
  /** Segments served through a grant already mapped persistently (no map, no unmap). */
  persistentHits: number;
  errors: number;
  grantMaps: number;
  grantUnmaps: number;
  notifies: number;
}

/** A request segment's grant mapping: its handle, bus address, and grant page (-1: a device mapping). */
interface SegmentMapping {
  handle: number;
  devBusAddr: number;
  hostAddr: number;
}

export class Blkback {
  state: XenbusState = XenbusStateUnknown;
  readonly stats: BlkbackStats = { requests: 0, persistentHits: 0, errors: 0, grantMaps: 0, grantUnmaps: 0, notifies: 0 };
  private ring: BackRing | null = null;
  private ringHandle = -1;
  /** Where the ring is mapped: a grant page of the kernel (xenbus_map_ring_valloc's address), -1 when not. */
  private ringAddr = -1;
  private port = -1;
  private inFlight = 0;
  private closed = false;
  /** Both ends advertised `feature-persistent` (decided at each connect_ring). */
  usePersistent = false;
  /** Grants mapped persistently on this connection (Linux's persistent_gnts tree): gref → mapping. */
  private readonly persistentGnts = new Map<number, SegmentMapping>();

  constructor(
    private readonly env: XenIoEnv,
    /** Our directory: /local/domain/<be>/backend/vbd/<fe>/<devid>. */
    readonly dir: string,
    readonly frontendId: number,
    readonly frontendDir: string,
    private readonly disk: BlockDriver,
    private readonly costs: BlkbackCosts,
    /**
     * Offer `feature-persistent` (blkif.h; Linux xen-blkback's `feature_persistent` module
     * parameter): a frontend that offers it too grants a fixed pool of pages once, and we keep
     * each mapped for the whole connection instead of mapping and unmapping per request.
     */
    readonly persistent = false,
  ) {}

  /** xen_blkbk_probe + the hotplug script's work: features, size, then InitWait. */
  start(): void {
    const xs = this.env.xs;
    xs.write(`${this.dir}/feature-flush-cache`, '1');
    xs.write(`${this.dir}/feature-barrier`, '0');
    xs.write(`${this.dir}/sectors`, String(this.disk.sectors));
    xs.write(`${this.dir}/sector-size`, String(SECTOR_BYTES));
    xs.write(`${this.dir}/info`, '0');
    switchState(xs, this.dir, (this.state = XenbusStateInitWait));
    xs.watch(`${this.frontendDir}/state`, `blkback:${this.dir}`, () => this.frontendChanged());
  }

  /** frontend_changed. */
  private frontendChanged(): void {
    if (this.closed) return;
    const fe = readState(this.env.xs, this.frontendDir);
    if ((fe === XenbusStateInitialised || fe === XenbusStateConnected) && this.state === XenbusStateInitWait) this.connectRing();
    else if (fe === XenbusStateClosing || fe === XenbusStateClosed || fe === XenbusStateUnknown) {
      if (this.ring) this.disconnect();
      // frontend_changed: the frontend Closed while the toolstack has set online to 0 (xl
      // block-detach), or our own node gone: device_unregister (xen_blkbk_remove).
      const online = this.env.xs.read(`${this.dir}/online`);
      if (online === null || (online === '0' && fe !== XenbusStateClosing)) return this.remove(online !== null);
      if (this.state === XenbusStateConnected || this.state === XenbusStateClosing) {
        switchState(this.env.xs, this.dir, (this.state = XenbusStateInitWait));
      }
    }
  }

  /** connect_ring: map the ring, bind the event channel, Connected. */
  private connectRing(): void {
    const env = this.env;
    const ref = Number(env.xs.read(`${this.frontendDir}/ring-ref`));
    const remotePort = Number(env.xs.read(`${this.frontendDir}/event-channel`));
    const addr = env.grantPages.alloc();
    const m = env.gnttab.mapGrantRef({ dom: this.frontendId, ref, flags: GNTMAP_host_map, hostAddr: addr });
    if (m.status !== GNTST_okay) {
      env.grantPages.free(addr);
      env.log(`blkback: ${this.dir}: mapping ring-ref ${ref} of domain ${this.frontendId} failed (${m.status})`);
      switchState(env.xs, this.dir, (this.state = XenbusStateClosing));
      return;
    }
    this.stats.grantMaps++;
    // xen_blkif_map: BACK_RING_ATTACH at the shared rsp_prod, so a ring the frontend hands over
    // again goes on where it stopped (requests already answered are not run twice); a ring
    // claiming more unanswered requests than it has slots is refused (-EIO).
    // The ring is read and written through the mapping just made.
    const ring = new BackRing(env.hostPage(addr), BLKIF_SLOT_BYTES);
    const rspProd = ring.rspProd;
    if ((ring.reqProd - rspProd) >>> 0 > ring.nrEnts) {
      this.unmapRing(m.handle, addr);
      env.log(`blkback: ${this.dir}: ring-ref ${ref} of domain ${this.frontendId} has req_prod ${ring.reqProd}, rsp_prod ${rspProd}: more requests than slots`);
      switchState(env.xs, this.dir, (this.state = XenbusStateClosing));
      return;
    }
    ring.reqCons = ring.rspProdPvt = rspProd;
    // connect_ring reads the frontend's feature-persistent; connect() publishes ours.
    this.usePersistent = this.persistent && env.xs.read(`${this.frontendDir}/feature-persistent`) === '1';
    env.xs.write(`${this.dir}/feature-persistent`, this.persistent ? '1' : '0');
    const port = env.evtchn.bindInterdomain(this.frontendId, remotePort);
    if (port < 0) {
      this.unmapRing(m.handle, addr);
      env.log(`blkback: ${this.dir}: binding event channel ${remotePort} failed (${port})`);
      switchState(env.xs, this.dir, (this.state = XenbusStateClosing));
      return;
    }
    this.ringHandle = m.handle;
    this.ringAddr = addr;
    this.port = port;
    this.ring = ring;
    env.evtchn.onPort(port, () => this.interrupt());
    switchState(env.xs, this.dir, (this.state = XenbusStateConnected));
    env.log(`blkback: ${this.dir}: connected to domain ${this.frontendId} (ring-ref ${ref}, port ${port})`);
    // Requests may have been published before we bound the port.
    this.interrupt();
  }

  private disconnect(): void {
    const env = this.env;
    if (this.port >= 0) env.evtchn.close(this.port);
    if (this.ringHandle >= 0) this.unmapRing(this.ringHandle, this.ringAddr);
    // xen_blkbk_free_caches / free_persistent_gnts: every persistent mapping goes with the ring.
    this.unmapAll([...this.persistentGnts.values()]);
    this.persistentGnts.clear();
    this.ring = null;
    this.port = this.ringHandle = this.ringAddr = -1;
  }

  /** xenbus_unmap_ring_vfree: the ring's grant unmapped at its address, the page back to the pool. */
  private unmapRing(handle: number, addr: number): void {
    const rc = this.env.gnttab.unmapGrantRef({ handle, hostAddr: addr });
    this.stats.grantUnmaps++;
    if (rc === GNTST_okay) this.env.grantPages.free(addr);
    else this.env.log(`blkback: ${this.dir}: unmapping the ring at 0x${addr.toString(16)} failed (GNTST ${rc}): its page is not reused`);
  }

  /** device_unregister: stop watching; publish Closed when our node is still there (libxl waits for it). */
  private remove(publish: boolean): void {
    this.closed = true;
    this.env.xs.unwatch(`${this.frontendDir}/state`, `blkback:${this.dir}`);
    if (publish) switchState(this.env.xs, this.dir, (this.state = XenbusStateClosed));
    this.env.log(`blkback: ${this.dir}: ${publish ? `frontend ${this.frontendId} closed and the device is offline` : 'our node is gone'}: removed`);
  }

  /** The domain is being torn down: nothing more is answered. */
  shutdown(): void {
    this.closed = true;
  }

  /** xen_blkif_schedule's work loop: every request on the ring (RING_FINAL_CHECK_FOR_REQUESTS). */
  private interrupt(): void {
    const ring = this.ring;
    if (!ring) return;
    do {
      while (ring.unconsumedRequests() > 0) {
        const req = readBlkifRequest(ring.page, ring.slot(ring.reqCons));
        ring.consumed();
        this.dispatch(req);
      }
    } while (ring.finalCheckForRequests());
  }

  private dispatch(req: ReturnType<typeof readBlkifRequest>): void {
    const env = this.env;
    this.stats.requests++;
    env.charge(this.costs.request);
    const op = req.operation;
    if (op === BLKIF_OP_FLUSH_DISKCACHE) {
      this.issue(req.id, op, { op: 'flush', sector: 0, segments: [] }, []);
      return;
    }
    if (op === BLKIF_OP_WRITE_BARRIER) return this.respond(req.id, op, BLKIF_RSP_EOPNOTSUPP);
    // __do_block_io_op: DISCARD and INDIRECT have dispatchers in Linux (this blkback advertises
    // neither feature, so they fail); any other operation goes to dispatch_other_io, EOPNOTSUPP.
    if (op === BLKIF_OP_DISCARD || op === BLKIF_OP_INDIRECT) return this.respond(req.id, op, BLKIF_RSP_ERROR);
    if (op !== BLKIF_OP_READ && op !== BLKIF_OP_WRITE) return this.respond(req.id, op, BLKIF_RSP_EOPNOTSUPP);
    // Xen's and Linux's checks: 1..11 segments, sectors within a page, inside the disk.
    if (req.nrSegments === 0 || req.nrSegments > BLKIF_MAX_SEGMENTS_PER_REQUEST) return this.respond(req.id, op, BLKIF_RSP_ERROR);
    let sectors = 0;
    for (const s of req.segs) {
      if (s.lastSect >= SECTORS_PER_PAGE || s.lastSect < s.firstSect) return this.respond(req.id, op, BLKIF_RSP_ERROR);
      sectors += s.lastSect - s.firstSect + 1;
    }
    if (req.sector + sectors > this.disk.sectors) return this.respond(req.id, op, BLKIF_RSP_ERROR);
    // Map every segment for the device: the disk DMAs straight into the guest's pages (blkback
    // itself never touches the data). A write needs only read access to them. A PV kernel maps
    // them for the device (GNTMAP_device_map, the bus address is the frame's); Xen refuses device
    // mappings to a translated (HVM, PVH) kernel ("No device mapping in HVM domain"), which maps
    // each at a grant page as Linux's blkback does (GNTMAP_host_map); its device reaches the page
    // at that guest-physical address through the IOMMU (dmaByGpa), or by the frame's machine
    // address when there is no IOMMU remapping.
    // With persistent grants (xen_blkbk_map with use_persistent_gnts): a grant already in the tree is
    // used as it is; a new one is mapped writable (the pool serves reads and writes alike) and kept
    // while there is room, else mapped for this request only.
    const hostMap = env.autoTranslated;
    const persistent = this.usePersistent;
    const flags = (hostMap ? GNTMAP_host_map : GNTMAP_device_map) | (op === BLKIF_OP_WRITE && !persistent ? GNTMAP_readonly : 0);
    const handles: SegmentMapping[] = [];
    const segments: { busAddr: number; bytes: number }[] = [];
    for (const s of req.segs) {
      const kept = persistent ? this.persistentGnts.get(s.gref) : undefined;
      if (kept) {
        this.stats.persistentHits++;
        const bus = hostMap && env.dmaByGpa ? kept.hostAddr : kept.devBusAddr;
        segments.push({ busAddr: bus + s.firstSect * SECTOR_BYTES, bytes: (s.lastSect - s.firstSect + 1) * SECTOR_BYTES });
        continue;
      }
      const hostAddr = hostMap ? env.grantPages.alloc() : -1;
      const m = env.gnttab.mapGrantRef({ dom: this.frontendId, ref: s.gref, flags, ...(hostMap ? { hostAddr } : {}) });
      if (m.status !== GNTST_okay) {
        if (hostMap) env.grantPages.free(hostAddr);
        this.unmapAll(handles);
        env.log(`blkback: ${this.dir}: request ${req.id}: grant ${s.gref} of domain ${this.frontendId} refused (GNTST ${m.status})`);
        return this.respond(req.id, op, BLKIF_RSP_ERROR);
      }
      this.stats.grantMaps++;
      const mapping = { handle: m.handle, devBusAddr: m.devBusAddr, hostAddr };
      if (persistent && this.persistentGnts.size < BLKBACK_MAX_PERSISTENT_GRANTS) this.persistentGnts.set(s.gref, mapping);
      else handles.push(mapping);
      const bus = hostMap && env.dmaByGpa ? hostAddr : m.devBusAddr;
      segments.push({ busAddr: bus + s.firstSect * SECTOR_BYTES, bytes: (s.lastSect - s.firstSect + 1) * SECTOR_BYTES });
    }
    this.issue(req.id, op, { op: op === BLKIF_OP_READ ? 'read' : 'write', sector: req.sector, segments }, handles);
  }

  private issue(id: number, op: number, t: Omit<BlockTransfer, 'done'>, handles: SegmentMapping[]): void {
    this.inFlight++;
    this.disk.submit({
      ...t,
      done: (ok) => {
        this.inFlight--;
        this.unmapAll(handles);
        if (this.closed) return;
        this.respond(id, op, ok ? BLKIF_RSP_OKAY : BLKIF_RSP_ERROR);
      },
    });
  }

  /**
   * Unmap: Xen undoes a device mapping only when given its dev_bus_addr, a host mapping only when
   * given its host_addr (whose grant page then goes back to the pool).
   */
  private unmapAll(handles: SegmentMapping[]): void {
    for (const h of handles) {
      if (h.hostAddr < 0) {
        this.env.gnttab.unmapGrantRef({ handle: h.handle, devBusAddr: h.devBusAddr });
      } else if (this.env.gnttab.unmapGrantRef({ handle: h.handle, hostAddr: h.hostAddr }) === GNTST_okay) {
        this.env.grantPages.free(h.hostAddr);
      }
      this.stats.grantUnmaps++;
    }
  }

  /** make_response: one response on the ring, pushed, the frontend notified if it asked. */
  private respond(id: number, op: number, status: number): void {
    const ring = this.ring;
    if (status !== BLKIF_RSP_OKAY) this.stats.errors++;
    if (!ring) return; // the frontend went away: it re-issues the request elsewhere
    this.env.charge(this.costs.response);
    writeBlkifResponse(ring.page, ring.nextResponse(), { id, operation: op, status });
    ring.produced();
    if (ring.pushResponsesAndCheckNotify()) {
      this.stats.notifies++;
      this.env.evtchn.send(this.port);
    }
  }
}

/**
 * The I/O half of a machine as the toolstack and the kernels set it up (libxl's device code, each
 * kernel's xenbus, netback/blkback probing): devices on the PCI bus with their owners' drivers,
 * xenstore with a connection per domain, and the split block drivers between guests and the
 * domains that serve their disks. vm/ is the one place that sees both the hypervisor and the
 * guests, so the wiring lives here; running it in time is core/sim's.
 *
 * Work a domain's kernel does in response to an event (an event channel upcall, a watch firing)
 * is posted to that domain and runs when the scheduler gives its vCPU time (`service`), so the
 * cycles are that domain's: a driver domain's blkback work is the driver domain's CPU time.
 */
import type { Scenario } from '../../api/scenario.js';
import type { DeviceResult } from '../../api/results.js';
import { canonicalBdf, defaultBdf, type DeviceConfig, type VdiskConfig, type VifConfig } from '../../api/ioScenario.js';
import { C } from '../../machine/counters.js';
import { EventQueue } from '../../machine/events.js';
import { NvmeDisk } from '../../machine/devices/disk.js';
import { E1000Nic } from '../../machine/devices/nic.js';
import { DirectDma } from '../../machine/devices/dma.js';
import { Msi } from '../../machine/devices/msi.js';
import { parseBdf, PciBus, type Bdf } from '../../machine/devices/pci.js';
import type { DmaPort } from '../../machine/devices/dma.js';
import type { IommuFaultRecord } from '../../hv/passthrough/iommu.js';
import type { Hypervisor } from '../../hv/hypervisor.js';
import { GrantHostMapper, hostMappingAt } from '../../hv/mm/grantHost.js';
import { GrantPages } from './grantPages.js';
import { GrantTableFrontend } from '../../guest/gnttab.js';
import { Blkback } from '../../guest/io/blkback.js';
import { Blkfront, type BlkIo } from '../../guest/io/blkfront.js';
import { attachKvmGuest, kvmGuestEnv } from './kvm/kvmIo.js';
import type { XenIoEnv, XenbusStore } from '../../guest/io/env.js';
import type { NvmeDriver } from '../../guest/io/nvme.js';
import { bindNvme } from './nvmeBind.js';
import { DirectBlock } from '../../guest/io/directBlock.js';
import { Bridge, E1000Driver, macEquals } from '../../guest/io/e1000.js';
import { Netback } from '../../guest/io/netback.js';
import { Netfront, macString, parseMac, type NetIface, type VifDrops } from '../../guest/io/netfront.js';
import { DirectNet, LocalPort } from '../../guest/io/directNet.js';
import { fnv1a32 } from '../../guest/io/hash.js';
import { GNTMAP_host_map, GNTMAP_readonly, GNTST_okay, gntstName } from '../../api/public/grant_table.js';
import { DOMID_SELF } from '../../api/public/event_channel.js';
import { NetPeer } from './netPeer.js';
import { pvPageFlip } from './pageFlip.js';
import { xvdDevid } from '../../guest/io/xenbus.js';
import { XsClient, XsError } from '../../guest/xenstore/client.js';
import { Xenstored, XENSTORED_REQUEST_CYCLES } from '../../guest/xenstore/xenstored.js';
import { xsPerms } from '../../guest/xenstore/tree.js';
import type { Vm } from '../vm.js';

/** What a guest's I/O workload records (results io are computed from it). */
export interface IoStats {
  requests: number;
  bytes: number;
  errors: number;
  flushes: number;
  /** Per completed request: cycles from submission to the guest's completion. */
  latencies: number[];
  acknowledgedWrites: number;
  /** What each 4 KiB page of the virtual disk must hold, by the last write the guest was told is done: page → FNV-1a. */
  expected: Map<number, number>;
  /** The machine disk the workload wrote to (its content check reads that one, even after the virtual disk is removed). */
  device?: string;
  /** Simulated time the workload started measuring and ended, in cycles (-1: not yet). */
  startedAt: number;
  endedAt: number;
  /** backend-snoop: what the backend tried and got (core/workloads/snoop.ts). */
  snoop?: { attempts: number; refused: number; snoopedPages: number; byStatus: Record<string, number>; backend: string };
}

/** What a backend got when it went after pages it was not given (VmIo.snoop). */
export interface SnoopReport {
  /** Who tried: "blkback in Domain-0", "qemu-system-x86_64 (pid 1201)". */
  backend: string;
  attempts: number;
  /** Attempts the hypervisor refused. */
  refused: number;
  /** By Xen status name (GNTST_*), or "read" for qemu's plain loads. */
  byStatus: Record<string, number>;
  /** Per page: the FNV-1a of the content the backend obtained, or null when it got nothing. */
  obtained: (number | null)[];
}

/** A domain's virtual NIC: its frontend, and the NIC and link partner its backend bridges it to. */
export interface VmVif {
  readonly index: number;
  readonly device: string;
  readonly backend: string;
  readonly mac: Uint8Array;
  /** netfront, or on bare metal the NIC driven directly (DirectNet). */
  readonly front: NetIface;
  /** Frames for or from this vif dropped anywhere (NIC, bridge, netback, netfront), across backends. */
  readonly drops: VifDrops;
  /** The machine at the other end of the NIC's cable. */
  readonly peer: NetPeer;
  /** Wakes the domain's blocked program (its end-of-test timer, when the peer finishes sending). */
  wake(): void;
}

export interface VmDisk {
  readonly vdev: string;
  readonly device: string;
  readonly backend: string;
  readonly front: Blkfront;
}

/** A domain's I/O: its driver environment, its virtual disks, what it serves and drives. */
export interface VmIo {
  readonly env: XenIoEnv;
  readonly disks: VmDisk[];
  readonly stats: IoStats;
  readonly backends: Blkback[];
  readonly drivers: Map<string, NvmeDriver>;
  /**
   * On bare metal: the disk its kernel drives itself (the native baseline of the split path);
   * under KVM: its virtio-blk disk (served by its qemu).
   */
  direct?: BlockFront;
  readonly vifs: VmVif[];
  readonly netbacks: Netback[];
  /** NIC id → its driver and the bridge on it, in this (owning) domain. */
  readonly nics: Map<string, { driver: E1000Driver; bridge: Bridge }>;
  /** Virtual disks and vifs removed while it ran (xl block-detach, network-detach): their counters stay in its results. */
  readonly retired: { disks: VmDisk[]; vifs: VmVif[] };
  /**
   * backend-snoop: this domain's backend goes after `pfns` (pages never given to it) and reports,
   * later, as its own work. Absent when no backend serves the domain.
   */
  snoop?: (pfns: readonly number[], done: (r: SnoopReport) => void) => void;
}

/** A disk as the guest's block layer submits to it: blkfront's, a directly driven one's, virtio-blk's. */
export interface BlockFront {
  readonly connected: boolean;
  readonly sectors: number;
  submit(io: BlkIo): void;
}

/** A domain's I/O before anything is attached: nothing recorded, no devices. */
function newVmIo(env: XenIoEnv): VmIo {
  return {
    env,
    disks: [],
    stats: { requests: 0, bytes: 0, errors: 0, flushes: 0, latencies: [], acknowledgedWrites: 0, expected: new Map(), startedAt: -1, endedAt: -1 },
    backends: [],
    drivers: new Map(),
    vifs: [],
    netbacks: [],
    nics: new Map(),
    retired: { disks: [], vifs: [] },
  };
}

/** The clock the simulation keeps: now, in cycles of the machine's CPU profile. */
export interface IoClock {
  now(): number;
}

/**
 * The grant reference backend-snoop starts from, counting down: the last entry of the
 * GRANT_FRAMES × 512 (v1, 8-byte entries) a guest sets up, where its drivers' refs never are.
 */
const SNOOP_TOP_REF = 4 * 512 - 1;

/** First pirq the lab gives devices' MSIs (Xen numbers MSI pirqs above the legacy IRQs). */
const FIRST_DEVICE_PIRQ = 48;
/** Grant-table frames each domain sets up (Linux asks for 4 at boot, then grows; 2048 entries). */
const GRANT_FRAMES = 4;

/**
 * Per-request costs of the split block path, in cycles on the modern profile's core (Linux's
 * paths; the lab has no measured breakdown, so these are estimates with their reasoning):
 *  - blkfront request: blk-mq dispatch, building one blkif request and its ring slot: ~1 µs;
 *  - a grant entry written or ended: a few stores and a barrier, ~100 cycles;
 *  - a response handled: end the request, wake the waiter, ~1 µs;
 *  - blkback request: copy and check the request, build and submit a bio: ~2 µs;
 *  - blkback response: the response slot and the push, ~0.3 µs;
 *  - NVMe command: an SQE and its doorbell (an uncached MMIO write, ~0.3 µs);
 *  - NVMe interrupt: the handler reading its completions and writing the CQ doorbell, ~1 µs.
 * The hypervisor's own parts (event channel sends, grant maps and unmaps, upcalls) are in the
 * cost table (core/machine/cost.ts) with their sources.
 */
export const IO_PATH_COSTS = {
  frontRequest: 3000,
  grant: 100,
  frontComplete: 3000,
  backRequest: 6000,
  backResponse: 1000,
  nvmeCommand: 1000,
  nvmeInterrupt: 3000,
} as const;

/**
 * Per-frame costs of the split network path, in cycles on the modern profile's core (Linux's
 * paths; estimates with their reasoning, as IO_PATH_COSTS). Grant copies (the data itself) and
 * event channel sends are the hypervisor's, charged from the cost table (core/machine/cost.ts).
 *  - netfront xmit: xennet_start_xmit building one tx request and pushing it, ~1 µs (like a
 *    blkfront request without the block layer: the socket's own work is not modelled);
 *  - netfront rx frame: xennet_poll building an skb around the buffer and netif_receive_skb into
 *    the guest's stack, plus reposting the buffer, ~1.5 µs;
 *  - netfront tx completion: xennet_tx_buf_gc freeing one skb, ~0.3 µs;
 *  - netback tx frame: xenvif_tx_build_gops + xenvif_tx_submit (request checked, skb built,
 *    netif_receive_skb into the bridge), ~2 µs, as blkback's request;
 *  - netback rx frame: xenvif_rx_action's copy op and response, ~1 µs (the copy is Xen's);
 *  - bridge: br_handle_frame, the fdb lookup and br_forward, ~0.5 µs per frame;
 *  - e1000 interrupt: entry and the ICR read (an uncached MMIO read, ~1 µs like NVMe's);
 *  - e1000 rx frame: one descriptor cleaned, the buffer handed up, a fresh one allocated, ~1 µs;
 *  - e1000 tx frame: one descriptor and the TDT doorbell (an uncached MMIO write, ~0.3 µs), ~0.6 µs;
 *  - e1000 tx clean: one written-back descriptor, its skb freed, ~0.2 µs.
 */
export const NET_PATH_COSTS = {
  frontXmit: 3000,
  frontRxFrame: 4500,
  frontTxComplete: 1000,
  backTxFrame: 6000,
  backRxFrame: 3000,
  bridgeForward: 1500,
  e1000Interrupt: 3000,
  e1000RxFrame: 3000,
  e1000TxFrame: 1800,
  e1000TxClean: 600,
} as const;

/** Xen's OUI (00:16:3e), the prefix libxl gives generated vif MACs. */
const XEN_OUI = [0x00, 0x16, 0x3e];

/** A vif's MAC: the configured one, or 00:16:3e + 24 bits of FNV-1a of "<domain>/<index>" (stable across re-creation). */
export function vifMac(domain: string, index: number, configured?: string): Uint8Array {
  if (configured !== undefined) return parseMac(configured.toLowerCase());
  const h = fnv1a32(Uint8Array.from(`${domain}/${index}`, (ch) => ch.charCodeAt(0) & 0xff));
  return Uint8Array.of(...XEN_OUI, (h >>> 16) & 0x7f, (h >>> 8) & 0xff, h & 0xff);
}

export class IoWorld {
  readonly queue = new EventQueue();
  readonly bus = new PciBus();
  readonly disks = new Map<string, NvmeDisk>();
  readonly nics = new Map<string, E1000Nic>();
  /** NIC id → the link partner plugged into it. */
  readonly peers = new Map<string, NetPeer>();
  readonly xenstored: Xenstored;
  /** Device id → the domain name that owns it (the scenario's pci, dom0 for the rest). */
  readonly owner = new Map<string, string>();
  /** Per domain, kernel work waiting for its vCPU, each with the simulated time it was caused. */
  private readonly work = new Map<number, { at: number; fn: () => void }[]>();
  private readonly handlers = new Map<number, Map<number, () => void>>();
  private readonly watchCbs = new Map<number, Map<string, (path: string) => void>>();
  private readonly pirqOf = new Map<string, number>();
  /** Device id → the event channel its pirq is bound to in its owner (closed when the device is detached). */
  private readonly pirqPort = new Map<string, number>();
  private readonly msiOf = new Map<string, Msi>();
  private readonly vms = new Map<number, Vm>();
  /** xenstored requests already charged to dom0. */
  private charged = 0;
  /** The toolstack's own connection to xenstored (libxl's, in dom0). */
  readonly dom0Xs: XsClient;
  /** The name of dom0 (the default backend). */
  readonly dom0Name: string;

  constructor(
    private readonly xen: Hypervisor,
    private readonly scenario: Scenario,
    private readonly clock: IoClock,
    dom0Name: string,
  ) {
    this.dom0Name = dom0Name;
    this.xenstored = new Xenstored({
      // The root is dom0's and readable by all, as the toolstack's own xenstore has it.
      rootPerms: xsPerms(0, 'r'),
      frame: (mfn) => xen.mem.frameForWrite(mfn),
      notify: (_domid, port) => {
        xen.evtchn.send(0, port);
      },
    });
    this.dom0Xs = this.xenstored.socketConnection(0);
    this.dom0Xs.onWatch = (path, token) => this.post(0, () => this.watchCbs.get(0)?.get(token)?.(path));
    xen.evtchn.onUpcall = (domid) => this.post(domid, () => this.upcall(domid));
    // Grant host mappings go into the mappers' page tables (PV) or p2m (HVM, PVH).
    if (xen.kind === 'xen') xen.gnttab.hostMapper = new GrantHostMapper(xen);
    const cyclesPerUs = xen.cpu.clockGHz * 1000;
    const devices: DeviceConfig[] = scenario.machine.devices ?? [];
    // Each device's DMA goes through the IOMMU (its port asks the unit per page; with the unit off
    // or no Xen, identity: bus address = machine address).
    const dmaFor = (bdf: string): DmaPort => (xen.iommu ? xen.iommu.hw.port(parseBdf(bdf)) : new DirectDma(xen.mem));
    devices.forEach((dv, i) => {
      const bdf = canonicalBdf(dv.bdf ?? defaultBdf(i))!;
      if (dv.kind === 'disk') {
        const msi = new Msi();
        const disk = new NvmeDisk({
          id: dv.id,
          bdf,
          sizeMiB: dv.sizeMiB ?? 512,
          writeCache: dv.writeCache ?? true,
          clock: { now: () => clock.now(), queue: this.queue, cyclesPerUs },
          dma: dmaFor(bdf),
          msi,
        });
        this.msiOf.set(dv.id, msi);
        this.bus.add(disk);
        this.disks.set(dv.id, disk);
        this.pirqOf.set(dv.id, FIRST_DEVICE_PIRQ + i);
      } else if (dv.kind === 'nic') {
        const msi = new Msi();
        const clk = { now: () => clock.now(), queue: this.queue, cyclesPerUs };
        const nic = new E1000Nic({ id: dv.id, bdf, clock: clk, dma: dmaFor(bdf), msi, linkMbps: dv.linkMbps ?? 1000 });
        this.msiOf.set(dv.id, msi);
        this.bus.add(nic);
        this.nics.set(dv.id, nic);
        this.pirqOf.set(dv.id, FIRST_DEVICE_PIRQ + i);
        this.peers.set(dv.id, new NetPeer(nic, clk));
      }
      this.owner.set(dv.id, dom0Name);
    });
    for (const d of scenario.domains) {
      for (const ref of d.pci ?? []) {
        const id = this.resolveDevice(ref);
        if (id !== undefined) this.owner.set(id, d.name);
      }
    }
  }

  /** A machine device by id or PCI address (short or long), as xl and a domain's pci name it. */
  resolveDevice(ref: string): string | undefined {
    if (this.disks.has(ref) || this.nics.has(ref)) return ref;
    const bdf = canonicalBdf(ref);
    for (const fn of this.bus.list()) if (bdf !== null && canonicalBdf(fnBdf(fn.bdf)) === bdf) return fn.id;
    return undefined;
  }

  /** Queues work for `domid`'s kernel; it runs when the domain's vCPU is next given time. */
  post(domid: number, fn: () => void): void {
    let q = this.work.get(domid);
    if (!q) this.work.set(domid, (q = []));
    q.push({ at: this.clock.now(), fn });
  }

  hasWork(domid: number): boolean {
    return (this.work.get(domid)?.length ?? 0) > 0;
  }

  /** Domains with work waiting, lowest domid first. */
  domainsWithWork(): number[] {
    return [...this.work.entries()].filter(([, q]) => q.length > 0).map(([d]) => d).sort((a, b) => a - b);
  }

  /**
   * Runs `vm`'s queued kernel work (the caller has put its vCPU on a pCPU). Before each item,
   * `startAt(at)` lets the caller move that pCPU's clock to the moment the item was caused: on
   * another pCPU, a producer may be ahead, and a consumer cannot handle what it has not yet been
   * sent. Returns how many items ran.
   */
  service(vm: Vm, startAt?: (at: number) => void): number {
    const q = this.work.get(vm.domid);
    let n = 0;
    while (q && q.length > 0) {
      const item = q.shift()!;
      startAt?.(item.at);
      item.fn();
      n++;
    }
    return n;
  }

  /** The upcall: the kernel's evtchn_do_upcall dispatching each pending port to its handler. */
  private upcall(domid: number): void {
    const hs = this.handlers.get(domid);
    for (const port of this.xen.evtchn.takePending(domid)) hs?.get(port)?.();
  }

  /** The hypervisor (KVM's host side reads it). */
  get hv(): Hypervisor {
    return this.xen;
  }

  now(): number {
    return this.clock.now();
  }

  /** A device's MSI (its owner's driver programs it). */
  deviceMsi(id: string): Msi {
    return this.msiOf.get(id)!;
  }

  /** The vector (Xen: the pirq) the lab gives a device's MSI. */
  deviceVector(id: string): number {
    return this.pirqOf.get(id)!;
  }

  /** A domain was built (at boot or by a timeline `create`): connect it, its devices and its disks. */
  attach(vm: Vm): void {
    this.vms.set(vm.domid, vm);
    if (this.xen.kind === 'kvm') {
      // No xenstore, grants or event channels: its devices are virtio functions of its qemu.
      const io = newVmIo(kvmGuestEnv(this, vm));
      vm.io = io;
      attachKvmGuest(this, vm, io);
      return;
    }
    // libxl__domain_make: the domain's home, its own (the toolstack writes more there when it runs).
    if (!vm.privileged && this.xen.kind === 'xen') this.mkdirWithPerms(`/local/domain/${vm.domid}`, xsPerms(vm.domid, 'n'));
    const env = this.envFor(vm);
    const io = newVmIo(env);
    vm.io = io;
    // Its config's pci devices that no live domain owns are its own (xl create of a driver domain;
    // at boot the scenario's pci already gave them to it).
    for (const ref of vm.config.pci ?? []) {
      const id = this.resolveDevice(ref);
      if (id !== undefined && this.assignable(id)) this.owner.set(id, vm.name);
    }
    // The devices it owns: assigned to its IOMMU domain (XEN_DOMCTL_assign_device), their drivers
    // in its kernel, their MSIs as pirqs bound to event channels. dom0 is the first built: devices
    // kept for a driver domain not built yet go to quarantine meanwhile (xl pci-assignable-add).
    for (const [id, owner] of this.owner) {
      if (vm.privileged && owner !== vm.name && this.xen.iommu) this.xen.iommu.quarantine(this.deviceBdf(id));
      if (owner !== vm.name) continue;
      this.iommuAssign(vm, id);
      const nic = this.nics.get(id);
      if (nic) this.bindNic(vm, io, nic);
      const disk = this.disks.get(id);
      if (!disk) continue;
      this.bindDisk(vm, io, disk);
    }
    // Its virtual disks (it is the frontend).
    for (const vd of vm.config.disks ?? []) this.addFrontend(vm, io, vd);
    (vm.config.vifs ?? []).forEach((vf, i) => this.addVif(vm, io, vf, i));
    // Disks it serves for live frontends (a re-created driver domain).
    this.serveWaiting(vm);
    if (io.disks.length > 0 || io.vifs.some((v) => v.backend !== vm.name)) io.snoop = (pfns, done) => this.xenSnoop(vm, pfns, done);
  }

  /**
   * backend-snoop under Xen: the backend serving `fe`'s first disk (or vif), as its own kernel
   * work, tries each page two ways a backend can name another domain's memory: a map of a grant
   * reference `fe` never gave it (from the top of `fe`'s table, where its drivers' refs are not),
   * and a copy naming `fe`'s frame directly instead of a reference. Xen answers each with a GNTST_*.
   */
  private xenSnoop(fe: Vm, pfns: readonly number[], done: (r: SnoopReport) => void): void {
    const feIo = fe.io!;
    const name = feIo.disks[0]?.backend ?? feIo.vifs.find((v) => v.backend !== fe.name)?.backend;
    const what = feIo.disks[0] ? 'blkback' : 'netback';
    const be = name !== undefined ? this.vmNamed(name) : undefined;
    if (!be?.io) {
      this.post(fe.domid, () => done({ backend: `${what} (no live backend)`, attempts: 0, refused: 0, byStatus: {}, obtained: pfns.map(() => null) }));
      return;
    }
    this.post(be.domid, () => {
      const env = be.io!.env;
      const byStatus: Record<string, number> = {};
      let attempts = 0;
      let refused = 0;
      const refuse = (status: number) => {
        refused++;
        const k = gntstName(status);
        byStatus[k] = (byStatus[k] ?? 0) + 1;
      };
      const hash = (v: DataView) => fnv1a32(new Uint8Array(v.buffer, v.byteOffset, 4096));
      const hostAddr = env.grantPages.alloc();
      const scratch = env.allocPage();
      const obtained = pfns.map((pfn, k) => {
        let got: number | null = null;
        attempts++;
        const m = env.gnttab.mapGrantRef({ dom: fe.domid, ref: SNOOP_TOP_REF - (k % SNOOP_TOP_REF), flags: GNTMAP_host_map | GNTMAP_readonly, hostAddr });
        if (m.status === GNTST_okay) {
          got = hash(env.hostPage(hostAddr));
          env.gnttab.unmapGrantRef({ handle: m.handle, hostAddr });
        } else refuse(m.status);
        attempts++;
        const [st] = env.gnttab.copy([{ source: { ref: pfn, domid: fe.domid, offset: 0 }, dest: { ref: env.grantFrame(scratch), domid: DOMID_SELF, offset: 0 }, len: 4096, flags: 0 }]);
        if (st === GNTST_okay) got = hash(env.page(scratch));
        else refuse(st!);
        return got;
      });
      env.grantPages.free(hostAddr);
      env.freePage(scratch);
      const report: SnoopReport = { backend: `${what} in ${be.name}`, attempts, refused, byStatus, obtained };
      this.post(fe.domid, () => done(report));
    });
  }

  /** Frontends of live domains whose backend is `be` (on `device`, or on any) get their backend connected. */
  serveWaiting(be: Vm, device?: string): void {
    for (const fe of this.vms.values()) {
      if (fe === be || !fe.io) continue;
      for (const d of fe.io.disks) if (d.backend === be.name && (device === undefined || d.device === device)) this.connectBackend(fe, d, be);
      for (const v of fe.io.vifs) if (v.backend === be.name && (device === undefined || v.device === device)) this.connectVifBackend(fe, v, be);
    }
  }

  /** A watch of the toolstack's own (libxl__ev_devstate_wait): its callback runs as dom0's work. */
  toolstackWatch(path: string, token: string, cb: (path: string) => void): void {
    this.watchCbs.get(0)?.set(token, cb);
    this.dom0Xs.watch(path, token);
  }

  toolstackUnwatch(path: string, token: string): void {
    this.watchCbs.get(0)?.delete(token);
    try {
      this.dom0Xs.unwatch(path, token);
    } catch (e) {
      if (!(e instanceof XsError)) throw e;
    }
  }

  /** xenstore-rm as the toolstack (libxl__xs_path_cleanup); a node already gone is no error. */
  toolstackRm(path: string): void {
    try {
      this.dom0Xs.rm(path);
    } catch (e) {
      if (!(e instanceof XsError)) throw e;
    }
  }

  /** A read as the toolstack; null when the node does not exist. */
  toolstackRead(path: string): string | null {
    try {
      return this.dom0Xs.read(path);
    } catch (e) {
      if (e instanceof XsError) return null;
      throw e;
    }
  }

  /** The live (attached, not destroyed) domains. */
  liveVms(): Vm[] {
    return [...this.vms.values()];
  }

  /** `vm` is attached and not destroyed. */
  isLive(vm: Vm): boolean {
    return this.vms.get(vm.domid) === vm;
  }

  /** The live domain named `name`. */
  vmNamed(name: string): Vm | undefined {
    for (const v of this.vms.values()) if (v.name === name) return v;
    return undefined;
  }

  /** A device no live domain owns (never given, detached, or its owner destroyed): xl pci-assignable-list's. */
  assignable(id: string): boolean {
    const o = this.owner.get(id);
    return o === undefined || this.vmNamed(o) === undefined;
  }

  /** xl pci-attach's work in the new owner: the owner map, its kernel's driver for the device (its MSI bound as a pirq). */
  bindDevice(vm: Vm, id: string): void {
    this.owner.set(id, vm.name);
    this.iommuAssign(vm, id);
    const nic = this.nics.get(id);
    if (nic) this.bindNic(vm, vm.io!, nic);
    const disk = this.disks.get(id);
    if (disk) this.bindDisk(vm, vm.io!, disk);
  }

  /**
   * xl pci-detach's work in the owner: its driver stops (frames inside its network path are lost
   * and counted against their vifs), the pirq's event channel is closed and its permission
   * revoked, the device is reset (FLR) and has no owner. Returns the frames lost.
   */
  unbindDevice(vm: Vm, id: string): number {
    const io = vm.io!;
    let lost = 0;
    const nic = io.nics.get(id);
    if (nic) {
      const frames = nic.driver.shutdown();
      for (const f of frames.rx) for (const p of nic.bridge.portsFor(f)) p.countDrop();
      for (const f of frames.tx) nic.bridge.ports.find((p) => macEquals(f, 6, p.mac))?.countDrop();
      lost = frames.rx.length + frames.tx.length;
      io.nics.delete(id);
      // The owner's own interface on that bridge goes with the NIC.
      for (let i = io.vifs.length - 1; i >= 0; i--) {
        const v = io.vifs[i]!;
        if (v.device !== id || v.backend !== vm.name) continue;
        io.retired.vifs.push(v);
        io.vifs.splice(i, 1);
      }
    }
    if (io.direct instanceof DirectBlock && io.direct.driver === io.drivers.get(id)) delete io.direct;
    io.drivers.delete(id);
    const port = this.pirqPort.get(id);
    if (port !== undefined && port >= 0) {
      this.handlers.get(vm.domid)?.delete(port);
      this.xen.evtchn.close(vm.domid, port);
    }
    this.pirqPort.delete(id);
    this.msiOf.get(id)!.handler = null;
    if (this.xen.kind !== 'none') this.xen.evtchn.permitPirq(vm.domid, this.pirqOf.get(id)!, false);
    (this.nics.get(id) ?? this.disks.get(id))!.reset();
    this.owner.delete(id);
    // deassign_device: to quarantine, so late DMA reaches neither this domain nor the next owner.
    this.xen.iommu?.deassignDevice(vm.dom, this.deviceBdf(id));
    return lost;
  }

  /**
   * A DMA port with device `id`'s requester id: what the device reaches when it is programmed to
   * read or write a bus address (through its owner's IOMMU table, or identity with the IOMMU off).
   * For workloads that program a device on purpose (rogue DMA) and for tests.
   */
  devicePort(id: string): DmaPort {
    const iommu = this.xen.iommu;
    return iommu ? iommu.hw.port(this.deviceBdf(id)) : new DirectDma(this.xen.mem);
  }

  /** A machine device's PCI address. */
  deviceBdf(id: string): Bdf {
    return (this.nics.get(id) ?? this.disks.get(id))!.bdf;
  }

  /** XEN_DOMCTL_assign_device for a device `vm` now owns (its DMA goes through `vm`'s IOMMU table). */
  private iommuAssign(vm: Vm, id: string): void {
    const iommu = this.xen.iommu;
    if (!iommu) return;
    const rc = iommu.assignDevice(vm.dom, this.deviceBdf(id));
    if (rc !== 0) vm.kernel.log.push(`pciback: ${fnBdf(this.deviceBdf(id))}: assign_device failed (${rc})`);
  }

  /**
   * The IOMMU as the results and the rogue-DMA checks read it: whether it is on, faults Xen logged,
   * the invalidations it issued, and the fault log (requester BDF, address, reason). Under bare
   * metal (no Xen driver) it reads as off with nothing logged.
   */
  iommuState(): { enabled: boolean; faults: number; iotlbFlushes: number; log: readonly IommuFaultRecord[] } {
    const i = this.xen.iommu;
    if (!i) return { enabled: false, faults: 0, iotlbFlushes: 0, log: [] };
    return { ...i.summary(), log: i.faultLog };
  }

  /** The NIC's driver in its owner's kernel, its MSI as a pirq bound to an event channel, and a bridge on it. */
  private bindNic(vm: Vm, io: VmIo, nic: E1000Nic): void {
    const pirq = this.pirqOf.get(nic.id)!;
    const native = this.xen.kind === 'none';
    nic.config.command |= 0x6; // Memory Space + Bus Master Enable
    const port = this.wireMsi(vm, nic.id, () => driver.interrupt());
    const c = NET_PATH_COSTS;
    const driver = new E1000Driver(io.env, { readReg: (o) => nic.readReg(o), writeReg: (o, v) => nic.writeReg(o, v) }, {
      interrupt: c.e1000Interrupt,
      rxFrame: c.e1000RxFrame,
      txFrame: c.e1000TxFrame,
      txClean: c.e1000TxClean,
    });
    if (native) {
      // Bare metal: the stack drives the NIC itself, the native baseline of the split path.
      const index = io.vifs.length;
      const mac = vifMac(vm.name, index);
      const drops: VifDrops = { dropped: 0 };
      const front = new DirectNet(io.env, driver, mac, drops, { xmit: c.frontXmit, rxFrame: c.frontRxFrame });
      const peer = this.peers.get(nic.id)!;
      peer.register(mac, drops);
      io.vifs.push({ index, device: nic.id, backend: vm.name, mac, front, drops, peer, wake: () => this.post(vm.domid, () => {}) });
      vm.kernel.log.push(`e1000 ${fnBdf(nic.bdf)}: ${nic.linkMbps} Mb/s, ${driver.count} rx/tx descriptors, MSI vector ${pirq}; eth${index} ${macString(mac)}`);
      return;
    }
    const bridge = new Bridge(io.env, driver, { forward: c.bridgeForward });
    this.handlers.get(vm.domid)!.set(port, driver.interrupt);
    io.nics.set(nic.id, { driver, bridge });
    // The owner's own interface on the bridge, when it has no vif of its own (dom0's eth0).
    if (!(vm.config.vifs?.length)) {
      const index = io.vifs.length;
      const mac = vifMac(vm.name, index);
      const drops: VifDrops = { dropped: 0 };
      const local = new LocalPort(io.env, bridge, mac, drops, { xmit: c.frontXmit, rxFrame: c.frontRxFrame });
      bridge.add(local);
      const peer = this.peers.get(nic.id)!;
      peer.register(mac, drops);
      io.vifs.push({ index, device: nic.id, backend: vm.name, mac, front: local, drops, peer, wake: () => this.post(vm.domid, () => {}) });
    }
    vm.kernel.log.push(`e1000 ${fnBdf(nic.bdf)}: ${nic.linkMbps} Mb/s, ${driver.count} rx/tx descriptors, MSI as pirq ${pirq} on event channel ${port}; bridge xenbr-${nic.id}`);
  }

  vifFrontDir(fe: Vm, index: number): string {
    return `/local/domain/${fe.domid}/device/vif/${index}`;
  }

  /** libxl_device_nic_add's frontend half: the directory, netfront probed, the backend connected if it is up. */
  addVif(fe: Vm, io: VmIo, vf: VifConfig, index: number): void {
    const backend = vf.backend ?? this.dom0Name;
    const dir = this.vifFrontDir(fe, index);
    const mac = vifMac(fe.name, index, vf.mac);
    this.mkdirWithPerms(dir, xsPerms(fe.domid, 'n'));
    this.dom0Xs.write(`${dir}/handle`, String(index));
    this.dom0Xs.write(`${dir}/mac`, macString(mac));
    const drops: VifDrops = { dropped: 0 };
    const c = NET_PATH_COSTS;
    const front = new Netfront(io.env, dir, index, mac, { xmit: c.frontXmit, rxFrame: c.frontRxFrame, txComplete: c.frontTxComplete, grant: IO_PATH_COSTS.grant }, drops, vf.rx === 'flip');
    const peer = this.peers.get(vf.device)!;
    peer.register(mac, drops);
    const vif: VmVif = { index, device: vf.device, backend, mac, front, drops, peer, wake: () => this.post(fe.domid, () => {}) };
    io.vifs.push(vif);
    this.post(fe.domid, () => front.start());
    const be = [...this.vms.values()].find((v) => v.name === backend);
    if (be) this.connectVifBackend(fe, vif, be);
  }

  /** libxl_device_nic_add's backend half: the backend directory, netback created on the NIC's bridge. */
  private connectVifBackend(fe: Vm, v: VmVif, be: Vm): void {
    const xs = this.dom0Xs;
    const fdir = this.vifFrontDir(fe, v.index);
    const bdir = `/local/domain/${be.domid}/backend/vif/${fe.domid}/${v.index}`;
    this.mkdirWithPerms(bdir, xsPerms(be.domid, 'n', [[fe.domid, 'r']]));
    xs.write(`${bdir}/frontend`, fdir);
    xs.write(`${bdir}/frontend-id`, String(fe.domid));
    xs.write(`${bdir}/handle`, String(v.index));
    xs.write(`${bdir}/mac`, macString(v.mac));
    xs.write(`${bdir}/bridge`, `xenbr-${v.device}`);
    xs.write(`${bdir}/script`, '/etc/xen/scripts/vif-bridge');
    xs.write(`${bdir}/type`, 'vif');
    xs.write(`${bdir}/online`, '1');
    xs.write(`${bdir}/state`, '1');
    this.setPermsTree(fdir, xsPerms(fe.domid, 'n', [[be.domid, 'r']]));
    xs.write(`${fdir}/backend-id`, String(be.domid));
    xs.write(`${fdir}/backend`, bdir);
    const nic = be.io!.nics.get(v.device);
    if (!nic) {
      be.kernel.log.push(`netback: ${bdir}: device ${v.device} has no driver in this domain`);
      return;
    }
    const c = NET_PATH_COSTS;
    const back = new Netback(be.io!.env, bdir, fe.domid, fdir, nic.bridge, v.mac, v.drops, { txFrame: c.backTxFrame, rxFrame: c.backRxFrame, copyPage: this.xen.costs.copyPage });
    be.io!.netbacks.push(back);
    // The vif-bridge hotplug script: the vif joins the bridge when it is created.
    nic.bridge.add(back);
    this.post(be.domid, () => back.start());
  }

  /**
   * A device's MSI, programmed with its pirq. Under Xen the MSI is a physical IRQ: Xen takes the
   * interrupt (do_IRQ, priced as an exception's delivery and return) and sends it to the owner's
   * event channel (returned). On bare metal the kernel takes it itself (-1).
   */
  private wireMsi(vm: Vm, id: string, interrupt: () => void): number {
    const pirq = this.pirqOf.get(id)!;
    const msi = this.msiOf.get(id)!;
    msi.program(0xfee00000, pirq);
    if (this.xen.kind === 'none') {
      msi.handler = () => {
        vm.counters.c[C.CycGuest] += this.xen.costs.faultTrap;
        this.post(vm.domid, interrupt);
      };
      return -1;
    }
    this.xen.evtchn.permitPirq(vm.domid, pirq, true);
    const port = this.xen.evtchn.bindPirq(vm.domid, pirq);
    this.pirqPort.set(id, port);
    msi.handler = () => {
      vm.counters.c[C.CycHv] += this.xen.costs.faultTrap;
      this.xen.evtchn.raisePirq(pirq);
    };
    return port;
  }

  private bindDisk(vm: Vm, io: VmIo, disk: NvmeDisk): void {
    const pirq = this.pirqOf.get(disk.id)!;
    const native = this.xen.kind === 'none';
    const port = this.wireMsi(vm, disk.id, () => driver.interrupt());
    const driver = bindNvme(io.env, disk, { command: IO_PATH_COSTS.nvmeCommand, interrupt: IO_PATH_COSTS.nvmeInterrupt });
    io.drivers.set(disk.id, driver);
    // The kernel's block layer on its own disk: bare metal, or a Xen domain that owns the disk by
    // passthrough (its DMA through its IOMMU table); the first disk it owns, as on bare metal.
    io.direct ??= new DirectBlock(io.env, driver, { request: IO_PATH_COSTS.frontRequest, complete: IO_PATH_COSTS.frontComplete });
    if (native) {
      vm.kernel.log.push(`nvme ${fnBdf(disk.bdf)}: ${disk.sizeMiB} MiB, volatile write cache ${disk.writeCache ? 'on' : 'off'}, MSI vector ${pirq}`);
    } else {
      this.handlers.get(vm.domid)!.set(port, driver.interrupt);
      vm.kernel.log.push(`nvme ${fnBdf(disk.bdf)}: ${disk.sizeMiB} MiB, volatile write cache ${disk.writeCache ? 'on' : 'off'}, MSI as pirq ${pirq} on event channel ${port}`);
    }
  }

  frontDir(fe: Vm, vd: { vdev: string }): string {
    return `/local/domain/${fe.domid}/device/vbd/${xvdDevid(vd.vdev)}`;
  }

  addFrontend(fe: Vm, io: VmIo, vd: VdiskConfig): void {
    const backend = vd.backend ?? this.dom0Name;
    const dir = this.frontDir(fe, vd);
    // libxl: the frontend's directory, owned by the guest (the backend gets read access below).
    this.mkdirWithPerms(dir, xsPerms(fe.domid, 'n'));
    this.dom0Xs.write(`${dir}/virtual-device`, String(xvdDevid(vd.vdev)));
    this.dom0Xs.write(`${dir}/device-type`, 'disk');
    const front = new Blkfront(fe.io!.env, dir, vd.vdev, { request: IO_PATH_COSTS.frontRequest, grant: IO_PATH_COSTS.grant, complete: IO_PATH_COSTS.frontComplete, copyPage: this.xen.costs.copyPage }, vd.persistent ?? false);
    const disk: VmDisk = { vdev: vd.vdev, device: vd.device, backend, front };
    io.disks.push(disk);
    this.post(fe.domid, () => front.start());
    const be = [...this.vms.values()].find((v) => v.name === backend);
    if (be) this.connectBackend(fe, disk, be);
  }

  /** libxl_device_disk_add's backend half: the backend's directory, the frontend pointed at it, blkback probed. */
  private connectBackend(fe: Vm, d: VmDisk, be: Vm): void {
    const xs = this.dom0Xs;
    const devid = xvdDevid(d.vdev);
    const fdir = this.frontDir(fe, d);
    const bdir = `/local/domain/${be.domid}/backend/vbd/${fe.domid}/${devid}`;
    // The backend's directory is the backend domain's, readable by the frontend; the frontend's
    // becomes readable by this backend (every node in it: xenstore permissions are per node).
    this.mkdirWithPerms(bdir, xsPerms(be.domid, 'n', [[fe.domid, 'r']]));
    xs.write(`${bdir}/frontend`, fdir);
    xs.write(`${bdir}/frontend-id`, String(fe.domid));
    xs.write(`${bdir}/dev`, d.vdev);
    xs.write(`${bdir}/params`, d.device);
    xs.write(`${bdir}/type`, 'phy');
    xs.write(`${bdir}/mode`, 'w');
    xs.write(`${bdir}/online`, '1');
    xs.write(`${bdir}/state`, '1');
    this.setPermsTree(fdir, xsPerms(fe.domid, 'n', [[be.domid, 'r']]));
    xs.write(`${fdir}/backend-id`, String(be.domid));
    xs.write(`${fdir}/backend`, bdir);
    const driver = be.io!.drivers.get(d.device);
    if (!driver) {
      be.kernel.log.push(`blkback: ${bdir}: device ${d.device} has no driver in this domain`);
      return;
    }
    const back = new Blkback(be.io!.env, bdir, fe.domid, fdir, driver, { request: IO_PATH_COSTS.backRequest, response: IO_PATH_COSTS.backResponse }, d.front.persistent);
    be.io!.backends.push(back);
    this.post(be.domid, () => back.start());
  }

  /**
   * A domain is being destroyed: its backends stop answering, the devices it drove are reset
   * (FLR: queues gone, bus mastering off) and wait for an owner, and xenstored forgets it and
   * libxl removes its directory (so its frontends' watches see their backend vanish). Call before
   * the hypervisor destroys it.
   */
  detach(vm: Vm): void {
    if (this.xen.kind === 'kvm') {
      this.work.delete(vm.domid);
      this.vms.delete(vm.domid);
      return;
    }
    const io = vm.io;
    if (io) for (const b of io.backends) b.shutdown();
    // Frames inside the dying domain's network path are lost; each is counted against its vif.
    if (io) {
      for (const { driver, bridge } of io.nics.values()) {
        const lost = driver.shutdown();
        for (const f of lost.rx) for (const p of bridge.portsFor(f)) p.countDrop();
        for (const f of lost.tx) bridge.ports.find((p) => macEquals(f, 6, p.mac))?.countDrop();
      }
      for (const nb of io.netbacks) nb.shutdown();
    }
    // libxl removes the dying domain's vifs from their backends: each netback serving it leaves its bridge.
    for (const other of this.vms.values()) {
      const nbs = other.io?.netbacks;
      if (!nbs || other === vm) continue;
      for (let i = nbs.length - 1; i >= 0; i--) {
        if (nbs[i]!.frontendId !== vm.domid) continue;
        nbs[i]!.shutdown();
        nbs.splice(i, 1);
      }
    }
    for (const [id, owner] of this.owner) {
      if (owner !== vm.name) continue;
      const nic = this.nics.get(id);
      if (nic) {
        nic.reset();
        this.msiOf.get(id)!.handler = null;
        this.xen.evtchn.permitPirq(vm.domid, this.pirqOf.get(id)!, false);
      }
      const disk = this.disks.get(id);
      if (!disk) continue;
      disk.reset();
      this.msiOf.get(id)!.handler = null;
      this.xen.evtchn.permitPirq(vm.domid, this.pirqOf.get(id)!, false);
    }
    this.xenstored.release(vm.domid);
    try {
      this.dom0Xs.rm(`/local/domain/${vm.domid}`);
    } catch (e) {
      if (!(e instanceof XsError)) throw e;
    }
    this.work.delete(vm.domid);
    this.handlers.delete(vm.domid);
    this.watchCbs.delete(vm.domid);
    this.vms.delete(vm.domid);
  }

  /** mkdir (parents too) and set the directory's permissions before anything is written under it. */
  private mkdirWithPerms(path: string, perms: ReturnType<typeof xsPerms>): void {
    this.dom0Xs.mkdir(path);
    this.dom0Xs.setPerms(path, perms);
  }

  /** Permissions on a node and everything under it. */
  private setPermsTree(path: string, perms: ReturnType<typeof xsPerms>): void {
    this.dom0Xs.setPerms(path, perms);
    for (const child of this.dom0Xs.directory(path)) this.setPermsTree(`${path}/${child}`, perms);
  }

  /** Charges dom0 for the ring requests its xenstored served since the last charge (the toolstack's own socket requests are setup work, not charged). */
  chargeXenstored(dom0: Vm): void {
    const n = this.xenstored.ringRequests - this.charged;
    if (n <= 0) return;
    this.charged = this.xenstored.ringRequests;
    dom0.counters.c[C.CycGuest] += n * XENSTORED_REQUEST_CYCLES;
  }

  private envFor(vm: Vm): XenIoEnv {
    const xen = this.xen;
    const domid = vm.domid;
    const d = vm.dom;
    this.handlers.set(domid, new Map());
    this.watchCbs.set(domid, new Map());
    const hs = this.handlers.get(domid)!;
    const native = xen.kind === 'none';
    const setup = native ? { frames: [] as number[] } : xen.gnttab.setupTable(domid, GRANT_FRAMES);
    const grants = new GrantTableFrontend(xen.mem, setup.frames, domid);
    const pv = vm.mode === 'pv';
    const mfnOf = (pfn: number) => d.p2m[pfn]!;
    // A translated domU's devices DMA by gfn through its IOMMU table (the lab's translated dom0
    // gets Xen's 1:1 hardware-domain table, so it keeps machine addresses).
    const dmaByGpa = (vm.mode === 'hap' || vm.mode === 'shadow') && !vm.privileged && xen.iommu?.enabled === true;
    let pages: GrantPages | undefined;
    const xs = domid === 0 || native ? this.dom0Xs : this.guestXs(vm, hs);
    const cbs = this.watchCbs.get(domid)!;
    const store: XenbusStore = {
      read: (path) => {
        try {
          return xs.read(path);
        } catch (e) {
          if (e instanceof XsError) return null;
          throw e;
        }
      },
      write: (path, value) => xs.write(path, value),
      rm: (path) => {
        try {
          xs.rm(path);
        } catch (e) {
          if (!(e instanceof XsError)) throw e;
        }
      },
      watch: (path, token, cb) => {
        cbs.set(token, cb);
        xs.watch(path, token);
      },
      unwatch: (path, token) => {
        cbs.delete(token);
        try {
          xs.unwatch(path, token);
        } catch (e) {
          if (!(e instanceof XsError)) throw e;
        }
      },
    };
    return {
      domid,
      home: `/local/domain/${domid}`,
      autoTranslated: vm.mode === 'hap' || vm.mode === 'shadow',
      evtchn: {
        allocUnbound: (remote) => xen.evtchn.allocUnbound(domid, domid, remote),
        bindInterdomain: (remote, port) => xen.evtchn.bindInterdomain(domid, remote, port),
        bindPirq: (pirq) => xen.evtchn.bindPirq(domid, pirq),
        send: (port) => xen.evtchn.send(domid, port),
        close: (port) => {
          hs.delete(port);
          return xen.evtchn.close(domid, port);
        },
        onPort: (port, handler) => {
          hs.set(port, handler);
        },
      },
      grants,
      gnttab: {
        mapGrantRef: (op) => xen.gnttab.mapGrantRef(domid, op),
        unmapGrantRef: (op) => xen.gnttab.unmapGrantRef(domid, op),
        copy: (ops) => xen.gnttab.copy(domid, ops),
      },
      xs: store,
      flip: pv && !native && xen.kind === 'xen' ? pvPageFlip(xen, d) : null,
      page: (pfn) => xen.mem.bytes(mfnOf(pfn)),
      mappedPage: (mfn) => xen.mem.bytes(mfn),
      grantPages: {
        alloc: () => (pages ??= new GrantPages(vm)).alloc(),
        free: (addr) => (pages ??= new GrantPages(vm)).free(addr),
      },
      hostPage: (addr) => {
        const m = hostMappingAt(xen, d, addr);
        if (!m) throw new Error(`${vm.name}: nothing is mapped at 0x${addr.toString(16)} (no grant host mapping there)`);
        return xen.mem.bytes(m.mfn);
      },
      busAddr: (pfn) => (dmaByGpa ? pfn : mfnOf(pfn)) * 4096,
      dmaByGpa,
      grantFrame: (pfn) => (pv ? mfnOf(pfn) : pfn),
      allocPage: () => vm.kernel.allocPage(true),
      freePage: (pfn) => vm.kernel.freePage(pfn),
      charge: (cycles) => {
        vm.counters.c[C.CycGuest] += cycles;
      },
      now: () => this.clock.now(),
      log: (line) => {
        vm.kernel.log.push(line);
      },
    };
  }

  /**
   * A guest's xenstore connection: its store page and event channel, introduced to xenstored by
   * the toolstack. A request is written to the ring and the event channel kicked; xenstored (in
   * dom0) serves the ring there and then, so the reply is on the ring when the kick returns, as a
   * blocking xs_talkv sees it; its cost is dom0's. Watch events arrive on the ring with a notify.
   */
  private guestXs(vm: Vm, hs: Map<number, () => void>): XsClient {
    const xen = this.xen;
    const domid = vm.domid;
    const pfn = vm.kernel.allocPage(true);
    const mfn = vm.dom.p2m[pfn]!;
    const guestPort = xen.evtchn.allocUnbound(0, domid, 0);
    const dom0Port = xen.evtchn.bindInterdomain(0, domid, guestPort);
    this.handlers.get(0)?.set(dom0Port, () => this.xenstored.serviceRing(domid));
    const r = this.xenstored.introduce(domid, mfn, dom0Port);
    if (!r.ok) throw new Error(`xenstored: INTRODUCE of domain ${domid} failed (${r.errno})`);
    const client = XsClient.overRing(xen.mem.frameForWrite(mfn), () => {
      xen.evtchn.send(domid, guestPort);
      this.xenstored.serviceRing(domid);
    });
    const cbs = this.watchCbs.get(domid)!;
    client.onWatch = (path, token) => cbs.get(token)?.(path);
    hs.set(guestPort, () => client.poll());
    return client;
  }

  /** Each device's owner and counters (results `devices`): the disks, then the NICs. */
  deviceResults(): DeviceResult[] {
    const live = (name: string | undefined) => name !== undefined && [...this.vms.values()].some((v) => v.name === name);
    return [...this.disks.values(), ...this.nics.values()].map((d) => {
      const owner = this.owner.get(d.id);
      return { id: d.id, kind: d.kind, bdf: fnBdf(d.bdf), owner: live(owner) ? owner! : null, stats: { ...d.stats } as Record<string, number> };
    });
  }

  /** The device a domain's virtual disk is backed by. */
  diskOf(d: VmDisk): NvmeDisk | undefined {
    return this.disks.get(d.device);
  }
}

/** A PCI function's address as xl prints it: ssss:bb:dd.f. */
export function fnBdf(b: { seg: number; bus: number; dev: number; fn: number }): string {
  const h = (n: number, w: number) => n.toString(16).padStart(w, '0');
  return `${h(b.seg, 4)}:${h(b.bus, 2)}:${h(b.dev, 2)}.${b.fn}`;
}

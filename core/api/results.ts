/**
 * The results document (DESIGN.md §6). Field names here are a contract: graders, the app and saved
 * runs rely on them. More fields are welcome; these names do not change.
 */
import type { PagingMode } from './scenario.js';

export interface DomainResults {
  name: string;
  domid: number;
  role: 'dom0' | 'guest';
  mode: PagingMode;
  workload: string;
  guestPageSize: string;
  hostPageSize: string;
  ops: number;
  cycles: { total: number; guest: number; hypervisor: number; walk: number; perOp: number };
  /** The same in microseconds at the CPU profile's clock. */
  timeUs: { total: number; guest: number; hypervisor: number; perOp: number };
  tlb: { lookups: number; hits: number; misses: number; missRate: number };
  walk: {
    walks: number;
    refs: number;
    refsPerWalk: number;
    maxRefs: number;
    refsCached: number;
    refsMemory: number;
    pscHits: number;
    nestedTlbHits: number;
    /** histogram[n] = number of walks that took n references. */
    histogram: number[];
  };
  vmexits: { total: number; byReason: Record<string, number> };
  hypercalls: { total: number; byOp: Record<string, number> };
  ptUpdates: number;
  pageFaults: { guest: number; hidden: number };
  /** Counters that explain the cycles (validated entries, emulated writes, resyncs …). */
  counters: Record<string, number>;
  /** `hypercalls` workload: one result per script step ("0", "-EINVAL", "#PF" …). */
  calls?: { op: string; rc: string; calls?: { op: string; rc: string }[] }[];
  /** A scenario with devices: the domain's I/O (core/sim/ioResults.ts). */
  io?: IoResults;
  /**
   * A scenario with devices: the content check of the domain's memory (core/vm/integrity.ts):
   * pages that stayed free in its kernel the whole run, and how many of them changed.
   */
  integrity?: { framesChecked: number; framesCorrupted: number };
  /** Pages Xen was asked to move (timeline relocate, xl debug-relocate): requested, moved, refused. */
  relocation?: { requested: number; moved: number; refused: number };
  /**
   * A scenario with a migrationTarget: the host the domain's results come from ('target' after a
   * live migration moved it there; its counters go on from the source's).
   */
  host?: 'source' | 'target';
  /** A live migration of this domain (timeline migrate, xl migrate): its rounds and downtime. */
  migration?: MigrationResults;
  /** Under `kvm`: the guest's qemu process and what KVM did for it in the host (core/hv/kvm/). */
  kvm?: KvmResults;
  /**
   * Ballooning (only for a domain whose memory/target moved): the target and what the guest has
   * now, in MiB (256 pages to the MiB), the pages its balloon driver gave to Xen and took back,
   * and the hypercalls it made for them.
   */
  balloon?: BalloonResult;
}

/** One pre-copy round of a live migration (the last is the stop-and-copy, with the domain paused). */
export interface MigrationRound {
  /** Pages sent this round. */
  pages: number;
  /** Simulated milliseconds the round's stream took on the link. */
  ms: number;
  /** The stream's rate over the round (Mbit/s: stream bytes × 8 / round time). */
  mbps: number;
  /**
   * How fast the guest dirtied memory while the round was sent (Mbit/s of pages: pages dirtied
   * during the round × 4096 × 8 / round time); 0 for the stop-and-copy (the guest is paused).
   */
  dirtyRate: number;
}

export interface MigrationResults {
  /** Rounds, the stop-and-copy included. */
  rounds: number;
  pagesSent: number;
  /** From the migrate request to the domain running on the target (simulated ms). */
  totalMs: number;
  /** The domain paused: the stop-and-copy's stream (remaining pages and vCPU state). */
  downtimeMs: number;
  perRound: MigrationRound[];
  /** Bytes on the link (page data, pfn lists, record headers, vCPU state). */
  bytesSent: number;
  /** Write faults the source's log-dirty mode took in the guest (shadow #PF or EPT violations). */
  logDirtyFaults: number;
  /** Why pre-copy stopped (the policy's reason). */
  stopReason: string;
  /** Domain id on the source host, and on the target. */
  fromDomid: number;
  toDomid: number;
}

export interface KvmResults {
  /** The qemu-system-x86_64 process whose memory is the guest's RAM. */
  qemuPid: number;
  cmdline: string;
  /** Pages of guest RAM resident in qemu (host page-table leaves present), in 4 KiB pages. */
  rssPages: number;
  /** The memory slot (struct kvm_memory_slot): base_gfn, npages, userspace_addr. */
  memslot: { baseGfn: number; npages: number; userspaceAddr: number };
  /** kvm_faultin_pfn calls (one per EPT violation, or per shadow entry built). */
  faultins: number;
  /** Of which get_user_pages had to fault the page into qemu first (handle_mm_fault). */
  hostPageFaults: number;
  /** Host page-table entries KVM read for them. */
  hostWalkRefs: number;
  /** Cycles in the host kernel for them (included in cycles.hypervisor: KVM is part of the host kernel). */
  hostCycles: number;
  /** The virtio path on the host's side (all of it included in cycles.hypervisor, split here). */
  io: {
    /** Queue notifies that exited (IO_INSTRUCTION) and were turned into an ioeventfd signal by KVM. */
    notifies: number;
    /** Completions injected into the guest through an irqfd. */
    irqfdInjections: number;
    /** Interrupts the host's own device drivers took for this guest's I/O. */
    hostInterrupts: number;
    /** Host context switches: qemu's I/O thread (or the vhost worker) woken. */
    hostContextSwitches: number;
    /** System calls qemu made on the guest's behalf (preadv/pwritev/fdatasync, tap read/writev). */
    syscalls: number;
    /** Data copies between guest buffers and host buffers (qemu or vhost). */
    copies: number;
    /** Pages of guest RAM qemu itself touched first (its own page faults). */
    qemuPageFaults: number;
    /** Cycles in KVM (exits, ioeventfd, irqfd), the host kernel (syscalls, block layer, drivers, tap, vhost), qemu (device emulation). */
    kvmCycles: number;
    hostKernelCycles: number;
    qemuCycles: number;
  };
}

export interface TimelineRecord {
  /** When the scenario asked for it (-1 for the lab's own records). */
  atMs: number;
  /** When it ran: the first moment the simulation reached that time. */
  firedAtMs: number;
  do: string;
  domain: string;
  ok: boolean;
  message: string;
}

export interface IoResults {
  requests: number;
  bytes: number;
  /** Megabytes (10^6 bytes) per simulated second, from the first request to the last completion. */
  throughputMBps: number;
  latencyUs: { p50: number; p99: number; max: number };
  acknowledgedWrites: number;
  /** Acknowledged writes whose data is not on the disk's durable media at the end (checked by content). */
  lostWrites: number;
  /** Pages whose last acknowledged write sits only in the disk's volatile write cache at the end. */
  volatileWrites: number;
  errors: number;
  flushes: number;
  /** Frames for or from this domain's vifs lost anywhere on the path (NIC, bridge, netback, netfront), counted where each was lost. */
  packetsDropped: number;
  reconnects: number;
  /** Time from each backend's death to the reconnection that followed. */
  reconnectMs: number[];
  /** Requests the frontend re-issued after reconnecting (unanswered when the backend died). */
  reissued: number;
  grantOps: { map: number; unmap: number; copy: number };
  evtchnSends: number;
  /** What this domain served as a backend: block requests answered plus frames netback moved (tx and rx). */
  served: number;
  /** How this domain's share of the I/O reached its pages: Xen's two answers for grants under an IOMMU, and what each cost. */
  dmaCost: DmaCost;
  /** backend-snoop: the backend's attempts on pages it was never given, and how many the hypervisor refused. */
  refused?: number;
  /** backend-snoop: pages whose secret content the backend obtained all the same. */
  snoopedPages?: number;
  /** backend-snoop: who tried, how often, and each answer (GNTST_* under Xen, "read" for qemu). */
  snoop?: { backend: string; attempts: number; byStatus: Record<string, number> };
}

/**
 * The cost of getting a device's DMA to granted pages, for one domain (cycles from the cost table).
 * Grant map (blkback without persistent grants): Xen adds an IOMMU entry on each grant map and
 * removes it, with an IOTLB invalidation, on the unmap (gnttab_need_iommu_mapping). Copy: the data
 * goes through pages already in the table, by GNTTABOP_copy (netback) or by the frontend's memcpy
 * into persistently granted pages (blkfront with `feature-persistent`).
 */
export interface DmaCost {
  /** Entries Xen wrote into and cleared from this domain's IOMMU table during the run, and the IOTLB invalidations that went with them. */
  iommuMaps: number;
  iommuUnmaps: number;
  iotlbFlushes: number;
  /** iommuMaps × iommuMap + iommuUnmaps × iommuUnmap + iotlbFlushes × iotlbFlush. */
  iommuCycles: number;
  /** Bytes copied: GNTTABOP_copy's bytes plus 4 KiB per page blkfront copied through a persistent grant. */
  copyBytes: number;
  /** GNTTABOP_copy (grantCopyBase per copy plus grantCopyPerKiB per KiB) plus blkfront's page copies (copyPage each). */
  copyCycles: number;
  /** The same per request this domain made or served (requests when it made any, else served; 0 when neither). */
  perRequest: { iommuCycles: number; copyCycles: number };
}

/** A device on the PCI bus after the run (results `devices`). */
export interface DeviceResult {
  id: string;
  kind: string;
  bdf: string;
  /** The domain that drives it, or null while it has none. */
  owner: string | null;
  stats: Record<string, number>;
}

export interface AuditResult {
  ok: boolean;
  violations: string[];
  /** Frames and entries the auditor checked. */
  checked: { frames: number; entries: number };
}

export interface Results {
  scenario: string;
  seed: number;
  hypervisor: string;
  machine: { memoryMiB: number; pcpus: number };
  /** The CPU profile the run used (machine.cpu) and its clock. */
  cpu: { profile: string; label: string; clockGHz: number };
  domains: DomainResults[];
  audit: AuditResult;
  /** Simulated cycles for the whole run (the longest pCPU). */
  simulatedCycles: number;
  /** The same in milliseconds at the CPU profile's clock. */
  simulatedMs: number;
  /** Wall-clock milliseconds the simulation took (not deterministic; everything else is). */
  wallMs: number;
  version: string;
  /** A scenario with devices: what the timeline did, when, and the devices' owners and counters. */
  timeline?: TimelineRecord[];
  devices?: DeviceResult[];
  /**
   * DMA remapping (machine.iommu): whether Xen's IOMMU driver had the unit on, the DMA faults it
   * logged, and the IOTLB and context-cache invalidations it issued. Off under bare metal and KVM.
   * Every run sets it (optional only for results documents saved before it existed).
   */
  iommu?: IommuResult;
  /**
   * A scenario with a migrationTarget: the second host (its machine, free memory and its own audit,
   * whose violations are also in `audit`, prefixed "target:").
   */
  migrationTarget?: { memoryMiB: number; pcpus: number; linkMbps: number; freeMiB: number; domains: string[]; audit: AuditResult };
}

export interface IommuResult {
  enabled: boolean;
  faults: number;
  iotlbFlushes: number;
}

export interface CompareResult {
  scenario: string;
  workload: string;
  modes: PagingMode[];
  /** One results document per mode, same workload and seed. */
  runs: { mode: PagingMode; results: Results }[];
}

export interface BalloonResult {
  targetMiB: number;
  currentMiB: number;
  pagesReleased: number;
  pagesReclaimed: number;
  hypercalls: number;
}

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
   * Ballooning (only for a domain whose memory/target moved): the target and what the guest has
   * now, in MiB (256 pages to the MiB), the pages its balloon driver gave to Xen and took back,
   * and the hypercalls it made for them.
   */
  balloon?: BalloonResult;
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

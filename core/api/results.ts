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
}

export interface CompareResult {
  scenario: string;
  workload: string;
  modes: PagingMode[];
  /** One results document per mode, same workload and seed. */
  runs: { mode: PagingMode; results: Results }[];
}

/**
 * Runs a scenario: builds the machine and hypervisor, boots the domains, runs their workloads
 * interleaved on the physical CPUs, audits, and reports.
 */
import type { DomainConfig, Scenario } from '../api/scenario.js';
import { DEFAULT_DOM0 } from '../api/scenario.js';
import type { DomainResults, Results } from '../api/results.js';
import { VERSION } from '../api/version.js';
import { Rng } from '../base/rng.js';
import { DEFAULT_COSTS, type CostTable } from '../machine/cost.js';
import { C, HYPERCALL_OPS, VMEXIT_REASONS, type Counters } from '../machine/counters.js';
import { DEFAULT_MMU_CONFIG, type MmuConfig } from '../machine/mmu/types.js';
import { audit } from '../hv/audit.js';
import type { Domain } from '../hv/domain.js';
import { Hypervisor } from '../hv/hypervisor.js';
import { MEASURE, plannedOps, runWorkload, type WorkloadStep } from '../workloads/index.js';

export interface Progress {
  /** Fraction done, 0..1. */
  fraction: number;
  ops: number;
  simulatedCycles: number;
}

export interface RunOptions {
  /** Called every so often with progress (the CLI ignores it, the worker forwards it). */
  onProgress?: (p: Progress) => void;
  /** Returns true when the run should stop early (cancellation). */
  shouldStop?: () => boolean;
  /** Wall clock in ms, injected by the caller (core/ has no timer of its own). */
  now?: () => number;
}

export function mmuConfigOf(s: Scenario): MmuConfig {
  const m = s.machine.mmu ?? {};
  const d = DEFAULT_MMU_CONFIG;
  return {
    tlb4k: { ...d.tlb4k, ...m.tlb4k },
    tlb2m: { ...d.tlb2m, ...m.tlb2m },
    tlb1g: { ...d.tlb1g, ...m.tlb1g },
    psc: { ...d.psc, ...m.psc },
    nestedTlb: { ...d.nestedTlb, ...m.nestedTlb },
    dataCache: { ...d.dataCache, ...m.dataCache },
  };
}

export function costsOf(s: Scenario): CostTable {
  const out: CostTable = { ...DEFAULT_COSTS };
  for (const [k, v] of Object.entries(s.machine.costs ?? {})) {
    if (typeof v === 'number') (out as unknown as Record<string, number>)[k] = v;
  }
  return out;
}

/** The domains a scenario boots, dom0 first (created with defaults under Xen if not listed). */
export function domainsOf(s: Scenario): DomainConfig[] {
  const listed = s.domains;
  const dom0 = listed.find((d) => d.role === 'dom0');
  const guests = listed.filter((d) => d.role !== 'dom0');
  if (s.hypervisor !== 'xen') return guests;
  return [dom0 ?? DEFAULT_DOM0, ...guests];
}

function total(counters: Counters): number {
  const c = counters.c;
  return c[C.CycGuest] + c[C.CycHv] + c[C.CycWalk];
}

export function runScenario(scenario: Scenario, opts: RunOptions = {}): Results {
  const now = opts.now ?? (() => 0);
  const t0 = now();
  const costs = costsOf(scenario);
  const xen = new Hypervisor(scenario, costs, mmuConfigOf(scenario));
  const configs = domainsOf(scenario);
  const doms: Domain[] = configs.map((cfg) => xen.createDomain(cfg));
  for (const d of doms) d.counters.reset();

  type Job = { d: Domain; gen: Generator<WorkloadStep, void, void>; done: boolean };
  const jobs: Job[] = doms.map((d) => ({
    d,
    gen: runWorkload(d.config.workload, {
      kernel: d.kernel,
      rng: new Rng((scenario.seed * 0x9e3779b1 + d.domid * 7919) >>> 0),
      guestPageSize: d.config.guestPageSize,
      domains: doms,
    }),
    done: false,
  }));
  const planned = doms.reduce((a, d) => a + plannedOps(d.config.workload), 0);
  const lastOn = new Map<number, Domain>();
  let live = jobs.length;
  let stopped = false;
  while (live > 0 && !stopped) {
    for (const job of jobs) {
      if (job.done) continue;
      const d = job.d;
      const mmu = d.mmu;
      const pcpu = xen.pcpus.indexOf(mmu);
      const prev = lastOn.get(pcpu);
      if (prev !== d) {
        // Untagged (VPID 0) contexts do not survive a switch between domains: Xen flushes.
        if (prev && d.ctx.vpid === 0 && prev.ctx.vpid === 0) mmu.flushVpid(0);
        lastOn.set(pcpu, d);
      }
      mmu.ctx = d.ctx;
      const r = job.gen.next();
      if (r.done) {
        job.done = true;
        live--;
      } else if (r.value === MEASURE) {
        d.counters.reset();
      }
      if (opts.onProgress && planned > 0) {
        const ops = doms.reduce((a, x) => a + x.counters.c[C.Ops], 0);
        opts.onProgress({ fraction: Math.min(1, ops / planned), ops, simulatedCycles: Math.max(...doms.map((x) => total(x.counters))) });
      }
      if (opts.shouldStop?.()) {
        stopped = true;
        break;
      }
    }
  }
  const a = audit(xen);
  const perPcpu = new Map<number, number>();
  for (const d of doms) {
    const pc = xen.pcpus.indexOf(d.mmu);
    perPcpu.set(pc, (perPcpu.get(pc) ?? 0) + total(d.counters));
  }
  return {
    scenario: scenario.name,
    seed: scenario.seed,
    hypervisor: scenario.hypervisor,
    machine: { memoryMiB: scenario.machine.memoryMiB, pcpus: scenario.machine.pcpus },
    domains: doms.map(domainResults),
    audit: a,
    simulatedCycles: Math.max(0, ...perPcpu.values()),
    wallMs: now() - t0,
    version: VERSION,
  };
}

export function domainResults(d: Domain): DomainResults {
  const k = d.counters;
  const c = k.c;
  const ops = c[C.Ops];
  const tot = total(k);
  const walks = c[C.Walks];
  let hist = Array.from(k.walkHist);
  while (hist.length > 1 && hist[hist.length - 1] === 0) hist = hist.slice(0, -1);
  const byReason: Record<string, number> = {};
  VMEXIT_REASONS.forEach((r, i) => {
    if (k.vmexits[i] > 0) byReason[r] = k.vmexits[i];
  });
  const byOp: Record<string, number> = {};
  HYPERCALL_OPS.forEach((o, i) => {
    if (k.hypercalls[i] > 0) byOp[o] = k.hypercalls[i];
  });
  return {
    name: d.name,
    domid: d.domid,
    role: d.config.role,
    mode: d.mode,
    workload: d.config.workload.kind,
    guestPageSize: d.config.guestPageSize,
    hostPageSize: d.config.hostPageSize,
    ops,
    cycles: {
      total: tot,
      guest: c[C.CycGuest],
      hypervisor: c[C.CycHv],
      walk: c[C.CycWalk],
      perOp: ops > 0 ? tot / ops : 0,
    },
    tlb: {
      lookups: c[C.TlbLookups],
      hits: c[C.TlbHits],
      misses: c[C.TlbMisses],
      missRate: c[C.TlbLookups] > 0 ? c[C.TlbMisses] / c[C.TlbLookups] : 0,
    },
    walk: {
      walks,
      refs: c[C.WalkRefs],
      refsPerWalk: walks > 0 ? c[C.WalkRefs] / walks : 0,
      maxRefs: k.walkMaxRefs,
      refsCached: c[C.WalkRefsCached],
      refsMemory: c[C.WalkRefsMemory],
      pscHits: c[C.PscHits],
      nestedTlbHits: c[C.NtlbHits],
      histogram: hist,
    },
    vmexits: { total: c[C.VmExits], byReason },
    hypercalls: { total: c[C.Hypercalls], byOp },
    ptUpdates: c[C.PtUpdates],
    pageFaults: { guest: c[C.PfGuest], hidden: c[C.PfHidden] },
    counters: k.snapshot(),
    ...(d.scriptCalls ? { calls: d.scriptCalls } : {}),
  };
}

/**
 * A domain as Xen keeps it (struct domain with its one vCPU): its memory (p2m), its counters, the
 * translation context of its vCPU, and the paging assistance Xen gives it (shadow or HAP). What
 * runs inside it is not the hypervisor's business: vm/ pairs a domain with its guest kernel.
 */
import type { DomainConfig, PagingMode } from '../api/scenario.js';
import type { CostTable } from '../machine/cost.js';
import { C, Counters } from '../machine/counters.js';
import type { MachineMemory } from '../machine/memory.js';
import type { Mmu } from '../machine/mmu/mmu.js';
import { PagingKind, type TranslationContext } from '../machine/mmu/types.js';
import type { FrameTable } from './mm/frameTable.js';
import type { GrantP2mEntry } from './mm/grantHost.js';
import type { PvDomain } from './mm/pageType.js';
import type { Hap } from './paging/hap.js';
import type { ShadowPaging } from './paging/shadow/shadowPaging.js';
import type { Hypervisor } from './hypervisor.js';

export type DomainState = 'running' | 'paused' | 'blocked' | 'shutdown' | 'dying';

export class Domain implements PvDomain {
  readonly counters: Counters;
  readonly ctx: TranslationContext;
  /** pfn/gfn → mfn. */
  readonly p2m: Int32Array;
  /** PV: mfn of the L4 the vCPU runs on (held with a type reference, as Xen's vcpu->arch.guest_table). */
  guestCr3 = -1;
  state: DomainState = 'running';
  /** The pCPU this domain's vCPU runs on, set by the scheduler. */
  mmu!: Mmu;
  hap?: Hap;
  shadow?: ShadowPaging;
  /**
   * A translated domain's p2m entries of type p2m_grant_map_rw / p2m_grant_map_ro: gfn → the granted
   * frame, at gfns that are not its RAM (grantHost.ts installs and removes them).
   */
  readonly grantP2m = new Map<number, GrantP2mEntry>();
  /**
   * Under KVM: kvm_faultin_pfn for a gfn (memslot → hva → qemu's page tables, faulting the page in
   * on first touch); the level of the host's mapping, or 0 when the gfn is not guest RAM.
   */
  faultin?: (gfn: number) => number;
  /** Frames Xen took from its heap for this domain (the shadow pool); EPT tables are in `hap.tableFrames`. */
  readonly xenFrames: number[] = [];
  /**
   * max_pages (struct domain): the most frames Xen lets the domain own; increase_reservation and
   * populate_physmap stop there. Set by createDomain (its maxmem plus libxl's headroom) and by
   * XEN_DOMCTL_max_mem (xl mem-max, xl mem-set).
   */
  maxPages = 0;
  /** Simulated cycles this domain's vCPU has used since it was built, boot included; never reset (xl list's Time). */
  cpuCycles = 0;
  /** Of which building and booting the domain took. */
  bootCycles = 0;
  /** The host clock (Simulation.cycles) when the domain was built. */
  createdAt = 0;

  constructor(
    readonly xen: Hypervisor,
    readonly domid: number,
    readonly config: DomainConfig,
    p2m: Int32Array,
    /** The counters to charge (a migrated domain keeps its source's: its results go on counting). */
    counters: Counters = new Counters(),
  ) {
    this.counters = counters;
    this.p2m = p2m;
    const hvm = config.mode === 'shadow' || config.mode === 'hap';
    this.ctx = {
      kind: config.mode === 'hap' ? PagingKind.Nested : PagingKind.OneD,
      cr3: 0,
      eptRoot: 0,
      // HVM vCPUs get a VPID (Xen's ASID); PV and native run untagged (VPID 0).
      vpid: hvm ? domid + 1 : 0,
      pcid: 0,
      counters: this.counters,
    };
  }

  get name(): string {
    return this.config.name;
  }
  get mode(): PagingMode {
    return this.config.mode;
  }
  get privileged(): boolean {
    return this.config.role === 'dom0';
  }
  get mem(): MachineMemory {
    return this.xen.mem;
  }
  get ft(): FrameTable {
    return this.xen.ft;
  }
  get costs(): CostTable {
    return this.xen.costs;
  }
  get nrPages(): number {
    return this.p2m.length;
  }
  /** Pages populated when the domain was built (its `memoryMiB`); pfns above, up to its maxmem, start as holes. */
  get bootPages(): number {
    return this.config.memoryMiB * 256;
  }

  /** Flush this domain's non-global TLB entries on its pCPU (shadow: the whole VPID, as a new ASID). */
  flushTlb(): void {
    if (this.config.mode === 'shadow') this.mmu.flushVpid(this.ctx.vpid);
    else this.mmu.flushPcid(this.ctx.vpid, this.ctx.pcid);
  }

  invlpg(va: number): void {
    this.mmu.invlpg(va);
  }

  /**
   * A VM exit and the entry back. Without VPID each invalidates every linear and combined
   * mapping (Intel SDM Vol. 3 §28.3.3.3, "Guidelines for use of the INVVPID instruction"), so the
   * guest refills its TLB afterwards: first-generation VT-x paid this on every exit.
   */
  m2p(mfn: number): number {
    return this.ft.m2p(mfn);
  }

  vmTransition(): void {
    if (this.xen.cpu.features.vpid) return;
    this.counters.c[C.ExitFlushes]++;
    this.mmu.flushVpid(this.ctx.vpid);
  }
}

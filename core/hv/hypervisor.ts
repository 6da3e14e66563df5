/**
 * The hypervisor: machine memory and its frame table, the allocator, the physical CPUs' MMUs, and
 * the domains: domain_create, populate_physmap, paging enable (shadow or HAP), context_switch,
 * domain_kill. Building a guest in a domain (its tables, its kernel) is the toolstack's domain
 * builder's job, in vm/.
 */
import type { DomainConfig, Scenario } from '../api/scenario.js';
import { XEN_RESERVED_MIB } from '../api/scenario.js';
import type { CostTable } from '../machine/cost.js';
import { FrameAllocator } from '../machine/frameAllocator.js';
import { MachineMemory } from '../machine/memory.js';
import { Mmu } from '../machine/mmu/mmu.js';
import { cpuProfile, type CpuProfile } from '../machine/cpu.js';
import type { MmuConfig } from '../machine/mmu/types.js';
import { Domain } from './domain.js';
import { EventChannels } from './evtchn/evtchn.js';
import { GrantTables } from './gnttab/gnttab.js';
import { DOMID_XEN, FrameTable, INVALID_M2P } from './mm/frameTable.js';
import { chargeHypercall } from './evtchn/hypercallCharge.js';
import { C, Hc, type Counters } from '../machine/counters.js';
import { PvMm } from './mm/pvMm.js';
import { Hap } from './paging/hap.js';
import { ShadowPaging } from './paging/shadow/shadowPaging.js';
import { XenIommu } from './passthrough/iommu.js';
import { KvmHost } from './kvm/kvmHost.js';

/**
 * Frames a domain may own beyond its memory (max_pages − memory): LIBXL_MAXMEM_CONSTANT, 1024 KiB
 * (tools/libs/light/libxl_internal.h), which libxl adds to every domain's target when it sets
 * max_pages. Page flipping and ballooning move frames in and out within it.
 */
export const MAXMEM_HEADROOM_PAGES = 256;

export class Hypervisor {
  readonly mem: MachineMemory;
  readonly ft: FrameTable;
  readonly alloc: FrameAllocator;
  readonly pvMm: PvMm;
  readonly pcpus: Mmu[];
  readonly domains: Domain[] = [];
  private nextDomid = 0;
  /** The vCPU each pCPU ran last (per_cpu(curr_vcpu)), for context_switch's flush decision. */
  private readonly curr: (Domain | undefined)[];
  readonly kind: 'xen' | 'kvm' | 'none';

  /** The CPU generation (machine.cpu): its features decide mechanisms (VPID, PCID, the PV ABI). */
  readonly cpu: CpuProfile;
  /** Event channels (xen/common/event_channel.c), every domain's ports. */
  readonly evtchn: EventChannels;
  /** Grant tables v1 (xen/common/grant_table.c), every domain's table and maptrack. */
  readonly gnttab: GrantTables;
  /**
   * Xen's IOMMU driver over the machine's VT-d unit (hv/passthrough/), under Xen only; off
   * (identity DMA, assignments still recorded) when `machine.iommu` is false.
   */
  readonly iommu: XenIommu | null;
  /**
   * Under `kvm`: the host kernel with its processes (a qemu per guest, whose memory is the guest's
   * RAM, hv/kvm/). Null under Xen and bare metal.
   */
  readonly kvm: KvmHost | null;

  constructor(
    scenario: Scenario,
    readonly costs: CostTable,
    readonly mmuConfig: MmuConfig,
  ) {
    this.cpu = cpuProfile(scenario.machine.cpu);
    const nrFrames = scenario.machine.memoryMiB * 256;
    this.kind = scenario.hypervisor;
    this.mem = new MachineMemory(nrFrames);
    this.ft = new FrameTable(nrFrames);
    const reserved = this.kind === 'none' ? 0 : XEN_RESERVED_MIB * 256;
    this.alloc = new FrameAllocator(nrFrames, reserved);
    for (let m = 0; m < reserved; m++) this.ft.setOwner(m, DOMID_XEN);
    this.pvMm = new PvMm(this.mem, this.ft, costs);
    this.pcpus = Array.from({ length: scenario.machine.pcpus }, () => new Mmu(this.mem, mmuConfig, costs));
    this.curr = new Array<Domain | undefined>(this.pcpus.length);
    this.evtchn = new EventChannels(this);
    this.gnttab = new GrantTables(this);
    this.iommu = this.kind === 'xen' ? new XenIommu(this, scenario.machine.iommu ?? true) : null;
    this.kvm = this.kind === 'kvm' ? new KvmHost(this.mem, costs) : null;
  }

  /** A live domain by id (rcu_lock_domain_by_id), or undefined. */
  domain(domid: number): Domain | undefined {
    return this.domains.find((d) => d.domid === domid);
  }

  /** A frame for the hypervisor's own use (EPT tables, shadow pool). */
  allocXenFrame = (): number => {
    const m = this.alloc.alloc();
    if (m < 0) throw new Error('out of machine memory for hypervisor tables');
    this.ft.setOwner(m, DOMID_XEN);
    return m;
  };

  /**
   * XENMEM_populate_physmap for a whole domain: backs every pfn with a machine frame, in the
   * largest aligned extents available (2^preferOrder frames first: Xen prefers superpages), and
   * records each frame's owner and m2p entry.
   */
  populatePhysmap(d: Domain, preferOrder: number): void {
    const p2m = d.p2m;
    // Only the boot memory: pfns above it, up to maxmem, stay holes (ballooned out from the start).
    const nrPages = d.bootPages;
    let pfn = 0;
    while (pfn < nrPages) {
      let order = preferOrder;
      while (order > 0 && (pfn % 2 ** order !== 0 || pfn + 2 ** order > nrPages)) order--;
      let mfn = this.alloc.allocExtent(order);
      while (mfn < 0 && order > 0) mfn = this.alloc.allocExtent(--order);
      if (mfn < 0) throw new Error(`out of machine memory building domain ${d.domid} (${pfn} of ${nrPages} pages)`);
      for (let k = 0; k < 2 ** order; k++) {
        p2m[pfn + k] = mfn + k;
        this.ft.assign(mfn + k, d.domid, pfn + k);
      }
      pfn += 2 ** order;
    }
  }

  /** max_pages: at creation a domain's maxmem plus libxl's headroom (MAXMEM_HEADROOM_PAGES); XEN_DOMCTL_max_mem changes it. */
  maxPages(d: Domain): number {
    return d.maxPages;
  }

  /**
   * XEN_DOMCTL_max_mem (xc_domain_setmaxmem, in KiB): the domain's new max_pages. Xen does not
   * take frames back when the new limit is below what the domain owns; it only refuses to give
   * more (increase_reservation, populate_physmap) until the domain is under it again.
   */
  setMaxMem(d: Domain, maxKiB: number): void {
    d.maxPages = Math.floor(maxKiB / 4);
  }

  /** tot_pages: the frames a domain owns now (its page list). */
  totPages(d: Domain): number {
    return this.ft.ownedFrames(d.domid).length;
  }

  /**
   * XENMEM_increase_reservation with order-0 extents: up to `nr` fresh frames from the heap for
   * `d`, within its max_pages. Returns their mfns (for a PV guest, the extent list Xen writes
   * back; the guest then puts each into its p2m and writes the m2p with MMU_MACHPHYS_UPDATE). Xen
   * returns how many extents it did; fewer than asked means the reservation or the heap ran out.
   * Each extent is priced as a page reference update (alloc_heap_pages' free-list pop and the
   * page_info writes; the lab has no finer figure for it).
   */
  increaseReservation(d: Domain, nr: number, inMulticall = false): number[] {
    chargeHypercall(d, this.costs, Hc.MemoryOp, inMulticall);
    const out: number[] = [];
    for (let i = 0; i < nr; i++) {
      if (this.totPages(d) >= this.maxPages(d)) break;
      const m = this.alloc.alloc();
      if (m < 0) break;
      this.ft.assign(m, d.domid, INVALID_M2P);
      d.counters.c[C.CycHv] += this.costs.pageRef;
      out.push(m);
    }
    return out;
  }

  /**
   * XENMEM_decrease_reservation with order-0 extents, for a PV guest (gmfn = mfn): each frame goes
   * back to the heap (guest_remove_page). Stops at the first frame that is not the guest's or is
   * still referenced (a mapping or a type left): Xen would drop only the allocation reference and
   * free the page when the last reference goes; the lab refuses it instead, so a frame in use is
   * never freed under a mapping. Returns how many extents were done, as Xen does.
   */
  decreaseReservation(d: Domain, mfns: readonly number[], inMulticall = false): number {
    if (d.mode === 'shadow' || d.mode === 'hap') return this.decreaseReservationGfns(d, mfns, inMulticall);
    chargeHypercall(d, this.costs, Hc.MemoryOp, inMulticall);
    let done = 0;
    for (const m of mfns) {
      if (!(Number.isInteger(m) && m >= 0 && m < this.ft.nrFrames) || this.ft.owner(m) !== d.domid) break;
      if (this.ft.count(m) !== 0 || this.ft.typeCount(m) !== 0) break;
      this.releaseFrames([m]);
      d.counters.c[C.CycHv] += this.costs.pageRef;
      done++;
    }
    return done;
  }

  /**
   * XENMEM_decrease_reservation for a translated guest (HVM: shadow or HAP), whose extents are gfns:
   * guest_remove_page → p2m_remove_page for each. The p2m entry goes, and with it what was derived
   * from it: the shadows of the page (sh_remove_all_shadows_and_parents) and every shadow entry that
   * mapped it (sh_remove_all_mappings), or the EPT leaf (a superpage over it split first); the
   * IOMMU's entry for a domain that drives a device (iommu_legacy_unmap); then one flush for the
   * batch (INVEPT, or the vCPU's TLB), before the frames go back to the heap. Stops at the first
   * gfn with no RAM behind it or whose frame has references beyond the domain's own (a grant
   * mapping or DMA in flight), as the PV path does. Returns how many extents were done.
   * The shadow search runs once per batch (one brute-force pass over the pool for all its frames),
   * charged as one pass: Xen's per-page heuristics find a free page's (absent) mappings at once.
   */
  private decreaseReservationGfns(d: Domain, gfns: readonly number[], inMulticall: boolean): number {
    chargeHypercall(d, this.costs, Hc.MemoryOp, inMulticall);
    const ft = this.ft;
    const batch: number[] = [];
    for (const gfn of gfns) {
      if (!(Number.isInteger(gfn) && gfn >= 0 && gfn < d.p2m.length)) break;
      const m = d.p2m[gfn]!;
      if (m < 0 || ft.owner(m) !== d.domid || ft.count(m) !== 0 || ft.typeCount(m) !== 0) break;
      batch.push(gfn);
    }
    if (batch.length === 0) return 0;
    const freed = batch.map((gfn) => d.p2m[gfn]!);
    // Shadows first, while the p2m still names the frames (shadows and their writable-mapping
    // counts are found by gfn).
    if (d.shadow) {
      for (const gfn of batch) d.shadow.removeShadows(gfn);
      d.shadow.removeAllMappingsOfSet(new Set(freed));
    }
    for (const gfn of batch) {
      d.p2m[gfn] = -1;
      this.iommu?.p2mChanged(d, gfn, -1);
      d.hap?.remapGfn(gfn);
      d.counters.c[C.CycHv] += this.costs.pageRef;
    }
    if (d.hap) d.mmu.flushNestedTlb(); // INVEPT: no cached gpa → hpa translation may keep a freed frame
    this.releaseFrames([...freed].sort((a, b) => a - b));
    return batch.length;
  }

  /**
   * XENMEM_populate_physmap with order-0 extents at the given gfns (how a translated guest's balloon
   * driver takes memory back: Linux's xenmem_reservation_increase): a fresh frame behind each gfn
   * that is a hole, within max_pages; the p2m and the IOMMU's entry follow (the EPT leaf or shadow
   * fills in on the next access). Stops at the first gfn that is not a hole or beyond the p2m, or
   * when max_pages or the heap runs out. Returns how many extents were done.
   */
  populatePhysmapGfns(d: Domain, gfns: readonly number[], inMulticall = false): number {
    chargeHypercall(d, this.costs, Hc.MemoryOp, inMulticall);
    let done = 0;
    for (const gfn of gfns) {
      if (!(Number.isInteger(gfn) && gfn >= 0 && gfn < d.p2m.length) || d.p2m[gfn]! >= 0) break;
      if (this.totPages(d) >= this.maxPages(d)) break;
      const m = this.alloc.alloc();
      if (m < 0) break;
      this.ft.assign(m, d.domid, gfn);
      d.p2m[gfn] = m;
      this.iommu?.p2mChanged(d, gfn, m);
      d.counters.c[C.CycHv] += this.costs.pageRef;
      done++;
    }
    return done;
  }

  /** steal_page for GNTTABOP_transfer: only a frame nothing maps and no type holds may leave its owner. */
  stealPage(d: Domain, mfn: number): boolean {
    const ft = this.ft;
    if (ft.owner(mfn) !== d.domid || ft.count(mfn) !== 0 || ft.typeCount(mfn) !== 0) return false;
    ft.setOwner(mfn, DOMID_XEN);
    ft.setM2p(mfn, INVALID_M2P);
    return true;
  }

  hasHeadroom(e: Domain): boolean {
    return this.totPages(e) < this.maxPages(e);
  }

  assignPage(e: Domain, mfn: number): void {
    this.ft.assign(mfn, e.domid, INVALID_M2P);
  }

  freeStolenPage(mfn: number): void {
    this.releaseFrames([mfn]);
  }

  /** Frames the allocator has free (what `xl info` calls free_memory, in frames). */
  get freeFrames(): number {
    return this.alloc.free;
  }

  /**
   * Frames Xen takes from its heap for a domain beyond its memory: the shadow pool, or an EPT
   * fully populated with 4 KiB leaves (the most it can grow to).
   */
  overheadFrames(config: DomainConfig): number {
    const pages = config.memoryMiB * 256;
    if (config.mode === 'shadow') return shadowPoolPagesOf(config);
    if (config.mode !== 'hap') return 0;
    const leafLevel = config.hostPageSize === '1g' ? 3 : config.hostPageSize === '2m' ? 2 : 1;
    // Tables of level L (leaves in level leafLevel) cover 512^L pages each; one L4.
    let tables = 1;
    for (let level = leafLevel; level < 4; level++) tables += Math.ceil(pages / 512 ** level);
    return tables;
  }

  /**
   * Tears a domain down (domain_kill → domain_relinquish_resources): every frame it owns is
   * scrubbed and goes back to the heap with its frame-table entry cleared (owner, counts, type,
   * pin, validation, linear count); so do the frames Xen held for it (shadow pool, EPT tables).
   * Its pCPU's TLBs and walk caches are flushed, since the frames will be reused.
   */
  destroyDomain(d: Domain): { guestFrames: number; xenFrames: number } {
    const at = this.domains.indexOf(d);
    if (at < 0) throw new Error(`domain ${d.domid} (${d.name}) is not a live domain`);
    d.state = 'dying';
    // Before its frames go: close its event channels, release its grant mappings, and copy out
    // the grant entries others still map (evtchn_destroy, gnttab_release_mappings).
    this.evtchn.removeDomain(d.domid);
    // pci_release_devices: its devices go to quarantine before anything it owned is freed.
    this.iommu?.domainDestroyed(d);
    this.gnttab.removeDomain(d.domid);
    const ft = this.ft;
    // Frames another domain still has mapped by grant stay allocated until the last unmap, as a
    // mapping holds a reference on the page in Xen: a backend (or its device's DMA) never reaches
    // a frame already given to someone else. They are Xen's meanwhile (releaseHeldFrame frees them).
    const held = new Set<number>();
    for (const m of this.gnttab.mappings()) if (m.granter === d.domid) held.add(m.mfn);
    // The domain's page list (d->page_list), not a scan of machine memory: cost in what it owns.
    const owned = ft.ownedFrames(d.domid).slice().sort((a, b) => a - b).filter((m) => !held.has(m));
    for (const m of held) ft.setOwner(m, DOMID_XEN);
    // Under KVM the guest's qemu exits with it: its page tables go back too.
    const hostTables = this.kvm?.reap(d.domid) ?? [];
    const xen = [...d.xenFrames, ...(d.hap?.tableFrames ?? []), ...hostTables].filter((m) => ft.owner(m) === DOMID_XEN && !held.has(m));
    this.releaseFrames(owned);
    this.releaseFrames(xen.sort((a, b) => a - b));
    d.guestCr3 = -1;
    d.mmu.flushAll();
    for (let p = 0; p < this.curr.length; p++) if (this.curr[p] === d) this.curr[p] = undefined;
    this.domains.splice(at, 1);
    return { guestFrames: owned.length, xenFrames: xen.length };
  }

  /** A dead domain's frame kept alive by a grant mapping, now unmapped (GnttabHost). */
  releaseHeldFrame(mfn: number): void {
    if (this.ft.owner(mfn) === DOMID_XEN) this.releaseFrames([mfn]);
  }

  /** Scrubs and frees sorted, distinct frames, in runs so the allocator coalesces them. */
  private releaseFrames(sorted: ArrayLike<number>): void {
    const ft = this.ft;
    for (let k = 0; k < sorted.length; k++) {
      const m = sorted[k]!;
      this.mem.scrub(m);
      ft.release(m);
      ft.setLinear(m, 0);
    }
    let i = 0;
    while (i < sorted.length) {
      let j = i + 1;
      while (j < sorted.length && sorted[j] === sorted[j - 1]! + 1) j++;
      this.alloc.freeRange(sorted[i]!, j - i);
      i = j;
    }
  }

  /**
   * domain_create: a new domain with its p2m sized for its memory but not yet backed
   * (populatePhysmap does that), on a pCPU, with no paging assistance yet (enablePaging).
   */
  createDomain(config: DomainConfig, counters?: Counters): Domain {
    const domid = this.nextDomid++;
    // The p2m spans the domain's maxmem (xl.cfg maxmem): pfns above its memory are holes the
    // balloon driver may populate later, within max_pages.
    const maxMiB = Math.max(config.memoryMiB, config.maxMemoryMiB ?? config.memoryMiB);
    const d = new Domain(this, domid, config, new Int32Array(maxMiB * 256).fill(-1), counters);
    d.maxPages = maxMiB * 256 + MAXMEM_HEADROOM_PAGES;
    d.mmu = this.pcpus[domid % this.pcpus.length]!;
    this.domains.push(d);
    this.evtchn.addDomain(domid);
    this.gnttab.addDomain(domid);
    return d;
  }

  /**
   * Domain ids from `next` on (never lower than now). A second host in the lab numbers its
   * domains after the first's, so each domain has one id in results and the scheduler (real hosts
   * number their domains each on its own).
   */
  reserveDomidsBelow(next: number): void {
    if (next > this.nextDomid) this.nextDomid = next;
  }

  get domidsUsed(): number {
    return this.nextDomid;
  }

  /**
   * Paging assistance for an HVM domain (XEN_DOMCTL_shadow_op enable, hap_enable): a shadow pool
   * taken from Xen's heap, or an empty EPT that fills in on violations. PV and native need none.
   */
  enablePaging(d: Domain): void {
    const config = d.config;
    if (this.kvm) {
      // KVM_CREATE_VM from a new qemu whose RAM is the guest's memory (one memslot); KVM's MMU
      // then finds each frame through qemu's page tables.
      const host = this.kvm;
      host.spawnQemu(d, this.allocXenFrame);
      d.faultin = (gfn) => host.faultinPfn(d, gfn);
    }
    if (config.mode === 'hap') {
      d.hap = new Hap(this.mem, this.costs, d, this.allocXenFrame, config.hostPageSize);
      d.ctx.eptRoot = d.hap.eptRoot;
    } else if (config.mode === 'shadow') {
      const pool = shadowPoolPagesOf(config);
      const frames = d.xenFrames;
      for (let i = 0; i < pool; i++) frames.push(this.allocXenFrame());
      d.shadow = new ShadowPaging(this.mem, this.costs, d, frames, config.shadowOutOfSync ?? true, config.shadowEarlyUnshadow ?? true);
    }
  }

  /**
   * context_switch: puts `d`'s vCPU on its pCPU and returns the pCPU's index. Tagged contexts
   * (HVM vCPUs have a VPID) keep their TLB entries across switches; untagged ones (PV, native:
   * VPID 0) would see the previous domain's entries, so Xen flushes them when the domain changes.
   */
  contextSwitch(d: Domain): number {
    const mmu = d.mmu;
    const pcpu = this.pcpus.indexOf(mmu);
    const prev = this.curr[pcpu];
    if (prev !== d) {
      if (prev && d.ctx.vpid === 0 && prev.ctx.vpid === 0) mmu.flushVpid(0);
      this.curr[pcpu] = d;
    }
    mmu.ctx = d.ctx;
    return pcpu;
  }
}

/** libxl's default shadow allocation: 256 pages per vCPU plus 2 per MiB of guest memory. */
export function shadowPoolPagesOf(config: DomainConfig): number {
  return config.shadowPoolPages ?? 256 * config.vcpus + 2 * config.memoryMiB;
}

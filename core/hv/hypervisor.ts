/**
 * The hypervisor: machine memory and its frame table, the allocator, the physical CPUs' MMUs,
 * and the domains, with a domain builder per paging mode (after libxc's xc_dom_* builders).
 */
import type { DomainConfig, Scenario } from '../api/scenario.js';
import { GUEST_KERNEL_RESERVED_MIB, XEN_RESERVED_MIB } from '../api/scenario.js';
import type { CostTable } from '../machine/cost.js';
import { FrameAllocator } from '../machine/frameAllocator.js';
import { MachineMemory } from '../machine/memory.js';
import { Mmu } from '../machine/mmu/mmu.js';
import type { MmuConfig } from '../machine/mmu/types.js';
import { PTE_A, PTE_D, PTE_P, PTE_RW, pteHi, pteLo } from '../machine/pte.js';
import { GuestKernel } from '../guest/kernel.js';
import { Domain } from './domain.js';
import { DOMID_XEN, FrameTable, PGT_l4_page_table, PGT_pinned } from './mm/frameTable.js';
import { PvMm } from './mm/pvMm.js';
import { Hap } from './paging/hap.js';
import { DIRECTMAP_BASE, HapOps, NativeOps, PvDirectOps, ShadowOps } from './paging/ops.js';
import { ShadowPaging } from './paging/shadow.js';

export class Hypervisor {
  readonly mem: MachineMemory;
  readonly ft: FrameTable;
  readonly alloc: FrameAllocator;
  readonly pvMm: PvMm;
  readonly pcpus: Mmu[];
  readonly domains: Domain[] = [];
  private nextDomid = 0;
  readonly kind: 'xen' | 'kvm' | 'none';

  constructor(
    scenario: Scenario,
    readonly costs: CostTable,
    readonly mmuConfig: MmuConfig,
  ) {
    const nrFrames = scenario.machine.memoryMiB * 256;
    this.kind = scenario.hypervisor;
    this.mem = new MachineMemory(nrFrames);
    this.ft = new FrameTable(nrFrames);
    const reserved = this.kind === 'none' ? 0 : XEN_RESERVED_MIB * 256;
    this.alloc = new FrameAllocator(nrFrames, reserved);
    for (let m = 0; m < reserved; m++) this.ft.setOwner(m, DOMID_XEN);
    this.pvMm = new PvMm(this.mem, this.ft, costs);
    this.pcpus = Array.from({ length: scenario.machine.pcpus }, () => new Mmu(this.mem, mmuConfig, costs));
  }

  /** A frame for the hypervisor's own use (EPT tables, shadow pool). */
  allocXenFrame = (): number => {
    const m = this.alloc.alloc();
    if (m < 0) throw new Error('out of machine memory for hypervisor tables');
    this.ft.setOwner(m, DOMID_XEN);
    return m;
  };

  /** Allocates a domain's memory in the largest aligned extents available (Xen prefers superpages). */
  private populate(nrPages: number, domid: number, preferOrder: number): Int32Array {
    const p2m = new Int32Array(nrPages).fill(-1);
    let pfn = 0;
    while (pfn < nrPages) {
      let order = preferOrder;
      while (order > 0 && (pfn % 2 ** order !== 0 || pfn + 2 ** order > nrPages)) order--;
      let mfn = this.alloc.allocExtent(order);
      while (mfn < 0 && order > 0) mfn = this.alloc.allocExtent(--order);
      if (mfn < 0) throw new Error(`out of machine memory building domain ${domid} (${pfn} of ${nrPages} pages)`);
      for (let k = 0; k < 2 ** order; k++) {
        p2m[pfn + k] = mfn + k;
        this.ft.assign(mfn + k, domid, pfn + k);
      }
      pfn += 2 ** order;
    }
    return p2m;
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
    const ft = this.ft;
    // The domain's page list (d->page_list), not a scan of machine memory: cost in what it owns.
    const owned = ft.ownedFrames(d.domid).slice().sort();
    const xen = [...d.xenFrames, ...(d.hap?.tableFrames ?? [])].filter((m) => ft.owner(m) === DOMID_XEN);
    this.releaseFrames(owned);
    this.releaseFrames(xen.sort((a, b) => a - b));
    d.guestCr3 = -1;
    d.mmu.flushAll();
    this.domains.splice(at, 1);
    return { guestFrames: owned.length, xenFrames: xen.length };
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

  createDomain(config: DomainConfig): Domain {
    const domid = this.nextDomid++;
    const nrPages = config.memoryMiB * 256;
    const order = config.hostPageSize === '1g' ? 18 : 9;
    const p2m = this.populate(nrPages, domid, order);
    const d = new Domain(this, domid, config, p2m);
    d.mmu = this.pcpus[domid % this.pcpus.length]!;
    // The guest kernel keeps the top of its memory for itself (text, data, boot page tables).
    const reservedPages = Math.max(GUEST_KERNEL_RESERVED_MIB * 256, Math.ceil(nrPages / 512) + 64);
    switch (config.mode) {
      case 'native':
        d.ops = new NativeOps(d);
        break;
      case 'hap':
        d.hap = new Hap(this.mem, this.costs, d, this.allocXenFrame, config.hostPageSize);
        d.ctx.eptRoot = d.hap.eptRoot;
        d.ops = new HapOps(d);
        break;
      case 'shadow': {
        const pool = shadowPoolPagesOf(config);
        const frames = d.xenFrames;
        for (let i = 0; i < pool; i++) frames.push(this.allocXenFrame());
        d.shadow = new ShadowPaging(this.mem, this.costs, d, frames, config.shadowOutOfSync ?? true);
        d.ops = new ShadowOps(d);
        break;
      }
      case 'pv':
        d.ops = new PvDirectOps(d);
        break;
    }
    const kernel = new GuestKernel(d, nrPages - reservedPages);
    d.kernel = kernel;
    if (config.mode === 'pv') this.buildPvDirectMap(d, nrPages - reservedPages, nrPages);
    kernel.boot();
    this.domains.push(d);
    return d;
  }

  /**
   * The PV builder: an initial L4 whose kernel half maps all of the guest's memory at
   * DIRECTMAP_BASE with 4 KiB pages (PV gets no superpages), its own page-table pages mapped
   * read-only, then pinned and installed as the vCPU's base pointer — which validates every entry.
   */
  private buildPvDirectMap(d: Domain, firstReserved: number, nrPages: number): void {
    const ops = d.ops as PvDirectOps;
    let next = firstReserved;
    const take = (): number => {
      if (next >= nrPages) throw new Error(`${d.name}: kernel reserve too small for the direct map`);
      return next++;
    };
    const l4 = take();
    const l3 = take();
    const nL2 = Math.ceil(nrPages / 262144);
    const nL1 = Math.ceil(nrPages / 512);
    const l2s = Array.from({ length: nL2 }, take);
    const l1s = Array.from({ length: nL1 }, take);
    const tables = new Set<number>([l4, l3, ...l2s, ...l1s]);
    const mem = this.mem;
    const wr = (tablePfn: number, i: number, targetPfn: number, flags: number) => {
      const mfn = d.p2m[targetPfn]!;
      mem.write(d.p2m[tablePfn]!, i, pteLo(mfn, flags), pteHi(mfn, flags));
    };
    const slot4 = Math.floor(DIRECTMAP_BASE / 2 ** 39) % 512;
    const up = PTE_P | PTE_RW | PTE_A | PTE_D;
    wr(l4, slot4, l3, up);
    for (let k = 0; k < nL2; k++) wr(l3, k, l2s[k]!, up);
    for (let k = 0; k < nL1; k++) wr(l2s[Math.floor(k / 512)]!, k % 512, l1s[k]!, up);
    for (let pfn = 0; pfn < nrPages; pfn++) {
      const flags = PTE_P | PTE_A | PTE_D | (tables.has(pfn) ? 0 : PTE_RW);
      wr(l1s[Math.floor(pfn / 512)]!, pfn % 512, pfn, flags);
    }
    // Pin the L4 (validating the whole tree) and make it the base pointer.
    const l4mfn = d.p2m[l4]!;
    const rc = this.pvMm.getPageAndType(l4mfn, PGT_l4_page_table, d);
    if (rc !== 0) throw new Error(`${d.name}: initial page tables failed validation (${rc})`);
    this.ft.setFlags(l4mfn, this.ft.flags(l4mfn) | PGT_pinned);
    const rc2 = this.pvMm.getPageAndType(l4mfn, PGT_l4_page_table, d);
    if (rc2 !== 0) throw new Error(`${d.name}: cannot install base pointer (${rc2})`);
    d.guestCr3 = l4mfn;
    d.ctx.cr3 = l4mfn;
    for (const t of tables) ops.markManaged(t, t === l4);
    d.kernel.setInitMm(l4, [
      { pfn: l3, level: 3 },
      ...l2s.map((pfn) => ({ pfn, level: 2 })),
      ...l1s.map((pfn) => ({ pfn, level: 1 })),
    ]);
  }
}

/** libxl's default shadow allocation: 256 pages per vCPU plus 2 per MiB of guest memory. */
export function shadowPoolPagesOf(config: DomainConfig): number {
  return config.shadowPoolPages ?? 256 * config.vcpus + 2 * config.memoryMiB;
}

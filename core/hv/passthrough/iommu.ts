/**
 * Xen's IOMMU driver for VT-d (xen/drivers/passthrough/: iommu.c, x86/iommu.c, vtd/iommu.c,
 * pci.c). Per domain that drives a device, an IOMMU domain (VT-d domain id = domid) whose
 * second-level tables Xen keeps in machine memory, and the context entries of its devices
 * pointing at them. What each domain's tables hold follows Xen:
 *
 *  - the hardware domain (dom0), Xen's default non-strict mode (`iommu=dom0-strict` off):
 *    every frame of RAM 1:1 except Xen's own (arch_iommu_hwdom_init / hwdom_iommu_map skip
 *    Xen's image), set up once; later ownership changes do not touch it (need_iommu_pt_sync is
 *    false for a relaxed hardware domain), which is the trust Xen gives dom0. Superpages where a
 *    whole aligned range qualifies. The lab's translated (PVH) dom0 gets the same 1:1 table,
 *    because its kernel hands devices machine addresses (see guest/io/blkback.ts); Xen's PVH
 *    dom0 would use its p2m.
 *  - other PV domains, strict (need_iommu_pt_sync): dfn = mfn for every frame the domain owns
 *    while its type is writable (xen/arch/x86/mm.c _get_page_type: when a page becomes or stops
 *    being PGT_writable_page, iommu_legacy_map / iommu_legacy_unmap). A fresh frame counts as
 *    writable: Xen's guest_physmap_add_page for a PV domain with an IOMMU takes and drops the
 *    writable type on every new page, so it starts mapped. Grant maps add read-only or writable
 *    entries for the granted frame and unmaps remove them (grant_table.c map_grant_ref /
 *    unmap_common with gnttab_need_iommu_mapping and mapkind()).
 *  - translated domains (HVM, PVH): dfn = gfn → the p2m's mfn, grant p2m entries included. The
 *    lab keeps a table of its own synced from the p2m instead of pointing the context entry at
 *    the EPT (iommu_hap_pt_share): the lab's EPT fills on violations, so a device would fault on
 *    memory the vCPU has not touched yet, where Xen's p2m is complete.
 *  - quarantine (XSA-302): a deassigned device's context points at dom_io's table, which maps
 *    nothing (`iommu=quarantine`, the default basic mode), so late DMA faults and reaches
 *    neither dom0 nor the next owner.
 *
 * Every map and unmap, and every IOTLB invalidation, costs the domain whose table changed
 * (cost table: iommuMap, iommuUnmap, iotlbFlush). Faults are taken from the recording registers
 * by the fault handler (iommu_page_fault → iommu_fault_do_one) and printed as Xen prints them.
 */
import { EBUSY, EINVAL, ENODEV } from '../../base/errno.js';
import { C } from '../../machine/counters.js';
import { PAGE_SIZE } from '../../machine/devices/dma.js';
import {
  clearContextEntry,
  DMA_PTE_READ,
  DMA_PTE_SP,
  DMA_PTE_WRITE,
  dmaPte,
  Iommu,
  sourceIdString,
  VTD_FAULT_REASONS,
  writeContextEntry,
  writeRootEntry,
} from '../../machine/devices/iommu.js';
import type { Domain } from '../domain.js';
import type { Hypervisor } from '../hypervisor.js';
import { DOMID_XEN, PGT_none, PGT_writable_page } from '../mm/frameTable.js';

/** DOMID_IO (xen/include/public/xen.h): the owner of quarantined devices. */
export const DOMID_IO = 0x7ff1;
/** Fault log entries Xen's driver keeps for the lab (oldest dropped first; `faultsDropped` counts them). */
export const FAULT_LOG_MAX = 256;

export type IommuDomainKind = 'hwdom' | 'pv' | 'translated' | 'quarantine';

export interface IommuDomain {
  readonly domid: number;
  readonly kind: IommuDomainKind;
  /** Top (level 4) second-level table. */
  readonly pgd: number;
  /** Every table frame (Xen's), top first. */
  readonly tables: number[];
  /** Granted frames this domain's tables map because of grant maps: mfn → read-only and writable maps. */
  readonly grants: Map<number, { r: number; w: number }>;
  /** hwdom: frames left out of the 1:1 map (Xen's own). */
  readonly excluded?: ReadonlySet<number>;
  maps: number;
  unmaps: number;
  flushes: number;
}

/** One DMA remapping fault as Xen's handler logged it. */
export interface IommuFaultRecord {
  /** VT-d fault reason code and its text. */
  reason: number;
  reasonText: string;
  /** Requester, "ssss:bb:dd.f". */
  bdf: string;
  sourceId: number;
  /** Faulting page address (bus address as the device issued it). */
  addr: number;
  write: boolean;
  /** Domain the device was assigned to (DOMID_IO when quarantined, -1 when never assigned). */
  domid: number;
}

type Bdf = { seg: number; bus: number; dev: number; fn: number };

export class XenIommu {
  readonly hw: Iommu;
  readonly domains = new Map<number, IommuDomain>();
  /** Faults Xen's handler took (including those the log dropped). */
  faults = 0;
  /** IOTLB and context-cache invalidations Xen issued. */
  iotlbFlushes = 0;
  readonly faultLog: IommuFaultRecord[] = [];
  faultsDropped = 0;
  /** Console lines not yet taken by the console (the hypervisor log). */
  private readonly pending: string[] = [];
  /** Source id → the domid its context entry points at (DOMID_IO: quarantined). */
  private readonly assigned = new Map<number, number>();
  /** Bus → its context table frame. */
  private readonly contextTables = new Map<number, number>();
  private rootMfn = -1;

  constructor(
    private readonly xen: Hypervisor,
    /** `machine.iommu`: false leaves the unit off and DMA identity, as with `iommu=0`. */
    readonly enabled: boolean,
  ) {
    this.hw = new Iommu(xen.mem);
    if (!enabled) return;
    this.hw.onFault = () => this.faultHandler();
    this.log('[VT-D]Intel VT-d iommu 0 supported page sizes: 4kB, 2MB, 1GB');
    this.log('[VT-D]Intel VT-d Snoop Control not enabled.');
    this.log('I/O virtualisation enabled');
    this.log(' - Dom0 mode: Relaxed');
    this.log('[VT-D]Quarantine: basic (no scratch page)');
    const ft = xen.ft;
    ft.onOwnerChange = (mfn, from, to) => this.ownerChanged(mfn, from, to);
    xen.pvMm.onWritableChange = (mfn, writable) => this.typeChanged(mfn, writable);
  }

  /**
   * iommu_setup → init_vtd_hw: the root table, then translation on (GCMD.TE), and dom_io's empty
   * table for quarantine. Done when the first device is assigned, so a machine without devices
   * spends no frames on them (Xen allocates them at boot).
   */
  private ensureRoot(): void {
    if (this.rootMfn >= 0) return;
    this.rootMfn = this.xen.allocXenFrame();
    this.hw.rootMfn = this.rootMfn;
    this.hw.enabled = true;
    this.domains.set(DOMID_IO, this.newDomain(DOMID_IO, 'quarantine', undefined));
  }

  // --- console ---------------------------------------------------------------------------------

  private log(line: string): void {
    this.pending.push(line);
  }

  /** Lines for the hypervisor log since the last call (the console hub prints them as "(XEN) …"). */
  takeLog(): string[] {
    return this.pending.splice(0);
  }

  // --- IOMMU domains ---------------------------------------------------------------------------

  private newDomain(domid: number, kind: IommuDomainKind, d: Domain | undefined, excluded?: ReadonlySet<number>): IommuDomain {
    const pgd = this.xen.allocXenFrame();
    d?.xenFrames.push(pgd);
    return { domid, kind, pgd, tables: [pgd], grants: new Map(), excluded, maps: 0, unmaps: 0, flushes: 0 };
  }

  /** The IOMMU domain of `d`, built on first use (iommu_domain_init + the populate Xen does for it). */
  domainOf(d: Domain): IommuDomain {
    const have = this.domains.get(d.domid);
    if (have) return have;
    let dom: IommuDomain;
    const ft = this.xen.ft;
    if (d.privileged) {
      // arch_iommu_hwdom_init: all RAM 1:1 but Xen's own frames.
      const excluded = new Set<number>(ft.ownedFrames(DOMID_XEN));
      dom = this.newDomain(d.domid, 'hwdom', d, excluded);
      this.domains.set(d.domid, dom);
      const nr = this.xen.mem.nrFrames;
      let start = 0;
      const sorted = [...excluded].sort((a, b) => a - b);
      for (const x of [...sorted, nr]) {
        if (x > start) this.mapRange(dom, d, start, x - start);
        start = x + 1;
      }
    } else if (d.mode === 'pv') {
      dom = this.newDomain(d.domid, 'pv', d);
      this.domains.set(d.domid, dom);
      const owned = Array.from(ft.ownedFrames(d.domid)).sort((a, b) => a - b);
      for (const m of owned) if (writableType(ft.type(m))) this.setEntry(dom, d, m, m, true, true, false);
    } else {
      dom = this.newDomain(d.domid, 'translated', d);
      this.domains.set(d.domid, dom);
      for (let gfn = 0; gfn < d.p2m.length; gfn++) {
        const m = d.p2m[gfn]!;
        if (m >= 0) this.setEntry(dom, d, gfn, m, true, true, false);
      }
      for (const [gfn, e] of d.grantP2m) this.setEntry(dom, d, gfn, e.mfn, true, !e.readonly, false);
    }
    return dom;
  }

  /**
   * A domain is being destroyed (domain_kill → pci_release_devices, iommu_domain_destroy): its
   * devices go to quarantine, its IOMMU domain is dropped (its table frames are in its
   * xenFrames and go back with them).
   */
  domainDestroyed(d: Domain): void {
    for (const [sid, domid] of this.assigned) if (domid === d.domid) this.moveTo(sid, DOMID_IO, undefined);
    if (this.domains.get(d.domid)?.kind !== 'quarantine') this.domains.delete(d.domid);
  }

  // --- assignment (XEN_DOMCTL_assign_device / deassign_device) --------------------------------

  /**
   * assign_device: the device's context entry points at `d`'s tables (domain id = domid). 0, or
   * -EBUSY if another live domain has it (Xen: "device already assigned"), -ENODEV for an
   * address outside segment 0.
   */
  assignDevice(d: Domain, bdf: Bdf): number {
    if (bdf.seg !== 0) return ENODEV;
    const sid = sid16(bdf);
    const cur = this.assigned.get(sid);
    if (cur !== undefined && cur !== DOMID_IO && cur !== d.domid && this.xen.domain(cur)) return EBUSY;
    this.moveTo(sid, d.domid, d);
    return 0;
  }

  /** deassign_device: to quarantine (dom_io). -EINVAL if `d` does not have the device. */
  deassignDevice(d: Domain, bdf: Bdf): number {
    const sid = sid16(bdf);
    if (this.assigned.get(sid) !== d.domid) return EINVAL;
    this.moveTo(sid, DOMID_IO, undefined);
    return 0;
  }

  /** xl pci-assignable-add: the device to quarantine (dom_io) until a domain is given it. */
  quarantine(bdf: Bdf): void {
    const sid = sid16(bdf);
    if (this.assigned.get(sid) !== DOMID_IO) this.moveTo(sid, DOMID_IO, undefined);
  }

  /** Which domain a device's context entry points at (DOMID_IO: quarantine), or -1 if never assigned. */
  ownerOf(bdf: Bdf): number {
    return this.assigned.get(sid16(bdf)) ?? -1;
  }

  /** Devices and the domain each is assigned to. */
  assignments(): { sourceId: number; bdf: string; domid: number }[] {
    return [...this.assigned].map(([sid, domid]) => ({ sourceId: sid, bdf: sourceIdString(sid), domid }));
  }

  /** domain_context_mapping_one / reassign_device_ownership: rewrite the entry, flush the old domain's caches. */
  private moveTo(sid: number, domid: number, d: Domain | undefined): void {
    const old = this.assigned.get(sid);
    this.assigned.set(sid, domid);
    if (!this.enabled) return;
    this.ensureRoot();
    const dom = d ? this.domainOf(d) : this.domains.get(domid)!;
    const bus = sid >>> 8;
    let ctx = this.contextTables.get(bus);
    if (ctx === undefined) {
      ctx = this.xen.allocXenFrame();
      this.contextTables.set(bus, ctx);
      writeRootEntry(this.xen.mem, this.rootMfn, bus, ctx);
    }
    if (old === domid) return;
    clearContextEntry(this.xen.mem, ctx, sid & 0xff);
    writeContextEntry(this.xen.mem, ctx, sid & 0xff, { slptMfn: dom.pgd, did: domid });
    // A present entry replaced: device-selective context-cache flush, then the old domain's IOTLB.
    if (old !== undefined) {
      this.hw.invalidateContext(old, sid);
      this.hw.invalidateIotlbDomain(old);
      this.iotlbFlushes += 2;
      if (d) d.counters.c[C.CycHv] += 2 * this.xen.costs.iotlbFlush;
    }
    // The lab's own line (Xen reports reassignments only with iommu=verbose).
    if (domid === DOMID_IO) this.log(`[VT-D]d${old ?? '?'}: ${sourceIdString(sid)}: quarantined (dom_io)`);
  }

  // --- second-level tables ---------------------------------------------------------------------

  /** Entry at `dfn`: its halves' low word and the table/index, or null (nothing there; a superpage returns its leaf). */
  private leaf(dom: IommuDomain, dfn: number): { table: number; index: number; lo: number; level: number } | null {
    const mem = this.xen.mem;
    let table = dom.pgd;
    for (let level = 4; level >= 1; level--) {
      const index = Math.floor(dfn / 512 ** (level - 1)) % 512;
      const lo = mem.readLo(table, index);
      if (!(lo & (DMA_PTE_READ | DMA_PTE_WRITE))) return null;
      if (level === 1 || lo & DMA_PTE_SP) return { table, index, lo, level };
      table = frameOf(lo, mem.readHi(table, index));
    }
    return null;
  }

  /** The frame and access `dom` gives its devices at `dfn` (software walk, no side effects). */
  lookup(dom: IommuDomain, dfn: number): { mfn: number; read: boolean; write: boolean } | null {
    const l = this.leaf(dom, dfn);
    if (!l) return null;
    const mem = this.xen.mem;
    const base = frameOf(l.lo, mem.readHi(l.table, l.index));
    const span = 512 ** (l.level - 1);
    return { mfn: base + (dfn % span), read: (l.lo & DMA_PTE_READ) !== 0, write: (l.lo & DMA_PTE_WRITE) !== 0 };
  }

  /**
   * intel_iommu_map_page / dma_pte_clear_one for one 4 KiB dfn: writes the leaf (tables allocated
   * on the way, intermediate entries R|W as Xen writes them) and flushes the IOTLB page when a
   * present entry changed (a new entry needs none: VT-d without caching mode caches no
   * non-present entries). Charges `d` unless `charge` is false.
   */
  private setEntry(dom: IommuDomain, d: Domain | undefined, dfn: number, mfn: number, read: boolean, write: boolean, charge = true): void {
    const mem = this.xen.mem;
    const table = this.descend(dom, d, dfn, 1, read || write);
    if (table < 0) return;
    const index = dfn % 512;
    const was = mem.readLo(table, index);
    const present = (was & (DMA_PTE_READ | DMA_PTE_WRITE)) !== 0;
    if (read || write) {
      const e = dmaPte(mfn, read, write);
      if (present && was === e.lo && mem.readHi(table, index) === e.hi) return;
      mem.write(table, index, e.lo, e.hi);
      dom.maps++;
      if (charge && d) {
        d.counters.c[C.CycHv] += this.xen.costs.iommuMap;
        d.counters.c[C.IommuMaps]++;
      }
    } else {
      if (!present) return;
      mem.write(table, index, 0, 0);
      dom.unmaps++;
      if (charge && d) {
        d.counters.c[C.CycHv] += this.xen.costs.iommuUnmap;
        d.counters.c[C.IommuUnmaps]++;
      }
    }
    if (present) {
      this.hw.invalidateIotlbPages(dom.domid, dfn * PAGE_SIZE, 0);
      this.iotlbFlushes++;
      dom.flushes++;
      if (charge && d) {
        d.counters.c[C.CycHv] += this.xen.costs.iotlbFlush;
        d.counters.c[C.IotlbFlushes]++;
      }
    }
  }

  /**
   * The table of level `level` on the way to `dfn`: intermediate tables allocated from Xen's heap
   * when `alloc` (their entries R|W, as Xen writes non-leaf entries), else -1 where one is missing.
   */
  private descend(dom: IommuDomain, d: Domain | undefined, dfn: number, level: number, alloc: boolean): number {
    const mem = this.xen.mem;
    let table = dom.pgd;
    for (let l = 4; l > level; l--) {
      const index = Math.floor(dfn / 512 ** (l - 1)) % 512;
      const lo = mem.readLo(table, index);
      if (lo & (DMA_PTE_READ | DMA_PTE_WRITE)) {
        table = frameOf(lo, mem.readHi(table, index));
        continue;
      }
      if (!alloc) return -1;
      const t = this.xen.allocXenFrame();
      (d ?? this.xen.domain(dom.domid))?.xenFrames.push(t);
      dom.tables.push(t);
      const e = dmaPte(t, true, true);
      mem.write(table, index, e.lo, e.hi);
      table = t;
    }
    return table;
  }

  /** `count` frames 1:1 from `start`, in the largest aligned pages that fit (1 GiB, 2 MiB, 4 KiB). */
  private mapRange(dom: IommuDomain, d: Domain, start: number, count: number): void {
    const mem = this.xen.mem;
    let m = start;
    const end = start + count;
    while (m < end) {
      const level = m % 512 ** 2 === 0 && m + 512 ** 2 <= end ? 3 : m % 512 === 0 && m + 512 <= end ? 2 : 1;
      if (level === 1) {
        this.setEntry(dom, d, m, m, true, true, false);
        m++;
        continue;
      }
      const table = this.descend(dom, d, m, level, true);
      const e = dmaPte(m, true, true, true);
      mem.write(table, Math.floor(m / 512 ** (level - 1)) % 512, e.lo, e.hi);
      dom.maps++;
      m += 512 ** (level - 1);
    }
  }

  // --- keeping PV and translated tables in sync -------------------------------------------------

  /** A frame changed owner (frame table): it leaves the old owner's strict table and joins the new one's. */
  private ownerChanged(mfn: number, from: number, to: number): void {
    const old = this.domains.get(from);
    if (old?.kind === 'pv') {
      if (!old.grants.has(mfn)) this.setEntry(old, this.xen.domain(from), mfn, 0, false, false);
    } else if (old?.kind === 'translated') {
      const gfn = this.xen.ft.m2p(mfn);
      if (gfn >= 0 && this.lookup(old, gfn)?.mfn === mfn) this.setEntry(old, this.xen.domain(from), gfn, 0, false, false);
    }
    const neu = this.domains.get(to);
    if (neu?.kind === 'pv' && writableType(this.xen.ft.type(mfn))) this.setEntry(neu, this.xen.domain(to), mfn, mfn, true, true);
  }

  /** _get_page_type: a PV frame became (or stopped being) PGT_writable_page. */
  private typeChanged(mfn: number, writable: boolean): void {
    const owner = this.xen.ft.owner(mfn);
    const dom = this.domains.get(owner);
    if (dom?.kind !== 'pv' || dom.grants.has(mfn)) return;
    this.setEntry(dom, this.xen.domain(owner), mfn, mfn, writable, writable);
  }

  /**
   * map_grant_ref for a mapper with gnttab_need_iommu_mapping (a strict PV domain): a writable
   * entry for the first writable map, a read-only one for the first map of any kind.
   */
  grantMapped(ld: Domain, mfn: number, readonly: boolean): void {
    const dom = this.domains.get(ld.domid);
    if (dom?.kind !== 'pv') return;
    let k = dom.grants.get(mfn);
    if (!k) dom.grants.set(mfn, (k = { r: 0, w: 0 }));
    if (!readonly && k.w === 0) this.setEntry(dom, ld, mfn, mfn, true, true);
    else if (k.r + k.w === 0) this.setEntry(dom, ld, mfn, mfn, true, false);
    if (readonly) k.r++;
    else k.w++;
  }

  /** unmap_common: the entry goes with the last map; a read-only entry stays while read-only maps remain. */
  grantUnmapped(ld: Domain, mfn: number, readonly: boolean): void {
    const dom = this.domains.get(ld.domid);
    const k = dom?.grants.get(mfn);
    if (!dom || !k) return;
    if (readonly) k.r--;
    else k.w--;
    if (k.r + k.w === 0) {
      dom.grants.delete(mfn);
      // The mapper's own frame (a grant to itself) keeps its ordinary entry.
      const own = this.xen.ft.owner(mfn) === ld.domid && writableType(this.xen.ft.type(mfn));
      this.setEntry(dom, ld, mfn, mfn, own, own);
    } else if (k.w === 0 && !readonly) this.setEntry(dom, ld, mfn, mfn, true, false);
  }

  /** A translated domain's p2m entry at `gfn` now maps `mfn` (readonly: a read-only grant), or nothing (mfn -1). */
  p2mChanged(d: Domain, gfn: number, mfn: number, readonly = false): void {
    const dom = this.domains.get(d.domid);
    if (dom?.kind !== 'translated') return;
    this.setEntry(dom, d, gfn, Math.max(mfn, 0), mfn >= 0, mfn >= 0 && !readonly);
  }

  // --- faults ----------------------------------------------------------------------------------

  /** iommu_page_fault: drain the recording registers, print each fault as Xen does, count it. */
  private faultHandler(): void {
    for (const f of this.hw.takeFaults()) {
      this.faults++;
      const bdf = sourceIdString(f.sourceId);
      const rec: IommuFaultRecord = {
        reason: f.reason,
        reasonText: VTD_FAULT_REASONS[f.reason] ?? 'Unknown',
        bdf,
        sourceId: f.sourceId,
        addr: f.addr,
        write: f.write,
        domid: this.assigned.get(f.sourceId) ?? -1,
      };
      this.faultLog.push(rec);
      if (this.faultLog.length > FAULT_LOG_MAX) {
        this.faultLog.shift();
        this.faultsDropped++;
      }
      // vtd/iommu.c iommu_fault_do_one (VTDPREFIX "[VT-D]").
      this.log(`[VT-D]DMAR:[${f.write ? 'DMA Write' : 'DMA Read'}] Request device [${bdf}] fault addr ${f.addr.toString(16)}`);
      this.log(`[VT-D]DMAR: reason ${f.reason.toString(16).padStart(2, '0')} - ${rec.reasonText}`);
    }
  }

  // --- audit -----------------------------------------------------------------------------------

  /**
   * DESIGN §4 "IOMMU tables only reach owned frames": every leaf of a strict PV table maps a frame
   * the domain owns with a writable type (dfn = mfn), or one granted to it with no more access
   * than its grant maps; a translated table maps its p2m; the hardware domain reaches none of
   * Xen's own frames; quarantine maps nothing; each assigned device's context entry points at its
   * owner's table. With the IOMMU off, every device's owner can reach every frame of the machine:
   * that is reported too.
   */
  audit(): string[] {
    const out: string[] = [];
    const { ft, mem } = this.xen;
    if (!this.enabled) {
      for (const [sid, domid] of this.assigned) {
        const d = this.xen.domain(domid);
        if (!d) continue;
        const notOwned = mem.nrFrames - ft.ownedCount(domid);
        out.push(`${d.name} owns device ${sourceIdString(sid)} and the IOMMU is off: its DMA reaches all ${mem.nrFrames} frames, ${notOwned} of them not its own`);
      }
      return out;
    }
    // What each domain maps by grant, from the grant tables themselves (not the driver's tally): mapper → mfn → writable.
    const granted = new Map<number, Map<number, boolean>>();
    for (const g of this.xen.gnttab.mappings()) {
      let m = granted.get(g.mapper);
      if (!m) granted.set(g.mapper, (m = new Map()));
      m.set(g.mfn, m.get(g.mfn) === true || !g.readonly);
    }
    for (const dom of this.domains.values()) {
      const d = this.xen.domain(dom.domid);
      const name = d?.name ?? (dom.domid === DOMID_IO ? 'dom_io' : `d${dom.domid}`);
      let reported = 0;
      const bad = (s: string) => {
        if (reported++ < 20) out.push(`${name}: ${s}`);
      };
      if (dom.kind === 'hwdom') {
        // 1:1 by construction; what matters is that none of Xen's own frames is reachable (one
        // lookup per excluded frame, not a scan of every superpage of a large machine).
        for (const x of dom.excluded!) {
          const hit = this.lookup(dom, x);
          if (hit) bad(`dfn ${x} reaches mfn ${hit.mfn}, one of Xen's own frames`);
        }
        continue;
      }
      this.forEachLeaf(dom, (dfn, mfn, _span, _read, write) => {
        if (dom.kind === 'quarantine') return bad(`quarantine table maps dfn ${dfn} → mfn ${mfn}`);
        if (!d) return bad('IOMMU domain of a dead domain');
        if (dom.kind === 'pv') {
          if (dfn !== mfn) return bad(`dfn ${dfn} maps mfn ${mfn} (a PV domain's table is 1:1)`);
          if (ft.owner(mfn) !== d.domid) {
            const g = granted.get(d.domid)?.get(mfn);
            if (g === undefined) return bad(`reaches mfn ${mfn}, owned by ${ft.owner(mfn)}, not granted`);
            if (write && !g) bad(`granted mfn ${mfn} is writable but mapped read-only by grant`);
            return;
          }
          if (granted.get(d.domid)?.has(mfn)) return;
          if (!writableType(ft.type(mfn))) bad(`reaches mfn ${mfn} of type ${ft.type(mfn)} (not writable: a device could rewrite a page table)`);
          return;
        }
        const p = dfn < d.p2m.length ? d.p2m[dfn]! : -1;
        const g = d.grantP2m.get(dfn);
        if (p === mfn) return;
        if (g && g.mfn === mfn) {
          if (write && g.readonly) bad(`gfn ${dfn}: read-only grant mapped writable`);
          return;
        }
        bad(`gfn ${dfn} maps mfn ${mfn}, but the p2m says ${p}`);
      });
    }
    for (const [sid, domid] of this.assigned) {
      const dom = this.domains.get(domid);
      const ctx = this.contextTables.get(sid >>> 8);
      if (!dom || ctx === undefined) {
        out.push(`device ${sourceIdString(sid)}: assigned to ${domid}, which has no IOMMU domain`);
        continue;
      }
      const lo = mem.readLo(ctx, (sid & 0xff) * 2);
      if (!(lo & 1) || frameOf(lo, mem.readHi(ctx, (sid & 0xff) * 2)) !== dom.pgd) out.push(`device ${sourceIdString(sid)}: context entry does not point at its owner ${domid}'s table`);
    }
    return out;
  }

  /** Every present leaf of `dom`: dfn, mfn, span in 4 KiB pages, R, W. */
  forEachLeaf(dom: IommuDomain, fn: (dfn: number, mfn: number, span: number, read: boolean, write: boolean) => void): void {
    const mem = this.xen.mem;
    const visit = (table: number, level: number, base: number) => {
      for (const i of mem.nonZeroEntries(table, [])) {
        const lo = mem.readLo(table, i);
        if (!(lo & (DMA_PTE_READ | DMA_PTE_WRITE))) continue;
        const target = frameOf(lo, mem.readHi(table, i));
        const dfn = base + i * 512 ** (level - 1);
        if (level > 1 && !(lo & DMA_PTE_SP)) visit(target, level - 1, dfn);
        else fn(dfn, target, 512 ** (level - 1), (lo & DMA_PTE_READ) !== 0, (lo & DMA_PTE_WRITE) !== 0);
      }
    };
    visit(dom.pgd, 4, 0);
  }

  /** What the results and the lead's integrity checks read. */
  summary(): { enabled: boolean; faults: number; iotlbFlushes: number } {
    return { enabled: this.enabled, faults: this.faults, iotlbFlushes: this.iotlbFlushes };
  }
}

/** Fresh frames (PGT_none: Xen's populate made them writable) and PGT_writable_page are mapped for a strict PV domain. */
export function writableType(t: number): boolean {
  return t === PGT_none || t === PGT_writable_page;
}

function sid16(b: Bdf): number {
  return ((b.bus & 0xff) << 8) | ((b.dev & 0x1f) << 3) | (b.fn & 7);
}

function frameOf(lo: number, hi: number): number {
  return (hi & 0xfffff) * 2 ** 20 + (lo >>> 12);
}

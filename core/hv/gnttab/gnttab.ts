/**
 * Grant tables, version 1 (xen/common/grant_table.c). A domain's grant entries live in machine
 * frames Xen allocates for it (GNTTABOP_setup_table) and the guest writes itself
 * (struct grant_entry_v1: flags, domid, frame). Xen keeps, per granter, an active entry per pinned
 * ref (who pinned it, the frame, pin counts by kind) and, per mapper, a maptrack table whose
 * index is the handle map_grant_ref returns. Checks and GNTST_* codes follow map_grant_ref,
 * unmap_common, _set_status_v1, acquire_grant_for_copy and gnttab_copy_one.
 *
 * The frame field is an mfn for a PV granter and a gfn for a translated (HVM) one, which goes
 * through its p2m; a frame the granter does not own is GNTST_bad_page (get_paged_frame).
 *
 * A mapping holds references on the granted frame for its lifetime, as map_grant_ref takes them
 * and unmap_common_complete drops them: one general reference per kind held (device, host), and a
 * PGT_writable_page type reference for a writable device mapping and for a writable host mapping
 * of a PV granter's frame (gnttab_host_mapping_get_page_type: not for a translated granter). So a
 * page table cannot be mapped writable, and a frame mapped writable cannot become a page table.
 * A host mapping's page-table entry is installed by the hostMapper (hv/mm/grantHost.ts, set by vm/).
 */
import { DOMID_SELF } from '../../api/public/event_channel.js';
import {
  DEFAULT_MAX_GRANT_FRAMES,
  DEFAULT_MAX_MAPTRACK_FRAMES,
  GNTCOPY_dest_gref,
  GNTCOPY_source_gref,
  GNTMAP_application_map,
  GNTMAP_contains_pte,
  GNTMAP_device_map,
  GNTMAP_host_map,
  GNTMAP_readonly,
  GNTST_bad_copy_arg,
  GNTST_bad_dev_addr,
  GNTST_bad_domain,
  GNTST_bad_gntref,
  GNTST_bad_handle,
  GNTST_bad_page,
  GNTST_general_error,
  GNTST_no_space,
  GNTST_okay,
  GNTST_permission_denied,
  GTF_permit_access,
  GTF_readonly,
  GTF_reading,
  GTF_accept_transfer,
  GTF_sub_page,
  GTF_transfer_committed,
  GTF_transfer_completed,
  GTF_type_mask,
  GTF_writing,
  MAPTRACK_PER_PAGE,
  PAGE_SIZE,
  type GnttabCopyOp,
  type GnttabTransferOp,
} from '../../api/public/grant_table.js';
import type { CostTable } from '../../machine/cost.js';
import { C, Hc } from '../../machine/counters.js';
import type { MachineMemory } from '../../machine/memory.js';
import type { Domain } from '../domain.js';
import { PGT_validated, PGT_writable_page, type FrameTable } from '../mm/frameTable.js';
import type { PageTypes } from '../mm/pageType.js';
import { chargeHypercall, isTranslated } from '../evtchn/hypercallCharge.js';
import { copyBytes } from './bytes.js';
import { GrantTable, type Active } from './table.js';

export type { GnttabCopyOp } from '../../api/public/grant_table.js';

/** What the grant tables need from the hypervisor (Hypervisor satisfies it). */
export interface GnttabHost {
  domain(domid: number): Domain | undefined;
  readonly costs: CostTable;
  readonly mem: MachineMemory;
  readonly ft: FrameTable;
  allocXenFrame(): number;
  /** A dead granter's frame that a mapping kept alive is no longer mapped: free it now. */
  releaseHeldFrame?(mfn: number): void;
  /** steal_page: `mfn` leaves `d` if only its allocation holds it (no mapping, no type); false otherwise. */
  stealPage?(d: Domain, mfn: number): boolean;
  /** Whether `e` may take one more frame (tot_pages below max_pages). */
  hasHeadroom?(e: Domain): boolean;
  /** assign_pages of a stolen frame to `e` (its m2p entry invalid until `e` writes it). */
  assignPage?(e: Domain, mfn: number): void;
  /** free_domheap_page of a stolen frame no domain took. */
  freeStolenPage?(mfn: number): void;
  /** Xen's page_info rules (get_page_type for the writable type reference a mapping holds). */
  readonly pvMm: PageTypes;
  /** The IOMMU driver: a strict PV mapper's DMA table gains and loses granted frames (gnttab_need_iommu_mapping). */
  readonly iommu?: { grantMapped(ld: Domain, mfn: number, readonly: boolean): void; grantUnmapped(ld: Domain, mfn: number, readonly: boolean): void } | null;
}

/**
 * Installs or removes the mapper's page-table entry for a GNTMAP_host_map mapping (set by vm/,
 * which owns the guests' tables). Each returns GNTST_okay or a GNTST_* code (create_grant_host_mapping
 * / replace_grant_host_mapping: GNTST_general_error when the entry at hostAddr does not map mfn).
 */
export interface HostMapper {
  /** `flags` are the map's GNTMAP_* (GNTMAP_contains_pte: hostAddr is the machine address of the entry). */
  map(mapper: number, hostAddr: number, mfn: number, readonly: boolean, flags?: number): number;
  unmap(mapper: number, hostAddr: number, mfn: number, flags?: number): number;
}

/** One grant mapping (a maptrack entry), for the auditor, the Topology view and `xl`. */
export interface GrantMapping {
  granter: number;
  ref: number;
  mfn: number;
  mapper: number;
  handle: number;
  readonly: boolean;
  /** GNTMAP_* still held: host_map and/or device_map, plus readonly (and contains_pte with an installed host_map). */
  flags: number;
  hostAddr?: number;
  /** The host mapper installed an entry at hostAddr (absent: recorded only). */
  installed?: true;
}

export interface MapResult {
  status: number;
  handle: number;
  mfn: number;
  devBusAddr: number;
}

const isU32 = (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;

export class GrantTables {
  private readonly tables = new Map<number, GrantTable>();
  /** Set by vm/: installs and removes the host PTE of a GNTMAP_host_map mapping; null → only recorded. */
  hostMapper: HostMapper | null = null;
  /** Maptrack handles per domain (opt_max_maptrack_frames × MAPTRACK_PER_PAGE). */
  readonly maxMaptrack = DEFAULT_MAX_MAPTRACK_FRAMES * MAPTRACK_PER_PAGE;

  constructor(private readonly host: GnttabHost) {}

  /** grant_table_init. The frames come with the first setup_table (see setupTable). */
  addDomain(domid: number, maxFrames = DEFAULT_MAX_GRANT_FRAMES): void {
    if (!this.tables.has(domid)) this.tables.set(domid, new GrantTable(domid, maxFrames, this.host.mem));
  }

  /** The table of a live domain (not one kept only for others' mappings). */
  private live(domid: number): GrantTable | undefined {
    const t = this.tables.get(domid);
    return t && !t.zombie ? t : undefined;
  }

  /**
   * GNTTABOP_setup_table for the caller (DOMID_SELF): grows its table to `nrFrames` frames (never
   * shrinks) and returns the frames' mfns. Xen allocates INITIAL_NR_GRANT_FRAMES at domain creation;
   * the lab allocates at the first setup_table, so a domain that never grants costs no frame. The
   * frames are Xen's (DOMID_XEN), recorded in the domain's xenFrames so domain_kill frees them.
   */
  setupTable(caller: number, nrFrames: number): { status: number; frames: number[] } {
    const d = this.host.domain(caller);
    if (d) chargeHypercall(d, this.host.costs, Hc.GrantTableOp);
    const t = this.live(caller);
    if (!d || !t) return { status: GNTST_bad_domain, frames: [] };
    if (!Number.isInteger(nrFrames) || nrFrames < 0 || nrFrames > t.maxFrames) return { status: GNTST_general_error, frames: [] };
    while (t.frames.length < nrFrames) {
      let mfn: number;
      try {
        mfn = this.host.allocXenFrame();
      } catch {
        return { status: GNTST_general_error, frames: [] }; // gnttab_grow_table failed: out of memory
      }
      this.host.mem.scrub(mfn);
      t.frames.push(mfn);
      d.xenFrames.push(mfn);
    }
    return { status: GNTST_okay, frames: t.frames.slice(0, nrFrames) };
  }

  /** The frames of a domain's table (for the guest's frontend and the auditor). */
  tableFrames(domid: number): number[] {
    return this.tables.get(domid)?.frames.slice() ?? [];
  }

  /** Resolves a granter's frame field to an mfn it owns (get_paged_frame), or -1 (GNTST_bad_page). */
  private frameOf(granter: Domain, frame: number): number {
    let mfn = frame;
    if (isTranslated(granter)) {
      if (!(Number.isInteger(frame) && frame >= 0 && frame < granter.p2m.length)) return -1;
      mfn = granter.p2m[frame]!;
    }
    if (!(Number.isInteger(mfn) && mfn >= 0 && mfn < granter.ft.nrFrames)) return -1;
    return granter.ft.owner(mfn) === granter.domid ? mfn : -1;
  }

  /**
   * _set_status_v1 for a pin: an entry not yet pinned must be GTF_permit_access (no sub-page) for
   * `mapper`; a writable pin needs an entry without GTF_readonly. GNTST_general_error otherwise.
   */
  private checkEntry(t: Granted, readonly: boolean, mapflag: boolean): number {
    const flags = t.table.flags(t.ref);
    const mask = mapflag ? GTF_type_mask | GTF_sub_page : GTF_type_mask;
    if (!t.act && ((flags & mask) !== GTF_permit_access || t.table.domid_(t.ref) !== t.mapper)) return GNTST_general_error;
    if (!readonly && flags & GTF_readonly) return GNTST_general_error;
    return GNTST_okay;
  }

  /** GNTTABOP_map_grant_ref. */
  mapGrantRef(caller: number, op: { dom: number; ref: number; flags: number; hostAddr?: number }): MapResult {
    const fail = (status: number): MapResult => ({ status, handle: -1, mfn: -1, devBusAddr: 0 });
    const ld = this.host.domain(caller);
    if (ld) chargeHypercall(ld, this.host.costs, Hc.GrantTableOp);
    const lt = this.live(caller);
    if (!ld || !lt) return fail(GNTST_bad_domain);
    const flags = op.flags >>> 0;
    const readonly = (flags & GNTMAP_readonly) !== 0;
    const dev = (flags & GNTMAP_device_map) !== 0;
    const hostMap = (flags & GNTMAP_host_map) !== 0;
    if (!dev && !hostMap) return fail(GNTST_bad_gntref); // "Bad flags in grant map op"
    if (isTranslated(ld) && flags & (GNTMAP_device_map | GNTMAP_application_map | GNTMAP_contains_pte)) {
      return fail(GNTST_general_error); // "No device mapping in HVM domain"
    }
    const rd = this.host.domain(op.dom);
    const rt = this.live(op.dom);
    if (!rd || !rt) return fail(GNTST_bad_domain);
    const handle = lt.allocHandle(this.maxMaptrack);
    if (handle < 0) return fail(GNTST_no_space);
    const failPut = (status: number): MapResult => {
      lt.putHandle(handle);
      return fail(status);
    };
    if (!isU32(op.ref) || op.ref >= rt.nrEntries) return failPut(GNTST_bad_gntref);
    const ref = op.ref;
    let act = rt.active.get(ref);
    if (act && act.mapper !== caller) return failPut(GNTST_general_error); // "Bad domain"
    const writePins = act ? act.hostW + act.devW : 0;
    const oldFlags = rt.flags(ref);
    if (!act || (!readonly && writePins === 0)) {
      const rc = this.checkEntry({ table: rt, ref, act, mapper: caller }, readonly, true);
      if (rc !== GNTST_okay) return failPut(rc);
      rt.setFlags(ref, oldFlags | GTF_reading | (readonly ? 0 : GTF_writing));
      if (!act) {
        const mfn = this.frameOf(rd, rt.frame(ref));
        if (mfn < 0) {
          this.clearFailedPin(rt, ref, undefined, readonly);
          return failPut(GNTST_bad_page);
        }
        act = { hostR: 0, hostW: 0, devR: 0, devW: 0, mapper: caller, mfn, translated: isTranslated(rd) };
      }
    }
    const mfn = act.mfn;
    const kinds = flags & (GNTMAP_device_map | GNTMAP_host_map | GNTMAP_readonly);
    const pteAddr = flags & GNTMAP_contains_pte;
    // The frame's references; a page table (or descriptor page) cannot take the writable type
    // ("Could not pin grant frame").
    if (!this.getRefs(rd, mfn, kinds, act.translated === true)) {
      this.clearFailedPin(rt, ref, act, readonly);
      return failPut(GNTST_general_error);
    }
    const hostAddr = op.hostAddr;
    const install = hostMap && hostAddr !== undefined && this.hostMapper !== null;
    if (install) {
      const rc = this.hostMapper!.map(caller, hostAddr, mfn, readonly, flags & (GNTMAP_readonly | GNTMAP_contains_pte));
      if (rc !== GNTST_okay) {
        this.putRefs(mfn, kinds, act.translated === true);
        this.clearFailedPin(rt, ref, act, readonly);
        return failPut(rc);
      }
    }
    if (dev) act[readonly ? 'devR' : 'devW']++;
    if (hostMap) act[readonly ? 'hostR' : 'hostW']++;
    rt.active.set(ref, act);
    lt.maptrack[handle] = { flags: kinds | (install ? pteAddr : 0), granter: op.dom, ref, mfn, hostAddr, installed: install };
    ld.counters.c[C.GrantMaps]++;
    ld.counters.c[C.CycHv] += this.host.costs.grantMap;
    this.host.iommu?.grantMapped(ld, mfn, readonly);
    return { status: GNTST_okay, handle, mfn, devBusAddr: mfn * PAGE_SIZE };
  }

  /**
   * map_grant_ref's references on the frame for the kinds in `kinds` (GNTMAP_device_map,
   * GNTMAP_host_map, GNTMAP_readonly): a general reference per kind; PGT_writable_page for a
   * writable device mapping, and for a writable host mapping unless the granter is translated.
   * False (nothing kept) if the frame is not the granter's or cannot take the writable type.
   */
  private getRefs(rd: Domain, mfn: number, kinds: number, translated: boolean): boolean {
    const ft = this.host.ft;
    if (ft.owner(mfn) !== rd.domid) return false;
    const n = (kinds & GNTMAP_device_map ? 1 : 0) + (kinds & GNTMAP_host_map ? 1 : 0);
    const types = writableTypeRefs(kinds, translated);
    for (let k = 0; k < types; k++) {
      if (this.host.pvMm.getPageType(mfn, PGT_writable_page, rd) !== 0) {
        for (let j = 0; j < k; j++) putWritableType(ft, mfn);
        return false;
      }
    }
    ft.setCount(mfn, ft.count(mfn) + n);
    return true;
  }

  /** unmap_common_complete's put_page / put_page_and_type for the kinds in `kinds`. */
  private putRefs(mfn: number, kinds: number, translated: boolean): void {
    const ft = this.host.ft;
    const types = writableTypeRefs(kinds, translated);
    for (let k = 0; k < types; k++) putWritableType(ft, mfn);
    const n = (kinds & GNTMAP_device_map ? 1 : 0) + (kinds & GNTMAP_host_map ? 1 : 0);
    if (ft.count(mfn) < n) throw new Error(`put_page underflow on granted mfn ${mfn}`);
    ft.setCount(mfn, ft.count(mfn) - n);
  }

  /**
   * map_grant_ref's undo_out / unlock_out_clear: a failed pin clears GTF_writing unless a write
   * pin remains, and GTF_reading unless any pin remains. Xen clears the bits rather than putting
   * back the flags it read: the guest may have set them itself.
   */
  private clearFailedPin(rt: GrantTable, ref: number, act: Active | undefined, readonly: boolean): void {
    const live = act !== undefined && rt.active.get(ref) === act;
    const pins = live ? act.hostR + act.hostW + act.devR + act.devW : 0;
    const writePins = live ? act.hostW + act.devW : 0;
    let flags = rt.flags(ref);
    if (!readonly && writePins === 0) flags &= ~GTF_writing;
    if (pins === 0) flags &= ~GTF_reading;
    rt.setFlags(ref, flags);
  }

  /**
   * GNTTABOP_unmap_grant_ref. As unmap_common, the host part is undone when hostAddr is given (and
   * the hostMapper finds the frame there, or without one, it is the address mapped), the device part
   * when devBusAddr is given (and is the frame's bus address); the handle is freed once neither
   * remains. A host mapping made without hostAddr (recorded only) is undone by any unmap of its
   * handle. The mapper's TLB is flushed (gnttab_flush_tlb) before the call returns.
   */
  unmapGrantRef(caller: number, op: { handle: number; hostAddr?: number; devBusAddr?: number }): number {
    const ld = this.host.domain(caller);
    if (ld) chargeHypercall(ld, this.host.costs, Hc.GrantTableOp);
    const lt = this.live(caller);
    if (!ld || !lt) return GNTST_bad_domain;
    if (!isU32(op.handle) || op.handle >= lt.maptrack.length) return GNTST_bad_handle;
    const map = lt.maptrack[op.handle];
    if (!map) return GNTST_bad_handle; // "Zero flags for handle"
    const rt = this.tables.get(map.granter);
    const act = rt?.active.get(map.ref);
    if (!rt || !act) return GNTST_bad_handle; // "Unstable handle"
    if (op.devBusAddr !== undefined && map.flags & GNTMAP_device_map && op.devBusAddr !== map.mfn * PAGE_SIZE) {
      return GNTST_bad_dev_addr;
    }
    const readonly = (map.flags & GNTMAP_readonly) !== 0;
    let done = 0;
    if (map.flags & GNTMAP_host_map) {
      // Recorded without an address: no PTE to remove. Otherwise only an unmap that names an
      // address undoes it (host_addr 0 means "none" in Xen), and the PTE there must map the frame.
      const given = op.hostAddr;
      let undo = map.hostAddr === undefined;
      if (!undo && given !== undefined) {
        const rc = this.hostMapper ? this.hostMapper.unmap(caller, given, map.mfn, map.flags & GNTMAP_contains_pte) : given === map.hostAddr ? GNTST_okay : GNTST_general_error;
        if (rc !== GNTST_okay) return rc;
        undo = true;
      }
      if (undo) {
        map.flags &= ~(GNTMAP_host_map | GNTMAP_contains_pte);
        done |= GNTMAP_host_map;
      }
    }
    if (op.devBusAddr !== undefined && map.flags & GNTMAP_device_map) {
      map.flags &= ~GNTMAP_device_map;
      done |= GNTMAP_device_map;
    }
    if (!(map.flags & (GNTMAP_device_map | GNTMAP_host_map))) {
      lt.putHandle(op.handle);
      this.host.iommu?.grantUnmapped(ld, map.mfn, readonly);
    }
    if (done) {
      ld.flushTlb();
      this.unpin(rt, map.ref, act, done, readonly);
    }
    ld.counters.c[C.GrantUnmaps]++;
    ld.counters.c[C.CycHv] += this.host.costs.grantUnmap;
    return GNTST_okay;
  }

  /**
   * unmap_common_complete: drops the references and pins `done` held and clears GTF_writing /
   * GTF_reading (reduce_status_for_pin).
   */
  private unpin(rt: GrantTable, ref: number, act: Active, done: number, readonly: boolean): void {
    this.putRefs(act.mfn, done | (readonly ? GNTMAP_readonly : 0), act.translated === true);
    if (done & GNTMAP_device_map) act[readonly ? 'devR' : 'devW']--;
    if (done & GNTMAP_host_map) act[readonly ? 'hostR' : 'hostW']--;
    const pins = act.hostR + act.hostW + act.devR + act.devW;
    let flags = rt.flags(ref);
    if (act.hostW + act.devW === 0) flags &= ~GTF_writing;
    if (pins === 0) {
      flags &= ~GTF_reading;
      rt.active.delete(ref);
    }
    rt.setFlags(ref, flags);
    if (pins === 0 && rt.zombie) {
      this.host.releaseHeldFrame?.(act.mfn);
      this.reap(rt);
    }
  }

  /** GNTTABOP_copy: a GNTST_* per op; copies bytes in machine memory. One hypercall entry for the batch. */
  copy(caller: number, ops: GnttabCopyOp[]): number[] {
    const ld = this.host.domain(caller);
    if (ld) chargeHypercall(ld, this.host.costs, Hc.GrantTableOp);
    return ops.map((op) => {
      if (!ld) return GNTST_bad_domain;
      const rc = this.copyOne(caller, op);
      ld.counters.c[C.CycHv] += this.host.costs.grantCopyBase;
      if (rc === GNTST_okay && op.len > 0) {
        ld.counters.c[C.GrantCopies]++;
        ld.counters.c[C.GrantCopyBytes] += op.len;
        ld.counters.c[C.CycHv] += (this.host.costs.grantCopyPerKiB * op.len) / 1024;
      }
      return rc;
    });
  }

  /**
   * GNTTABOP_transfer (gnttab_transfer, the page flipping of early netback): each op gives one of
   * the caller's frames to another domain, into a grant entry that domain marked
   * GTF_accept_transfer for the caller. The frame must be the caller's and held by nothing but its
   * allocation (steal_page: the caller unmapped it first), else GNTST_bad_page; an unknown target is
   * GNTST_bad_domain; a target that is dying, at its max_pages, or whose entry does not accept a
   * transfer from the caller is GNTST_general_error. In those last two cases the stolen frame is
   * freed, as Xen does. On success the entry's frame field holds the mfn and its flags gain
   * GTF_transfer_committed then GTF_transfer_completed; the frame's m2p entry is left for the new
   * owner to write (MMU_MACHPHYS_UPDATE). One hypercall entry for the batch; each op is priced as a
   * grant map (a page reference taken and an entry updated under the grant lock).
   *
   * Departures from Xen: the lab transfers only between PV domains (a translated caller or target
   * gets GNTST_general_error; Xen goes through their p2m), and it takes the frame only when it has
   * no reference at all (Xen's steal_page allows exactly the allocation reference).
   */
  transfer(caller: number, ops: readonly GnttabTransferOp[], inMulticall = false): number[] {
    const d = this.host.domain(caller);
    if (d) chargeHypercall(d, this.host.costs, Hc.GrantTableOp, inMulticall);
    return ops.map((op) => {
      if (!d) return GNTST_bad_domain;
      d.counters.c[C.CycHv] += this.host.costs.grantMap;
      const rc = this.transferOne(d, op);
      if (rc === GNTST_okay) d.counters.c[C.GrantTransfers]++;
      return rc;
    });
  }

  private transferOne(d: Domain, op: GnttabTransferOp): number {
    const host = this.host;
    if (isTranslated(d)) return GNTST_general_error;
    const mfn = op.mfn;
    if (!(Number.isInteger(mfn) && mfn >= 0 && mfn < d.ft.nrFrames)) return GNTST_bad_page;
    if (d.ft.owner(mfn) !== d.domid) return GNTST_bad_page; // includes Xen's own frames
    if (!host.stealPage?.(d, mfn)) return GNTST_bad_page;
    const e = Number.isInteger(op.domid) ? host.domain(op.domid) : undefined;
    if (!e) {
      host.freeStolenPage?.(mfn);
      return GNTST_bad_domain;
    }
    const et = this.live(e.domid);
    const ok = e.state !== 'dying' && !isTranslated(e) && et !== undefined && host.hasHeadroom?.(e) === true && this.prepareForTransfer(et, d.domid, op.ref);
    if (!ok || !host.assignPage) {
      host.freeStolenPage?.(mfn);
      return GNTST_general_error;
    }
    host.assignPage(e, mfn);
    et.setFrame(op.ref, mfn);
    et.setFlags(op.ref, et.flags(op.ref) | GTF_transfer_completed);
    return GNTST_okay;
  }

  /** gnttab_prepare_for_transfer: the entry accepts a transfer from `from` and none is under way; it is committed. */
  private prepareForTransfer(t: GrantTable, from: number, ref: number): boolean {
    if (!isU32(ref) || ref >= t.nrEntries) return false;
    const flags = t.flags(ref);
    if ((flags & GTF_type_mask) !== GTF_accept_transfer || t.domid_(ref) !== from || flags & GTF_transfer_committed) return false;
    t.setFlags(ref, flags | GTF_transfer_committed);
    return true;
  }

  /** gnttab_copy_one: lock both domains, claim both buffers, check the bounds, copy. */
  private copyOne(caller: number, op: GnttabCopyOp): number {
    if (!(Number.isInteger(op.len) && op.len >= 0 && op.len <= 0xffff)) return GNTST_bad_copy_arg;
    if (op.len === 0) return GNTST_okay;
    const srcGref = (op.flags & GNTCOPY_source_gref) !== 0;
    const dstGref = (op.flags & GNTCOPY_dest_gref) !== 0;
    // gnttab_copy_lock_domain: only DOMID_SELF may name a frame; the domain must exist.
    if (op.source.domid !== DOMID_SELF && !srcGref) return GNTST_permission_denied;
    const sd = this.host.domain(op.source.domid === DOMID_SELF ? caller : op.source.domid);
    if (!sd) return GNTST_bad_domain;
    if (op.dest.domid !== DOMID_SELF && !dstGref) return GNTST_permission_denied;
    const dd = this.host.domain(op.dest.domid === DOMID_SELF ? caller : op.dest.domid);
    if (!dd) return GNTST_bad_domain;
    const src = this.claim(caller, sd, op.source.ref, srcGref, true);
    if (src < 0) return src;
    const dst = this.claim(caller, dd, op.dest.ref, dstGref, false);
    if (dst < 0) return dst;
    // gnttab_copy_buf
    const so = op.source.offset;
    const doff = op.dest.offset;
    if (!(Number.isInteger(so) && so >= 0 && Number.isInteger(doff) && doff >= 0)) return GNTST_bad_copy_arg;
    if (so + op.len > PAGE_SIZE || doff + op.len > PAGE_SIZE) return GNTST_bad_copy_arg; // "copy beyond page area"
    copyBytes(this.host.mem, dst, doff, src, so, op.len);
    return GNTST_okay;
  }

  /**
   * gnttab_copy_claim_buf: the mfn one end of a copy names, or a GNTST_* code. A grant ref goes
   * through acquire_grant_for_copy (the pin it takes is released when the copy ends, so the lab
   * checks without pinning); a frame (DOMID_SELF only) through get_paged_frame.
   */
  private claim(caller: number, d: Domain, refOrFrame: number, isGref: boolean, readonly: boolean): number {
    if (!isGref) {
      const mfn = this.frameOf(d, refOrFrame);
      return mfn < 0 ? GNTST_bad_page : mfn;
    }
    const t = this.live(d.domid);
    if (!t || !isU32(refOrFrame) || refOrFrame >= t.nrEntries) return GNTST_bad_gntref;
    const act = t.active.get(refOrFrame);
    if (act && act.mapper !== caller) return GNTST_general_error;
    const rc = this.checkEntry({ table: t, ref: refOrFrame, act, mapper: caller }, readonly, false);
    if (rc !== GNTST_okay) return rc;
    if (act) return act.mfn;
    const mfn = this.frameOf(d, t.frame(refOrFrame));
    return mfn < 0 ? GNTST_bad_page : mfn;
  }

  /**
   * At domain_kill. As a mapper (gnttab_release_mappings): every maptrack entry is unmapped, its
   * pins dropped and the granters' GTF_reading/GTF_writing cleared as the pins reach zero. As a
   * granter: if other domains still map its grants, its entries are copied out (its frames are
   * about to be freed) and kept until the last of those mappings goes, as Xen keeps a dying domain
   * while foreign mappings hold references to its pages.
   */
  removeDomain(domid: number): void {
    const t = this.tables.get(domid);
    if (!t) return;
    for (let h = 0; h < t.maptrack.length; h++) {
      const map = t.maptrack[h];
      if (!map) continue;
      const rt = this.tables.get(map.granter);
      const act = rt?.active.get(map.ref);
      t.putHandle(h);
      if (rt && act) this.unpin(rt, map.ref, act, map.flags & (GNTMAP_device_map | GNTMAP_host_map), (map.flags & GNTMAP_readonly) !== 0);
    }
    if (t.active.size > 0) t.freeze();
    else this.tables.delete(domid);
  }

  /** Drops a killed granter's table once nothing maps it. */
  private reap(rt: GrantTable): void {
    if (rt.active.size === 0) this.tables.delete(rt.domid);
  }

  /** Every live mapping (maptrack entries with host_map or device_map still held). */
  mappings(): GrantMapping[] {
    const out: GrantMapping[] = [];
    for (const [mapper, t] of this.tables) {
      t.maptrack.forEach((m, handle) => {
        if (!m) return;
        const g: GrantMapping = { granter: m.granter, ref: m.ref, mfn: m.mfn, mapper, handle, readonly: (m.flags & GNTMAP_readonly) !== 0, flags: m.flags };
        if (m.hostAddr !== undefined) g.hostAddr = m.hostAddr;
        if (m.installed && m.flags & GNTMAP_host_map) g.installed = true;
        out.push(g);
      });
    }
    return out;
  }

  /**
   * Invariants, one line per violation: every mapping's active entry is pinned by its mapper for
   * its frame; pins equal the mappings by kind; a pinned entry is still a grant (permit_access,
   * domid = mapper, not readonly while pinned writable) with GTF_reading, and GTF_writing exactly
   * while a writable pin exists; an unpinned entry has neither; a live granter owns a mapped frame.
   * The shared entry is checked only while it holds what Xen last wrote there: the granter may
   * rewrite its own entries at any time (it is its memory), which changes nothing Xen relies on.
   */
  audit(): string[] {
    const out: string[] = [];
    const counted = new Map<string, Active>();
    for (const m of this.mappings()) {
      const rt = this.tables.get(m.granter);
      const act = rt?.active.get(m.ref);
      const at = `d${m.mapper} handle ${m.handle} (d${m.granter} ref ${m.ref})`;
      if (!rt || !act) {
        out.push(`${at}: mapping without an active grant entry`);
        continue;
      }
      if (act.mapper !== m.mapper) out.push(`${at}: active entry pinned by d${act.mapper}`);
      if (act.mfn !== m.mfn) out.push(`${at}: maps mfn ${m.mfn}, active entry has ${act.mfn}`);
      const key = `${m.granter}:${m.ref}`;
      const c = counted.get(key) ?? { hostR: 0, hostW: 0, devR: 0, devW: 0, mapper: m.mapper, mfn: m.mfn };
      const k = m.readonly ? 'R' : 'W';
      if (m.flags & GNTMAP_host_map) c[`host${k}`]++;
      if (m.flags & GNTMAP_device_map) c[`dev${k}`]++;
      counted.set(key, c);
    }
    for (const [domid, t] of this.tables) {
      for (const [ref, act] of t.active) {
        const at = `d${domid} ref ${ref}`;
        const c = counted.get(`${domid}:${ref}`);
        if (!c || c.hostR !== act.hostR || c.hostW !== act.hostW || c.devR !== act.devR || c.devW !== act.devW) {
          out.push(`${at}: pins (host r${act.hostR}/w${act.hostW}, dev r${act.devR}/w${act.devW}) do not match its mappings`);
        }
        const flags = t.flags(ref);
        const writable = act.hostW + act.devW > 0;
        // The shared entry as Xen left it when it pinned or unpinned: a granter that rewrote its
        // own entry since only changed its own memory (Xen keeps the pin and the frame; the
        // mapping does not depend on the entry any more).
        const writer = t.lastWriter(ref);
        if (writer === 'never') out.push(`${at}: pinned, but Xen never wrote the entry's status`);
        else if (writer === 'xen') {
          if ((flags & GTF_type_mask) !== GTF_permit_access) out.push(`${at}: entry ended while mapped (flags ${flags.toString(16)})`);
          if (t.domid_(ref) !== act.mapper) out.push(`${at}: entry grants d${t.domid_(ref)}, mapped by d${act.mapper}`);
          if (writable && flags & GTF_readonly) out.push(`${at}: readonly grant mapped writable`);
          if (!(flags & GTF_reading)) out.push(`${at}: pinned without GTF_reading`);
          if (writable !== ((flags & GTF_writing) !== 0)) out.push(`${at}: GTF_writing ${flags & GTF_writing ? 'set' : 'clear'} with ${writable ? 'a' : 'no'} writable pin`);
        }
        const rd = this.host.domain(domid);
        if (!t.zombie && rd && rd.ft.owner(act.mfn) !== domid) out.push(`${at}: mapped mfn ${act.mfn} is not d${domid}'s`);
      }
      if (t.zombie) continue;
      for (let ref = 0; ref < t.nrEntries; ref++) {
        if (t.active.has(ref)) continue;
        const flags = t.flags(ref);
        // Only Xen's own write counts: a guest may set any bit in its own entries.
        if (flags & (GTF_reading | GTF_writing) && t.lastWriter(ref) === 'xen') out.push(`d${domid} ref ${ref}: GTF_reading/GTF_writing set with no pin`);
      }
    }
    return out;
  }
}

/** PGT_writable_page references a mapping of these kinds holds (gnttab_host_mapping_get_page_type on x86). */
function writableTypeRefs(kinds: number, translated: boolean): number {
  if (kinds & GNTMAP_readonly) return 0;
  return (kinds & GNTMAP_device_map ? 1 : 0) + (kinds & GNTMAP_host_map && !translated ? 1 : 0);
}

/** put_page_type of a PGT_writable_page reference (no table to free: the frame is plain memory). */
function putWritableType(ft: FrameTable, mfn: number): void {
  const n = ft.typeCount(mfn);
  if (n <= 0 || ft.type(mfn) !== PGT_writable_page) throw new Error(`put_page_type underflow on granted mfn ${mfn}`);
  ft.setTypeCount(mfn, n - 1);
  if (n === 1) ft.setFlags(mfn, ft.flags(mfn) & ~PGT_validated);
}

/** A grant entry under check: its table, ref, active entry (if pinned) and the domain pinning it. */
interface Granted {
  table: GrantTable;
  ref: number;
  act: Active | undefined;
  mapper: number;
}

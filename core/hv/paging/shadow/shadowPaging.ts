/**
 * Shadow paging (after xen/arch/x86/mm/shadow/): the guest keeps its own tables in guest-physical
 * terms; the hardware walks shadow tables that Xen builds from them, holding machine frames.
 *
 *  - Shadows are built lazily: a fresh shadow table is empty, and the hardware's #PF on a missing
 *    shadow entry exits to Xen, which walks the guest's tables in software and propagates the
 *    path (a "hidden" fault the guest never sees), prefetching neighbouring L1 entries.
 *  - Guest tables are write-protected: a guest store into a shadowed table traps and is emulated,
 *    and the new entry propagated. Two consecutive zeroing writes to one table unshadow it (Xen's
 *    early-unshadow heuristic: the table is being torn down).
 *  - Out-of-sync L1s (SHOPT_OUT_OF_SYNC): on a write fault to a shadowed L1, Xen may instead let
 *    the guest write it directly, keeping a snapshot; the shadow is resynced on the guest's next
 *    TLB flush or CR3 write, and one entry on INVLPG. At most SHADOW_OOS_PAGES per vCPU.
 *  - CR3 writes and INVLPG exit. Guest 2 MiB pages are splintered into 4 KiB "fl1" shadows, so
 *    a shadow walk is always four references.
 *  - The shadow pool is bounded (the domain's shadow allocation); when it runs out, shadows of
 *    top-level tables not in use are torn down, and as a last resort everything is.
 */
import { C, Vx } from '../../../machine/counters.js';
import type { CostTable } from '../../../machine/cost.js';
import type { Counters } from '../../../machine/counters.js';
import type { MachineMemory } from '../../../machine/memory.js';
import { PTE_A, PTE_D, PTE_NX, PTE_P, PTE_PS, PTE_RW, PTE_US, pteFlags, pteFrame, pteHi, pteLo } from '../../../machine/pte.js';

/** Xen: SHADOW_OOS_PAGES out-of-sync L1s per vCPU. */
export const SHADOW_OOS_PAGES = 3;
/** Xen: PREFETCH_DISTANCE entries propagated around a hidden fault's L1 entry. */
export const PREFETCH_DISTANCE = 32;

export interface ShadowOwner {
  readonly counters: Counters;
  readonly p2m: Int32Array;
  /** Flush this domain's TLB entries (all of its VPID) on its pCPU. */
  flushTlb(): void;
  /** Invalidate one page in the TLB. */
  invlpg(va: number): void;
}

/** Result of the guest-table walk Xen does in software on a shadow fault. */
export const enum GuestWalk {
  Ok = 0,
  /** The guest's own tables do not allow the access: inject #PF into the guest. */
  GuestFault = 1,
}

const PROPAGATED = PTE_P | PTE_RW | PTE_US | PTE_NX;

export class ShadowPaging {
  /** guest table gfn → slot of its shadow, or -1. */
  private readonly shadowOf: Int32Array;
  /** guest superpage base gfn → slot of its fl1 shadow. */
  private readonly fl1Of = new Map<number, number>();
  // Per pool slot:
  private readonly slotMfn: Int32Array;
  private readonly slotGfn: Int32Array;
  private readonly slotLevel: Int8Array; // 0 = free, 1..4, 5 = fl1
  private readonly slotRefs: Int32Array;
  private readonly slotPinned: Uint8Array;
  /** Up-pointers: parent slot * 512 + index of every shadow entry referencing the slot. */
  private readonly slotParents: number[][];
  private readonly freeSlots: number[] = [];
  private readonly mfnToSlot = new Map<number, number>();
  /** Count of writable shadow L1 mappings of each gfn (to find them when a gfn becomes a table). */
  private readonly writableMaps: Int32Array;
  /** Out-of-sync L1s: gfn per slot of the vCPU's OOS array, and their snapshots. */
  private readonly oosGfn: Int32Array;
  private readonly oosSnap: Uint32Array[];
  private readonly isOos: Uint8Array;
  private lastEmulatedGfn = -1;
  /** Bumped whenever prealloc tears shadows down, so a fault handler knows its path may be gone. */
  private generation = 0;
  /** Guest root gfn the vCPU runs on, and its shadow's slot. */
  guestCr3 = -1;
  private rootSlot = -1;
  readonly poolPages: number;

  constructor(
    private readonly mem: MachineMemory,
    private readonly costs: CostTable,
    private readonly owner: ShadowOwner,
    poolMfns: number[],
    readonly outOfSync: boolean,
  ) {
    const nr = owner.p2m.length;
    this.shadowOf = new Int32Array(nr).fill(-1);
    this.writableMaps = new Int32Array(nr);
    this.isOos = new Uint8Array(nr);
    this.poolPages = poolMfns.length;
    const n = poolMfns.length;
    this.slotMfn = Int32Array.from(poolMfns);
    this.slotGfn = new Int32Array(n).fill(-1);
    this.slotLevel = new Int8Array(n);
    this.slotRefs = new Int32Array(n);
    this.slotPinned = new Uint8Array(n);
    this.slotParents = Array.from({ length: n }, () => []);
    for (let s = n - 1; s >= 0; s--) {
      this.freeSlots.push(s);
      this.mfnToSlot.set(poolMfns[s]!, s);
    }
    this.oosGfn = new Int32Array(SHADOW_OOS_PAGES).fill(-1);
    this.oosSnap = Array.from({ length: SHADOW_OOS_PAGES }, () => new Uint32Array(1024));
  }

  private get c(): Float64Array {
    return this.owner.counters.c;
  }

  private exit(reason: Vx, handlerCost: number): void {
    const c = this.c;
    c[C.VmExits]++;
    this.owner.counters.vmexits[reason]++;
    c[C.CycHv] += this.costs.vmexit + handlerCost;
  }

  /** Machine frame of the shadow root the hardware walks (CR3). */
  get rootMfn(): number {
    return this.rootSlot >= 0 ? this.slotMfn[this.rootSlot]! : -1;
  }

  isShadowed(gfn: number): boolean {
    return this.shadowOf[gfn]! >= 0;
  }

  isOutOfSync(gfn: number): boolean {
    return this.isOos[gfn] === 1;
  }

  shadowCount(): number {
    return this.poolPages - this.freeSlots.length;
  }

  // --- guest memory --------------------------------------------------------------------------

  private gmfn(gfn: number): number {
    return this.owner.p2m[gfn]!;
  }

  // --- pool ------------------------------------------------------------------------------------

  private allocSlot(gfn: number, level: number): number {
    if (this.freeSlots.length === 0) this.prealloc();
    const s = this.freeSlots.pop()!;
    this.slotGfn[s] = gfn;
    this.slotLevel[s] = level;
    this.slotRefs[s] = 0;
    this.slotPinned[s] = 0;
    this.slotParents[s]!.length = 0;
    this.mem.scrub(this.slotMfn[s]!);
    this.c[C.ShadowBuilt]++;
    return s;
  }

  /** Frees pool pages: first top-level shadows not in use, then everything below the current root. */
  private prealloc(): void {
    this.generation++;
    for (let s = 0; s < this.poolPages && this.freeSlots.length === 0; s++) {
      if (this.slotLevel[s] === 4 && this.slotPinned[s] && s !== this.rootSlot) {
        this.slotPinned[s] = 0;
        this.slotRefs[s]!--;
        if (this.slotRefs[s] === 0) this.destroy(s);
      }
    }
    if (this.freeSlots.length === 0 && this.rootSlot >= 0) {
      // shadow_blow_tables: detach everything under the root in use.
      const root = this.rootSlot;
      for (let i = 0; i < 512; i++) this.setShadowEntry(root, i, 0, 0);
    }
    if (this.freeSlots.length === 0) throw new Error('shadow pool exhausted: raise shadowPoolPages');
    this.owner.flushTlb();
  }

  private destroy(s: number): void {
    const level = this.slotLevel[s]!;
    for (let i = 0; i < 512; i++) {
      if (this.mem.readLo(this.slotMfn[s]!, i) !== 0 || this.mem.readHi(this.slotMfn[s]!, i) !== 0) {
        this.setShadowEntry(s, i, 0, 0);
      }
    }
    const gfn = this.slotGfn[s]!;
    if (level === 5) this.fl1Of.delete(gfn);
    else if (gfn >= 0 && this.shadowOf[gfn] === s) {
      this.shadowOf[gfn] = -1;
      if (this.isOos[gfn]) this.dropOos(gfn);
    }
    if (s === this.rootSlot) this.rootSlot = -1;
    this.slotLevel[s] = 0;
    this.slotGfn[s] = -1;
    this.slotParents[s]!.length = 0;
    this.mem.scrub(this.slotMfn[s]!);
    this.freeSlots.push(s);
    this.c[C.ShadowEvictions]++;
  }

  /**
   * Writes one shadow entry, keeping the counts right: child shadows' references (L2+), and the
   * writable-mapping count of the target gfn (L1 and fl1).
   */
  private setShadowEntry(s: number, i: number, lo: number, hi: number): void {
    const mfn = this.slotMfn[s]!;
    const olo = this.mem.readLo(mfn, i);
    const ohi = this.mem.readHi(mfn, i);
    const level = this.slotLevel[s]!;
    if (level === 1 || level === 5) {
      if (olo & PTE_P && olo & PTE_RW) {
        const g = this.slotTargetGfn(s, i, olo, ohi);
        if (g >= 0) this.writableMaps[g]!--;
      }
      this.mem.write(mfn, i, lo, hi);
      if (lo & PTE_P && lo & PTE_RW) {
        const g = this.slotTargetGfn(s, i, lo, hi);
        if (g >= 0) this.writableMaps[g]!++;
      }
      return;
    }
    this.mem.write(mfn, i, lo, hi);
    if (olo & PTE_P) {
      const child = this.mfnToSlot.get(pteFrame(olo, ohi));
      if (child !== undefined) {
        const ps = this.slotParents[child]!;
        const at = ps.indexOf(s * 512 + i);
        if (at >= 0) ps.splice(at, 1);
        this.slotRefs[child]!--;
        if (this.slotRefs[child] === 0) this.destroy(child);
      }
    }
    if (lo & PTE_P) {
      const child = this.mfnToSlot.get(pteFrame(lo, hi))!;
      this.slotRefs[child]!++;
      this.slotParents[child]!.push(s * 512 + i);
    }
  }

  /** gfn a shadow L1 entry maps (machine frame back to the guest through the shadow's source). */
  private slotTargetGfn(s: number, i: number, lo: number, hi: number): number {
    if (this.slotLevel[s] === 5) return this.slotGfn[s]! + i;
    const gl1 = this.gmfn(this.slotGfn[s]!);
    const glo = this.mem.readLo(gl1, i);
    const gframe = pteFrame(glo, this.mem.readHi(gl1, i));
    // The shadow may be stale (out of sync): trust it only if it still agrees with the p2m.
    if (gframe < this.owner.p2m.length && this.owner.p2m[gframe] === pteFrame(lo, hi)) return gframe;
    return this.reverseP2m(pteFrame(lo, hi));
  }

  private reverseP2m(mfn: number): number {
    const p2m = this.owner.p2m;
    for (let g = 0; g < p2m.length; g++) if (p2m[g] === mfn) return g;
    return -1;
  }

  // --- shadow creation and write protection ----------------------------------------------------

  /** The shadow of guest table `gfn` at `level`, built (empty) if absent. */
  private getShadow(gfn: number, level: number): number {
    let s = this.shadowOf[gfn]!;
    if (s >= 0) return s;
    if (this.isOos[gfn]) this.resync(gfn);
    s = this.allocSlot(gfn, level);
    this.shadowOf[gfn] = s;
    this.removeWriteAccess(gfn);
    return s;
  }

  private getFl1(baseGfn: number): number {
    let s = this.fl1Of.get(baseGfn);
    if (s !== undefined) return s;
    s = this.allocSlot(baseGfn, 5);
    this.fl1Of.set(baseGfn, s);
    return s;
  }

  /** sh_remove_write_access: no writable shadow mapping of a guest page table may remain. */
  private removeWriteAccess(gfn: number): void {
    if (this.writableMaps[gfn] === 0) return;
    const target = this.gmfn(gfn);
    for (let s = 0; s < this.poolPages && this.writableMaps[gfn]! > 0; s++) {
      const lv = this.slotLevel[s];
      if (lv !== 1 && lv !== 5) continue;
      const m = this.slotMfn[s]!;
      for (let i = 0; i < 512; i++) {
        const lo = this.mem.readLo(m, i);
        if (lo & PTE_P && lo & PTE_RW && pteFrame(lo, this.mem.readHi(m, i)) === target) {
          this.setShadowEntry(s, i, (lo & ~PTE_RW) >>> 0, this.mem.readHi(m, i));
        }
      }
      this.c[C.CycHv] += 512 * this.costs.shadowResyncEntry;
    }
    this.owner.flushTlb();
  }

  /**
   * _sh_propagate for an L1 entry: the guest entry's frame translated through the p2m; not present
   * until the guest's A bit is set; read-only until D is set, or if the target is a shadowed table.
   */
  private l1eFromGuest(glo: number, ghi: number, gfnTarget: number): { lo: number; hi: number } {
    if (!(glo & PTE_P) || !(glo & PTE_A)) return ZERO;
    if (gfnTarget >= this.owner.p2m.length || this.owner.p2m[gfnTarget]! < 0) return ZERO;
    let flags = pteFlags(glo, ghi) & PROPAGATED;
    flags |= PTE_A | PTE_D;
    if (!(glo & PTE_D) || (this.shadowOf[gfnTarget]! >= 0 && !this.isOos[gfnTarget])) flags &= ~PTE_RW;
    const mfn = this.owner.p2m[gfnTarget]!;
    OUT.lo = pteLo(mfn, flags);
    OUT.hi = pteHi(mfn, flags);
    return OUT;
  }

  /** Propagates guest entry `i` of guest table `gfn` into its shadow slot `s`. */
  private propagate(s: number, i: number): void {
    const level = this.slotLevel[s]!;
    const gmfn = this.gmfn(this.slotGfn[s]!);
    const glo = this.mem.readLo(gmfn, i);
    const ghi = this.mem.readHi(gmfn, i);
    this.c[C.CycHv] += this.costs.shadowPropagate;
    if (level === 1) {
      const e = this.l1eFromGuest(glo, ghi, pteFrame(glo, ghi));
      this.setShadowEntry(s, i, e.lo, e.hi);
      return;
    }
    // Higher levels: point at the child's shadow if it exists; otherwise leave it to a fault.
    if (!(glo & PTE_P) || !(glo & PTE_A)) {
      this.setShadowEntry(s, i, 0, 0);
      return;
    }
    const childGfn = pteFrame(glo, ghi);
    const child = level === 2 && glo & PTE_PS ? this.fl1Of.get(childGfn) : this.shadowOfLevel(childGfn, level - 1);
    if (child === undefined || child < 0) {
      this.setShadowEntry(s, i, 0, 0);
      return;
    }
    const flags = (pteFlags(glo, ghi) & PROPAGATED) | PTE_A | PTE_D;
    const cm = this.slotMfn[child]!;
    this.setShadowEntry(s, i, pteLo(cm, flags), pteHi(cm, flags));
  }

  private shadowOfLevel(gfn: number, level: number): number {
    if (gfn >= this.shadowOf.length) return -1;
    const s = this.shadowOf[gfn]!;
    return s >= 0 && this.slotLevel[s] === level ? s : -1;
  }

  // --- events from the guest -------------------------------------------------------------------

  /**
   * The guest loaded CR3 with `gfn` (a VM exit): resync out-of-sync tables, switch to (or build)
   * the shadow of the new root, and flush the VPID's TLB (shadow mode gets no PCID benefit).
   */
  writeCr3(gfn: number): void {
    this.exit(Vx.CrAccess, this.costs.shadowFault / 2);
    this.resyncAll();
    let s = this.shadowOfLevel(gfn, 4);
    if (s < 0) {
      s = this.getShadow(gfn, 4);
    }
    if (!this.slotPinned[s]) {
      // Top-level shadows stay pinned so that switching back does not rebuild them.
      this.slotPinned[s] = 1;
      this.slotRefs[s]!++;
    }
    this.guestCr3 = gfn;
    this.rootSlot = s;
    this.c[C.TlbFlushes]++;
    this.owner.flushTlb();
  }

  /** Guest INVLPG (a VM exit): resync just that entry if its L1 is out of sync, then flush it. */
  invlpg(va: number): void {
    this.exit(Vx.Invlpg, this.costs.shadowPropagate);
    this.c[C.Invlpgs]++;
    const l1 = this.guestL1Of(va);
    if (l1 >= 0 && this.isOos[l1]) {
      const s = this.shadowOf[l1]!;
      const i = Math.floor(va / 4096) % 512;
      if (s >= 0) this.propagate(s, i);
      this.snapEntry(l1, i);
    }
    this.owner.invlpg(va);
  }

  /** A guest full TLB flush (a CR3 reload): resync everything and flush. */
  flushTlb(): void {
    this.writeCr3(this.guestCr3);
  }

  /**
   * The guest kernel stores into one of its tables. Returns true if the store trapped (it was a
   * shadowed, in-sync table); the caller has already written the guest memory or lets us do it.
   */
  guestWrite(gfn: number, i: number, lo: number, hi: number): void {
    const gm = this.gmfn(gfn);
    const s = this.shadowOf[gfn]!;
    if (s < 0 || this.isOos[gfn]) {
      // Not write-protected (never shadowed, or out of sync): a plain store.
      this.mem.write(gm, i, lo, hi);
      this.c[C.CycGuest] += this.costs.pteWrite;
      return;
    }
    if (this.outOfSync && this.slotLevel[s] === 1 && gfn !== this.guestCr3 && this.unsync(gfn)) {
      this.mem.write(gm, i, lo, hi);
      this.c[C.CycGuest] += this.costs.pteWrite;
      return;
    }
    // Write-protected: #PF exit, x86 emulation of the store, propagation.
    this.exit(Vx.ExceptionNmi, this.costs.emulateWrite);
    this.c[C.EmulatedWrites]++;
    this.mem.write(gm, i, lo, hi);
    this.propagate(s, i);
    if (lo === 0 && hi === 0) this.checkForEarlyUnshadow(gfn);
  }

  /** check_for_early_unshadow: two consecutive zeroing writes to one table → unshadow it. */
  private checkForEarlyUnshadow(gfn: number): void {
    if (this.lastEmulatedGfn === gfn && this.shadowOf[gfn]! >= 0 && this.shadowOf[gfn] !== this.rootSlot) {
      this.removeShadows(gfn);
    }
    this.lastEmulatedGfn = gfn;
  }

  /** The guest is reusing `gfn` as an ordinary page (it zeroes it): stale shadows go. */
  guestReusesPage(gfn: number): void {
    const s = this.shadowOf[gfn]!;
    if (s < 0 || s === this.rootSlot) return;
    if (!this.isOos[gfn]) {
      // The zeroing stores trap; the second one unshadows (early unshadow).
      this.exit(Vx.ExceptionNmi, this.costs.emulateWrite);
      this.exit(Vx.ExceptionNmi, this.costs.emulateWrite);
      this.c[C.EmulatedWrites] += 2;
    }
    this.removeShadows(gfn);
  }

  /** sh_remove_shadows: unhook the shadow of `gfn` from every parent and free it. */
  removeShadows(gfn: number): void {
    const s = this.shadowOf[gfn]!;
    if (s < 0 || s === this.rootSlot) return;
    if (this.isOos[gfn]) this.dropOos(gfn);
    if (this.slotPinned[s]) {
      this.slotPinned[s] = 0;
      this.slotRefs[s]!--;
    }
    const parents = this.slotParents[s]!.slice();
    for (const p of parents) this.setShadowEntry(Math.floor(p / 512), p % 512, 0, 0);
    if (this.shadowOf[gfn] === s && this.slotRefs[s] === 0) this.destroy(s);
    this.owner.flushTlb();
  }

  // --- out of sync -----------------------------------------------------------------------------

  private unsync(gfn: number): boolean {
    const slot = gfn % SHADOW_OOS_PAGES;
    const prev = this.oosGfn[slot]!;
    if (prev >= 0) this.resync(prev);
    // The write fault that unsyncs: exit, the software walk, and the snapshot copy.
    this.exit(Vx.ExceptionNmi, this.costs.shadowFault + this.costs.copyPage);
    const gm = this.gmfn(gfn);
    const snap = this.oosSnap[slot]!;
    for (let i = 0; i < 512; i++) {
      snap[i << 1] = this.mem.readLo(gm, i);
      snap[(i << 1) | 1] = this.mem.readHi(gm, i);
    }
    this.oosGfn[slot] = gfn;
    this.isOos[gfn] = 1;
    this.c[C.ShadowUnsyncs]++;
    return true;
  }

  private snapEntry(gfn: number, i: number): void {
    const slot = gfn % SHADOW_OOS_PAGES;
    if (this.oosGfn[slot] !== gfn) return;
    const gm = this.gmfn(gfn);
    this.oosSnap[slot]![i << 1] = this.mem.readLo(gm, i);
    this.oosSnap[slot]![(i << 1) | 1] = this.mem.readHi(gm, i);
  }

  /** sh_resync: propagate every entry that changed since the snapshot; write-protect again. */
  resync(gfn: number): void {
    const slot = gfn % SHADOW_OOS_PAGES;
    if (this.oosGfn[slot] !== gfn) return;
    const s = this.shadowOf[gfn]!;
    const gm = this.gmfn(gfn);
    const snap = this.oosSnap[slot]!;
    this.c[C.CycHv] += 512 * this.costs.shadowResyncEntry;
    this.isOos[gfn] = 0;
    this.oosGfn[slot] = -1;
    if (s >= 0) {
      for (let i = 0; i < 512; i++) {
        if (snap[i << 1] !== this.mem.readLo(gm, i) || snap[(i << 1) | 1] !== this.mem.readHi(gm, i)) {
          this.propagate(s, i);
        }
      }
    }
    this.c[C.ShadowResyncs]++;
  }

  private dropOos(gfn: number): void {
    const slot = gfn % SHADOW_OOS_PAGES;
    if (this.oosGfn[slot] === gfn) this.oosGfn[slot] = -1;
    this.isOos[gfn] = 0;
  }

  resyncAll(): void {
    for (let k = 0; k < SHADOW_OOS_PAGES; k++) {
      const g = this.oosGfn[k]!;
      if (g >= 0) this.resync(g);
    }
  }

  // --- faults --------------------------------------------------------------------------------

  /** gfn of the guest L1 mapping `va` in the current guest tables, or -1. */
  private guestL1Of(va: number): number {
    let gfn = this.guestCr3;
    for (let level = 4; level > 1; level--) {
      const i = Math.floor(va / 2 ** (3 + 9 * level)) % 512;
      const gm = this.gmfn(gfn);
      const lo = this.mem.readLo(gm, i);
      if (!(lo & PTE_P) || lo & PTE_PS) return -1;
      gfn = pteFrame(lo, this.mem.readHi(gm, i));
    }
    return gfn;
  }

  /**
   * sh_page_fault: the hardware faulted on the shadow tables (a VM exit). Walk the guest tables
   * in software (setting the guest's A/D bits as hardware would); if they allow the access, build
   * the missing shadows along the path and propagate (a hidden fault); otherwise the guest must
   * see the fault. `errorCode` receives the guest's #PF error code.
   */
  pageFault(va: number, write: boolean, user: boolean): GuestWalk {
    this.exit(Vx.ExceptionNmi, this.costs.shadowFault);
    const path = WALK_PATH;
    let gfn = this.guestCr3;
    let rw = true;
    let us = true;
    let leafLevel = 1;
    for (let level = 4; level >= 1; level--) {
      const i = Math.floor(va / 2 ** (3 + 9 * level)) % 512;
      const gm = this.gmfn(gfn);
      const lo = this.mem.readLo(gm, i);
      const hi = this.mem.readHi(gm, i);
      path[level * 2] = gfn;
      path[level * 2 + 1] = i;
      if (!(lo & PTE_P)) return this.guestFault(0, write, user, level);
      rw = rw && (lo & PTE_RW) !== 0;
      us = us && (lo & PTE_US) !== 0;
      if ((write && !rw) || (user && !us)) return this.guestFault(1, write, user, level);
      const isLeaf = level === 1 || (level === 2 && (lo & PTE_PS) !== 0);
      // Guest A/D, as the hardware walker would have set them.
      let set = PTE_A;
      if (isLeaf && write) set |= PTE_D;
      if ((lo & set) !== set) this.mem.orLo(gm, i, set);
      if (isLeaf) {
        leafLevel = level;
        break;
      }
      gfn = pteFrame(lo, hi);
    }
    // Build the shadow path top-down.
    // Down to the L1 shadow (for a guest 2 MiB page, the fl1 shadow that splinters it).
    let s = this.rootSlot;
    for (let level = 4; level > 1; level--) {
      const gt = path[level * 2]!;
      const i = path[level * 2 + 1]!;
      const gm = this.gmfn(gt);
      const glo = this.mem.readLo(gm, i);
      const childGfn = pteFrame(glo, this.mem.readHi(gm, i));
      const sm = this.slotMfn[s]!;
      let child: number;
      const slo = this.mem.readLo(sm, i);
      if (slo & PTE_P) {
        child = this.mfnToSlot.get(pteFrame(slo, this.mem.readHi(sm, i)))!;
      } else {
        const gen = this.generation;
        child = level === 2 && glo & PTE_PS ? this.getFl1(childGfn) : this.getShadow(childGfn, level - 1);
        // If making room tore down part of this path, start the walk again.
        if (gen !== this.generation) return this.pageFault(va, write, user);
        this.propagate(s, i);
      }
      s = child;
    }
    const i1 = Math.floor(va / 4096) % 512;
    if (leafLevel === 2) {
      // fl1: splinter the guest 2 MiB page into 4 KiB shadow entries.
      const gt = path[4]!;
      const i2 = path[5]!;
      const gm = this.gmfn(gt);
      const glo = this.mem.readLo(gm, i2);
      const ghi = this.mem.readHi(gm, i2);
      const base = pteFrame(glo, ghi);
      for (let k = 0; k < PREFETCH_DISTANCE && i1 + k < 512; k++) {
        const e = this.l1eFromGuest(glo, ghi, base + i1 + k);
        this.c[C.CycHv] += this.costs.shadowPropagate;
        this.setShadowEntry(s, i1 + k, e.lo, e.hi);
      }
    } else {
      this.propagate(s, i1);
      // sh_prefetch: neighbouring entries that are present in the guest but empty in the shadow.
      const sm = this.slotMfn[s]!;
      const gm = this.gmfn(this.slotGfn[s]!);
      for (let k = 1; k < PREFETCH_DISTANCE && i1 + k < 512; k++) {
        if (!(this.mem.readLo(gm, i1 + k) & PTE_P)) break;
        if (this.mem.readLo(sm, i1 + k) & PTE_P) continue;
        this.propagate(s, i1 + k);
      }
      if (this.isOos[this.slotGfn[s]!]) this.snapEntry(this.slotGfn[s]!, i1);
    }
    this.c[C.PfHidden]++;
    return GuestWalk.Ok;
  }

  /** The fault is the guest's: the exit re-injects #PF; the error code is in `lastErrorCode`. */
  lastErrorCode = 0;
  lastFaultLevel = 0;
  private guestFault(present: number, write: boolean, user: boolean, level: number): GuestWalk {
    this.lastErrorCode = present | (write ? 2 : 0) | (user ? 4 : 0);
    this.lastFaultLevel = level;
    return GuestWalk.GuestFault;
  }

  // --- auditor ---------------------------------------------------------------------------------

  /**
   * Checks the shadow invariants: no writable shadow mapping of an in-sync guest page table; every
   * shadow L1 entry maps what its guest entry (or fl1 superpage) says, through the p2m; reference
   * counts equal references. Returns violations.
   */
  audit(owns: (mfn: number) => boolean = () => true): string[] {
    const out: string[] = [];
    const refs = new Int32Array(this.poolPages);
    for (let s = 0; s < this.poolPages; s++) {
      const lv = this.slotLevel[s]!;
      if (lv === 0) continue;
      if (this.slotPinned[s]) refs[s]!++;
      const m = this.slotMfn[s]!;
      for (let i = 0; i < 512; i++) {
        const lo = this.mem.readLo(m, i);
        if (!(lo & PTE_P)) continue;
        const hi = this.mem.readHi(m, i);
        const frame = pteFrame(lo, hi);
        if (lv >= 2 && lv <= 4) {
          const child = this.mfnToSlot.get(frame);
          if (child === undefined) out.push(`shadow L${lv} (gfn ${this.slotGfn[s]}) entry ${i} points outside the shadow pool`);
          else refs[child]!++;
          continue;
        }
        if (!owns(frame)) out.push(`shadow slot ${s} entry ${i} maps mfn ${frame}, which the domain does not own`);
        const g = this.slotTargetGfn(s, i, lo, hi);
        if (g >= 0 && lo & PTE_RW && this.shadowOf[g]! >= 0 && !this.isOos[g]) {
          out.push(`writable shadow mapping of guest page table gfn ${g} (shadow slot ${s} entry ${i})`);
        }
        if (lv === 1 && !this.isOos[this.slotGfn[s]!]) {
          const gm = this.gmfn(this.slotGfn[s]!);
          const glo = this.mem.readLo(gm, i);
          const gg = pteFrame(glo, this.mem.readHi(gm, i));
          if (!(glo & PTE_P) || this.owner.p2m[gg] !== frame) {
            out.push(`shadow L1 of gfn ${this.slotGfn[s]} entry ${i} maps mfn ${frame}, guest entry says gfn ${gg}`);
          }
        }
      }
    }
    for (let s = 0; s < this.poolPages; s++) {
      if (this.slotLevel[s] !== 0 && refs[s] !== this.slotRefs[s]) {
        out.push(`shadow slot ${s} (L${this.slotLevel[s]}, gfn ${this.slotGfn[s]}) has refcount ${this.slotRefs[s]} but ${refs[s]} references`);
      }
    }
    return out;
  }
}

const ZERO = Object.freeze({ lo: 0, hi: 0 });
const OUT = { lo: 0, hi: 0 };
const WALK_PATH = new Float64Array(10);

/**
 * Shadow paging (after xen/arch/x86/mm/shadow/): the guest keeps its own tables in guest-physical
 * terms; the hardware walks shadow tables that Xen builds from them, holding machine frames.
 *
 * This is the paging mode's face to the rest of the hypervisor (Xen's struct paging_mode hooks:
 * page_fault, invlpg, update_cr3, write_guest_entry). The work is in the files beside it:
 *   pool.ts       shadow pages: allocation, the bounded pool, linking entries, unshadowing
 *   propagate.ts  guest entry → shadow entry; emulated writes to write-protected guest tables
 *   fault.ts      sh_page_fault: hidden faults build shadows, guest faults are reflected
 *   oos.ts        out-of-sync L1s and their resync
 *   audit.ts      the shadow code's own invariants
 *   private.ts    the state they share
 *
 * CR3 writes and INVLPG exit.
 */
import { tableIndex } from '../../../base/types.js';
import { C, Vx } from '../../../machine/counters.js';
import type { CostTable } from '../../../machine/cost.js';
import type { MachineMemory } from '../../../machine/memory.js';
import { PTE_P, PTE_PS, pteFrame } from '../../../machine/pte.js';
import { shadowAuditTables } from './audit.js';
import { shPageFault, type GuestWalk } from './fault.js';
import { oosSnapshotEntry, shResync, shResyncAll } from './oos.js';
import { getShadowStatus, shadowSetEntry, shMakeShadow, shRemoveShadows } from './pool.js';
import { ShadowDomain, type ShadowOwner } from './private.js';
import { shGuestReusesPage, shGuestWrite, shPropagate } from './propagate.js';

export class ShadowPaging {
  private readonly sh: ShadowDomain;

  constructor(mem: MachineMemory, costs: CostTable, owner: ShadowOwner, poolMfns: number[], outOfSync: boolean, earlyUnshadow = true) {
    this.sh = new ShadowDomain(mem, costs, owner, poolMfns, outOfSync, earlyUnshadow);
  }

  get poolPages(): number {
    return this.sh.poolPages;
  }

  get outOfSync(): boolean {
    return this.sh.outOfSync;
  }

  /** Xen's SHOPT_EARLY_UNSHADOW: zeroing writes unshadow a table being torn down. */
  get earlyUnshadow(): boolean {
    return this.sh.earlyUnshadow;
  }

  /** Guest root gfn the vCPU runs on. */
  get guestCr3(): number {
    return this.sh.guestCr3;
  }

  /** The last guest fault's #PF error code, and the guest level it was found at. */
  get lastErrorCode(): number {
    return this.sh.lastErrorCode;
  }

  get lastFaultLevel(): number {
    return this.sh.lastFaultLevel;
  }

  /** Machine frame of the shadow root the hardware walks (CR3). */
  get rootMfn(): number {
    return this.sh.rootSlot >= 0 ? this.sh.slotMfn[this.sh.rootSlot]! : -1;
  }

  isShadowed(gfn: number): boolean {
    return this.sh.shadowOf[gfn]! >= 0;
  }

  isOutOfSync(gfn: number): boolean {
    return this.sh.isOos[gfn] === 1;
  }

  shadowCount(): number {
    return this.sh.poolPages - this.sh.freeSlots.length;
  }

  // --- events from the guest -------------------------------------------------------------------

  /**
   * The guest loaded CR3 with `gfn` (a VM exit): resync out-of-sync tables, switch to (or build)
   * the shadow of the new root, and flush the VPID's TLB (shadow mode gets no PCID benefit).
   */
  writeCr3(gfn: number): void {
    const sh = this.sh;
    sh.exit(Vx.CrAccess, sh.costs.shadowFault / 2);
    shResyncAll(sh);
    let s = getShadowStatus(sh, gfn, 4);
    if (s < 0) {
      s = shMakeShadow(sh, gfn, 4);
    }
    if (!sh.slotPinned[s]) {
      // Top-level shadows stay pinned so that switching back does not rebuild them.
      sh.slotPinned[s] = 1;
      sh.slotRefs[s]!++;
    }
    sh.guestCr3 = gfn;
    sh.rootSlot = s;
    sh.c[C.TlbFlushes]++;
    sh.owner.flushTlb();
  }

  /** Guest INVLPG (a VM exit): resync just that entry if its L1 is out of sync, then flush it. */
  invlpg(va: number): void {
    const sh = this.sh;
    sh.exit(Vx.Invlpg, sh.costs.shadowPropagate);
    sh.c[C.Invlpgs]++;
    const l1 = this.guestL1Of(va);
    if (l1 >= 0 && sh.isOos[l1]) {
      const s = sh.shadowOf[l1]!;
      const i = tableIndex(va, 1);
      if (s >= 0) shPropagate(sh, s, i);
      oosSnapshotEntry(sh, l1, i);
    }
    sh.owner.invlpg(va);
  }

  /** A guest full TLB flush (a CR3 reload): resync everything and flush. */
  flushTlb(): void {
    this.writeCr3(this.sh.guestCr3);
  }

  /**
   * The guest kernel stores into one of its tables: a plain store if the table is not
   * write-protected (never shadowed, or out of sync); otherwise it traps and is emulated, or the
   * L1 goes out of sync.
   */
  guestWrite(gfn: number, i: number, lo: number, hi: number): void {
    shGuestWrite(this.sh, gfn, i, lo, hi);
  }

  /** The guest is reusing `gfn` as an ordinary page (it zeroes it): stale shadows go. */
  guestReusesPage(gfn: number): void {
    shGuestReusesPage(this.sh, gfn);
  }

  /** sh_remove_shadows: unhook the shadow of `gfn` from every parent and free it. */
  removeShadows(gfn: number): void {
    shRemoveShadows(this.sh, gfn);
  }

  /**
   * sh_remove_all_mappings: every shadow L1 (and fl1) entry that maps `mfn` is cleared, then the
   * TLB flushed. A brute-force search of the pool, as Xen falls back to, when a grant host
   * mapping goes; skipped for a frame no shadow was filled with.
   */
  removeAllMappings(mfn: number): void {
    if (!this.sh.grantShadowed.delete(mfn)) return; // no shadow was ever filled with it
    this.searchAndClear(mfn, 0);
  }

  /**
   * sh_remove_all_mappings by brute force, for a frame Xen is taking away from the guest (it moved
   * the page): every shadow L1 and fl1 entry that maps `mfn` is cleared (the next access faults
   * and propagates the p2m's new frame), then the TLB flushed. Xen searches the pool this way when
   * its heuristics do not find the mappings; each table searched costs a scan of its 512 entries.
   */
  removeAllMappingsOf(mfn: number): void {
    this.sh.grantShadowed.delete(mfn);
    this.searchAndClear(mfn, 512 * this.sh.costs.shadowResyncEntry);
  }

  /**
   * removeAllMappingsOf for several frames Xen is taking away at once (a decrease_reservation
   * batch): one brute-force pass over the pool clears every L1 and fl1 entry that maps any of them.
   */
  removeAllMappingsOfSet(mfns: ReadonlySet<number>): void {
    const sh = this.sh;
    for (const m of mfns) sh.grantShadowed.delete(m);
    let hit = false;
    for (let s = 0; s < sh.poolPages; s++) {
      const level = sh.slotLevel[s];
      if (level !== 1 && level !== 5) continue;
      const t = sh.slotMfn[s]!;
      sh.c[C.CycHv] += 512 * sh.costs.shadowResyncEntry;
      for (let i = 0; i < 512; i++) {
        const lo = sh.mem.readLo(t, i);
        if (lo & PTE_P && mfns.has(pteFrame(lo, sh.mem.readHi(t, i)))) {
          shadowSetEntry(sh, s, i, 0, 0);
          hit = true;
        }
      }
    }
    if (hit) sh.owner.flushTlb();
  }

  /** Clears every L1 and fl1 shadow entry mapping `mfn`, charging `perTable` per table searched; flushes if any. */
  private searchAndClear(mfn: number, perTable: number): void {
    const sh = this.sh;
    let hit = false;
    for (let s = 0; s < sh.poolPages; s++) {
      const level = sh.slotLevel[s];
      if (level !== 1 && level !== 5) continue;
      const m = sh.slotMfn[s]!;
      sh.c[C.CycHv] += perTable;
      for (let i = 0; i < 512; i++) {
        const lo = sh.mem.readLo(m, i);
        if (lo & PTE_P && pteFrame(lo, sh.mem.readHi(m, i)) === mfn) {
          shadowSetEntry(sh, s, i, 0, 0);
          hit = true;
        }
      }
    }
    if (hit) sh.owner.flushTlb();
  }

  /** sh_resync: bring out-of-sync L1 `gfn` back in sync and write-protect it again. */
  resync(gfn: number): void {
    shResync(this.sh, gfn);
  }

  resyncAll(): void {
    shResyncAll(this.sh);
  }

  /** sh_page_fault: see fault.ts. `lastErrorCode` holds a guest fault's #PF error code. */
  pageFault(va: number, write: boolean, user: boolean): GuestWalk {
    return shPageFault(this.sh, va, write, user);
  }

  /** The shadow invariants (audit.ts); `owns` says which machine frames the domain owns. */
  audit(owns: (mfn: number) => boolean = () => true): string[] {
    return shadowAuditTables(this.sh, owns);
  }

  /** gfn of the guest L1 mapping `va` in the current guest tables, or -1. */
  private guestL1Of(va: number): number {
    const sh = this.sh;
    let gfn = sh.guestCr3;
    for (let level = 4; level > 1; level--) {
      const i = tableIndex(va, level);
      const gm = sh.gmfn(gfn);
      const lo = sh.mem.readLo(gm, i);
      if (!(lo & PTE_P) || lo & PTE_PS) return -1;
      gfn = pteFrame(lo, sh.mem.readHi(gm, i));
    }
    return gfn;
  }
}

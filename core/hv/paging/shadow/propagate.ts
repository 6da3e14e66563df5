/**
 * Guest entry → shadow entry (after xen/arch/x86/mm/shadow/multi.c's _sh_propagate and
 * validate_glNe, and hvm.c's emulated writes).
 *
 * Guest tables are write-protected: a guest store into a shadowed table traps and is emulated,
 * and the new entry propagated. Two consecutive zeroing writes to one table unshadow it (Xen's
 * early-unshadow heuristic, SHOPT_EARLY_UNSHADOW: the table is being torn down). With the
 * heuristic off (a domain's `shadowEarlyUnshadow: false`), a table stays shadowed, and traced,
 * until its shadow is evicted or a user-mode write shows it is data again (fault.ts).
 */
import { C, Vx } from '../../../machine/counters.js';
import { PTE_A, PTE_D, PTE_NX, PTE_P, PTE_PS, PTE_RW, PTE_US, pteFlags, pteFrame, pteHi, pteLo } from '../../../machine/pte.js';
import { shUnsync } from './oos.js';
import { getShadowStatus, shadowSetEntry, shRemoveShadows } from './pool.js';
import type { ShadowDomain } from './private.js';

const PROPAGATED = PTE_P | PTE_RW | PTE_US | PTE_NX;
const ZERO = Object.freeze({ lo: 0, hi: 0 });
/** One result record, reused: propagation runs on every hidden fault and allocates nothing. */
const OUT = { lo: 0, hi: 0 };

/**
 * _sh_propagate for an L1 entry: the guest entry's frame translated through the p2m; not present
 * until the guest's A bit is set; read-only until D is set, or if the target is a shadowed table.
 */
export function l1eFromGuest(sh: ShadowDomain, glo: number, ghi: number, gfnTarget: number): { lo: number; hi: number } {
  if (!(glo & PTE_P) || !(glo & PTE_A)) return ZERO;
  let mfn = gfnTarget < sh.owner.p2m.length ? sh.owner.p2m[gfnTarget]! : -1;
  // KVM's shadow MMU gets the frame as its TDP path does: through the memslot and qemu's tables.
  if (mfn >= 0 && sh.owner.faultin && sh.owner.faultin(gfnTarget) <= 0) return ZERO;
  let grantRo = false;
  if (mfn < 0) {
    // Not RAM: a p2m_grant_map_rw/ro entry (a grant host mapping), or nothing.
    const g = sh.owner.grantP2m?.get(gfnTarget);
    if (!g) return ZERO;
    mfn = g.mfn;
    grantRo = g.readonly;
    sh.grantShadowed.add(mfn);
  }
  let flags = pteFlags(glo, ghi) & PROPAGATED;
  flags |= PTE_A | PTE_D;
  if (grantRo || !(glo & PTE_D) || (sh.shadowOf[gfnTarget]! >= 0 && !sh.isOos[gfnTarget])) flags &= ~PTE_RW;
  OUT.lo = pteLo(mfn, flags);
  OUT.hi = pteHi(mfn, flags);
  return OUT;
}

/** Propagates guest entry `i` of guest table `gfn` into its shadow slot `s`. */
export function shPropagate(sh: ShadowDomain, s: number, i: number): void {
  const level = sh.slotLevel[s]!;
  const gmfn = sh.gmfn(sh.slotGfn[s]!);
  const glo = sh.mem.readLo(gmfn, i);
  const ghi = sh.mem.readHi(gmfn, i);
  sh.c[C.CycHv] += sh.costs.shadowPropagate;
  if (level === 1) {
    const e = l1eFromGuest(sh, glo, ghi, pteFrame(glo, ghi));
    shadowSetEntry(sh, s, i, e.lo, e.hi);
    return;
  }
  // Higher levels: point at the child's shadow if it exists; otherwise leave it to a fault.
  if (!(glo & PTE_P) || !(glo & PTE_A)) {
    shadowSetEntry(sh, s, i, 0, 0);
    return;
  }
  const childGfn = pteFrame(glo, ghi);
  const child = level === 2 && glo & PTE_PS ? sh.fl1Of.get(childGfn) : getShadowStatus(sh, childGfn, level - 1);
  if (child === undefined || child < 0) {
    shadowSetEntry(sh, s, i, 0, 0);
    return;
  }
  const flags = (pteFlags(glo, ghi) & PROPAGATED) | PTE_A | PTE_D;
  const cm = sh.slotMfn[child]!;
  shadowSetEntry(sh, s, i, pteLo(cm, flags), pteHi(cm, flags));
}

/** The guest's store of (lo, hi) into entry `i` of its table `gfn`: plain, unsyncing, or emulated. */
export function shGuestWrite(sh: ShadowDomain, gfn: number, i: number, lo: number, hi: number): void {
  const gm = sh.gmfn(gfn);
  const s = sh.shadowOf[gfn]!;
  if (s < 0 || sh.isOos[gfn]) {
    // Not write-protected (never shadowed, or out of sync): a plain store.
    sh.mem.write(gm, i, lo, hi);
    sh.c[C.CycGuest] += sh.costs.pteWrite;
    return;
  }
  if (sh.outOfSync && sh.slotLevel[s] === 1 && gfn !== sh.guestCr3 && shUnsync(sh, gfn)) {
    sh.mem.write(gm, i, lo, hi);
    sh.c[C.CycGuest] += sh.costs.pteWrite;
    return;
  }
  // Write-protected: #PF exit, x86 emulation of the store, propagation.
  sh.exit(Vx.ExceptionNmi, sh.costs.emulateWrite);
  sh.c[C.EmulatedWrites]++;
  sh.mem.write(gm, i, lo, hi);
  shPropagate(sh, s, i);
  if (lo === 0 && hi === 0) checkForEarlyUnshadow(sh, gfn);
  else sh.lastEmulatedGfn = -1; // sh_reset_early_unshadow: a non-zero write breaks the run
}

/** check_for_early_unshadow: two consecutive zeroing writes to one table → unshadow it. */
function checkForEarlyUnshadow(sh: ShadowDomain, gfn: number): void {
  if (!sh.earlyUnshadow) return;
  if (sh.lastEmulatedGfn === gfn && sh.shadowOf[gfn]! >= 0 && sh.shadowOf[gfn] !== sh.rootSlot) {
    shRemoveShadows(sh, gfn);
  }
  sh.lastEmulatedGfn = gfn;
}

/**
 * Linux's clear_page on x86-64 is `rep stosq` over 4 KiB: 512 eight-byte stores
 * (arch/x86/lib/clear_page_64.S). Xen's shadow emulator has no rep_stos hook
 * (shadow/hvm.c, hvm_shadow_emulator_ops), so x86_emulate does one repetition per emulation and
 * each store to a write-protected table is its own exit.
 */
export const CLEAR_PAGE_STORES = 512;

/**
 * The guest zeroes `gfn` to reuse it (as a new table or as data). With early unshadow, the
 * first two zeroing stores trap and the second unshadows; without it, every store traps, is
 * emulated and propagated, and the table stays shadowed (zeroed).
 */
export function shGuestReusesPage(sh: ShadowDomain, gfn: number): void {
  const s = sh.shadowOf[gfn]!;
  if (s < 0 || s === sh.rootSlot) return;
  if (!sh.earlyUnshadow) {
    // Out of sync: the stores are plain (the kernel's own zeroing); the resync catches up.
    if (sh.isOos[gfn]) return;
    const gm = sh.gmfn(gfn);
    for (let i = 0; i < CLEAR_PAGE_STORES; i++) {
      sh.exit(Vx.ExceptionNmi, sh.costs.emulateWrite);
      sh.mem.write(gm, i, 0, 0);
      shPropagate(sh, s, i);
    }
    sh.c[C.EmulatedWrites] += CLEAR_PAGE_STORES;
    return;
  }
  if (!sh.isOos[gfn]) {
    // The zeroing stores trap; the second one unshadows (early unshadow).
    sh.exit(Vx.ExceptionNmi, sh.costs.emulateWrite);
    sh.exit(Vx.ExceptionNmi, sh.costs.emulateWrite);
    sh.c[C.EmulatedWrites] += 2;
  }
  shRemoveShadows(sh, gfn);
}

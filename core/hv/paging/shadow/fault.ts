/**
 * The shadow fault handler (after xen/arch/x86/mm/shadow/multi.c's sh_page_fault).
 *
 * Shadows are built lazily: a fresh shadow table is empty, and the hardware's #PF on a missing
 * shadow entry exits to Xen, which walks the guest's tables in software and propagates the path
 * (a "hidden" fault the guest never sees), prefetching neighbouring L1 entries. Guest 2 MiB pages
 * are splintered into 4 KiB "fl1" shadows, so a shadow walk is always four references.
 */
import { tableIndex } from '../../../base/types.js';
import { C, Vx } from '../../../machine/counters.js';
import { PTE_A, PTE_D, PTE_P, PTE_PS, PTE_RW, PTE_US, pteFrame } from '../../../machine/pte.js';
import { oosSnapshotEntry } from './oos.js';
import { shadowSetEntry, shMakeFl1, shMakeShadow, shRemoveShadows } from './pool.js';
import type { ShadowDomain } from './private.js';
import { l1eFromGuest, shPropagate } from './propagate.js';

/** Xen: PREFETCH_DISTANCE entries propagated around a hidden fault's L1 entry. */
export const PREFETCH_DISTANCE = 32;

/** Result of the guest-table walk Xen does in software on a shadow fault. */
export const enum GuestWalk {
  Ok = 0,
  /** The guest's own tables do not allow the access: inject #PF into the guest. */
  GuestFault = 1,
}

/** The guest walk's path, (gfn, index) per level, reused by every fault. */
const WALK_PATH = new Float64Array(10);

/**
 * sh_page_fault: the hardware faulted on the shadow tables (a VM exit). Walk the guest tables
 * in software (setting the guest's A/D bits as hardware would); if they allow the access, build
 * the missing shadows along the path and propagate (a hidden fault); otherwise the guest must
 * see the fault. `errorCode` receives the guest's #PF error code.
 */
export function shPageFault(sh: ShadowDomain, va: number, write: boolean, user: boolean): GuestWalk {
  sh.exit(Vx.ExceptionNmi, sh.costs.shadowFault);
  const path = WALK_PATH;
  let gfn = sh.guestCr3;
  let rw = true;
  let us = true;
  let leafLevel = 1;
  for (let level = 4; level >= 1; level--) {
    const i = tableIndex(va, level);
    const gm = sh.gmfn(gfn);
    const lo = sh.mem.readLo(gm, i);
    const hi = sh.mem.readHi(gm, i);
    path[level * 2] = gfn;
    path[level * 2 + 1] = i;
    if (!(lo & PTE_P)) return guestFault(sh, 0, write, user, level);
    rw = rw && (lo & PTE_RW) !== 0;
    us = us && (lo & PTE_US) !== 0;
    if ((write && !rw) || (user && !us)) return guestFault(sh, 1, write, user, level);
    const isLeaf = level === 1 || (level === 2 && (lo & PTE_PS) !== 0);
    // Guest A/D, as the hardware walker would have set them.
    let set = PTE_A;
    if (isLeaf && write) set |= PTE_D;
    if ((lo & set) !== set) sh.mem.orLo(gm, i, set);
    if (isLeaf) {
      leafLevel = level;
      break;
    }
    gfn = pteFrame(lo, hi);
  }
  // "We do not emulate user writes": a user-mode write to a page that is shadowed as a table
  // is taken as a sign it is data again, and its shadows go (multi.c, sh_page_fault).
  if (write && user) {
    const gm = sh.gmfn(path[leafLevel * 2]!);
    const i = path[leafLevel * 2 + 1]!;
    const frame = pteFrame(sh.mem.readLo(gm, i), sh.mem.readHi(gm, i));
    // Through a 2 MiB guest page, the 4 KiB frame inside it that is written.
    const target = leafLevel === 2 ? frame + tableIndex(va, 1) : frame;
    const ts = target < sh.shadowOf.length ? sh.shadowOf[target]! : -1;
    if (ts >= 0 && ts !== sh.rootSlot && !sh.isOos[target]) shRemoveShadows(sh, target);
  }
  // Build the shadow path top-down.
  // Down to the L1 shadow (for a guest 2 MiB page, the fl1 shadow that splinters it).
  let s = sh.rootSlot;
  for (let level = 4; level > 1; level--) {
    const gt = path[level * 2]!;
    const i = path[level * 2 + 1]!;
    const gm = sh.gmfn(gt);
    const glo = sh.mem.readLo(gm, i);
    const childGfn = pteFrame(glo, sh.mem.readHi(gm, i));
    const sm = sh.slotMfn[s]!;
    let child: number;
    const slo = sh.mem.readLo(sm, i);
    if (slo & PTE_P) {
      child = sh.mfnToSlot.get(pteFrame(slo, sh.mem.readHi(sm, i)))!;
    } else {
      const gen = sh.generation;
      child = level === 2 && glo & PTE_PS ? shMakeFl1(sh, childGfn) : shMakeShadow(sh, childGfn, level - 1);
      // If making room tore down part of this path, start the walk again.
      if (gen !== sh.generation) return shPageFault(sh, va, write, user);
      shPropagate(sh, s, i);
    }
    s = child;
  }
  const i1 = tableIndex(va, 1);
  if (leafLevel === 2) {
    // fl1: splinter the guest 2 MiB page into 4 KiB shadow entries.
    const gt = path[4]!;
    const i2 = path[5]!;
    const gm = sh.gmfn(gt);
    const glo = sh.mem.readLo(gm, i2);
    const ghi = sh.mem.readHi(gm, i2);
    const base = pteFrame(glo, ghi);
    for (let k = 0; k < PREFETCH_DISTANCE && i1 + k < 512; k++) {
      const e = l1eFromGuest(sh, glo, ghi, base + i1 + k);
      sh.c[C.CycHv] += sh.costs.shadowPropagate;
      shadowSetEntry(sh, s, i1 + k, e.lo, e.hi);
    }
  } else {
    shPropagate(sh, s, i1);
    // sh_prefetch: neighbouring entries that are present in the guest but empty in the shadow.
    const sm = sh.slotMfn[s]!;
    const gm = sh.gmfn(sh.slotGfn[s]!);
    for (let k = 1; k < PREFETCH_DISTANCE && i1 + k < 512; k++) {
      if (!(sh.mem.readLo(gm, i1 + k) & PTE_P)) break;
      if (sh.mem.readLo(sm, i1 + k) & PTE_P) continue;
      shPropagate(sh, s, i1 + k);
    }
    if (sh.isOos[sh.slotGfn[s]!]) oosSnapshotEntry(sh, sh.slotGfn[s]!, i1);
  }
  sh.lastEmulatedGfn = -1; // sh_reset_early_unshadow: a fixed shadow fault breaks a run of zeroing writes
  sh.c[C.PfHidden]++;
  return GuestWalk.Ok;
}

/** The fault is the guest's: the exit re-injects #PF; the error code is in `lastErrorCode`. */
function guestFault(sh: ShadowDomain, present: number, write: boolean, user: boolean, level: number): GuestWalk {
  sh.lastErrorCode = present | (write ? 2 : 0) | (user ? 4 : 0);
  sh.lastFaultLevel = level;
  return GuestWalk.GuestFault;
}

/**
 * The shadow pool (after xen/arch/x86/mm/shadow/common.c and set.c): allocation of shadow pages,
 * the entries that link them (with their reference counts and up-pointers), write protection of
 * shadowed guest tables, and unshadowing.
 *
 * The pool is bounded (the domain's shadow allocation); when it runs out, shadows of top-level
 * tables not in use are torn down, and as a last resort everything is.
 */
import { C } from '../../../machine/counters.js';
import { PTE_P, PTE_RW, pteFrame } from '../../../machine/pte.js';
import { oosDrop, shResync } from './oos.js';
import type { ShadowDomain } from './private.js';

/** shadow_alloc: a scrubbed pool page for the shadow of guest table `gfn` at `level` (5 = fl1). */
export function shadowAlloc(sh: ShadowDomain, gfn: number, level: number): number {
  if (sh.freeSlots.length === 0) shadowPrealloc(sh);
  const s = sh.freeSlots.pop()!;
  sh.slotGfn[s] = gfn;
  sh.slotLevel[s] = level;
  sh.slotRefs[s] = 0;
  sh.slotPinned[s] = 0;
  sh.slotParents[s]!.length = 0;
  sh.mem.scrub(sh.slotMfn[s]!);
  sh.c[C.ShadowBuilt]++;
  return s;
}

/** Frees pool pages: first top-level shadows not in use, then everything below the current root. */
function shadowPrealloc(sh: ShadowDomain): void {
  sh.generation++;
  for (let s = 0; s < sh.poolPages && sh.freeSlots.length === 0; s++) {
    if (sh.slotLevel[s] === 4 && sh.slotPinned[s] && s !== sh.rootSlot) {
      sh.slotPinned[s] = 0;
      sh.slotRefs[s]!--;
      if (sh.slotRefs[s] === 0) shadowFree(sh, s);
    }
  }
  if (sh.freeSlots.length === 0 && sh.rootSlot >= 0) {
    // shadow_blow_tables: detach everything under the root in use.
    const root = sh.rootSlot;
    for (let i = 0; i < 512; i++) shadowSetEntry(sh, root, i, 0, 0);
  }
  if (sh.freeSlots.length === 0) throw new Error('shadow pool exhausted: raise shadowPoolPages');
  sh.owner.flushTlb();
}

/** sh_destroy_shadow / shadow_free: drop the slot's entries (and so its children), return it to the pool. */
export function shadowFree(sh: ShadowDomain, s: number): void {
  const level = sh.slotLevel[s]!;
  for (let i = 0; i < 512; i++) {
    if (sh.mem.readLo(sh.slotMfn[s]!, i) !== 0 || sh.mem.readHi(sh.slotMfn[s]!, i) !== 0) {
      shadowSetEntry(sh, s, i, 0, 0);
    }
  }
  const gfn = sh.slotGfn[s]!;
  if (level === 5) sh.fl1Of.delete(gfn);
  else if (gfn >= 0 && sh.shadowOf[gfn] === s) {
    sh.shadowOf[gfn] = -1;
    if (sh.isOos[gfn]) oosDrop(sh, gfn);
  }
  if (s === sh.rootSlot) sh.rootSlot = -1;
  sh.slotLevel[s] = 0;
  sh.slotGfn[s] = -1;
  sh.slotParents[s]!.length = 0;
  sh.mem.scrub(sh.slotMfn[s]!);
  sh.freeSlots.push(s);
  sh.c[C.ShadowEvictions]++;
}

/**
 * shadow_set_lNe: writes one shadow entry, keeping the counts right: child shadows' references
 * (L2+), and the writable-mapping count of the target gfn (L1 and fl1).
 */
export function shadowSetEntry(sh: ShadowDomain, s: number, i: number, lo: number, hi: number): void {
  const mfn = sh.slotMfn[s]!;
  const olo = sh.mem.readLo(mfn, i);
  const ohi = sh.mem.readHi(mfn, i);
  const level = sh.slotLevel[s]!;
  if (level === 1 || level === 5) {
    if (olo & PTE_P && olo & PTE_RW) {
      const g = shTargetGfn(sh, s, i, olo, ohi);
      if (g >= 0) sh.writableMaps[g]!--;
    }
    sh.mem.write(mfn, i, lo, hi);
    if (lo & PTE_P && lo & PTE_RW) {
      const g = shTargetGfn(sh, s, i, lo, hi);
      if (g >= 0) sh.writableMaps[g]!++;
    }
    return;
  }
  sh.mem.write(mfn, i, lo, hi);
  if (olo & PTE_P) {
    const child = sh.mfnToSlot.get(pteFrame(olo, ohi));
    if (child !== undefined) {
      const ps = sh.slotParents[child]!;
      const at = ps.indexOf(s * 512 + i);
      if (at >= 0) ps.splice(at, 1);
      sh.slotRefs[child]!--;
      if (sh.slotRefs[child] === 0) shadowFree(sh, child);
    }
  }
  if (lo & PTE_P) {
    const child = sh.mfnToSlot.get(pteFrame(lo, hi))!;
    sh.slotRefs[child]!++;
    sh.slotParents[child]!.push(s * 512 + i);
  }
}

/** gfn a shadow L1 entry maps (machine frame back to the guest through the shadow's source). */
export function shTargetGfn(sh: ShadowDomain, s: number, i: number, lo: number, hi: number): number {
  if (sh.slotLevel[s] === 5) return sh.slotGfn[s]! + i;
  const gl1 = sh.gmfn(sh.slotGfn[s]!);
  const glo = sh.mem.readLo(gl1, i);
  const gframe = pteFrame(glo, sh.mem.readHi(gl1, i));
  // The shadow may be stale (out of sync): trust it only if it still agrees with the p2m.
  if (gframe < sh.owner.p2m.length && sh.owner.p2m[gframe] === pteFrame(lo, hi)) return gframe;
  return reverseP2m(sh, pteFrame(lo, hi));
}

/** The gfn backed by `mfn` (Xen's m2p), or -1 if it is not this domain's. */
function reverseP2m(sh: ShadowDomain, mfn: number): number {
  const g = sh.owner.m2p(mfn);
  return g >= 0 && g < sh.owner.p2m.length && sh.owner.p2m[g] === mfn ? g : -1;
}

/** get_shadow_status: the slot shadowing guest table `gfn` at `level`, or -1. */
export function getShadowStatus(sh: ShadowDomain, gfn: number, level: number): number {
  if (gfn >= sh.shadowOf.length) return -1;
  const s = sh.shadowOf[gfn]!;
  return s >= 0 && sh.slotLevel[s] === level ? s : -1;
}

/** sh_make_shadow: the shadow of guest table `gfn` at `level`, built (empty) if absent. */
export function shMakeShadow(sh: ShadowDomain, gfn: number, level: number): number {
  let s = sh.shadowOf[gfn]!;
  if (s >= 0 && sh.slotLevel[s] === level) return s;
  // The lab keeps one shadow per guest frame. A frame freed while still shadowed (early unshadow
  // off) and reused as a table of another level loses its old shadow first; cleared by the
  // kernel's clear_page, that shadow maps nothing.
  if (s >= 0) shRemoveShadows(sh, gfn);
  if (sh.shadowOf[gfn]! >= 0) throw new Error(`shadow: frame ${gfn} is shadowed as the root and as level ${level}`);
  if (sh.isOos[gfn]) shResync(sh, gfn);
  s = shadowAlloc(sh, gfn, level);
  sh.shadowOf[gfn] = s;
  shRemoveWriteAccess(sh, gfn);
  return s;
}

/** make_fl1_shadow: the shadow splintering the guest 2 MiB page at `baseGfn`, built if absent. */
export function shMakeFl1(sh: ShadowDomain, baseGfn: number): number {
  let s = sh.fl1Of.get(baseGfn);
  if (s !== undefined) return s;
  s = shadowAlloc(sh, baseGfn, 5);
  sh.fl1Of.set(baseGfn, s);
  return s;
}

/** sh_remove_write_access: no writable shadow mapping of a guest page table may remain. */
function shRemoveWriteAccess(sh: ShadowDomain, gfn: number): void {
  if (sh.writableMaps[gfn] === 0) return;
  const target = sh.gmfn(gfn);
  for (let s = 0; s < sh.poolPages && sh.writableMaps[gfn]! > 0; s++) {
    const lv = sh.slotLevel[s];
    if (lv !== 1 && lv !== 5) continue;
    const m = sh.slotMfn[s]!;
    for (let i = 0; i < 512; i++) {
      const lo = sh.mem.readLo(m, i);
      if (lo & PTE_P && lo & PTE_RW && pteFrame(lo, sh.mem.readHi(m, i)) === target) {
        shadowSetEntry(sh, s, i, (lo & ~PTE_RW) >>> 0, sh.mem.readHi(m, i));
      }
    }
    sh.c[C.CycHv] += 512 * sh.costs.shadowResyncEntry;
  }
  sh.owner.flushTlb();
}

/** sh_remove_shadows: unhook the shadow of `gfn` from every parent and free it. */
export function shRemoveShadows(sh: ShadowDomain, gfn: number): void {
  const s = sh.shadowOf[gfn]!;
  if (s < 0 || s === sh.rootSlot) return;
  if (sh.isOos[gfn]) oosDrop(sh, gfn);
  if (sh.slotPinned[s]) {
    sh.slotPinned[s] = 0;
    sh.slotRefs[s]!--;
  }
  const parents = sh.slotParents[s]!.slice();
  for (const p of parents) shadowSetEntry(sh, Math.floor(p / 512), p % 512, 0, 0);
  if (sh.shadowOf[gfn] === s && sh.slotRefs[s] === 0) shadowFree(sh, s);
  sh.owner.flushTlb();
}

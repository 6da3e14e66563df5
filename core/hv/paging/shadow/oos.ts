/**
 * Out-of-sync L1 shadows (after xen/arch/x86/mm/shadow/oos.c, SHOPT_OUT_OF_SYNC): on a write
 * fault to a shadowed L1, Xen may instead let the guest write it directly, keeping a snapshot;
 * the shadow is resynced on the guest's next TLB flush or CR3 write, and one entry on INVLPG.
 * At most SHADOW_OOS_PAGES per vCPU.
 */
import { C, Vx } from '../../../machine/counters.js';
import { shPropagate } from './propagate.js';
import { SHADOW_OOS_PAGES, type ShadowDomain } from './private.js';

/** sh_unsync: let the guest write L1 `gfn` directly, evicting the OOS slot's previous page. */
export function shUnsync(sh: ShadowDomain, gfn: number): boolean {
  const slot = gfn % SHADOW_OOS_PAGES;
  const prev = sh.oosGfn[slot]!;
  if (prev >= 0) shResync(sh, prev);
  // The write fault that unsyncs: exit, the software walk, and the snapshot copy.
  sh.exit(Vx.ExceptionNmi, sh.costs.shadowFault + sh.costs.copyPage);
  const gm = sh.gmfn(gfn);
  const snap = sh.oosSnap[slot]!;
  for (let i = 0; i < 512; i++) {
    snap[i << 1] = sh.mem.readLo(gm, i);
    snap[(i << 1) | 1] = sh.mem.readHi(gm, i);
  }
  sh.oosGfn[slot] = gfn;
  sh.isOos[gfn] = 1;
  sh.c[C.ShadowUnsyncs]++;
  return true;
}

/** Refreshes entry `i` of the snapshot of out-of-sync L1 `gfn` (after propagating it). */
export function oosSnapshotEntry(sh: ShadowDomain, gfn: number, i: number): void {
  const slot = gfn % SHADOW_OOS_PAGES;
  if (sh.oosGfn[slot] !== gfn) return;
  const gm = sh.gmfn(gfn);
  sh.oosSnap[slot]![i << 1] = sh.mem.readLo(gm, i);
  sh.oosSnap[slot]![(i << 1) | 1] = sh.mem.readHi(gm, i);
}

/** sh_resync: propagate every entry that changed since the snapshot; write-protect again. */
export function shResync(sh: ShadowDomain, gfn: number): void {
  const slot = gfn % SHADOW_OOS_PAGES;
  if (sh.oosGfn[slot] !== gfn) return;
  const s = sh.shadowOf[gfn]!;
  const gm = sh.gmfn(gfn);
  const snap = sh.oosSnap[slot]!;
  sh.c[C.CycHv] += 512 * sh.costs.shadowResyncEntry;
  sh.isOos[gfn] = 0;
  sh.oosGfn[slot] = -1;
  if (s >= 0) {
    for (let i = 0; i < 512; i++) {
      if (snap[i << 1] !== sh.mem.readLo(gm, i) || snap[(i << 1) | 1] !== sh.mem.readHi(gm, i)) {
        shPropagate(sh, s, i);
      }
    }
  }
  sh.c[C.ShadowResyncs]++;
}

/** oos_hash_remove: forget that `gfn` is out of sync (its shadow is going away). */
export function oosDrop(sh: ShadowDomain, gfn: number): void {
  const slot = gfn % SHADOW_OOS_PAGES;
  if (sh.oosGfn[slot] === gfn) sh.oosGfn[slot] = -1;
  sh.isOos[gfn] = 0;
}

/** sh_resync_all: resync every out-of-sync L1 of the vCPU. */
export function shResyncAll(sh: ShadowDomain): void {
  for (let k = 0; k < SHADOW_OOS_PAGES; k++) {
    const g = sh.oosGfn[k]!;
    if (g >= 0) shResync(sh, g);
  }
}

/**
 * The shadow code's own invariants (after Xen's SHADOW_AUDIT: shadow_audit_tables and the
 * sh_audit_lNe_table checkers in xen/arch/x86/mm/shadow/multi.c). It reads the shadow pages
 * themselves and compares against the pool's bookkeeping; hv/audit.ts calls it for each shadow
 * domain.
 */
import { PTE_P, PTE_RW, pteFrame } from '../../../machine/pte.js';
import { shTargetGfn } from './pool.js';
import type { ShadowDomain } from './private.js';

/**
 * Checks the shadow invariants: no writable shadow mapping of an in-sync guest page table; every
 * shadow L1 entry maps what its guest entry (or fl1 superpage) says, through the p2m; reference
 * counts equal references. Returns violations.
 */
export function shadowAuditTables(sh: ShadowDomain, owns: (mfn: number) => boolean): string[] {
  const out: string[] = [];
  const refs = new Int32Array(sh.poolPages);
  for (let s = 0; s < sh.poolPages; s++) {
    const lv = sh.slotLevel[s]!;
    if (lv === 0) continue;
    if (sh.slotPinned[s]) refs[s]!++;
    if (lv >= 2 && lv <= 4) shAuditLnTable(sh, s, refs, out);
    else shAuditL1Table(sh, s, owns, out);
  }
  shAuditRefcounts(sh, refs, out);
  return out;
}

/** An L2–L4 shadow: every present entry points at a shadow in the pool (counted in `refs`). */
function shAuditLnTable(sh: ShadowDomain, s: number, refs: Int32Array, out: string[]): void {
  const lv = sh.slotLevel[s]!;
  const m = sh.slotMfn[s]!;
  for (let i = 0; i < 512; i++) {
    const lo = sh.mem.readLo(m, i);
    if (!(lo & PTE_P)) continue;
    const frame = pteFrame(lo, sh.mem.readHi(m, i));
    const child = sh.mfnToSlot.get(frame);
    if (child === undefined) out.push(`shadow L${lv} (gfn ${sh.slotGfn[s]}) entry ${i} points outside the shadow pool`);
    else refs[child]!++;
  }
}

/**
 * An L1 or fl1 shadow: it maps only the domain's frames, never a guest table writably (unless
 * that table is out of sync), and an in-sync L1 agrees with its guest entry through the p2m.
 */
function shAuditL1Table(sh: ShadowDomain, s: number, owns: (mfn: number) => boolean, out: string[]): void {
  const lv = sh.slotLevel[s]!;
  const m = sh.slotMfn[s]!;
  for (let i = 0; i < 512; i++) {
    const lo = sh.mem.readLo(m, i);
    if (!(lo & PTE_P)) continue;
    const hi = sh.mem.readHi(m, i);
    const frame = pteFrame(lo, hi);
    if (!owns(frame)) out.push(`shadow slot ${s} entry ${i} maps mfn ${frame}, which the domain does not own`);
    const g = shTargetGfn(sh, s, i, lo, hi);
    if (g >= 0 && lo & PTE_RW && sh.shadowOf[g]! >= 0 && !sh.isOos[g]) {
      out.push(`writable shadow mapping of guest page table gfn ${g} (shadow slot ${s} entry ${i})`);
    }
    if (lv === 1 && !sh.isOos[sh.slotGfn[s]!]) {
      const gm = sh.gmfn(sh.slotGfn[s]!);
      const glo = sh.mem.readLo(gm, i);
      const gg = pteFrame(glo, sh.mem.readHi(gm, i));
      const want = gg < sh.owner.p2m.length && sh.owner.p2m[gg]! >= 0 ? sh.owner.p2m[gg] : sh.owner.grantP2m?.get(gg)?.mfn;
      if (!(glo & PTE_P) || want !== frame) {
        out.push(`shadow L1 of gfn ${sh.slotGfn[s]} entry ${i} maps mfn ${frame}, guest entry says gfn ${gg}`);
      }
    }
  }
}

/** Every shadow's reference count equals the references found (entries and pins). */
function shAuditRefcounts(sh: ShadowDomain, refs: Int32Array, out: string[]): void {
  for (let s = 0; s < sh.poolPages; s++) {
    if (sh.slotLevel[s] !== 0 && refs[s] !== sh.slotRefs[s]) {
      out.push(`shadow slot ${s} (L${sh.slotLevel[s]}, gfn ${sh.slotGfn[s]}) has refcount ${sh.slotRefs[s]} but ${refs[s]} references`);
    }
  }
}

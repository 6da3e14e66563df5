/**
 * Changing a mapped range (Linux's mm/mprotect.c and mm/mmap.c): protection changes with the
 * flushes they need, and munmap freeing the page-table pages no mapping needs any more.
 */
import { PTE_D, PTE_RW } from '../machine/pte.js';
import type { GuestKernel } from './kernel.js';
import type { Mm, Vma } from './mm.js';
import { leafLevelOf } from './pgtable.js';

/** change_protection: make present entries of [start, end) read-only or writable again. */
export function mprotect(k: GuestKernel, mm: Mm, start: number, end: number, write: boolean): number {
  const v = mm.findVma(start);
  if (!v) throw new Error(`mprotect: no mapping at 0x${start.toString(16)}`);
  const leaf = leafLevelOf(v);
  const vas: number[] = [];
  k.ops.lazyBegin();
  k.forEachPte(mm, start, end, leaf, (t, i, va, flags, pfn) => {
    const nf = write ? flags | PTE_RW : flags & ~(PTE_RW | PTE_D);
    if (nf === flags) return;
    k.ops.setPte(t, leaf, i, pfn, nf);
    vas.push(va);
  });
  k.ops.lazyEnd();
  k.ops.syscall();
  k.flushRange(mm, vas);
  return vas.length;
}

export function munmap(k: GuestKernel, mm: Mm, v: Vma): void {
  k.zap(mm, v, v.start, v.end, true);
  mm.vmas.splice(mm.vmas.indexOf(v), 1);
  if (v.hugePfns) {
    const n = 2 ** (v.pageShift - 12);
    for (const base of v.hugePfns) for (let i = 0; i < n; i++) k.freePage(base + i);
  }
  freeTables(k, mm, v.start, v.end);
  k.ops.syscall();
}

/** free_pgtables: free L1 tables whose whole span no remaining VMA overlaps. */
function freeTables(k: GuestKernel, mm: Mm, start: number, end: number): void {
  const span = 2 ** 21;
  for (let base = Math.floor(start / span) * span; base < end; base += span) {
    if (mm.vmas.some((o) => o.start < base + span && o.end > base)) continue;
    const l1 = k.tableFor(mm, base, 1, false);
    if (l1 < 0) continue;
    const pt = mm.tables.get(l1);
    if (!pt || pt.level !== 1) continue;
    k.ops.setPte(pt.parent, 2, pt.index, 0, 0);
    k.ops.releasePt(l1, 1);
    mm.tables.delete(l1);
    k.freePage(l1);
  }
}

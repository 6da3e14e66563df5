/**
 * `relocate` (C9): Xen is asked to move `pages` of a domain's memory to other machine frames (the
 * timeline action, and `xl debug-relocate` in dom0's console).
 *
 *  - A translated guest (shadow, hap): Xen moves each page itself (hv/mm/relocate.ts). The pages
 *    are picked at random over all of its memory, page tables and kernel pages included: the guest
 *    sees nothing, since it names its memory by gfn.
 *  - A PV guest, not cooperating: Xen refuses every page. The guest's page tables, its p2m and the
 *    M2P hold the machine frame numbers, and Xen cannot rewrite a guest's own data structures.
 *  - A PV guest, cooperating (`cooperative`): the guest moves its pages itself, as Linux's balloon
 *    and xen_create_contiguous_region do, through the ABI: a fresh frame from Xen
 *    (XENMEM_increase_reservation, within max_pages), the page copied, its p2m entry and the M2P
 *    (MMU_MACHPHYS_UPDATE) pointed at it, every PTE that mapped the old frame rewritten
 *    (mmu_update for its processes' mappings, update_va_mapping for its direct map), the TLB
 *    flushed, and the old frame given back (XENMEM_decrease_reservation). Taking the new frame
 *    before giving the old one back needs one page of max_pages headroom (libxl leaves
 *    MAXMEM_HEADROOM_PAGES); XENMEM_exchange, which Linux's xen_create_contiguous_region uses,
 *    needs none but hands back a frame without the page's content. The guest can only move
 *    pages whose mappings it can find and change: its page-table pages (pinned, typed by Xen)
 *    and pages another domain maps are refused. It picks among its data and free pages.
 */
import { MMU_MACHPHYS_UPDATE, UVMF_INVLPG } from '../api/public/xen.js';
import type { Rng } from '../base/rng.js';
import { C } from '../machine/counters.js';
import { PTE_A, PTE_D, PTE_P, PTE_RW, pteHi, pteLo } from '../machine/pte.js';
import { DIRECTMAP_BASE } from '../guest/layout.js';
import { relocateGfn, RELOCATE_WHY, type RelocateOutcome } from '../hv/mm/relocate.js';
import type { Mm } from '../guest/mm.js';
import type { Vm } from './vm.js';

export interface RelocationStats {
  requested: number;
  moved: number;
  refused: number;
}

export interface RelocationReport extends RelocationStats {
  /** Why pages were refused, with how many each. */
  reasons: { why: string; pages: number }[];
  /** Each move, old machine frame then new. */
  moves: [number, number][];
}

/** Asks for `pages` of `vm`'s memory to be moved; adds to `vm.relocation` and reports this request. */
export function relocate(vm: Vm, pages: number, cooperative: boolean, rng: Rng): RelocationReport {
  const why = new Map<string, number>();
  const moves: [number, number][] = [];
  const refuse = (reason: string, n = 1) => why.set(reason, (why.get(reason) ?? 0) + n);
  let moved = 0;
  const d = vm.dom;
  if (vm.mode === 'native') throw new Error(`${vm.name} runs on bare metal: there is no hypervisor to move its memory`);
  if (vm.mode !== 'pv') {
    for (const gfn of pick(rng, d.p2m.length, pages, (g) => d.p2m[g]! >= 0)) {
      const old = d.p2m[gfn]!;
      const r = relocateGfn(d.xen, d, gfn);
      if (r === 'moved') {
        moved++;
        moves.push([old, d.p2m[gfn]!]);
      } else refuse(RELOCATE_WHY[r]);
    }
  } else if (!cooperative) {
    refuse(RELOCATE_WHY.pv, pages);
  } else {
    const k = vm.kernel;
    for (const pfn of pick(rng, k.nrUsable, pages, (p) => d.p2m[p]! >= 0)) {
      const old = d.p2m[pfn]!;
      const r = pvMove(vm, pfn);
      if (r === 'moved') {
        moved++;
        moves.push([old, d.p2m[pfn]!]);
      } else refuse(r);
    }
  }
  const refused = pages - moved;
  const s = (vm.relocation ??= { requested: 0, moved: 0, refused: 0 });
  s.requested += pages;
  s.moved += moved;
  s.refused += refused;
  return { requested: pages, moved, refused, reasons: [...why].map(([w, n]) => ({ why: w, pages: n })), moves };
}

/** `n` distinct indices below `limit` that satisfy `ok`, in a seeded random order. */
function pick(rng: Rng, limit: number, n: number, ok: (i: number) => boolean): number[] {
  const all: number[] = [];
  for (let i = 0; i < limit; i++) if (ok(i)) all.push(i);
  return rng.sample(all, n);
}

/** The PV guest moves one of its own pages (see the header). Returns 'moved' or why not. */
function pvMove(vm: Vm, pfn: number): 'moved' | string {
  const d = vm.dom;
  const xen = d.xen;
  const k = vm.kernel;
  const old = d.p2m[pfn]!;
  if (xen.ft.isPageTable(old)) return 'a page-table page: pinned and typed by Xen, the guest does not move it';
  if (k.isPinned(pfn)) return 'a driver’s page (a ring or a DMA queue the device holds by machine address): not movable';
  // Every mapping the guest has of it: its direct map, and its processes' PTEs.
  const ptes: { t: number; i: number; flags: number }[] = [];
  const seen = new Set<Mm>();
  for (const p of k.procs.values()) {
    if (seen.has(p.mm)) continue;
    seen.add(p.mm);
    for (const v of p.mm.vmas) {
      if (v.hugePfns) {
        const n = 2 ** (v.pageShift - 12);
        if (v.hugePfns.some((base) => pfn >= base && pfn < base + n)) return 'part of a hugetlb page: the guest does not break up its huge pages to move one';
        continue;
      }
      k.forEachPte(p.mm, v.start, v.end, 1, (t, i, _va, flags, target) => {
        if (target === pfn) ptes.push({ t, i, flags });
      });
    }
  }
  if (xen.ft.count(old) !== 1 + ptes.length || xen.ft.typeCount(old) > 1 + ptes.length) {
    return 'mapped by someone else (a grant mapping or a foreign map): the guest cannot change those mappings';
  }
  const [m] = xen.increaseReservation(d, 1);
  if (m === undefined) return 'no frame from Xen (increase_reservation: max_pages or free memory)';
  const c = d.counters.c;
  xen.mem.moveFrame(m, old); // the guest's copy (the old frame is given back below)
  c[C.CycGuest] += xen.costs.copyPage;
  d.p2m[pfn] = m;
  const m2p = xen.pvMm.mmuUpdate(d, [{ ptr: m, cmd: MMU_MACHPHYS_UPDATE, lo: 0, hi: 0, pfn }]);
  if (m2p.rc !== 0) throw new Error(`${vm.name}: MMU_MACHPHYS_UPDATE of mfn ${m} failed (${m2p.rc})`);
  // The processes' PTEs (mmu_update through the kernel's pv-ops: they read the new p2m entry).
  for (const e of ptes) vm.ops.setPte(e.t, 1, e.i, pfn, e.flags);
  const flags = PTE_P | PTE_RW | PTE_A | PTE_D;
  const rc = xen.pvMm.updateVaMapping(d, DIRECTMAP_BASE + pfn * 4096, pteLo(m, flags), pteHi(m, flags), UVMF_INVLPG);
  if (rc !== 0) throw new Error(`${vm.name}: Xen refused to map pfn ${pfn} at its new frame (update_va_mapping: ${rc})`);
  if (ptes.length > 0) vm.ops.flushTlb();
  if (xen.decreaseReservation(d, [old]) !== 1) throw new Error(`${vm.name}: Xen kept mfn ${old} after its last mapping went (decrease_reservation)`);
  return 'moved';
}

export type { RelocateOutcome };

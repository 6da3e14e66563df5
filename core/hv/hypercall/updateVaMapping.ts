/**
 * HYPERVISOR_update_va_mapping (Xen's do_update_va_mapping, xen/arch/x86/mm.c): one L1 entry,
 * named by the virtual address it maps, then an optional flush.
 */
import { tableIndex } from '../../base/types.js';
import { EINVAL } from '../../base/errno.js';
import { C, Hc } from '../../machine/counters.js';
import type { MachineMemory } from '../../machine/memory.js';
import { PTE_P, PTE_PS, pteFrame } from '../../machine/pte.js';
import { PGT_l1_page_table } from '../mm/frameTable.js';
import type { PageTypes, PvDomain } from '../mm/pageType.js';
import { UVMF_INVLPG, UVMF_TLB_FLUSH } from '../../api/public/xen.js';
import { hypercallEnter } from './entry.js';

/**
 * do_update_va_mapping: replace the L1 entry that maps `va` in the current address space (found
 * through the guest's own tables, as Xen's guest_map_l1e does), then flush.
 */
export function doUpdateVaMapping(
  mm: PageTypes,
  d: PvDomain,
  va: number,
  lo: number,
  hi: number,
  flags: number,
  inMulticall = false,
): number {
  hypercallEnter(d, mm.costs, Hc.UpdateVaMapping, inMulticall);
  const l1 = guestMapL1e(mm.mem, d.guestCr3, va);
  if (l1 < 0) return EINVAL;
  const index = tableIndex(va, 1);
  if (!mm.getPage(l1, d)) return EINVAL;
  const rc = mm.ft.type(l1) === PGT_l1_page_table ? mm.modEntry(l1, index, lo, hi, d) : EINVAL;
  mm.putPage(l1);
  if (rc !== 0) return rc;
  if (flags === UVMF_TLB_FLUSH) {
    d.counters.c[C.TlbFlushes]++;
    d.flushTlb();
  } else if (flags === UVMF_INVLPG) {
    d.counters.c[C.Invlpgs]++;
    d.invlpg(va);
  }
  return 0;
}

/** guest_map_l1e: machine frame of the L1 table mapping `va` under root `l4`, or -1. */
export function guestMapL1e(mem: MachineMemory, l4: number, va: number): number {
  let table = l4;
  for (let level = 4; level > 1; level--) {
    const i = tableIndex(va, level);
    const lo = mem.readLo(table, i);
    if (!(lo & PTE_P) || lo & PTE_PS) return -1;
    table = pteFrame(lo, mem.readHi(table, i));
  }
  return table;
}

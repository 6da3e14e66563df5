/**
 * The host half of GNTTABOP_map_grant_ref with GNTMAP_host_map: the granted frame put into the
 * mapper's address space, and taken out again at unmap (Xen's create_grant_host_mapping and
 * replace_grant_host_mapping, xen/arch/x86/mm.c, which dispatch on the mapper's paging mode):
 *
 *  PV mapper (xen/arch/x86/pv/grant_table.c, create_grant_pv_mapping / replace_grant_pv_mapping):
 *    host_addr is a linear address in the mapper's current page tables (or, with
 *    GNTMAP_contains_pte, the machine address of the L1 entry itself). The L1 table that maps it
 *    must exist and be a validated L1 the mapper owns ("Could not find L1 PTE for address",
 *    GNTST_general_error); the entry is written with the frame, present, accessed, dirty, NX and RW
 *    unless GNTMAP_readonly (grant_to_pte_flags), and what it held before is released as
 *    put_page_from_l1e does. The references on the granted frame are the grant table's (taken in
 *    map_grant_ref, dropped in unmap_common_complete): the PTE itself holds none. At unmap the entry
 *    must still map the frame ("PTE … doesn't match grant", GNTST_general_error) and is cleared; the
 *    grant table then flushes the mapper's TLB (gnttab_flush_tlb).
 *  Translated mapper, HVM or PVH (create_grant_p2m_mapping / replace_grant_p2m_mapping):
 *    host_addr is a guest-physical address; its gfn gets a p2m entry of type p2m_grant_map_rw or
 *    p2m_grant_map_ro for the frame (guest_physmap_add_entry), which EPT sees at once (ept_set_entry:
 *    R+W, or R only, never X); unmap checks the entry is that grant ("old mapping invalid",
 *    GNTST_general_error), removes it (guest_physmap_remove_page) and invalidates EPT (INVEPT).
 *
 * Departures, each where Xen's path is one the lab's backends never take:
 *  - A PV entry that already maps a frame the mapper does not own (another grant) is refused with
 *    GNTST_general_error; Xen would drop it (put_page_from_l1e, which crashes a domain that
 *    implicitly unmaps a grant PTE).
 *  - A translated mapper maps only at gfns that are not its RAM (Linux's backends use ballooned or
 *    unpopulated pages, so the gfn is empty); Xen would replace a RAM entry.
 *  - Shadow-mode mappers get the p2m entry; their shadows read it on the next fill
 *    (l1eFromGuest), and at unmap every shadow L1 entry mapping the frame is cleared
 *    (sh_remove_all_mappings).
 */
import { GNTMAP_contains_pte, GNTST_general_error, GNTST_okay } from '../../api/public/grant_table.js';
import { tableIndex } from '../../base/types.js';
import { C } from '../../machine/counters.js';
import { PTE_A, PTE_D, PTE_NX, PTE_P, PTE_RW, pteFrame, pteHi, pteLo, PTE_GNTTAB } from '../../machine/pte.js';
import type { Domain } from '../domain.js';
import type { HostMapper } from '../gnttab/gnttab.js';
import { guestMapL1e } from '../hypercall/updateVaMapping.js';
import type { Hypervisor } from '../hypervisor.js';
import { PGT_l1_page_table } from './frameTable.js';

/** Largest gfn a translated mapper may map at: a 4-level EPT covers 48 bits of guest-physical space. */
export const GRANT_GFN_LIMIT = 2 ** 36;

/** A p2m entry of type p2m_grant_map_rw / p2m_grant_map_ro (xen/arch/x86/include/asm/p2m.h). */
export interface GrantP2mEntry {
  mfn: number;
  readonly: boolean;
}

/** grant_to_pte_flags for a host mapping without GNTMAP_application_map (no _PAGE_USER). */
export function grantPteFlags(readonly: boolean): number {
  return PTE_P | PTE_A | PTE_D | PTE_NX | PTE_GNTTAB | (readonly ? 0 : PTE_RW);
}

function isTranslated(d: Domain): boolean {
  return d.mode === 'shadow' || d.mode === 'hap';
}

/** Installs and removes grant host mappings in the mappers' page tables or p2m (GrantTables.hostMapper). */
export class GrantHostMapper implements HostMapper {
  constructor(private readonly xen: Hypervisor) {}

  map(mapper: number, hostAddr: number, mfn: number, readonly: boolean, flags = 0): number {
    const d = this.xen.domain(mapper);
    if (!d || !validAddr(hostAddr, flags)) return GNTST_general_error;
    return isTranslated(d) ? this.mapP2m(d, hostAddr / 4096, mfn, readonly) : this.mapPv(d, hostAddr, mfn, readonly, flags);
  }

  unmap(mapper: number, hostAddr: number, mfn: number, flags = 0): number {
    const d = this.xen.domain(mapper);
    if (!d || !validAddr(hostAddr, flags)) return GNTST_general_error;
    return isTranslated(d) ? this.unmapP2m(d, hostAddr / 4096, mfn) : this.unmapPv(d, hostAddr, mfn, flags);
  }

  /** create_grant_pv_mapping. */
  private mapPv(d: Domain, addr: number, mfn: number, readonly: boolean, flags: number): number {
    const at = pvEntrySlot(this.xen, d, addr, flags);
    if (!at) return GNTST_general_error; // "Could not find L1 PTE for address" (or the PTE's frame is not its L1)
    const [l1, i] = at;
    const va = flags & GNTMAP_contains_pte ? -1 : addr;
    const { mem, ft, pvMm } = this.xen;
    const olo = mem.readLo(l1, i);
    const ohi = mem.readHi(l1, i);
    if (olo & PTE_P && ft.owner(pteFrame(olo, ohi)) !== d.domid) return GNTST_general_error;
    const pte = grantPteFlags(readonly);
    mem.write(l1, i, pteLo(mfn, pte), pteHi(mfn, pte));
    d.counters.c[C.CycHv] += this.xen.costs.validateEntry; // UPDATE_ENTRY: one cmpxchg of the entry
    if (olo & PTE_P) {
      pvMm.putPageFromEntry(1, olo, ohi, l1, d);
      if (va >= 0) d.invlpg(va);
      else d.flushTlb(); // the entry was named by its machine address: which va it maps is not known
    }
    return GNTST_okay;
  }

  /** replace_grant_pv_mapping with no new address: the entry must map the frame, and is cleared. */
  private unmapPv(d: Domain, addr: number, mfn: number, flags: number): number {
    const at = pvEntrySlot(this.xen, d, addr, flags);
    if (!at) return GNTST_general_error;
    const [l1, i] = at;
    const { mem } = this.xen;
    const olo = mem.readLo(l1, i);
    if (!(olo & PTE_P) || pteFrame(olo, mem.readHi(l1, i)) !== mfn) return GNTST_general_error; // "PTE … doesn't match grant"
    mem.write(l1, i, 0, 0);
    d.counters.c[C.CycHv] += this.xen.costs.validateEntry;
    return GNTST_okay;
  }

  /** create_grant_p2m_mapping: a p2m_grant_map_rw/ro entry at an empty gfn, written through to EPT. */
  private mapP2m(d: Domain, gfn: number, mfn: number, readonly: boolean): number {
    if (gfn >= GRANT_GFN_LIMIT) return GNTST_general_error;
    if (gfn < d.p2m.length && d.p2m[gfn]! >= 0) return GNTST_general_error; // RAM there (see the departures)
    if (d.grantP2m.has(gfn)) return GNTST_general_error;
    d.grantP2m.set(gfn, { mfn, readonly });
    d.hap?.setGrantEntry(gfn, mfn, readonly);
    this.xen.iommu?.p2mChanged(d, gfn, mfn, readonly);
    d.counters.c[C.CycHv] += this.xen.costs.validateEntry;
    return GNTST_okay;
  }

  /** replace_grant_p2m_mapping: the gfn must hold this grant; the entry goes, EPT and TLBs are invalidated. */
  private unmapP2m(d: Domain, gfn: number, mfn: number): number {
    const e = d.grantP2m.get(gfn);
    if (!e || e.mfn !== mfn) return GNTST_general_error; // "old mapping invalid"
    d.grantP2m.delete(gfn);
    this.xen.iommu?.p2mChanged(d, gfn, -1);
    d.counters.c[C.CycHv] += this.xen.costs.validateEntry;
    if (d.hap) {
      d.hap.clearGrantEntry(gfn);
      d.mmu.flushNestedTlb(); // INVEPT after removing an EPT entry
    }
    d.shadow?.removeAllMappings(mfn);
    return GNTST_okay;
  }
}

/** host_addr is page-aligned (a linear or guest-physical address), or with GNTMAP_contains_pte, an entry's 8-byte-aligned machine address. */
function validAddr(addr: number, flags: number): boolean {
  return Number.isSafeInteger(addr) && addr >= 0 && addr % (flags & GNTMAP_contains_pte ? 8 : 4096) === 0;
}

/**
 * The L1 entry a PV mapper's host_addr names, as [table mfn, index], or null: the entry of the L1
 * mapping the linear address in its current tables (pv_map_guest_l1e), or with
 * GNTMAP_contains_pte the entry at that machine address (create_grant_pte_mapping); either way
 * the table must be a validated L1 of the mapper's (PGT_l1_page_table, get_page_from_mfn).
 */
function pvEntrySlot(xen: Hypervisor, d: Domain, addr: number, flags: number): [number, number] | null {
  let l1: number;
  let i: number;
  if (flags & GNTMAP_contains_pte) {
    l1 = Math.floor(addr / 4096);
    i = (addr % 4096) / 8;
  } else {
    if (d.guestCr3 < 0) return null;
    l1 = guestMapL1e(xen.mem, d.guestCr3, addr);
    i = tableIndex(addr, 1);
  }
  const ft = xen.ft;
  if (l1 < 0 || l1 >= ft.nrFrames || ft.owner(l1) !== d.domid || ft.type(l1) !== PGT_l1_page_table || ft.typeCount(l1) === 0) return null;
  return [l1, i];
}

/**
 * Where a host mapping lives now: the frame `d`'s tables (PV: the L1 entry for `hostAddr` in its
 * current tables; translated: the p2m grant entry and, under HAP, EPT) map at `hostAddr`, and
 * whether writably; null when nothing maps there. For the auditor and the backends' accesses.
 */
export function hostMappingAt(xen: Hypervisor, d: Domain, hostAddr: number, flags = 0): { mfn: number; writable: boolean } | null {
  if (isTranslated(d)) {
    const e = d.grantP2m.get(hostAddr / 4096);
    if (!e) return null;
    if (d.hap && d.hap.lookup(hostAddr / 4096) !== e.mfn) return null;
    return { mfn: e.mfn, writable: !e.readonly };
  }
  const at = pvEntrySlot(xen, d, hostAddr, flags);
  if (!at) return null;
  const [l1, i] = at;
  const lo = xen.mem.readLo(l1, i);
  if (!(lo & PTE_P)) return null;
  return { mfn: pteFrame(lo, xen.mem.readHi(l1, i)), writable: (lo & PTE_RW) !== 0 };
}

/**
 * Every live host mapping the mapper installed is still there, as granted: one line per mapping
 * whose entry is gone, maps another frame, or is writable where the grant was mapped read-only
 * (or the reverse).
 */
export function auditHostMappings(xen: Hypervisor): string[] {
  const out: string[] = [];
  for (const m of xen.gnttab.mappings()) {
    if (!m.installed || m.hostAddr === undefined) continue;
    const d = xen.domain(m.mapper);
    if (!d) continue;
    const at = `d${m.mapper} handle ${m.handle} (d${m.granter} ref ${m.ref})`;
    const got = hostMappingAt(xen, d, m.hostAddr, m.flags & GNTMAP_contains_pte);
    const where = `0x${m.hostAddr.toString(16)}`;
    if (!got) out.push(`${at}: host mapping at ${where} has no entry (mfn ${m.mfn} expected)`);
    else if (got.mfn !== m.mfn) out.push(`${at}: host mapping at ${where} maps mfn ${got.mfn}, not the granted mfn ${m.mfn}`);
    else if (got.writable === m.readonly) out.push(`${at}: host mapping at ${where} is ${got.writable ? 'writable' : 'read-only'} but was mapped ${m.readonly ? 'read-only' : 'writable'}`);
  }
  return out;
}

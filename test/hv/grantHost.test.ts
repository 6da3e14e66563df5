/**
 * Grant host mappings as page-table entries, against Xen's create_grant_host_mapping /
 * replace_grant_host_mapping (xen/arch/x86/pv/grant_table.c for a PV mapper, the p2m path of
 * xen/arch/x86/mm.c for a translated one) and the references map_grant_ref takes
 * (xen/common/grant_table.c). Values from the public headers: GNTMAP_device_map 1, host_map 2,
 * readonly 4, contains_pte 16; GNTST_okay 0, GNTST_general_error -1; GTF_permit_access 1, GTF_reading 8,
 * GTF_writing 16; PTE bits P 1, RW 2, US 4, A 32, D 64 (Intel SDM Vol. 3A Table 4-19); EPT R 1,
 * W 2, X 4 (Vol. 3C Table 29-6); PGT_l1_page_table 1, PGT_writable_page 6 (the lab's numbering,
 * core/hv/mm/frameTable.ts); EINVAL -22; #PF error code P 1, W 2.
 */
import { describe, expect, it } from 'vitest';
import { validateScenario, type DomainConfig } from '../../core/api/index.js';
import { tableIndex } from '../../core/base/types.js';
import { pteFrame } from '../../core/machine/pte.js';
import { GrantTableFrontend } from '../../core/guest/gnttab.js';
import { Hypervisor } from '../../core/hv/hypervisor.js';
import { DOMID_FREE, DOMID_XEN } from '../../core/hv/mm/frameTable.js';
import { GrantHostMapper } from '../../core/hv/mm/grantHost.js';
import { costsOf, mmuConfigOf } from '../../core/sim/run.js';
import { auditMachine, machineAuditor } from '../../core/vm/audit.js';
import { buildDomain } from '../../core/vm/builder.js';
import { GrantPages } from '../../core/vm/io/grantPages.js';
import type { Vm } from '../../core/vm/vm.js';

const OKAY = 0;
const GENERAL_ERROR = -1;
const GNTMAP_device_map = 1;
const GNTMAP_host_map = 2;
const GNTMAP_readonly = 4;
const GNTMAP_contains_pte = 16;
const GTF_permit_access = 1;
const GTF_reading = 8;
const GTF_writing = 16;
const P = 1;
const RW = 2;
const US = 4;
const A = 32;
const D = 64;
const EPT_R = 1;
const EPT_W = 2;
const EPT_X = 4;
const PGT_none = 0;
const PGT_l1_page_table = 1;
const PGT_writable_page = 6;
const EINVAL = -22;
const PFEC_PRESENT = 1;
const PFEC_WRITE = 2;
const FAULT_PAGE = 1;
const FAULT_EPT = 2;

/** A backend `be` (the mapper, in `mode`) and a PV frontend `fe` (the granter), both booted, with dom0. */
function machine(mode: 'pv' | 'hap' | 'shadow' = 'pv') {
  const v = validateScenario({
    name: 'gnt',
    machine: { memoryMiB: 1024, pcpus: 1 },
    hypervisor: 'xen',
    domains: [
      { name: 'be', mode, memoryMiB: 64, vcpus: 1 },
      { name: 'fe', mode: 'pv', memoryMiB: 64, vcpus: 1 },
    ],
  });
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  const xen = new Hypervisor(v.scenario, costsOf(v.scenario), mmuConfigOf(v.scenario));
  const dom0 = buildDomain(xen, { ...v.scenario.domains[0], name: 'Domain-0', role: 'dom0', mode: 'pv' } as DomainConfig);
  const be = buildDomain(xen, v.scenario.domains[0]!);
  const fe = buildDomain(xen, v.scenario.domains[1]!);
  xen.gnttab.hostMapper = new GrantHostMapper(xen);
  const grants = new GrantTableFrontend(xen.mem, xen.gnttab.setupTable(fe.domid, 1).frames, fe.domid);
  const pages = new GrantPages(be);
  xen.contextSwitch(be.dom);
  const vms: Vm[] = [dom0, be, fe];
  return { xen, dom0, be, fe, grants, pages, vms, audit: () => auditMachine(xen, vms) };
}

type M = ReturnType<typeof machine>;

/** A page of fe granted to be (`readonly` as asked): its pfn, mfn and ref. */
function grant(m: M, readonly: boolean, pfn = 100) {
  const mfn = m.fe.dom.p2m[pfn]!;
  return { pfn, mfn, ref: m.grants.grantForeignAccess(m.be.domid, mfn, readonly) };
}

const walk = (m: M, va: number, write = false, user = false) => m.be.mmu.referenceTranslate(m.be.dom.ctx, va, write, user);

/** The L1 entry of be's current tables for `va` (lo word), found by walking its tables by hand. */
function l1Entry(m: M, va: number): number {
  const l1 = m.xen.pvMm.findL1(m.be.dom.guestCr3, va);
  return m.xen.mem.readLo(l1, tableIndex(va, 1));
}

describe('grant host mappings of a PV mapper: an L1 entry in its page tables', () => {
  it('a ballooned grant page has an L1 entry, empty: nothing is mapped there', () => {
    const m = machine();
    const va = m.pages.alloc();
    expect(m.xen.pvMm.findL1(m.be.dom.guestCr3, va)).toBeGreaterThanOrEqual(0);
    expect(l1Entry(m, va)).toBe(0);
    expect(walk(m, va).ok).toBe(false);
    expect(m.audit()).toMatchObject({ ok: true, violations: [] });
  });

  it('map installs a PTE that the reference walker resolves to the granted mfn, writable, not user', () => {
    const m = machine();
    const g = grant(m, false);
    const va = m.pages.alloc();
    const r = m.xen.gnttab.mapGrantRef(m.be.domid, { dom: m.fe.domid, ref: g.ref, flags: GNTMAP_host_map, hostAddr: va });
    expect(r.status).toBe(OKAY);
    const t = walk(m, va + 0x123, true);
    expect(t.ok).toBe(true);
    expect(t.maddr).toBe(g.mfn * 4096 + 0x123);
    expect(t.writable).toBe(true);
    expect(t.user).toBe(false);
    // grant_to_pte_flags: present, RW, accessed, dirty, NX; no _PAGE_USER without application_map.
    expect(l1Entry(m, va) & 0xfff).toBe(P | RW | A | D);
    expect(m.xen.gnttab.mappings()).toMatchObject([{ mapper: m.be.domid, mfn: g.mfn, hostAddr: va, installed: true }]);
    expect(m.audit()).toMatchObject({ ok: true, violations: [] });
  });

  it('the mapper cannot rewrite its grant PTE by hand (Xen: "Attempt to implicitly unmap a granted PTE"): refused, the references stay whole', () => {
    const m = machine();
    const g = grant(m, false);
    const va = m.pages.alloc();
    const r = m.xen.gnttab.mapGrantRef(m.be.domid, { dom: m.fe.domid, ref: g.ref, flags: GNTMAP_host_map, hostAddr: va });
    expect(r.status).toBe(OKAY);
    // The entry carries Xen's _PAGE_GNTTAB: bit 62 of the entry (bit 30 of its high word).
    const l1 = m.xen.pvMm.findL1(m.be.dom.guestCr3, va);
    expect(m.xen.mem.readHi(l1, tableIndex(va, 1)) & (1 << 30)).not.toBe(0);
    const counts = () => [m.xen.ft.count(g.mfn), m.xen.ft.typeCount(g.mfn)];
    const before = counts();
    // update_va_mapping over it (clearing it, or pointing it at one of be's own frames) and a raw mmu_update: EINVAL.
    expect(m.xen.pvMm.updateVaMapping(m.be.dom, va, 0, 0, 0)).toBe(EINVAL);
    const own = m.be.dom.p2m[200]!;
    expect(m.xen.pvMm.updateVaMapping(m.be.dom, va, own * 4096 + (P | RW | A | D), 0, 0)).toBe(EINVAL);
    expect(m.xen.pvMm.mmuUpdate(m.be.dom, [{ ptr: l1 * 4096 + tableIndex(va, 1) * 8, cmd: 0, lo: 0, hi: 0 }]).rc).toBe(EINVAL);
    expect(counts()).toEqual(before);
    expect(walk(m, va).maddr).toBe(g.mfn * 4096);
    // The grant's own unmap still works and gives the references back.
    expect(m.xen.gnttab.unmapGrantRef(m.be.domid, { handle: r.handle, hostAddr: va })).toBe(OKAY);
    expect(m.audit()).toMatchObject({ ok: true, violations: [] });
  });

  it('a read-only mapping gives a read-only PTE: a read works, a write faults', () => {
    const m = machine();
    const g = grant(m, true);
    const va = m.pages.alloc();
    expect(m.xen.gnttab.mapGrantRef(m.be.domid, { dom: m.fe.domid, ref: g.ref, flags: GNTMAP_host_map | GNTMAP_readonly, hostAddr: va }).status).toBe(OKAY);
    expect(l1Entry(m, va) & (P | RW)).toBe(P);
    expect(walk(m, va).maddr).toBe(g.mfn * 4096);
    const w = walk(m, va, true);
    expect(w.ok).toBe(false);
    expect(w.faultKind).toBe(FAULT_PAGE);
    expect(w.faultErrorCode & (PFEC_PRESENT | PFEC_WRITE)).toBe(PFEC_PRESENT | PFEC_WRITE);
    expect(m.audit().ok).toBe(true);
  });

  it('unmap removes the PTE and flushes the TLB entry a load had cached', () => {
    const m = machine();
    const g = grant(m, false);
    const va = m.pages.alloc();
    const r = m.xen.gnttab.mapGrantRef(m.be.domid, { dom: m.fe.domid, ref: g.ref, flags: GNTMAP_host_map, hostAddr: va });
    expect(m.be.mmu.translate(va, false, false)).toBe(g.mfn * 4096); // now in the TLB
    // The wrong address is refused (the PTE there does not map the frame) and changes nothing.
    expect(m.xen.gnttab.unmapGrantRef(m.be.domid, { handle: r.handle, hostAddr: va + 4096 })).toBe(GENERAL_ERROR);
    expect(walk(m, va).maddr).toBe(g.mfn * 4096);
    expect(m.xen.gnttab.unmapGrantRef(m.be.domid, { handle: r.handle, hostAddr: va })).toBe(OKAY);
    expect(l1Entry(m, va)).toBe(0);
    expect(walk(m, va).ok).toBe(false);
    expect(m.be.mmu.translate(va, false, false)).toBe(-1); // the fast path walks again: no stale TLB entry
    expect(m.grants.entry(g.ref).flags).toBe(GTF_permit_access);
    expect(m.audit()).toMatchObject({ ok: true, violations: [] });
  });

  it('map at an address with no L1 table is GNTST_general_error, and leaves no pin, reference or mapping', () => {
    const m = machine();
    const g = grant(m, false);
    const count = m.xen.ft.count(g.mfn);
    const types = m.xen.ft.typeCount(g.mfn); // the frontend's own writable direct-map entry
    const noL1 = 0x100000000000; // L4 slot 32: the user half of the kernel's own tables is empty
    expect(m.xen.pvMm.findL1(m.be.dom.guestCr3, noL1)).toBe(-1);
    expect(m.xen.gnttab.mapGrantRef(m.be.domid, { dom: m.fe.domid, ref: g.ref, flags: GNTMAP_host_map, hostAddr: noL1 }).status).toBe(GENERAL_ERROR);
    expect(m.grants.entry(g.ref).flags).toBe(GTF_permit_access);
    expect(m.xen.gnttab.mappings()).toEqual([]);
    expect(m.xen.ft.count(g.mfn)).toBe(count);
    expect(m.xen.ft.typeCount(g.mfn)).toBe(types);
    expect(m.audit().ok).toBe(true);
  });

  it('GNTMAP_contains_pte: host_addr is the machine address of the L1 entry; one outside the mapper’s L1s is GNTST_general_error', () => {
    const m = machine();
    const g = grant(m, false);
    const va = m.pages.alloc();
    const l1 = m.xen.pvMm.findL1(m.be.dom.guestCr3, va);
    const pteAddr = l1 * 4096 + tableIndex(va, 1) * 8;
    const notL1 = m.be.dom.p2m[5]! * 4096; // an ordinary page of be: not a page table
    expect(m.xen.gnttab.mapGrantRef(m.be.domid, { dom: m.fe.domid, ref: g.ref, flags: GNTMAP_host_map | GNTMAP_contains_pte, hostAddr: notL1 }).status).toBe(GENERAL_ERROR);
    const r = m.xen.gnttab.mapGrantRef(m.be.domid, { dom: m.fe.domid, ref: g.ref, flags: GNTMAP_host_map | GNTMAP_contains_pte, hostAddr: pteAddr });
    expect(r.status).toBe(OKAY);
    expect(walk(m, va).maddr).toBe(g.mfn * 4096);
    expect(m.audit()).toMatchObject({ ok: true, violations: [] });
    expect(m.xen.gnttab.unmapGrantRef(m.be.domid, { handle: r.handle, hostAddr: va })).toBe(GENERAL_ERROR); // not the entry's address
    expect(m.xen.gnttab.unmapGrantRef(m.be.domid, { handle: r.handle, hostAddr: pteAddr })).toBe(OKAY);
    expect(walk(m, va).ok).toBe(false);
    expect(m.audit().ok).toBe(true);
  });

  it('a mapping holds the frame’s references: one per kind, a writable type reference per writable kind', () => {
    const m = machine();
    const g = grant(m, false);
    const ft = m.xen.ft;
    const count = ft.count(g.mfn); // the frontend's own direct-map entry holds one, writable
    const types = ft.typeCount(g.mfn);
    expect(ft.type(g.mfn)).toBe(PGT_writable_page);
    const va = m.pages.alloc();
    const r = m.xen.gnttab.mapGrantRef(m.be.domid, { dom: m.fe.domid, ref: g.ref, flags: GNTMAP_host_map | GNTMAP_device_map, hostAddr: va });
    expect(r.status).toBe(OKAY);
    expect(ft.count(g.mfn)).toBe(count + 2);
    expect(ft.typeCount(g.mfn)).toBe(types + 2);
    // While mapped writable, the frontend cannot make the frame a page table (get_page_type fails).
    expect(m.xen.pvMm.getPageType(g.mfn, PGT_l1_page_table, m.fe.dom)).toBe(EINVAL);
    expect(m.audit()).toMatchObject({ ok: true, violations: [] });
    expect(m.xen.gnttab.unmapGrantRef(m.be.domid, { handle: r.handle, hostAddr: va, devBusAddr: r.devBusAddr })).toBe(OKAY);
    expect(ft.count(g.mfn)).toBe(count);
    expect(ft.typeCount(g.mfn)).toBe(types);
    const ro = grant(m, true, 101);
    const before = [ft.count(ro.mfn), ft.typeCount(ro.mfn)];
    expect(m.xen.gnttab.mapGrantRef(m.be.domid, { dom: m.fe.domid, ref: ro.ref, flags: GNTMAP_host_map | GNTMAP_readonly, hostAddr: va }).status).toBe(OKAY);
    expect([ft.count(ro.mfn), ft.typeCount(ro.mfn)]).toEqual([before[0]! + 1, before[1]]);
    expect(m.audit().ok).toBe(true);
  });
});

describe('the auditor against grant PTEs', () => {
  /** be's L1 entry for a fresh grant page, written behind Xen's back. */
  function forge(m: M, mfn: number, flags: number): number {
    const va = m.pages.alloc();
    const l1 = m.xen.pvMm.findL1(m.be.dom.guestCr3, va);
    m.xen.mem.write(l1, tableIndex(va, 1), ((mfn << 12) | flags) >>> 0, 0);
    return va;
  }

  it('flags a PTE forged to a foreign frame without a grant, and accepts a grant-mapped one', () => {
    const m = machine();
    const g = grant(m, false);
    const va = m.pages.alloc();
    m.xen.gnttab.mapGrantRef(m.be.domid, { dom: m.fe.domid, ref: g.ref, flags: GNTMAP_host_map, hostAddr: va });
    expect(m.audit().ok).toBe(true);
    const other = m.fe.dom.p2m[200]!;
    const l1 = m.xen.pvMm.findL1(m.be.dom.guestCr3, forge(m, other, P | RW | A | D));
    const r = m.audit();
    expect(r.ok).toBe(false);
    expect(r.violations.join('\n')).toContain(`mfn ${l1} entry`);
    expect(r.violations.join('\n')).toContain(`maps mfn ${other}, which it does not own`);
    expect(r.violations.join('\n')).not.toContain(`mfn ${g.mfn}`);
  });

  it('flags a writable PTE for a read-only grant mapping', () => {
    const m = machine();
    const g = grant(m, true);
    const va = m.pages.alloc();
    m.xen.gnttab.mapGrantRef(m.be.domid, { dom: m.fe.domid, ref: g.ref, flags: GNTMAP_host_map | GNTMAP_readonly, hostAddr: va });
    const l1 = m.xen.pvMm.findL1(m.be.dom.guestCr3, va);
    const i = tableIndex(va, 1);
    m.xen.mem.write(l1, i, (m.xen.mem.readLo(l1, i) | RW) >>> 0, m.xen.mem.readHi(l1, i));
    expect(m.audit().violations.join('\n')).toContain(`maps granted mfn ${g.mfn} writable, but it was mapped read-only`);
  });

  it('flags a grant mapping whose PTE is gone, and a PTE left after the unmap', () => {
    const m = machine();
    const g = grant(m, false);
    const va = m.pages.alloc();
    const r = m.xen.gnttab.mapGrantRef(m.be.domid, { dom: m.fe.domid, ref: g.ref, flags: GNTMAP_host_map, hostAddr: va });
    const l1 = m.xen.pvMm.findL1(m.be.dom.guestCr3, va);
    const i = tableIndex(va, 1);
    const [lo, hi] = [m.xen.mem.readLo(l1, i), m.xen.mem.readHi(l1, i)];
    m.xen.mem.write(l1, i, 0, 0);
    expect(m.audit().violations).toContain(`grant table: d${m.be.domid} handle ${r.handle} (d${m.fe.domid} ref ${g.ref}): host mapping at 0x${va.toString(16)} has no entry (mfn ${g.mfn} expected)`);
    m.xen.mem.write(l1, i, lo, hi);
    expect(m.audit().ok).toBe(true);
    m.xen.gnttab.unmapGrantRef(m.be.domid, { handle: r.handle, hostAddr: va });
    m.xen.mem.write(l1, i, lo, hi); // the entry put back after Xen cleared it
    expect(m.audit().violations.join('\n')).toContain(`entry ${i} maps mfn ${g.mfn}, which it does not own`);
  });
});

describe('the incremental auditor (fuzzing) against grant PTEs', () => {
  it('notices, on its next call, a PTE an unmap left behind (no memory written), and agrees with a full audit', () => {
    const m = machine();
    const auditor = machineAuditor(m.xen, m.vms, 1000); // full only at the first call
    expect(auditor.audit().ok).toBe(true);
    const g = grant(m, false);
    const va = m.pages.alloc();
    const r = m.xen.gnttab.mapGrantRef(m.be.domid, { dom: m.fe.domid, ref: g.ref, flags: GNTMAP_host_map, hostAddr: va });
    expect(auditor.audit()).toMatchObject({ ok: true, violations: [] });
    const i = tableIndex(va, 1);
    // A host mapper that forgets to clear the entry: the grant goes, the PTE stays, no frame is written.
    m.xen.gnttab.hostMapper = null;
    expect(m.xen.gnttab.unmapGrantRef(m.be.domid, { handle: r.handle, hostAddr: va })).toBe(OKAY);
    const inc = auditor.audit();
    expect(inc.violations.join('\n')).toContain(`entry ${i} maps mfn ${g.mfn}, which it does not own`);
    expect(inc.violations).toEqual(m.audit().violations);
  });
});

describe('a granter that dies while its page is mapped', () => {
  it('the mapper’s PTE keeps mapping the held frame (Xen’s now) until it unmaps; then the frame is freed', () => {
    const m = machine();
    const g = grant(m, false);
    const va = m.pages.alloc();
    const r = m.xen.gnttab.mapGrantRef(m.be.domid, { dom: m.fe.domid, ref: g.ref, flags: GNTMAP_host_map, hostAddr: va });
    m.xen.destroyDomain(m.fe.dom);
    const alive = [m.dom0, m.be];
    expect(m.xen.ft.owner(g.mfn)).toBe(DOMID_XEN);
    expect(walk(m, va).maddr).toBe(g.mfn * 4096);
    expect(auditMachine(m.xen, alive)).toMatchObject({ ok: true, violations: [] });
    expect(m.xen.gnttab.unmapGrantRef(m.be.domid, { handle: r.handle, hostAddr: va })).toBe(OKAY);
    expect(walk(m, va).ok).toBe(false);
    expect(m.xen.ft.owner(g.mfn)).toBe(DOMID_FREE);
    expect(m.xen.ft.count(g.mfn)).toBe(0);
    expect(auditMachine(m.xen, alive)).toMatchObject({ ok: true, violations: [] });
  });

  it('a mapper that dies drops the references its mappings held on the granter’s frame', () => {
    const m = machine();
    const g = grant(m, false);
    const before = [m.xen.ft.count(g.mfn), m.xen.ft.typeCount(g.mfn)];
    m.xen.gnttab.mapGrantRef(m.be.domid, { dom: m.fe.domid, ref: g.ref, flags: GNTMAP_host_map, hostAddr: m.pages.alloc() });
    m.xen.destroyDomain(m.be.dom);
    expect([m.xen.ft.count(g.mfn), m.xen.ft.typeCount(g.mfn)]).toEqual(before);
    expect(m.grants.entry(g.ref).flags & (GTF_reading | GTF_writing)).toBe(0);
    expect(auditMachine(m.xen, [m.dom0, m.fe])).toMatchObject({ ok: true, violations: [] });
  });
});

describe('grant host mappings of a translated mapper: a p2m_grant_map entry', () => {
  /** A user page of be's process whose guest PTE points at `gfn` (a grant page above RAM). */
  function userMapping(m: M, gfn: number): number {
    const k = m.be.kernel;
    const p = k.spawn('backend');
    k.switchTo(p);
    const va = 0x40000000;
    const l1 = k.tableFor(p.mm, va, 1, true);
    m.be.ops.setPte(l1, 1, tableIndex(va, 1), gfn, P | RW | US | A | D);
    return va;
  }

  it('HAP: the EPT entry maps the granted mfn (R+W, or R only, never X); the walk reaches it; unmap removes it', () => {
    const m = machine('hap');
    const g = grant(m, false);
    const gpa = m.pages.alloc();
    const gfn = gpa / 4096;
    expect(gfn).toBeGreaterThanOrEqual(m.be.dom.p2m.length); // not RAM: unpopulated
    const r = m.xen.gnttab.mapGrantRef(m.be.domid, { dom: m.fe.domid, ref: g.ref, flags: GNTMAP_host_map, hostAddr: gpa });
    expect(r.status).toBe(OKAY);
    expect(m.be.dom.hap!.lookup(gfn)).toBe(g.mfn);
    const va = userMapping(m, gfn);
    expect(m.be.ops.access(va, true)).toBe(true); // the guest's own tables fill in EPT on the way
    const t = walk(m, va + 8, true, true);
    expect(t.maddr).toBe(g.mfn * 4096 + 8);
    expect(m.audit()).toMatchObject({ ok: true, violations: [] });
    expect(m.xen.gnttab.unmapGrantRef(m.be.domid, { handle: r.handle, hostAddr: gpa })).toBe(OKAY);
    expect(m.be.dom.hap!.lookup(gfn)).toBe(-1);
    const after = walk(m, va, false, true);
    expect(after.ok).toBe(false);
    expect(after.faultKind).toBe(FAULT_EPT);
    expect(m.be.dom.grantP2m.size).toBe(0);
    expect(m.audit().ok).toBe(true);
  });

  it('HAP: a read-only grant is an R-only EPT entry: a write is an EPT violation', () => {
    const m = machine('hap');
    const g = grant(m, true);
    const gpa = m.pages.alloc();
    m.xen.gnttab.mapGrantRef(m.be.domid, { dom: m.fe.domid, ref: g.ref, flags: GNTMAP_host_map | GNTMAP_readonly, hostAddr: gpa });
    const va = userMapping(m, gpa / 4096);
    expect(m.be.ops.access(va, false)).toBe(true);
    expect(walk(m, va, false, true).maddr).toBe(g.mfn * 4096);
    const w = walk(m, va, true, true);
    expect(w.ok).toBe(false);
    expect(w.faultKind).toBe(FAULT_EPT);
    // The leaf itself: R only.
    let table = m.be.dom.hap!.eptRoot;
    for (let level = 4; level > 1; level--) table = pteFrame(m.xen.mem.readLo(table, tableIndex(gpa, level)), m.xen.mem.readHi(table, tableIndex(gpa, level)));
    expect(m.xen.mem.readLo(table, tableIndex(gpa, 1)) & (EPT_R | EPT_W | EPT_X)).toBe(EPT_R);
    expect(m.audit().ok).toBe(true);
  });

  it('a translated mapper cannot map over its own RAM (Linux maps at ballooned or unpopulated gfns)', () => {
    const m = machine('hap');
    const g = grant(m, false);
    expect(m.xen.gnttab.mapGrantRef(m.be.domid, { dom: m.fe.domid, ref: g.ref, flags: GNTMAP_host_map, hostAddr: 10 * 4096 }).status).toBe(GENERAL_ERROR);
    expect(m.grants.entry(g.ref).flags).toBe(GTF_permit_access);
  });

  it('shadow: the shadow fills from the p2m grant entry, read-only where granted read-only; unmap clears it', () => {
    const m = machine('shadow');
    const g = grant(m, true);
    const gpa = m.pages.alloc();
    const r = m.xen.gnttab.mapGrantRef(m.be.domid, { dom: m.fe.domid, ref: g.ref, flags: GNTMAP_host_map | GNTMAP_readonly, hostAddr: gpa });
    expect(r.status).toBe(OKAY);
    const va = userMapping(m, gpa / 4096);
    expect(m.be.ops.access(va, false)).toBe(true);
    expect(walk(m, va, false, true).maddr).toBe(g.mfn * 4096);
    expect(walk(m, va, true, true).ok).toBe(false);
    expect(m.audit()).toMatchObject({ ok: true, violations: [] });
    expect(m.xen.gnttab.unmapGrantRef(m.be.domid, { handle: r.handle, hostAddr: gpa })).toBe(OKAY);
    expect(walk(m, va, false, true).ok).toBe(false);
    expect(m.audit().ok).toBe(true);
  });
});

describe('the frame types the grant pages leave', () => {
  it('a ballooned page’s frame goes back to Xen; released, the page is backed by a fresh frame it maps again', () => {
    const m = machine();
    const free = m.xen.freeFrames;
    const va = m.pages.alloc();
    const pfn = (va - 0x880000000000) / 4096;
    // XENMEM_decrease_reservation: the frame is Xen's heap's again; the page has none (p2m invalid).
    expect(m.be.dom.p2m[pfn]).toBe(-1);
    expect(m.xen.freeFrames).toBe(free + 1);
    m.pages.free(va);
    m.pages.release();
    // XENMEM_increase_reservation: a fresh frame behind the page, the m2p written, mapped once writable.
    const mfn = m.be.dom.p2m[pfn]!;
    expect(mfn).toBeGreaterThanOrEqual(0);
    expect(m.xen.ft.owner(mfn)).toBe(m.be.dom.domid);
    expect(m.xen.ft.m2p(mfn)).toBe(pfn);
    expect(m.xen.freeFrames).toBe(free);
    expect([m.xen.ft.count(mfn), m.xen.ft.type(mfn) === PGT_writable_page || m.xen.ft.type(mfn) === PGT_none, m.xen.ft.typeCount(mfn)]).toEqual([1, true, 1]);
    expect(m.audit().ok).toBe(true);
  });
});

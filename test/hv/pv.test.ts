/**
 * Xen's direct-paging rules, driven through the hypercall entry points of a booted PV domain,
 * with the error codes Xen returns (xen/arch/x86/mm.c).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { EBUSY, EINVAL } from '../../core/base/errno.js';
import { PTE_A, PTE_D, PTE_P, PTE_PS, PTE_RW, PTE_US, pteHi, pteLo } from '../../core/machine/pte.js';
import { Hypervisor } from '../../core/hv/hypervisor.js';
import { buildDomain } from '../../core/vm/builder.js';
import type { Vm } from '../../core/vm/vm.js';
import { PGT_l1_page_table, PGT_writable_page, PGT_pinned } from '../../core/hv/mm/frameTable.js';
import { MmuextCmd, MMU_NORMAL_PT_UPDATE, MMU_MACHPHYS_UPDATE, UVMF_INVLPG } from '../../core/api/public/xen.js';
import type { Domain } from '../../core/hv/domain.js';
import { auditMachine } from '../../core/vm/audit.js';
import { costsOf, mmuConfigOf } from '../../core/sim/run.js';
import { C } from '../../core/machine/counters.js';
import { validateScenario } from '../../core/api/index.js';

function boot(): { xen: Hypervisor; vm: Vm; d: Domain; other: Domain } {
  const v = validateScenario({
    name: 'pv-rules',
    machine: { memoryMiB: 1024, pcpus: 1 },
    hypervisor: 'xen',
    domains: [
      { name: 'g1', mode: 'pv', memoryMiB: 64, vcpus: 1 },
      { name: 'g2', mode: 'pv', memoryMiB: 64, vcpus: 1 },
    ],
  });
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  const xen = new Hypervisor(v.scenario, costsOf(v.scenario), mmuConfigOf(v.scenario));
  const vm = buildDomain(xen, v.scenario.domains[0]);
  const other = buildDomain(xen, v.scenario.domains[1]).dom;
  xen.contextSwitch(other);
  xen.contextSwitch(vm.dom);
  return { xen, vm, d: vm.dom, other };
}

const entry = (mfn: number, flags: number) => ({ lo: pteLo(mfn, flags), hi: pteHi(mfn, flags) });

describe('PV page-table validation (Xen rules and error codes)', () => {
  let xen: Hypervisor;
  let vm: Vm;
  let d: Domain;
  let other: Domain;
  /** Two fresh frames of the domain: taken from its allocator, mapped nowhere except the direct map. */
  let a: number;
  let b: number;
  let aPfn: number;

  beforeEach(() => {
    ({ xen, vm, d, other } = boot());
    aPfn = vm.kernel.allocPage();
    a = d.p2m[aPfn];
    b = d.p2m[vm.kernel.allocPage()];
  });

  const pv = () => xen.pvMm;
  const l1Of = (pfn: number) => pv().findL1(d.guestCr3, 0x880000000000 + pfn * 4096);

  it('boots with a validated direct map and a clean audit', () => {
    expect(auditMachine(xen, [vm])).toMatchObject({ ok: true });
    // Every frame is mapped writable once by the direct map, except the tables themselves.
    expect(xen.ft.type(a)).toBe(PGT_writable_page);
    expect(xen.ft.typeCount(a)).toBe(1);
  });

  it('refuses to pin as L1 a frame that still has a writable mapping (-EINVAL)', () => {
    expect(pv().mmuextOp(d, MmuextCmd.PIN_L1_TABLE, a)).toBe(EINVAL);
    expect(auditMachine(xen, [vm]).ok).toBe(true);
  });

  it('pins once the direct-map alias is read-only, and refuses a writable mapping of the table (-EBUSY)', () => {
    expect(pv().updateVaMapping(d, 0x880000000000 + aPfn * 4096, entry(a, PTE_P | PTE_A).lo, entry(a, PTE_P | PTE_A).hi, UVMF_INVLPG)).toBe(0);
    expect(pv().mmuextOp(d, MmuextCmd.PIN_L1_TABLE, a)).toBe(0);
    expect(xen.ft.type(a)).toBe(PGT_l1_page_table);
    expect(xen.ft.flags(a) & PGT_pinned).toBeTruthy();
    const e = entry(a, PTE_P | PTE_RW | PTE_A | PTE_D);
    expect(pv().updateVaMapping(d, 0x880000000000 + aPfn * 4096, e.lo, e.hi, UVMF_INVLPG)).toBe(EBUSY);
    // Double pin is refused; unpin works once; a second unpin is refused.
    expect(pv().mmuextOp(d, MmuextCmd.PIN_L1_TABLE, a)).toBe(EINVAL);
    expect(pv().mmuextOp(d, MmuextCmd.UNPIN_TABLE, a)).toBe(0);
    expect(pv().mmuextOp(d, MmuextCmd.UNPIN_TABLE, a)).toBe(EINVAL);
    expect(auditMachine(xen, [vm]).ok).toBe(true);
  });

  it('refuses to map a frame the domain does not own (-EBUSY)', () => {
    const foreign = other.p2m[100];
    const l1 = l1Of(aPfn);
    const e = entry(foreign, PTE_P | PTE_A);
    const { rc, done } = pv().mmuUpdate(d, [{ ptr: l1 * 4096 + (aPfn % 512) * 8, cmd: MMU_NORMAL_PT_UPDATE, lo: e.lo, hi: e.hi }]);
    expect(rc).toBe(EBUSY);
    expect(done).toBe(0);
    expect(auditMachine(xen, [vm]).ok).toBe(true);
  });

  it('refuses PSE in an L2 entry: PV guests get no superpages (-EINVAL)', () => {
    const l2 = pv().findL1(d.guestCr3, 0x880000000000) >= 0 ? pvL2(xen, d) : -1;
    const e = entry(b, PTE_P | PTE_RW | PTE_US | PTE_A | PTE_PS);
    const { rc } = pv().mmuUpdate(d, [{ ptr: l2 * 4096 + 100 * 8, cmd: MMU_NORMAL_PT_UPDATE, lo: e.lo, hi: e.hi }]);
    expect(rc).toBe(EINVAL);
  });

  it("refuses writes to Xen's reserved L4 slots (-EINVAL)", () => {
    const e = entry(b, PTE_P | PTE_RW | PTE_A);
    const { rc } = pv().mmuUpdate(d, [{ ptr: d.guestCr3 * 4096 + 256 * 8, cmd: MMU_NORMAL_PT_UPDATE, lo: e.lo, hi: e.hi }]);
    expect(rc).toBe(EINVAL);
  });

  it('stops a batch at the first refused request, keeping the earlier ones', () => {
    const l1 = l1Of(aPfn);
    const good = entry(a, PTE_P | PTE_A);
    const bad = entry(other.p2m[5], PTE_P | PTE_A);
    const base = l1 * 4096 + (aPfn % 512) * 8;
    const { rc, done } = pv().mmuUpdate(d, [
      { ptr: base, cmd: MMU_NORMAL_PT_UPDATE, lo: good.lo, hi: good.hi },
      { ptr: base, cmd: MMU_NORMAL_PT_UPDATE, lo: bad.lo, hi: bad.hi },
    ]);
    expect({ rc, done }).toEqual({ rc: EBUSY, done: 1 });
    expect(auditMachine(xen, [vm]).ok).toBe(true);
  });

  it('refuses an m2p update of a frame the domain does not own', () => {
    const { rc } = pv().mmuUpdate(d, [{ ptr: other.p2m[7], cmd: MMU_MACHPHYS_UPDATE, lo: 0, hi: 0, pfn: 7 }]);
    expect(rc).toBe(EINVAL);
  });
});

/** The machine frame of the direct map's first L2 (a software walk of the guest's own tables). */
function pvL2(xen: Hypervisor, d: Domain): number {
  const l4 = d.guestCr3;
  const slot = Math.floor(0x880000000000 / 2 ** 39) % 512;
  const l3 = Math.floor(xen.mem.readLo(l4, slot) / 4096) + (xen.mem.readHi(l4, slot) & 0xfffff) * 0x100000;
  return Math.floor(xen.mem.readLo(l3, 0) / 4096) + (xen.mem.readHi(l3, 0) & 0xfffff) * 0x100000;
}

describe('PV validation: rollback and the fast path', () => {
  it('a failed promotion rolls back the references it had taken', () => {
    const { xen, vm, d, other } = boot();
    const pv = xen.pvMm;
    const pfns = [0, 1, 2].map(() => vm.kernel.allocPage());
    for (const p of pfns) expect(pv.updateVaMapping(d, 0x880000000000 + p * 4096, 0, 0, UVMF_INVLPG)).toBe(0);
    const [l2, l1, data] = pfns.map((p) => d.p2m[p]);
    const up = PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D;
    const req = (t: number, i: number, m: number, f: number) => ({ ptr: t * 4096 + i * 8, cmd: MMU_NORMAL_PT_UPDATE, lo: pteLo(m, f), hi: pteHi(m, f) });
    // An L2 whose first entry is a good L1 (mapping a data page) and whose second maps a foreign L1.
    expect(pv.mmuUpdate(d, [req(l1, 0, data, up), req(l2, 0, l1, up), req(l2, 1, other.p2m[9], up)]).rc).toBe(0);
    const before = { l1: [xen.ft.count(l1), xen.ft.typeCount(l1)], data: [xen.ft.count(data), xen.ft.typeCount(data)] };
    expect(pv.mmuextOp(d, MmuextCmd.PIN_L2_TABLE, l2)).toBe(EINVAL);
    expect({ l1: [xen.ft.count(l1), xen.ft.typeCount(l1)], data: [xen.ft.count(data), xen.ft.typeCount(data)] }).toEqual(before);
    expect(xen.ft.typeCount(l2)).toBe(0);
    expect(auditMachine(xen, [vm]).ok).toBe(true);
  });

  it('flipping A, D, G, NX or US takes the fast path; flipping RW is revalidated', () => {
    const { xen, vm, d } = boot();
    const pv = xen.pvMm;
    const pfn = vm.kernel.allocPage();
    const mfn = d.p2m[pfn];
    const l1 = pv.findL1(d.guestCr3, 0x880000000000 + pfn * 4096);
    const ptr = l1 * 4096 + (pfn % 512) * 8;
    const upd = (flags: number) => pv.mmuUpdate(d, [{ ptr, cmd: MMU_NORMAL_PT_UPDATE, lo: pteLo(mfn, flags), hi: pteHi(mfn, flags) }]).rc;
    const validated = () => d.counters.c[C.EntriesValidated];
    const base = PTE_P | PTE_RW | PTE_A | PTE_D;
    let v0 = validated();
    expect(upd(base & ~PTE_D)).toBe(0);
    expect(upd(base | PTE_US)).toBe(0);
    expect(validated()).toBe(v0);
    v0 = validated();
    expect(upd((base | PTE_US) & ~PTE_RW)).toBe(0);
    expect(validated()).toBeGreaterThan(v0);
    expect(auditMachine(xen, [vm]).ok).toBe(true);
  });
});

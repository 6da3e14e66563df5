/**
 * The legitimate PV protocol end to end: build a new tree in fresh frames, pin it (Xen validates
 * it whole), switch to it, use it, switch back, unpin — and every count is where it started.
 */
import { describe, expect, it } from 'vitest';
import { validateScenario } from '../../core/api/index.js';
import { auditMachine } from '../../core/vm/audit.js';
import { Hypervisor } from '../../core/hv/hypervisor.js';
import { buildDomain } from '../../core/vm/builder.js';
import { PGT_l1_page_table, PGT_l4_page_table, PGT_writable_page } from '../../core/hv/mm/frameTable.js';
import { MMU_NORMAL_PT_UPDATE, MmuextCmd, UVMF_INVLPG } from '../../core/api/public/xen.js';
import { DIRECTMAP_BASE } from '../../core/guest/layout.js';
import { PTE_A, PTE_D, PTE_P, PTE_RW, PTE_US, pteHi, pteLo } from '../../core/machine/pte.js';
import { costsOf, mmuConfigOf } from '../../core/sim/run.js';

describe('the legitimate PV page-table protocol', () => {
  it('build, pin, switch, use, switch back, unpin: counts return to where they started', () => {
    const v = validateScenario({ name: 'proto', machine: { memoryMiB: 512, pcpus: 1 }, hypervisor: 'xen', domains: [{ name: 'Domain-0', role: 'dom0', mode: 'pv', memoryMiB: 64, vcpus: 1 }, { name: 'g1', mode: 'pv', memoryMiB: 64, vcpus: 1 }] });
    if (!v.ok) throw new Error(JSON.stringify(v.problems));
    const xen = new Hypervisor(v.scenario, costsOf(v.scenario), mmuConfigOf(v.scenario));
    buildDomain(xen, v.scenario.domains[0]);
    const vm = buildDomain(xen, v.scenario.domains[1]);
    const d = vm.dom;
    xen.contextSwitch(d);
    const pv = xen.pvMm;
    const ft = xen.ft;

    // Five fresh frames, taken out of the direct map (as a kernel does before using them as tables).
    const pfns = [0, 1, 2, 3, 4].map(() => vm.kernel.allocPage());
    for (const pfn of pfns) expect(pv.updateVaMapping(d, DIRECTMAP_BASE + pfn * 4096, 0, 0, UVMF_INVLPG)).toBe(0);
    const [l4, l3, l2, l1, data] = pfns.map((p) => d.p2m[p]);
    const oldRoot = d.guestCr3;
    const all = (field: (m: number) => number) => Array.from({ length: ft.nrFrames }, (_, m) => field(m));
    const before = { count: all((m) => ft.count(m)), typeCount: all((m) => ft.typeCount(m)), flags: all((m) => ft.flags(m)) };

    const e = (mfn: number, flags: number) => ({ lo: pteLo(mfn, flags), hi: pteHi(mfn, flags) });
    const up = PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D;
    const req = (table: number, i: number, x: { lo: number; hi: number }) => ({ ptr: table * 4096 + i * 8, cmd: MMU_NORMAL_PT_UPDATE, ...x });
    // Not tables yet: the writes are plain stores Xen allows (the frames take a writable type briefly).
    const kernelSlot = 272;
    expect(pv.mmuUpdate(d, [
      req(l1, 0, e(data, up)),
      req(l2, 0, e(l1, up)),
      req(l3, 0, e(l2, up)),
      req(l4, 0, e(l3, up)),
      req(l4, kernelSlot, { lo: xen.mem.readLo(oldRoot, kernelSlot), hi: xen.mem.readHi(oldRoot, kernelSlot) }),
    ]).rc).toBe(0);

    expect(pv.mmuextOp(d, MmuextCmd.PIN_L4_TABLE, l4)).toBe(0);
    expect(ft.type(l4)).toBe(PGT_l4_page_table);
    expect(ft.type(l1)).toBe(PGT_l1_page_table);
    expect(ft.type(data)).toBe(PGT_writable_page);
    expect(auditMachine(xen, [vm]).ok).toBe(true);

    expect(pv.mmuextOp(d, MmuextCmd.NEW_BASEPTR, l4)).toBe(0);
    d.ctx.cr3 = d.guestCr3;
    expect(d.mmu.translate(0x0, true, true)).toBe(data * 4096);
    expect(auditMachine(xen, [vm]).ok).toBe(true);

    expect(pv.mmuextOp(d, MmuextCmd.NEW_BASEPTR, oldRoot)).toBe(0);
    d.ctx.cr3 = d.guestCr3;
    expect(pv.mmuextOp(d, MmuextCmd.UNPIN_TABLE, l4)).toBe(0);
    expect(auditMachine(xen, [vm]).ok).toBe(true);

    for (const m of [l4, l3, l2, l1, data, oldRoot]) {
      expect({ m, count: ft.count(m), typeCount: ft.typeCount(m), flags: ft.flags(m) }).toEqual({ m, count: before.count[m], typeCount: before.typeCount[m], flags: before.flags[m] });
    }
    let differ = 0;
    for (let m = 0; m < ft.nrFrames; m++) if (ft.count(m) !== before.count[m] || ft.typeCount(m) !== before.typeCount[m]) differ++;
    expect(differ).toBe(0);
  });
});

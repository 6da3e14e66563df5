/**
 * KVM's way to a guest frame: gfn → hva by the memory slot, hva → frame through qemu's own page
 * tables, faulted in on first touch. Expectations are built by hand from the x86-64 table layout
 * (9 index bits per level above the 12-bit offset) and the slot's arithmetic.
 */
import { describe, expect, it } from 'vitest';
import { validateScenario } from '../../core/api/index.js';
import { MachineMemory } from '../../core/machine/memory.js';
import { PTE_P, PTE_PS, PTE_RW, PTE_US, pteFrame } from '../../core/machine/pte.js';
import { HostMm } from '../../core/hv/kvm/hostMm.js';
import { QEMU_RAM_HVA } from '../../core/hv/kvm/kvmHost.js';
import { gfnToHvaMemslot, searchMemslots, type KvmMemorySlot } from '../../core/hv/kvm/memslot.js';
import { Simulation } from '../../core/sim/simulation.js';
import { DEFAULT_COSTS } from '../../core/machine/cost.js';
import { C, Vx } from '../../core/machine/counters.js';

/** A tiny machine whose table frames come from the top, counting down. */
function machine(frames = 4096) {
  const mem = new MachineMemory(frames);
  let next = frames;
  const tables: number[] = [];
  const alloc = () => {
    next--;
    tables.push(next);
    return next;
  };
  return { mem, alloc, tables };
}

describe('memory slots (struct kvm_memory_slot)', () => {
  const slot: KvmMemorySlot = { id: 0, baseGfn: 0x100, npages: 16, userspaceAddr: 0x7f00_0000_0000, flags: 0 };
  it('gives hva = userspace_addr + (gfn − base_gfn) × 4096', () => {
    expect(gfnToHvaMemslot(slot, 0x105)).toBe(0x7f00_0000_5000);
    expect(gfnToHvaMemslot(slot, 0x100)).toBe(0x7f00_0000_0000);
  });
  it('finds the slot of a gfn inside [base_gfn, base_gfn + npages) and none outside', () => {
    expect(searchMemslots([slot], 0x10f)).toBe(slot);
    expect(searchMemslots([slot], 0x110)).toBeUndefined();
    expect(searchMemslots([slot], 0xff)).toBeUndefined();
  });
});

describe("qemu's page tables (HostMm)", () => {
  // hva 0x7f0000002000: L4 index 0x7f0000000000 / 2^39 = 254, L3 0, L2 0, L1 2.
  const hva = QEMU_RAM_HVA + 2 * 4096;

  it('maps anonymous memory only on first touch, with a 4-level walk to a 4 KiB leaf', () => {
    const { mem, alloc, tables } = machine();
    const mm = new HostMm(mem, alloc);
    mm.mmapAnon({ start: QEMU_RAM_HVA, pages: 4, maxLevel: 1, backing: Int32Array.from([10, 11, 12, 13]), name: 'pc.ram' });
    expect(mm.rssPages).toBe(0);
    const before = mm.walk(hva);
    expect(before.frame).toBe(-1);
    expect(before.refs).toBe(1); // the pgd entry is not present
    expect(mm.handleMmFault(hva)).toBe(1);
    expect(mm.rssPages).toBe(1);
    expect(tables.length).toBe(4); // pgd, then pud, pmd and pte tables built on the way down
    const [pgd, pud, pmd, pte] = tables as [number, number, number, number];
    expect(mm.pgd).toBe(pgd);
    const e4 = mem.readLo(pgd, 254);
    expect(e4 & (PTE_P | PTE_RW | PTE_US)).toBe(PTE_P | PTE_RW | PTE_US);
    expect(pteFrame(e4, mem.readHi(pgd, 254))).toBe(pud);
    expect(pteFrame(mem.readLo(pud, 0), mem.readHi(pud, 0))).toBe(pmd);
    expect(pteFrame(mem.readLo(pmd, 0), mem.readHi(pmd, 0))).toBe(pte);
    expect(pteFrame(mem.readLo(pte, 2), mem.readHi(pte, 2))).toBe(12);
    expect(mem.readLo(pte, 1) & PTE_P).toBe(0); // only the touched page
    const w = mm.walk(hva + 123);
    expect([w.frame, w.level, w.refs]).toEqual([12, 1, 4]);
  });

  it('maps a transparent huge page (2 MiB PMD leaf) where the frames are contiguous and aligned', () => {
    const { mem, alloc } = machine();
    const mm = new HostMm(mem, alloc);
    mm.mmapAnon({ start: QEMU_RAM_HVA, pages: 1024, maxLevel: 2, backing: Int32Array.from({ length: 1024 }, (_, k) => 1024 + k), name: 'pc.ram' });
    expect(mm.handleMmFault(QEMU_RAM_HVA + 700 * 4096)).toBe(2);
    expect(mm.rssPages).toBe(512);
    const w = mm.walk(QEMU_RAM_HVA + 700 * 4096);
    // pgd → pud → pmd leaf: three entries; 700 is page 188 of the second 2 MiB page (frames 1536…).
    expect([w.frame, w.level, w.refs]).toEqual([1536 + 188, 2, 3]);
    const pmdEntry = mem.readLo(pteFrame(mem.readLo(pteFrame(mem.readLo(mm.pgd, 254), 0), 0), 0), 1);
    expect(pmdEntry & PTE_PS).toBe(PTE_PS);
  });

  it('falls back to 4 KiB pages where the frames are not 2 MiB aligned', () => {
    const { mem, alloc } = machine();
    const mm = new HostMm(mem, alloc);
    mm.mmapAnon({ start: QEMU_RAM_HVA, pages: 512, maxLevel: 2, backing: Int32Array.from({ length: 512 }, (_, k) => 1 + k), name: 'pc.ram' });
    expect(mm.handleMmFault(QEMU_RAM_HVA)).toBe(1);
    expect(mm.rssPages).toBe(1);
  });

  it('refuses an address outside every mapping (SIGSEGV: no VMA)', () => {
    const { mem, alloc } = machine();
    const mm = new HostMm(mem, alloc);
    mm.mmapAnon({ start: QEMU_RAM_HVA, pages: 4, maxLevel: 1, backing: Int32Array.from([10, 11, 12, 13]), name: 'pc.ram' });
    expect(mm.handleMmFault(QEMU_RAM_HVA + 4 * 4096)).toBe(0);
    expect(mm.rssPages).toBe(0);
  });
});

function kvmSim(mode: 'hap' | 'shadow', hostPageSize: '4k' | '2m' = '4k', workload: Record<string, unknown> = { kind: 'cold-walk', pages: 8 }) {
  const v = validateScenario({ name: 'k', machine: { memoryMiB: 1024, pcpus: 1 }, hypervisor: 'kvm', domains: [{ name: 'g1', mode, memoryMiB: 256, vcpus: 1, guestPageSize: '4k', hostPageSize, workload }] });
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return new Simulation(v.scenario);
}

/** A gfn neither qemu nor EPT has seen, with its next neighbour in the same 4 KiB host table. */
function untouchedGfn(sim: Simulation): number {
  const d = sim.domains[0]!.dom;
  const q = sim.xen.kvm!.vm(d.domid)!;
  for (let gfn = 4096; gfn < d.nrPages; gfn += 512) {
    if (q.proc.mm.walk(QEMU_RAM_HVA + gfn * 4096).frame < 0 && q.proc.mm.walk(QEMU_RAM_HVA + (gfn + 1) * 4096).frame < 0) return gfn;
  }
  throw new Error('no untouched gfn');
}

describe('an EPT violation under KVM is resolved through qemu’s page tables', () => {
  it('faults the page into qemu (one host page fault, RSS + 1), then installs EPT gfn → that frame', () => {
    const sim = kvmSim('hap');
    const vm = sim.domains[0]!;
    const d = vm.dom;
    const q = sim.xen.kvm!.vm(d.domid)!;
    const gfn = untouchedGfn(sim);
    q.resetStats();
    d.counters.reset();
    const rss = q.proc.mm.rssPages;
    expect(d.hap!.lookup(gfn)).toBe(-1);
    expect(d.hap!.handleViolation(gfn * 4096 + 0x10)).toBe(true);
    expect(d.counters.vmexits[Vx.EptViolation]).toBe(1);
    expect(q.stats.faultins).toBe(1);
    expect(q.stats.hostPageFaults).toBe(1);
    expect(q.proc.mm.rssPages).toBe(rss + 1);
    const host = q.proc.mm.walk(QEMU_RAM_HVA + gfn * 4096);
    expect(host.frame).toBe(d.p2m[gfn]);
    expect(d.hap!.lookup(gfn)).toBe(host.frame);
    // Cost: the exit and KVM's handler, the host walks (before and after the fault), the fault and the zeroed page.
    const c = DEFAULT_COSTS;
    expect(q.stats.hostCycles).toBe(q.stats.hostWalkRefs * c.walkRefCached + c.hostPageFault + c.zeroPage);
    expect(d.counters.c[C.CycHv]).toBe(c.vmexit + c.eptViolation + q.stats.hostCycles);

    // The neighbour shares the host's last-level table now: 4 entries read before its fault, 4 after.
    q.resetStats();
    expect(d.hap!.handleViolation((gfn + 1) * 4096)).toBe(true);
    expect(q.stats.hostWalkRefs).toBe(8);
    expect(q.stats.hostPageFaults).toBe(1);
    expect(q.proc.mm.rssPages).toBe(rss + 2);
  });

  it('with 2 MiB host pages, one fault makes a transparent huge page resident and EPT maps it with a 2 MiB leaf', () => {
    const sim = kvmSim('hap', '2m');
    const d = sim.domains[0]!.dom;
    const q = sim.xen.kvm!.vm(d.domid)!;
    const gfn = untouchedGfn(sim);
    q.resetStats();
    const rss = q.proc.mm.rssPages;
    expect(d.hap!.handleViolation(gfn * 4096)).toBe(true);
    expect(q.proc.mm.rssPages).toBe(rss + 512);
    expect(q.stats.hostCycles).toBe(q.stats.hostWalkRefs * DEFAULT_COSTS.walkRefCached + DEFAULT_COSTS.hostPageFault + 512 * DEFAULT_COSTS.zeroPage);
    // The whole aligned 2 MiB range is mapped by that one leaf: its last page needs no further exit.
    const last = Math.floor(gfn / 512) * 512 + 511;
    expect(d.hap!.lookup(last)).toBe(d.p2m[last]);
  });

  it('refuses a gfn outside the memory slot (not guest RAM)', () => {
    const sim = kvmSim('hap');
    const d = sim.domains[0]!.dom;
    expect(d.faultin!(d.nrPages)).toBe(0);
  });

  it('keeps the architectural 2D walk length: 24 references for 4K/4K, 19 with 2 MiB host pages', () => {
    for (const [host, refs] of [['4k', 24], ['2m', 19]] as const) {
      const sim = kvmSim('hap', host, { kind: 'cold-walk', pages: 32 });
      while (sim.step(1)) {
        /* run to the end */
      }
      const r = sim.results();
      expect(r.domains[0]!.walk.refsPerWalk).toBe(refs);
      expect(r.audit.ok).toBe(true);
    }
  });

  it("KVM's shadow MMU takes its frames through the memslot too", () => {
    const sim = kvmSim('shadow', '4k', { kind: 'page-fault' });
    while (sim.step(1)) {
      /* run to the end */
    }
    const r = sim.results();
    const g = r.domains[0]!;
    expect(g.kvm!.faultins).toBeGreaterThan(0);
    expect(g.kvm!.rssPages).toBeGreaterThan(0);
    expect(r.audit.ok).toBe(true);
  });
});

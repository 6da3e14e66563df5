import { describe, expect, it } from 'vitest';
import { auditMachine } from '../../core/vm/audit.js';
import { auditMachineWithGuest } from './auditMachine.js';
import { PTE_A, PTE_P, PTE_RW, pteHi, pteLo } from '../../core/machine/pte.js';

function booted(mode: 'pv' | 'shadow' | 'hap') {
  const { xen, dom0, d, vma } = auditMachineWithGuest(mode);
  for (let va = vma.start; va < vma.end; va += 4096) d.kernel.touch(va, true);
  return { xen, d, dom0, audit: () => auditMachine(xen, [dom0, d]) };
}

describe('the auditor', () => {
  for (const mode of ['pv', 'shadow', 'hap'] as const) {
    it(`passes a consistent ${mode} domain`, () => {
      const { audit } = booted(mode);
      expect(audit()).toMatchObject({ ok: true, violations: [] });
    });
  }

  it('catches a corrupted general reference count', () => {
    const { xen, d , audit } = booted('pv');
    const mfn = d.dom.p2m[10];
    xen.ft.setCount(mfn, xen.ft.count(mfn) + 1);
    const r = audit();
    expect(r.ok).toBe(false);
    expect(r.violations.join('\n')).toContain(`mfn ${mfn} has count`);
  });

  it('catches a corrupted type count', () => {
    const { xen, d , audit } = booted('pv');
    const mfn = d.dom.guestCr3;
    xen.ft.setTypeCount(mfn, xen.ft.typeCount(mfn) - 1);
    expect(audit().violations.join('\n')).toContain(`mfn ${mfn}`);
  });

  it('catches a writable mapping of a page table written behind Xen’s back', () => {
    const { xen, d , audit } = booted('pv');
    // Find an L1 of the direct map and map the L4 writable through it, bypassing mmu_update.
    const l1 = xen.pvMm.findL1(d.dom.guestCr3, 0x880000000000);
    const l4 = d.dom.guestCr3;
    xen.mem.write(l1, 3, pteLo(l4, PTE_P | PTE_RW | PTE_A), pteHi(l4, PTE_P | PTE_RW | PTE_A));
    expect(audit().violations).toContain(`g1: mfn ${l4} is a l4 page table with 1 writable mapping(s)`);
  });

  it('catches a guest page reference count that disagrees with the page tables', () => {
    const { d, audit } = booted('hap');
    const pfn = [...d.kernel.mapcount.keys()].find((p) => d.kernel.mapcount[p] === 1)!;
    d.kernel.mapcount[pfn]++;
    expect(audit().violations.join('\n')).toContain(`pfn ${pfn} has mapcount 2 but 1`);
  });
});

describe('the auditor on shadow and EPT entries', () => {
  it('catches a shadow entry that maps a frame the domain does not own', () => {
    const { xen, d, dom0 , audit } = booted('shadow');
    // Point the first present shadow L1 entry at a dom0 frame, behind the shadow code's back.
    const root = d.dom.shadow!.rootMfn;
    const walk = (m: number, level: number): [number, number] | null => {
      for (const i of xen.mem.nonZeroEntries(m, [])) {
        const lo = xen.mem.readLo(m, i);
        if (!(lo & PTE_P)) continue;
        if (level === 1) return [m, i];
        const r = walk(Math.floor(lo / 4096) + (xen.mem.readHi(m, i) & 0xfffff) * 0x100000, level - 1);
        if (r) return r;
      }
      return null;
    };
    const [l1, i] = walk(root, 4)!;
    const foreign = dom0.dom.p2m[5];
    xen.mem.write(l1, i, pteLo(foreign, PTE_P | PTE_A), pteHi(foreign, PTE_P | PTE_A));
    expect(audit().violations.join('\n')).toContain(`maps mfn ${foreign}, which the domain does not own`);
  });

  it('catches an EPT leaf that maps a frame the domain does not own', () => {
    const { xen, d, dom0 , audit } = booted('hap');
    d.dom.hap!.lookup(0);
    // Rewrite the first EPT leaf found to point at dom0's memory.
    const find = (m: number, level: number): [number, number] | null => {
      for (const i of xen.mem.nonZeroEntries(m, [])) {
        const lo = xen.mem.readLo(m, i);
        if (level === 1 || lo & 0x80) return [m, i];
        const r = find(Math.floor(lo / 4096) + (xen.mem.readHi(m, i) & 0xfffff) * 0x100000, level - 1);
        if (r) return r;
      }
      return null;
    };
    const [t, i] = find(d.dom.hap!.eptRoot, 4)!;
    const foreign = dom0.dom.p2m[512];
    xen.mem.write(t, i, pteLo(foreign, xen.mem.readLo(t, i) & 0xfff), 0);
    expect(audit().violations.join('\n')).toMatch(/EPT L\d entry \d+ maps mfn \d+, owned by 0/);
  });
});

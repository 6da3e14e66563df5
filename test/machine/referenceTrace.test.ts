import { describe, expect, it } from 'vitest';
import { PTE_A, PTE_RW, PTE_US } from '../../core/machine/pte.js';
import type { WalkRef } from '../../core/machine/mmu/types.js';
import { KiB4, Machine, NestedGuest } from './helpers.js';

const USER_RW = PTE_RW | PTE_US;
const va = 0x2222_0000_0000;
const DATA_GFN = 2 ** 18;

function nested4k4k() {
  const m = new Machine();
  const g = new NestedGuest(m, '4k');
  const root = g.newRoot();
  m.ctx.cr3 = root;
  g.guest.map(root, va, DATA_GFN, '4k', USER_RW);
  g.guest.map(root, va + KiB4, DATA_GFN + 1, '4k', USER_RW);
  g.mapGfn(DATA_GFN);
  g.mapGfn(DATA_GFN + 1);
  return { m, g, root };
}

const cells = (t: WalkRef[]) => t.map((r) => `${r.guestLevel}.${r.hostLevel}`);
const count = (t: WalkRef[], s: WalkRef['source']) => t.filter((r) => r.source === s).length;

describe('reference translation', () => {
  it('traces the 2D grid row by row: guest levels 4..1 (EPT 4..1, then the guest entry), then the data', () => {
    const { m } = nested4k4k();
    const r = m.mmu.referenceTranslate(m.ctx, va, false, true, true);
    const expected: string[] = [];
    for (const gl of [4, 3, 2, 1]) for (const hl of [4, 3, 2, 1, 0]) expected.push(`${gl}.${hl}`);
    for (const hl of [4, 3, 2, 1]) expected.push(`0.${hl}`);
    expect(cells(r.trace)).toEqual(expected);
    expect(r.trace.map((x) => x.n)).toEqual(expected.map((_, i) => i + 1));
    expect(r.ok).toBe(true);
    expect(r.pageSize).toBe(KiB4);
  });

  it('changes nothing: no A bit, no counter, no cache fill', () => {
    const { m, g, root } = nested4k4k();
    m.mmu.coldFlush();
    const before = Float64Array.from(m.c);
    m.mmu.referenceTranslate(m.ctx, va, true, true, true);
    expect(Array.from(m.c)).toEqual(Array.from(before));
    for (let l = 4; l >= 1; l--) expect(g.guest.entry(root, va, l)!.lo & PTE_A).toBe(0);
    expect(m.mmu.tlb4k.count() + m.mmu.ntlb.count() + m.mmu.psc.count(2)).toBe(0);
    // A second traced call sees the same cold state.
    const r = m.mmu.referenceTranslate(m.ctx, va, true, true, true);
    expect(count(r.trace, 'memory')).toBeGreaterThan(0);
    expect(count(r.trace, 'psc') + count(r.trace, 'nested-tlb')).toBe(0);
  });

  it('names what would serve each reference, and the fast walk agrees reference by reference', () => {
    const { m } = nested4k4k();
    m.mmu.coldFlush();
    const cold = m.mmu.referenceTranslate(m.ctx, va, false, true, true);
    // Cold: a line is from memory the first time, from the data cache when the walk reads it
    // again (every EPT PML4E read of a gfn below 512 GiB is the same entry).
    const eptL4 = cold.trace.filter((r) => r.hostLevel === 4);
    expect(eptL4.map((r) => r.source)).toEqual(['memory', 'data-cache', 'data-cache', 'data-cache', 'data-cache']);
    const d1 = m.delta(() => m.mmu.translate(va, false, true));
    expect(d1.memory).toBe(count(cold.trace, 'memory'));
    expect(d1.cached).toBe(count(cold.trace, 'data-cache'));

    // Warm: the PDE cache skips guest rows 4..2 and row 1's EPT walk; the data gfn is new, but
    // its EPT PDE (same 2 MiB of guest-physical space) is cached: row 0's EPT levels 4..2 too.
    const warm = m.mmu.referenceTranslate(m.ctx, va + KiB4, false, true, true);
    expect(warm.refs).toBe(24);
    expect(count(warm.trace, 'psc')).toBe(3 * 5 + 4 + 3);
    expect(count(warm.trace, 'nested-tlb')).toBe(0);
    const d2 = m.delta(() => m.mmu.translate(va + KiB4, false, true));
    expect(d2.refs).toBe(24 - count(warm.trace, 'psc'));
    expect(d2.cached).toBe(count(warm.trace, 'data-cache'));
    expect(d2.memory).toBe(count(warm.trace, 'memory'));

    // With the PSC off, the guest tables' gfns are in the nested TLB.
    m.mmu.setPscEnabled(false);
    m.mmu.flushPcid(m.ctx.vpid, m.ctx.pcid);
    const ntlb = m.mmu.referenceTranslate(m.ctx, va, false, true, true);
    expect(ntlb.trace.filter((r) => r.source === 'nested-tlb').map((r) => `${r.guestLevel}.${r.hostLevel}`)).toEqual([
      '4.4', '4.3', '4.2', '4.1', '3.4', '3.3', '3.2', '3.1', '2.4', '2.3', '2.2', '2.1', '1.4', '1.3', '1.2', '1.1', '0.4', '0.3', '0.2', '0.1',
    ]);
    expect(m.delta(() => m.mmu.translate(va, false, true)).refs).toBe(4);
  });

  it('a 1D trace has one reference per level, hostLevel 0, and the entries read', () => {
    const m = new Machine();
    const root = m.x86.newRoot();
    m.ctx.cr3 = root;
    m.x86.map(root, va, 0x600, '2m', USER_RW);
    const r = m.mmu.referenceTranslate(m.ctx, va + 0x1234, true, false, true);
    expect(cells(r.trace)).toEqual(['4.0', '3.0', '2.0']);
    expect(r.maddr).toBe(0x600 * KiB4 + 0x1234);
    const leaf = m.x86.leaf(root, va)!;
    expect(r.trace[2]!.maddr).toBe(leaf.mfn * KiB4 + leaf.index * 8);
    expect(r.trace[2]!.entry).toBe('0x' + leaf.hi.toString(16).padStart(8, '0') + leaf.lo.toString(16).padStart(8, '0'));
    expect({ writable: r.writable, user: r.user, nx: r.nx, pageSize: r.pageSize }).toEqual({ writable: true, user: true, nx: false, pageSize: 2 ** 21 });
  });
});

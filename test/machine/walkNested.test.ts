import { describe, expect, it } from 'vitest';
import type { PageSize } from '../../core/base/types.js';
import { EPT_R, EPT_RWX, EPT_X } from '../../core/machine/pte.js';
import { PTE_A, PTE_D, PTE_RW, PTE_US } from '../../core/machine/pte.js';
import { FaultKind, PFEC_PRESENT, PFEC_WRITE, PFEC_USER } from '../../core/machine/mmu/types.js';
import { GUEST_BASE_MFN, KiB4, levelsFor, Machine, NestedGuest, nestedRefs, PAGE_SIZES, SIZE_BYTES } from './helpers.js';

const USER_RW = PTE_RW | PTE_US;
/** Guest data at gpa 1 GiB: aligned for every guest page size, clear of the guest's tables. */
const DATA_GFN = 2 ** 18;

function nestedMachine(guestSize: PageSize, hostSize: PageSize) {
  const m = new Machine();
  const g = new NestedGuest(m, hostSize);
  const root = g.newRoot();
  m.ctx.cr3 = root;
  const va = 0x5555_4000_0000; // aligned to 1 GiB
  g.guest.map(root, va, DATA_GFN, guestSize, USER_RW);
  g.mapGfn(DATA_GFN);
  return { m, g, root, va };
}

describe('nested walk: (n+1)(m+1)−1 references with cold caches', () => {
  for (const guest of PAGE_SIZES) {
    for (const host of PAGE_SIZES) {
      const n = levelsFor(guest);
      const mLevels = levelsFor(host);
      const expected = nestedRefs(n, mLevels);
      it(`guest ${guest} × host ${host}: ${n} guest levels, ${mLevels} host levels → ${expected} references`, () => {
        const { m, va } = nestedMachine(guest, host);
        m.mmu.coldFlush();
        const off = 0x1a8;
        const d = m.delta(() => expect(m.mmu.translate(va + off, false, true)).toBe((GUEST_BASE_MFN + DATA_GFN) * KiB4 + off));
        expect(d.walks).toBe(1);
        expect(d.refs).toBe(expected);
        expect(m.counters.walkHist[expected]).toBe(1);
        // The reference walk agrees and its grid has one cell per reference.
        m.mmu.coldFlush();
        const r = m.mmu.referenceTranslate(m.ctx, va + off, false, true, true);
        expect(r.refs).toBe(expected);
        expect(r.trace).toHaveLength(expected);
        // The combined translation is the smaller of the two page sizes.
        expect(r.pageSize).toBe(Math.min(SIZE_BYTES[guest], SIZE_BYTES[host]));
      });
    }
  }

  it('the translation is cached in the TLB of the smaller page size, tagged by the vpid', () => {
    for (const [guest, host, tlb] of [
      ['2m', '4k', 'tlb4k'],
      ['4k', '2m', 'tlb4k'],
      ['2m', '2m', 'tlb2m'],
      ['1g', '2m', 'tlb2m'],
      ['1g', '1g', 'tlb1g'],
    ] as const) {
      const { m, va } = nestedMachine(guest, host);
      m.mmu.translate(va, false, true);
      expect(m.mmu[tlb].count()).toBe(1);
      const small = Math.min(SIZE_BYTES[guest], SIZE_BYTES[host]);
      // Another address in the same combined page hits; one just past it walks.
      expect(m.delta(() => m.mmu.translate(va + small - 1, false, true)).hits).toBe(1);
      expect(m.delta(() => m.mmu.translate(va + small, false, true)).walks).toBe(1);
      // Another vpid does not see it.
      m.ctx.vpid = 2;
      expect(m.delta(() => m.mmu.translate(va, false, true)).walks).toBe(1);
    }
  });

  it('sets A/D in the guest tables (through their machine frames), not in EPT entries', () => {
    const { m, g, root, va } = nestedMachine('4k', '4k');
    m.mmu.translate(va, true, true);
    for (let l = 4; l >= 1; l--) expect(g.guest.entry(root, va, l)!.lo & PTE_A).toBe(PTE_A);
    expect(g.guest.entry(root, va, 1)!.lo & PTE_D).toBe(PTE_D);
    expect(g.guest.entry(root, va, 2)!.lo & PTE_D).toBe(0);
    const e = m.ept.leaf(g.eptRoot, DATA_GFN * KiB4)!;
    expect(e.lo & (1 << 8)).toBe(0); // EPT A (bit 8) untouched
  });

  it('a guest #PF is a page fault, not an exit', () => {
    const { m, va } = nestedMachine('4k', '4k');
    expect(m.mmu.translate(va + SIZE_BYTES['1g'], false, true)).toBe(-1);
    expect(m.mmu.fault.kind).toBe(FaultKind.PageFault);
    expect(m.mmu.fault.level).toBe(3);
  });
});

describe('EPT violations', () => {
  it('during the guest walk: the gpa of the guest entry whose table EPT does not map', () => {
    const { m, g, root, va } = nestedMachine('4k', '4k');
    // The guest's L2 table (pointed to by its L3 entry) loses its EPT mapping.
    const l3 = g.guest.entry(root, va, 3)!;
    const l2Gfn = l3.lo >>> 12;
    m.ept.unmap(g.eptRoot, l2Gfn * KiB4);
    const l2 = g.guest.entry(root, va, 2)!;
    m.mmu.coldFlush();
    const d = m.delta(() => expect(m.mmu.translate(va, false, true)).toBe(-1));
    const f = m.mmu.fault;
    expect(f.kind).toBe(FaultKind.EptViolation);
    expect(f.duringGuestWalk).toBe(true);
    expect(f.gpa).toBe(l2Gfn * KiB4 + l2.index * 8);
    expect(f.level).toBe(1);
    // Two full guest rows (L4, L3: 5 each) and the EPT walk of the L2 table's gpa (4).
    expect(d.refs).toBe(2 * 5 + 4);
    const r = m.mmu.referenceTranslate(m.ctx, va, false, true);
    expect(r.faultKind).toBe(FaultKind.EptViolation);
    expect(r.faultGpa).toBe(f.gpa);
    expect(r.faultDuringGuestWalk).toBe(true);
  });

  it('on the final guest-physical address: the gpa of the byte, not during the guest walk', () => {
    const { m, g, va } = nestedMachine('4k', '2m');
    m.ept.unmap(g.eptRoot, DATA_GFN * KiB4);
    m.mmu.coldFlush();
    const d = m.delta(() => expect(m.mmu.translate(va + 0x88, true, true)).toBe(-1));
    const f = m.mmu.fault;
    expect(f.kind).toBe(FaultKind.EptViolation);
    expect(f.duringGuestWalk).toBe(false);
    expect(f.gpa).toBe(DATA_GFN * KiB4 + 0x88);
    expect(f.errorCode & PFEC_WRITE).toBe(PFEC_WRITE);
    // The EPT PDE for the data is now empty: 4 guest rows of 3+1 references, then the final
    // walk reads the EPT PML4E, PDPTE and the empty PDE.
    expect(f.level).toBe(2);
    expect(d.refs).toBe(4 * (3 + 1) + 3);
  });

  it('a write to a gpa EPT maps read-only is a violation at the leaf; a read is fine', () => {
    const { m, g, va } = nestedMachine('4k', '4k');
    m.ept.protect(g.eptRoot, DATA_GFN * KiB4, EPT_R);
    m.mmu.flushNestedTlb();
    expect(m.mmu.translate(va, false, true)).toBe((GUEST_BASE_MFN + DATA_GFN) * KiB4);
    expect(m.mmu.translate(va, true, true)).toBe(-1);
    expect(m.mmu.fault.kind).toBe(FaultKind.EptViolation);
    expect(m.mmu.fault.level).toBe(1);
    expect(m.mmu.fault.duringGuestWalk).toBe(false);
  });

  it('EPT rights are ANDed over the levels, and the guest #PF comes first', () => {
    const { m, g, root, va } = nestedMachine('4k', '4k');
    m.ept.protect(g.eptRoot, DATA_GFN * KiB4, EPT_RWX);
    const e3 = m.ept.entry(g.eptRoot, DATA_GFN * KiB4, 3)!;
    m.mem.write(e3.mfn, e3.index, (e3.lo & ~EPT_RWX) | EPT_R | EPT_X, e3.hi);
    expect(m.mmu.translate(va, true, true)).toBe(-1);
    expect(m.mmu.fault.kind).toBe(FaultKind.EptViolation);
    // Guest maps it read-only: the guest's own #PF is found before the final EPT walk.
    g.guest.protect(root, va, PTE_US);
    m.mmu.flushAll();
    expect(m.mmu.translate(va, true, true)).toBe(-1);
    expect(m.mmu.fault.kind).toBe(FaultKind.PageFault);
    expect(m.mmu.fault.errorCode).toBe(PFEC_PRESENT | PFEC_WRITE | PFEC_USER);
  });

  it('PS in an EPT PML4E is a violation', () => {
    const { m, g, va } = nestedMachine('4k', '4k');
    const e = m.ept.entry(g.eptRoot, 0, 4)!;
    m.mem.write(e.mfn, e.index, e.lo | (1 << 7), e.hi);
    m.mmu.coldFlush();
    expect(m.mmu.translate(va, false, true)).toBe(-1);
    expect(m.mmu.fault.kind).toBe(FaultKind.EptViolation);
    expect(m.mmu.fault.level).toBe(4);
    expect(m.mmu.fault.duringGuestWalk).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { tableIndex } from '../../core/base/types.js';
import { FaultKind, PFEC_INSN, PFEC_PRESENT, PFEC_RSVD, PFEC_USER, PFEC_WRITE } from '../../core/machine/mmu/types.js';
import { PTE_A, PTE_D, PTE_NX, PTE_PS, PTE_RW, PTE_US, pteLo, pteHi } from '../../core/machine/pte.js';
import { KiB4, levelsFor, Machine, PAGE_SIZES, SIZE_BYTES } from './helpers.js';

const USER_RW = PTE_RW | PTE_US;
/** A data frame far from the table frames, 1 GiB aligned so every page size can use it. */
const DATA = 2 ** 18;

function machine1d() {
  const m = new Machine();
  const root = m.x86.newRoot();
  m.ctx.cr3 = root;
  return { m, root };
}

describe('1D walk: one reference per level, read from memory', () => {
  for (const size of PAGE_SIZES) {
    it(`a cold walk of a ${size} page makes ${levelsFor(size)} references, all from memory`, () => {
      const { m, root } = machine1d();
      const va = 0x7f12_3456_7000 - (0x7f12_3456_7000 % SIZE_BYTES[size]);
      m.x86.map(root, va, DATA, size, USER_RW);
      m.mmu.coldFlush();
      const off = 0x123;
      const d = m.delta(() => expect(m.mmu.translate(va + off, false, true)).toBe(DATA * KiB4 + off));
      expect(d.walks).toBe(1);
      expect(d.refs).toBe(levelsFor(size));
      expect(d.memory).toBe(levelsFor(size));
      expect(m.counters.walkHist[levelsFor(size)]).toBe(1);
      expect(m.counters.walkMaxRefs).toBe(levelsFor(size));
    });
  }

  it('translates an offset deep inside a 1 GiB page', () => {
    const { m, root } = machine1d();
    m.x86.map(root, 3 * 2 ** 30, DATA, '1g', USER_RW);
    expect(m.mmu.translate(3 * 2 ** 30 + 0x2345_6789, false, false)).toBe(DATA * KiB4 + 0x2345_6789);
  });

  it('sets A on every entry it uses, and D on the leaf only for a write', () => {
    const { m, root } = machine1d();
    const va = 0x4000_1000;
    m.x86.map(root, va, DATA, '4k', USER_RW);
    const flagsAt = (level: number) => m.x86.entry(root, va, level)!.lo;
    for (let l = 4; l >= 1; l--) expect(flagsAt(l) & (PTE_A | PTE_D)).toBe(0);
    m.mmu.translate(va, false, true);
    for (let l = 4; l >= 1; l--) expect(flagsAt(l) & PTE_A).toBe(PTE_A);
    for (let l = 4; l >= 1; l--) expect(flagsAt(l) & PTE_D).toBe(0);
    // The TLB entry was cached clean: a write must walk again so the walker can set D.
    const d = m.delta(() => m.mmu.translate(va, true, true));
    expect(d.walks).toBe(1);
    expect(flagsAt(1) & PTE_D).toBe(PTE_D);
    for (let l = 4; l >= 2; l--) expect(flagsAt(l) & PTE_D).toBe(0);
    // Now dirty in the TLB: the next write hits.
    expect(m.delta(() => m.mmu.translate(va + 8, true, true)).hits).toBe(1);
  });

  it('sets D in a 2 MiB leaf (the entry at level 2) on a write', () => {
    const { m, root } = machine1d();
    m.x86.map(root, 0x20_0000, DATA, '2m', USER_RW);
    m.mmu.translate(0x20_0000, true, false);
    const e = m.x86.leaf(root, 0x20_0000)!;
    expect(e.level).toBe(2);
    expect(e.lo & (PTE_A | PTE_D | PTE_PS)).toBe(PTE_A | PTE_D | PTE_PS);
  });
});

describe('1D faults: #PF with the error code and the level', () => {
  const va = 0x1234_5678_9000;

  for (let level = 4; level >= 1; level--) {
    it(`an entry not present at level ${level} faults there with P clear, after ${5 - level} references`, () => {
      const { m, root } = machine1d();
      m.x86.map(root, va, DATA, '4k', USER_RW);
      m.x86.clear(root, va, level);
      const d = m.delta(() => expect(m.mmu.translate(va, true, true)).toBe(-1));
      const f = m.mmu.fault;
      expect(f.kind).toBe(FaultKind.PageFault);
      expect(f.errorCode).toBe(PFEC_WRITE | PFEC_USER);
      expect(f.level).toBe(level);
      expect(f.va).toBe(va);
      expect(d.refs).toBe(5 - level);
    });
  }

  it('a user write to a read-only page: P|W|U at the leaf level', () => {
    const { m, root } = machine1d();
    m.x86.map(root, va, DATA, '4k', PTE_US);
    expect(m.mmu.translate(va, false, true)).toBe(DATA * KiB4);
    expect(m.mmu.translate(va, true, true)).toBe(-1);
    expect(m.mmu.fault.errorCode).toBe(PFEC_PRESENT | PFEC_WRITE | PFEC_USER);
    expect(m.mmu.fault.level).toBe(1);
  });

  it('R/W is the AND over the levels: clearing it in the PDPTE makes the page read-only (CR0.WP=1, supervisor too)', () => {
    const { m, root } = machine1d();
    m.x86.map(root, va, DATA, '4k', USER_RW);
    const e = m.x86.entry(root, va, 3)!;
    m.mem.write(e.mfn, e.index, e.lo & ~PTE_RW, e.hi);
    expect(m.mmu.translate(va, true, false)).toBe(-1);
    expect(m.mmu.fault.errorCode).toBe(PFEC_PRESENT | PFEC_WRITE);
    expect(m.mmu.fault.level).toBe(1);
    expect(m.mmu.translate(va, false, false)).toBe(DATA * KiB4);
  });

  it('a user read of a supervisor page: P|U', () => {
    const { m, root } = machine1d();
    m.x86.map(root, va, DATA, '4k', PTE_RW);
    expect(m.mmu.translate(va, false, false)).toBe(DATA * KiB4);
    expect(m.mmu.translate(va, false, true)).toBe(-1);
    expect(m.mmu.fault.errorCode).toBe(PFEC_PRESENT | PFEC_USER);
  });

  it('a supervisor bit in the PML4E hides the whole 512 GiB from user mode', () => {
    const { m, root } = machine1d();
    m.x86.map(root, va, DATA, '2m', USER_RW);
    const e = m.x86.entry(root, va, 4)!;
    m.mem.write(e.mfn, e.index, e.lo & ~PTE_US, e.hi);
    expect(m.mmu.translate(va, false, true)).toBe(-1);
    expect(m.mmu.fault.errorCode).toBe(PFEC_PRESENT | PFEC_USER);
    expect(m.mmu.fault.level).toBe(2);
  });

  it('XD (NX) is the OR over the levels: a fetch faults with P|I, a read does not', () => {
    const { m, root } = machine1d();
    m.x86.map(root, va, DATA, '4k', USER_RW);
    expect(m.mmu.translateFetch(va, true)).toBe(DATA * KiB4);
    const e = m.x86.entry(root, va, 2)!;
    // XD is bit 63: PTE_NX in the folded flags word, the top bit of the high half.
    m.mem.write(e.mfn, e.index, e.lo, pteHi(0, PTE_NX) | e.hi);
    m.mmu.flushAll();
    expect(m.mmu.translateFetch(va, true)).toBe(-1);
    expect(m.mmu.fault.errorCode).toBe(PFEC_PRESENT | PFEC_INSN | PFEC_USER);
    expect(m.mmu.translate(va, false, true)).toBe(DATA * KiB4);
    // The TLB entry the read cached carries XD: a fetch through it walks again and faults.
    expect(m.mmu.translateFetch(va, false)).toBe(-1);
    expect(m.mmu.fault.errorCode).toBe(PFEC_PRESENT | PFEC_INSN);
  });

  it('PS in a PML4E is reserved: #PF with P|RSVD at level 4', () => {
    const { m, root } = machine1d();
    m.x86.map(root, va, DATA, '4k', USER_RW);
    const e = m.x86.entry(root, va, 4)!;
    m.mem.write(e.mfn, e.index, e.lo | PTE_PS, e.hi);
    const d = m.delta(() => expect(m.mmu.translate(va, false, false)).toBe(-1));
    expect(m.mmu.fault.errorCode).toBe(PFEC_PRESENT | PFEC_RSVD);
    expect(m.mmu.fault.level).toBe(4);
    expect(d.refs).toBe(1);
  });

  it('a permission failure on a TLB hit re-walks: a page made writable needs no flush', () => {
    const { m, root } = machine1d();
    m.x86.map(root, va, DATA, '4k', PTE_US);
    expect(m.mmu.translate(va, false, true)).toBe(DATA * KiB4);
    m.x86.protect(root, va, USER_RW);
    const d = m.delta(() => expect(m.mmu.translate(va, true, true)).toBe(DATA * KiB4));
    expect(d.misses).toBe(1);
    expect(d.walks).toBe(1);
  });

  it('entries are found by tableIndex: a hand-written L1 entry is what the walk returns', () => {
    const { m, root } = machine1d();
    m.x86.map(root, va, DATA, '4k', USER_RW);
    const e = m.x86.entry(root, va, 1)!;
    expect(e.index).toBe(tableIndex(va, 1));
    m.mem.write(e.mfn, e.index, pteLo(DATA + 7, USER_RW | 1), pteHi(DATA + 7, 0));
    m.mmu.flushAll();
    expect(m.mmu.translate(va + 5, false, true)).toBe((DATA + 7) * KiB4 + 5);
  });
});

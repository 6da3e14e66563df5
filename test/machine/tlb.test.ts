import { describe, expect, it } from 'vitest';
import { PTE_G, PTE_RW, PTE_US } from '../../core/machine/pte.js';
import { Tlb, asidTag, globalTag, TLB_RW } from '../../core/machine/mmu/tlb.js';
import { config, KiB4, Machine, MiB2 } from './helpers.js';

const USER_RW = PTE_RW | PTE_US;

/** A machine with two address spaces (PCIDs 1 and 2) sharing a global kernel page. */
function twoSpaces(cfg = config()) {
  const m = new Machine(cfg);
  const a = m.x86.newRoot();
  const b = m.x86.newRoot();
  const user = 0x40_0000;
  const kernel = 0x7fff_0000_0000;
  m.x86.map(a, user, 0x1000, '4k', USER_RW);
  m.x86.map(b, user, 0x2000, '4k', USER_RW);
  m.x86.map(a, kernel, 0x3000, '4k', PTE_RW | PTE_G);
  // The kernel half is shared: b's PML4E points at a's kernel PDPT, as kernels do.
  const l4 = m.x86.entry(a, kernel, 4)!;
  m.x86.link(b, kernel, 4, l4.lo >>> 12);
  m.ctx.vpid = 3;
  const use = (root: number, pcid: number) => {
    m.ctx.cr3 = root;
    m.ctx.pcid = pcid;
  };
  use(a, 1);
  return { m, a, b, user, kernel, use };
}

describe('TLB', () => {
  it('hits after a walk, and a hit costs no reference', () => {
    const { m, user } = twoSpaces();
    expect(m.delta(() => m.mmu.translate(user, false, true)).walks).toBe(1);
    const d = m.delta(() => expect(m.mmu.translate(user + 0xabc, false, true)).toBe(0x1000 * KiB4 + 0xabc));
    expect(d).toMatchObject({ hits: 1, misses: 0, walks: 0, refs: 0 });
  });

  it('INVLPG drops only that page', () => {
    const { m, a } = twoSpaces();
    m.x86.map(a, 0x40_1000, 0x1001, '4k', USER_RW);
    m.mmu.translate(0x40_0000, false, true);
    m.mmu.translate(0x40_1000, false, true);
    m.mmu.invlpg(0x40_0000);
    expect(m.delta(() => m.mmu.translate(0x40_0000, false, true)).misses).toBe(1);
    expect(m.delta(() => m.mmu.translate(0x40_1000, false, true)).hits).toBe(1);
  });

  it('INVLPG drops a global entry too, and a 2 MiB entry covering the address', () => {
    const { m, a, kernel } = twoSpaces();
    m.x86.map(a, 0x60_0000, 0x200, '2m', USER_RW);
    m.mmu.translate(kernel, false, false);
    m.mmu.translate(0x60_0000, false, false);
    m.mmu.invlpg(kernel);
    m.mmu.invlpg(0x60_0000 + 5 * KiB4);
    expect(m.delta(() => m.mmu.translate(kernel, false, false)).misses).toBe(1);
    expect(m.delta(() => m.mmu.translate(0x60_0000, false, false)).misses).toBe(1);
  });

  it('a CR3 switch keeps other PCIDs; flushPcid drops one PCID but keeps globals; flushVpid drops globals', () => {
    const { m, a, b, user, kernel, use } = twoSpaces();
    m.mmu.translate(user, false, true);
    m.mmu.translate(kernel, false, false);
    use(b, 2); // PCID switch with the no-flush bit
    expect(m.delta(() => expect(m.mmu.translate(user, false, true)).toBe(0x2000 * KiB4)).misses).toBe(1);
    // The global kernel entry, cached under PCID 1, serves PCID 2.
    expect(m.delta(() => m.mmu.translate(kernel, false, false)).hits).toBe(1);
    use(a, 1);
    expect(m.delta(() => expect(m.mmu.translate(user, false, true)).toBe(0x1000 * KiB4)).hits).toBe(1);
    m.mmu.flushPcid(3, 1);
    expect(m.delta(() => m.mmu.translate(user, false, true)).misses).toBe(1);
    expect(m.delta(() => m.mmu.translate(kernel, false, false)).hits).toBe(1);
    use(b, 2);
    expect(m.delta(() => m.mmu.translate(user, false, true)).hits).toBe(1);
    m.mmu.flushVpid(3);
    expect(m.delta(() => m.mmu.translate(kernel, false, false)).misses).toBe(1);
    expect(m.delta(() => m.mmu.translate(user, false, true)).misses).toBe(1);
  });

  it('entries of another VPID never match, and flushVpid leaves other VPIDs alone', () => {
    const { m, user } = twoSpaces();
    m.mmu.translate(user, false, true);
    m.ctx.vpid = 4;
    expect(m.delta(() => m.mmu.translate(user, false, true)).misses).toBe(1);
    m.mmu.flushVpid(3);
    expect(m.delta(() => m.mmu.translate(user, false, true)).hits).toBe(1);
  });

  it('evicts the least recently used way of a set', () => {
    // 8 entries, 2 ways: 4 sets, so pages 0, 4, 8 (×4 KiB) share set 0.
    const { m, a } = twoSpaces(config({ tlb4k: { entries: 8, ways: 2 } }));
    const page = (n: number) => 0x1_0000_0000 + n * KiB4;
    for (const n of [0, 4, 8]) m.x86.map(a, page(n), 0x5000 + n, '4k', USER_RW);
    m.mmu.translate(page(0), false, true);
    m.mmu.translate(page(4), false, true);
    m.mmu.translate(page(0), false, true); // page 0 is now the most recent
    const vpn = (n: number) => page(n) / KiB4;
    expect(m.mmu.tlb4k.setOrder(vpn(0))).toEqual([vpn(4), vpn(0)]);
    m.mmu.translate(page(8), false, true); // evicts page 4
    expect(m.mmu.tlb4k.setOrder(vpn(0))).toEqual([vpn(0), vpn(8)]);
    expect(m.delta(() => m.mmu.translate(page(0), false, true)).hits).toBe(1);
    expect(m.delta(() => m.mmu.translate(page(4), false, true)).misses).toBe(1);
  });

  it('is split by page size: a 2 MiB mapping fills and hits the 2 MiB TLB', () => {
    const { m, a } = twoSpaces();
    m.x86.map(a, 0x8000_0000, 0x400, '2m', USER_RW);
    m.mmu.translate(0x8000_0000, false, true);
    expect(m.mmu.tlb2m.count()).toBe(1);
    expect(m.mmu.tlb4k.count()).toBe(0);
    // Any 4 KiB page of the 2 MiB hits it.
    const d = m.delta(() => expect(m.mmu.translate(0x8000_0000 + MiB2 - 8, false, true)).toBe(0x400 * KiB4 + MiB2 - 8));
    expect(d.hits).toBe(1);
    m.x86.map(a, 0xc000_0000, 0x40000, '1g', USER_RW);
    m.mmu.translate(0xc000_0000, false, true);
    expect(m.mmu.tlb1g.count()).toBe(1);
  });

  it('a write through a clean entry walks once to set D, then hits', () => {
    const { m, user } = twoSpaces();
    m.mmu.translate(user, false, true);
    expect(m.delta(() => m.mmu.translate(user, true, true)).walks).toBe(1);
    expect(m.delta(() => m.mmu.translate(user, true, true)).hits).toBe(1);
  });

  it('flushes visit only filled slots until the fill log overflows, then everything', () => {
    const t = new Tlb(1024, 4, 12);
    const tag = asidTag(1, 1);
    for (let v = 0; v < 200; v++) t.fill(v, v % 2 ? tag : globalTag(1), v, TLB_RW);
    expect(t.count()).toBe(200);
    t.flushAsid(tag);
    expect(t.count()).toBe(100);
    t.flushVpid(1);
    expect(t.count()).toBe(0);
    for (let v = 0; v < 10; v++) t.fill(v * 7, tag, v, TLB_RW);
    t.flushAll();
    expect(t.count()).toBe(0);
    expect(t.lookup(7, tag, globalTag(1))).toBe(-1);
  });

  it('rejects a geometry whose number of sets is not a power of two', () => {
    expect(() => new Tlb(48, 4, 12)).toThrow(/power of two/);
  });
});

import { describe, expect, it } from 'vitest';
import type { PageSize } from '../../core/base/types.js';
import { C } from '../../core/machine/counters.js';
import { PTE_RW, PTE_US } from '../../core/machine/pte.js';
import { DataCache } from '../../core/machine/mmu/dataCache.js';
import { NestedTlb } from '../../core/machine/mmu/nestedTlb.js';
import { EPT_R, EPT_W } from '../../core/machine/pte.js';
import { config, GiB1, GUEST_BASE_MFN, KiB4, levelsFor, Machine, MiB2, NestedGuest, nestedRefs } from './helpers.js';

const USER_RW = PTE_RW | PTE_US;
const va0 = 0x3000_0000_0000; // 512 GiB aligned

function oneD(cfg = config()) {
  const m = new Machine(cfg);
  const root = m.x86.newRoot();
  m.ctx.cr3 = root;
  const map = (va: number, frame: number) => m.x86.map(root, va, frame, '4k', USER_RW);
  return { m, root, map };
}

describe('paging-structure caches (1D)', () => {
  it('a second walk in the same 2 MiB region hits the PDE cache: 1 reference', () => {
    const { m, map } = oneD();
    map(va0, 0x100);
    map(va0 + 5 * KiB4, 0x105);
    m.mmu.coldFlush();
    expect(m.delta(() => m.mmu.translate(va0, false, true)).refs).toBe(4);
    const d = m.delta(() => expect(m.mmu.translate(va0 + 5 * KiB4, false, true)).toBe(0x105 * KiB4));
    expect(d).toMatchObject({ refs: 1, psc: 1 });
  });

  it('starts below the deepest hit: PDPTE hit → 2 references, PML4E hit → 3', () => {
    const { m, map } = oneD();
    map(va0, 0x100);
    map(va0 + 3 * MiB2, 0x101); // same 1 GiB, another 2 MiB: its own page table
    map(va0 + 7 * GiB1, 0x102); // same 512 GiB, another 1 GiB
    m.mmu.coldFlush();
    m.mmu.translate(va0, false, true);
    expect(m.delta(() => m.mmu.translate(va0 + 3 * MiB2, false, true))).toMatchObject({ refs: 2, psc: 1 });
    expect(m.delta(() => m.mmu.translate(va0 + 7 * GiB1, false, true))).toMatchObject({ refs: 3, psc: 1 });
  });

  it('switched off, every walk makes all its references', () => {
    const { m, map } = oneD(config({ psc: { enabled: false, pml4e: 4, pdpte: 16, pde: 32 } }));
    map(va0, 0x100);
    map(va0 + KiB4, 0x101);
    m.mmu.translate(va0, false, true);
    expect(m.delta(() => m.mmu.translate(va0 + KiB4, false, true))).toMatchObject({ refs: 4, psc: 0 });
    m.mmu.setPscEnabled(true);
    m.mmu.translate(va0 + 2 * KiB4, false, true); // not mapped: a #PF, but the upper levels are cached
    expect(m.delta(() => m.mmu.translate(va0 + 3 * KiB4, false, true)).refs).toBe(1);
  });

  it('INVLPG and a CR3 load drop the PCID\'s entries; other PCIDs keep theirs', () => {
    const { m, map } = oneD();
    for (let i = 0; i < 4; i++) map(va0 + i * KiB4, 0x100 + i);
    m.ctx.pcid = 1;
    m.mmu.translate(va0, false, true);
    m.mmu.invlpg(va0 + 3 * KiB4);
    expect(m.delta(() => m.mmu.translate(va0 + KiB4, false, true)).refs).toBe(4);
    m.ctx.pcid = 2;
    m.mmu.translate(va0, false, true);
    m.mmu.flushPcid(0, 1);
    expect(m.delta(() => m.mmu.translate(va0 + 2 * KiB4, false, true)).refs).toBe(1);
    m.ctx.pcid = 1;
    expect(m.delta(() => m.mmu.translate(va0 + 3 * KiB4, false, true)).refs).toBe(4);
  });
});

describe('combined paging-structure caches and the nested TLB (2D)', () => {
  function nested(host: PageSize, psc: boolean, ntlb: boolean) {
    const m = new Machine(
      config({
        psc: { enabled: psc, pml4e: 4, pdpte: 16, pde: 32 },
        nestedTlb: { enabled: ntlb, entries: 64, ways: 4 },
      }),
    );
    const g = new NestedGuest(m, host);
    const root = g.newRoot();
    m.ctx.cr3 = root;
    // Three guest pages in one 2 MiB region: two distinct data frames, and an alias of the first.
    const dataGfn = 2 ** 18;
    g.guest.map(root, va0, dataGfn, '4k', USER_RW);
    g.guest.map(root, va0 + KiB4, dataGfn + 1, '4k', USER_RW);
    g.guest.map(root, va0 + 2 * KiB4, dataGfn, '4k', USER_RW);
    g.mapGfn(dataGfn);
    g.mapGfn(dataGfn + 1);
    m.mmu.coldFlush();
    return { m, n: levelsFor('4k'), mh: levelsFor(host) };
  }

  for (const host of ['4k', '2m'] as PageSize[]) {
    it(`host ${host}: PDE-cache hit leaves the guest PTE read and the final EPT walk: 1 + m references`, () => {
      const { m, n, mh } = nested(host, true, true);
      expect(m.delta(() => m.mmu.translate(va0, false, true)).refs).toBe(nestedRefs(n, mh));
      // The final gfn is new but shares 2 MiB of guest-physical space with the first walk's. With
      // 4 KiB EPT pages its EPT PDE was cached: the EPT walk reads only the EPT PTE. With a 2 MiB
      // EPT page the nested TLB holds the whole leaf: no EPT reference at all.
      if (host === '4k') {
        expect(m.delta(() => m.mmu.translate(va0 + KiB4, false, true))).toMatchObject({ refs: 1 + 1, psc: 2, ntlb: 0 });
      } else {
        expect(m.delta(() => m.mmu.translate(va0 + KiB4, false, true))).toMatchObject({ refs: 1, psc: 1, ntlb: 1 });
      }
      // The alias's final gfn is in the nested TLB too: one reference in all.
      expect(m.delta(() => m.mmu.translate(va0 + 2 * KiB4, false, true))).toMatchObject({ refs: 1, psc: 1, ntlb: 1 });
    });

    it(`host ${host}: nested TLB alone skips the EPT walks of the guest tables: n + m references`, () => {
      const { m, n, mh } = nested(host, false, true);
      m.mmu.translate(va0, false, true);
      // A 2 MiB EPT leaf is one nested-TLB entry, so the new final gfn in it hits as well.
      const expected = host === '4k' ? { refs: n + mh, ntlb: n } : { refs: n, ntlb: n + 1 };
      expect(m.delta(() => m.mmu.translate(va0 + KiB4, false, true))).toMatchObject(expected);
    });

    it(`host ${host}: both off, the second walk costs the full (n+1)(m+1)−1 again`, () => {
      const { m, n, mh } = nested(host, false, false);
      m.mmu.translate(va0, false, true);
      expect(m.delta(() => m.mmu.translate(va0 + KiB4, false, true)).refs).toBe(nestedRefs(n, mh));
    });
  }

  it('INVEPT drops the nested TLB and the combined entries, INVVPID keeps guest-physical mappings', () => {
    const { m, n, mh } = nested('4k', true, true);
    m.mmu.translate(va0, false, true);
    m.mmu.flushVpid(1);
    // Linear and combined entries gone; the guest tables' gfns still hit the nested TLB, and the
    // final gfn's EPT PDE (a guest-physical structure INVVPID keeps) leaves one EPT reference.
    expect(m.delta(() => m.mmu.translate(va0 + KiB4, false, true))).toMatchObject({ refs: n + 1, ntlb: n });
    m.mmu.flushNestedTlb();
    expect(m.delta(() => m.mmu.translate(va0 + 2 * KiB4, false, true)).refs).toBe(nestedRefs(n, mh));
  });
});

describe('EPT paging-structure caches of every level (the nested dimension of a 2D page-walk cache)', () => {
  // Bhargava et al. (ASPLOS 2008) cache the nested dimension's entries of every level but the
  // last; the SDM lets EPT paging-structure entries of any level be cached (Vol. 3C §29.4.1). A
  // nested translation that misses the nested TLB starts below the deepest cached EPT level.
  // Counts below: the guest PDE-cache hit leaves the guest PTE (1 reference, its table's EPT walk
  // skipped by the combined entry); the final gfn is new, so its EPT walk starts below the deepest
  // EPT cache hit: after a PML4E hit it reads the EPT PDPTE, PDE, PTE (m − 1), after a PDPTE hit
  // the EPT PDE and PTE (m − 2).
  function machine(host: PageSize) {
    const m = new Machine(config({ psc: { enabled: true, pml4e: 4, pdpte: 16, pde: 32 }, nestedTlb: { enabled: true, entries: 64, ways: 4 } }));
    const g = new NestedGuest(m, host);
    const root = g.newRoot();
    m.ctx.cr3 = root;
    return { m, g, root, mh: levelsFor(host) };
  }

  for (const host of ['4k', '2m'] as PageSize[]) {
    it(`host ${host}: a gfn in a new 1 GiB region hits the EPT PML4E cache (1 + m − 1 references), then one in the same 1 GiB the PDPTE cache (1 + m − 2)`, () => {
      const { m, g, root, mh } = machine(host);
      // The guest tables and the first data frame in guest-physical 1 GiB region 0; the next two
      // data frames in region 1 (gfn 2^18 on), 2 MiB apart.
      const first = 7;
      const second = 2 ** 18;
      const third = 2 ** 18 + 3 * 512;
      g.guest.map(root, va0, first, '4k', USER_RW);
      g.guest.map(root, va0 + KiB4, second, '4k', USER_RW);
      g.guest.map(root, va0 + 2 * KiB4, third, '4k', USER_RW);
      for (const gfn of [first, second, third]) g.mapGfn(gfn);
      m.mmu.coldFlush();
      expect(m.delta(() => m.mmu.translate(va0, false, true)).refs).toBe(nestedRefs(4, mh));
      // Region 1 is new: only the EPT PML4E (512 GiB) is cached. Two hits: guest PDE, EPT PML4E.
      const trace = m.mmu.referenceTranslate(m.ctx, va0 + KiB4, false, true, true).trace;
      const d2 = m.delta(() => expect(m.mmu.translate(va0 + KiB4, false, true)).toBe((GUEST_BASE_MFN + second) * KiB4));
      expect(d2).toMatchObject({ refs: 1 + (mh - 1), psc: 2, ntlb: 0 });
      // The reference walk names the same references as skipped.
      expect(trace.filter((r) => r.source === 'psc').length).toBe(nestedRefs(4, mh) - d2.refs);
      // The second walk cached region 1's EPT PDPTE: the third gfn (another 2 MiB) starts below it.
      const d3 = m.delta(() => expect(m.mmu.translate(va0 + 2 * KiB4, false, true)).toBe((GUEST_BASE_MFN + third) * KiB4));
      expect(d3).toMatchObject({ refs: 1 + (mh - 2), psc: 2, ntlb: 0 });
    });
  }

  it('2 MiB guest and host pages: a TLB miss on a new 2 MiB page makes 2 references (native: 1)', () => {
    // Guest: the PDPTE-cache (combined) entry hands over the machine frame of the guest PD, whose
    // 2 MiB leaf is read (1). EPT: the page's gfn is another 2 MiB EPT leaf (nested-TLB miss), in
    // a 1 GiB region whose EPT PDPTE the first walk cached: the EPT PDE, a leaf, is read (1).
    const { m, g, root } = machine('2m');
    g.guest.map(root, va0, 2 ** 18, '2m', USER_RW);
    g.guest.map(root, va0 + MiB2, 2 ** 18 + 1024, '2m', USER_RW);
    g.mapGfn(2 ** 18);
    g.mapGfn(2 ** 18 + 1024);
    m.mmu.coldFlush();
    expect(m.delta(() => m.mmu.translate(va0, false, true)).refs).toBe(nestedRefs(3, 3));
    expect(m.delta(() => m.mmu.translate(va0 + MiB2 + 5 * KiB4, false, true))).toMatchObject({ refs: 2, psc: 2, ntlb: 0 });

    // The same two pages natively: the PDPTE-cache hit leaves the 2 MiB leaf, 1 reference.
    const n = oneD();
    n.m.x86.map(n.root, va0, 0x40000, '2m', USER_RW);
    n.m.x86.map(n.root, va0 + MiB2, 0x40400, '2m', USER_RW);
    n.m.mmu.coldFlush();
    n.m.mmu.translate(va0, false, true);
    expect(n.m.delta(() => n.m.mmu.translate(va0 + MiB2 + 5 * KiB4, false, true))).toMatchObject({ refs: 1, psc: 1 });
  });

  it('INVEPT empties them; switched off with the paging-structure caches', () => {
    const { m, g, root } = machine('4k');
    g.guest.map(root, va0, 2 ** 18, '4k', USER_RW);
    g.mapGfn(2 ** 18);
    m.mmu.coldFlush();
    m.mmu.translate(va0, false, true);
    // Region 0 (the guest tables) and region 1 (the data): one PML4E, two PDPTEs, two PDEs.
    expect([m.mmu.eptPml4e.count(), m.mmu.eptPdpte.count(), m.mmu.eptPde.count()]).toEqual([1, 2, 2]);
    m.mmu.flushNestedTlb();
    expect([m.mmu.eptPml4e.count(), m.mmu.eptPdpte.count(), m.mmu.eptPde.count()]).toEqual([0, 0, 0]);
    m.mmu.setPscEnabled(false);
    m.mmu.flushAll();
    m.mmu.translate(va0, false, true);
    expect([m.mmu.eptPml4e.count(), m.mmu.eptPdpte.count(), m.mmu.eptPde.count()]).toEqual([0, 0, 0]);
  });
});

describe('data cache', () => {
  it('8 consecutive entries share a 64-byte line', () => {
    for (let i = 0; i < 8; i++) expect(DataCache.line(77, i)).toBe(DataCache.line(77, 0));
    expect(DataCache.line(77, 8)).toBe(DataCache.line(77, 0) + 1);
    const dc = new DataCache(256, 8);
    expect(dc.access(DataCache.line(77, 0))).toBe(false);
    expect(dc.access(DataCache.line(77, 7))).toBe(true);
    expect(dc.access(DataCache.line(77, 8))).toBe(false);
  });

  it('evicts the least recently used line of a set', () => {
    const dc = new DataCache(1, 2); // 16 lines, 2 ways: 8 sets; lines 0, 8, 16 share set 0
    dc.access(0);
    dc.access(8);
    dc.access(0);
    dc.access(16);
    expect(dc.peek(0)).toBe(true);
    expect(dc.peek(8)).toBe(false);
    expect(dc.peek(16)).toBe(true);
  });

  it('walk cost follows locality: the neighbour PTE is a cached reference, the 9th is a miss', () => {
    const { m, map } = oneD(config({ psc: { enabled: false, pml4e: 4, pdpte: 16, pde: 32 } }));
    for (let i = 0; i < 9; i++) map(va0 + i * KiB4, 0x100 + i);
    m.mmu.coldFlush();
    expect(m.delta(() => m.mmu.translate(va0, false, true))).toMatchObject({ refs: 4, memory: 4, cached: 0 });
    expect(m.delta(() => m.mmu.translate(va0 + KiB4, false, true))).toMatchObject({ refs: 4, memory: 0, cached: 4 });
    expect(m.delta(() => m.mmu.translate(va0 + 8 * KiB4, false, true))).toMatchObject({ refs: 4, memory: 1, cached: 3 });
  });

  it('charges walkRefCached or walkRefMemory cycles per reference', () => {
    const { m, map } = oneD(config({ psc: { enabled: false, pml4e: 4, pdpte: 16, pde: 32 } }));
    map(va0, 0x100);
    map(va0 + KiB4, 0x101);
    m.mmu.coldFlush();
    const before = m.c[C.CycWalk]!;
    m.mmu.translate(va0, false, true);
    m.mmu.translate(va0 + KiB4, false, true);
    // DEFAULT_COSTS: 200 per DRAM reference, 14 per cached one; the PSC is off and no lookup is charged.
    expect(m.c[C.CycWalk]! - before).toBe(4 * 200 + 4 * 14);
  });
});

describe('data cache geometry', () => {
  it('a direct-mapped cache (1 way) keeps one line per set', () => {
    const dc = new DataCache(1, 1); // 16 sets
    expect(dc.access(3)).toBe(false);
    expect(dc.access(3)).toBe(true);
    expect(dc.access(19)).toBe(false); // same set, evicts line 3
    expect(dc.peek(3)).toBe(false);
    expect(dc.peek(4)).toBe(false);
    expect(dc.access(4)).toBe(false);
    expect(dc.peek(19)).toBe(true);
  });

  it('a set count that is not a power of two indexes by modulo', () => {
    const dc = new DataCache(3, 2); // 48 lines, 24 sets
    expect(dc.sets).toBe(24);
    dc.access(5);
    dc.access(29);
    dc.access(53); // 5, 29, 53 share set 5: 5 is evicted
    expect([dc.peek(5), dc.peek(29), dc.peek(53)]).toEqual([false, true, true]);
  });
});

describe('nested TLB', () => {
  it('hits only with the rights asked for, and a fill replaces the entry in place', () => {
    const nt = new NestedTlb({ enabled: true, entries: 8, ways: 2 });
    nt.fill(5, 100, 900, EPT_R, 1);
    expect(nt.lookup(5, 100, EPT_R)).toBe(true);
    expect(nt.hitMfn).toBe(900);
    expect(nt.lookup(5, 100, EPT_W)).toBe(false); // read-only entry: a write walks
    nt.fill(5, 100, 900, EPT_R | EPT_W, 1);
    expect(nt.count()).toBe(1);
    expect(nt.lookup(5, 100, EPT_W)).toBe(true);
    expect(nt.lookup(6, 100, EPT_R)).toBe(false); // another EPT
  });

  it('evicts the least recently used way, and a flush drops everything', () => {
    const nt = new NestedTlb({ enabled: true, entries: 8, ways: 2 }); // 4 sets: gfns 0, 4, 8 share set 0
    nt.fill(1, 0, 10, EPT_R, 1);
    nt.fill(1, 4, 14, EPT_R, 1);
    expect(nt.lookup(1, 0, EPT_R)).toBe(true);
    nt.fill(1, 8, 18, EPT_R, 1); // evicts gfn 4
    expect([nt.peek(1, 0, EPT_R), nt.peek(1, 4, EPT_R), nt.peek(1, 8, EPT_R)]).toEqual([true, false, true]);
    nt.flush();
    expect(nt.count()).toBe(0);
    expect(nt.lookup(1, 0, EPT_R)).toBe(false);
  });
});

/**
 * Mmu.hitRun (the workloads' run of TLB hits) against translate() one access at a time: on the
 * same machine state and access sequence, the same counters, the same TLB contents and LRU
 * stamps, and it stops exactly where translate() would first miss or refuse.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../core/base/rng.js';
import { PTE_G, PTE_RW, PTE_US } from '../../core/machine/pte.js';
import type { Tlb } from '../../core/machine/mmu/tlb.js';
import { config, KiB4, Machine, MiB2 } from './helpers.js';

const BASE = 0x7f00_0000_0000;

/** A machine with 4 KiB pages (some read-only, some global, one huge page) and a few unmapped. */
function machine(): Machine {
  const m = new Machine(config({ tlb4k: { entries: 64, ways: 4 }, tlb2m: { entries: 8, ways: 2 } }));
  const root = m.x86.newRoot();
  m.ctx.cr3 = root;
  m.ctx.vpid = 2;
  m.ctx.pcid = 5;
  for (let p = 0; p < 200; p++) {
    if (p % 17 === 16) continue; // unmapped: a fault
    const flags = PTE_US | (p % 5 === 0 ? 0 : PTE_RW) | (p % 11 === 0 ? PTE_G : 0);
    m.x86.map(root, BASE + p * KiB4, 0x20000 + p, '4k', flags);
  }
  m.x86.map(root, BASE + 4 * MiB2, 0x40000, '2m', PTE_US | PTE_RW);
  return m;
}

function accesses(seed: number, n: number): { vas: Float64Array; writes: Uint8Array } {
  const rng = new Rng(seed);
  const vas = new Float64Array(n);
  const writes = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = rng.nextU32();
    // Runs in one page (as sequential lines make), pages of the 4 KiB map, and the 2 MiB page.
    const page = r % 7 === 0 ? 2048 + (r % 512) : i % 3 === 0 ? (i >> 4) % 200 : (r >>> 3) % 200;
    vas[i] = BASE + page * KiB4 + ((r >>> 20) % 64) * 64;
    writes[i] = (r & 3) === 0 ? 1 : 0;
  }
  return { vas, writes };
}

function state(m: Machine): unknown {
  const tlb = (t: Tlb) => [Array.from(t.vpn), Array.from(t.tag), Array.from(t.mfn), Array.from(t.flags), Array.from((t as unknown as { stamp: Float64Array }).stamp), t.live];
  return [Array.from(m.c), tlb(m.mmu.tlb4k), tlb(m.mmu.tlb2m), tlb(m.mmu.tlb1g)];
}

describe('Mmu.hitRun', () => {
  for (const seed of [1, 2, 3]) {
    it(`counts and leaves the TLBs exactly as translate() one by one (seed ${seed})`, () => {
      const { vas, writes } = accesses(seed, 6000);
      const one = machine();
      const results: number[] = [];
      for (let i = 0; i < vas.length; i++) results.push(one.mmu.translate(vas[i]!, writes[i] !== 0, true));

      const run = machine();
      const viaRun: number[] = [];
      let i = 0;
      let runs = 0;
      while (i < vas.length) {
        const end = run.mmu.hitRun(vas, writes, i, vas.length, true);
        // Each access hitRun took is a hit translate() would also have made.
        for (let k = i; k < end; k++) viaRun.push(results[k]!);
        if (end > i) runs++;
        i = end;
        if (i < vas.length) {
          viaRun.push(run.mmu.translate(vas[i]!, writes[i] !== 0, true));
          i++;
        }
      }
      expect(viaRun).toEqual(results);
      expect(state(run)).toEqual(state(one));
      expect(runs).toBeGreaterThan(50);
    });
  }

  it('stops before an access its entry does not allow, touching nothing', () => {
    const m = machine();
    const ro = BASE; // page 0 is read-only
    m.mmu.translate(ro, false, true);
    const before = state(m);
    expect(m.mmu.hitRun(Float64Array.of(ro), Uint8Array.of(1), 0, 1, true)).toBe(0);
    expect(state(m)).toEqual(before);
  });
});

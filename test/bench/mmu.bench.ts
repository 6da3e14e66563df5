/**
 * MMU benchmarks, each beside a plain typed-array baseline measured in the same process (only
 * ratios compare across machines, DESIGN.md §8):
 *
 *  - the TLB-hit path of translate(), against a flat loop making the same typed-array loads and
 *    stores per access (va, set scan, tag, flags, frame, LRU stamp, two counters);
 *  - nested 4K/4K walks with the TLB, paging-structure caches and nested TLB flushed before each
 *    (data cache warm), against a loop of 24 dependent loads per iteration;
 *  - the same for 1D 4-level walks, against 4 dependent loads.
 */
import { C } from '../../core/machine/counters.js';
import { CTR_TLB_HITS, CTR_TLB_LOOKUPS } from '../../core/machine/mmu/hotIndex.js';
import { PTE_RW, PTE_US } from '../../core/machine/pte.js';
import { config, KiB4, Machine, NestedGuest, nestedRefs } from '../machine/helpers.js';
import { opsPerSecond } from './measure.js';
import type { BenchResult } from './types.js';

const USER_RW = PTE_RW | PTE_US;
const VA_BASE = 0x7f00_0000_0000;
/** Addresses visited, a power of two so the loops index with a mask. */
const ACCESSES = 4096;

function randomVas(pages: number, stridePages: number, seed: number): Float64Array {
  const vas = new Float64Array(ACCESSES);
  let x = seed >>> 0;
  for (let i = 0; i < ACCESSES; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    vas[i] = VA_BASE + (x % pages) * stridePages * KiB4 + (x >>> 20);
  }
  return vas;
}

function result(name: string, ops: number, base: number, note: string): BenchResult {
  return { name, opsPerSec: ops, baselineOpsPerSec: base, ratio: ops / base, note };
}

/** (a) The TLB-hit path. */
function benchHitPath(): BenchResult {
  const m = new Machine(config());
  const root = m.x86.newRoot();
  m.ctx.cr3 = root;
  const pages = 512; // 4 per set of the default 128-set, 12-way 4 KiB TLB
  for (let i = 0; i < pages; i++) m.x86.map(root, VA_BASE + i * KiB4, 0x10000 + i, '4k', USER_RW);
  const vas = randomVas(pages, 1, 7);
  const mmu = m.mmu;
  for (let i = 0; i < ACCESSES; i++) mmu.translate(vas[i]!, false, true);
  const walks = m.c[C.Walks]!;
  let k = 0;
  const ops = opsPerSecond((n) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += mmu.translate(vas[k++ & (ACCESSES - 1)]!, false, true);
    return s;
  });
  if (m.c[C.Walks] !== walks) throw new Error('the hit-path benchmark walked: its pages do not fit in the TLB');

  // Baseline: the same loads and stores, on flat copies of the TLB's arrays, with nothing around them.
  const t = mmu.tlb4k;
  const vpnA = Float64Array.from(t.vpn);
  const tagA = Int32Array.from(t.tag);
  const flagsA = Uint8Array.from(t.flags);
  const mfnA = Int32Array.from(t.mfn);
  const stampA = new Float64Array(t.size);
  const counters = new Float64Array(C.Count);
  const setMask = t.sets - 1;
  const ways = t.ways;
  const asid = 0;
  const gtag = ~0;
  let tick = 0;
  let j = 0;
  const base = opsPerSecond((n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const va = vas[j++ & (ACCESSES - 1)]!;
      counters[CTR_TLB_LOOKUPS]!++;
      const vpn = Math.floor(va / 4096);
      let e = (vpn & setMask) * ways;
      for (;;) {
        if (vpnA[e] === vpn) {
          const tg = tagA[e];
          if (tg === asid || tg === gtag) break;
        }
        e++;
      }
      stampA[e] = ++tick;
      if ((flagsA[e]! & 2) === 2) {
        counters[CTR_TLB_HITS]!++;
        s += mfnA[e]! * 4096 + (va & 4095);
      }
    }
    return s;
  });
  return result('translate, TLB hit (1D, 4 KiB)', ops, base, `goal ≥ 50 M/s; ${pages} pages in the 4 KiB TLB; baseline: the same typed-array loads/stores, one flat loop`);
}

/** A chain of dependent loads through a random cycle of `size` Int32 slots. */
function pointerChase(size: number, loadsPerOp: number): number {
  const next = new Int32Array(size);
  const order = Array.from({ length: size }, (_, i) => i);
  let x = 12345;
  for (let i = size - 1; i > 0; i--) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    const r = x % (i + 1);
    [order[i], order[r]] = [order[r]!, order[i]!];
  }
  for (let i = 0; i < size; i++) next[order[i]!] = order[(i + 1) % size]!;
  let p = 0;
  return opsPerSecond((n) => {
    for (let i = 0; i < n; i++) for (let l = 0; l < loadsPerOp; l++) p = next[p]!;
    return p;
  });
}

/** (b) Nested 4K/4K walks with every walk cache cold. */
function benchNestedColdWalk(): BenchResult {
  const m = new Machine(config());
  const g = new NestedGuest(m, '4k');
  const root = g.newRoot();
  m.ctx.cr3 = root;
  const pages = 1024;
  const stride = 3; // spread over 6 guest L1 tables
  for (let i = 0; i < pages; i++) {
    const gfn = 2 ** 18 + i;
    g.guest.map(root, VA_BASE + i * stride * KiB4, gfn, '4k', USER_RW);
    g.mapGfn(gfn);
  }
  const vas = randomVas(pages, stride, 11);
  const mmu = m.mmu;
  mmu.flushAll();
  const before = m.c[C.WalkRefs]!;
  mmu.translate(vas[0]!, false, true);
  const refs = m.c[C.WalkRefs]! - before;
  if (refs !== nestedRefs(4, 4)) throw new Error(`a cold nested 4K/4K walk made ${refs} references, not 24`);
  let k = 0;
  const ops = opsPerSecond((n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      mmu.flushAll();
      s += mmu.translate(vas[k++ & (ACCESSES - 1)]!, false, true);
    }
    return s;
  });
  const base = pointerChase(1 << 16, 24);
  return result('nested 4K/4K walk, TLB/PSC/NTLB cold', ops, base, 'goal ≥ 2 M/s; flushAll + translate per op, 24 refs, data cache warm; baseline: 24 dependent loads (256 KiB array)');
}

/** (c) 1D walks with every walk cache cold. */
function benchOneDColdWalk(): BenchResult {
  const m = new Machine(config());
  const root = m.x86.newRoot();
  m.ctx.cr3 = root;
  const pages = 1024;
  for (let i = 0; i < pages; i++) m.x86.map(root, VA_BASE + i * 3 * KiB4, 0x10000 + i, '4k', USER_RW);
  const vas = randomVas(pages, 3, 13);
  const mmu = m.mmu;
  let k = 0;
  const ops = opsPerSecond((n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      mmu.flushAll();
      s += mmu.translate(vas[k++ & (ACCESSES - 1)]!, false, true);
    }
    return s;
  });
  const base = pointerChase(1 << 16, 4);
  return result('1D 4-level walk, TLB/PSC cold', ops, base, 'flushAll + translate per op, 4 refs; baseline: 4 dependent loads (256 KiB array)');
}

export async function benchMmu(): Promise<BenchResult[]> {
  return [benchHitPath(), benchNestedColdWalk(), benchOneDColdWalk()];
}

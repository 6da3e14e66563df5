import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateScenario, type Scenario, type WalkTrace } from '../../core/api/index.js';
import type { Domain } from '../../core/hv/domain.js';
import { asidTag, globalTag } from '../../core/machine/mmu/tlb.js';
import { C } from '../../core/machine/counters.js';
import { bootForWalk, parseVa, runWalkRequest, walkScenario } from '../../core/sim/walkBoot.js';
import { decodeEpt, decodePte, traceWalk } from '../../core/sim/walkTrace.js';
import type { Simulation } from '../../core/sim/simulation.js';
import { oneGuest, type Mode } from './helpers.js';

const example = (name: string): unknown => JSON.parse(readFileSync(new URL(`../../examples/${name}.json`, import.meta.url), 'utf8'));
const cells = (t: WalkTrace) => t.refs.map((r) => `${r.guestLevel}.${r.hostLevel}`);
const served = (t: WalkTrace, s: string) => t.refs.filter((r) => r.servedBy === s).length;

/** The documented 2D order: guest levels 4..1 (EPT levels 4..1, then the guest entry), then the data's gpa. */
function grid(guest: number[], host: number[]): string[] {
  const out: string[] = [];
  for (const g of guest) {
    for (const h of host) out.push(`${g}.${h}`);
    out.push(`${g}.0`);
  }
  for (const h of host) out.push(`0.${h}`);
  return out;
}

/** Every piece of state a walk could touch: counters, TLBs, walk caches, memory, the vCPU context. */
function fingerprint(sim: Simulation): string {
  const parts: unknown[] = [];
  const arrays = (o: object) =>
    Object.entries(o)
      .filter(([, v]) => ArrayBuffer.isView(v))
      .map(([k, v]) => [k, Array.from(v as Float64Array)]);
  for (const d of sim.domains) {
    const k = d.counters;
    parts.push(d.name, Array.from(k.c), Array.from(k.hypercalls), Array.from(k.vmexits), Array.from(k.walkHist), k.walkMaxRefs, { ...d.dom.ctx, counters: null });
  }
  for (const mmu of sim.xen.pcpus) {
    for (const part of [mmu.tlb4k, mmu.tlb2m, mmu.tlb1g, mmu.psc, mmu.ntlb, mmu.dcache]) parts.push(arrays(part), (part as { live?: number }).live);
    parts.push({ ...mmu.ctx, counters: null });
  }
  const mem = sim.xen.mem;
  let h = 0;
  mem.forEachBacked((mfn, f) => {
    h = (h * 31 + mfn) >>> 0;
    for (let i = 0; i < f.length; i++) h = (Math.imul(h, 16777619) ^ f[i]!) >>> 0;
  });
  parts.push(mem.backed, h);
  return JSON.stringify(parts);
}

function scenario(mode: Mode, guest = '4k', host = '4k', pages = 16): Scenario {
  return oneGuest(mode, { kind: 'cold-walk', pages }, { guestPageSize: guest, hostPageSize: host, memoryMiB: 256 });
}

describe('traceWalk: the 2D grid of a nested walk', () => {
  it('hap 4k/4k (examples/walk-4k.json): 24 references in the documented row-major order', () => {
    const { trace, candidates } = runWalkRequest({ scenario: example('walk-4k'), domain: 'g1' });
    expect(trace.kind).toBe('nested');
    expect(trace.refs).toHaveLength(24);
    expect(trace.expectedRefs).toBe(24);
    expect([trace.guestLevels, trace.hostLevels]).toEqual([4, 4]);
    expect(cells(trace)).toEqual(grid([4, 3, 2, 1], [4, 3, 2, 1]));
    expect(trace.refs.map((r) => r.n)).toEqual(trace.refs.map((_, i) => i + 1));
    expect(trace.ok).toBe(true);
    expect(trace.pageSize).toBe(4096);
    expect(trace.va).toBe(candidates[0]);
    expect(candidates.length).toBeGreaterThan(1);
    // Cold: nothing comes from a paging-structure cache or the nested TLB.
    expect(served(trace, 'psc') + served(trace, 'nested-tlb')).toBe(0);
    expect(trace.refs[0]!.servedBy).toBe('memory');
  });

  it('hap 2m/2m (examples/walk-2m-2m.json): 15 references, guest levels 4..2 and EPT levels 4..2', () => {
    const { trace } = runWalkRequest({ scenario: example('walk-2m-2m'), domain: 'g1' });
    expect(trace.refs).toHaveLength(15);
    expect(trace.expectedRefs).toBe(15);
    expect(cells(trace)).toEqual(grid([4, 3, 2], [4, 3, 2]));
    expect(trace.pageSize).toBe(2 ** 21);
  });

  it('hap 4k guest / 1g host (examples/walk-1g.json): 14 references', () => {
    const { trace } = runWalkRequest({ scenario: example('walk-1g'), domain: 'g1' });
    expect(trace.refs).toHaveLength(14);
    expect(trace.expectedRefs).toBe(14);
    expect(cells(trace)).toEqual(grid([4, 3, 2, 1], [4, 3]));
  });

  for (const mode of ['native', 'pv', 'shadow'] as const) {
    it(`${mode} walks one dimension: 4 references, L4..L1`, () => {
      const { trace } = runWalkRequest({ scenario: scenario(mode), domain: 'g1' });
      expect(trace.kind).toBe('oned');
      expect(trace.refs).toHaveLength(4);
      expect(trace.expectedRefs).toBe(4);
      expect(cells(trace)).toEqual(['4.0', '3.0', '2.0', '1.0']);
      expect(trace.ok).toBe(true);
    });
  }

  it('decodes x86 entries and EPT entries', () => {
    const { trace } = runWalkRequest({ scenario: example('walk-4k'), domain: 'g1' });
    const leaf = trace.refs.find((r) => r.guestLevel === 1 && r.hostLevel === 0)!;
    expect(leaf.decoded).toMatch(/^P RW US A( D)? NX frame 0x[0-9a-f]+$/);
    const ept = trace.refs.find((r) => r.guestLevel === 0 && r.hostLevel === 1)!;
    expect(ept.decoded).toMatch(/^R W X mt=6 .*frame 0x[0-9a-f]+$/);
    expect(decodePte(0, 0, 1)).toBe('not present (empty)');
    expect(decodePte(0x1000 | 0x83, 0x80000000, 2)).toBe('P RW PS NX frame 0x1');
    expect(decodeEpt(0x2000 | 0x80 | 0x30 | 7, 0, 2)).toBe('R W X PS mt=6 frame 0x2');
    expect(decodeEpt(0x3000 | 7, 0, 3)).toBe('R W X frame 0x3');
  });
});

describe('traceWalk: caches and side effects', () => {
  it('a warm trace shows cache hits where a cold one reads memory', () => {
    const cold = runWalkRequest({ scenario: example('walk-4k'), domain: 'g1' }).trace;
    const warm = runWalkRequest({ scenario: example('walk-4k'), domain: 'g1', warm: true }).trace;
    expect(warm.refs).toHaveLength(24);
    expect(served(warm, 'psc')).toBeGreaterThan(0);
    expect(served(warm, 'nested-tlb')).toBeGreaterThan(0);
    expect(served(warm, 'memory')).toBe(0);
    expect(served(cold, 'memory')).toBeGreaterThan(0);
  });

  it('changes nothing: counters, TLBs, walk caches, memory and contexts are identical after a trace', () => {
    for (const mode of ['hap', 'shadow', 'pv'] as const) {
      const sim = bootForWalk(scenario(mode), 'g1');
      const d = sim.domains.find((x) => x.name === 'g1')!;
      // Caches not empty, so that a trace that filled or reordered them would show.
      traceWalk(sim, 'g1', undefined, { warm: true, write: false });
      const before = fingerprint(sim);
      const a = traceWalk(sim, 'g1', undefined, { warm: false, write: false });
      const b = traceWalk(sim, 'g1', undefined, { warm: false, write: true });
      expect(fingerprint(sim), mode).toBe(before);
      expect(a.trace.ok).toBe(true);
      // Shadow write-protects a clean page (dirty tracking): a write is a hidden fault, traced too.
      expect(b.trace.ok || b.trace.fault!.startsWith('#PF at L1: protection')).toBe(true);
      expect(d.counters.c[C.Walks]).toBeGreaterThan(0);
      // The fingerprint does see a real translation (a warm trace is one).
      traceWalk(sim, 'g1', undefined, { warm: true, write: false });
      expect(fingerprint(sim)).not.toBe(before);
    }
  });

  it('names what serves each reference as the fast walker then finds it', () => {
    for (const warm of [false, true]) {
      const sim = bootForWalk(scenario('hap'), 'g1');
      const d = sim.domains.find((x) => x.name === 'g1')!;
      d.mmu.coldFlush();
      const { trace } = traceWalk(sim, 'g1', undefined, { warm, write: false });
      const va = parseInt(trace.va, 16);
      const c = d.counters.c;
      const mem0 = c[C.WalkRefsMemory]!;
      const cached0 = c[C.WalkRefsCached]!;
      dropTlb(d.dom, va);
      d.mmu.ctx = d.dom.ctx;
      expect(d.mmu.translate(va, false, true)).toBe(parseInt(trace.maddr!, 16));
      expect(c[C.WalkRefsMemory]! - mem0).toBe(served(trace, 'memory'));
      expect(c[C.WalkRefsCached]! - cached0).toBe(served(trace, 'data-cache'));
    }
  });
});

function dropTlb(d: Domain, va: number): void {
  const asid = asidTag(d.ctx.vpid, d.ctx.pcid);
  const g = globalTag(d.ctx.vpid);
  d.mmu.tlb4k.invalidatePage(Math.floor(va / 4096), asid, g);
  d.mmu.tlb2m.invalidatePage(Math.floor(va / 2 ** 21), asid, g);
  d.mmu.tlb1g.invalidatePage(Math.floor(va / 2 ** 30), asid, g);
}

describe('the walk request', () => {
  it('offers mapped candidates, traces a given one, and says what is wrong with a bad address', () => {
    const first = runWalkRequest({ scenario: scenario('pv'), domain: 'g1' });
    const other = first.candidates[1]!;
    const r = runWalkRequest({ scenario: scenario('pv'), domain: 'g1', va: other });
    expect(r.trace.va).toBe(other);
    expect(r.trace.ok).toBe(true);
    // PV: the kernel's direct map is a candidate too, walked as a supervisor access.
    const direct = first.candidates.find((c) => parseInt(c, 16) >= 2 ** 47)!;
    expect(runWalkRequest({ scenario: scenario('pv'), domain: 'g1', va: direct }).trace.ok).toBe(true);
    const unmapped = runWalkRequest({ scenario: scenario('hap'), domain: 'g1', va: '0x1000' }).trace;
    expect(unmapped.ok).toBe(false);
    expect(unmapped.fault).toMatch(/^#PF at L4: not present/);
    expect(() => parseVa('0xzz')).toThrow(/not a hex address/);
    expect(() => runWalkRequest({ scenario: { name: 'x' }, domain: 'g1' })).toThrow(/not valid/);
  });

  it('boots small: other domains idle, large working sets capped, and the walk is the same shape', () => {
    const big = validateScenario({
      name: 'big',
      machine: { memoryMiB: 4096, pcpus: 2 },
      hypervisor: 'xen',
      domains: [
        { name: 'a', mode: 'hap', memoryMiB: 2048, vcpus: 1, workload: { kind: 'random-access', workingSetMiB: 1536, accesses: 10_000_000 } },
        { name: 'b', mode: 'pv', memoryMiB: 512, vcpus: 1, workload: { kind: 'random-access', workingSetMiB: 256, accesses: 1000 } },
      ],
    });
    if (!big.ok) throw new Error('invalid test scenario');
    const s = walkScenario(big.scenario, 'a');
    expect(s.domains.map((d) => d.workload)).toEqual([{ kind: 'random-access', workingSetMiB: 64, accesses: 10_000_000 }, { kind: 'idle' }]);
    const sim = bootForWalk(big.scenario, 'a');
    const a = sim.domains.find((d) => d.name === 'a')!;
    // The working set actually built is the capped 64 MiB; b ran nothing.
    expect(Math.max(...a.kernel.current!.mm.vmas.map((v) => v.end - v.start))).toBe(64 * 2 ** 20);
    expect(sim.domains.find((d) => d.name === 'b')!.kernel.current).toBeNull();
    const { trace } = traceWalk(sim, 'a', undefined, { warm: false, write: false });
    expect(trace.refs).toHaveLength(24);
  });

  it('a workload whose setup leaves nothing mapped is walked a little later (page-fault)', () => {
    const s = oneGuest('hap', { kind: 'page-fault', pages: 2048 });
    const { trace, candidates } = runWalkRequest({ scenario: s, domain: 'g1' });
    expect(candidates.length).toBeGreaterThan(0);
    expect(trace.ok).toBe(true);
  });
});

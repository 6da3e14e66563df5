/**
 * The fuzzers' incremental Auditor catches what the audit tests (test/hv/audit.test.ts) inject:
 * a corruption written through machine memory or the frame table on its next call, one of a
 * guest kernel's own counts by its next full audit at the latest.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Auditor } from '../../core/hv/audit.js';
import { PTE_A, PTE_P, PTE_RW, pteHi, pteLo } from '../../core/machine/pte.js';
import { machineAuditor } from '../../core/vm/audit.js';
import { auditMachineWithGuest } from '../hv/auditMachine.js';
import { runPvStepsComparingAudits, stepArb } from './harness.js';

const FULL_EVERY = 8;

function booted(mode: 'pv' | 'shadow' | 'hap') {
  const { xen, dom0, d, vma } = auditMachineWithGuest(mode);
  const auditor = machineAuditor(xen, [dom0, d], FULL_EVERY);
  // A few clean calls first, so the corruption lands between incremental ones.
  for (let va = vma.start; va < vma.end; va += 4096) {
    d.kernel.touch(va, true);
    expect(auditor.audit().ok).toBe(true);
  }
  expect(auditor.audit().ok).toBe(true);
  return { xen, d, dom0, auditor };
}

/** Calls the auditor until it reports something (at most one full round); returns how many calls. */
function callsToCatch(auditor: Auditor, what: string): number {
  for (let k = 1; k <= FULL_EVERY; k++) {
    const r = auditor.audit();
    if (!r.ok) {
      expect(r.violations.join('\n')).toContain(what);
      return k;
    }
  }
  throw new Error(`not caught within ${FULL_EVERY} calls`);
}

describe('the incremental auditor', () => {
  it('catches a corrupted general reference count on its next call, in an idle domain too', () => {
    const { xen, d, dom0, auditor } = booted('pv');
    const mfn = d.dom.p2m[10]!;
    xen.ft.setCount(mfn, xen.ft.count(mfn) + 1);
    expect(callsToCatch(auditor, `mfn ${mfn} has count`)).toBe(1);
    xen.ft.setCount(mfn, xen.ft.count(mfn) - 1);
    expect(auditor.audit().ok).toBe(true);
    const m0 = dom0.dom.p2m[7]!;
    xen.ft.setCount(m0, xen.ft.count(m0) + 1);
    expect(callsToCatch(auditor, `mfn ${m0} has count`)).toBe(1);
  });

  it('catches a corrupted type count on its next call', () => {
    const { xen, d, auditor } = booted('pv');
    xen.ft.setTypeCount(d.dom.guestCr3, xen.ft.typeCount(d.dom.guestCr3) - 1);
    expect(callsToCatch(auditor, `mfn ${d.dom.guestCr3}`)).toBe(1);
  });

  it('catches a writable mapping of a page table written behind Xen’s back on its next call', () => {
    const { xen, d, auditor } = booted('pv');
    const l1 = xen.pvMm.findL1(d.dom.guestCr3, 0x880000000000);
    const l4 = d.dom.guestCr3;
    xen.mem.write(l1, 3, pteLo(l4, PTE_P | PTE_RW | PTE_A), pteHi(l4, PTE_P | PTE_RW | PTE_A));
    expect(callsToCatch(auditor, `g1: mfn ${l4} is a l4 page table with 1 writable mapping(s)`)).toBe(1);
  });

  it('catches a guest page reference count that disagrees with the page tables by its next full audit', () => {
    const { d, auditor } = booted('hap');
    const pfn = [...d.kernel.mapcount.keys()].find((p) => d.kernel.mapcount[p] === 1)!;
    d.kernel.mapcount[pfn]!++;
    expect(callsToCatch(auditor, `pfn ${pfn} has mapcount 2 but 1`)).toBeLessThanOrEqual(FULL_EVERY);
  });

  it('catches a shadow entry that maps a frame the domain does not own on its next call', () => {
    const { xen, d, dom0, auditor } = booted('shadow');
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
    const [l1, i] = walk(d.dom.shadow!.rootMfn, 4)!;
    const foreign = dom0.dom.p2m[5]!;
    xen.mem.write(l1, i, pteLo(foreign, PTE_P | PTE_A), pteHi(foreign, PTE_P | PTE_A));
    expect(callsToCatch(auditor, `maps mfn ${foreign}, which the domain does not own`)).toBe(1);
  });

  it('catches an EPT leaf that maps a frame the domain does not own on its next call', () => {
    const { xen, d, dom0, auditor } = booted('hap');
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
    const foreign = dom0.dom.p2m[512]!;
    xen.mem.write(t, i, pteLo(foreign, xen.mem.readLo(t, i) & 0xfff), 0);
    expect(callsToCatch(auditor, 'owned by 0')).toBe(1);
  });
});

describe('the incremental auditor against a full audit', () => {
  it('reports what a full audit reports after every step of random PV scripts, corruptions written between steps included', () => {
    const corruption = fc.record({
      atStep: fc.nat(1000),
      frame: fc.nat(20000),
      what: fc.constantFrom('count' as const, 'typeCount' as const, 'linear' as const, 'type' as const, 'entry' as const, 'cr3' as const),
      index: fc.nat(511),
      target: fc.nat(20000),
    });
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 40 }), fc.array(corruption, { maxLength: 3 }), (steps, cs) => void runPvStepsComparingAudits(steps, cs)),
      { numRuns: Number(process.env.HYPERLAB_FUZZ_RUNS ?? 30), seed: 5 },
    );
  });

  it('re-audits the domain that owns a frame another domain’s base pointer moved onto', () => {
    // A store to a frame g1 does not map faults, writes nothing and moves no counter of g1's:
    // only the base pointer says that g1 needs auditing again.
    const stores = Array.from({ length: 5 }, () => ({ op: 'write' as const, frame: { foreign: 'g2', pfn: 5 }, index: 0, val: 0 as const }));
    expect(() => runPvStepsComparingAudits(stores, [{ atStep: 1, frame: 100, what: 'cr3', index: 0, target: 0 }])).not.toThrow();
  });

  it('redoes every table when a page table changes type (other tables’ entries to it count differently)', () => {
    const irets = Array.from({ length: 5 }, () => ({ op: 'iret' as const }));
    expect(() => runPvStepsComparingAudits(irets, [{ atStep: 1, frame: 0, what: 'type', index: 0, target: 0 }])).not.toThrow();
  });
});

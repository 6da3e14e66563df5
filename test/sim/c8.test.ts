import { describe, expect, it } from 'vitest';
import { perOp, run } from './helpers.js';

// A working set far beyond TLB reach (1536 × 4 KiB = 6 MiB of 4K entries).
const sweep = (rate: number, updateKind = 'mix') => ({ kind: 'update-vs-access', workingSetMiB: 256, accesses: 60000, updatesPerKiloAccess: rate, updateKind });

describe('C8: direct, shadow and nested paging against the update/access ratio', () => {
  it('with no updates, native, pv and shadow beat hap, because a nested TLB miss walks 24 references', () => {
    const modes = ['native', 'pv', 'shadow', 'hap'] as const;
    const res = Object.fromEntries(modes.map((m) => [m, run(m, sweep(0)).g]));
    for (const m of ['native', 'pv', 'shadow'] as const) {
      expect(res[m].cycles.perOp).toBeLessThan(res.hap.cycles.perOp * 0.67);
      // One-dimensional walks never exceed the four levels (caches may shorten them).
      expect(res[m].walk.maxRefs).toBeLessThanOrEqual(4);
    }
    // The mechanism: same misses, longer walks.
    expect(res.hap.walk.refsPerWalk).toBeGreaterThan(res.pv.walk.refsPerWalk * 2);
    expect(res.hap.walk.maxRefs).toBeGreaterThan(4);
    expect(res.hap.cycles.walk).toBeGreaterThan(res.pv.cycles.walk * 2);
    expect(res.pv.hypercalls.total).toBe(0);
    expect(res.shadow.vmexits.total).toBe(0);
  });

  it('with many updates, hap beats pv: each update batch costs pv hypercalls and validations', () => {
    const pv = run('pv', sweep(300)).g;
    const hap = run('hap', sweep(300)).g;
    expect(hap.cycles.perOp).toBeLessThan(pv.cycles.perOp);
    expect(pv.hypercalls.total).toBeGreaterThan(0);
    expect(pv.hypercalls.byOp.mmu_update).toBeGreaterThan(0);
    expect(perOp(pv, 'entriesValidated')).toBeGreaterThan(0);
    expect(hap.hypercalls.total).toBe(0);
    expect(pv.cycles.hypervisor).toBeGreaterThan(hap.cycles.hypervisor);
  });

  for (const kind of ['mix', 'protect', 'unmap']) {
    it(`with many ${kind} updates, out-of-sync shadows beat in-sync ones: runs of writes stop trapping`, () => {
      const on = run('shadow', sweep(300, kind), { shadowOutOfSync: true }).g;
      const off = run('shadow', sweep(300, kind), { shadowOutOfSync: false }).g;
      expect(on.cycles.perOp).toBeLessThan(off.cycles.perOp);
      expect(on.counters.emulatedWrites).toBeLessThan(off.counters.emulatedWrites);
      expect(on.counters.shadowUnsyncs).toBeGreaterThan(0);
      expect(on.counters.shadowResyncs).toBeGreaterThan(0);
      expect(off.counters.shadowUnsyncs).toBe(0);
    });
  }

  it('every sweep point passes the audit', () => {
    for (const mode of ['pv', 'shadow', 'hap'] as const) {
      expect(run(mode, sweep(100)).r.audit).toMatchObject({ ok: true, violations: [] });
    }
  });

  it('is deterministic: the same scenario gives the same counters bit for bit', () => {
    const a = run('shadow', sweep(50)).r;
    const b = run('shadow', sweep(50)).r;
    expect({ ...a, wallMs: 0 }).toEqual({ ...b, wallMs: 0 });
  });
});

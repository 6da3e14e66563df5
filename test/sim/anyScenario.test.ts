/**
 * Any valid scenario runs to the end with a clean audit: random modes, page sizes, workloads and
 * machine shapes (small, so the property runs in seconds).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateScenario } from '../../core/api/index.js';
import { runScenario } from '../../core/sim/run.js';

const workload = fc.oneof(
  fc.record({ kind: fc.constant('cold-walk'), pages: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('random-access'), workingSetMiB: fc.integer({ min: 1, max: 24 }), accesses: fc.integer({ min: 1, max: 4000 }) }),
  fc.record({ kind: fc.constant('sequential'), workingSetMiB: fc.integer({ min: 1, max: 4 }), passes: fc.integer({ min: 1, max: 2 }) }),
  fc.record({
    kind: fc.constant('update-vs-access'),
    updatesPerKiloAccess: fc.integer({ min: 0, max: 1000 }),
    workingSetMiB: fc.integer({ min: 1, max: 16 }),
    accesses: fc.integer({ min: 1, max: 3000 }),
    updateKind: fc.constantFrom('populate', 'protect', 'unmap', 'mix'),
  }),
  fc.record({ kind: fc.constant('fork-exit'), forks: fc.integer({ min: 1, max: 4 }), residentMiB: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('exec'), execs: fc.integer({ min: 1, max: 3 }), imageMiB: fc.integer({ min: 1, max: 2 }) }),
  fc.record({ kind: fc.constant('page-fault'), pages: fc.integer({ min: 1, max: 600 }) }),
  fc.record({ kind: fc.constant('mmap-churn'), maps: fc.integer({ min: 1, max: 20 }), pagesPerMap: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('context-switch'), switches: fc.integer({ min: 1, max: 300 }), processes: fc.integer({ min: 2, max: 6 }) }),
  fc.record({ kind: fc.constant('kernel-build'), jobs: fc.integer({ min: 1, max: 2 }) }),
);

const guest = (i: number) =>
  fc.record({
    mode: fc.constantFrom('pv', 'shadow', 'hap'),
    guestPageSize: fc.constantFrom('4k', '2m'),
    hostPageSize: fc.constantFrom('4k', '2m'),
    shadowOutOfSync: fc.boolean(),
    shadowPoolPages: fc.option(fc.integer({ min: 64, max: 400 }), { nil: undefined }),
    workload,
  }).map((g) => ({
    name: `g${i}`,
    memoryMiB: 96,
    vcpus: 1,
    mode: g.mode,
    guestPageSize: g.mode === 'pv' ? '4k' : g.guestPageSize,
    hostPageSize: g.mode === 'hap' ? g.hostPageSize : '4k',
    ...(g.mode === 'shadow' ? { shadowOutOfSync: g.shadowOutOfSync, ...(g.shadowPoolPages ? { shadowPoolPages: g.shadowPoolPages } : {}) } : {}),
    workload: g.workload,
  }));

describe('any valid scenario', () => {
  it('runs to the end with the audit clean', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }).chain((n) => fc.tuple(fc.constant(n), ...Array.from({ length: n }, (_, i) => guest(i)))), fc.integer({ min: 1, max: 2 }), fc.nat(1000), ([, ...guests], pcpus, seed) => {
        const v = validateScenario({ name: 'prop', seed, machine: { memoryMiB: 1024, pcpus }, hypervisor: 'xen', domains: guests });
        expect(v.ok, JSON.stringify(!v.ok && v.problems)).toBe(true);
        if (!v.ok) return;
        const r = runScenario(v.scenario);
        expect(r.audit.violations).toEqual([]);
        for (const d of r.domains) expect(Number.isFinite(d.cycles.total)).toBe(true);
      }),
      { numRuns: Number(process.env.HYPERLAB_PROPERTY_RUNS ?? 25), seed: 42 },
    );
  });
});

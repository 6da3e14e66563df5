/**
 * A live run of a scenario with disks: a turn may end while every remaining job waits for its
 * disk (blocked on I/O). The session must keep stepping (the simulation runs time on to the
 * device's completion) and finish, at max pace and at a numeric pace alike.
 */
import { describe, expect, it } from 'vitest';
import { validateScenario } from '../../core/api/index.js';
import { harness } from './sessionHarness.js';

const OPS = 300;

function diskGuest() {
  const v = validateScenario({
    name: 'one disk',
    machine: { memoryMiB: 1024, pcpus: 1, devices: [{ id: 'disk0', kind: 'disk', sizeMiB: 64 }] },
    hypervisor: 'xen',
    domains: [{ name: 'g', mode: 'pv', memoryMiB: 128, vcpus: 1, disks: [{ device: 'disk0', vdev: 'xvda' }], workload: { kind: 'disk-io', ops: OPS, flushEvery: 8 } }],
  });
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return v.scenario;
}

describe('LabSession with I/O', () => {
  for (const pace of ['max', 1] as const) {
    it(`finishes when turns end with the only job blocked on its disk (pace ${pace})`, () => {
      // Each clock read advances 12 ms, a whole slice: one step per turn, so some turn ends with
      // the guest's requests in flight and its job blocked.
      const h = harness({ tick: 12, sliceMs: 12 });
      h.session.handle({ type: 'start', scenario: diskGuest(), snapshotMs: 30, pace });
      h.drain();
      const fin = h.of('finished');
      expect(fin).toHaveLength(1);
      expect(fin[0]!.status).toBe('finished');
      const g = fin[0]!.results.domains.find((d) => d.name === 'g')!;
      expect(g.ops).toBe(OPS);
    });
  }
});

import { describe, expect, it } from 'vitest';
import { run } from './helpers.js';

// Xen SOSP 2003 (lmbench): fork, exec and page faults cost more under PV because page-table
// updates are validated by Xen and each fault enters Xen twice.
/** New address spaces each operation creates (fork: 1; fork + exec: 2). */
const newMms: Record<string, number> = { 'fork-exit': 1, exec: 2, 'page-fault': 0 };

const workloads = {
  'fork-exit': { kind: 'fork-exit', forks: 20, residentMiB: 8 },
  exec: { kind: 'exec', execs: 10, imageMiB: 2 },
  'page-fault': { kind: 'page-fault', pages: 2000 },
};

describe('lmbench-style process and fault costs under PV', () => {
  for (const [name, w] of Object.entries(workloads)) {
    it(`${name}: pv costs more than native, and the counters say why`, () => {
      const native = run('native', w);
      const pv = run('pv', w);
      expect(pv.r.audit.ok).toBe(true);
      expect(native.r.audit.ok).toBe(true);
      expect(pv.g.ops).toBe(native.g.ops);
      expect(pv.g.cycles.perOp).toBeGreaterThan(native.g.cycles.perOp);
      // Native: no hypervisor at all.
      expect(native.g.hypercalls.total).toBe(0);
      expect(native.g.cycles.hypervisor).toBe(0);
      // PV: updates go through Xen and are validated.
      expect(pv.g.hypercalls.total).toBeGreaterThan(0);
      expect(pv.g.counters.entriesValidated).toBeGreaterThan(0);
      // The same kernel made the same page-table updates in both, except that a PV kernel's new
      // L4 also copies the kernel half (the direct map) that Xen validates.
      expect(pv.g.ptUpdates - native.g.ptUpdates).toBe(newMms[name] * pv.g.ops);
    });
  }

  it('page-fault: every PV fault enters Xen twice — the #PF bounced to the guest, then its PTE update', () => {
    const pv = run('pv', workloads['page-fault']).g;
    const faults = pv.pageFaults.guest;
    expect(faults).toBeGreaterThanOrEqual(2000);
    // Each fault is bounced once; on x86-64 each system call (mmap, munmap) is too.
    expect(pv.counters.trapBounces).toBe(faults + pv.counters.syscalls);
    // One mmu_update per fault (not batched: the handler installs one entry), plus the iret
    // hypercall that returns to user mode on x86-64 (after a fault or a system call).
    expect(pv.hypercalls.byOp.mmu_update).toBeGreaterThanOrEqual(faults);
    expect(pv.hypercalls.byOp.iret).toBe(faults + pv.counters.syscalls);
  });
});

/**
 * backend-snoop: a backend goes after pages it was never given for I/O. Xen's grant table refuses
 * it (a map of a reference not granted to it: GNTST_general_error; a copy naming the guest's frame
 * instead of a reference: GNTST_permission_denied, xen/common/grant_table.c); qemu under KVM reads
 * them through its own mapping of all of its guest's RAM.
 */
import { describe, expect, it } from 'vitest';
import { validateScenario } from '../../core/api/index.js';
import { runScenario } from '../../core/sim/run.js';

const PAGES = 24;

function snoop(hypervisor: 'xen' | 'kvm', extra: Record<string, unknown>[] = [], diskBackend?: string) {
  const v = validateScenario({
    name: 's',
    machine: { memoryMiB: 2048, pcpus: 1, devices: [{ id: 'disk0', kind: 'disk', sizeMiB: 64 }] },
    hypervisor,
    domains: [...extra, { name: 'g1', mode: 'hap', memoryMiB: 128, vcpus: 1, disks: [{ device: 'disk0', ...(diskBackend ? { backend: diskBackend } : {}) }], workload: { kind: 'backend-snoop', pages: PAGES } }],
  });
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  const r = runScenario(v.scenario);
  return { r, g: r.domains.find((d) => d.name === 'g1')! };
}

describe('backend-snoop', () => {
  it('under Xen, blkback in dom0 is refused every page, both ways, by the grant table', () => {
    const { g, r } = snoop('xen');
    expect(g.io!.snoopedPages).toBe(0);
    expect(g.io!.refused).toBe(2 * PAGES);
    expect(g.io!.snoop).toEqual({ backend: 'blkback in Domain-0', attempts: 2 * PAGES, byStatus: { GNTST_general_error: PAGES, GNTST_permission_denied: PAGES } });
    expect(r.audit.ok).toBe(true);
  });

  it('under Xen, a driver domain serving the disk is refused the same way', () => {
    const { g } = snoop('xen', [{ name: 'blkdd', mode: 'pv', memoryMiB: 128, vcpus: 1, pci: ['disk0'] }], 'blkdd');
    expect(g.io!.snoopedPages).toBe(0);
    expect(g.io!.refused).toBe(2 * PAGES);
    expect(g.io!.snoop!.backend).toBe('blkback in blkdd');
  });

  it('under KVM, qemu reads every page: it maps all of its guest’s memory', () => {
    const { g } = snoop('kvm');
    expect(g.io!.snoopedPages).toBe(PAGES);
    expect(g.io!.refused).toBe(0);
    expect(g.io!.snoop).toEqual({ backend: `qemu-system-x86_64 (pid ${g.kvm!.qemuPid})`, attempts: PAGES, byStatus: { read: PAGES } });
    expect(g.kvm!.io.copies).toBe(PAGES);
  });

  it('is refused at the field without a split-driver device, and on bare metal', () => {
    for (const hypervisor of ['xen', 'kvm'] as const) {
      const v = validateScenario({ name: 's', machine: { memoryMiB: 1024, pcpus: 1 }, hypervisor, domains: [{ name: 'g1', mode: 'hap', memoryMiB: 128, vcpus: 1, workload: { kind: 'backend-snoop' } }] });
      expect(v.ok ? [] : v.problems).toEqual([expect.objectContaining({ path: 'domains[0].workload', message: expect.stringContaining('backend-snoop') })]);
    }
    const n = validateScenario({ name: 's', machine: { memoryMiB: 1024, pcpus: 1 }, hypervisor: 'none', domains: [{ name: 'g1', mode: 'native', memoryMiB: 128, vcpus: 1, workload: { kind: 'backend-snoop' } }] });
    expect(n.ok ? [] : n.problems).toEqual([expect.objectContaining({ path: 'domains[0].workload', message: expect.stringContaining('bare metal has none') })]);
  });
});

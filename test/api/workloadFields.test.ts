// The workload parameters the Scenario view generates fields from are the schema's own: every
// kind's required parameters, their ranges (one past either end is refused), and a starter that validates.
import { describe, expect, it } from 'vitest';
import { validateScenario, WORKLOAD_KINDS } from '../../core/api/index.js';
import { PARAM_DOCS, WORKLOAD_DOCS, WORKLOAD_STARTERS, workloadParams } from '../../core/api/workloadFields.js';

// An I/O workload needs a device to work on: the domain gets a virtual disk (or a vif) served by
// dom0; so does backend-snoop, whose backend (that disk's blkback) does the snooping.
const isIo = (w: unknown) => ['disk-io', 'backend-snoop'].includes((w as { kind?: string }).kind ?? '');
const isNet = (w: unknown) => ['net-stream', 'net-rr'].includes((w as { kind?: string }).kind ?? '');
// rogue-dma programs a disk of its own (pci) against dom0 (its default victim).
const isRogue = (w: unknown) => (w as { kind?: string }).kind === 'rogue-dma';
const withWorkload = (workload: unknown, mode = 'pv') => ({
  name: 'w',
  machine: { memoryMiB: 4096, pcpus: 1, ...(isIo(workload) || isRogue(workload) ? { devices: [{ id: 'disk0', kind: 'disk' }] } : isNet(workload) ? { devices: [{ id: 'nic0', kind: 'nic' }] } : {}) },
  hypervisor: 'xen',
  domains: [{ name: 'g1', mode, memoryMiB: 1024, vcpus: 1, workload, ...(isIo(workload) ? { disks: [{ device: 'disk0' }] } : isNet(workload) ? { vifs: [{ device: 'nic0' }] } : isRogue(workload) ? { pci: ['disk0'] } : {}) }],
});

describe('workload parameters read from the schema', () => {
  it('lists the parameters of each kind as the README does', () => {
    expect(workloadParams('idle')).toEqual([]);
    expect(workloadParams('cold-walk')).toEqual([
      { key: 'pages', type: 'number', int: true, min: 1, max: 100_000, required: true },
      { key: 'rounds', type: 'number', int: true, min: 1, max: 10_000, required: false },
    ]);
    expect(workloadParams('update-vs-access').map((p) => p.key)).toEqual(['updatesPerKiloAccess', 'workingSetMiB', 'accesses', 'updateKind']);
    expect(workloadParams('update-vs-access')[0]).toMatchObject({ type: 'number', int: false, min: 0, max: 1000 });
    expect(workloadParams('update-vs-access')[3]).toEqual({ key: 'updateKind', type: 'enum', options: ['populate', 'protect', 'unmap', 'mix'], default: 'mix', required: false });
    expect(workloadParams('hypercalls').map((p) => [p.key, p.type])).toEqual([['pages', 'structured'], ['steps', 'structured']]);
    expect(workloadParams('rogue-dma')).toEqual([
      { key: 'victim', type: 'text', default: 'Domain-0', required: false },
      { key: 'pages', type: 'number', int: true, min: 1, max: 4096, required: false },
    ]);
    expect(workloadParams('no-such-kind')).toEqual([]);
  });

  for (const kind of WORKLOAD_KINDS) {
    it(`${kind}: the starter validates, each parameter is documented, and each numeric range is the schema's`, () => {
      const starter = WORKLOAD_STARTERS[kind];
      expect(starter.kind).toBe(kind);
      const v = validateScenario(withWorkload(starter));
      expect(v.ok ? [] : v.problems).toEqual([]);
      expect(WORKLOAD_DOCS[kind].length).toBeGreaterThan(5);
      for (const p of workloadParams(kind)) {
        expect(PARAM_DOCS[p.key], `${kind}.${p.key}`).toBeDefined();
        if (p.type !== 'number') continue;
        const at = (x: number) => validateScenario(withWorkload({ ...starter, [p.key]: x }));
        const path = `domains[0].workload.${p.key}`;
        const refused = (x: number) => { const r = at(x); return !r.ok && r.problems.some((q) => q.path === path); };
        expect(refused(p.min), `${path} = min`).toBe(false);
        expect(refused(p.min - 1), `${path} = min - 1`).toBe(true);
        expect(refused(p.max + 1), `${path} = max + 1`).toBe(true);
        if (p.int) expect(refused(p.min + 0.5), `${path} not an integer`).toBe(true);
      }
    });
  }
});

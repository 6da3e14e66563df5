/**
 * The IOMMU wired into whole runs: every device DMAs through its owner's VT-d table (Xen's
 * driver, core/hv/passthrough/), and the I/O the lab already did still arrives: the C4 preset
 * (a PV driver domain killed and re-created under load) acknowledges all 4000 writes and loses
 * none with the IOMMU on, as with it off; a translated (hap) driver domain serves a disk by gfn;
 * a pci-detached device is quarantined.
 */
import { describe, expect, it } from 'vitest';
import { validateScenario, type ScenarioInput } from '../../core/api/scenario.js';
import { PRESETS } from '../../core/api/presets.js';
import { DOMID_IO } from '../../core/hv/passthrough/iommu.js';
import { Simulation } from '../../core/sim/simulation.js';
import { costsOf } from '../../core/sim/run.js';

type Io = { acknowledgedWrites: number; lostWrites: number; errors: number; requests: number; grantOps: { map: number; unmap: number; copy: number } };
type Dom = { name: string; cycles: { hypervisor: number }; io: Io };

function validate(input: unknown) {
  const v = validateScenario(input);
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return v.scenario;
}

function run(input: unknown): Simulation {
  const sim = new Simulation(validate(input));
  while (sim.step(100));
  return sim;
}
const ioOf = (sim: Simulation, name: string) => (sim.results().domains.find((d) => d.name === name) as unknown as { io: Io }).io;
const c4 = PRESETS.find((p) => p.id === 'c4-kill-driver-domain')!.scenario as ScenarioInput;

describe('the IOMMU in whole runs', () => {
  it('C4 with the IOMMU on (the default): 4000 writes acknowledged, none lost, no DMA fault, audit clean', () => {
    const sim = run(c4);
    const r = sim.results();
    expect(ioOf(sim, 'guest')).toMatchObject({ acknowledgedWrites: 4000, lostWrites: 0, errors: 0 });
    expect(r.iommu!.enabled).toBe(true);
    expect(r.iommu!.faults).toBe(0);
    // blkdd maps each request's pages for its disk: the unmaps flush the IOTLB.
    expect(r.iommu!.iotlbFlushes).toBeGreaterThan(0);
    expect(r.audit).toMatchObject({ ok: true, violations: [] });
    expect(sim.io!.iommuState()).toMatchObject({ enabled: true, faults: 0, log: [] });
  });

  it('C4 with machine.iommu false: the same writes arrive, and the auditor says what blkdd\'s disk can reach', () => {
    const sim = run({ ...c4, machine: { ...(c4.machine as object), iommu: false } });
    const r = sim.results();
    expect(ioOf(sim, 'guest')).toMatchObject({ acknowledgedWrites: 4000, lostWrites: 0, errors: 0 });
    expect(r.iommu).toEqual({ enabled: false, faults: 0, iotlbFlushes: 0 });
    expect(r.audit.ok).toBe(false);
    expect(r.audit.violations).toEqual([expect.stringMatching(/^iommu: blkdd owns device 0000:03:00\.0 and the IOMMU is off: its DMA reaches all 524288 frames/)]);
  });

  it('a hap driver domain serves a disk: its disk DMAs by gfn through a table that is its p2m plus the grants it maps', () => {
    const sim = run({
      name: 'hap-blkdd',
      machine: { memoryMiB: 2048, pcpus: 1, devices: [{ id: 'disk0', kind: 'disk', sizeMiB: 256 }] },
      hypervisor: 'xen',
      domains: [
        { name: 'blkdd', mode: 'hap', memoryMiB: 128, vcpus: 1, pci: ['disk0'] },
        { name: 'guest', mode: 'pv', memoryMiB: 256, vcpus: 1, disks: [{ backend: 'blkdd', device: 'disk0', vdev: 'xvda' }], workload: { kind: 'disk-io', ops: 300, flushEvery: 8 } },
      ],
    });
    expect(ioOf(sim, 'guest')).toMatchObject({ acknowledgedWrites: 300, lostWrites: 0, errors: 0 });
    const blkdd = sim.domains.find((d) => d.name === 'blkdd')!;
    const dom = sim.xen.iommu!.domains.get(blkdd.domid)!;
    expect(dom.kind).toBe('translated');
    // Every request's pages were mapped at gfns above its RAM and unmapped again, each unmap flushed.
    expect(dom.maps).toBeGreaterThan(blkdd.dom.p2m.length);
    expect(dom.flushes).toBeGreaterThan(0);
    expect(sim.results().iommu!.faults).toBe(0);
    expect(sim.results().audit).toMatchObject({ ok: true, violations: [] });
  });

  it('pci-detach quarantines the device (dom_io), and the hypervisor log says so', () => {
    const sim = run({
      name: 'detach',
      machine: { memoryMiB: 1024, pcpus: 1, devices: [{ id: 'nic0', kind: 'nic' }] },
      hypervisor: 'xen',
      domains: [{ name: 'netdd', mode: 'pv', memoryMiB: 64, vcpus: 1, pci: ['nic0'], workload: { kind: 'idle' } }],
      timeline: [{ atMs: 1, do: 'pci-detach', domain: 'netdd', device: 'nic0' }],
    });
    const iommu = sim.xen.iommu!;
    expect(iommu.ownerOf({ seg: 0, bus: 3, dev: 0, fn: 0 })).toBe(DOMID_IO);
    expect(iommu.takeLog()).toContain(`[VT-D]d${sim.domains.find((d) => d.name === 'netdd')!.domid}: 0000:03:00.0: quarantined (dom_io)`);
    expect(sim.results().audit.ok).toBe(true);
  });

  /** A PV driver domain `dd` serving `guest` through `device`, with the IOMMU on or off. */
  const driverDomain = (iommu: boolean, kind: 'disk' | 'net', ops = 200, bytes = 300_000) =>
    run({
      name: `${kind}-dd`,
      machine: { memoryMiB: 2048, pcpus: 1, iommu, devices: [kind === 'disk' ? { id: 'dev0', kind: 'disk', sizeMiB: 256 } : { id: 'dev0', kind: 'nic' }] },
      hypervisor: 'xen',
      domains: [
        { name: 'dd', mode: 'pv', memoryMiB: 128, vcpus: 1, pci: ['dev0'] },
        kind === 'disk'
          ? { name: 'guest', mode: 'pv', memoryMiB: 256, vcpus: 1, disks: [{ backend: 'dd', device: 'dev0', vdev: 'xvda' }], workload: { kind: 'disk-io', ops, flushEvery: 8 } }
          : { name: 'guest', mode: 'pv', memoryMiB: 256, vcpus: 1, vifs: [{ backend: 'dd', device: 'dev0' }], workload: { kind: 'net-stream', bytes } },
      ],
    });
  const ddOf = (sim: Simulation) => sim.results().domains.find((d) => d.name === 'dd') as unknown as Dom;

  it('per request, Xen\'s two answers: grant map (blkback) pays an IOMMU map, an unmap and an IOTLB flush per page; grant copy (netback) pays none', () => {
    const k = costsOf(validate(c4));
    // What the IOMMU adds to the driver domain's Xen time, for 200 and for 300 requests: each 4 KiB
    // request is one segment, mapped for the device and unmapped after it, so 100 more requests
    // add 100 IOMMU maps, unmaps and IOTLB flushes (the ring's own mapping is common to both).
    const extra = (ops: number) => {
      const [on, off] = [driverDomain(true, 'disk', ops), driverDomain(false, 'disk', ops)].map(ddOf);
      expect(on.io.grantOps.unmap).toBe(ops);
      return on.cycles.hypervisor - off.cycles.hypervisor;
    };
    expect(extra(300) - extra(200)).toBe(100 * (k.iommuMap + k.iommuUnmap + k.iotlbFlush));
    // netback copies each frame into its own buffers (GNTTABOP_copy), already in its IOMMU table:
    // twice the frames add nothing to what the IOMMU costs it (its ring mappings are common to both).
    const netExtra = (bytes: number) => {
      const [on, off] = [driverDomain(true, 'net', 0, bytes), driverDomain(false, 'net', 0, bytes)].map(ddOf);
      expect(on.io.grantOps.copy).toBeGreaterThan(bytes / 1500 / 2);
      return on.cycles.hypervisor - off.cycles.hypervisor;
    };
    expect(netExtra(600_000)).toBe(netExtra(300_000));
  });
});

/**
 * Grants and the IOMMU, Xen's two answers and what each costs per request (issue 13 item 4).
 * A PV driver domain `dd` owns an NVMe disk and serves a PV guest's virtual disk. Without
 * persistent grants blkback maps each request's pages for the device: Xen adds an IOMMU entry on
 * the grant map and clears it, with an IOTLB invalidation, on the unmap (gnttab_need_iommu_mapping).
 * With `persistent` (blkif.h feature-persistent) the frontend copies each page into a pool it
 * granted once, and blkback maps each pool grant once. Expected values come from the cost table
 * (core/machine/cost.ts): iommuMap, iommuUnmap, iotlbFlush, copyPage.
 */
import { describe, expect, it } from 'vitest';
import { validateScenario } from '../../core/api/scenario.js';
import type { DmaCost } from '../../core/api/results.js';
import { Simulation } from '../../core/sim/simulation.js';
import { costsOf } from '../../core/sim/run.js';

type Io = { requests: number; served: number; acknowledgedWrites: number; lostWrites: number; errors: number; dmaCost: DmaCost; grantOps: { map: number; unmap: number; copy: number } };

function scenario(persistent: boolean | undefined, ops: number, extra: { blockKiB?: number; writeFraction?: number; queueDepth?: number } = {}) {
  const v = validateScenario({
    name: 'grant-dma',
    machine: { memoryMiB: 2048, pcpus: 1, devices: [{ id: 'dev0', kind: 'disk', sizeMiB: 256 }] },
    hypervisor: 'xen',
    domains: [
      { name: 'dd', mode: 'pv', memoryMiB: 128, vcpus: 1, pci: ['dev0'] },
      {
        name: 'guest',
        mode: 'pv',
        memoryMiB: 256,
        vcpus: 1,
        disks: [{ backend: 'dd', device: 'dev0', vdev: 'xvda', ...(persistent === undefined ? {} : { persistent }) }],
        workload: { kind: 'disk-io', ops, flushEvery: 8, ...extra },
      },
    ],
  });
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return v.scenario;
}

function run(persistent: boolean | undefined, ops: number, extra: Parameters<typeof scenario>[2] = {}) {
  const sim = new Simulation(scenario(persistent, ops, extra));
  while (sim.step(100));
  const r = sim.results();
  const io = (name: string) => (r.domains.find((d) => d.name === name) as unknown as { io: Io }).io;
  return { sim, r, dd: io('dd'), guest: io('guest') };
}

const k = costsOf(scenario(false, 1));
const MAP_UNMAP_FLUSH = k.iommuMap + k.iommuUnmap + k.iotlbFlush;

describe('grants and the IOMMU: grant map or copy, per request', () => {
  it('without persistent grants (the default), each 4 KiB request costs the driver domain one IOMMU map, one unmap and one IOTLB flush, and nobody copies', () => {
    const [a, b] = [run(undefined, 200), run(false, 300)];
    for (const x of [a, b]) {
      expect(x.r.audit.ok).toBe(true);
      expect(x.guest.lostWrites).toBe(0);
      expect(x.guest.dmaCost.copyBytes).toBe(0);
      expect(x.dd.dmaCost.copyCycles).toBe(0);
    }
    // 100 more requests: 100 more maps, unmaps and flushes, at the cost table's prices.
    expect(b.dd.dmaCost.iommuMaps - a.dd.dmaCost.iommuMaps).toBe(100);
    expect(b.dd.dmaCost.iommuUnmaps - a.dd.dmaCost.iommuUnmaps).toBe(100);
    expect(b.dd.dmaCost.iotlbFlushes - a.dd.dmaCost.iotlbFlushes).toBe(100);
    expect(b.dd.dmaCost.iommuCycles - a.dd.dmaCost.iommuCycles).toBe(100 * MAP_UNMAP_FLUSH);
    // Per request served, the map/unmap/flush dominates: at least its price, at most the price plus the ring's one map.
    // Per request served (flushes included, which carry no pages), the 300 writes' maps, unmaps and flushes.
    expect(b.dd.dmaCost.perRequest.iommuCycles).toBeGreaterThanOrEqual((300 * MAP_UNMAP_FLUSH) / b.dd.served);
    expect(b.dd.dmaCost.perRequest.iommuCycles).toBeLessThanOrEqual((300 * MAP_UNMAP_FLUSH + k.iommuMap) / b.dd.served);
  });

  it('an 8 KiB request (two segments) pays the map, unmap and flush twice', () => {
    const [a, b] = [run(false, 200, { blockKiB: 8 }), run(false, 300, { blockKiB: 8 })];
    expect(b.dd.dmaCost.iommuCycles - a.dd.dmaCost.iommuCycles).toBe(200 * MAP_UNMAP_FLUSH);
  });

  it('with persistent grants, the IOMMU entries are written once per pool page and never cleared while connected; the guest pays one page copy per page', () => {
    const depth = 8;
    const [a, b] = [run(true, 200, { queueDepth: depth }), run(true, 300, { queueDepth: depth })];
    for (const x of [a, b]) {
      expect(x.r.audit.ok).toBe(true);
      // The data really went through the copies: every acknowledged write is on the disk.
      expect(x.guest.acknowledgedWrites).toBe(x === a ? 200 : 300);
      expect(x.guest.lostWrites).toBe(0);
      expect(x.guest.errors).toBe(0);
      // At most one pool page per request in flight (one 4 KiB page each), plus the ring: mapped once.
      expect(x.dd.dmaCost.iommuMaps).toBeLessThanOrEqual(depth + 1);
      expect(x.dd.dmaCost.iommuUnmaps).toBe(0);
      expect(x.dd.dmaCost.iotlbFlushes).toBe(0);
    }
    // 100 more requests: no more IOMMU work at all, and 100 more page copies in the guest.
    expect(b.dd.dmaCost.iommuCycles).toBe(a.dd.dmaCost.iommuCycles);
    expect(b.dd.grantOps.map).toBe(a.dd.grantOps.map);
    expect(b.guest.dmaCost.copyCycles - a.guest.dmaCost.copyCycles).toBe(100 * k.copyPage);
    // All writes of 4 KiB: one copy per write; FLUSH requests carry no data and copy nothing.
    expect(b.guest.acknowledgedWrites).toBe(300);
    expect(b.guest.dmaCost.copyCycles).toBe(300 * k.copyPage);
    expect(b.guest.dmaCost.copyBytes).toBe(300 * 4096);
    expect(b.guest.dmaCost.perRequest.copyCycles).toBe((300 * k.copyPage) / b.guest.requests);
  });

  it('reads copy out of the pool after the response, writes into it before the request: one copy per page either way', () => {
    const x = run(true, 400, { writeFraction: 0.5, blockKiB: 8 });
    expect(x.guest.errors).toBe(0);
    expect(x.guest.lostWrites).toBe(0);
    expect(x.guest.dmaCost.copyCycles).toBe(400 * 2 * k.copyPage);
    expect(x.r.audit.ok).toBe(true);
  });

  it('both ends publish feature-persistent in xenstore (1 when offered, 0 when not)', () => {
    const x = run(true, 10);
    const xs = (p: string) => x.sim.io!.dom0Xs.read(p);
    const guest = x.sim.domains.find((d) => d.name === 'guest')!;
    const dd = x.sim.domains.find((d) => d.name === 'dd')!;
    expect(xs(`/local/domain/${guest.domid}/device/vbd/51712/feature-persistent`)).toBe('1');
    expect(xs(`/local/domain/${dd.domid}/backend/vbd/${guest.domid}/51712/feature-persistent`)).toBe('1');
    const y = run(false, 10);
    const g2 = y.sim.domains.find((d) => d.name === 'guest')!;
    expect(y.sim.io!.dom0Xs.read(`/local/domain/${g2.domid}/device/vbd/51712/feature-persistent`)).toBe('0');
  });

  it('a bad persistent value is refused at the field', () => {
    const v = validateScenario({
      name: 'bad',
      machine: { memoryMiB: 1024, pcpus: 1, devices: [{ id: 'dev0', kind: 'disk', sizeMiB: 64 }] },
      hypervisor: 'xen',
      domains: [{ name: 'g', mode: 'pv', memoryMiB: 128, vcpus: 1, disks: [{ device: 'dev0', persistent: 'yes' }] }],
    });
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.problems).toEqual([expect.objectContaining({ path: 'domains[0].disks[0].persistent' })]);
  });
});

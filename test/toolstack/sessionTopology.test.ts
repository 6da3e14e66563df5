/**
 * The session's Topology snapshots and I/O metrics (issue 12): sent only for scenarios with I/O,
 * after 'booted' and with every progress report; the C4 preset's driver domain seen dying and
 * coming back; per-domain throughput, latency and CPU that add up to the run's totals.
 */
import { describe, expect, it } from 'vitest';
import type { MetricSnapshot, Scenario } from '../../core/api/index.js';
import { PRESETS } from '../../core/api/presets.js';
import { harness, randomAccess } from './sessionHarness.js';

/** io/xenbus.h: XenbusStateConnected = 4. */
const CONNECTED = 4;

function preset(id: string): Scenario {
  return structuredClone(PRESETS.find((p) => p.id === id)!.scenario) as Scenario;
}

describe('LabSession: topology snapshots', () => {
  it('sends none for a scenario without I/O', () => {
    const h = harness();
    h.session.handle({ type: 'start', scenario: randomAccess(20_000), pace: 'max' });
    h.drain();
    expect(h.of('finished')).toHaveLength(1);
    expect(h.of('topology')).toHaveLength(0);
    // Nor I/O fields in the metrics.
    for (const b of h.of('snapshots')) for (const s of b.snapshots) for (const d of s.domains) expect(d.ioMBps).toBeUndefined();
  });

  it('C4: one after booted, one with each progress report; blkdd dies at 20 ms and the vbd reconnects', () => {
    // Short turns and a report after each, so the 10 ms blkdd is dead falls between reports.
    const h = harness({ tick: 1, sliceMs: 2 });
    h.session.handle({ type: 'start', scenario: preset('c4-kill-driver-domain'), snapshotMs: 1, pace: 'max' });
    h.drain();
    expect(h.of('finished')).toHaveLength(1);
    const types = h.events.map((x) => x.e.type);
    // The first topology comes right after 'booted', before any progress.
    expect(types.indexOf('topology')).toBe(types.indexOf('booted') + 1);
    // One with each progress report, and one more as each timeline action happens.
    expect(h.of('topology').length).toBeGreaterThanOrEqual(h.of('progress').length + 1);
    const topo = h.of('topology').map((e) => e.snapshot);
    // Simulated time never goes back.
    for (let i = 1; i < topo.length; i++) expect(topo[i]!.atMs).toBeGreaterThanOrEqual(topo[i - 1]!.atMs);

    const first = topo[0]!;
    expect(first.domains.find((d) => d.name === 'blkdd')).toMatchObject({ state: 'running', backend: true, role: 'guest' });
    expect(first.devices.map((d) => [d.id, d.owner])).toEqual([['disk0', 'blkdd']]);
    expect(first.vbds).toHaveLength(1);
    expect(first.vbds[0]).toMatchObject({ frontend: 'guest', backend: 'blkdd', vdev: 'xvda', ringSize: 32 });

    // While blkdd is dead (after the 20 ms destroy, before the 30 ms create): drawn destroyed, the disk has no owner,
    // the guest's frontend is not connected.
    const dead = topo.filter((t) => t.domains.some((d) => d.name === 'blkdd' && d.state === 'destroyed'));
    expect(dead.length).toBeGreaterThan(0);
    for (const t of dead) {
      expect(t.atMs).toBeGreaterThanOrEqual(20);
      expect(t.vbds[0]!.frontStateName).toMatch(/^(Closed|Initialising|Closing)$/);
      expect(t.devices[0]!.owner).toBeNull();
      expect(t.vbds[0]!.frontState).not.toBe(CONNECTED);
      expect(t.vbds[0]!.backendDomid).toBeNull();
    }

    const end = topo.at(-1)!;
    expect(end.domains.find((d) => d.name === 'blkdd')!.state).not.toBe('destroyed');
    expect(end.vbds[0]).toMatchObject({ frontState: CONNECTED, frontStateName: 'Connected', reconnects: 1 });
    expect(end.timeline.map((t) => [t.do, t.domain, t.ok])).toEqual([
      ['destroy', 'blkdd', true],
      ['create', 'blkdd', true],
    ]);
    expect(end.timeline[0]!.atMs).toBeGreaterThanOrEqual(20);
    expect(end.timeline[1]!.atMs).toBeGreaterThanOrEqual(30);
  });
});

describe('LabSession: bare metal driving its own disk', () => {
  it('draws the disk owned by the native kernel, no vbd, and counts its I/O', () => {
    const h = harness({ tick: 2 });
    const scenario = {
      name: 'bare',
      machine: { memoryMiB: 2048, pcpus: 1, devices: [{ id: 'disk0', kind: 'disk', sizeMiB: 64 }] },
      hypervisor: 'none',
      domains: [{ name: 'n', mode: 'native', memoryMiB: 256, vcpus: 1, pci: ['disk0'], workload: { kind: 'disk-io', ops: 600 } }],
    };
    h.session.handle({ type: 'start', scenario, snapshotMs: 20, pace: 'max' });
    h.drain();
    expect(h.of('error')).toEqual([]);
    expect(h.of('finished')).toHaveLength(1);
    const end = h.of('topology').at(-1)!.snapshot;
    expect(end.devices.map((d) => [d.id, d.owner])).toEqual([['disk0', 'n']]);
    expect(end.vbds).toEqual([]);
    expect(end.grants).toEqual([]);
    const last = h.of('snapshots').at(-1)!.snapshots.at(-1)!.domains.find((d) => d.name === 'n')!;
    expect(last.ioRequests).toBe(600);
    expect(last.ioBytes).toBe(600 * 4096);
  });
});

describe('LabSession: a paced run with I/O', () => {
  it('C4 at 10 ms/s: the dead driver domain sends a topology as the kill happens, and stays dead for about a real second', () => {
    // Long reports (1 s of wall time): the destroy is still drawn, because a timeline action sends one at once.
    const h = harness({ tick: 1 });
    const pace = 10e-3;
    h.session.handle({ type: 'start', scenario: preset('c4-kill-driver-domain'), snapshotMs: 1000, pace });
    h.drain();
    expect(h.of('finished')).toHaveLength(1);
    const topo = h.events.filter((x) => x.e.type === 'topology') as { e: { type: 'topology'; snapshot: { domains: { name: string; state: string }[] } }; at: number }[];
    const state = (x: (typeof topo)[number]) => x.e.snapshot.domains.find((d) => d.name === 'blkdd')!.state;
    const i = topo.findIndex((x) => state(x) === 'destroyed');
    expect(i).toBeGreaterThan(0);
    const j = topo.findIndex((x, k) => k > i && state(x) !== 'destroyed');
    expect(j).toBeGreaterThan(i);
    // 10 ms of simulated time (the timeline's destroy at 20 ms, create at 30 ms) at 10 ms per real
    // second: about 1000 ms of (fake) wall time between the two, not an instant (idle time passes at the pace).
    const wall = topo[j]!.at - topo[i]!.at;
    expect(wall).toBeGreaterThanOrEqual(0.9 * (10e-3 / pace) * 1000);
  });
});

describe('LabSession: I/O metrics', () => {
  it('C1: throughput over the intervals adds up to the bytes moved; CPU shares of one pCPU add up to at most 100 %', () => {
    const h = harness({ tick: 2 });
    const s = preset('c1-dom0-backend');
    h.session.handle({ type: 'start', scenario: s, snapshotMs: 20, pace: 'max' });
    h.drain();
    const results = h.of('finished')[0]!.results;
    const snaps: MetricSnapshot[] = h.of('snapshots').flatMap((b) => b.snapshots);
    expect(snaps.length).toBeGreaterThan(3);
    const clockHz = results.cpu.clockGHz * 1e9;
    for (const g of ['pv-guest', 'hvm-guest']) {
      const last = snaps.at(-1)!.domains.find((d) => d.name === g)!;
      // 3000 requests of the default 4 KiB block each.
      expect(last.ioRequests).toBe(3000);
      expect(last.ioBytes).toBe(3000 * 4096);
      // Σ MB/s × interval seconds = MB moved (the first snapshot has no interval before it: its bytes are those before it).
      let mb = snaps[0]!.domains.find((d) => d.name === g)!.ioBytes! / 1e6;
      for (let i = 1; i < snaps.length; i++) {
        const d = snaps[i]!.domains.find((x) => x.name === g)!;
        mb += d.ioMBps! * ((snaps[i]!.t - snaps[i - 1]!.t) / clockHz);
      }
      expect(mb).toBeCloseTo((3000 * 4096) / 1e6, 6);
      // A latency is a positive time whenever requests completed.
      const lat = snaps.map((x) => x.domains.find((d) => d.name === g)!.ioLatencyP50Us).filter((v) => v !== null && v !== undefined);
      expect(lat.length).toBeGreaterThan(0);
      for (const v of lat) expect(v).toBeGreaterThan(0);
    }
    // One pCPU: the domains' CPU over an interval is at most the interval.
    for (const x of snaps.slice(1)) {
      const sum = x.domains.reduce((a, d) => a + (d.cpuPct ?? 0), 0);
      expect(sum).toBeLessThanOrEqual(100 + 1e-6);
      for (const d of x.domains) expect(d.cpuPct).toBeGreaterThanOrEqual(0);
    }
    // dom0 serves both disks: it used CPU during the run.
    const dom0 = snaps.map((x) => x.domains.find((d) => d.name === 'Domain-0')!.cpuPct!);
    expect(Math.max(...dom0)).toBeGreaterThan(0);
  });
});

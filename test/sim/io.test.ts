import { describe, expect, it } from 'vitest';
import { validateScenario, type Scenario } from '../../core/api/scenario.js';
import { runScenario } from '../../core/sim/run.js';
import { Simulation } from '../../core/sim/simulation.js';
import { DOMID_XEN } from '../../core/hv/mm/frameTable.js';

type Io = { acknowledgedWrites: number; lostWrites: number; volatileWrites: number; reconnects: number; reconnectMs: number[]; reissued: number; served: number; requests: number; flushes: number; latencyUs: { p50: number; p99: number } };

function scenario(over: { flushEvery?: number; writeCache?: boolean; ops?: number; timeline?: unknown[] } = {}): Scenario {
  const v = validateScenario({
    name: 'c4',
    machine: { memoryMiB: 2048, pcpus: 1, devices: [{ id: 'disk0', kind: 'disk', sizeMiB: 256, ...(over.writeCache === false ? { writeCache: false } : {}) }] },
    hypervisor: 'xen',
    domains: [
      { name: 'blkdd', mode: 'pv', memoryMiB: 128, vcpus: 1, pci: ['disk0'] },
      {
        name: 'guest',
        mode: 'pv',
        memoryMiB: 256,
        vcpus: 1,
        disks: [{ backend: 'blkdd', device: 'disk0', vdev: 'xvda' }],
        workload: { kind: 'disk-io', ops: over.ops ?? 1500, flushEvery: over.flushEvery ?? 8 },
      },
    ],
    timeline: over.timeline ?? [
      { atMs: 5, do: 'destroy', domain: 'blkdd' },
      { atMs: 15, do: 'create', domain: 'blkdd' },
    ],
  });
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return v.scenario;
}

const ioOf = (r: ReturnType<typeof runScenario>, name: string) => (r.domains.find((d) => d.name === name) as unknown as { io: Io }).io;

describe('split block drivers and a driver domain killed under load (C4)', () => {
  it('the guest reconnects to the re-created driver domain and no acknowledged write is lost', () => {
    const r = runScenario(scenario());
    const io = ioOf(r, 'guest');
    expect(io.acknowledgedWrites).toBe(1500); // every request is a write (writeFraction 1)
    expect(io.lostWrites).toBe(0);
    expect(io.reconnects).toBe(1);
    // Dead from 5 ms to 15 ms: the frontend saw it go at once and came back after the new domain's handshake.
    expect(io.reconnectMs[0]).toBeGreaterThanOrEqual(10);
    expect(io.reconnectMs[0]).toBeLessThan(11);
    // What was on the ring when the backend died was re-issued, at most a ring's worth.
    expect(io.reissued).toBeGreaterThan(0);
    expect(io.reissued).toBeLessThanOrEqual(32);
    const tl = (r as unknown as { timeline: { do: string; ok: boolean }[] }).timeline;
    expect(tl.map((t) => [t.do, t.ok])).toEqual([['destroy', true], ['create', true]]);
    expect(r.audit.ok).toBe(true);
  });

  it("the backend's work is the driver domain's CPU time, not dom0's or the guest's", () => {
    const r = runScenario(scenario({ timeline: [] }));
    const guest = ioOf(r, 'guest');
    const dd = r.domains.find((d) => d.name === 'blkdd')!;
    const dom0 = r.domains.find((d) => d.role === 'dom0')!;
    // Every data request and every flush went through blkback in blkdd.
    expect(ioOf(r, 'blkdd').served).toBe(guest.requests + guest.flushes);
    expect(ioOf(r, 'Domain-0').served).toBe(0);
    expect(dd.cycles.total).toBeGreaterThan(0);
    expect(dd.hypercalls.byOp.grant_table_op).toBeGreaterThan(0);
    expect(dom0.hypercalls.byOp.grant_table_op ?? 0).toBe(0);
    // The guest's own hypercalls: event channel notifies, never grant maps (it only grants).
    expect(r.domains.find((d) => d.name === 'guest')!.hypercalls.byOp.grant_table_op ?? 0).toBe(0);
  });

  it('without flushes, acknowledged writes sit in the volatile cache: a power cut at the end would lose them', () => {
    const sim = new Simulation(scenario({ flushEvery: 0, timeline: [] }));
    while (sim.step(1));
    const disk = sim.io!.disks.get('disk0')!;
    const dirty = disk.stats.dirtyBlocks;
    const r = sim.results();
    const io = ioOf(r, 'guest');
    expect(io.acknowledgedWrites).toBe(1500);
    expect(dirty).toBeGreaterThan(0);
    // Each page whose last acknowledged write is only in the cache counts once.
    expect(io.lostWrites).toBe(dirty);
    expect(io.volatileWrites).toBe(dirty);
  });

  it('with flushes, a power cut after the run loses nothing the guest was told is written', () => {
    const sim = new Simulation(scenario({ timeline: [] }));
    while (sim.step(1));
    sim.io!.disks.get('disk0')!.powerLoss();
    expect(ioOf(sim.results(), 'guest').lostWrites).toBe(0);
  });

  it('with the write cache off every write is durable when acknowledged, flush or not', () => {
    const r = runScenario(scenario({ flushEvery: 0, writeCache: false, timeline: [] }));
    expect(ioOf(r, 'guest').lostWrites).toBe(0);
  });

  it('a destroyed backend that never comes back: the guest stalls and the lab says so', () => {
    const r = runScenario(scenario({ timeline: [{ atMs: 5, do: 'destroy', domain: 'blkdd' }] }));
    const tl = (r as unknown as { timeline: { do: string; domain: string; message: string }[] }).timeline;
    expect(tl[tl.length - 1]).toMatchObject({ do: 'stall', domain: 'guest' });
    expect(r.domains.find((d) => d.name === 'guest')!.ops).toBeLessThan(1500);
  });
});

describe('I/O scenarios: bad input refused at the field', () => {
  const base = () => ({
    name: 'x',
    machine: { memoryMiB: 2048, pcpus: 1, devices: [{ id: 'disk0', kind: 'disk' }] as unknown[] },
    hypervisor: 'xen',
    domains: [
      { name: 'dd', mode: 'pv', memoryMiB: 128, vcpus: 1, pci: ['disk0'] as string[] },
      { name: 'g', mode: 'pv', memoryMiB: 128, vcpus: 1, disks: [{ backend: 'dd', device: 'disk0' }] as unknown[] },
    ] as Record<string, unknown>[],
    timeline: [] as unknown[],
  });
  const problems = (s: unknown) => {
    const v = validateScenario(s);
    return v.ok ? [] : v.problems;
  };

  it('accepts the base scenario', () => {
    expect(problems(base())).toEqual([]);
  });
  it('a backend that does not exist', () => {
    const s = base();
    (s.domains[1]!.disks as { backend: string }[])[0]!.backend = 'nobody';
    expect(problems(s)).toEqual([expect.objectContaining({ path: 'domains[1].disks[0].backend', message: expect.stringContaining('no domain named "nobody"') })]);
  });
  it('a device owned twice', () => {
    const s = base();
    s.domains.push({ name: 'dd2', mode: 'pv', memoryMiB: 64, vcpus: 1, pci: ['0000:03:00.0'] });
    expect(problems(s)).toEqual([expect.objectContaining({ path: 'domains[2].pci[0]', message: expect.stringContaining('already owned by dd') })]);
  });
  it('a disk with no device', () => {
    const s = base();
    (s.domains[1]!.disks as { device: string }[])[0]!.device = 'disk9';
    expect(problems(s)).toEqual([expect.objectContaining({ path: 'domains[1].disks[0].device', message: expect.stringContaining('no disk device "disk9"') })]);
  });
  it('a backend that does not own the device', () => {
    const s = base();
    s.domains[0]!.pci = [];
    expect(problems(s)).toEqual([expect.objectContaining({ path: 'domains[1].disks[0].backend', message: expect.stringContaining('does not own device "disk0"') })]);
  });
  it('an action on an unknown domain, and destroying dom0', () => {
    const s = base();
    s.timeline = [{ atMs: 1, do: 'destroy', domain: 'ghost' }, { atMs: 2, do: 'destroy', domain: 'Domain-0' }];
    expect(problems(s)).toEqual([
      expect.objectContaining({ path: 'timeline[0].domain', message: expect.stringContaining('no domain named "ghost"') }),
      expect.objectContaining({ path: 'timeline[1].do', message: expect.stringContaining('dom0 cannot be destroyed') }),
    ]);
  });
  it('an unknown action names the allowed ones', () => {
    const s = base();
    s.timeline = [{ atMs: 1, do: 'explode', domain: 'dd' }];
    const p = problems(s);
    expect(p).toHaveLength(1);
    expect(p[0]!.path).toBe('timeline[0].do');
    expect(p[0]!.message).toContain('destroy');
  });
  it('a PCI address used twice, and one that is not an address', () => {
    const s = base();
    s.machine.devices = [{ id: 'disk0', kind: 'disk', bdf: '03:00.0' }, { id: 'disk1', kind: 'disk', bdf: '0000:03:00.0' }, { id: 'disk2', kind: 'disk', bdf: 'slot 3' }];
    const p = problems(s);
    expect(p.map((x) => x.path).sort()).toEqual(['machine.devices[1].bdf', 'machine.devices[2].bdf']);
  });
  it('disk-io without a disk', () => {
    const s = base();
    s.domains[1]!.disks = [];
    s.domains[1]!.workload = { kind: 'disk-io' };
    expect(problems(s)).toEqual([expect.objectContaining({ path: 'domains[1].workload', message: expect.stringContaining('needs a virtual disk') })]);
  });
});

describe('a guest destroyed while its backend has its pages mapped', () => {
  it('keeps those frames out of the heap until the backend unmaps them, then frees every one', () => {
    const v = validateScenario({
      name: 'kill-guest',
      machine: { memoryMiB: 2048, pcpus: 1, devices: [{ id: 'disk0', kind: 'disk', sizeMiB: 64 }] },
      hypervisor: 'xen',
      domains: [
        { name: 'blkdd', mode: 'pv', memoryMiB: 128, vcpus: 1, pci: ['disk0'] },
        { name: 'guest', mode: 'pv', memoryMiB: 128, vcpus: 1, disks: [{ backend: 'blkdd', device: 'disk0' }], workload: { kind: 'disk-io', ops: 100_000 } },
      ],
    });
    if (!v.ok) throw new Error(JSON.stringify(v.problems));
    const sim = new Simulation(v.scenario);
    const guest = sim.domains.find((d) => d.name === 'guest')!;
    // Run until the backend has some of the guest's pages mapped for the disk.
    for (let i = 0; i < 10_000 && sim.xen.gnttab.mappings().filter((m) => m.granter === guest.domid && m.flags === 1).length === 0; i++) sim.step(1);
    const mapped = sim.xen.gnttab.mappings().filter((m) => m.granter === guest.domid);
    expect(mapped.length).toBeGreaterThan(0);
    const freeBefore = sim.xen.freeFrames;
    const freed = sim.destroyDomain(guest);
    // The mapped frames were not given back: the heap grew by what was freed, and they are Xen's.
    expect(sim.xen.freeFrames - freeBefore).toBe(freed.guestFrames + freed.xenFrames);
    for (const m of mapped) expect(sim.xen.ft.owner(m.mfn)).toBe(DOMID_XEN);
    while (sim.step(1));
    // The backend's requests finished (answered to no one) and unmapped: the held frames are free.
    expect(sim.xen.gnttab.mappings()).toEqual([]);
    for (const m of mapped) expect(sim.xen.ft.owner(m.mfn)).not.toBe(DOMID_XEN);
    expect(sim.results().audit.ok).toBe(true);
  });
});

describe('bare metal: the native baseline of the I/O path', () => {
  const wl = { kind: 'disk-io', ops: 600, flushEvery: 16, writeFraction: 0.5 } as const;
  const run = (hv: 'none' | 'xen') => {
    const v = validateScenario({
      name: `base-${hv}`,
      machine: { memoryMiB: 2048, pcpus: 1, devices: [{ id: 'disk0', kind: 'disk', sizeMiB: 64 }] },
      hypervisor: hv,
      domains:
        hv === 'none'
          ? [{ name: 'n', mode: 'native', memoryMiB: 256, vcpus: 1, pci: ['disk0'], workload: wl }]
          : [{ name: 'g', mode: 'pv', memoryMiB: 256, vcpus: 1, disks: [{ device: 'disk0' }], workload: wl }],
    });
    if (!v.ok) throw new Error(JSON.stringify(v.problems));
    return runScenario(v.scenario);
  };

  it('drives the disk with no ring, grant or event channel, and loses nothing', () => {
    const r = run('none');
    const d = r.domains[0]!;
    const io = (d as unknown as { io: Io }).io;
    expect(d.ops).toBe(600);
    expect(io.lostWrites).toBe(0);
    expect(d.hypercalls.total).toBe(0);
    expect(d.counters.evtchnSends).toBe(0);
    expect(d.counters.grantMaps).toBe(0);
  });

  it('under Xen the same I/O costs more CPU in all (guest and backend) than on bare metal', () => {
    const native = run('none').domains[0]!.cycles.total;
    const xen = run('xen').domains.reduce((a, d) => a + d.cycles.total, 0);
    expect(xen).toBeGreaterThan(native);
  });

  it('refuses virtual disks on bare metal and devices under KVM, at the field', () => {
    const v = validateScenario({
      name: 'x',
      machine: { memoryMiB: 2048, pcpus: 1, devices: [{ id: 'disk0', kind: 'disk' }] },
      hypervisor: 'none',
      domains: [{ name: 'n', mode: 'native', memoryMiB: 256, vcpus: 1, disks: [{ device: 'disk0' }] }],
    });
    expect(v.ok ? [] : v.problems.map((p) => p.path)).toContain('domains[0].disks');
    // Under KVM the machine's devices are the host's: a guest may not own one (no passthrough there).
    const k = validateScenario({ name: 'k', machine: { memoryMiB: 2048, pcpus: 1, devices: [{ id: 'disk0', kind: 'disk' }] }, hypervisor: 'kvm', domains: [{ name: 'g', mode: 'hap', memoryMiB: 256, vcpus: 1, pci: ['disk0'] }] });
    expect(k.ok ? [] : k.problems).toEqual([expect.objectContaining({ path: 'domains[0].pci', message: expect.stringContaining('KVM') })]);
  });
});

describe('one disk, one virtual disk', () => {
  it('refuses a second virtual disk on a device already in use, at its field', () => {
    const v = validateScenario({
      name: 'shared',
      machine: { memoryMiB: 2048, pcpus: 1, devices: [{ id: 'disk0', kind: 'disk' }] },
      hypervisor: 'xen',
      domains: [
        { name: 'a', mode: 'pv', memoryMiB: 128, vcpus: 1, disks: [{ device: 'disk0' }] },
        { name: 'b', mode: 'pv', memoryMiB: 128, vcpus: 1, disks: [{ device: 'disk0' }] },
      ],
    });
    expect(v.ok ? [] : v.problems).toEqual([expect.objectContaining({ path: 'domains[1].disks[0].device', message: expect.stringContaining("already backs a's xvda") })]);
  });
});

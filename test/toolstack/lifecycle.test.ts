import { describe, expect, it } from 'vitest';
import { XEN_RESERVED_MIB } from '../../core/api/index.js';
import { auditMachine } from '../../core/vm/audit.js';
import { DOMID_FREE, DOMID_XEN } from '../../core/hv/mm/frameTable.js';
import { C } from '../../core/machine/counters.js';
import { DomainConfigError, Simulation } from '../../core/sim/simulation.js';
import { scenario, threeGuests } from './toolstackHelpers.js';

const SHADOW_POOL = (memoryMiB: number, vcpus: number) => 256 * vcpus + 2 * memoryMiB;

function withWorkloads() {
  return scenario({
    machine: { memoryMiB: 2048, pcpus: 1 },
    hypervisor: 'xen',
    domains: [
      { name: 'pv1', mode: 'pv', memoryMiB: 128, vcpus: 1, workload: { kind: 'fork-exit', forks: 100000, residentMiB: 8 } },
      { name: 'sh1', mode: 'shadow', memoryMiB: 128, vcpus: 1, workload: { kind: 'random-access', workingSetMiB: 32, accesses: 100000000 } },
      { name: 'hap1', mode: 'hap', memoryMiB: 128, vcpus: 1, workload: { kind: 'mmap-churn', maps: 1000000, pagesPerMap: 16 } },
    ],
  });
}

describe('domain lifecycle: free memory', () => {
  it('free frames are the machine less Xen, every domain and its shadow pool / EPT tables', () => {
    const sim = new Simulation(threeGuests());
    const [dom0, g1, g2, g3] = sim.domains;
    const ept = g2!.dom.hap!.tableFrames.length;
    const used = (XEN_RESERVED_MIB + dom0!.config.memoryMiB + 256 + 512 + 256) * 256 + SHADOW_POOL(256, 1) + ept;
    expect(g1!.config.memoryMiB + g3!.config.memoryMiB).toBe(512);
    expect(sim.freeFrames).toBe(2048 * 256 - used);
    expect(sim.freeMiB).toBe(Math.floor((2048 * 256 - used) / 256));
  });

  it('destroying a PV domain returns exactly its memory, with every frame table entry cleared', () => {
    const sim = new Simulation(threeGuests());
    const g1 = sim.domains.find((d) => d.name === 'g1')!;
    const frames = Array.from(g1.dom.p2m);
    const before = sim.freeFrames;
    const freed = sim.destroyDomain(g1);
    expect(freed).toEqual({ guestFrames: 256 * 256, xenFrames: 0 });
    expect(sim.freeFrames - before).toBe(256 * 256);
    expect(sim.domains.map((d) => d.name)).toEqual(['Domain-0', 'g2', 'g3']);
    expect(sim.xen.domains).not.toContain(g1);
    expect(g1.state).toBe('dying');
    const ft = sim.xen.ft;
    const dirty = frames.filter(
      (m) => ft.owner(m) !== DOMID_FREE || ft.count(m) || ft.type(m) || ft.typeCount(m) || ft.flags(m) || ft.linear(m) || ft.m2p(m) !== -1 || sim.xen.mem.frame(m),
    );
    expect(dirty).toEqual([]);
    expect(auditMachine(sim.xen, sim.domains)).toMatchObject({ ok: true, violations: [] });
  });

  it('destroying a shadow domain returns its memory and its shadow pool', () => {
    const sim = new Simulation(threeGuests());
    const g3 = sim.domains.find((d) => d.name === 'g3')!;
    const pool = [...g3.dom.xenFrames];
    expect(pool.length).toBe(SHADOW_POOL(256, 1));
    const before = sim.freeFrames;
    sim.destroyDomain(g3);
    expect(sim.freeFrames - before).toBe(256 * 256 + SHADOW_POOL(256, 1));
    for (const m of pool) expect(sim.xen.ft.owner(m)).toBe(DOMID_FREE);
  });

  it('destroying a hap domain returns its memory and its EPT tables', () => {
    const sim = new Simulation(threeGuests());
    const g2 = sim.domains.find((d) => d.name === 'g2')!;
    const ept = [...g2.dom.hap!.tableFrames];
    for (const m of ept) expect(sim.xen.ft.owner(m)).toBe(DOMID_XEN);
    const before = sim.freeFrames;
    sim.destroyDomain(g2);
    expect(sim.freeFrames - before).toBe(512 * 256 + ept.length);
    for (const m of ept) expect(sim.xen.ft.owner(m)).toBe(DOMID_FREE);
  });
});

describe('domain lifecycle: destroy mid-run', () => {
  for (const name of ['pv1', 'sh1', 'hap1']) {
    it(`destroying ${name} while its workload runs ends its job and the auditor still passes`, () => {
      const sim = new Simulation(withWorkloads());
      sim.step(6);
      const d = sim.domains.find((x) => x.name === name)!;
      expect(sim.jobs.some((j) => j.d === d && !j.done)).toBe(true);
      const job = sim.jobs.find((j) => j.d === d)!;
      sim.destroyDomain(d);
      expect(job.done).toBe(true);
      expect(sim.jobs.some((j) => j.d === d)).toBe(false);
      expect(auditMachine(sim.xen, sim.domains)).toMatchObject({ ok: true, violations: [] });
      // The others keep running, and stay consistent.
      const ops = sim.domains.map((x) => x.counters.c[C.Ops]);
      sim.step(4);
      expect(sim.domains.map((x) => x.counters.c[C.Ops]).some((o, i) => o > ops[i]!)).toBe(true);
      expect(auditMachine(sim.xen, sim.domains)).toMatchObject({ ok: true, violations: [] });
    });
  }

  it('a domain created in the freed memory boots, runs and passes the audit', () => {
    const sim = new Simulation(withWorkloads());
    sim.step(6);
    for (const name of ['pv1', 'sh1', 'hap1']) sim.destroyDomain(sim.domains.find((x) => x.name === name)!);
    const created = [
      sim.createDomain({ name: 'n1', mode: 'pv', memoryMiB: 128, vcpus: 1, workload: { kind: 'fork-exit', forks: 50, residentMiB: 4 } }),
      sim.createDomain({ name: 'n2', mode: 'shadow', memoryMiB: 128, vcpus: 1, workload: { kind: 'mmap-churn', maps: 50, pagesPerMap: 8 } }),
      sim.createDomain({ name: 'n3', mode: 'hap', memoryMiB: 128, vcpus: 1, hostPageSize: '2m', workload: { kind: 'random-access', workingSetMiB: 16, accesses: 20000 } }),
    ];
    expect(created.map((d) => d.domid)).toEqual([4, 5, 6]);
    expect(auditMachine(sim.xen, sim.domains)).toMatchObject({ ok: true, violations: [] });
    while (sim.step(16));
    for (const d of created) expect(d.counters.c[C.Ops]).toBeGreaterThan(0);
    expect(auditMachine(sim.xen, sim.domains)).toMatchObject({ ok: true, violations: [] });
  });
});

describe('domain lifecycle: create is validated', () => {
  const sim = () => new Simulation(threeGuests());
  const problems = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(DomainConfigError);
      return (e as DomainConfigError).problems;
    }
    throw new Error('no error');
  };

  it('refuses a name in use', () => {
    expect(problems(() => sim().createDomain({ name: 'g1', mode: 'hap', memoryMiB: 64, vcpus: 1 }))).toEqual([
      { path: 'name', message: 'domain name "g1" is already in use by domain 1; choose another name' },
    ]);
  });

  it('refuses memory beyond the free frames, saying how much is free', () => {
    const s = sim();
    const free = s.freeFrames;
    const [p] = problems(() => s.createDomain({ name: 'big', mode: 'shadow', memoryMiB: 1024, vcpus: 1 }));
    expect(p).toEqual({
      path: 'memoryMiB',
      message: `big needs 262144 frames (1024 MiB) plus ${SHADOW_POOL(1024, 1)} for its shadow pool but only ${free} frames (${Math.floor(free / 256)} MiB) are free; lower its memory or destroy a domain`,
    });
  });

  it('applies the scenario rules (PV gets no superpages; a second dom0 is refused)', () => {
    expect(problems(() => sim().createDomain({ name: 'p', mode: 'pv', memoryMiB: 64, vcpus: 1, guestPageSize: '2m' }))[0]!.path).toBe('guestPageSize');
    expect(problems(() => sim().createDomain({ name: 'd0', role: 'dom0', mode: 'pv', memoryMiB: 64, vcpus: 1 }))[0]).toMatchObject({ path: 'role' });
    expect(problems(() => sim().createDomain({ name: 'x', mode: 'hap', memoryMiB: 8, vcpus: 1 }))[0]!.path).toBe('memoryMiB');
  });

  it('a refused create changes nothing', () => {
    const s = sim();
    const free = s.freeFrames;
    expect(() => s.createDomain({ name: 'g1', mode: 'hap', memoryMiB: 64, vcpus: 1 })).toThrow(DomainConfigError);
    expect(s.freeFrames).toBe(free);
    expect(s.domains.length).toBe(4);
  });
});

describe('domain lifecycle: pause', () => {
  it("a paused domain's job does not advance; unpaused, it goes on", () => {
    const sim = new Simulation(withWorkloads());
    sim.step(4);
    const d = sim.domains.find((x) => x.name === 'sh1')!;
    sim.pauseDomain(d);
    expect(d.state).toBe('paused');
    const ops = d.counters.c[C.Ops];
    const cpu = d.dom.cpuCycles;
    sim.step(10);
    expect(d.counters.c[C.Ops]).toBe(ops);
    expect(d.dom.cpuCycles).toBe(cpu);
    sim.unpauseDomain(d);
    expect(d.state).toBe('running');
    // It runs again as soon as the credit scheduler gives it its turn (an UNDER domain first).
    for (let i = 0; i < 200 && d.counters.c[C.Ops] === ops; i++) sim.step(1);
    expect(d.counters.c[C.Ops]).toBeGreaterThan(ops);
  });

  it('the host clock only moves forward and counts every slice', () => {
    const sim = new Simulation(withWorkloads());
    let t = sim.cycles;
    for (let i = 0; i < 5; i++) {
      sim.step(2);
      expect(sim.cycles).toBeGreaterThan(t);
      t = sim.cycles;
    }
    const sum = sim.domains.reduce((a, d) => a + d.dom.cpuCycles, 0);
    expect(sim.cycles).toBe(sum); // one pCPU: its time is the sum of its domains'
  });
});

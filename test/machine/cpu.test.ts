/**
 * CPU generation profiles (machine.cpu): each value derives from its cited source as the source
 * states it (a paper's µs at its machine's clock, a table's cycles), checked here from the
 * published figures themselves; the features decide mechanisms (EPT, 1 GiB pages).
 */
import { describe, expect, it } from 'vitest';
import { COST_KEYS } from '../../core/machine/cost.js';
import { CPU_PROFILE_TABLE, CPU_PROFILES, KERNEL_PATH_CORE2 } from '../../core/machine/cpu.js';
import { validateScenario } from '../../core/api/scenario.js';
import { costSource } from '../../core/api/costDocs.js';
import { runScenario } from '../../core/sim/run.js';
import { costsOf } from '../../core/sim/simulation.js';

const P4 = CPU_PROFILE_TABLE['p4-2003'];
const CORE2 = CPU_PROFILE_TABLE['core2-2008'];
/** Microseconds at the SOSP 2003 machine's 2.4 GHz, in cycles. */
const at24 = (us: number) => Math.round(us * 2400);

describe('CPU profiles', () => {
  it('every profile prices every cost and says where each value comes from', () => {
    for (const id of CPU_PROFILES) {
      const p = CPU_PROFILE_TABLE[id];
      for (const k of COST_KEYS) {
        expect(Number.isFinite(p.costs[k]), `${id}.${k}`).toBe(true);
        expect(p.costs[k]).toBeGreaterThanOrEqual(0);
        expect(costSource(id, k).length, `${id}.${k} source`).toBeGreaterThan(10);
      }
      expect(p.sources.clock).toBeTruthy();
    }
  });

  it('p4-2003: VT-x costs from Adams & Agesen Table 1 and §6.3, native paths from the SOSP 2003 rows', () => {
    expect(P4.clockGHz).toBe(2.4);
    expect(P4.costs.vmexit).toBe(1931 + 2409);
    expect(P4.costs.faultTrap).toBe(1093);
    expect(P4.costs.syscall).toBe(at24(0.45)); // Table 3, null call, L-UP
    expect(P4.costs.pvTrapBounce).toBe(at24(1.4 - 1.06)); // Table 5, prot fault Xen − L-UP
    expect(P4.costs.faultHandler).toBe(at24(1.42) - 1093); // Table 5, page fault L-UP − delivery
    expect(P4.costs.faultCheck).toBe(at24(1.06) - 1093);
    expect(P4.costs.emulateWrite).toBe(12733 - (1931 + 2409)); // ptemod under the hardware VMM − the exit
    expect(P4.costs.shadowFault).toBe(11242 - (1931 + 2409) - 1093); // pgfault − exit − the guest's delivery
    expect(P4.features).toMatchObject({ ept: false, vpid: false, pcid: false, pvAbi: 'x86_32' });
  });

  it('core2-2008: Table 1 exits; software paths scaled by the forkwait ratio', () => {
    // forkwait: 40,000 forks took 6.02 s on the 3.8 GHz P4 and 2.62 s on the 2.66 GHz Core 2.
    const ratio = ((2.62 / 40000) * 2.66e9) / ((6.02 / 40000) * 3.8e9);
    expect(KERNEL_PATH_CORE2).toBeCloseTo(ratio, 3);
    expect(CORE2.costs.vmexit).toBe(1186 + 937);
    expect(CORE2.costs.faultHandler).toBe(Math.round(P4.costs.faultHandler * ratio));
    expect(CORE2.features).toMatchObject({ ept: false, vpid: false });
    expect(CPU_PROFILE_TABLE['nehalem-2009'].features).toMatchObject({ ept: true, vpid: true });
  });

  it('modern is the default: a scenario without machine.cpu gets its costs and TLBs', () => {
    const v = validateScenario({ name: 'x', machine: { memoryMiB: 1024, pcpus: 1 }, hypervisor: 'none', domains: [{ name: 'g', mode: 'native', memoryMiB: 256, vcpus: 1 }] });
    expect(v.ok).toBe(true);
    if (v.ok) expect(costsOf(v.scenario)).toEqual({ ...CPU_PROFILE_TABLE.modern.costs });
  });

  it('explicit machine.costs override the profile', () => {
    const v = validateScenario({ name: 'x', machine: { memoryMiB: 1024, pcpus: 1, cpu: 'p4-2003', costs: { vmexit: 77 } }, hypervisor: 'none', domains: [{ name: 'g', mode: 'native', memoryMiB: 256, vcpus: 1 }] });
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    const c = costsOf(v.scenario);
    expect(c.vmexit).toBe(77);
    expect(c.faultTrap).toBe(1093);
  });

  it('refuses nested paging on a CPU without EPT and 1 GiB pages where there are none, naming the field', () => {
    const bad = validateScenario({
      name: 'x',
      machine: { memoryMiB: 4096, pcpus: 1, cpu: 'core2-2008' },
      hypervisor: 'xen',
      domains: [
        { name: 'a', mode: 'hap', memoryMiB: 256, vcpus: 1 },
        { name: 'b', mode: 'shadow', memoryMiB: 1040, vcpus: 1, guestPageSize: '1g' },
      ],
    });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    const byPath = Object.fromEntries(bad.problems.map((p) => [p.path, p.message]));
    expect(byPath['domains[0].mode']).toMatch(/EPT/);
    expect(byPath['domains[0].mode']).toMatch(/nehalem-2009 or modern/);
    expect(bad.problems.some((p) => p.path === 'domains[1].guestPageSize' && /1 GiB/.test(p.message))).toBe(true);
    const unknown = validateScenario({ name: 'x', machine: { memoryMiB: 4096, pcpus: 1, cpu: 'pentium' }, hypervisor: 'none', domains: [{ name: 'g', mode: 'native', memoryMiB: 256, vcpus: 1 }] });
    expect(unknown.ok).toBe(false);
    if (!unknown.ok) {
      expect(unknown.problems[0]!.path).toBe('machine.cpu');
      for (const id of CPU_PROFILES) expect(unknown.problems[0]!.message).toContain(id);
    }
  });

  it('results give time beside cycles at the profile clock', () => {
    for (const cpu of ['p4-2003', 'modern'] as const) {
      const v = validateScenario({ name: 'x', machine: { memoryMiB: 1024, pcpus: 1, cpu }, hypervisor: 'none', domains: [{ name: 'g', mode: 'native', memoryMiB: 256, vcpus: 1, workload: { kind: 'null-syscall', calls: 100 } }] });
      if (!v.ok) throw new Error(v.problems[0]!.message);
      const r = runScenario(v.scenario);
      const g = r.domains[0]!;
      const ghz = CPU_PROFILE_TABLE[cpu].clockGHz;
      expect(r.cpu).toMatchObject({ profile: cpu, clockGHz: ghz });
      expect(g.timeUs.perOp).toBeCloseTo(g.cycles.perOp / (ghz * 1000), 9);
      expect(g.timeUs.total).toBeCloseTo(g.cycles.total / (ghz * 1000), 9);
      expect(r.simulatedMs).toBeCloseTo(r.simulatedCycles / (ghz * 1e6), 9);
      // A null syscall natively costs exactly the profile's syscall.
      expect(g.cycles.perOp).toBe(CPU_PROFILE_TABLE[cpu].costs.syscall);
    }
  });
});

/**
 * The lmbench programs and the user-mode work of the macro workloads, and the mechanisms a CPU
 * generation switches (the PV ABI, VPID, PCID). Expected values come from the programs' definitions
 * (lmbench's loops), the cost table and the published characterizations the profiles cite.
 */
import { describe, expect, it } from 'vitest';
import { validateScenario, WORKLOAD_KINDS, type Results } from '../../core/api/index.js';
import { CPU_PROFILE_TABLE, type CpuProfileId } from '../../core/machine/cpu.js';
import { runScenario } from '../../core/sim/run.js';
import { GCC, MCF } from '../../core/workloads/user.js';
import type { Mode } from './helpers.js';

function run(cpu: CpuProfileId, mode: Mode, workload: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const v = validateScenario({
    name: 't',
    machine: { memoryMiB: 2048, pcpus: 1, cpu },
    hypervisor: mode === 'native' ? 'none' : 'xen',
    domains: [{ name: 'g1', mode, memoryMiB: 768, vcpus: 1, workload, ...extra }],
  });
  if (!v.ok) throw new Error(v.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  const r: Results = runScenario(v.scenario);
  const g = r.domains.find((d) => d.name === 'g1')!;
  expect(r.audit.ok).toBe(true);
  return { g, c: g.counters, per: (x: number) => x / g.ops };
}

describe('every parameter has a default', () => {
  it.each(['fork-exit', 'exec', 'sh-proc', 'page-fault', 'prot-fault', 'mmap', 'null-syscall', 'context-switch', 'kernel-build', 'oltp', 'spec'])(
    '{"kind": "%s"} alone is a workload',
    (kind) => {
      expect(WORKLOAD_KINDS).toContain(kind);
      const v = validateScenario({ name: 't', machine: { memoryMiB: 2048, pcpus: 1 }, hypervisor: 'none', domains: [{ name: 'g', mode: 'native', memoryMiB: 768, vcpus: 1, workload: { kind } }] });
      expect(v.ok, v.ok ? '' : v.problems.map((p) => p.message).join()).toBe(true);
    },
  );
});

describe('lmbench programs', () => {
  it('prot fault: the fault alone (lmbench subtracts the signal); PV adds one bounce through Xen', () => {
    const p4 = CPU_PROFILE_TABLE['p4-2003'].costs;
    const n = run('p4-2003', 'native', { kind: 'prot-fault', faults: 200 });
    expect(n.per(n.g.pageFaults.guest)).toBe(1);
    // Beside the walk that finds the entry read-only: the delivery and the refused fault.
    expect(n.g.cycles.perOp - n.per(n.g.cycles.walk)).toBe(p4.faultTrap + p4.faultCheck);
    const pv = run('p4-2003', 'pv', { kind: 'prot-fault', faults: 200 });
    expect(pv.g.cycles.perOp - n.g.cycles.perOp).toBe(p4.pvTrapBounce);
    expect(pv.g.hypercalls.total).toBe(0); // x86-32 PV: the kernel returns with iret, no hypercall
  });

  it('mmap: one store per 16 KiB over the first tenth of the mapping', () => {
    const m = run('modern', 'native', { kind: 'mmap', maps: 5, sizeMiB: 8 });
    expect(m.per(m.g.pageFaults.guest)).toBe(Math.ceil((8 * 2 ** 20) / 10 / 16384));
  });

  it('context switch: each switch sums the next process’s sizeKiB array, one load per line', () => {
    const m = run('modern', 'native', { kind: 'context-switch', switches: 100, processes: 2, sizeKiB: 16 });
    expect(m.per(m.g.tlb.lookups)).toBe((16 * 1024) / 64);
    expect(m.per(m.c.contextSwitches!)).toBe(1);
  });

  it('null call: native is one syscall; x86-64 PV bounces it through Xen and returns with HYPERVISOR_iret; x86-32 PV does neither', () => {
    for (const cpu of ['p4-2003', 'modern'] as const) {
      const costs = CPU_PROFILE_TABLE[cpu].costs;
      const pv = run(cpu, 'pv', { kind: 'null-syscall', calls: 1000 });
      if (cpu === 'p4-2003') {
        expect(pv.g.cycles.perOp).toBe(costs.syscall);
        expect(pv.c.trapBounces).toBe(0);
      } else {
        expect(pv.g.cycles.perOp).toBe(costs.syscall + costs.pvTrapBounce + costs.hypercall);
        expect(pv.per(pv.g.hypercalls.byOp.iret ?? 0)).toBe(1);
      }
    }
  });

  it('page fault under PV: x86-32 enters Xen twice (bounce, mmu_update); x86-64 also returns through iret', () => {
    const p4 = run('p4-2003', 'pv', { kind: 'page-fault', pages: 256 });
    expect(p4.per(p4.c.trapBounces!)).toBeCloseTo(1, 1);
    expect(p4.g.hypercalls.byOp.iret).toBeUndefined();
    const modern = run('modern', 'pv', { kind: 'page-fault', pages: 256 });
    expect(modern.g.hypercalls.byOp.iret).toBe(modern.g.pageFaults.guest + modern.c.syscalls!);
  });

  it('a PV task switch tells Xen the new kernel stack (stack_switch) besides loading the new base pointer', () => {
    const pv = run('modern', 'pv', { kind: 'context-switch', switches: 300, processes: 3 });
    expect(pv.per(pv.g.hypercalls.byOp.stack_switch ?? 0)).toBe(1);
  });
});

describe('CPU features as mechanisms', () => {
  it('without VPID every VM exit flushes the TLB; with it none does', () => {
    const core2 = run('core2-2008', 'shadow', { kind: 'fork-exit', forks: 20 });
    expect(core2.g.vmexits.total).toBeGreaterThan(0);
    expect(core2.c.exitTlbFlushes).toBe(core2.g.vmexits.total);
    const nehalem = run('nehalem-2009', 'shadow', { kind: 'fork-exit', forks: 20 });
    expect(nehalem.g.vmexits.total).toBeGreaterThan(0);
    expect(nehalem.c.exitTlbFlushes).toBe(0);
  });

  it('without PCID every CR3 load flushes the TLB; with it a switch keeps the other address spaces', () => {
    const p4 = run('p4-2003', 'native', { kind: 'context-switch', switches: 200, processes: 2, sizeKiB: 4 });
    expect(p4.per(p4.c.tlbFlushes!)).toBe(1);
    expect(p4.per(p4.g.tlb.misses)).toBe(1); // the one page of the array, walked again after each switch
    const modern = run('modern', 'native', { kind: 'context-switch', switches: 200, processes: 2, sizeKiB: 4 });
    expect(modern.c.tlbFlushes).toBe(0);
    expect(modern.g.tlb.misses).toBe(0);
  });
});

describe('user-mode work', () => {
  it('gcc on Nehalem: the base CPI, ~0.015 faults and ~1.2 TLB misses per thousand instructions (Wang et al., VEE 2011)', () => {
    const m = run('nehalem-2009', 'native', { kind: 'spec', profile: 'gcc', instructionsM: 4 });
    const instr = 4e6;
    expect(m.c.userInstructions).toBe(instr);
    expect(m.c.cyclesUser).toBeCloseTo(instr * GCC.cpi * CPU_PROFILE_TABLE['nehalem-2009'].userCpiScale, 3);
    const faultsPerKi = (m.g.pageFaults.guest / instr) * 1000;
    expect(faultsPerKi).toBeGreaterThan(0.015 * 0.9);
    expect(faultsPerKi).toBeLessThan(0.015 * 1.1);
    const mpki = (m.g.tlb.misses / instr) * 1000;
    expect(mpki).toBeGreaterThan(1.2 * 0.75);
    expect(mpki).toBeLessThan(1.2 * 1.25);
  });

  it('mcf on Nehalem: ~16 TLB misses per thousand instructions and few faults', () => {
    const m = run('nehalem-2009', 'native', { kind: 'spec', profile: 'mcf', instructionsM: 2 });
    const mpki = (m.g.tlb.misses / 2e6) * 1000;
    expect(mpki).toBeGreaterThan(16 * 0.75);
    expect(mpki).toBeLessThan(16 * 1.25);
    expect(m.g.pageFaults.guest).toBeLessThanOrEqual(Math.ceil(2 * MCF.faultsPerM));
  });

  it('the same program needs userCpiScale times the cycles per instruction on another generation', () => {
    const p4 = run('p4-2003', 'native', { kind: 'spec', profile: 'gcc', instructionsM: 1 });
    expect(p4.c.cyclesUser).toBeCloseTo(1e6 * GCC.cpi * CPU_PROFILE_TABLE['p4-2003'].userCpiScale, 3);
  });

  it('a native kernel build on the P4 spends about 7% of its time in the kernel (Barham et al., SOSP 2003)', () => {
    const m = run('p4-2003', 'native', { kind: 'kernel-build', jobs: 1 });
    const kernel = 1 - (m.c.cyclesUser! + m.g.cycles.walk) / m.g.cycles.total;
    expect(kernel).toBeGreaterThan(0.05);
    expect(kernel).toBeLessThan(0.1);
  });
});

describe('a Windows guest’s demand-zero faults', () => {
  it('write a transition PTE, then the valid one: two emulated writes per fault under shadow without OOS, one under Linux', () => {
    const w = { kind: 'page-fault', pages: 300 };
    // page-fault maps a file (no demand-zero); mmap-churn's anonymous pages are demand-zero faults.
    const churn = { kind: 'mmap-churn', maps: 20, pagesPerMap: 32 };
    const linux = run('modern', 'shadow', churn, { shadowOutOfSync: false });
    const windows = run('modern', 'shadow', churn, { shadowOutOfSync: false, guestOs: 'windows' });
    expect(windows.g.pageFaults.guest).toBe(linux.g.pageFaults.guest);
    // One more emulated write per fault, except each map's first: it lands in a fresh L1 table
    // that has no shadow yet, so both its writes are plain stores.
    expect(windows.c.emulatedWrites! - linux.c.emulatedWrites!).toBe(windows.g.pageFaults.guest - churn.maps);
    // A file-backed fault maps the page-cache page: no transition PTE.
    expect(run('modern', 'shadow', w, { guestOs: 'windows' }).c.emulatedWrites).toBe(run('modern', 'shadow', w).c.emulatedWrites);
  });

  it('is refused for a PV guest, naming the field', () => {
    const v = validateScenario({ name: 't', machine: { memoryMiB: 2048, pcpus: 1 }, hypervisor: 'xen', domains: [{ name: 'g', mode: 'pv', memoryMiB: 256, vcpus: 1, guestOs: 'windows' }] });
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.problems.map((p) => p.path)).toEqual(['domains[0].guestOs']);
  });
});

describe('the boot log says what the CPU has', () => {
  it('Xen reports EPT and VPID only where the profile has them', async () => {
    const { Simulation } = await import('../../core/sim/simulation.js');
    const { xenBootMessages } = await import('../../core/toolstack/bootLog.js');
    const log = (cpu: CpuProfileId) => {
      const v = validateScenario({ name: 't', machine: { memoryMiB: 2048, pcpus: 1, cpu }, hypervisor: 'xen', domains: [{ name: 'g', mode: 'shadow', memoryMiB: 256, vcpus: 1 }] });
      if (!v.ok) throw new Error(v.problems[0]!.message);
      return xenBootMessages(new Simulation(v.scenario)).join('\n');
    };
    expect(log('core2-2008')).toContain('HAP) not detected');
    expect(log('core2-2008')).not.toContain('Supported advanced features');
    expect(log('nehalem-2009')).toContain('VMX: Supported advanced features: EPT, VPID');
    expect(log('nehalem-2009')).toContain('HAP page sizes: 4kB, 2MB\n');
    expect(log('modern')).toContain('HAP page sizes: 4kB, 2MB, 1GB');
  });
});

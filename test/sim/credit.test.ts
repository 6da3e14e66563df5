/**
 * The credit scheduler (Xen's credit1, xen/common/sched/credit.c): a contended pCPU is shared in
 * proportion to weights (CSCHED_DEFAULT_WEIGHT 256), a cap holds a domain to a percent of a pCPU
 * even when the pCPU would idle, and the accounting runs every 30 ms (3 ticks of 10 ms). Expected
 * shares are weight / total weight; the tolerance is one slice of the workload per period.
 */
import { describe, expect, it } from 'vitest';
import { validateScenario } from '../../core/api/scenario.js';
import { Simulation } from '../../core/sim/simulation.js';
import { CSCHED_ACCT_MS } from '../../core/sim/credit.js';

function sim(domains: { name: string; weight?: number; cap?: number; instructionsM: number }[]): Simulation {
  const v = validateScenario({
    name: 'credit',
    machine: { memoryMiB: 1024, pcpus: 1 },
    hypervisor: 'xen',
    domains: domains.map((d) => ({ name: d.name, mode: 'pv', memoryMiB: 128, vcpus: 1, ...(d.weight ? { weight: d.weight } : {}), ...(d.cap ? { cap: d.cap } : {}), workload: { kind: 'spec', instructionsM: d.instructionsM } })),
  });
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return new Simulation(v.scenario);
}

/** CPU time (ms) each named domain had, and the elapsed time, at each step until `untilMs` or the end. */
function trace(s: Simulation, names: string[], untilMs: number) {
  const perMs = s.xen.cpu.clockGHz * 1e6;
  const pts: { t: number; cpu: number[] }[] = [];
  while (s.step(1)) {
    const t = (s.cycles - s.origin) / perMs;
    pts.push({ t, cpu: names.map((n) => s.domains.find((d) => d.name === n)!.dom.cpuCycles / perMs) });
    if (t > untilMs) break;
  }
  return pts;
}

/** Shares of CPU between the first points at or after `from` and `to` ms. */
function sharesBetween(pts: { t: number; cpu: number[] }[], from: number, to: number): number[] {
  const a = pts.find((p) => p.t >= from)!;
  const b = pts.find((p) => p.t >= to)!;
  const used = a.cpu.map((c, i) => b.cpu[i]! - c);
  const sum = used.reduce((x, y) => x + y, 0);
  return used.map((u) => u / sum);
}

describe('credit scheduler', () => {
  it('two CPU-bound domains with weights 512 and 256 share a pCPU 2:1 once the accounting runs', () => {
    const s = sim([{ name: 'a', weight: 512, instructionsM: 700 }, { name: 'b', instructionsM: 700 }]);
    const pts = trace(s, ['a', 'b'], 9 * CSCHED_ACCT_MS);
    // The first periods carry the debt both ran up while they shared by turns; from the fourth on,
    // each period's credit (20 ms and 10 ms) is what each spends.
    const [a] = sharesBetween(pts, 4 * CSCHED_ACCT_MS, 8 * CSCHED_ACCT_MS);
    expect(a).toBeGreaterThan(2 / 3 - 0.04);
    expect(a).toBeLessThan(2 / 3 + 0.04);
  });

  it('equal weights share equally', () => {
    const s = sim([{ name: 'a', instructionsM: 400 }, { name: 'b', instructionsM: 400 }]);
    const [a] = sharesBetween(trace(s, ['a', 'b'], 200), CSCHED_ACCT_MS, 6 * CSCHED_ACCT_MS);
    expect(Math.abs(a! - 0.5)).toBeLessThan(0.04);
  });

  it('a cap of 25 holds a domain to a quarter of the pCPU even alone: the pCPU idles the rest', () => {
    const s = sim([{ name: 'c', cap: 25, instructionsM: 150 }]);
    const pts = trace(s, ['c'], 200);
    const a = pts.find((p) => p.t >= CSCHED_ACCT_MS)!;
    const b = pts.find((p) => p.t >= 5 * CSCHED_ACCT_MS)!;
    const share = (b.cpu[0]! - a.cpu[0]!) / (b.t - a.t);
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(0.3);
  });


  it('weight and cap are checked at their fields', () => {
    const bad = validateScenario({ name: 'x', machine: { memoryMiB: 1024, pcpus: 1 }, hypervisor: 'xen', domains: [{ name: 'g', mode: 'pv', memoryMiB: 128, vcpus: 1, cap: 150 }] });
    expect(bad.ok ? [] : bad.problems.map((p) => p.path)).toEqual(['domains[0].cap']);
    const kvm = validateScenario({ name: 'x', machine: { memoryMiB: 1024, pcpus: 1 }, hypervisor: 'kvm', domains: [{ name: 'g', mode: 'hap', memoryMiB: 128, vcpus: 1, weight: 512 }] });
    expect(kvm.ok ? [] : kvm.problems.map((p) => p.path)).toEqual(['domains[0].weight']);
    const w0 = validateScenario({ name: 'x', machine: { memoryMiB: 1024, pcpus: 1 }, hypervisor: 'xen', domains: [{ name: 'g', mode: 'pv', memoryMiB: 128, vcpus: 1, weight: 0 }] });
    expect(w0.ok ? [] : w0.problems.map((p) => p.path)).toEqual(['domains[0].weight']);
  });
});

describe('credit scheduler with I/O', () => {
  /** dom0 owns the NIC; a guest receives a stream; a CPU hog shares the one pCPU, capped or not. */
  function withHog(cap: number | undefined) {
    const v = validateScenario({
      name: 'cap-io',
      machine: { memoryMiB: 1024, pcpus: 1, devices: [{ id: 'nic0', kind: 'nic' }] },
      hypervisor: 'xen',
      domains: [
        { name: 'rx', mode: 'pv', memoryMiB: 128, vcpus: 1, vifs: [{ device: 'nic0' }], workload: { kind: 'net-stream', bytes: 1500 * 3000, packetBytes: 1500, direction: 'rx' } },
        { name: 'hog', mode: 'pv', memoryMiB: 128, vcpus: 1, ...(cap ? { cap } : {}), workload: { kind: 'spec', instructionsM: 400 } },
      ],
    });
    if (!v.ok) throw new Error(JSON.stringify(v.problems));
    const s = new Simulation(v.scenario);
    while (s.step(1));
    const r = s.results();
    return (r.domains.find((d) => d.name === 'rx') as unknown as { io: { throughputMBps: number; packetsDropped: number } }).io;
  }
  it('a capped hog leaves a receiving guest at least the throughput an uncapped one does', () => {
    const capped = withHog(10);
    const uncapped = withHog(undefined);
    expect(capped.throughputMBps).toBeGreaterThanOrEqual(uncapped.throughputMBps);
    expect(capped.packetsDropped).toBeLessThanOrEqual(uncapped.packetsDropped);
  });
});

/**
 * The credit scheduler's decisions (Xen's credit1, xen/common/sched/credit.c): a running vCPU keeps
 * its pCPU for a timeslice (CSCHED_DEFAULT_TSLICE_MS, 30 ms) unless it blocks or a vCPU woken with
 * a higher priority (BOOST over UNDER over OVER) takes it, and then not before it has run for the
 * rate limit (SCHED_DEFAULT_RATELIMIT_US, 1000 µs, xen/common/sched/private.h). Expected values
 * come from those constants and from the link's frame rate, never from a run's output.
 */
import { describe, expect, it } from 'vitest';
import { validateScenario } from '../../core/api/scenario.js';
import { wireBits } from '../../core/machine/devices/nic.js';
import { CSCHED_DEFAULT_TSLICE_MS, SCHED_DEFAULT_RATELIMIT_US } from '../../core/sim/credit.js';
import { Simulation, type ScheduleEvent } from '../../core/sim/simulation.js';

const FRAMES = 3000;
const FRAME_BYTES = 1500;
/** The NIC's default link (E1000Nic: 1000 Mb/s). */
const LINK_MBPS = 1000;

/** One pCPU: dom0 owns the NIC, a guest receives a stream, and (optionally) a CPU hog shares the pCPU. */
function rxWithHog(hog: { cap?: number } | null): Simulation {
  const v = validateScenario({
    name: 'sched-io',
    machine: { memoryMiB: 1024, pcpus: 1, devices: [{ id: 'nic0', kind: 'nic' }] },
    hypervisor: 'xen',
    domains: [
      { name: 'rx', mode: 'pv', memoryMiB: 128, vcpus: 1, vifs: [{ device: 'nic0' }], workload: { kind: 'net-stream', bytes: FRAME_BYTES * FRAMES, packetBytes: FRAME_BYTES, direction: 'rx' } },
      ...(hog ? [{ name: 'hog', mode: 'pv', memoryMiB: 128, vcpus: 1, ...(hog.cap ? { cap: hog.cap } : {}), workload: { kind: 'spec', instructionsM: 400 } }] : []),
    ],
  });
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return new Simulation(v.scenario);
}

function hogs(weights: number[]): Simulation {
  const v = validateScenario({
    name: 'sched-cpu',
    machine: { memoryMiB: 1024, pcpus: 1 },
    hypervisor: 'xen',
    domains: weights.map((w, i) => ({ name: `h${i}`, mode: 'pv', memoryMiB: 128, vcpus: 1, weight: w, workload: { kind: 'spec', instructionsM: 700 } })),
  });
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return new Simulation(v.scenario);
}

function rxIo(s: Simulation): { throughputMBps: number; packetsDropped: number } {
  const r = s.results();
  return (r.domains.find((d) => d.name === 'rx') as unknown as { io: { throughputMBps: number; packetsDropped: number } }).io;
}

/** Records every decision; milliseconds since the domains booted. */
function record(s: Simulation): (ScheduleEvent & { ms: number })[] {
  const out: (ScheduleEvent & { ms: number })[] = [];
  const perMs = s.xen.cpu.clockGHz * 1e6;
  s.onSchedule = (e) => out.push({ ...e, ms: (e.atCycles - s.origin) / perMs });
  return out;
}

/** The link's rate in MB/s for full frames: FRAME_BYTES every wireBits(FRAME_BYTES) / LINK_MBPS µs. */
const lineMBps = (FRAME_BYTES * LINK_MBPS) / wireBits(FRAME_BYTES);
const RATELIMIT_MS = SCHED_DEFAULT_RATELIMIT_US / 1000;
const EPS_MS = 1e-6;

describe('credit1 scheduling: timeslice, rate limit and BOOST', () => {
  it('a woken I/O guest preempts a CPU hog on its pCPU: it receives at the link rate, as alone', () => {
    const alone = rxWithHog(null);
    while (alone.step(1));
    const a = rxIo(alone);
    expect(a.packetsDropped).toBe(0);
    expect(a.throughputMBps).toBeGreaterThan(lineMBps * 0.97);

    const s = rxWithHog({});
    const ev = record(s);
    while (s.step(1));
    const w = rxIo(s);
    expect(w.packetsDropped).toBe(0);
    // With the hog: within 5 % of the link rate (each of the hog's turns holds the frames of up to
    // one rate limit in the ring; they are served at once after it).
    expect(w.throughputMBps).toBeGreaterThan(lineMBps * 0.95);
    // The guest was put on the pCPU over the hog with BOOST (woken while UNDER).
    expect(ev.some((e) => e.from === 'Domain-0' && e.to === 'rx' && e.pri === 'boost')).toBe(true);
    expect(ev.some((e) => e.from === 'hog' && e.to === 'Domain-0')).toBe(true);
    // And the hog still had the pCPU between the bursts.
    const hog = s.domains.find((d) => d.name === 'hog')!;
    expect(hog.dom.cpuCycles).toBeGreaterThan(0);
  });

  it('the rate limit holds: the hog, once on its pCPU, keeps it for 1 ms before a woken vCPU takes it, and no longer while frames wait', () => {
    const s = rxWithHog({});
    const ev = record(s);
    while (s.step(1));
    const runs: number[] = [];
    let since = -1;
    for (const e of ev) {
      if (e.to === 'hog' && e.from !== 'hog') since = e.ms;
      else if (e.from === 'hog' && e.to !== 'hog' && since >= 0) {
        runs.push(e.ms - since);
        since = -1;
      }
    }
    expect(runs.length).toBeGreaterThan(10);
    // The hog never blocks: each of its turns ends by preemption, never before the rate limit.
    for (const r of runs) expect(r).toBeGreaterThanOrEqual(RATELIMIT_MS - EPS_MS);
    // Frames arrive every wireBits / LINK_MBPS µs, so something is always waiting: the preemption
    // comes at the rate limit itself (within one frame time).
    const frameMs = wireBits(FRAME_BYTES) / LINK_MBPS / 1000;
    const sorted = [...runs].sort((x, y) => x - y);
    expect(sorted[Math.floor(sorted.length / 2)]!).toBeLessThanOrEqual(RATELIMIT_MS + frameMs);
  });

  it('a capped hog cannot exceed its cap, even beside a receiving guest', () => {
    const s = rxWithHog({ cap: 10 });
    const perMs = s.xen.cpu.clockGHz * 1e6;
    const hog = () => s.domains.find((d) => d.name === 'hog')!.dom.cpuCycles / perMs;
    // Accounting periods start at the domains' boot: CPU time per whole period.
    const at: number[] = [];
    let next = 0;
    while (s.step(1) && next <= 8) {
      const t = (s.cycles - s.origin) / perMs;
      while (next <= 8 && t >= next * CSCHED_DEFAULT_TSLICE_MS) {
        at[next] = hog();
        next++;
      }
    }
    // From the second period on (the first holds the hog's boot), no period gives it more than
    // 10 % of 30 ms, however its slices fall.
    for (let p = 1; p < at.length - 1; p++) expect(at[p + 1]! - at[p]!).toBeLessThanOrEqual(0.1 * CSCHED_DEFAULT_TSLICE_MS + EPS_MS);
    // And the guest still receives at the link rate.
    while (s.step(1) && s.jobs.some((j) => j.d.name === 'rx' && !j.done));
    expect(rxIo(s).throughputMBps).toBeGreaterThan(lineMBps * 0.95);
  });

  it('no vCPU holds a contended pCPU for more than a timeslice without a decision; equal hogs take whole timeslices in turn', () => {
    const s = hogs([256, 256]);
    const ev = record(s);
    const perMs = s.xen.cpu.clockGHz * 1e6;
    while (s.step(1) && (s.cycles - s.origin) / perMs < 8 * CSCHED_DEFAULT_TSLICE_MS);
    const d = ev.filter((e) => e.to === 'h0' || e.to === 'h1');
    expect(d.length).toBeGreaterThan(5);
    for (let i = 1; i < d.length; i++) {
      const gap = d[i]!.ms - d[i - 1]!.ms;
      // A decision at least every timeslice (its end, at the latest, while the other waits) ...
      expect(gap).toBeLessThanOrEqual(CSCHED_DEFAULT_TSLICE_MS + EPS_MS);
      // ... and, as neither blocks nor is woken, none before it.
      if (i > 1) expect(gap).toBeGreaterThanOrEqual(CSCHED_DEFAULT_TSLICE_MS - EPS_MS);
    }
    // Both ran.
    expect(d.some((e) => e.to === 'h0') && d.some((e) => e.to === 'h1')).toBe(true);
  });
});

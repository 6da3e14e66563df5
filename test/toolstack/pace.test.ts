/**
 * A live run's pace (simulated time per real second), on a fake clock: the session runs no faster
 * than the pace, sleeps between turns, excludes paused time, changes pace while running, samples
 * by simulated interval, and a run that repeats until stopped repeats until stopped.
 */
import { describe, expect, it } from 'vitest';
import { CLOCK_HZ, CPU_PROFILE_TABLE, validateScenario, type Scenario, type WorkerEvent } from '../../core/api/index.js';
import { runScenario } from '../../core/sim/run.js';
import { LabSession, SNAPSHOTS_PER_SECOND } from '../../core/toolstack/session.js';
import { parseRequest } from '../../core/worker/request.js';
import { det, randomAccess, type Ev } from './sessionHarness.js';

/** A session on a fake clock: each read advances it `tick` ms; sleeps are timers that move the clock to when they are due. */
function pacedHarness(tick = 0.05) {
  let clock = 0;
  const events: WorkerEvent[] = [];
  const queue: (() => void)[] = [];
  const timers: { due: number; fn: () => void }[] = [];
  let sleeps = 0;
  const session = new LabSession({
    post: (e) => events.push(structuredClone(e)),
    now: () => (clock += tick),
    schedule: (fn) => queue.push(fn),
    scheduleAfter: (fn, ms) => {
      sleeps++;
      timers.push({ due: clock + ms, fn });
    },
    sliceMs: 12,
  });
  /** Runs until the clock reaches `until` (ms) or nothing is left to do. */
  const runUntil = (until: number) => {
    for (let i = 0; clock < until; i++) {
      if (i > 2_000_000) throw new Error('runaway');
      const fn = queue.shift();
      if (fn) {
        fn();
        continue;
      }
      if (timers.length === 0) return;
      timers.sort((a, b) => a.due - b.due);
      const t = timers.shift()!;
      if (t.due > until) {
        timers.unshift(t);
        clock = until;
        return;
      }
      clock = Math.max(clock, t.due);
      t.fn();
    }
  };
  const of = <T extends WorkerEvent['type']>(type: T) => events.filter((e) => e.type === type) as Ev<T>[];
  return { session, events, of, runUntil, clock: () => clock, advance: (ms: number) => (clock += ms), sleeps: () => sleeps };
}

const cyclesPerMs = (pace: number) => (pace * CLOCK_HZ) / 1000;

describe('LabSession: pace', () => {
  it('runs no faster than the pace: simulated time follows wall time, sleeping between turns', () => {
    const pace = 1e-3; // 1 ms of simulated time per real second
    const h = pacedHarness();
    h.session.handle({ type: 'start', scenario: randomAccess(2_000_000), pace });
    const sim = h.session.simulation!;
    const c0 = sim.cycles;
    const t0 = h.clock();
    h.runUntil(t0 + 3000);
    const ran = sim.cycles - c0;
    const allowed = cyclesPerMs(pace) * (h.clock() - t0);
    // Never ahead of the budget by more than one step (a few operations at this pace), never far behind.
    expect(ran).toBeLessThanOrEqual(allowed + 100_000);
    expect(ran).toBeGreaterThanOrEqual(allowed * 0.9);
    expect(h.sleeps()).toBeGreaterThan(10);
    expect(h.of('finished')).toHaveLength(0);
  });

  it('a pace change applies from then on, and paused time gives no budget', () => {
    const h = pacedHarness();
    h.session.handle({ type: 'start', scenario: randomAccess(2_000_000), pace: 100e-6 });
    const sim = h.session.simulation!;
    h.runUntil(1000);
    const c1 = sim.cycles;
    h.session.handle({ type: 'pace', pace: 10e-3 });
    const t1 = h.clock();
    h.runUntil(t1 + 1000);
    const fast = sim.cycles - c1;
    expect(fast).toBeGreaterThan(cyclesPerMs(10e-3) * 1000 * 0.9);
    expect(fast).toBeLessThan(cyclesPerMs(10e-3) * 1000 * 1.1);
    // Paused for 5 s: no simulated time passes, and none is owed on resume.
    h.session.handle({ type: 'pause' });
    const c2 = sim.cycles;
    h.advance(5000);
    h.runUntil(h.clock() + 100);
    expect(sim.cycles).toBe(c2);
    h.session.handle({ type: 'resume' });
    const t3 = h.clock();
    h.runUntil(t3 + 500);
    expect(sim.cycles - c2).toBeLessThan(cyclesPerMs(10e-3) * 600);
    const progress = h.of('progress').at(-1)!;
    expect(progress.pace).toBe(10e-3);
    // The host clock since the run began, as the progress says it.
    expect(progress.clockCycles).toBeGreaterThan(0);
  });

  it('changes no result: a paced run ends with the results runScenario gives', () => {
    const s = randomAccess(40_000, 'shadow');
    const h = pacedHarness(0.5);
    h.session.handle({ type: 'start', scenario: s, pace: 10e-3 });
    h.runUntil(10_000_000);
    expect(h.of('finished')).toHaveLength(1);
    expect(det(h.of('finished')[0]!.results)).toEqual(det(runScenario(s)));
  });

  it('takes snapshots every pace × CLOCK_HZ / SNAPSHOTS_PER_SECOND simulated cycles', () => {
    const pace = 1e-3;
    const h = pacedHarness();
    h.session.handle({ type: 'start', scenario: randomAccess(2_000_000), pace });
    h.runUntil(4000);
    const ts = h.of('snapshots').flatMap((e) => e.snapshots.map((x) => x.t));
    // 4 s at SNAPSHOTS_PER_SECOND a second.
    expect(ts.length).toBeGreaterThanOrEqual(4 * SNAPSHOTS_PER_SECOND * 0.85);
    expect(ts.length).toBeLessThanOrEqual(4 * SNAPSHOTS_PER_SECOND * 1.1);
    const every = (pace * CLOCK_HZ) / SNAPSHOTS_PER_SECOND;
    for (let i = 1; i < ts.length; i++) {
      expect(ts[i]! - ts[i - 1]!).toBeGreaterThanOrEqual(every * 0.5);
      expect(ts[i]! - ts[i - 1]!).toBeLessThan(every * 2);
    }
    // Messages: at most one per snapshotMs (250 ms by default) of the 4 s, plus the first.
    expect(h.of('snapshots').length).toBeLessThanOrEqual(4000 / 250 + 1);
  });

  it('a run that repeats until stopped starts fresh runs, and Stop reports the whole run', () => {
    const planned = 20_000;
    const h = pacedHarness(0.5);
    h.session.handle({ type: 'start', scenario: randomAccess(planned, 'pv'), pace: 'max', repeat: true });
    for (let t = 1000; t <= 60_000 && (h.of('progress').at(-1)?.runs ?? 0) < 3; t += 1000) h.runUntil(t);
    expect(h.of('finished')).toHaveLength(0);
    const p = h.of('progress').at(-1)!;
    expect(p.repeat).toBe(true);
    expect(p.runs).toBeGreaterThanOrEqual(3);
    expect(p.etaMs).toBeNull();
    h.session.handle({ type: 'stop' });
    const fin = h.of('finished');
    expect(fin).toHaveLength(1);
    expect(fin[0]).toMatchObject({ status: 'stopped', repeat: true, runs: h.of('progress').at(-1)!.runs });
    expect(fin[0]!.runs).toBeGreaterThanOrEqual(p.runs);
    const g = fin[0]!.results.domains.find((d) => d.name === 'g1')!;
    // Every run's operations are counted: more than the runs completed times the planned ops.
    expect(g.ops).toBeGreaterThanOrEqual((fin[0]!.runs - 1) * planned);
    expect(g.cycles.perOp).toBeCloseTo(g.cycles.total / g.ops, 9);
    // Each repeat's setup is left out, as the first run's is: cycles per op stay those of one run.
    const one = runScenario(randomAccess(planned, 'pv')).domains.find((d) => d.name === 'g1')!;
    expect(g.cycles.perOp).toBeLessThan(one.cycles.perOp * 1.5);
    expect(fin[0]!.results.audit.ok).toBe(true);
  });
});

/** `s` on another CPU profile (a PV guest: every profile runs PV). */
function onCpu(s: Scenario, cpu: keyof typeof CPU_PROFILE_TABLE): Scenario {
  const v = validateScenario({ ...s, machine: { ...s.machine, cpu } });
  if (!v.ok) throw new Error(v.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return v.scenario;
}

describe('LabSession: pace on the scenario’s CPU clock', () => {
  const P4 = CPU_PROFILE_TABLE['p4-2003'];
  const p4Hz = P4.clockGHz * 1e9;

  it('runs pace × the profile’s clock cycles a real second: 1 ms/s on the 2.4 GHz P4 is 2.4 M cycles, not the modern 3 M', () => {
    const pace = 1e-3;
    const h = pacedHarness();
    h.session.handle({ type: 'start', scenario: onCpu(randomAccess(2_000_000, 'pv'), 'p4-2003'), pace });
    const booted = h.of('booted')[0]!;
    expect(booted.cpu).toEqual({ profile: 'p4-2003', label: P4.label, clockGHz: P4.clockGHz });
    const sim = h.session.simulation!;
    const c0 = sim.cycles;
    const t0 = h.clock();
    h.runUntil(t0 + 3000);
    const ran = sim.cycles - c0;
    const wall = h.clock() - t0;
    const allowed = ((pace * p4Hz) / 1000) * wall;
    expect(ran).toBeLessThanOrEqual(allowed + 100_000);
    expect(ran).toBeGreaterThanOrEqual(allowed * 0.9);
    // Well short of what the same pace allows a 3 GHz core (2.4 / 3 = 0.8 of it).
    expect(ran).toBeLessThan(((pace * CLOCK_HZ) / 1000) * wall * 0.9);
    // The hypervisor's log, stamped on the same clock, says which one it found.
    const xen = h.of('console').filter((e) => e.console === 'xen').map((e) => e.data).join('');
    expect(xen).toContain(`Detected ${(P4.clockGHz * 1000).toFixed(3)} MHz processor.`);
  });

  it('takes snapshots every pace × the profile’s clock / SNAPSHOTS_PER_SECOND cycles', () => {
    const pace = 1e-3;
    const h = pacedHarness();
    h.session.handle({ type: 'start', scenario: onCpu(randomAccess(2_000_000, 'pv'), 'p4-2003'), pace });
    h.runUntil(2000);
    const ts = h.of('snapshots').flatMap((e) => e.snapshots.map((x) => x.t));
    expect(ts.length).toBeGreaterThanOrEqual(2 * SNAPSHOTS_PER_SECOND * 0.85);
    const every = (pace * p4Hz) / SNAPSHOTS_PER_SECOND;
    for (let i = 1; i < ts.length; i++) {
      expect(ts[i]! - ts[i - 1]!).toBeGreaterThanOrEqual(every * 0.5);
      expect(ts[i]! - ts[i - 1]!).toBeLessThan(every * 2);
    }
  });

  it('names the CPU in booted on the default profile too, and its results carry the same clock', () => {
    const h = pacedHarness(0.5);
    const s = randomAccess(20_000, 'pv');
    h.session.handle({ type: 'start', scenario: s, pace: 'max' });
    h.runUntil(10_000_000);
    expect(h.of('booted')[0]!.cpu.clockGHz * 1e9).toBe(CLOCK_HZ);
    const r = h.of('finished')[0]!.results;
    expect(r.cpu.clockGHz).toBe(h.of('booted')[0]!.cpu.clockGHz);
  });
});

describe('worker requests: pace', () => {
  it('accepts "max" and a positive pace, refuses anything else naming the field', () => {
    expect(parseRequest({ type: 'pace', pace: 'max' }).ok).toBe(true);
    expect(parseRequest({ type: 'pace', pace: 1e-6 }).ok).toBe(true);
    expect(parseRequest({ type: 'start', scenario: {}, pace: 10e-3, repeat: true }).ok).toBe(true);
    for (const bad of [0, -1, 'fast', null, Infinity, 2]) {
      const r = parseRequest({ type: 'pace', pace: bad });
      expect(r.ok).toBe(false);
      expect(!r.ok && r.message).toMatch(/^pace\.pace: "max" or simulated seconds per real second/);
    }
    const s = parseRequest({ type: 'start', scenario: {}, pace: 'slow' });
    expect(!s.ok && s.message).toMatch(/^start\.pace: /);
    const rep = parseRequest({ type: 'start', scenario: {}, repeat: 'yes' });
    expect(!rep.ok && rep.message).toMatch(/^start\.repeat: true/);
  });
});

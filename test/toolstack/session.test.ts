import { describe, expect, it } from 'vitest';
import { CLOCK_HZ, validateScenario, type MetricSnapshot, type Scenario } from '../../core/api/index.js';
import { runScenario } from '../../core/sim/run.js';
import { compareModes, modeVariant } from '../../core/sim/compare.js';
import { C } from '../../core/machine/counters.js';
import { LabSession, type ConsoleHooks, type MakeHub } from '../../core/toolstack/session.js';
import { oneGuest } from '../sim/helpers.js';
import { det, harness, randomAccess, updateVsAccess } from './sessionHarness.js';

describe('LabSession: a live run in time slices', () => {
  it('boots, runs, reports and finishes with the results runScenario gives', () => {
    const s = randomAccess();
    const h = harness();
    h.session.handle({ type: 'start', scenario: s, snapshotMs: 30 });
    expect(h.states().slice(0, 2)).toEqual(['booting', 'running']);
    const booted = h.of('booted');
    expect(booted).toHaveLength(1);
    expect(booted[0]!.domains.map((d) => [d.name, d.role, d.mode, d.workload])).toEqual([
      ['Domain-0', 'dom0', 'pv', 'idle'],
      ['g1', 'guest', 'hap', 'random-access'],
    ]);
    h.drain();
    const fin = h.of('finished');
    expect(fin).toHaveLength(1);
    expect(fin[0]!.status).toBe('finished');
    expect(det(fin[0]!.results)).toEqual(det(runScenario(s)));
    expect(h.states()).toEqual(['booting', 'running', 'finished']);
    const progress = h.of('progress');
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)!.fraction).toBe(1);
    expect(progress.at(-1)!.etaMs).toBe(0);
    const fractions = progress.map((p) => p.fraction);
    expect([...fractions].sort((a, b) => a - b)).toEqual(fractions);
  });

  // Changed on purpose (issue 10): dom0 shows its real state, blocked, and that it runs the toolstack.
  it('shows a guest whose workload ended as blocked in its idle loop, and dom0 blocked with the toolstack idle', () => {
    const h = harness();
    h.session.handle({ type: 'start', scenario: randomAccess(5_000, 'pv') });
    h.turns(3);
    const booted = h.of('booted')[0]!.domains;
    expect(booted.find((d) => d.role === 'guest')!.state).toBe('running');
    h.drain();
    const last = h.of('domains').at(-1)!.domains;
    expect(last.find((d) => d.role === 'dom0')).toMatchObject({ state: 'blocked', activity: 'toolstack idle' });
    expect(last.find((d) => d.role === 'guest')).toMatchObject({ state: 'blocked', activity: 'idle loop' });
  });

  // Changed on purpose (issue 10): snapshots are taken by simulated interval and sent in batches.
  it('rate-limits progress and snapshot messages to one per snapshotMs of wall time', () => {
    const h = harness({ tick: 2 });
    h.session.handle({ type: 'start', scenario: randomAccess(200_000), snapshotMs: 40, pace: 'max' });
    const t0 = h.clock();
    h.drain();
    const at = h.events.filter((x) => x.e.type === 'snapshots').map((x) => x.at);
    const total = h.clock() - t0;
    expect(at.length).toBeGreaterThan(3);
    // Every message but the last (the final interval, at the end of the run) is snapshotMs apart.
    for (let i = 1; i < at.length - 1; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(40);
    expect(at.length).toBeLessThanOrEqual(Math.floor(total / 40) + 1);
    // Progress goes with each (the last one may have no new snapshot to carry).
    expect(h.of('progress').length).toBeGreaterThanOrEqual(at.length);
    expect(h.of('progress').length).toBeLessThanOrEqual(at.length + 1);
    expect(h.of('snapshot')).toHaveLength(0);
  });

  it('at max pace a finished run has a snapshot about every 1% of its planned work, at increasing simulated times', () => {
    const h = harness({ tick: 2 });
    h.session.handle({ type: 'start', scenario: randomAccess(200_000), snapshotMs: 40, pace: 'max' });
    h.drain();
    const snaps = h.of('snapshots').flatMap((e) => e.snapshots);
    expect(snaps.length).toBeGreaterThanOrEqual(50);
    const ts = snaps.map((x) => x.t);
    for (let i = 1; i < ts.length; i++) expect(ts[i]!).toBeGreaterThan(ts[i - 1]!);
    // The points spread over the run: ops of g1 grow by about 1/100 of the planned work each.
    const ops = snaps.map((x) => x.domains.find((d) => d.name === 'g1')!.ops);
    expect(ops.at(-1)).toBe(200_000);
    for (let i = 1; i < ops.length; i++) expect(ops[i]! - ops[i - 1]!).toBeLessThanOrEqual(200_000 / 100 + 4096);
  });

  it('pause stops progress until resume, and the run still ends with the same results', () => {
    const s = randomAccess();
    const h = harness();
    h.session.handle({ type: 'start', scenario: s, snapshotMs: 10 });
    h.turns(2);
    h.session.handle({ type: 'pause' });
    expect(h.states().at(-1)).toBe('paused');
    const sim = h.session.simulation!;
    const ops = sim.progress().ops;
    const posted = h.events.length;
    h.drain();
    expect(sim.progress().ops).toBe(ops);
    expect(h.events.length).toBe(posted);
    h.session.handle({ type: 'resume' });
    expect(h.states().at(-1)).toBe('running');
    h.drain();
    expect(det(h.of('finished')[0]!.results)).toEqual(det(runScenario(s)));
  });

  it('stop ends the workloads at once with status stopped and fewer ops than planned', () => {
    const h = harness();
    h.session.handle({ type: 'start', scenario: randomAccess(400_000), snapshotMs: 10, pace: 'max' });
    h.turns(8);
    h.session.handle({ type: 'stop' });
    const fin = h.of('finished');
    expect(fin).toHaveLength(1);
    expect(fin[0]!.status).toBe('stopped');
    const g = fin[0]!.results.domains.find((d) => d.name === 'g1')!;
    expect(g.ops).toBeGreaterThan(0);
    expect(g.ops).toBeLessThan(400_000);
    // The progress bar stays where the run got to: ops done over ops planned.
    expect(h.of('progress').at(-1)!.fraction).toBeCloseTo(g.ops / 400_000, 9);
    expect(h.states().at(-1)).toBe('stopped');
    const n = h.events.length;
    h.drain();
    expect(h.events.length).toBe(n);
  });

  it('refuses an invalid scenario with the field path of each problem', () => {
    const h = harness();
    h.session.handle({
      type: 'start',
      scenario: { name: 'bad', machine: { memoryMiB: 2048, pcpus: 1 }, hypervisor: 'xen', domains: [{ name: 'g1', mode: 'warp', memoryMiB: 256, vcpus: 1, colour: 'red' }] },
    });
    const err = h.of('error');
    expect(err).toHaveLength(1);
    expect(err[0]!.where).toBe('start');
    expect(err[0]!.message).not.toContain('\n');
    const paths = err[0]!.problems!.map((p) => p.path);
    expect(paths).toContain('domains[0].mode');
    expect(paths.some((p) => p.startsWith('domains[0]') && p !== 'domains[0].mode')).toBe(true);
    expect(h.of('booted')).toHaveLength(0);
    expect(h.session.state).toBe('idle');
  });

  it('computes snapshot rates from counter deltas, starting a new baseline when counters reset', () => {
    let hooks: ConsoleHooks | null = null;
    const makeHub: MakeHub = (_sim, k) => {
      hooks = k;
      return { consoles: () => [], boot() {}, input() {}, tick() {}, log() {} };
    };
    const uva = (accesses: number) => ({ kind: 'update-vs-access' as const, workingSetMiB: 4, accesses, updatesPerKiloAccess: 10, updateKind: 'mix' as const });
    const s = oneGuest('shadow', uva(30_000));
    const queue: (() => void)[] = [];
    const drain = () => {
      while (queue.length > 0) queue.shift()!();
    };
    // Counters as the test reads them when each snapshot is posted, computed independently.
    const seen: { snap: MetricSnapshot; counters: Float64Array }[] = [];
    const session = new LabSession({
      post: (e) => {
        if (e.type === 'snapshots') {
          // One step per turn and a message after each: a batch holds the snapshot of the step.
          expect(e.snapshots).toHaveLength(1);
          const g = session.simulation!.domains.find((d) => d.name === 'g1')!;
          seen.push({ snap: e.snapshots[0]!, counters: Float64Array.from(g.counters.c) });
        }
      },
      now: (() => {
        let t = 0;
        return () => (t += 1);
      })(),
      schedule: (fn) => queue.push(fn),
      makeHub,
      // One round per turn and a snapshot after each: every interval is checked.
      sliceMs: 1,
    });
    session.handle({ type: 'start', scenario: s, snapshotMs: 1, pace: 'max' });
    drain();
    const firstRun = seen.length;
    // A second, shorter job in g1: its setup resets g1's counters below the last snapshot's.
    const sim = session.simulation!;
    sim.startJob(sim.domains.find((d) => d.name === 'g1')!, uva(12_000));
    hooks!.kick();
    drain();
    expect(seen.length).toBeGreaterThan(firstRun + 1);

    let prev: Float64Array = new Float64Array(C.Count);
    let resets = 0;
    for (const { snap, counters: cur } of seen) {
      const backwards = cur[C.Ops]! < prev[C.Ops]! || cur[C.TlbLookups]! < prev[C.TlbLookups]!;
      if (backwards) resets++;
      const base = backwards ? new Float64Array(C.Count) : prev;
      const d = (i: number) => cur[i]! - base[i]!;
      const cyc = d(C.CycGuest) + d(C.CycHv) + d(C.CycWalk);
      const g = snap.domains.find((x) => x.name === 'g1')!;
      const r = (a: number, b: number) => (b > 0 ? a / b : 0);
      expect(g.tlbMissRate).toBeCloseTo(r(d(C.TlbMisses), d(C.TlbLookups)), 12);
      expect(g.refsPerWalk).toBeCloseTo(r(d(C.WalkRefs), d(C.Walks)), 12);
      expect(g.exitsPerSec).toBeCloseTo(r(d(C.VmExits), cyc / CLOCK_HZ), 6);
      expect(g.hypercallsPerSec).toBeCloseTo(r(d(C.Hypercalls), cyc / CLOCK_HZ), 6);
      expect(g.cyclesPerOp).toBeCloseTo(r(cyc, d(C.Ops)), 9);
      expect(g.ops).toBe(cur[C.Ops]);
      for (const v of [g.tlbMissRate, g.refsPerWalk, g.exitsPerSec, g.cyclesPerOp]) expect(v).toBeGreaterThanOrEqual(0);
      prev = cur;
    }
    expect(resets).toBe(1);
    // Shadow paging exits on page-table updates: the rates are not trivially zero.
    expect(seen.some((x) => x.snap.domains.find((g) => g.name === 'g1')!.exitsPerSec > 0)).toBe(true);
    // Simulated time never goes backwards, across the reset too.
    const ts = seen.map((x) => x.snap.t);
    expect([...ts].sort((a, b) => a - b)).toEqual(ts);
  });
});

describe('LabSession: comparisons', () => {
  const modes = ['native', 'pv', 'shadow', 'hap'] as const;

  it('compares four modes with the results compareModes gives, posting progress after each', () => {
    const s = updateVsAccess();
    const h = harness();
    h.session.handle({ type: 'compare', id: 1, scenario: s, modes: [...modes] });
    h.drain();
    const progress = h.of('compare-progress');
    expect(progress.map((p) => [p.done, p.total, p.label])).toEqual(modes.map((m, i) => [i + 1, 4, m]));
    const res = h.of('compare-result');
    expect(res).toHaveLength(1);
    expect(res[0]!.sweep).toBeNull();
    const want = compareModes(s, { modes: [...modes] });
    const got = res[0]!.result;
    expect(got.modes).toEqual(want.modes);
    expect(got.skipped).toEqual(want.skipped);
    expect(got.runs.map((r) => ({ mode: r.mode, results: det(r.results) }))).toEqual(want.runs.map((r) => ({ mode: r.mode, results: det(r.results) })));
  });

  it('a sweep returns one point per value and mode', () => {
    const s = updateVsAccess();
    const h = harness();
    h.session.handle({ type: 'compare', id: 2, scenario: s, modes: ['pv', 'hap'], sweep: { param: 'updatesPerKiloAccess', values: [0, 40] } });
    h.drain();
    const res = h.of('compare-result')[0]!;
    const points = res.sweep!.points;
    expect(res.sweep!.param).toBe('updatesPerKiloAccess');
    expect(points.map((p) => [p.value, p.mode])).toEqual([
      [0, 'pv'],
      [0, 'hap'],
      [40, 'pv'],
      [40, 'hap'],
    ]);
    for (const p of points) {
      const g = p.results.domains.find((d) => d.name === 'g1')!;
      expect(p.cyclesPerOp).toBe(g.cycles.perOp);
      const input = { ...s, domains: s.domains.map((d) => ({ ...d, workload: { ...d.workload, updatesPerKiloAccess: p.value } })) };
      const v = modeVariant((validateScenario(input) as { scenario: Scenario }).scenario, p.mode);
      expect(v.ok && det(runScenario(v.scenario))).toEqual(det(p.results));
    }
    expect(points[0]!.results.domains.find((d) => d.name === 'g1')!.ptUpdates).toBeLessThan(points[2]!.results.domains.find((d) => d.name === 'g1')!.ptUpdates);
    expect(res.result.runs.map((r) => r.mode)).toEqual(['pv', 'hap']);
    expect(h.of('compare-progress').at(-1)).toMatchObject({ done: 4, total: 4 });
  });

  it('refuses a sweep of a parameter the workload does not have', () => {
    const h = harness();
    h.session.handle({ type: 'compare', id: 3, scenario: updateVsAccess(), modes: ['pv'], sweep: { param: 'warp', values: [1] } });
    const err = h.of('error');
    expect(err).toHaveLength(1);
    expect(err[0]!.where).toBe('compare');
    expect(err[0]!.message).toContain('updatesPerKiloAccess');
  });

  it('cancel-compare ends it between turns', () => {
    const h = harness();
    h.session.handle({ type: 'compare', id: 4, scenario: updateVsAccess(), modes: [...modes] });
    h.turns(1);
    h.session.handle({ type: 'cancel-compare', id: 4 });
    h.drain();
    expect(h.of('compare-result')).toHaveLength(0);
    expect(h.of('compare-progress').length).toBeLessThan(4);
    expect(h.of('error').at(-1)).toEqual({ type: 'error', id: 4, where: 'compare', message: 'compare cancelled' });
  });

  it('answers with the id of the compare request: progress, result and errors', () => {
    const h = harness();
    h.session.handle({ type: 'compare', id: 41, scenario: updateVsAccess(), modes: ['pv', 'hap'] });
    h.session.handle({ type: 'compare', id: 42, scenario: updateVsAccess(), modes: ['pv'], sweep: { param: 'warp', values: [1] } });
    h.drain();
    // The second request replaced the first (its error answers 42); nothing more answers 41.
    expect(h.of('error').map((e) => [e.id, e.where])).toEqual([[42, 'compare']]);
    h.session.handle({ type: 'compare', id: 43, scenario: updateVsAccess(), modes: ['pv', 'hap'] });
    h.drain();
    expect(h.of('compare-progress').map((p) => p.id)).toEqual([43, 43]);
    expect(h.of('compare-result').map((r) => r.id)).toEqual([43]);
  });

  it('a cancel names its compare: a late cancel of a replaced compare leaves the new one running', () => {
    const h = harness();
    h.session.handle({ type: 'compare', id: 1, scenario: updateVsAccess(), modes: ['pv', 'hap'] });
    h.session.handle({ type: 'compare', id: 2, scenario: updateVsAccess(), modes: ['pv', 'hap'] });
    h.session.handle({ type: 'cancel-compare', id: 1 });
    h.drain();
    expect(h.of('error')).toEqual([]);
    expect(h.of('compare-result').map((r) => r.id)).toEqual([2]);
    // And once it has ended, cancelling it is a no-op too.
    h.session.handle({ type: 'cancel-compare', id: 2 });
    expect(h.of('error')).toEqual([]);
  });

  it('runs beside a live session without disturbing it', () => {
    const live = randomAccess(60_000, 'pv');
    const cmp = updateVsAccess();
    const h = harness();
    h.session.handle({ type: 'start', scenario: live, snapshotMs: 10 });
    h.session.handle({ type: 'compare', id: 5, scenario: cmp, modes: ['shadow', 'hap'] });
    h.drain();
    expect(det(h.of('finished')[0]!.results)).toEqual(det(runScenario(live)));
    const want = compareModes(cmp, { modes: ['shadow', 'hap'] });
    expect(h.of('compare-result')[0]!.result.runs.map((r) => det(r.results))).toEqual(want.runs.map((r) => det(r.results)));
  });
});

describe('LabSession: walks and errors', () => {
  it('answers a walk request from a fresh boot, leaving the live session alone', () => {
    const h = harness();
    const s = oneGuest('hap', { kind: 'cold-walk', pages: 16 });
    h.session.handle({ type: 'start', scenario: randomAccess(20_000) });
    const sim = h.session.simulation;
    h.session.handle({ type: 'walk', id: 6, scenario: s, domain: 'g1' });
    const w = h.of('walk-result');
    expect(w).toHaveLength(1);
    expect(w[0]!.id).toBe(6);
    expect(w[0]!.trace.refs).toHaveLength(24);
    expect(w[0]!.candidates.length).toBeGreaterThan(0);
    expect(h.session.simulation).toBe(sim);
    h.session.handle({ type: 'walk', id: 7, scenario: s, domain: 'nope' });
    expect(h.of('error').at(-1)).toMatchObject({ id: 7, where: 'walk' });
    expect(h.of('error').at(-1)!.message).toContain('no domain named "nope"');
    h.drain();
    expect(h.of('finished')).toHaveLength(1);
  });

  it('a console message with no session is an error, and the session keeps working', () => {
    const h = harness();
    h.session.handle({ type: 'console-input', console: 'xen', data: 'x' });
    expect(h.of('error')[0]!.where).toBe('console');
    h.session.handle({ type: 'start', scenario: randomAccess(10_000) });
    h.drain();
    expect(h.of('finished')).toHaveLength(1);
  });
});

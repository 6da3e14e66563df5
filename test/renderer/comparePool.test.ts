// The app's compare on several workers (issue 15): the pool cuts a compare or a sweep into runs of
// one (mode) or (value, mode), gives each worker one at a time, and puts the answers back together
// in run order: the same outcome one worker gives, whatever order the runs finish in. Progress moves
// as runs complete; a cancel stops every worker's run. The fake workers run the real simulator
// (planCompare + CompareRun, as the worker's session does), with the clock at 0 so wallMs is 0.
import { describe, expect, it } from 'vitest';
import type { CompareRunEvent, PagingMode, SweepSpec, WorkerEvent, WorkerRequest } from '../../core/api/index.js';
import { CompareRun, planCompare } from '../../core/sim/compareRun.js';
import { comparePoolSize, compareUnits, MAX_COMPARE_WORKERS } from '../../renderer/src/lib/comparePool.js';
import { SimWorker, type CompareOutcome } from '../../renderer/src/lib/simWorker.svelte.js';
import { FakeWorker } from './labFixture.js';

const scenario = {
  name: 'pool',
  machine: { memoryMiB: 2048, pcpus: 1 },
  hypervisor: 'xen',
  domains: [{ name: 'g1', mode: 'hap', memoryMiB: 256, vcpus: 1, guestPageSize: '4k', hostPageSize: '4k', workload: { kind: 'cold-walk', pages: 32 } }],
};

/** What one worker answers for a compare request: a whole CompareRun, clock at 0. */
function oneWorker(input: unknown, modes: PagingMode[], sweep?: SweepSpec): CompareRunEvent | Extract<WorkerEvent, { type: 'error' }> {
  const p = planCompare(input, modes, sweep);
  if (!p.ok) return { type: 'error', where: 'compare', message: p.message };
  let out: CompareRunEvent | null = null;
  const run = new CompareRun(p.plan, () => 0, (e) => {
    if (e.type === 'compare-result') out = e;
  });
  while (run.turn(Infinity));
  return out!;
}

/** A worker that answers when the test says, in the order the test picks. */
class SimulatingWorker extends FakeWorker {
  /** Answers the latest compare request not yet answered or cancelled. */
  answer(): void {
    const cancelled = new Set(this.sent.filter((m) => m.type === 'cancel-compare').map((m) => (m as { id: number }).id));
    const req = this.sent.filter((m): m is Extract<WorkerRequest, { type: 'compare' }> => m.type === 'compare').at(-1);
    if (!req || cancelled.has(req.id) || this.answered.has(req.id)) return;
    this.answered.add(req.id);
    const e = oneWorker(req.scenario, req.modes, req.sweep);
    this.emit({ ...e, id: req.id } as WorkerEvent);
  }
  private readonly answered = new Set<number>();
}

function make(size: number) {
  const workers: SimulatingWorker[] = [];
  const sim = new SimWorker(
    () => {
      const w = new SimulatingWorker();
      workers.push(w);
      return w as unknown as Worker;
    },
    { compareWorkers: size },
  );
  // workers[0] is the session's; the pool's come after.
  return { sim, workers, pool: () => workers.slice(1) };
}

/** Answers the pool's runs, last worker first, until the compare settles. */
async function drive(pool: () => SimulatingWorker[], p: Promise<CompareOutcome>): Promise<CompareOutcome> {
  let settled = false;
  void p.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 100 && !settled; i++) {
    for (const w of [...pool()].reverse()) w.answer();
    await Promise.resolve();
  }
  return p;
}

describe('ComparePool', () => {
  it('sizes the pool by the cores, from 1 to MAX_COMPARE_WORKERS', () => {
    expect(comparePoolSize(undefined)).toBe(1);
    expect(comparePoolSize(2)).toBe(2);
    expect(comparePoolSize(64)).toBe(MAX_COMPARE_WORKERS);
    expect(comparePoolSize(0)).toBe(1);
  });

  it('cuts a sweep into (value, mode) runs value by value, as one worker orders them', () => {
    expect(compareUnits(['pv', 'hap'], { param: 'pages', values: [8, 16] }).map((u) => u.label)).toEqual(['pages=8 pv', 'pages=8 hap', 'pages=16 pv', 'pages=16 hap']);
    expect(compareUnits(['native', 'shadow']).map((u) => u.label)).toEqual(['native', 'shadow']);
  });

  it('a four-mode compare on two workers gives what one worker gives, runs finishing out of order', async () => {
    const modes: PagingMode[] = ['native', 'pv', 'shadow', 'hap'];
    const { sim, workers, pool } = make(2);
    const got = await drive(pool, sim.compare(scenario, modes));
    expect(pool()).toHaveLength(2);
    // The session's worker ran none of it.
    expect(workers[0]!.sent.filter((m) => m.type === 'compare')).toEqual([]);
    const want = oneWorker(scenario, modes) as Extract<CompareRunEvent, { type: 'compare-result' }>;
    expect(got).toEqual({ result: want.result, sweep: want.sweep });
    // Nothing skipped here: all four ran, in the order asked.
    expect(got.result.modes).toEqual(modes);
  });

  it('a sweep on three workers gives one worker’s points and bars; progress counts runs as they complete', async () => {
    const modes: PagingMode[] = ['pv', 'hap'];
    const sweep = { param: 'pages', values: [8, 24, 16] };
    const { sim, pool } = make(3);
    const p = sim.compare(scenario, modes, sweep);
    expect(sim.compareBusy).toEqual({ done: 0, total: 6, label: 'starting' });
    pool()[2]!.answer();
    // The third worker had the third run: 24 under pv.
    expect(sim.compareBusy).toEqual({ done: 1, total: 6, label: 'pages=24 pv' });
    const got = await drive(pool, p);
    const want = oneWorker(scenario, modes, sweep) as Extract<CompareRunEvent, { type: 'compare-result' }>;
    expect(got).toEqual({ result: want.result, sweep: want.sweep });
    expect(got.sweep!.points.map((x) => `${x.value} ${x.mode}`)).toEqual(['8 pv', '8 hap', '24 pv', '24 hap', '16 pv', '16 hap']);
    expect(sim.compareBusy).toBeNull();
  });

  it('a mode that cannot run is skipped once, as one worker reports it', async () => {
    const big = structuredClone(scenario);
    Object.assign(big.domains[0]!, { guestPageSize: '2m', hostPageSize: '2m' });
    const modes: PagingMode[] = ['pv', 'hap'];
    const sweep = { param: 'pages', values: [8, 16] };
    const { sim, pool } = make(2);
    const got = await drive(pool, sim.compare(big, modes, sweep));
    const want = oneWorker(big, modes, sweep) as Extract<CompareRunEvent, { type: 'compare-result' }>;
    expect(want.result.skipped.map((s) => s.mode)).toEqual(['pv']);
    expect(got).toEqual({ result: want.result, sweep: want.sweep });
  });

  it('cancel stops every worker’s run and rejects the compare; late answers are dropped', async () => {
    const { sim, pool } = make(2);
    const p = sim.compare(scenario, ['pv', 'hap', 'shadow']).then(
      () => 'resolved',
      (e: Error) => e.message,
    );
    const inflight = pool().map((w) => w.sent.filter((m) => m.type === 'compare').at(-1) as { id: number });
    sim.cancelCompare();
    expect(await p).toBe('compare cancelled');
    for (const [i, w] of pool().entries()) expect(w.sent.filter((m) => m.type === 'cancel-compare')).toEqual([{ type: 'cancel-compare', id: inflight[i]!.id }]);
    expect(sim.compareBusy).toBeNull();
    // An answer already in flight changes nothing; the next compare runs normally.
    const next = sim.compare(scenario, ['native', 'hap']);
    const got = await drive(pool, next);
    expect(got.result.modes).toEqual(['native', 'hap']);
  });

  it('a run that fails rejects the compare with the worker’s message and ends the other runs', async () => {
    const { sim, pool } = make(2);
    const bad = { ...scenario, machine: { memoryMiB: 8, pcpus: 1 } };
    const got = await drive(pool, sim.compare(bad, ['pv', 'hap'])).then(
      () => 'resolved',
      (e: Error) => e.message,
    );
    expect(got).toBe('the scenario to compare is not valid');
    expect(sim.compareBusy).toBeNull();
  });
});

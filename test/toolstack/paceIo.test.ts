/**
 * A live run of an I/O scenario ends with the results the CLI gives: the pace, the session's turns
 * and its waits across idle I/O time change when things are shown, never what happens.
 */
import { describe, expect, it } from 'vitest';
import { validateScenario, type WorkerEvent } from '../../core/api/index.js';
import { PRESETS } from '../../core/api/presets.js';
import { runScenario } from '../../core/sim/run.js';
import { LabSession } from '../../core/toolstack/session.js';
import { det, type Ev } from './sessionHarness.js';

function harness(tick: number) {
  let clock = 0;
  const events: WorkerEvent[] = [];
  const queue: (() => void)[] = [];
  const timers: { due: number; fn: () => void }[] = [];
  const session = new LabSession({
    post: (e) => events.push(structuredClone(e)),
    now: () => (clock += tick),
    schedule: (fn) => queue.push(fn),
    scheduleAfter: (fn, ms) => timers.push({ due: clock + ms, fn }),
    sliceMs: 12,
  });
  const run = () => {
    for (let i = 0; i < 5_000_000; i++) {
      const fn = queue.shift();
      if (fn) {
        fn();
        continue;
      }
      if (timers.length === 0) return;
      timers.sort((a, b) => a.due - b.due);
      const t = timers.shift()!;
      clock = Math.max(clock, t.due);
      t.fn();
    }
    throw new Error('runaway');
  };
  const of = <T extends WorkerEvent['type']>(type: T) => events.filter((e) => e.type === type) as Ev<T>[];
  return { session, run, of };
}

describe('LabSession: I/O scenarios', () => {
  for (const [id, pace] of [
    ['c4-kill-driver-domain', 'max'],
    ['c4-kill-driver-domain', 10e-3],
    ['c3-driver-domain', 10e-3],
  ] as const) {
    it(`${id} at pace ${pace}: the results runScenario gives`, () => {
      const v = validateScenario(PRESETS.find((p) => p.id === id)!.scenario);
      if (!v.ok) throw new Error(id);
      const h = harness(0.5);
      h.session.handle({ type: 'start', scenario: v.scenario, pace } as never);
      h.run();
      expect(h.of('finished')).toHaveLength(1);
      expect(det(h.of('finished')[0]!.results)).toEqual(det(runScenario(v.scenario)));
    });
  }
});

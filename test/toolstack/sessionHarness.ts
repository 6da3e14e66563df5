/** A LabSession on a fake clock and a manual scheduler queue, for the session tests. */
import type { Results, WorkerEvent } from '../../core/api/index.js';
import { LabSession, type MakeHub } from '../../core/toolstack/session.js';
import { oneGuest } from '../sim/helpers.js';

export type Ev<T extends WorkerEvent['type']> = Extract<WorkerEvent, { type: T }>;

/** A session on a fake clock (each read advances it `tick` ms) and a manual scheduler queue. */
export function harness(opts: { tick?: number; sliceMs?: number; makeHub?: MakeHub } = {}) {
  const tick = opts.tick ?? 1;
  let clock = 1000;
  const events: { e: WorkerEvent; at: number }[] = [];
  const queue: (() => void)[] = [];
  const session = new LabSession({
    // Everything posted must survive a structured clone (postMessage).
    post: (e) => events.push({ e: structuredClone(e), at: clock }),
    now: () => (clock += tick),
    schedule: (fn) => queue.push(fn),
    sliceMs: opts.sliceMs ?? 12,
    makeHub: opts.makeHub,
  });
  const turns = (n: number) => {
    for (let i = 0; i < n && queue.length > 0; i++) queue.shift()!();
  };
  const drain = () => {
    for (let i = 0; queue.length > 0; i++) {
      if (i > 1_000_000) throw new Error('the session never went idle');
      queue.shift()!();
    }
  };
  const of = <T extends WorkerEvent['type']>(type: T) => events.filter((x) => x.e.type === type).map((x) => x.e as Ev<T>);
  const states = () => of('state').map((e) => e.state);
  return { session, events, queue, turns, drain, of, states, clock: () => clock };
}

/** Results without the wall time: everything else is deterministic. */
export function det(r: Results): Omit<Results, 'wallMs'> {
  const { wallMs: _w, ...rest } = r;
  return rest;
}

export const randomAccess = (accesses = 120_000, mode: 'pv' | 'hap' | 'shadow' | 'native' = 'hap') =>
  oneGuest(mode, { kind: 'random-access', workingSetMiB: 16, accesses });
export const updateVsAccess = () => oneGuest('pv', { kind: 'update-vs-access', workingSetMiB: 4, accesses: 12_000, updatesPerKiloAccess: 20 });


import { afterEach, describe, expect, it, vi } from 'vitest';
import { type WorkerEvent } from '../../core/api/index.js';
import { runScenario } from '../../core/sim/run.js';
import type { ConsoleHooks, ConsoleHubLike, MakeHub } from '../../core/toolstack/session.js';
import { parseRequest } from '../../core/worker/request.js';
import { oneGuest } from '../sim/helpers.js';
import { det, harness, randomAccess, type Ev } from './sessionHarness.js';

describe('LabSession: consoles', () => {
  /** A hub that echoes input, prints a lot on every tick, and records what the session did. */
  function fakeHub() {
    const calls: string[] = [];
    let hooks: ConsoleHooks | null = null;
    const makeHub: MakeHub = (_sim, k): ConsoleHubLike => {
      hooks = k;
      return {
        consoles: () => ['xen', 'Domain-0', 'g1'],
        boot: () => {
          calls.push('boot');
          k.out('xen', '(XEN) Xen version 4.19\n');
          k.out('xen', '(XEN) Scrubbing free RAM\n');
        },
        input: (name, data) => {
          calls.push(`input ${name} ${data}`);
          if (data === 'boom') throw new Error('shell exploded\n    at stack frame');
          k.out(name, data);
          if (data === 'xl console g1\r') k.switchConsole?.('g1');
          if (data === 'xl pause g1\r') k.domainsChanged();
        },
        tick: () => {
          calls.push('tick');
          for (let i = 0; i < 100; i++) k.out('g1', `line ${i}\n`);
        },
        log: (line) => calls.push(`log ${line}`),
      };
    };
    return { calls, makeHub, hooks: () => hooks! };
  }

  it('posts booted with the hub consoles, boots the hub, and coalesces output per console per turn', () => {
    const hub = fakeHub();
    const h = harness({ makeHub: hub.makeHub });
    h.session.handle({ type: 'start', scenario: randomAccess(60_000) });
    expect(h.of('booted')[0]!.consoles).toEqual(['xen', 'Domain-0', 'g1']);
    expect(hub.calls[0]).toBe('boot');
    expect(h.of('console')).toEqual([{ type: 'console', console: 'xen', data: '(XEN) Xen version 4.19\n(XEN) Scrubbing free RAM\n' }]);
    h.turns(1);
    const g1 = h.of('console').filter((e) => e.console === 'g1');
    expect(g1).toHaveLength(1);
    expect(g1[0]!.data.split('\n')).toHaveLength(101);
    h.drain();
    const ticks = hub.calls.filter((c) => c === 'tick').length;
    expect(h.of('console').filter((e) => e.console === 'g1')).toHaveLength(ticks);
    expect(hub.calls.some((c) => c.startsWith('log all workloads finished'))).toBe(true);
  });

  it('forwards console input, posts domains and console switches, and survives a hub error', () => {
    const hub = fakeHub();
    const h = harness({ makeHub: hub.makeHub });
    h.session.handle({ type: 'start', scenario: randomAccess(20_000) });
    h.drain();
    // The end of the run posts the domains once (guests whose workload ended are blocked).
    expect(h.of('domains')).toHaveLength(1);
    h.session.handle({ type: 'console-input', console: 'Domain-0', data: 'xl pause g1\r' });
    expect(hub.calls).toContain('input Domain-0 xl pause g1\r');
    expect(h.of('domains')).toHaveLength(2);
    expect(h.of('console').at(-1)).toEqual({ type: 'console', console: 'Domain-0', data: 'xl pause g1\r' });
    h.session.handle({ type: 'console-input', console: 'Domain-0', data: 'xl console g1\r' });
    expect(h.of('console-switch')).toEqual([{ type: 'console-switch', console: 'g1' }]);
    h.session.handle({ type: 'console-input', console: 'g1', data: 'boom' });
    expect(h.of('error').at(-1)).toEqual({ type: 'error', where: 'console', message: 'shell exploded' });
    h.session.handle({ type: 'console-input', console: 'g1', data: 'ls' });
    expect(h.of('console').at(-1)!.data).toBe('ls');
  });

  it('a console that throws while ticking is reported and the run goes on', () => {
    let ticks = 0;
    const makeHub: MakeHub = () => ({
      consoles: () => ['xen'],
      boot() {},
      input() {},
      tick() {
        if (++ticks === 2) throw new Error('xenstore watch fired on a dead domain');
      },
      log() {},
    });
    const s = randomAccess(40_000);
    const h = harness({ makeHub, sliceMs: 1 });
    h.session.handle({ type: 'start', scenario: s });
    h.drain();
    expect(h.of('error')).toEqual([{ type: 'error', where: 'console', message: 'xenstore watch fired on a dead domain' }]);
    expect(det(h.of('finished')[0]!.results)).toEqual(det(runScenario(s)));
  });

  it('a job started from a console after the run finished resumes stepping and finishes again', () => {
    const hub = fakeHub();
    const h = harness({ makeHub: hub.makeHub });
    h.session.handle({ type: 'start', scenario: randomAccess(20_000) });
    h.drain();
    expect(h.states().at(-1)).toBe('finished');
    const sim = h.session.simulation!;
    sim.startJob(sim.domains.find((d) => d.name === 'g1')!, { kind: 'cold-walk', pages: 16 });
    hub.hooks().kick();
    expect(h.states().at(-1)).toBe('running');
    h.drain();
    expect(h.states().slice(-2)).toEqual(['running', 'finished']);
    const last = h.of('finished').at(-1)!.results.domains.find((d) => d.name === 'g1')!;
    expect(last.workload).toBe('random-access');
    expect(last.walk.walks).toBe(16);
    // A kick with nothing to run (an unpause of an idle domain) does not reopen the run.
    const n = h.events.length;
    hub.hooks().kick();
    h.drain();
    expect(h.events.length).toBe(n);
  });
});

describe('LabSession: with the toolstack console hub', () => {
  it('boots the real consoles, answers xl in dom0, and a guest shell run resumes stepping', () => {
    const s = randomAccess(20_000, 'pv');
    const h = harness();
    h.session.handle({ type: 'start', scenario: s });
    expect(h.of('booted')[0]!.consoles).toEqual(['xen', 'dom0', 'g1']);
    const types = h.events.map((x) => x.e.type);
    expect(types.indexOf('booted')).toBeLessThan(types.indexOf('console'));
    h.drain();
    expect(det(h.of('finished')[0]!.results)).toEqual(det(runScenario(s)));
    const text = (name: string) =>
      h
        .of('console')
        .filter((e) => e.console === name)
        .map((e) => e.data)
        .join('');
    expect(text('xen')).toContain('(XEN)');
    h.session.handle({ type: 'console-input', console: 'dom0', data: 'xl list\r' });
    expect(text('dom0')).toMatch(/Domain-0[\s\S]*g1/);
    h.session.handle({ type: 'console-input', console: 'g1', data: 'run cold-walk pages=16\r' });
    expect(h.states().at(-1)).toBe('running');
    h.drain();
    expect(h.states().slice(-2)).toEqual(['running', 'finished']);
    expect(h.of('finished').at(-1)!.results.domains.find((d) => d.name === 'g1')!.walk.walks).toBe(16);
    expect(h.of('error')).toEqual([]);
  });

  it('Stop during a workload started at a guest prompt gives that shell its prompt back at once', () => {
    const s = randomAccess(20_000, 'pv');
    const h = harness();
    h.session.handle({ type: 'start', scenario: s });
    h.drain();
    const text = (name: string) =>
      h
        .of('console')
        .filter((e) => e.console === name)
        .map((e) => e.data)
        .join('');
    // A long foreground job: the shell waits for it, with no prompt.
    h.session.handle({ type: 'console-input', console: 'g1', data: 'run random-access 16 100000000\r' });
    h.turns(2);
    const before = text('g1');
    expect(before.slice(before.lastIndexOf('run random-access'))).not.toMatch(/root@g1:~# *$/);
    h.session.handle({ type: 'stop' });
    expect(h.states().at(-1)).toBe('stopped');
    // Without another turn or a keystroke: the shell saw its job end and printed its prompt.
    expect(text('g1').slice(before.length)).toMatch(/root@g1:~# *$/);
    expect(h.of('error')).toEqual([]);
  });

  it('xl create adds the new domain\'s console and xl destroy removes it: a consoles event, before its output', () => {
    const h = harness();
    h.session.handle({ type: 'start', scenario: randomAccess(20_000, 'pv') });
    h.drain();
    expect(h.of('consoles')).toEqual([]);
    h.session.handle({ type: 'console-input', console: 'dom0', data: 'xl create name="g9" memory=128 type="hvm" hap=1\r' });
    expect(h.of('consoles')).toEqual([{ type: 'consoles', consoles: ['xen', 'dom0', 'g1', 'g9'] }]);
    const types = h.events.map((x) => x.e);
    const listed = types.findIndex((e) => e.type === 'consoles');
    const firstOutput = types.findIndex((e) => e.type === 'console' && e.console === 'g9');
    expect(listed).toBeGreaterThanOrEqual(0);
    expect(firstOutput).toBeGreaterThan(listed);
    // The created domain boots to a prompt in its own shell.
    const g9 = () => h.of('console').filter((e) => e.console === 'g9').map((e) => e.data).join('');
    expect(g9().endsWith('root@g9:~# ')).toBe(true);
    h.session.handle({ type: 'console-input', console: 'dom0', data: 'xl console g9\r' });
    expect(h.of('console-switch').at(-1)).toEqual({ type: 'console-switch', console: 'g9' });
    h.session.handle({ type: 'console-input', console: 'g9', data: 'ps\r' });
    expect(g9()).toContain('PID STAT');
    h.session.handle({ type: 'console-input', console: 'dom0', data: 'xl destroy g9\r' });
    expect(h.of('consoles').at(-1)).toEqual({ type: 'consoles', consoles: ['xen', 'dom0', 'g1'] });
    // Pausing changes the domains, not the consoles: no event.
    h.session.handle({ type: 'console-input', console: 'dom0', data: 'xl pause g1\r' });
    expect(h.of('consoles')).toHaveLength(2);
    expect(h.of('error')).toEqual([]);
  });
});

describe('worker requests and the worker entry', () => {
  it('rejects malformed requests with a reason', () => {
    for (const bad of [null, 42, 'start', [], {}, { type: 'explode' }, { type: 'console-input', console: 'xen' }, { type: 'compare', scenario: {}, modes: ['warp'] }, { type: 'walk', scenario: {}, domain: 3 }]) {
      const r = parseRequest(bad);
      expect(r.ok, JSON.stringify(bad)).toBe(false);
      if (!r.ok) expect(r.message.length).toBeGreaterThan(0);
    }
    expect(parseRequest({ type: 'pause' }).ok).toBe(true);
    expect(parseRequest({ type: 'walk', id: 1, scenario: {}, domain: 'g1', va: '0x1000', warm: true }).ok).toBe(true);
    expect(parseRequest({ type: 'compare', id: 2, scenario: {}, modes: ['pv', 'hap'], sweep: { param: 'accesses', values: [1, 2] } }).ok).toBe(true);
    expect(parseRequest({ type: 'cancel-compare', id: 2 }).ok).toBe(true);
  });

  it('refuses an answered request without an id, and names the id of a refused one so its error answers it', () => {
    for (const noId of [{ type: 'walk', scenario: {}, domain: 'g1' }, { type: 'compare', scenario: {}, modes: ['pv'] }, { type: 'cancel-compare' }, { type: 'walk', id: 0, scenario: {}, domain: 'g1' }, { type: 'walk', id: '3', scenario: {}, domain: 'g1' }]) {
      const r = parseRequest(noId);
      expect(r.ok, JSON.stringify(noId)).toBe(false);
      if (!r.ok) expect(r.message).toMatch(/\.id: the request's id/);
    }
    expect(parseRequest({ type: 'walk', id: 7, scenario: {}, domain: 3 })).toMatchObject({ ok: false, id: 7 });
  });

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('the entry says ready, turns malformed messages into errors and runs a session', async () => {
    const posted: WorkerEvent[] = [];
    const self: { postMessage(m: unknown): void; onmessage: ((e: { data: unknown }) => void) | null } = {
      postMessage: (m) => posted.push(structuredClone(m) as WorkerEvent),
      onmessage: null,
    };
    vi.stubGlobal('self', self);
    // setTimeout scheduling here: a MessageChannel port would keep the test process alive.
    vi.stubGlobal('MessageChannel', undefined);
    await import('../../core/worker/entry.js');
    expect(posted[0]).toMatchObject({ type: 'ready' });
    self.onmessage!({ data: 'hello' });
    self.onmessage!({ data: { type: 'explode' } });
    expect(posted.filter((e) => e.type === 'error').map((e) => (e as Ev<'error'>).where)).toEqual(['worker', 'worker']);
    self.onmessage!({ data: { type: 'start', scenario: oneGuest('pv', { kind: 'cold-walk', pages: 8 }) } });
    await vi.waitFor(() => expect(posted.some((e) => e.type === 'finished')).toBe(true), { timeout: 20_000 });
  });
});

// The Scenario view's presets: each validates as the CLI validates it, and each shows, in one run,
// what its sentence says (the numbers derived here from the formula or compared across domains).
import { describe, expect, it } from 'vitest';
import { validateScenario, type DomainResults, type Results } from '../../core/api/index.js';
import { runScenario } from '../../core/sim/run.js';
import { PRESETS } from '../../core/api/presets.js';

function runPreset(id: string): { r: Results; d: (name: string) => DomainResults } {
  const p = PRESETS.find((x) => x.id === id)!;
  const v = validateScenario(p.scenario);
  if (!v.ok) throw new Error(`${id}: ${v.problems.map((x) => `${x.path}: ${x.message}`).join('; ')}`);
  const r = runScenario(v.scenario);
  return { r, d: (name) => r.domains.find((x) => x.name === name)! };
}

/** (n+1)(m+1)−1 references for n guest and m host levels (Bhargava et al., ASPLOS 2008). */
const nested = (n: number, m: number) => (n + 1) * (m + 1) - 1;
const LEVELS = { '4k': 4, '2m': 3, '1g': 2 } as const;

describe('presets', () => {
  it('has one preset per claim shown, with distinct ids and scenario names and a one-sentence description', () => {
    expect(new Set(PRESETS.map((p) => p.id)).size).toBe(PRESETS.length);
    expect(new Set(PRESETS.map((p) => p.scenario.name)).size).toBe(PRESETS.length);
    expect(new Set(PRESETS.map((p) => p.claim))).toEqual(new Set(['C1', 'C2', 'C3', 'C4', 'C5', 'C6', 'C7', 'C8', 'C9']));
    for (const p of PRESETS) {
      expect(p.sentence.trim().endsWith('.'), p.id).toBe(true);
      // One sentence: no full stop followed by a capital before the end.
      expect(/\.\s+[A-Z]/.test(p.sentence.slice(0, -1)), p.id).toBe(false);
    }
  });

  for (const p of PRESETS) {
    it(`${p.id} validates with validateScenario`, () => {
      const v = validateScenario(p.scenario);
      expect(v.ok ? [] : v.problems).toEqual([]);
    });
  }

  it('walk presets: every cold walk takes the architectural count for its page sizes', () => {
    for (const id of ['walk-4k', 'walk-2m', 'walk-1g']) {
      const p = PRESETS.find((x) => x.id === id)!;
      const { r, d } = runPreset(id);
      expect(r.audit.ok, id).toBe(true);
      for (const dom of p.scenario.domains) {
        const g = d(dom.name);
        const want = dom.mode === 'hap' ? nested(LEVELS[dom.guestPageSize ?? '4k'], LEVELS[dom.hostPageSize ?? '4k']) : 4;
        expect(g.walk.refsPerWalk, `${id} ${dom.name}`).toBe(want);
      }
    }
  });

  it('update-vs-access: PV beats nested with no updates, nested beats PV with 300 per 1000 accesses, and PV pays hypercalls', () => {
    const { r, d } = runPreset('update-vs-access');
    expect(r.audit.ok).toBe(true);
    expect(d('pv-0').cycles.perOp).toBeLessThan(d('hap-0').cycles.perOp);
    expect(d('hap-0').walk.refsPerWalk).toBeGreaterThan(d('pv-0').walk.refsPerWalk);
    expect(d('hap-300').cycles.perOp).toBeLessThan(d('pv-300').cycles.perOp);
    expect(d('pv-300').hypercalls.total).toBeGreaterThan(0);
    expect(d('hap-300').hypercalls.total).toBe(0);
  });

  it('lmbench: fork, exec and page faults cost more per operation under PV than under HVM (hap)', () => {
    const { r, d } = runPreset('lmbench');
    expect(r.audit.ok).toBe(true);
    for (const op of ['fork', 'exec', 'fault']) {
      expect(d(`pv-${op}`).cycles.perOp, op).toBeGreaterThan(d(`hvm-${op}`).cycles.perOp);
      expect(d(`pv-${op}`).hypercalls.total, op).toBeGreaterThan(0);
    }
  });

  it('shadow-oos: out-of-sync shadows emulate fewer writes and cost fewer cycles per operation', () => {
    const { r, d } = runPreset('shadow-oos');
    expect(r.audit.ok).toBe(true);
    const on = d('oos-on');
    const off = d('oos-off');
    expect(on.counters.emulatedWrites).toBeLessThan(off.counters.emulatedWrites);
    expect(on.cycles.perOp).toBeLessThan(off.cycles.perOp);
  });

  it('multi-guest: dom0 and three guests in three modes all run, with a clean audit', () => {
    const { r, d } = runPreset('multi-guest');
    expect(r.audit).toMatchObject({ ok: true, violations: [] });
    expect(['web', 'build', 'db'].map((n) => d(n).mode)).toEqual(['pv', 'shadow', 'hap']);
    for (const n of ['web', 'build', 'db']) expect(d(n).ops, n).toBeGreaterThan(0);
  });
});

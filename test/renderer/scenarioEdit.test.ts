// The Scenario form's editing rules, without a DOM: what a typed number becomes, how a cleared
// field leaves the scenario, new and duplicated domain names, where a JSON syntax error is, and
// which problems fall to the top of a card or of the form.
import { describe, expect, it } from 'vitest';
import { validateScenario, type ScenarioInput } from '../../core/api/index.js';
import { DEFAULT_SCENARIO } from '../../renderer/src/lib/lab.svelte.js';
import { canonical, duplicateDomain, newDomain, parseNumberText, setIn, uniqueName } from '../../renderer/src/components/scenario/edit.js';
import { jsonErrorAt } from '../../renderer/src/components/scenario/jsonError.js';
import { domainPaths, fieldId, unclaimedDomainProblems, unclaimedScenarioProblems } from '../../renderer/src/components/scenario/fields.js';

describe('editing the scenario', () => {
  it('reads typed text as a number only when it is one; empty is "not set"; anything else stays text for the schema to refuse', () => {
    expect(parseNumberText('256')).toBe(256);
    expect(parseNumberText(' 1.5 ')).toBe(1.5);
    expect(parseNumberText('1.')).toBe(1);
    expect(parseNumberText('1e3')).toBe(1000);
    expect(parseNumberText('')).toBeUndefined();
    expect(parseNumberText('   ')).toBeUndefined();
    expect(parseNumberText('12abc')).toBe('12abc');
    expect(parseNumberText('0x10')).toBe('0x10');
    expect(parseNumberText('Infinity')).toBe('Infinity');
  });

  it('creates the objects a field needs, and removes those a cleared field leaves empty, never the machine itself', () => {
    const s = { machine: { memoryMiB: 2048, pcpus: 1 } } as Record<string, any>;
    setIn(s, ['machine', 'costs', 'vmexit'], 2400, 2);
    setIn(s, ['machine', 'mmu', 'psc', 'enabled'], false, 2);
    expect(s.machine).toEqual({ memoryMiB: 2048, pcpus: 1, costs: { vmexit: 2400 }, mmu: { psc: { enabled: false } } });
    setIn(s, ['machine', 'costs', 'vmexit'], undefined, 2);
    setIn(s, ['machine', 'mmu', 'psc', 'enabled'], undefined, 2);
    expect(s.machine).toEqual({ memoryMiB: 2048, pcpus: 1 });
    setIn(s, ['machine', 'memoryMiB'], undefined, 2);
    setIn(s, ['machine', 'pcpus'], undefined, 2);
    expect(s.machine).toEqual({});
    // Clearing a field under an object that does not exist creates nothing.
    setIn(s, ['machine', 'mmu', 'tlb4k', 'ways'], undefined, 2);
    expect(s.machine).toEqual({});
  });

  it('names new and duplicated domains after the last number, never reusing a name or making a second dom0', () => {
    expect(uniqueName('g1', ['g1', 'g2'])).toBe('g3');
    expect(uniqueName('web', ['web'])).toBe('web-2');
    expect(uniqueName('web-2', ['web', 'web-2'])).toBe('web-3');
    expect(uniqueName('free', ['g1'])).toBe('free');
    expect(uniqueName('a'.repeat(32), ['a'.repeat(32)])).toHaveLength(32);
    // The start-up scenario (the walk-4k preset, issue 10) with its first two guests named g1 and g2.
    const s = structuredClone(DEFAULT_SCENARIO);
    s.domains = s.domains.slice(0, 2).map((d, i) => ({ ...d, name: `g${i + 1}` }));
    s.domains.push(newDomain(s));
    expect(s.domains.map((d) => d.name)).toEqual(['g1', 'g2', 'g3']);
    expect(validateScenario(s).ok).toBe(true);
    const dom0 = { ...s.domains[0]!, role: 'dom0' as const };
    const copy = duplicateDomain(s, dom0);
    expect(copy).toEqual({ ...s.domains[0], name: 'g4' });
  });

  it('adds a domain that is valid under each hypervisor', () => {
    for (const hypervisor of ['xen', 'kvm', 'none'] as const) {
      const s: ScenarioInput = { name: 'x', machine: { memoryMiB: 4096, pcpus: 1 }, hypervisor, domains: [] };
      s.domains.push(newDomain(s));
      expect(validateScenario(s), hypervisor).toMatchObject({ ok: true });
    }
  });

  it('compares scenarios whatever the order of their fields', () => {
    expect(canonical({ a: 1, b: { c: 2, d: [1, { e: 1, f: 2 }] } })).toBe(canonical({ b: { d: [1, { f: 2, e: 1 }], c: 2 }, a: 1 }));
    expect(canonical({ a: 1 })).not.toBe(canonical({ a: 2 }));
  });
});

describe('where a JSON syntax error is', () => {
  const at = (text: string) => {
    try {
      JSON.parse(text);
    } catch (e) {
      return jsonErrorAt(text, (e as Error).message);
    }
    throw new Error('parsed');
  };

  it('gives the line and column of the first bad character, and the line with a caret under it', () => {
    const text = '{\n  "name": "x",\n  "machine": {"memoryMiB": 8 "pcpus": 1}\n}';
    const e = at(text);
    expect([e.line, e.column]).toEqual([3, 30]);
    expect(e.excerpt).toBe('  "machine": {"memoryMiB": 8 "pcpus": 1}');
    expect(e.excerpt[e.caret]).toBe('"');
  });

  it('puts an early end at the end of the text', () => {
    const e = at('{"name": "x",\n "domains": [');
    expect([e.line, e.column]).toEqual([2, 14]);
  });

  it('takes the line, column and reason from the scanner the CLI uses, not from the engine\'s message', () => {
    // Issue 10: one implementation (core/api/jsonWhere.ts) for the CLI and the GUI.
    const e = jsonErrorAt('{"a": 1,\n ab}', 'Unexpected token in JSON at position 3');
    expect([e.line, e.column]).toEqual([2, 2]);
    expect(e.message).toBe('expected a double-quoted property name, found "a"');
  });
});

describe('which problems a field shows', () => {
  it('gives each path its own element id', () => {
    expect(fieldId('domains[1].guestPageSize')).toBe('sc-domains-1-guestPageSize');
    expect(fieldId('machine.costs.vmexit')).toBe('sc-machine-costs-vmexit');
  });

  it('leaves to the top of a card only what its fields do not show', () => {
    const d = { name: 'g1', mode: 'pv', workload: { kind: 'update-vs-access' } };
    const claimed = domainPaths(d, 0);
    expect(claimed.has('domains[0].workload.updatesPerKiloAccess')).toBe(true);
    expect(claimed.has('domains[0].workload.updateKind')).toBe(true);
    expect(claimed.has('domains[0].shadowOutOfSync')).toBe(false);
    expect(domainPaths({ ...d, shadowOutOfSync: false }, 0).has('domains[0].shadowOutOfSync')).toBe(true);
    const problems = [
      { path: 'domains[0].guestPageSize', message: 'a' },
      { path: 'domains[0].turbo', message: 'unknown field' },
      { path: 'domains[0].workload.steps[2].page', message: 'b' },
      { path: 'domains[1].name', message: 'c' },
      { path: 'domains[0]', message: 'd' },
    ];
    expect(unclaimedDomainProblems(problems, 0, claimed).map((p) => p.path)).toEqual(['domains[0].turbo', 'domains[0].workload.steps[2].page', 'domains[0]']);
    expect(unclaimedDomainProblems(problems, 0, new Set()).length).toBe(4);
  });

  it('leaves to the top of the form only what no machine, hypervisor or scenario field shows', () => {
    const problems = [
      { path: 'machine.memoryMiB', message: 'a' },
      { path: 'machine.costs.vmexit', message: 'b' },
      { path: 'colour', message: 'unknown field' },
      { path: 'machine.mmu.psc.pde', message: 'c' },
      { path: 'domains', message: 'd' },
      { path: 'domains[0].name', message: 'e' },
      { path: '(scenario)', message: 'f' },
    ];
    expect(unclaimedScenarioProblems(problems).map((p) => p.path)).toEqual(['colour', 'machine.mmu.psc.pde', '(scenario)']);
  });
});

import { describe, expect, it } from 'vitest';
import { parseScenarioText, validateScenario } from '../../core/api/index.js';

const base = () => ({
  name: 'walk',
  machine: { memoryMiB: 2048, pcpus: 1 },
  hypervisor: 'xen',
  domains: [{ name: 'g1', mode: 'hap', memoryMiB: 256, vcpus: 1, guestPageSize: '4k', hostPageSize: '4k', workload: { kind: 'cold-walk', pages: 64 } }],
});

function problems(mutate: (s: ReturnType<typeof base> & Record<string, any>) => void): { path: string; message: string }[] {
  const s = base() as any;
  mutate(s);
  const v = validateScenario(s);
  return v.ok ? [] : v.problems;
}

describe('scenario validation', () => {
  it('accepts the minimal scenario of DESIGN.md §6 and fills in defaults', () => {
    const v = validateScenario(base());
    expect(v.ok).toBe(true);
    if (v.ok) {
      expect(v.scenario.seed).toBe(1);
      expect(v.scenario.domains[0].role).toBe('guest');
    }
  });

  const cases: [string, (s: any) => void, string, RegExp][] = [
    ['an unknown top-level field', (s) => (s.colour = 'red'), 'colour', /unknown field/],
    ['an unknown domain field', (s) => (s.domains[0].turbo = true), 'domains[0].turbo', /unknown field/],
    ['PV with 2 MiB guest pages', (s) => Object.assign(s.domains[0], { mode: 'pv', guestPageSize: '2m' }), 'domains[0].guestPageSize', /no superpages/],
    ['host pages without a second stage', (s) => Object.assign(s.domains[0], { mode: 'shadow', hostPageSize: '2m' }), 'domains[0].hostPageSize', /no second/],
    ['memory larger than the machine', (s) => (s.domains[0].memoryMiB = 4096), 'machine.memoryMiB', /machine has 2048 MiB/],
    ['an unknown workload', (s) => (s.domains[0].workload = { kind: 'bitcoin' }), 'domains[0].workload.kind', /unknown workload kind/],
    ['a workload parameter out of range', (s) => (s.domains[0].workload = { kind: 'cold-walk', pages: 0 }), 'domains[0].workload.pages', /.+/],
    ['a missing workload parameter', (s) => (s.domains[0].workload = { kind: 'random-access', accesses: 10 }), 'domains[0].workload.workingSetMiB', /.+/],
    ['no hypervisor but a PV domain', (s) => Object.assign(s, { hypervisor: 'none' }, { domains: [{ ...s.domains[0], mode: 'pv' }] }), 'domains[0].mode', /hypervisor "none"/],
    ['native under Xen', (s) => (s.domains[0].mode = 'native'), 'domains[0].mode', /no hypervisor/],
    ['out-of-sync shadows on a hap domain', (s) => (s.domains[0].shadowOutOfSync = false), 'domains[0].shadowOutOfSync', /only a shadow domain/],
    ['a working set bigger than the guest', (s) => (s.domains[0].workload = { kind: 'random-access', workingSetMiB: 300, accesses: 10 }), 'domains[0].workload', /needs 300 MiB/],
    ['1 GiB host pages on a guest that is not a whole number of GiB', (s) => (s.domains[0].hostPageSize = '1g'), 'domains[0].hostPageSize', /multiple of 1024/],
    ['duplicate names', (s) => s.domains.push({ ...s.domains[0] }), 'domains[1].name', /duplicate/],
    ['two dom0s', (s) => s.domains.push({ ...s.domains[0], name: 'a', role: 'dom0', mode: 'pv' }, { ...s.domains[0], name: 'b', role: 'dom0', mode: 'pv' }), 'domains', /at most one/],
  ];
  for (const [what, mutate, path, message] of cases) {
    it(`rejects ${what} at ${path}`, () => {
      const ps = problems(mutate);
      const p = ps.find((x) => x.path === path);
      expect(p, JSON.stringify(ps)).toBeDefined();
      expect(p!.message).toMatch(message);
    });
  }

  it('reports bad JSON as one problem, not a crash', () => {
    const v = parseScenarioText('{"name": ');
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.problems[0].path).toBe('(file)');
  });
});

// What a comparison sends (the scenario with its first guest's workload chosen), the sweep's
// parsing, and the export helpers that do not need a browser.
import { describe, expect, it } from 'vitest';
import { validateScenario, type ScenarioInput } from '../../core/api/index.js';
import { DEFAULT_SCENARIO } from '../../renderer/src/lib/lab.svelte.js';
import {
  COMPARE_KINDS,
  chosenWorkload,
  compareScenario,
  defaultSweep,
  describeWorkload,
  fileStem,
  firstGuestIndex,
  numericParams,
  parseValues,
} from '../../renderer/src/lib/compare/workload.js';
import { resolveVars, wrapText } from '../../renderer/src/lib/compare/export.js';

const withDom0: ScenarioInput = {
  name: 'two',
  machine: { memoryMiB: 2048, pcpus: 1 },
  hypervisor: 'xen',
  domains: [
    { name: 'd0', role: 'dom0', mode: 'pv', memoryMiB: 512, vcpus: 1, workload: { kind: 'idle' } },
    { name: 'g1', mode: 'shadow', memoryMiB: 512, vcpus: 1, workload: { kind: 'update-vs-access', workingSetMiB: 128, accesses: 1000, updatesPerKiloAccess: 3, updateKind: 'protect' } },
    { name: 'g2', mode: 'hap', memoryMiB: 256, vcpus: 1, workload: { kind: 'cold-walk', pages: 10 } },
  ],
};

describe('compare: the workload a comparison runs', () => {
  it('varies the first guest, skipping dom0, and leaves every other domain and the input alone', () => {
    expect(firstGuestIndex(withDom0)).toBe(1);
    const s = compareScenario(withDom0, { source: 'kind', kind: 'cold-walk', main: 77 });
    expect(s.domains[1]!.workload).toEqual({ kind: 'cold-walk', pages: 77 });
    expect(s.domains[0]).toEqual(withDom0.domains[0]);
    expect(s.domains[2]).toEqual(withDom0.domains[2]);
    expect(withDom0.domains[1]!.workload).toMatchObject({ kind: 'update-vs-access', updatesPerKiloAccess: 3 });
  });

  it('keeps the scenario’s other parameters when the chosen kind is the scenario’s own', () => {
    expect(chosenWorkload(withDom0, { source: 'kind', kind: 'update-vs-access', main: 50 })).toEqual({
      kind: 'update-vs-access',
      workingSetMiB: 128,
      accesses: 1000,
      updatesPerKiloAccess: 50,
      updateKind: 'protect',
    });
    expect(chosenWorkload(withDom0, { source: 'scenario' })).toEqual(withDom0.domains[1]!.workload);
  });

  it('offers only defaults that validate in the default scenario’s 256 MiB guest', () => {
    for (const k of COMPARE_KINDS) {
      const s = compareScenario(DEFAULT_SCENARIO, { source: 'kind', kind: k.kind, main: k.defaults[k.main] as number });
      const v = validateScenario(s);
      expect(v.ok ? [] : v.problems, k.kind).toEqual([]);
      expect(numericParams(k.defaults), k.kind).toContain(k.main);
    }
  });

  it('lists the numeric parameters a sweep can vary', () => {
    expect(numericParams({ kind: 'update-vs-access', workingSetMiB: 64, accesses: 1, updatesPerKiloAccess: 2, updateKind: 'mix' })).toEqual([
      'workingSetMiB',
      'accesses',
      'updatesPerKiloAccess',
    ]);
    expect(numericParams({ kind: 'idle' })).toEqual([]);
  });
});

describe('compare: sweep values', () => {
  it('reads commas, spaces or semicolons, and says which item is wrong', () => {
    expect(parseValues('0, 1,2 5;10')).toEqual({ ok: true, values: [0, 1, 2, 5, 10] });
    expect(parseValues('0.5 1e2')).toEqual({ ok: true, values: [0.5, 100] });
    expect(parseValues('1, x')).toEqual({ ok: false, message: '"x" is not a number' });
    expect(parseValues('1, 2, 1')).toEqual({ ok: false, message: '1 is listed twice' });
    expect(parseValues(' ')).toMatchObject({ ok: false });
  });

  it('offers the C8 ratios for updates, and a spread around the current value otherwise', () => {
    expect(defaultSweep('updatesPerKiloAccess', 20)).toEqual([0, 1, 2, 5, 10, 20, 50, 100]);
    expect(defaultSweep('pages', 2000)).toEqual([500, 1000, 2000, 4000, 8000]);
    expect(defaultSweep('jobs', 1)).toEqual([1, 2, 4]);
  });
});

describe('compare: naming and export helpers', () => {
  it('names files compare-<workload>-… and describes a workload on one line', () => {
    expect(fileStem('update-vs-access')).toBe('compare-update-vs-access');
    expect(fileStem('a b/c')).toBe('compare-a-b-c');
    expect(describeWorkload({ kind: 'cold-walk', pages: 64 })).toBe('cold-walk · pages 64');
  });

  it('resolves CSS variables, fallbacks and nested var() for an exported file', () => {
    const vars: Record<string, string> = { '--mode-pv': ' #16a34a', '--a': 'var(--b)', '--b': 'red' };
    const look = (n: string) => vars[n] ?? '';
    expect(resolveVars('fill: var(--mode-pv); stroke: var(--nope, #123456)', look)).toBe('fill: #16a34a; stroke: #123456');
    expect(resolveVars('var(--a)', look)).toBe('red');
  });

  it('wraps a caption at spaces into lines of at most the given length', () => {
    const lines = wrapText('one two three four five six', 10);
    expect(lines).toEqual(['one two', 'three four', 'five six']);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(10);
  });
});

// The walk view's logic: where each reference of a traced walk sits in the guest × host grid, the
// architectural count it is measured against, stepping, the address field, the what-if copy.
import { describe, expect, it } from 'vitest';
import { validateScenario, type ScenarioInput } from '../../core/api/index.js';
import { EDIT_SCENARIO } from './scenarioLab.js';
import {
  applyStep,
  cellOf,
  countSources,
  expectedRefs,
  fmtPageSize,
  keyAction,
  parseVaInput,
  refFormula,
  scenarioSettings,
  shortHex,
  sortProblems,
  walkGrid,
  walkLevels,
  walkVariant,
} from '../../renderer/src/lib/walk.js';
import { nestedTrace, onedTrace } from './walkTraces.js';

describe('the nested walk grid', () => {
  it('puts the 24 references of a 4K/4K walk row by row: gL4…gL1 then the data gPA, hL4…hL1 then the read', () => {
    const g = walkGrid(nestedTrace('4k', '4k'));
    expect(g.rows.map((r) => r.label)).toEqual(['gL4', 'gL3', 'gL2', 'gL1', 'data gPA']);
    expect(g.cols.map((c) => c.label)).toEqual(['hL4', 'hL3', 'hL2', 'hL1', 'read']);
    // Written out by hand: 5 references per guest row (4 EPT reads, then the entry), 4 for the data row.
    const expected: [number, number][] = [
      [0, 0], [0, 1], [0, 2], [0, 3], [0, 4],
      [1, 0], [1, 1], [1, 2], [1, 3], [1, 4],
      [2, 0], [2, 1], [2, 2], [2, 3], [2, 4],
      [3, 0], [3, 1], [3, 2], [3, 3], [3, 4],
      [4, 0], [4, 1], [4, 2], [4, 3],
    ];
    expect(g.pos).toHaveLength(24);
    expected.forEach(([row, col], i) => expect(cellOf(g, i + 1), `reference ${i + 1}`).toEqual({ row, col }));
    expect(cellOf(g, 25)).toBeNull();
    expect(cellOf(g, 0)).toBeNull();
  });

  it('makes reference 24 the EPT level-1 read of the final gPA, and leaves the data × read corner empty', () => {
    const t = nestedTrace('4k', '4k');
    const g = walkGrid(t);
    const at = cellOf(g, 24)!;
    expect(g.rows[at.row]!.label).toBe('data gPA');
    expect(g.cols[at.col]!.label).toBe('hL1');
    expect(g.cells[at.row]![at.col]).toBe(t.refs[23]);
    expect(g.cells[4]![4]).toBeNull();
    expect(g.cells.flat().filter((c) => c !== null)).toHaveLength(24);
  });

  it('shortens rows and columns for 2 MiB pages on both sides: 15 cells in a 4 × 4 grid', () => {
    const g = walkGrid(nestedTrace('2m', '2m'));
    expect(g.rows.map((r) => r.label)).toEqual(['gL4', 'gL3', 'gL2', 'data gPA']);
    expect(g.cols.map((c) => c.label)).toEqual(['hL4', 'hL3', 'hL2', 'read']);
    expect(g.pos).toHaveLength(15);
    for (let n = 1; n <= 15; n++) expect(cellOf(g, n)).toEqual({ row: Math.floor((n - 1) / 4), col: (n - 1) % 4 });
    expect(g.cells.flat().filter((c) => c !== null)).toHaveLength(15);
  });

  it('drops only the host hL1 column for 4 KiB guest pages over 2 MiB host pages: 19 cells', () => {
    const g = walkGrid(nestedTrace('4k', '2m'));
    expect(g.rows).toHaveLength(5);
    expect(g.cols.map((c) => c.label)).toEqual(['hL4', 'hL3', 'hL2', 'read']);
    expect(g.pos).toHaveLength(19);
    expect(cellOf(g, 19)).toEqual({ row: 4, col: 2 });
    expect(cellOf(g, 4)).toEqual({ row: 0, col: 3 });
  });

  it('keeps the full grid for a walk that faults, with the cells it never reached empty', () => {
    const t = nestedTrace('4k', '4k', { stopAfter: 5 });
    const g = walkGrid(t);
    expect(g.rows).toHaveLength(5);
    expect(g.cols).toHaveLength(5);
    expect(g.cells.flat().filter((c) => c !== null)).toHaveLength(5);
    expect(cellOf(g, 5)).toEqual({ row: 0, col: 4 });
  });
});

describe('the one-dimensional walk', () => {
  it('collapses to one row of 4 for PV, shadow and native with 4 KiB pages', () => {
    for (const mode of ['pv', 'shadow', 'native'] as const) {
      const g = walkGrid(onedTrace(mode));
      expect(g.kind).toBe('oned');
      expect(g.rows).toHaveLength(1);
      expect(g.cols.map((c) => c.label)).toEqual(['L4', 'L3', 'L2', 'L1']);
      for (let n = 1; n <= 4; n++) expect(cellOf(g, n)).toEqual({ row: 0, col: n - 1 });
    }
    expect(walkGrid(onedTrace('shadow')).rows[0]!.label).toBe('shadow tables');
  });

  it('has 3 columns for a native walk that ends at a 2 MiB page', () => {
    const g = walkGrid(onedTrace('native', '2m'));
    expect(g.cols.map((c) => c.label)).toEqual(['L4', 'L3', 'L2']);
    expect(g.pos).toHaveLength(3);
  });
});

describe('the architectural count', () => {
  it('is (n+1)(m+1)−1 nested and n in one dimension', () => {
    expect(expectedRefs(4, 4)).toBe(24);
    expect(expectedRefs(4, 3)).toBe(19);
    expect(expectedRefs(3, 4)).toBe(19);
    expect(expectedRefs(3, 3)).toBe(15);
    expect(expectedRefs(2, 2)).toBe(8);
    expect(expectedRefs(4, 0)).toBe(4);
    expect(refFormula(4, 4)).toBe('(4+1)(4+1)−1 = 24');
    expect(refFormula(3, 3)).toBe('(3+1)(3+1)−1 = 15');
    expect(refFormula(4, 0)).toBe('4 levels = 4');
  });

  it('counts levels from the mode and page sizes: PV and shadow always walk 4 levels', () => {
    expect(walkLevels('hap', '4k', '4k')).toEqual({ n: 4, m: 4 });
    expect(walkLevels('hap', '2m', '2m')).toEqual({ n: 3, m: 3 });
    expect(walkLevels('hap', '4k', '1g')).toEqual({ n: 4, m: 2 });
    expect(walkLevels('pv', '4k', '4k')).toEqual({ n: 4, m: 0 });
    expect(walkLevels('shadow', '2m', '4k')).toEqual({ n: 4, m: 0 });
    expect(walkLevels('native', '2m', '4k')).toEqual({ n: 3, m: 0 });
    // The hand-built traces agree with the formula.
    for (const [g, h] of [['4k', '4k'], ['2m', '2m'], ['4k', '2m'], ['2m', '4k']] as const) {
      const { n, m } = walkLevels('hap', g, h);
      expect(nestedTrace(g, h).refs).toHaveLength(expectedRefs(n, m));
    }
  });

  it('splits the references so far by what served them', () => {
    const t = nestedTrace('4k', '4k', { servedBy: (n) => (n <= 19 ? 'psc' : n === 20 ? 'data-cache' : 'nested-tlb') });
    expect(countSources(t.refs, 24)).toEqual({ memory: 0, 'data-cache': 1, psc: 19, 'nested-tlb': 4 });
    expect(countSources(t.refs, 10)).toEqual({ memory: 0, 'data-cache': 0, psc: 10, 'nested-tlb': 0 });
    expect(countSources(t.refs, 0)).toEqual({ memory: 0, 'data-cache': 0, psc: 0, 'nested-tlb': 0 });
  });
});

describe('stepping', () => {
  it('steps within 0…total and jumps to either end', () => {
    expect(applyStep(0, 24, 'step')).toBe(1);
    expect(applyStep(24, 24, 'step')).toBe(24);
    expect(applyStep(1, 24, 'back')).toBe(0);
    expect(applyStep(0, 24, 'back')).toBe(0);
    expect(applyStep(7, 24, 'end')).toBe(24);
    expect(applyStep(7, 24, 'reset')).toBe(0);
  });

  it('maps the grid keys: → ← Space Home End', () => {
    expect(keyAction('ArrowRight')).toBe('step');
    expect(keyAction('ArrowLeft')).toBe('back');
    expect(keyAction(' ')).toBe('toggle');
    expect(keyAction('Home')).toBe('reset');
    expect(keyAction('End')).toBe('end');
    expect(keyAction('a')).toBeNull();
  });
});

describe('the address field', () => {
  it('takes an empty field as "the first mapped page"', () => {
    expect(parseVaInput('  ')).toEqual({ ok: true, va: undefined });
  });

  it('takes a 48-bit address with or without 0x, in either case, with _ separators', () => {
    expect(parseVaInput('0x7effff800000')).toEqual({ ok: true, va: '0x7effff800000' });
    expect(parseVaInput('7EFFFF800000')).toEqual({ ok: true, va: '0x7effff800000' });
    expect(parseVaInput('0x7eff_ff80_0000')).toEqual({ ok: true, va: '0x7effff800000' });
    expect(parseVaInput('0x880000000000')).toEqual({ ok: true, va: '0x880000000000' });
  });

  it('takes a canonical 64-bit address and gives its 48-bit form', () => {
    expect(parseVaInput('0xffff880000000000')).toEqual({ ok: true, va: '0x880000000000' });
    expect(parseVaInput('0x00007effff800000')).toEqual({ ok: true, va: '0x7effff800000' });
  });

  it('refuses non-hex, too long and non-canonical addresses, saying why', () => {
    const bad = (s: string) => {
      const r = parseVaInput(s);
      expect(r.ok, s).toBe(false);
      return r.ok ? '' : r.message;
    };
    expect(bad('0x12g4')).toMatch(/not hex/);
    expect(bad('0x1ffff880000000000')).toMatch(/too long/);
    expect(bad('0x0001000000000000')).toMatch(/not canonical/);
    expect(bad('0xffff7fffffffffff')).toMatch(/not canonical/);
    // Bit 47 set but not copied into bits 63–48.
    expect(bad('0x0000880000000000')).toMatch(/not canonical/);
  });
});

describe('the what-if copy of the scenario', () => {
  // The two-guest scenario these tests were written for (the start-up scenario before issue 10).
  const scenario = (): ScenarioInput => structuredClone(EDIT_SCENARIO);

  it('reads the settings from the scenario, with the MMU defaults where it says nothing', () => {
    expect(scenarioSettings(scenario(), 'g2')).toEqual({ psc: true, nestedTlb: true, guestPageSize: '4k', hostPageSize: '4k' });
  });

  it('changes the copy, the chosen domain only, and never the scenario being edited', () => {
    const s = scenario();
    const before = structuredClone(s);
    const v = walkVariant(s, 'g2', { psc: false, nestedTlb: false, guestPageSize: '4k', hostPageSize: '2m' });
    expect(s).toEqual(before);
    expect(v.machine.mmu?.psc?.enabled).toBe(false);
    expect(v.machine.mmu?.nestedTlb?.enabled).toBe(false);
    expect(v.domains.find((d) => d.name === 'g2')!.hostPageSize).toBe('2m');
    expect(v.domains.find((d) => d.name === 'g1')!.hostPageSize).toBe('4k');
    expect(validateScenario(v).ok).toBe(true);
  });

  it('explains at the field why a PV guest cannot have 2 MiB pages', () => {
    const v = walkVariant(scenario(), 'g1', { psc: true, nestedTlb: true, guestPageSize: '2m', hostPageSize: '4k' });
    const r = validateScenario(v);
    expect(r.ok).toBe(false);
    const p = sortProblems(r.ok ? [] : r.problems, 0);
    expect(p.guestPageSize).toMatch(/PV guests get no superpages/);
    expect(p.hostPageSize).toBeNull();
    expect(p.other).toEqual([]);
  });
});

describe('formatting', () => {
  it('drops leading zeros for a cell and names page sizes', () => {
    expect(shortHex('0x0000000042001007')).toBe('0x42001007');
    expect(shortHex('0x800000000effa027')).toBe('0x800000000effa027');
    expect(fmtPageSize(4096)).toBe('4 KiB');
    expect(fmtPageSize(2 ** 21)).toBe('2 MiB');
    expect(fmtPageSize(2 ** 30)).toBe('1 GiB');
  });
});

/**
 * Lab sheets: the validator names the field of every problem, the path language finds what it
 * says, the check operators compare as documented, and the built-in sheets are valid, one per
 * claim. Expected values are written from the format's documentation, not from any run.
 */
import { describe, expect, it } from 'vitest';
import { evaluateExpectation, evaluateSheet, lookupPath, parsePath, passCount, validateSheet, type LabSheet } from '../../core/api/labs.js';
import { BUILTIN_SHEETS, BUILTIN_SHEET_PROBLEMS, PRESET_IDS } from '../../core/api/labSheets.js';
import { validateScenario } from '../../core/api/index.js';
import { PRESETS } from '../../core/api/presets.js';
import { runScenario } from '../../core/sim/run.js';
import { LAB_REPORT_FORMAT, chartSvg, parseLabReport, reportHtml, summarizeReports, type LabReportData } from '../../core/api/labReport.js';

const good = (): LabSheet => ({
  id: 'demo',
  claim: 'C7',
  title: 'Demo',
  steps: [
    { kind: 'read', quote: 'q', source: 's' },
    { kind: 'setup', preset: 'walk-4k' },
    { kind: 'predict', question: 'how many?', choices: ['4', '24'], answer: '24' },
    { kind: 'run' },
    { kind: 'check', expect: [{ path: 'domains[hap].walk.refsPerWalk', op: '==', value: 24, explain: 'x' }] },
  ],
});

/** A small results document written by hand. */
const RESULTS = {
  hypervisor: 'xen',
  audit: { ok: true, violations: [] },
  domains: [
    { name: 'pv', mode: 'pv', ops: 10, cycles: { total: 1000, guest: 600, hypervisor: 300, walk: 100, perOp: 100 }, walk: { refsPerWalk: 4 }, vmexits: { byReason: { EPT_VIOLATION: 0 } } },
    { name: 'hap', mode: 'hap', ops: 10, cycles: { total: 2400, guest: 1000, hypervisor: 200, walk: 1200, perOp: 240 }, walk: { refsPerWalk: 24 }, vmexits: { byReason: { EPT_VIOLATION: 7 } } },
    { name: 'Domain-0', mode: 'pv', ops: 0, cycles: { total: 0, guest: 0, hypervisor: 0, walk: 0, perOp: 0 }, walk: { refsPerWalk: 0 } },
  ],
  devices: [{ id: 'disk0', owner: 'pv' }],
};

describe('validateSheet', () => {
  it('accepts a well-formed sheet', () => {
    expect(validateSheet(good(), ['walk-4k'])).toEqual({ ok: true, sheet: good() });
  });

  const problems = (doc: unknown, presets?: string[]) => {
    const v = validateSheet(doc, presets);
    return v.ok ? [] : v.problems;
  };

  it('names the field path of each problem', () => {
    const s = good() as unknown as { steps: Record<string, unknown>[]; claim: string };
    s.claim = 'C10';
    (s.steps[4]!.expect as Record<string, unknown>[])[0]!.op = '≈';
    (s.steps[2] as Record<string, unknown>).answer = '5';
    expect(problems(s).map((p) => p.path)).toEqual(['claim', 'steps[2].answer', 'steps[4].expect[0].op']);
  });

  it('refuses an unknown preset, with the list of presets', () => {
    const p = problems(good(), ['walk-2m']);
    expect(p).toHaveLength(1);
    expect(p[0]!.path).toBe('steps[1].preset');
    expect(p[0]!.message).toContain('walk-2m');
  });

  it('requires predictions before the run and checks after it', () => {
    const s = good();
    s.steps = [s.steps[1]!, s.steps[3]!, s.steps[2]!, s.steps[4]!];
    expect(problems(s)).toEqual([{ path: 'steps[2]', message: 'a prediction is recorded before the run: move it above the run step' }]);
    const noCheck = good();
    noCheck.steps.pop();
    expect(problems(noCheck).map((p) => p.message)).toEqual(['a sheet needs at least one check step (after the run)']);
  });

  it('refuses bad expectations: between without a pair, ">" with text, a broken path, no explanation', () => {
    const s = good();
    s.steps[4] = {
      kind: 'check',
      expect: [
        { path: 'a', op: 'between', value: 3, explain: 'x' },
        { path: 'a', op: '>', value: 'big', explain: 'x' },
        { path: 'domains[].ops', op: '==', value: 1, explain: 'x' },
        { path: 'a', op: '==', value: 1, explain: '' },
      ],
    } as LabSheet['steps'][number];
    expect(problems(s).map((p) => p.path)).toEqual(['steps[4].expect[0].value', 'steps[4].expect[1].value', 'steps[4].expect[2].path', 'steps[4].expect[3].explain']);
  });

  it('refuses what is not a sheet without throwing', () => {
    for (const doc of [null, 42, 'x', [], { id: 'a' }]) expect(validateSheet(doc).ok).toBe(false);
    expect(problems({ id: 'a', claim: 'C1', title: 't', steps: [{ kind: 'dance' }] }).map((p) => p.path)).toContain('steps[0].kind');
    expect(problems({ ...good(), extra: 1 }).map((p) => p.path)).toEqual(['extra']);
  });
});

describe('the path language', () => {
  it('splits names, name selectors and indices', () => {
    expect(parsePath('domains[g1].integrity.framesCorrupted')).toEqual({ ok: true, parts: [{ field: 'domains' }, { select: 'g1' }, { field: 'integrity' }, { field: 'framesCorrupted' }] });
    expect(parsePath('timeline[0].ok')).toEqual({ ok: true, parts: [{ field: 'timeline' }, { index: 0 }, { field: 'ok' }] });
    for (const bad of ['', 'a..b', 'a.', '[x]', 'a[x', 'a b']) expect(parsePath(bad).ok).toBe(false);
  });

  it('selects list elements by name, then by id, and by index', () => {
    expect(lookupPath(RESULTS, 'domains[hap].walk.refsPerWalk')).toEqual({ ok: true, value: 24 });
    expect(lookupPath(RESULTS, 'domains[Domain-0].ops')).toEqual({ ok: true, value: 0 });
    expect(lookupPath(RESULTS, 'devices[disk0].owner')).toEqual({ ok: true, value: 'pv' });
    expect(lookupPath(RESULTS, 'domains[1].name')).toEqual({ ok: true, value: 'hap' });
    expect(lookupPath(RESULTS, 'domains[hap].vmexits.byReason.EPT_VIOLATION')).toEqual({ ok: true, value: 7 });
  });

  it('says which part found nothing', () => {
    const r = lookupPath(RESULTS, 'domains[g9].ops');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toBe('domains[g9]: no element named "g9" (there: pv, hap, Domain-0)');
    const f = lookupPath(RESULTS, 'domains[pv].relocation.moved');
    expect(!f.ok && f.message.startsWith('domains[pv].relocation: not in the results')).toBe(true);
    expect(lookupPath(RESULTS, 'domains[5]').ok).toBe(false);
  });
});

describe('evaluateExpectation', () => {
  const ev = (path: string, op: Parameters<typeof evaluateExpectation>[1]['op'], value: Parameters<typeof evaluateExpectation>[1]['value']) => evaluateExpectation(RESULTS, { path, op, value, explain: 'why' });

  it('compares numbers with each operator', () => {
    expect(ev('domains[hap].walk.refsPerWalk', '==', 24).pass).toBe(true);
    expect(ev('domains[hap].walk.refsPerWalk', '!=', 24).pass).toBe(false);
    expect(ev('domains[pv].walk.refsPerWalk', '<', 5).pass).toBe(true);
    expect(ev('domains[pv].walk.refsPerWalk', '<=', 4).pass).toBe(true);
    expect(ev('domains[pv].walk.refsPerWalk', '>', 4).pass).toBe(false);
    expect(ev('domains[pv].walk.refsPerWalk', '>=', 4).pass).toBe(true);
    expect(ev('domains[hap].walk.refsPerWalk', 'between', [23, 25]).pass).toBe(true);
    expect(ev('domains[hap].walk.refsPerWalk', 'between', [24, 24]).pass).toBe(true);
    expect(ev('domains[hap].walk.refsPerWalk', 'between', [1, 23.9]).pass).toBe(false);
  });

  it('compares text and booleans with == and !=', () => {
    expect(ev('devices[disk0].owner', '==', 'pv').pass).toBe(true);
    expect(ev('devices[disk0].owner', '!=', 'pv').pass).toBe(false);
    expect(ev('audit.ok', '==', true).pass).toBe(true);
  });

  it('compares with another place of the same results, and shows its value', () => {
    const c = ev('domains[hap].cycles.perOp', '>', { path: 'domains[pv].cycles.perOp' });
    expect(c).toMatchObject({ pass: true, observed: 240, expected: '> domains[pv].cycles.perOp (100)' });
  });

  it('fails with a reason, never throws, on a missing path or a wrong type', () => {
    expect(ev('domains[x].ops', '==', 1)).toMatchObject({ pass: false, observed: null, problem: 'domains[x]: no element named "x" (there: pv, hap, Domain-0)' });
    expect(ev('devices[disk0].owner', '>', 3)).toMatchObject({ pass: false, observed: 'pv' });
    expect(ev('domains[pv].walk', '==', 4).problem).toContain('not a number');
  });

  it('reports the explaining counters with their values', () => {
    const c = evaluateExpectation(RESULTS, { path: 'audit.ok', op: '==', value: true, explain: 'e', counters: ['domains[pv].cycles.hypervisor', 'nope'] });
    expect(evaluateExpectation({ a: [1.5, 2] }, { path: 'a', op: '!=', value: 0, explain: 'e', counters: ['a'] }).counters).toEqual([{ path: 'a', value: '[1.5, 2]' }]);
    expect(c.counters).toEqual([
      { path: 'domains[pv].cycles.hypervisor', value: 300 },
      { path: 'nope', value: null, problem: 'nope: not in the results (there: hypervisor, audit, domains, devices)' },
    ]);
  });

  it('evaluates every check step of a sheet and counts passes', () => {
    const s = good();
    const checks = evaluateSheet(s, RESULTS);
    expect(Object.keys(checks)).toEqual(['4']);
    expect(passCount(s, { sheetId: 'demo', predictions: {}, run: { at: 't', checks, chart: [] } })).toEqual({ passed: 1, total: 1 });
    expect(passCount(s, undefined)).toEqual({ passed: 0, total: 1 });
  });
});

describe('the built-in sheets', () => {
  it('are valid against the presets, one per claim C1…C9', () => {
    expect(BUILTIN_SHEET_PROBLEMS).toEqual([]);
    expect(BUILTIN_SHEETS.map((s) => s.claim)).toEqual(['C1', 'C2', 'C3', 'C4', 'C5', 'C6', 'C7', 'C8', 'C9']);
    for (const s of BUILTIN_SHEETS) {
      expect(s.steps.some((x) => x.kind === 'read')).toBe(true);
      const setup = s.steps.find((x) => x.kind === 'setup');
      expect(setup && setup.kind === 'setup' && PRESET_IDS.includes(setup.preset)).toBe(true);
    }
  });
});

describe('the exported report and the teacher summary', () => {
  const s = good();
  const progress = { sheetId: 'demo', predictions: { '2': '24' }, lockedAt: 't0', run: { at: 't1', checks: evaluateSheet(s, RESULTS), chart: [{ name: 'pv', mode: 'pv', guest: 60, hypervisor: 30, walk: 10 }] } };

  it('embeds its data, which the summary reads back', () => {
    const html = reportHtml({ sheet: s, student: 'Ada </script>', progress, appVersion: '1.0', exportedAt: '2026-01-01T00:00:00Z' });
    expect(html).toContain('<svg');
    expect(html).toContain('@media print');
    const r = parseLabReport(html);
    expect(r.ok && r.data).toMatchObject({ format: LAB_REPORT_FORMAT, student: 'Ada </script>', sheetId: 'demo', passed: 1, total: 1, ran: true, predictions: [{ question: 'how many?', answer: '24', expected: '24' }] });
  });

  it('refuses a file that is not a report', () => {
    expect(parseLabReport('<html></html>')).toEqual({ ok: false, message: 'not a Hyperlab lab report (no embedded report data)' });
    expect(parseLabReport('<script type="application/json" id="hyperlab-lab-report">{</script>').ok).toBe(false);
  });

  it('tabulates students × sheets, the later export of a pair replacing the earlier', () => {
    const d = (student: string, sheetId: string, claim: string, passed: number, at: string): LabReportData => ({ format: LAB_REPORT_FORMAT, student, sheetId, claim, title: sheetId, exportedAt: at, appVersion: '1', passed, total: 3, ran: true, predictions: [], checks: [] });
    const sum = summarizeReports([d('Bo', 'c7', 'C7', 1, 'a'), d('Ada', 'c1', 'C1', 3, 'a'), d('Bo', 'c7', 'C7', 3, 'b'), d('Ada', 'c7', 'C7', 2, 'a')]);
    expect(sum.students).toEqual(['Ada', 'Bo']);
    expect(sum.sheets.map((x) => x.sheetId)).toEqual(['c1', 'c7']);
    expect(sum.cells).toEqual({ Ada: { c1: { passed: 3, total: 3, ran: true }, c7: { passed: 2, total: 3, ran: true } }, Bo: { c7: { passed: 3, total: 3, ran: true } } });
  });

  it('draws one labelled bar per domain', () => {
    const svg = chartSvg([
      { name: 'pv', mode: 'pv', guest: 1, hypervisor: 1, walk: 2 },
      { name: 'hap', mode: 'hap', guest: 1, hypervisor: 0, walk: 0 },
    ]);
    expect(svg.match(/<text[^>]*text-anchor="end">[^<]*\((pv|hap)\)<\/text>/g)).toHaveLength(2);
    expect(chartSvg([])).toBe('');
  });
});

describe('the sheets of the new presets, against real runs', () => {
  // The presets added for the sheets (C2, C5, C9): each sheet's checks pass on its preset's run.
  // The other sheets' presets have their own tests (test/api/presets.test.ts) and run in the e2e test.
  for (const claim of ['C2', 'C5', 'C9']) {
    it(`${claim}: every check of the sheet passes`, () => {
      const sheet = BUILTIN_SHEETS.find((s) => s.claim === claim)!;
      const setup = sheet.steps.find((x) => x.kind === 'setup')!;
      const preset = PRESETS.find((p) => setup.kind === 'setup' && p.id === setup.preset)!;
      const v = validateScenario(preset.scenario);
      if (!v.ok) throw new Error(JSON.stringify(v.problems));
      const outcomes = Object.values(evaluateSheet(sheet, runScenario(v.scenario))).flat();
      expect(outcomes.filter((o) => !o.pass).map((o) => `${o.path} ${o.expected}: ${String(o.observed)} ${o.problem ?? ''}`)).toEqual([]);
    });
  }
});

// The History view: saved runs sorted, opened, noted, compared side by side, and deleted only after
// a confirmation.
import { cleanup, fireEvent, render, screen, within } from '@testing-library/svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { validateScenario, type HostApi, type Results, type RunDetail, type RunSummary } from '../../core/api/index.js';
import { runScenario } from '../../core/sim/run.js';
import { Lab } from '../../renderer/src/lib/lab.svelte.js';
import HistoryView from '../../renderer/src/views/HistoryView.svelte';
import WithLab from './WithLab.svelte';

function results(mode: 'pv' | 'hap', pages: number): Results {
  const v = validateScenario({
    name: `walk-${mode}`,
    machine: { memoryMiB: 1024, pcpus: 1 },
    hypervisor: 'xen',
    domains: [{ name: 'g1', mode, memoryMiB: 128, vcpus: 1, workload: { kind: 'cold-walk', pages } }],
  });
  if (!v.ok) throw new Error('bad scenario');
  return runScenario(v.scenario);
}

function detail(id: number, name: string, r: Results): RunDetail {
  const g = r.domains.find((d) => d.role === 'guest')!;
  return {
    id,
    scenarioName: name,
    modes: [g.mode],
    seed: 1,
    appVersion: 'test',
    startedAt: `2026-12-0${id}T10:00:00.000Z`,
    endedAt: null,
    status: 'finished',
    headline: { auditOk: true, simulatedCycles: r.simulatedCycles, domains: [{ name: 'g1', mode: g.mode, ops: g.ops, cyclesPerOp: g.cycles.perOp, refsPerWalk: g.walk.refsPerWalk, tlbMissRate: g.tlb.missRate }] },
    note: '',
    scenario: {},
    results: r,
    error: null,
    series: [],
    console: [],
    kind: 'run',
    compare: null,
  };
}

function setup(extra: RunDetail[] = []) {
  const runs = [detail(1, 'beta', results('pv', 16)), detail(2, 'alpha', results('hap', 16)), detail(3, 'gamma', results('pv', 32)), ...extra];
  const summaries = (): RunSummary[] => runs.map(({ scenario: _s, results: _r, error: _e, series: _x, console: _c, compare: _m, ...s }) => s);
  const host = {
    info: vi.fn(async () => ({ version: 'test', host: 'browser', dataDir: '/tmp/x', store: { ok: true } })),
    listRuns: vi.fn(async () => summaries()),
    getRun: vi.fn(async (id: number) => runs.find((r) => r.id === id) ?? null),
    setNote: vi.fn(async (id: number, note: string) => void (runs.find((r) => r.id === id)!.note = note)),
    deleteRun: vi.fn(async (id: number) => void runs.splice(runs.findIndex((r) => r.id === id), 1)),
    onMenu: () => () => {},
  } as unknown as HostApi;
  const lab = new Lab(host, () => ({ postMessage() {}, terminate() {}, onmessage: null }) as unknown as Worker);
  lab.runs = summaries();
  render(WithLab, { props: { lab, view: HistoryView } });
  return { lab, host, runs };
}

afterEach(() => cleanup());

/** A plain copy of reactive state. */
const $state_snapshot = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** Numbers as shown, without the thin-space thousands separators. */
const bare = (s: string | null | undefined) => (s ?? '').replace(/\u2009/g, '');

const rowIds = () => [...document.querySelectorAll('[data-testid="runs-table"] tbody tr[data-run-id]')].map((r) => Number(r.getAttribute('data-run-id')));

describe('History view', () => {
  it('lists saved runs newest first and sorts by a column when its header is pressed', async () => {
    setup();
    expect(rowIds()).toEqual([3, 2, 1]);
    await fireEvent.click(screen.getByRole('button', { name: 'scenario' }));
    expect(rowIds()).toEqual([2, 1, 3]); // alpha, beta, gamma
    await fireEvent.click(screen.getByRole('button', { name: /scenario/ }));
    expect(rowIds()).toEqual([3, 1, 2]);
  });

  it('shows each run’s headline: cycles per operation of its first guest', () => {
    const { runs } = setup();
    const cell = document.querySelector('tr[data-run-id="2"] [data-field="headline-cpo"]')!;
    expect(bare(cell.textContent)).toBe(runs[1]!.headline!.domains[0]!.cyclesPerOp.toFixed(1));
  });

  it('deletes a run only after the confirmation, and "Keep" keeps it', async () => {
    const { host } = setup();
    const row = () => document.querySelector<HTMLElement>('tr[data-run-id="1"]')!;
    await fireEvent.click(within(row()).getByRole('button', { name: 'Delete…' }));
    await fireEvent.click(within(row()).getByRole('button', { name: 'Keep' }));
    expect(host.deleteRun).not.toHaveBeenCalled();
    await fireEvent.click(within(row()).getByRole('button', { name: 'Delete…' }));
    await fireEvent.click(screen.getByTestId('confirm-delete'));
    await vi.waitFor(() => expect(rowIds()).toEqual([3, 2]));
    expect(host.deleteRun).toHaveBeenCalledWith(1);
  });

  it('opens a run with its results and saves a note on it', async () => {
    const { host, runs } = setup();
    await fireEvent.click(within(document.querySelector<HTMLElement>('tr[data-run-id="2"]')!).getByRole('button', { name: 'Open' }));
    const d = await screen.findByTestId('run-detail');
    expect(within(d).getByText(/Run #2 — alpha/)).toBeInTheDocument();
    const refs = d.querySelector('[data-result-domain="g1"] [data-field="refsPerWalk"]')!;
    // HAP with 4 KiB pages on both sides: (4+1)(4+1)-1 = 24 references per cold walk.
    expect(refs.textContent).toBe('24.00');
    await fireEvent.input(within(d).getByPlaceholderText('What did this run show?'), { target: { value: 'nested walks cost 6x' } });
    await fireEvent.click(within(d).getByRole('button', { name: 'Save note' }));
    await vi.waitFor(() => expect(host.setNote).toHaveBeenCalledWith(2, 'nested walks cost 6x'));
    expect(runs[1]!.note).toBe('nested walks cost 6x');
  });

  it('compares two ticked runs side by side, with the change in percent', async () => {
    const { runs } = setup();
    await fireEvent.click(screen.getByLabelText('select run 1'));
    await fireEvent.click(screen.getByLabelText('select run 2'));
    await fireEvent.click(screen.getByRole('button', { name: /Compare selected \(2\/2\)/ }));
    const diff = await screen.findByTestId('run-diff');
    const g1Rows = [...diff.querySelectorAll('tbody tr')].filter((tr) => tr.children[0]!.textContent!.startsWith('g1'));
    const row = g1Rows.find((tr) => tr.children[1]!.textContent === 'refs/walk')!;
    const cells = [...row.children].map((c) => bare(c.textContent));
    expect(cells[2]).toBe('4.00');
    expect(cells[3]).toBe('24.00');
    expect(cells[4]).toBe('+500.0 %');
    const a = runs[0]!.results!.domains.find((d) => d.name === 'g1')!.cycles.perOp;
    const b = runs[1]!.results!.domains.find((d) => d.name === 'g1')!.cycles.perOp;
    const cpo = g1Rows.find((tr) => tr.children[1]!.textContent === 'cycles/op')!;
    expect(bare(cpo.children[4]!.textContent)).toBe(`+${(((b - a) / a) * 100).toFixed(1)} %`);
  });

  it('opens a run whose saved points and console are odd without failing: gaps for bad values, escapes removed', async () => {
    const odd = detail(4, 'odd', results('pv', 16));
    odd.series = [
      { t: 300, domain: 'g1', values: { cyclesPerOp: 12 } },
      { t: 100, domain: 'g1', values: { cyclesPerOp: 10, tlbMissRate: 0.5 } },
      { t: 100, domain: 'g2', values: {} },
      null as unknown as RunDetail['series'][number],
      { t: Number.NaN, domain: 'g1', values: {} },
    ];
    odd.console = [
      { console: 'g1', text: '\x1b[1;32mroot@g1\x1b[0m:~# ls\r\n' },
      { console: 'dom0', text: 'xl list\r\nab\bc\n' },
      { console: 42, text: 'not a console' } as unknown as RunDetail['console'][number],
    ];
    setup([odd]);
    await fireEvent.click(within(document.querySelector<HTMLElement>('tr[data-run-id="4"]')!).getByRole('button', { name: 'Open' }));
    const d = await screen.findByTestId('run-detail');
    // Two distinct times with a finite t: two snapshots.
    expect(within(d).getByTestId('history-charts').getAttribute('data-points')).toBe('2');
    expect(d.querySelectorAll('[data-chart]')).toHaveLength(4);
    const logs = within(d).getByTestId('history-consoles');
    expect([...logs.querySelectorAll('[role="tab"]')].map((t) => t.textContent)).toEqual(['dom0', 'g1']);
    expect(logs.querySelector('pre[data-log="dom0"]')!.textContent).toBe('xl list\nac\n');
    await fireEvent.click(within(logs).getByRole('tab', { name: 'g1' }));
    expect(logs.querySelector('pre[data-log="g1"]')!.textContent).toBe('root@g1:~# ls\n');
    // As saved: 26 + 14 + 13 characters (escapes included; the count is of what the store holds).
    expect(within(d).getByTestId('saved-counts').textContent).toBe('5 saved metric points · 53 characters of console log');
  });

  it('opens a comparison whose saved outcome cannot be drawn and says so, instead of failing', async () => {
    const broken = { ...detail(5, 'cmp', results('pv', 16)), kind: 'compare' as const, results: null, compare: { guest: 'g1', result: { runs: [{ mode: 'pv', results: {} }] } } as unknown as RunDetail['compare'] };
    setup([broken]);
    expect(document.querySelector('tr[data-run-id="5"] [data-field="kind"]')!.textContent).toBe('compare');
    await fireEvent.click(within(document.querySelector<HTMLElement>('tr[data-run-id="5"]')!).getByRole('button', { name: 'Open' }));
    const d = await screen.findByTestId('run-detail');
    expect(within(d).getByRole('alert').textContent).toMatch(/^This comparison’s saved data cannot be drawn: /);
    expect(within(d).getByText(/Comparison #5 — cmp/)).toBeInTheDocument();
  });

  it('loads an opened run’s scenario into the editor, and refuses a snapshot that is no scenario', async () => {
    const good = detail(6, 'walk', results('hap', 16));
    good.scenario = { name: 'walk-again', machine: { memoryMiB: 1024, pcpus: 1 }, hypervisor: 'xen', domains: [{ name: 'g1', mode: 'hap', memoryMiB: 128, vcpus: 1, workload: { kind: 'cold-walk', pages: 16 } }] };
    const bad = detail(7, 'junk', results('pv', 16));
    bad.scenario = 'not a scenario';
    const { lab } = setup([good, bad]);
    lab.view = 'history';
    await fireEvent.click(within(document.querySelector<HTMLElement>('tr[data-run-id="7"]')!).getByRole('button', { name: 'Open' }));
    await fireEvent.click(within(await screen.findByTestId('run-detail')).getByRole('button', { name: 'Load scenario' }));
    expect(lab.view).toBe('history');
    expect(lab.notices.map((n) => n.text)).toContain('run #7 (junk) has no scenario to load (it needs "name", "machine", "hypervisor" and a "domains" list)');
    await fireEvent.click(within(document.querySelector<HTMLElement>('tr[data-run-id="6"]')!).getByRole('button', { name: 'Open' }));
    await vi.waitFor(() => expect(screen.getByText(/Run #6 — walk/)).toBeInTheDocument());
    await fireEvent.click(within(screen.getByTestId('run-detail')).getByRole('button', { name: 'Load scenario' }));
    expect(lab.view).toBe('scenario');
    expect($state_snapshot(lab.scenario)).toEqual(good.scenario);
    expect(lab.notices.at(-1)).toMatchObject({ kind: 'info', text: 'loaded the scenario of run #6 (walk) into the editor' });
  });
});

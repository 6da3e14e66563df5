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

function setup() {
  const runs = [detail(1, 'beta', results('pv', 16)), detail(2, 'alpha', results('hap', 16)), detail(3, 'gamma', results('pv', 32))];
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
});

// The Compare view mounted with a Lab whose worker is a fake the test answers: the request it
// sends, the bars, table, sweep and histograms it draws from a hand-made outcome, and its exports.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import type { WorkerRequest } from '../../core/api/index.js';
import CompareView from '../../renderer/src/views/CompareView.svelte';
import WithLab from './WithLab.svelte';
import { fakeLab, type FakeWorker } from './labFixture.js';
import { outcome } from './compareFixtures.js';

afterEach(() => cleanup());

function mount() {
  const f = fakeLab();
  const r = render(WithLab, { props: { lab: f.lab, view: CompareView } });
  return { ...f, ...r };
}

const lastCompare = (w: FakeWorker) => w.sent.filter((m): m is Extract<WorkerRequest, { type: 'compare' }> => m.type === 'compare').at(-1)!;

async function chooseUpdateVsAccess(rate: number): Promise<void> {
  await fireEvent.change(screen.getByTestId('compare-workload'), { target: { value: 'update-vs-access' } });
  const input = screen.getByTestId('compare-main-param') as HTMLInputElement;
  await fireEvent.input(input, { target: { value: String(rate) } });
}

describe('Compare view', () => {
  it('sends the first guest’s workload, as chosen, under the four checked modes, and shows progress', async () => {
    const { worker, lab } = mount();
    for (const m of ['native', 'pv', 'shadow', 'hap']) expect(document.querySelector(`[data-mode-check="${m}"]`)).toBeChecked();
    await chooseUpdateVsAccess(30);
    expect(screen.getByTestId('compare-run-count')).toHaveTextContent('4 runs');
    await fireEvent.click(screen.getByTestId('compare-run'));

    const req = lastCompare(worker);
    expect(req.modes).toEqual(['native', 'pv', 'shadow', 'hap']);
    expect(req.sweep).toBeUndefined();
    const s = req.scenario as { domains: { name: string; workload: Record<string, unknown> }[] };
    expect(s.domains[0]!.workload).toEqual({ kind: 'update-vs-access', workingSetMiB: 64, accesses: 20_000, updatesPerKiloAccess: 30, updateKind: 'mix' });
    // Only the first guest changes; the scenario being edited is left alone.
    expect(s.domains[1]!.workload).toEqual({ kind: 'cold-walk', pages: 2000 });
    expect(lab.scenario.domains[0]!.workload).toEqual({ kind: 'cold-walk', pages: 2000 });

    worker.emit({ type: 'compare-progress', id: lastCompare(worker).id, done: 1, total: 4, label: 'native' });
    await waitFor(() => expect(screen.getByTestId('compare-progress')).toHaveTextContent('1 / 4'));
    expect(screen.getByTestId('compare-progress')).toHaveTextContent('finished native');
    expect(screen.getByTestId('compare-run')).toBeDisabled();
  });

  it('draws one stacked bar per mode with its cycles per op, and the counters that differ most', async () => {
    const { worker } = mount();
    await chooseUpdateVsAccess(20);
    await fireEvent.click(screen.getByTestId('compare-run'));
    worker.emit({ type: 'compare-result', id: lastCompare(worker).id, ...outcome() });

    const bars = await screen.findByTestId('compare-bars');
    const bar = (m: string) => bars.querySelector(`[data-bar="${m}"]`)!;
    // (guest + hypervisor + walk) / ops from the fixture: 30, 70, 120, 85 cycles/op.
    expect(['native', 'pv', 'shadow', 'hap'].map((m) => bar(m).querySelector('[data-field="total"]')!.textContent)).toEqual(['30.0', '70.0', '120.0', '85.0']);
    // Every number on a bar says what it is; a segment too narrow for its label has none (the tooltip has it).
    expect(bar('pv').querySelector('[data-part="hypervisor"] title')!.textContent).toContain('hypervisor: 40.00 cycles/op');
    expect(bar('hap').querySelector('[data-part="walk"] title')!.textContent).toContain('page walk: 60.00 cycles/op');
    // …and its time at the fixture's 3 GHz clock: 120 cycles / 3 000 cycles per µs.
    expect(bar('shadow').querySelector('[data-label="total"]')!.textContent).toMatch(/^total 120.0 cyc\/op · 0.0400\u2009µs×4.00 vs cheapest/);
    expect(bar('native').querySelector('[data-field="relative"]')!.textContent).toBe('cheapest');
    for (const t of bars.querySelectorAll('[data-bar] [data-label]:not([data-label="total"])')) expect(t.textContent).toMatch(/^(guest|hypervisor|page walk) [\d.\u2009]+$/);
    // Native has no hypervisor segment at all.
    expect(bar('native').querySelector('[data-part="hypervisor"]')).toBeNull();
    expect(bar('shadow').querySelector('[data-part="hypervisor"] title')!.textContent).toBe('shadow · hypervisor: 90.00 cycles/op (75.0\u2009% of 120.00)');
    const legend = bars.querySelector<HTMLElement>('g.legend')!;
    expect(within(legend).getByText('guest')).toBeInTheDocument();
    expect(within(legend).getByText('page walk')).toBeInTheDocument();
    expect(within(bars).getByText('cycles per operation (simulated)')).toBeInTheDocument();

    const table = screen.getByTestId('why-table');
    const row = (k: string) => table.querySelector(`tr[data-counter="${k}"]`)!;
    // 100 mmu_update hypercalls over 1 000 ops = 100 per 1 000 ops, only under PV.
    expect(row('hypercall:mmu_update').querySelector('[data-mode="pv"]')!.textContent).toBe('100');
    expect(row('hypercall:mmu_update').querySelector('[data-mode="hap"]')!.textContent).toBe('0');
    expect(row('hypercall:mmu_update').querySelector('.spread')!.textContent).toBe('∞');
    // Walk references: 4×50+1×900+2×50 = 1 200 one-dimensional against 10+5×800+10×100+24×90 = 7 170 nested.
    expect(row('walkRefs').querySelector('[data-mode="hap"]')!.textContent).toBe('7\u2009170');
    expect(row('walkRefs').querySelector('[data-mode="hap"]')).toHaveClass('max');
    expect(row('walkRefs').querySelector('.spread')!.textContent).toBe('×6.0');
    // The top 12 are shown; the rest on asking. The counters equal in every mode (the same TLB misses,
    // updates and guest faults) come last.
    expect(table.querySelectorAll('tbody tr')).toHaveLength(12);
    await fireEvent.click(within(screen.getByTestId('compare-why')).getByRole('button', { name: 'Show all 14' }));
    const keys = [...table.querySelectorAll('tbody tr')].map((r) => r.getAttribute('data-counter'));
    expect(keys.slice(-3).sort()).toEqual(['pfGuest', 'ptUpdates', 'tlbMisses']);
    await fireEvent.change(within(screen.getByTestId('compare-why')).getByLabelText('Counter unit'), { target: { value: 'op' } });
    expect(row('hypercall:mmu_update').querySelector('[data-mode="pv"]')!.textContent).toBe('0.100');

    const walks = screen.getByTestId('compare-walks');
    const hap24 = walks.querySelector('[data-hist="hap"] rect[data-refs="24"]')!;
    expect(hap24.getAttribute('data-walks')).toBe('90');
    expect(hap24.querySelector('title')!.textContent).toBe('HAP: 90 walks took 24 references (9.0\u2009%)');
    expect(walks.querySelector('[data-hist="pv"] rect[data-refs="24"]')).toBeNull();
    // Mean references per walk from the histogram: 1 200 / 1 000 one-dimensional, 7 170 / 1 000 nested.
    expect(walks.querySelector('[data-hist="pv"]')).toHaveTextContent('mean 1.20 · 1 000 walks');
    expect(walks.querySelector('[data-hist="hap"]')).toHaveTextContent('mean 7.17 · 1 000 walks');
  });

  it('exports the bars as CSV under a name that says what they are', async () => {
    const { worker, saved } = mount();
    await chooseUpdateVsAccess(20);
    await fireEvent.click(screen.getByTestId('compare-run'));
    worker.emit({ type: 'compare-result', id: lastCompare(worker).id, ...outcome() });
    const bars = await screen.findByTestId('compare-bars');
    await fireEvent.click(bars.querySelector('[data-export="csv"]')!);
    await waitFor(() => expect(saved).toHaveLength(1));
    expect(saved[0]!.suggestedName).toBe('compare-update-vs-access-cycles.csv');
    const lines = saved[0]!.content.trim().split('\n').map((l) => l.split(','));
    expect(lines.slice(1).map((l) => [l[0], Number(l[5])])).toEqual([['native', 30], ['pv', 70], ['shadow', 120], ['hap', 85]]);
  });

  it('sweeps a parameter and labels where the modes cross', async () => {
    const { worker } = mount();
    await chooseUpdateVsAccess(20);
    await fireEvent.click(screen.getByTestId('compare-sweep-on'));
    expect(screen.getByTestId('compare-sweep-param')).toHaveValue('updatesPerKiloAccess');
    expect(screen.getByTestId('compare-sweep-values')).toHaveValue('0, 1, 2, 5, 10, 20, 50, 100');
    await fireEvent.input(screen.getByTestId('compare-sweep-values'), { target: { value: '0, 10, 100' } });
    expect(screen.getByTestId('compare-run-count')).toHaveTextContent('12 runs');
    await fireEvent.click(screen.getByTestId('compare-run'));
    expect(lastCompare(worker).sweep).toEqual({ param: 'updatesPerKiloAccess', values: [0, 10, 100] });

    // PV 10 → 50 → 310 and HAP 40 → 60 → 150: PV is cheaper at 0 and 10, dearer at 100. On the 10…100
    // segment PV − HAP goes from −10 to +160, so it is zero 10/170 of the way: x = 10 + 90·10/170 ≈ 15.29.
    const pts = [
      { value: 0, mode: 'pv' as const, cyclesPerOp: 10 },
      { value: 10, mode: 'pv' as const, cyclesPerOp: 50 },
      { value: 100, mode: 'pv' as const, cyclesPerOp: 310 },
      { value: 0, mode: 'hap' as const, cyclesPerOp: 40 },
      { value: 10, mode: 'hap' as const, cyclesPerOp: 60 },
      { value: 100, mode: 'hap' as const, cyclesPerOp: 150 },
    ];
    worker.emit({ type: 'compare-result', id: lastCompare(worker).id, ...outcome(['pv', 'hap'], { param: 'updatesPerKiloAccess', points: pts }) });
    const sweep = await screen.findByTestId('compare-sweep');
    const marks = sweep.querySelectorAll('[data-testid="crossover"]');
    expect(marks).toHaveLength(1);
    expect(Number(marks[0]!.getAttribute('data-x'))).toBeCloseTo(10 + (10 * 90) / 170, 9);
    expect(marks[0]!.textContent).toContain('PV = HAP at ≈ 15.3 updates/1k');
    expect(screen.getByTestId('crossover-list')).toHaveTextContent('PV = HAP at ≈ 15.3 updates/1k — PV cheaper below, HAP above');
    expect(sweep.querySelectorAll('[data-line]')).toHaveLength(2);
    expect(within(sweep).getByText(/page-table updates per 1\s000 accesses/)).toBeInTheDocument();
    expect(screen.getByTestId('compare-bars')).toHaveTextContent('at updatesPerKiloAccess = 0');

    // On a log y axis each segment is drawn as the image of the straight interpolation (16 steps),
    // so the ring still sits on both curves where they cross.
    const pointsOf = () => sweep.querySelector('[data-line="pv"] polyline')!.getAttribute('points')!.split(' ');
    expect(pointsOf()).toHaveLength(3);
    await fireEvent.change(within(sweep).getByLabelText('y-axis scale'), { target: { value: 'log' } });
    expect(pointsOf()).toHaveLength(1 + 2 * 16);
    expect(within(sweep).getByText('cycles per operation (log)')).toBeInTheDocument();
    const ring = sweep.querySelector('[data-testid="crossover"] circle')!;
    const [cx, cy] = [Number(ring.getAttribute('cx')), Number(ring.getAttribute('cy'))];
    for (const mode of ['pv', 'hap']) {
      const pts = sweep.querySelector(`[data-line="${mode}"] polyline`)!.getAttribute('points')!.split(' ').map((p) => p.split(',').map(Number) as [number, number]);
      const i = pts.findIndex(([x], k) => k > 0 && x >= cx);
      const [[x0, y0], [x1, y1]] = [pts[i - 1]!, pts[i]!];
      expect(Math.abs(y0 + ((cx - x0) / (x1 - x0)) * (y1 - y0) - cy), mode).toBeLessThan(1.5);
    }
  });

  it('lists skipped modes with their reason, and says what stops a comparison from starting', async () => {
    const { worker, lab } = mount();
    await fireEvent.click(screen.getByTestId('compare-run'));
    const o = outcome(['pv', 'hap']);
    o.result.skipped = [{ mode: 'shadow', reason: 'domains[0].guestPageSize: shadow mode splinters guest superpages' }];
    worker.emit({ type: 'compare-result', id: lastCompare(worker).id, ...o });
    expect(await screen.findByTestId('compare-skipped')).toHaveTextContent('shadow skipped: domains[0].guestPageSize: shadow mode splinters guest superpages');

    for (const m of ['native', 'pv', 'shadow', 'hap']) await fireEvent.click(document.querySelector(`[data-mode-check="${m}"]`)!);
    expect(screen.getByTestId('compare-problems')).toHaveTextContent('modes: choose at least one paging mode');
    expect(screen.getByTestId('compare-run')).toBeDisabled();

    await fireEvent.click(document.querySelector('[data-mode-check="pv"]')!);
    await fireEvent.click(screen.getByTestId('compare-sweep-on'));
    // The scenario's own cold-walk has one numeric parameter; its first sweep spreads around 2 000 pages.
    expect(screen.getByTestId('compare-sweep-param')).toHaveValue('pages');
    expect(screen.getByTestId('compare-sweep-values')).toHaveValue('500, 1000, 2000, 4000, 8000');
    await fireEvent.input(screen.getByTestId('compare-sweep-values'), { target: { value: '1, two' } });
    expect(screen.getByTestId('compare-problems')).toHaveTextContent('sweep.values: "two" is not a number');
    // A value the scenario schema refuses is named with its field path before anything runs.
    await fireEvent.input(screen.getByTestId('compare-sweep-values'), { target: { value: '1, 999999' } });
    expect(screen.getByTestId('compare-problems')).toHaveTextContent('domains[0].workload.pages');
    expect(screen.getByTestId('compare-problems')).toHaveTextContent('(at pages = 999999)');
    await fireEvent.click(screen.getByRole('button', { name: 'Open the Scenario view' }));
    expect(lab.view).toBe('scenario');
  });

  it('cancels: asks the worker to stop and says so quietly, keeping the last charts', async () => {
    const { worker } = mount();
    await fireEvent.click(screen.getByTestId('compare-run'));
    worker.emit({ type: 'compare-result', id: lastCompare(worker).id, ...outcome() });
    await screen.findByTestId('compare-bars');
    await fireEvent.click(screen.getByTestId('compare-run'));
    await fireEvent.click(screen.getByTestId('compare-cancel'));
    expect(worker.sent.at(-1)).toEqual({ type: 'cancel-compare', id: lastCompare(worker).id });
    worker.emit({ type: 'error', id: lastCompare(worker).id, where: 'compare', message: 'compare cancelled' });
    expect(await screen.findByText(/Comparison cancelled/)).toBeInTheDocument();
    expect(screen.queryByTestId('compare-error')).toBeNull();
    expect(screen.getByTestId('compare-bars')).toBeInTheDocument();
  });

  it('shows a worker failure where the comparison is, with what to do', async () => {
    const { worker } = mount();
    await fireEvent.click(screen.getByTestId('compare-run'));
    worker.emit({ type: 'error', id: lastCompare(worker).id, where: 'compare', message: 'the scenario to compare is not valid' });
    expect(await screen.findByTestId('compare-error')).toHaveTextContent('The comparison failed: the scenario to compare is not valid. Check the scenario');
  });
});

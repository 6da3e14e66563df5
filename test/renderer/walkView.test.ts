// The walk view mounted with a fake Lab whose worker answers with hand-built traces: stepping,
// keys, the what-if toggles (a copy of the scenario, never the one being edited), the address
// field, and the worker's errors shown in place.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { tick } from 'svelte';
import type { HostApi, ScenarioInput, WalkTrace } from '../../core/api/index.js';
import { Lab } from '../../renderer/src/lib/lab.svelte.js';
import { EDIT_SCENARIO } from './scenarioLab.js';
import WalkView from '../../renderer/src/views/WalkView.svelte';
import WithLab from './WithLab.svelte';
import { nestedTrace, onedTrace } from './walkTraces.js';

const host: HostApi = {
  info: async () => ({ version: 'test', host: 'browser', store: { ok: true } }) as never,
  listRuns: async () => [],
  getRun: async () => null,
  beginRun: async () => ({ id: 1 }),
  renewLease: async () => {},
  appendSeries: async () => {},
  appendConsole: async () => {},
  finishRun: async () => {},
  setNote: async () => {},
  deleteRun: async () => {},
  saveCompare: async () => ({ id: 1 }),
  listScenarios: async () => [],
  saveScenario: async () => ({ id: 1 }),
  deleteScenario: async () => {},
  exportRun: async () => ({ filename: 'x.json', content: '{}' }),
  importRun: async () => ({ id: 1 }),
  listLabStudents: async () => [],
  getLabProgress: async () => [],
  saveLabProgress: async () => {},
  saveFile: async () => ({ saved: false }),
  openFile: async () => null,
  onMenu: () => () => {},
};

type WalkCall = { scenario: ScenarioInput; domain: string; opts: { va?: string; warm?: boolean; write?: boolean } };

/** A Lab with a stub worker; its sim.walk answers from `answer` (a nested 4K/4K trace by default). */
function fakeLab(answer: (c: WalkCall) => WalkTrace | Promise<WalkTrace> = () => nestedTrace('4k', '4k')) {
  const stub = { postMessage() {}, terminate() {}, onmessage: null, onerror: null, onmessageerror: null };
  const lab = new Lab(host, () => stub as unknown as Worker);
  // The two-guest scenario these tests were written for (the start-up scenario before issue 10).
  lab.scenario = structuredClone(EDIT_SCENARIO);
  const calls: WalkCall[] = [];
  lab.sim.walk = vi.fn(async (scenario: unknown, domain: string, opts = {}) => {
    const c = { scenario: structuredClone(scenario) as ScenarioInput, domain, opts };
    calls.push(c);
    return { trace: await answer(c), candidates: ['0x7effff800000', '0x7effff801000'] };
  });
  return { lab, calls };
}

async function mount(lab: Lab) {
  render(WithLab, { props: { lab, view: WalkView, props: { visible: true } } });
  await screen.findByTestId('walk-count');
}

const count = () => screen.getByTestId('walk-count').textContent;
const cell = (n: number) => document.querySelector(`[data-n="${n}"]`) as HTMLElement;
const current = () => document.querySelector('[aria-current="step"]')?.getAttribute('data-n') ?? null;

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

describe('the walk view', () => {
  it('walks the HAP guest by default and draws 24 cells, none made yet', async () => {
    const { lab, calls } = fakeLab();
    await mount(lab);
    expect(calls[0]!.domain).toBe('g2');
    expect(document.querySelectorAll('[data-n]')).toHaveLength(24);
    expect(count()).toBe('0 / 24');
    expect(screen.getByTestId('walk-formula').textContent).toBe('(n+1)(m+1)−1 = (4+1)(4+1)−1 = 24');
    expect(current()).toBeNull();
  });

  it('shows "24 / 24" and cell 24 active after 24 steps; Back goes to 23; End jumps to 24', async () => {
    const { lab } = fakeLab();
    await mount(lab);
    const step = screen.getByTestId('walk-step');
    for (let i = 1; i <= 24; i++) {
      await fireEvent.click(step);
      expect(count()).toBe(`${i} / 24`);
      expect(current()).toBe(String(i));
    }
    expect(cell(24).dataset.rowLabel).toBe('data gPA');
    expect(cell(24).dataset.colLabel).toBe('hL1');
    expect(cell(24).dataset.state).toBe('current');
    expect(cell(23).dataset.state).toBe('done');
    expect(step).toBeDisabled();
    expect(screen.getByTestId('walk-result-cell')).toHaveTextContent('0x30ffa000');

    await fireEvent.click(screen.getByTestId('walk-back'));
    expect(count()).toBe('23 / 24');
    expect(current()).toBe('23');
    expect(cell(24).dataset.state).toBe('future');

    await fireEvent.click(screen.getByTestId('walk-reset'));
    expect(count()).toBe('0 / 24');
    await fireEvent.click(screen.getByTestId('walk-end'));
    expect(count()).toBe('24 / 24');
    expect(current()).toBe('24');
  });

  it('shows the current reference in the detail panel with its decoded entry and what served it', async () => {
    const t = nestedTrace('4k', '4k');
    const { lab } = fakeLab(() => t);
    await mount(lab);
    for (let i = 0; i < 7; i++) await fireEvent.click(screen.getByTestId('walk-step'));
    const detail = screen.getByTestId('walk-detail');
    expect(detail).toHaveTextContent('#7 of 24');
    expect(detail).toHaveTextContent('gL3 × hL3');
    expect(screen.getByTestId('walk-detail-maddr').textContent).toBe(t.refs[6]!.maddr);
    expect(screen.getByTestId('walk-detail-decoded').textContent).toBe(t.refs[6]!.decoded);
    expect(detail.querySelector('[data-source]')?.getAttribute('data-source')).toBe(t.refs[6]!.servedBy);
    // Every made cell names its source in text, not only by colour.
    expect(cell(1)).toHaveTextContent('memory');
    expect(cell(6)).toHaveTextContent('data cache');
  });

  it('steps with the keyboard when the grid has focus: → ← End Home', async () => {
    const { lab } = fakeLab();
    await mount(lab);
    const grid = screen.getByTestId('walk-grid');
    grid.focus();
    expect(document.activeElement).toBe(grid);
    await fireEvent.keyDown(grid, { key: 'ArrowRight' });
    await fireEvent.keyDown(grid, { key: 'ArrowRight' });
    expect(count()).toBe('2 / 24');
    await fireEvent.keyDown(grid, { key: 'ArrowLeft' });
    expect(count()).toBe('1 / 24');
    await fireEvent.keyDown(grid, { key: 'End' });
    expect(count()).toBe('24 / 24');
    expect(current()).toBe('24');
    await fireEvent.keyDown(grid, { key: 'Home' });
    expect(count()).toBe('0 / 24');
  });

  it('plays at its pace with Space and pauses with Space again', async () => {
    const { lab } = fakeLab();
    await mount(lab);
    vi.useFakeTimers();
    const grid = screen.getByTestId('walk-grid');
    await fireEvent.keyDown(grid, { key: ' ' });
    expect(screen.getByTestId('walk-play')).toHaveAttribute('aria-pressed', 'true');
    vi.advanceTimersByTime(700 * 3 + 10);
    await tick();
    expect(count()).toBe('3 / 24');
    await fireEvent.keyDown(grid, { key: ' ' });
    vi.advanceTimersByTime(700 * 5);
    await tick();
    expect(count()).toBe('3 / 24');
    expect(screen.getByTestId('walk-play')).toHaveAttribute('aria-pressed', 'false');
  });

  it('collapses to one row of 4 for a PV guest', async () => {
    const { lab } = fakeLab((c) => (c.domain === 'g1' ? onedTrace('pv') : nestedTrace('4k', '4k')));
    await mount(lab);
    await fireEvent.change(screen.getByTestId('walk-domain'), { target: { value: 'g1' } });
    await waitFor(() => expect(count()).toBe('0 / 4'));
    expect(document.querySelectorAll('[data-n]')).toHaveLength(4);
    expect(document.querySelectorAll('[data-testid="walk-grid"] tbody tr')).toHaveLength(1);
    expect(screen.getByTestId('walk-formula').textContent).toBe('4 levels = 4');
    expect(screen.getByTestId('walk-ntlb')).toBeDisabled();
  });

  it('re-requests on a copy of the scenario when the host page size changes, leaving lab.scenario alone until Apply', async () => {
    const { lab, calls } = fakeLab((c) => {
      const d = c.scenario.domains.find((x) => x.name === c.domain)!;
      return nestedTrace(d.guestPageSize ?? '4k', d.hostPageSize ?? '4k');
    });
    await mount(lab);
    await fireEvent.change(screen.getByTestId('walk-host-page'), { target: { value: '2m' } });
    await waitFor(() => expect(count()).toBe('0 / 19'));
    expect(calls.at(-1)!.scenario.domains.find((d) => d.name === 'g2')!.hostPageSize).toBe('2m');
    expect(lab.scenario.domains.find((d) => d.name === 'g2')!.hostPageSize).toBe('4k');
    expect(document.querySelectorAll('[data-n]')).toHaveLength(19);

    await fireEvent.click(screen.getByTestId('walk-psc'));
    await waitFor(() => expect(calls.at(-1)!.scenario.machine.mmu?.psc?.enabled).toBe(false));
    expect(lab.scenario.machine.mmu).toBeUndefined();

    await fireEvent.click(screen.getByTestId('walk-apply'));
    expect(lab.scenario.domains.find((d) => d.name === 'g2')!.hostPageSize).toBe('2m');
    expect(lab.scenario.machine.mmu?.psc?.enabled).toBe(false);
    expect(screen.getByTestId('walk-apply')).toBeDisabled();
  });

  it('follows edits made to the scenario elsewhere (the Scenario view), redrawing the walk', async () => {
    const { lab } = fakeLab((c) => {
      const d = c.scenario.domains.find((x) => x.name === c.domain)!;
      return nestedTrace(d.guestPageSize ?? '4k', d.hostPageSize ?? '4k');
    });
    await mount(lab);
    lab.scenario.domains.find((d) => d.name === 'g2')!.guestPageSize = '2m';
    lab.scenario.domains.find((d) => d.name === 'g2')!.hostPageSize = '2m';
    await waitFor(() => expect(count()).toBe('0 / 15'));
    expect(screen.getByTestId('walk-formula').textContent).toBe('(n+1)(m+1)−1 = (3+1)(3+1)−1 = 15');
    expect(document.querySelectorAll('[data-n]')).toHaveLength(15);
    expect(screen.getByTestId('walk-apply')).toBeDisabled();
  });

  it('explains an impossible combination at the field and does not ask the worker', async () => {
    const { lab, calls } = fakeLab((c) => (c.domain === 'g1' ? onedTrace('pv') : nestedTrace('4k', '4k')));
    await mount(lab);
    await fireEvent.change(screen.getByTestId('walk-domain'), { target: { value: 'g1' } });
    await waitFor(() => expect(count()).toBe('0 / 4'));
    const before = calls.length;
    await fireEvent.change(screen.getByTestId('walk-guest-page'), { target: { value: '2m' } });
    expect(screen.getByTestId('walk-guest-page-error')).toHaveTextContent('PV guests get no superpages');
    expect(screen.getByTestId('walk-guest-page')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByTestId('walk-apply')).toBeDisabled();
    await tick();
    expect(calls.length).toBe(before);
  });

  it('validates the typed address at the field and walks a valid one on Enter', async () => {
    const { lab, calls } = fakeLab();
    await mount(lab);
    const input = screen.getByTestId('walk-va-input');
    await fireEvent.input(input, { target: { value: '0x0001000000000000' } });
    expect(screen.getByTestId('walk-va-error')).toHaveTextContent('not canonical');
    expect(input).toHaveAttribute('aria-invalid', 'true');
    await fireEvent.input(input, { target: { value: '0xffff880000000000' } });
    expect(screen.queryByTestId('walk-va-error')).toBeNull();
    await fireEvent.keyDown(input, { key: 'Enter' });
    await waitFor(() => expect(calls.at(-1)!.opts.va).toBe('0x880000000000'));
  });

  it('asks for a warm walk when warm is chosen', async () => {
    const { lab, calls } = fakeLab();
    await mount(lab);
    await fireEvent.click(screen.getByTestId('walk-warm'));
    await waitFor(() => expect(calls.at(-1)!.opts.warm).toBe(true));
  });

  it('shows a busy state while the worker answers, and its error in place', async () => {
    let fail!: (e: Error) => void;
    let n = 0;
    const { lab } = fakeLab(() => (n++ === 0 ? nestedTrace('4k', '4k') : new Promise<WalkTrace>((_, reject) => (fail = reject))));
    await mount(lab);
    await fireEvent.click(screen.getByTestId('walk-warm'));
    await screen.findByTestId('walk-busy');
    fail(new Error('the simulation worker failed to load'));
    await screen.findByTestId('walk-error');
    expect(screen.getByTestId('walk-error')).toHaveTextContent('the simulation worker failed to load');
    expect(screen.queryByTestId('walk-busy')).toBeNull();
    // The last good trace is still there to step through.
    expect(count()).toBe('0 / 24');
  });

  it('marks the cell where a walk faulted and shows the fault', async () => {
    const { lab } = fakeLab(() => nestedTrace('4k', '4k', { stopAfter: 5 }));
    await mount(lab);
    expect(screen.getByTestId('walk-fault')).toHaveTextContent('#PF at L4');
    await fireEvent.click(screen.getByTestId('walk-end'));
    expect(count()).toBe('5 / 24');
    expect(cell(5)).toHaveTextContent('fault here');
  });
});

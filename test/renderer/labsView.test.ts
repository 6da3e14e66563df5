// The Labs view with a fake host and worker: Run waits for a name, the preset and the
// predictions; a prediction is saved as made and locked once the run starts; the run starts at the
// sheet's pace without leaving the view; a finished run's checks show observed beside expected
// (pass and fail as the hand-written results say) and are saved with the progress; export builds
// a report carrying the student's answers.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, within } from '@testing-library/svelte';
import { flushSync, tick } from 'svelte';
import LabsView from '../../renderer/src/views/LabsView.svelte';
import WithLab from './WithLab.svelte';
import { fakeLab } from './labFixture.js';
import { PRESETS } from '../../core/api/presets.js';
import { BUILTIN_SHEETS } from '../../core/api/labSheets.js';
import { parseLabReport } from '../../core/api/labReport.js';
import type { Results } from '../../core/api/index.js';

const C7 = BUILTIN_SHEETS.find((s) => s.claim === 'C7')!;

function setup() {
  const f = fakeLab();
  const saves: { student: string; sheetId: string; progress: Record<string, unknown> }[] = [];
  Object.assign(f.lab.host, {
    getLabProgress: vi.fn(async () => []),
    saveLabProgress: vi.fn(async (student: string, sheetId: string, progress: Record<string, unknown>) => {
      saves.push({ student, sheetId, progress });
    }),
    beginRun: vi.fn(async () => ({ id: 41 })),
    renewLease: vi.fn(async () => {}),
    appendSeries: vi.fn(async () => {}),
    appendConsole: vi.fn(async () => {}),
    finishRun: vi.fn(async () => {}),
  });
  f.lab.view = 'labs';
  render(WithLab, { props: { lab: f.lab, view: LabsView } });
  return { ...f, saves };
}

/** Results written by hand: PV and shadow walk 4 references, the nested guest `hapRefs`. */
function results(hapRefs: number): Results {
  const dom = (name: string, mode: string, refs: number) => ({ name, mode, ops: 10, cycles: { total: 100, guest: 50, hypervisor: 0, walk: 50, perOp: 10 }, walk: { refsPerWalk: refs, walks: 10, maxRefs: refs } });
  return { scenario: 'seed-C7-walk-4k', domains: [dom('pv', 'pv', 4), dom('shadow', 'shadow', 4), dom('hap', 'hap', hapRefs)], audit: { ok: true, violations: [], checked: { frames: 1, entries: 1 } } } as unknown as Results;
}

beforeEach(() => localStorage.clear());
afterEach(cleanup);

describe('Labs view', () => {
  it('runs a sheet as a student does and shows each check beside its expectation', async () => {
    const { lab, worker, saves } = setup();
    await fireEvent.click(screen.getByRole('button', { name: /4 references against 24/ }));
    const run = screen.getByRole('button', { name: 'Run' });
    expect(run).toBeDisabled();
    expect(screen.getByText('type your name first')).toBeVisible();

    await fireEvent.input(screen.getByLabelText('Student name'), { target: { value: 'Ada' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Load preset' }));
    expect($stateSnapshot(lab.scenario)).toEqual(PRESETS.find((p) => p.id === 'walk-4k')!.scenario);
    expect(screen.getByText('record your prediction first')).toBeVisible();

    const answer = screen.getByRole('textbox', { name: /References per walk/ });
    await fireEvent.change(answer, { target: { value: '24' } });
    expect(saves.at(-1)).toEqual({ student: 'Ada', sheetId: C7.id, progress: { sheetId: C7.id, predictions: { '2': '24' } } });
    expect(run).toBeEnabled();

    await fireEvent.click(run);
    await tick();
    const start = worker.sent.find((m) => m.type === 'start') as { pace?: unknown } | undefined;
    expect(start?.pace).toBe('max');
    expect(lab.view).toBe('labs');
    expect(answer).toBeDisabled();
    expect(saves.at(-1)!.progress.lockedAt).toEqual(expect.any(String));

    // The nested walk took 19 references here, not 24: two checks pass, one fails.
    worker.emit({ type: 'finished', status: 'finished', results: results(19), repeat: false, runs: 1 });
    flushSync();
    await tick();
    const table = screen.getByRole('table');
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows.map((r) => within(r).getAllByRole('cell').slice(1, 4).map((c) => c.textContent!.trim()))).toEqual([
      ['== 4', '4', '✓ pass'],
      ['== 4', '4', '✓ pass'],
      ['== 24', '19', '✗ fail'],
    ]);
    expect(screen.getByText('2/3 ✓')).toBeVisible();
    const saved = saves.at(-1)!.progress as { run: { checks: Record<string, { pass: boolean }[]> } };
    expect(Object.values(saved.run.checks).flat().map((c) => c.pass)).toEqual([true, true, false]);

    // Export: a report with the student's answer and the score.
    await fireEvent.click(screen.getByRole('button', { name: 'Export report' }));
    await tick();
    const file = (lab.host.saveFile as ReturnType<typeof vi.fn>).mock.calls.at(-1)![0] as { suggestedName: string; content: string };
    expect(file.suggestedName).toBe(`Ada-${C7.id}.html`);
    const r = parseLabReport(file.content);
    expect(r.ok && [r.data.student, r.data.passed, r.data.total, r.data.predictions[0]!.answer]).toEqual(['Ada', 2, 3, '24']);
  });

  it('restores a student’s saved progress: the prediction back and locked', async () => {
    localStorage.setItem('hyperlab-lab-student', 'Bo');
    const f = fakeLab();
    const getLabProgress = vi.fn(async () => [{ sheetId: C7.id, updatedAt: 't', progress: { sheetId: C7.id, predictions: { '2': '20' }, lockedAt: 't' } }]);
    Object.assign(f.lab.host, { getLabProgress, saveLabProgress: vi.fn(async () => {}) });
    render(WithLab, { props: { lab: f.lab, view: LabsView } });
    await vi.waitFor(() => expect(getLabProgress).toHaveBeenCalledWith('Bo'));
    await fireEvent.click(screen.getByRole('button', { name: /4 references against 24/ }));
    const answer = screen.getByRole('textbox', { name: /References per walk/ });
    await vi.waitFor(() => expect(answer).toHaveValue('20'));
    expect(answer).toBeDisabled();
  });
});

/** The scenario as plain data (the Lab keeps it in a $state proxy). */
function $stateSnapshot<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

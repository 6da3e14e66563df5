// Charts' text alternatives: each chart's "Data" disclosure holds a real table (caption, column
// and row headers) of the numbers the chart draws — the live charts' from their aligned series,
// the Compare charts' from the same data as their CSV export.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import type { WorkerRequest } from '../../core/api/index.js';
import CompareView from '../../renderer/src/views/CompareView.svelte';
import LiveChart from '../../renderer/src/components/LiveChart.svelte';
import { csvTable, liveChartTable, parseCsv } from '../../renderer/src/lib/chartTable.js';
import WithLab from './WithLab.svelte';
import { fakeLab, type FakeWorker } from './labFixture.js';
import { outcome } from './compareFixtures.js';

afterEach(() => cleanup());
const T = '\u2009';

/** The table's text: header row, then each row's cells. */
function cells(table: HTMLTableElement): string[][] {
  return [...table.querySelectorAll('tr')].map((tr) => [...tr.querySelectorAll('th, td')].map((c) => c.textContent!.trim()));
}

async function openData(root: HTMLElement): Promise<HTMLTableElement> {
  const summary = within(root).getByText('Data', { selector: 'summary' });
  const details = summary.closest('details')!;
  details.open = true;
  await fireEvent(details, new Event('toggle'));
  return waitFor(() => details.querySelector('table')!);
}

describe('chart tables', () => {
  it('a live chart: simulated ms at the run clock, one column per line, gaps shown as —', () => {
    // 3 GHz: 3e6 cycles are 1 ms.
    const t = liveChartTable('TLB misses', 'misses / 1k accesses', [{ label: 'g1 PV' }, { label: 'g2 HAP' }], [[0, 3e6, 6e6], [1.5, null, 2000], [0.0123, 12345.678, 7]], 3e9);
    expect(t.caption).toBe('TLB misses: misses / 1k accesses over simulated time');
    expect(t.columns).toEqual(['simulated time (ms)', 'g1 PV', 'g2 HAP']);
    expect(t.rows).toEqual([
      ['0.000', '1.5', '0.0123'],
      ['1.000', '—', `12${T}346`],
      ['2.000', `2${T}000`, '7'],
    ]);
  });

  it('CSV with quoted commas, doubled quotes and CRLF parses as RFC 4180 says', () => {
    expect(parseCsv('a,b\r\n"x, y","say ""hi"""\r\n1,\n')).toEqual([['a', 'b'], ['x, y', 'say "hi"'], ['1', '']]);
    const t = csvTable('Sweep', 'rate,pv_cycles_per_op\n0,10\n10,50.25\n');
    expect(t.columns).toEqual(['rate', 'pv cycles per op']);
    expect(t.numeric).toEqual([true, true]);
    expect(t.rows).toEqual([['0', '10'], ['10', '50.25']]);
  });

  it('LiveChart renders its data as a table with caption and headers when Data is opened', async () => {
    const r = render(LiveChart, { props: { title: 'Cycles per op', yLabel: 'cycles', caption: 'one line per guest', series: [{ label: 'g1', color: '--mode-pv' }], data: [[0, 3e6], [100, 250]], clockHz: 3e9 } });
    const fig = r.container.querySelector('figure')!;
    expect(fig).toHaveAccessibleName('Cycles per op');
    expect(fig).toHaveAccessibleDescription('one line per guest');
    const table = await openData(r.container);
    expect(table.querySelector('caption')!.textContent).toBe('Cycles per op: cycles over simulated time');
    expect(cells(table)).toEqual([
      ['simulated time (ms)', 'g1'],
      ['0.000', '100'],
      ['1.000', '250'],
    ]);
    expect([...table.querySelectorAll('thead th')].every((th) => th.getAttribute('scope') === 'col')).toBe(true);
    expect([...table.querySelectorAll('tbody th')].map((th) => th.getAttribute('scope'))).toEqual(['row', 'row']);
  });

  it('the Compare bars\' table has the cycles per op the bars draw: 30, 70, 120, 85 from the fixture', async () => {
    const f = fakeLab();
    render(WithLab, { props: { lab: f.lab, view: CompareView } });
    await fireEvent.click(screen.getByTestId('compare-run'));
    const last = (w: FakeWorker) => w.sent.filter((m): m is Extract<WorkerRequest, { type: 'compare' }> => m.type === 'compare').at(-1)!;
    f.worker.emit({ type: 'compare-result', id: last(f.worker).id, ...outcome() });
    const bars = await screen.findByTestId('compare-bars');
    const table = await openData(bars);
    const rows = cells(table);
    const col = rows[0]!.indexOf('total cycles per op');
    expect(col).toBeGreaterThan(0);
    // Fixture: (guest + hypervisor + walk) / ops = 30, 70, 120, 85 cycles/op (as the bars' labels say).
    expect(rows.slice(1).map((r) => [r[0], r[col]])).toEqual([['native', '30'], ['pv', '70'], ['shadow', '120'], ['hap', '85']]);
    expect(['native', 'pv', 'shadow', 'hap'].map((m) => Number(bars.querySelector(`[data-bar="${m}"] [data-field="total"]`)!.textContent))).toEqual([30, 70, 120, 85]);
    expect(bars.tagName).toBe('FIGURE');
    expect(bars).toHaveAccessibleName(/cycles/i);
  });
});

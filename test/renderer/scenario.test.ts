// The Scenario view with a real Lab: every field writes into lab.scenario and shows the schema's
// problem for its path under it as it is typed; domains are added, removed and duplicated; presets
// load; the workload's fields follow its kind; the cost table writes overrides.
import { cleanup, fireEvent, screen, within, waitFor } from '@testing-library/svelte';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_COSTS, machineSchema, type ScenarioInput } from '../../core/api/index.js';
import { DEFAULT_SCENARIO } from '../../renderer/src/lib/lab.svelte.js';
import { COST_DOCS } from '../../core/api/costDocs.js';
import { PRESETS } from '../../core/api/presets.js';
import { mountScenario } from './scenarioLab.js';

const machine = () => within(screen.getByRole('region', { name: 'Machine and hypervisor' }));
const card = (name: string) => within(screen.getByRole('article', { name: `Domain ${name}` }));
const type = (el: HTMLElement, value: string) => fireEvent.input(el, { target: { value } });
const choose = (el: HTMLElement, value: string) => fireEvent.change(el, { target: { value } });
/** Problems in the field's terms (issue 10): the schema's own bounds, grouped with thin spaces. */
const g = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, '\u2009');
const range = (s: unknown) => `from ${g((s as { minValue: number }).minValue)} to ${g((s as { maxValue: number }).maxValue)}`;
const MEM8 = `must be a whole number of MiB ${range(machineSchema.shape.memoryMiB)}; got 8`;
/** A message as a pattern: testing-library folds thin spaces into plain ones. */
const loose = (m: string) => new RegExp(m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\u2009/g, '\\s'));
const dom = (s: ScenarioInput, i: number) => s.domains[i] as Record<string, unknown>;

afterEach(() => cleanup());

describe('Scenario view: fields validated as they are typed', () => {
  it('shows machine memory 8 MiB as too small under the field, and clears it when fixed', async () => {
    const { lab } = mountScenario();
    const mem = machine().getByLabelText(/^Memory/);
    await type(mem, '8');
    expect(lab.scenario.machine.memoryMiB).toBe(8);
    expect(mem).toHaveAttribute('aria-invalid', 'true');
    expect(mem).toHaveAccessibleDescription(loose(`Memory: ${MEM8}`));
    expect(screen.getByTestId('scenario-status')).toHaveTextContent('1 problem');

    await type(mem, '2048');
    expect(lab.scenario.machine.memoryMiB).toBe(2048);
    expect(mem).toHaveAttribute('aria-invalid', 'false');
    expect(mem).not.toHaveAccessibleDescription(/must be/);
    expect(screen.queryByText(MEM8, { exact: false })).toBeNull();
    expect(screen.getByTestId('scenario-status')).toHaveTextContent('valid');
  });

  it('keeps text that is not a number as typed, and the schema says why', async () => {
    const { lab } = mountScenario();
    const cpus = machine().getByLabelText('Physical CPUs');
    await type(cpus, '2x');
    expect(lab.scenario.machine.pcpus).toBe('2x');
    expect(cpus).toHaveValue('2x');
    expect(cpus).toHaveAccessibleDescription(`Physical CPUs: must be a whole number ${range(machineSchema.shape.pcpus)}; got "2x"`);
    await type(cpus, '1.');
    // "1." means 1 while typing "1.5": the field keeps the text, the scenario gets the number.
    expect(lab.scenario.machine.pcpus).toBe(1);
    expect(cpus).toHaveValue('1.');
    await fireEvent.keyDown(cpus, { key: 'ArrowUp' });
    expect(lab.scenario.machine.pcpus).toBe(2);
    expect(cpus).toHaveValue('2');
  });

  it('explains in full, at the field, why a PV guest cannot have 2 MiB guest pages, and drops it once the mode allows them', async () => {
    const { lab } = mountScenario();
    const g1 = card('g1');
    const size = g1.getByLabelText('Guest page size');
    await choose(size, '2m');
    expect(dom(lab.scenario, 0).guestPageSize).toBe('2m');
    expect(size).toHaveAttribute('aria-invalid', 'true');
    const why = `PV guests get no superpages: Xen refuses PSE in a PV guest's L2/L3 entries, so guestPageSize must be "4k", not "2m"`;
    expect(size).toHaveAccessibleDescription(`Guest page size: ${why}`);
    expect(g1.getByText(why, { exact: false })).toBeVisible();

    await choose(g1.getByLabelText('Paging mode'), 'hap');
    expect(dom(lab.scenario, 0).mode).toBe('hap');
    expect(size).toHaveAttribute('aria-invalid', 'false');
    expect(screen.queryByText(why, { exact: false })).toBeNull();
    expect(lab.validation.ok).toBe(true);
  });

  it('explains a hypervisor change at the fields it makes impossible', async () => {
    const { lab } = mountScenario();
    await fireEvent.click(screen.getByRole('radio', { name: /^KVM/ }));
    expect(lab.scenario.hypervisor).toBe('kvm');
    expect(card('g1').getByLabelText('Paging mode')).toHaveAccessibleDescription('Paging mode: KVM has no PV direct paging: use shadow or hap');
    await fireEvent.click(screen.getByRole('radio', { name: /^None/ }));
    expect(screen.getByText('hypervisor "none" runs exactly one domain (found 2)')).toBeVisible();
  });

  it('lists problems that no field shows at the top of the card, with their path, and keeps unknown fields when other fields are edited', async () => {
    const { lab } = mountScenario();
    (lab.scenario.domains[1] as Record<string, unknown>).turbo = true;
    const g2 = card('g2');
    await waitFor(() => expect(g2.getByTestId('domain-problems')).toHaveTextContent('domains[1].turbo unknown field'));
    await type(g2.getByLabelText(/^Memory/), '320');
    expect(dom(lab.scenario, 1)).toMatchObject({ memoryMiB: 320, turbo: true });
  });

  it('writes a TLB whole and says at the row when its entries and ways give no power-of-two sets', async () => {
    const { lab } = mountScenario();
    const entries = machine().getByLabelText('4 KiB pages TLB entries');
    await type(entries, '1000');
    expect(lab.scenario.machine.mmu?.tlb4k).toEqual({ entries: 1000, ways: 12 });
    expect(entries).toHaveAccessibleDescription(/ways must divide entries \(sets = entries\/ways\), and 12 does not divide 1000/);
    await type(entries, '');
    expect(lab.scenario.machine.mmu).toBeUndefined();
    expect(entries).toHaveAttribute('aria-invalid', 'false');
  });
});

describe('Scenario view: domains', () => {
  it('adds, duplicates and removes domains as cards', async () => {
    const { lab } = mountScenario();
    await fireEvent.click(screen.getByTestId('add-domain'));
    expect(lab.scenario.domains.map((d) => d.name)).toEqual(['g1', 'g2', 'g3']);
    expect(screen.getByRole('article', { name: 'Domain g3' })).toBeInTheDocument();
    expect(lab.validation.ok).toBe(true);

    await fireEvent.click(card('g1').getByRole('button', { name: 'Remove g1' }));
    expect(lab.scenario.domains.map((d) => d.name)).toEqual(['g2', 'g3']);
    expect(screen.queryByRole('article', { name: 'Domain g1' })).toBeNull();

    await fireEvent.click(card('g2').getByRole('button', { name: 'Duplicate' }));
    expect(lab.scenario.domains.map((d) => d.name)).toEqual(['g2', 'g4', 'g3']);
    expect(dom(lab.scenario, 1)).toEqual({ ...dom(lab.scenario, 0), name: 'g4' });

    for (const n of ['g2', 'g4', 'g3']) await fireEvent.click(card(n).getByRole('button', { name: `Remove ${n}` }));
    expect(screen.getByText('must be a list of 1 to 64 domains; got an empty list')).toBeVisible();
  });

  it('shows the parameter fields of the workload kind chosen, and keeps the ones both kinds share', async () => {
    const { lab } = mountScenario();
    const g1 = card('g1');
    expect(g1.getByLabelText(/^Pages/)).toHaveValue('2000');
    await choose(g1.getByLabelText('Workload'), 'random-access');
    expect(g1.queryByLabelText(/^Pages/)).toBeNull();
    expect(g1.getByLabelText(/^Working set/)).toHaveValue('64');
    expect(g1.getByLabelText(/^Accesses/)).toHaveValue('100000');
    await type(g1.getByLabelText(/^Working set/), '96');

    await choose(g1.getByLabelText('Workload'), 'update-vs-access');
    expect(dom(lab.scenario, 0).workload).toEqual({ kind: 'update-vs-access', updatesPerKiloAccess: 20, workingSetMiB: 96, accesses: 100_000, updateKind: 'mix' });
    for (const l of [/^Updates per 1k accesses/, /^Working set/, /^Accesses/, 'Update kind']) expect(g1.getByLabelText(l)).toBeInTheDocument();

    await choose(g1.getByLabelText('Workload'), 'fork-exit');
    expect(g1.getByLabelText(/^Forks/)).toBeInTheDocument();
    expect(g1.getByLabelText(/^Resident/)).toBeInTheDocument();
    await type(g1.getByLabelText(/^Resident/), '500');
    expect(g1.getByLabelText('Workload')).toHaveAccessibleDescription(/the workload needs 1000 MiB but the guest has 240 MiB/);
    expect(lab.validation.ok).toBe(false);
  });

  it('shows a domain as xl.cfg text, applies a valid edit to the scenario and lists a bad one by line', async () => {
    const { lab } = mountScenario();
    await fireEvent.click(card('g1').getByRole('button', { name: 'xl.cfg' }));
    const text = card('g1').getByLabelText(/^xl\.cfg/) as HTMLTextAreaElement;
    expect(text.value).toContain('name = "g1"');
    expect(text.value).toContain('type = "pv"');
    expect(text.value).toContain('memory = 256');

    await type(text, text.value.replace('memory = 256', 'memory = 384'));
    await waitFor(() => expect(dom(lab.scenario, 0).memoryMiB).toBe(384));
    expect(text.value).toContain('memory = 384');

    await type(text, 'name = "g1"\ntype = "pv"\nmemory = 256\nturbo = 1\n');
    await waitFor(() => expect(card('g1').getByTestId('xlcfg-problems')).toHaveTextContent(/line 4:.*turbo/));
    expect(dom(lab.scenario, 0).memoryMiB).toBe(384);

    await fireEvent.click(card('g1').getByRole('button', { name: 'Form' }));
    expect(card('g1').getByLabelText(/^Memory/)).toHaveValue('384');
  });
});

describe('Scenario view: presets, JSON and costs', () => {
  it('loads a preset, ready to run, without asking while the scenario is unedited', async () => {
    const { lab } = mountScenario();
    lab.scenario = structuredClone(DEFAULT_SCENARIO); // the start-up scenario, unedited
    await fireEvent.click(screen.getByTestId('presets-toggle'));
    const region = within(screen.getByRole('region', { name: 'Presets' }));
    for (const p of PRESETS) expect(region.getByText(p.sentence)).toBeVisible();
    await fireEvent.click(region.getByRole('button', { name: 'Load preset: Walk lengths with 2 MiB pages' }));
    expect(lab.scenario.name).toBe('seed-C7-walk-2m-2m');
    expect(lab.validation.ok).toBe(true);
    expect(screen.queryByRole('region', { name: 'Presets' })).toBeNull();
    expect(screen.getByRole('article', { name: 'Domain hap-2m-2m' })).toBeInTheDocument();
    expect(screen.getByTestId('scenario-status')).toHaveTextContent('valid');
  });

  it('asks before a preset replaces an edited scenario', async () => {
    const { lab } = mountScenario();
    await type(card('g1').getByLabelText(/^vCPUs/), '2');
    await fireEvent.click(screen.getByTestId('presets-toggle'));
    await fireEvent.click(screen.getByRole('button', { name: 'Load preset: Out-of-sync shadows on and off' }));
    expect(lab.scenario.name).toBe('walk-4k');
    await fireEvent.click(screen.getByRole('button', { name: 'Keep editing' }));
    expect(dom(lab.scenario, 0).vcpus).toBe(2);
    await fireEvent.click(screen.getByRole('button', { name: 'Load preset: Out-of-sync shadows on and off' }));
    await fireEvent.click(screen.getByTestId('confirm-preset'));
    expect(lab.scenario.name).toBe('seed-C8-shadow-oos');
    expect(card('oos-off').getByLabelText('Out-of-sync shadows')).toHaveValue('false');
  });

  it('edits the whole scenario as JSON: a syntax error is shown with its line, valid JSON replaces the scenario', async () => {
    const { lab } = mountScenario();
    await fireEvent.click(screen.getByTestId('edit-json'));
    const text = screen.getByLabelText(/^Scenario JSON/) as HTMLTextAreaElement;
    expect(JSON.parse(text.value)).toEqual(JSON.parse(JSON.stringify(lab.scenario)));

    await type(text, '{\n  "name": "x",\n  "machine": {"memoryMiB": 8 "pcpus": 1}\n}');
    await waitFor(() => expect(screen.getByTestId('json-error')).toHaveTextContent(/Line 3, column 30:/));
    expect(lab.scenario.name).toBe('walk-4k');

    const doc = structuredClone($state_snapshot(lab.scenario));
    doc.name = 'from-json';
    doc.machine.memoryMiB = 8;
    await type(text, JSON.stringify(doc, null, 2));
    await waitFor(() => expect(lab.scenario.name).toBe('from-json'));
    expect(screen.queryByTestId('json-error')).toBeNull();
    expect(screen.getByTestId('json-problems')).toHaveTextContent(loose(`machine.memoryMiB ${MEM8}`));

    await fireEvent.click(screen.getByTestId('edit-form'));
    expect(machine().getByLabelText(/^Memory/)).toHaveAccessibleDescription(loose(`Memory: ${MEM8}`));
  });

  it('shows every cost with its default and source, and writes an override to machine.costs', async () => {
    const { lab, container } = mountScenario();
    expect(container.querySelectorAll('[data-cost]')).toHaveLength(Object.keys(DEFAULT_COSTS).length);
    const row = within(container.querySelector<HTMLElement>('[data-cost="vmexit"]')!);
    expect(row.getByText('1 200')).toBeInTheDocument(); // thin-space thousands separator
    const doc = within(container.querySelector<HTMLElement>('[data-cost-doc="vmexit"]')!);
    expect(doc.getByText(`Source: ${COST_DOCS.vmexit.source}.`)).toBeInTheDocument();
    expect(doc.getByText(COST_DOCS.vmexit.what, { exact: false })).toBeInTheDocument();
    const input = row.getByLabelText('vmexit');
    expect(input).toHaveAccessibleDescription(`${COST_DOCS.vmexit.what} Source: ${COST_DOCS.vmexit.source}.`);
    expect(input).toHaveAttribute('placeholder', '1200');

    await type(input, '2400');
    expect(lab.scenario.machine.costs).toEqual({ vmexit: 2400 });
    expect(lab.validation.ok && lab.validation.scenario.machine.costs?.vmexit).toBe(2400);
    await type(input, '-5');
    expect(input).toHaveAccessibleDescription(/must be a number from 0 to 1\u2009000\u2009000\u2009000; got -5/);
    await type(input, '');
    expect(lab.scenario.machine.costs).toBeUndefined();
  });

  it('names every control, so each is reachable and announced', () => {
    const { container } = mountScenario();
    const controls = container.querySelectorAll<HTMLElement>('input, select, textarea, button');
    expect(controls.length).toBeGreaterThan(50);
    for (const c of controls) expect(c).toHaveAccessibleName();
  });
});

function $state_snapshot<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

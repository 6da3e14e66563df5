// The Scenario view's CPU select (machine.cpu, issue 11): it writes the field only when a profile
// other than the default is picked; the TLB placeholders, the cache switches and the cost table's
// defaults and sources follow the selected profile; a HAP guest on a CPU without EPT shows the
// schema's problem at its paging mode; the JSON editor shows what the form wrote, and a value the
// schema refuses is shown as such, never a crash. Every expected value comes from CPU_PROFILE_TABLE.
import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/svelte';
import { afterEach, describe, expect, it } from 'vitest';
import { COST_KEYS, CPU_PROFILE_TABLE, CPU_PROFILES, DEFAULT_CPU, validateScenario } from '../../core/api/index.js';
import { COST_DOCS } from '../../core/api/costDocs.js';
import { mountScenario } from './scenarioLab.js';

afterEach(() => cleanup());

const machine = () => within(screen.getByRole('region', { name: 'Machine and hypervisor' }));
const card = (name: string) => within(screen.getByRole('article', { name: `Domain ${name}` }));
const choose = (el: HTMLElement, value: string) => fireEvent.change(el, { target: { value } });
const cpuSelect = () => machine().getByLabelText('CPU generation') as HTMLSelectElement;
/** A number as the cost table prints it: grouped with thin spaces. */
const g = (n: number) => String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, '\u2009');
const P4 = CPU_PROFILE_TABLE['p4-2003'];
const MODERN = CPU_PROFILE_TABLE[DEFAULT_CPU];
const costRow = (k: string) => document.querySelector<HTMLElement>(`tr[data-cost="${k}"]`)!;
const costDoc = (k: string) => document.querySelector<HTMLElement>(`tr[data-cost-doc="${k}"]`)!;

describe('Scenario view: the CPU generation', () => {
  it('lists the four profiles by label, shows the default when unset, and writes machine.cpu only for another profile', async () => {
    const { lab } = mountScenario();
    const sel = cpuSelect();
    expect([...sel.options].map((o) => o.value)).toEqual([...CPU_PROFILES]);
    expect([...sel.options].map((o) => o.textContent)).toEqual(CPU_PROFILES.map((id) => CPU_PROFILE_TABLE[id].label));
    expect(sel.value).toBe(DEFAULT_CPU);
    expect('cpu' in lab.scenario.machine).toBe(false);
    // What the profile stands for and its clock, under the select and read with it.
    expect(screen.getByTestId('cpu-about')).toHaveTextContent(`${MODERN.clockGHz} GHz`);
    expect(sel).toHaveAccessibleDescription(new RegExp(`${MODERN.clockGHz} GHz`));

    await choose(sel, 'p4-2003');
    expect(lab.scenario.machine.cpu).toBe('p4-2003');
    expect(screen.getByTestId('cpu-about')).toHaveTextContent(`${P4.clockGHz} GHz · ${P4.describes}`);

    // Back to the default: the field goes, so the scenario is as it was.
    await choose(sel, DEFAULT_CPU);
    expect('cpu' in lab.scenario.machine).toBe(false);
    expect(lab.scenario.machine).toEqual({ memoryMiB: 2048, pcpus: 2 });
  });

  it('shows the selected profile’s TLB sizes as the placeholders, and fills the other half of a TLB from them', async () => {
    const { lab } = mountScenario();
    const entries = (label: string) => machine().getByLabelText(`${label} TLB entries`) as HTMLInputElement;
    const ways = (label: string) => machine().getByLabelText(`${label} TLB ways`) as HTMLInputElement;
    expect(entries('4 KiB pages').placeholder).toBe(String(MODERN.mmu.tlb4k.entries));
    await choose(cpuSelect(), 'p4-2003');
    expect(entries('4 KiB pages').placeholder).toBe(String(P4.mmu.tlb4k.entries));
    expect(ways('4 KiB pages').placeholder).toBe(String(P4.mmu.tlb4k.ways));
    expect(entries('2 MiB pages').placeholder).toBe(String(P4.mmu.tlb2m.entries));
    expect(entries('1 GiB pages').placeholder).toBe(String(P4.mmu.tlb1g.entries));
    // Sets from the profile's defaults: entries / ways.
    expect(screen.getByTestId('tlb-sets-tlb4k')).toHaveTextContent(`${P4.mmu.tlb4k.entries / P4.mmu.tlb4k.ways} set`);

    await fireEvent.input(entries('4 KiB pages'), { target: { value: '128' } });
    expect(lab.scenario.machine.mmu?.tlb4k).toEqual({ entries: 128, ways: P4.mmu.tlb4k.ways });
  });

  it('switches the walk caches to the profile’s defaults and writes a switch only where it differs from them', async () => {
    const { lab } = mountScenario();
    const psc = machine().getByLabelText('Paging-structure caches') as HTMLInputElement;
    expect(psc.checked).toBe(MODERN.mmu.psc.enabled);
    await choose(cpuSelect(), 'p4-2003');
    expect(psc.checked).toBe(P4.mmu.psc.enabled);
    await fireEvent.click(psc);
    expect(lab.scenario.machine.mmu?.psc?.enabled).toBe(!P4.mmu.psc.enabled);
    await fireEvent.click(psc);
    expect(lab.scenario.machine.mmu).toBeUndefined();
    const cache = machine().getByLabelText(/^Data cache/) as HTMLInputElement;
    expect(cache.placeholder).toBe(String(P4.mmu.dataCache.sizeKiB));
  });

  it('shows every cost’s default and source for the selected profile', async () => {
    mountScenario();
    await fireEvent.click(screen.getByText('Cost table'));
    for (const k of COST_KEYS) {
      expect(costRow(k).querySelector('.dflt')!.textContent).toBe(g(MODERN.costs[k]));
      // The modern profile is the lab's defaults: their documented sources.
      expect(costDoc(k).textContent).toContain(`Source: ${MODERN.sources[k] ?? COST_DOCS[k].source}.`);
    }
    await choose(cpuSelect(), 'p4-2003');
    for (const k of COST_KEYS) {
      expect(costRow(k).querySelector('.dflt')!.textContent).toBe(g(P4.costs[k]));
      expect((costRow(k).querySelector('input') as HTMLInputElement).placeholder).toBe(String(P4.costs[k]));
      expect(costDoc(k).textContent).toContain(`Source: ${P4.sources[k]}.`);
    }
    // An override is kept whatever the profile, and shown against the profile's default.
    const vmexit = screen.getByLabelText('vmexit') as HTMLInputElement;
    await fireEvent.input(vmexit, { target: { value: '999' } });
    await choose(cpuSelect(), 'core2-2008');
    expect(vmexit.value).toBe('999');
    expect(costRow('vmexit').querySelector('.dflt')!.textContent).toBe(g(CPU_PROFILE_TABLE['core2-2008'].costs.vmexit));
  });

  it('shows the EPT problem at a HAP guest’s paging mode when the CPU has no EPT, and clears it on a CPU with EPT', async () => {
    const { lab } = mountScenario();
    const noEpt = CPU_PROFILES.filter((id) => !CPU_PROFILE_TABLE[id].features.ept);
    const withEpt = CPU_PROFILES.filter((id) => CPU_PROFILE_TABLE[id].features.ept && id !== DEFAULT_CPU);
    expect(noEpt.length).toBeGreaterThan(0);
    await choose(cpuSelect(), noEpt[0]!);
    // The schema's own message for g2 (mode hap), at g2's paging mode field.
    const v = validateScenario(lab.scenario);
    const problem = v.ok ? undefined : v.problems.find((p) => p.path === 'domains[1].mode');
    expect(problem?.message).toMatch(/EPT/);
    const mode = card('g2').getByLabelText('Paging mode');
    expect(mode).toHaveAttribute('aria-invalid', 'true');
    expect(mode).toHaveAccessibleDescription(`Paging mode: ${problem!.message}`);
    expect(card('g2').getByText(problem!.message, { exact: false })).toBeVisible();
    expect(screen.getByTestId('scenario-status')).toHaveTextContent('1 problem');

    await choose(cpuSelect(), withEpt[0]!);
    expect(mode).toHaveAttribute('aria-invalid', 'false');
    expect(screen.getByTestId('scenario-status')).toHaveTextContent('valid');
  });

  it('keeps the JSON editor and the select in step, and shows a value that is not a profile as such', async () => {
    const { lab } = mountScenario();
    await choose(cpuSelect(), 'nehalem-2009');
    await fireEvent.click(screen.getByTestId('edit-json'));
    const json = document.querySelector<HTMLTextAreaElement>('#sc-json')!;
    expect(JSON.parse(json.value).machine.cpu).toBe('nehalem-2009');

    // Typed in the JSON: a CPU the schema does not know.
    const doc = JSON.parse(json.value);
    doc.machine.cpu = 'pentium-pro';
    await fireEvent.input(json, { target: { value: JSON.stringify(doc, null, 2) } });
    await waitFor(() => expect(lab.scenario.machine.cpu).toBe('pentium-pro'));
    await fireEvent.click(screen.getByTestId('edit-form'));
    const sel = cpuSelect();
    expect(sel.value).toBe('pentium-pro');
    expect(sel.selectedOptions[0]!.textContent).toBe('pentium-pro (not allowed)');
    expect(sel).toHaveAttribute('aria-invalid', 'true');
    expect(sel).toHaveAccessibleDescription(/^CPU generation: .*p4-2003/);
    // The defaults fall back to the default profile's, and say so.
    expect(screen.getByTestId('cpu-about')).toHaveTextContent(`the ${DEFAULT_CPU} profile’s`);
    expect((machine().getByLabelText('4 KiB pages TLB entries') as HTMLInputElement).placeholder).toBe(String(MODERN.mmu.tlb4k.entries));
    // Picking a profile mends it.
    await choose(sel, 'p4-2003');
    expect(lab.scenario.machine.cpu).toBe('p4-2003');
    expect(sel).toHaveAttribute('aria-invalid', 'false');
  });
});

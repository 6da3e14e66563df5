// The Scenario form's ballooning parts (issue 14): a guest's maxmem in its card, and the timeline's
// mem-set with its target, validated at the field against the domain's maxmem.
import { cleanup, fireEvent, screen, within } from '@testing-library/svelte';
import { afterEach, describe, expect, it } from 'vitest';
import { mountScenario } from './scenarioLab.js';

const card = (name: string) => within(screen.getByRole('article', { name: `Domain ${name}` }));
const type = (el: HTMLElement, value: string) => fireEvent.input(el, { target: { value } });
const choose = (el: HTMLElement, value: string) => fireEvent.change(el, { target: { value } });

afterEach(() => cleanup());

describe('Scenario view: mem-set in the timeline', () => {
  it('takes a target up to the domain’s maxmem, says what is allowed above it, and a maxmem lets it grow', async () => {
    const { lab } = mountScenario();
    const g1 = lab.scenario.domains[0]!;
    const mem = g1.memoryMiB;
    await fireEvent.click(screen.getByTestId('add-action'));
    const timeline = within(screen.getByTestId('timeline'));
    await choose(timeline.getByLabelText('Action'), 'mem-set');
    await choose(timeline.getByLabelText('Domain'), g1.name);
    const target = timeline.getByLabelText(/^Target/);
    await type(target, String(mem - 64));
    expect(lab.scenario.timeline).toEqual([{ atMs: 10, do: 'mem-set', domain: g1.name, memoryMiB: mem - 64 }]);
    expect(screen.getByTestId('scenario-status')).toHaveTextContent('valid');

    await type(target, String(mem + 64));
    expect(target).toHaveAttribute('aria-invalid', 'true');
    expect(target).toHaveAccessibleDescription(`Target: ${mem + 64} MiB is above ${g1.name}'s maxmem (${mem} MiB, its memoryMiB: set maxMemoryMiB to let it grow): allowed 1 to ${mem}`);

    await type(card(g1.name).getByLabelText(/^Maxmem/), String(mem + 128));
    expect(g1.maxMemoryMiB).toBe(mem + 128);
    expect(target).toHaveAttribute('aria-invalid', 'false');
    expect(screen.getByTestId('scenario-status')).toHaveTextContent('valid');

    // Another action drops the target.
    await choose(timeline.getByLabelText('Action'), 'pause');
    expect(lab.scenario.timeline).toEqual([{ atMs: 10, do: 'pause', domain: g1.name }]);
  });
});

// A real Lab for component tests: a host that answers nothing interesting and a worker that
// swallows its messages (the Scenario view never needs either to answer).
import { render } from '@testing-library/svelte';
import type { HostApi, ScenarioInput } from '../../core/api/index.js';
import { Lab } from '../../renderer/src/lib/lab.svelte.js';
import ScenarioHarness from './ScenarioHarness.svelte';

export function fakeHost(): HostApi {
  const none = async () => undefined as never;
  return {
    info: async () => ({ version: 'test', host: 'test' }) as never,
    listRuns: async () => [],
    getRun: async () => null,
    beginRun: async () => ({ id: 1 }),
    renewLease: none,
    appendSeries: none,
    appendConsole: none,
    finishRun: none,
    setNote: none,
    deleteRun: none,
    saveCompare: async () => ({ id: 1 }),
    listScenarios: async () => [],
    saveScenario: async () => ({ id: 1 }),
    deleteScenario: none,
    exportRun: async () => ({ filename: 'x.json', content: '{}' }),
    importRun: async () => ({ id: 1 }),
    listLabStudents: async () => [],
    getLabProgress: async () => [],
    saveLabProgress: async () => {},
    saveFile: async () => ({ saved: true }),
    openFile: async () => null,
    onMenu: () => () => {},
  };
}

export function stubWorker(): Worker {
  return { postMessage() {}, terminate() {}, onmessage: null } as unknown as Worker;
}

/**
 * The scenario these tests edit: two guests, g1 (PV) and g2 (HAP). It was the app's start-up
 * scenario until issue 10 made that the walk-4k preset itself; the editing tests keep it, set here.
 */
export const EDIT_SCENARIO: ScenarioInput = {
  name: 'walk-4k',
  description: 'One cold page walk per access: 4 references under PV, 24 under nested paging with 4 KiB pages.',
  machine: { memoryMiB: 2048, pcpus: 2 },
  hypervisor: 'xen',
  domains: [
    { name: 'g1', mode: 'pv', memoryMiB: 256, vcpus: 1, guestPageSize: '4k', hostPageSize: '4k', workload: { kind: 'cold-walk', pages: 2000 } },
    { name: 'g2', mode: 'hap', memoryMiB: 256, vcpus: 1, guestPageSize: '4k', hostPageSize: '4k', workload: { kind: 'cold-walk', pages: 2000 } },
  ],
};

export function mountScenario() {
  const lab = new Lab(fakeHost(), stubWorker);
  lab.scenario = structuredClone(EDIT_SCENARIO);
  lab.view = 'scenario';
  const r = render(ScenarioHarness, { props: { lab } });
  return Object.assign(r, { lab });
}

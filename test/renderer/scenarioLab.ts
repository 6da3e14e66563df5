// A real Lab for component tests: a host that answers nothing interesting and a worker that
// swallows its messages (the Scenario view never needs either to answer).
import { render } from '@testing-library/svelte';
import type { HostApi } from '../../core/api/index.js';
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
    saveFile: async () => ({ saved: true }),
    openFile: async () => null,
    onMenu: () => () => {},
  };
}

export function stubWorker(): Worker {
  return { postMessage() {}, terminate() {}, onmessage: null } as unknown as Worker;
}

export function mountScenario() {
  const lab = new Lab(fakeHost(), stubWorker);
  lab.view = 'scenario';
  const r = render(ScenarioHarness, { props: { lab } });
  return Object.assign(r, { lab });
}

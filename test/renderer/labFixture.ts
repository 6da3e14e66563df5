// A Lab for component tests: a fake host that records saved files, and a fake worker that
// records requests and lets a test answer them as the real worker would.
import { vi } from 'vitest';
import type { HostApi, WorkerEvent, WorkerRequest } from '../../core/api/index.js';
import { Lab } from '../../renderer/src/lib/lab.svelte.js';
import { EDIT_SCENARIO } from './scenarioLab.js';

export class FakeWorker {
  onmessage: ((e: MessageEvent<WorkerEvent>) => void) | null = null;
  onerror: ((e: ErrorEvent) => void) | null = null;
  onmessageerror: (() => void) | null = null;
  readonly sent: WorkerRequest[] = [];
  postMessage(m: WorkerRequest): void {
    this.sent.push(m);
  }
  terminate(): void {}
  emit(e: WorkerEvent): void {
    this.onmessage?.({ data: e } as MessageEvent<WorkerEvent>);
  }
}

export function fakeLab(): { lab: Lab; worker: FakeWorker; saved: { suggestedName: string; content: string }[] } {
  const worker = new FakeWorker();
  const saved: { suggestedName: string; content: string }[] = [];
  const host = {
    info: vi.fn(async () => ({ version: 'test', host: 'browser', dataDir: '/tmp', store: { ok: true } })),
    listRuns: vi.fn(async () => []),
    saveFile: vi.fn(async (a: { suggestedName: string; content: string }) => {
      saved.push({ suggestedName: a.suggestedName, content: a.content });
      return { saved: true };
    }),
    onMenu: () => () => {},
  } as unknown as HostApi;
  const lab = new Lab(host, () => worker as unknown as Worker);
  // The two-guest scenario these tests were written for (the start-up scenario before issue 10).
  lab.scenario = structuredClone(EDIT_SCENARIO);
  return { lab, worker, saved };
}

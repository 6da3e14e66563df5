/**
 * The app's shared state, passed down by context: the host, the simulation worker, the scenario
 * being edited, saved runs, the current view, theme and notices.
 */
import { getContext, setContext } from 'svelte';
import { MediaQuery } from 'svelte/reactivity';
import type { HostApi, HostInfo, MenuCommand, RunSummary, ScenarioInput } from '../../../core/api/index.js';
import { validateScenario } from '../../../core/api/index.js';
import { SimWorker } from './simWorker.svelte.js';
import { RunRecorder } from './recorder.js';

export const VIEWS = ['scenario', 'run', 'compare', 'walk', 'history'] as const;
export type View = (typeof VIEWS)[number];

export interface Notice {
  id: number;
  kind: 'info' | 'error';
  text: string;
}

const KEY = Symbol('lab');

export const DEFAULT_SCENARIO: ScenarioInput = {
  name: 'walk-4k',
  description: 'One cold page walk per access: 4 references under PV, 24 under nested paging with 4 KiB pages.',
  machine: { memoryMiB: 2048, pcpus: 2 },
  hypervisor: 'xen',
  domains: [
    { name: 'g1', mode: 'pv', memoryMiB: 256, vcpus: 1, guestPageSize: '4k', hostPageSize: '4k', workload: { kind: 'cold-walk', pages: 2000 } },
    { name: 'g2', mode: 'hap', memoryMiB: 256, vcpus: 1, guestPageSize: '4k', hostPageSize: '4k', workload: { kind: 'cold-walk', pages: 2000 } },
  ],
};

export class Lab {
  view = $state<View>('run');
  scenario = $state<ScenarioInput>(structuredClone(DEFAULT_SCENARIO));
  runs = $state.raw<RunSummary[]>([]);
  info = $state.raw<HostInfo | null>(null);
  notices = $state<Notice[]>([]);
  theme = $state<'system' | 'light' | 'dark'>('system');
  /**
   * The OS's colour scheme, live: MediaQuery listens to the query's 'change' while anything
   * reactive reads it, so "system" follows the OS when it switches with the app open.
   */
  private readonly osDark = typeof matchMedia !== 'undefined' ? new MediaQuery('(prefers-color-scheme: dark)', false) : null;
  /** The theme in effect: the setting, or with "system" the OS's. */
  readonly dark = $derived(this.theme === 'dark' || (this.theme === 'system' && (this.osDark?.current ?? false)));
  lastSavedRun = $state<number | null>(null);
  /** A run opened from history, shown in the run view instead of the live session. */
  openedRun = $state<number | null>(null);
  readonly sim: SimWorker;
  readonly recorder: RunRecorder;
  private nextNotice = 1;

  validation = $derived(validateScenario($state.snapshot(this.scenario)));

  constructor(
    readonly host: HostApi,
    workerFactory: () => Worker,
  ) {
    this.sim = new SimWorker(workerFactory);
    this.recorder = new RunRecorder(host, this.sim, {
      onSaved: (id) => {
        this.lastSavedRun = id;
        void this.refreshRuns();
      },
      onError: (m) => this.notify('error', m),
    });
    const saved = typeof localStorage !== 'undefined' ? localStorage.getItem('hyperlab-theme') : null;
    if (saved === 'light' || saved === 'dark' || saved === 'system') this.theme = saved;
  }

  async init(): Promise<void> {
    this.host.onMenu((cmd) => void this.onMenu(cmd));
    try {
      this.info = await this.host.info();
      if (!this.info.store.ok) this.notify('error', this.info.store.problem);
    } catch (e) {
      this.notify('error', `cannot reach the host: ${(e as Error).message}`);
    }
    await this.refreshRuns();
  }

  async refreshRuns(): Promise<void> {
    try {
      this.runs = await this.host.listRuns();
    } catch (e) {
      this.notify('error', `cannot list saved runs: ${(e as Error).message}`);
    }
  }

  notify(kind: Notice['kind'], text: string): void {
    const id = this.nextNotice++;
    this.notices.push({ id, kind, text });
    setTimeout(() => this.dismiss(id), kind === 'error' ? 12_000 : 5_000);
  }

  dismiss(id: number): void {
    const i = this.notices.findIndex((n) => n.id === id);
    if (i >= 0) this.notices.splice(i, 1);
  }

  setTheme(t: 'system' | 'light' | 'dark'): void {
    this.theme = t;
    localStorage.setItem('hyperlab-theme', t);
  }

  /** Validates, records and starts the scenario in the worker. */
  run(): boolean {
    const v = this.validation;
    if (!v.ok) {
      this.notify('error', `the scenario has ${v.problems.length} problem${v.problems.length === 1 ? '' : 's'}: ${v.problems[0]!.path}: ${v.problems[0]!.message}`);
      this.view = 'scenario';
      return false;
    }
    this.openedRun = null;
    this.recorder.begin(v.scenario);
    this.sim.start(v.scenario);
    this.view = 'run';
    return true;
  }

  private async onMenu(cmd: MenuCommand): Promise<void> {
    switch (cmd) {
      case 'new-scenario':
        this.scenario = structuredClone(DEFAULT_SCENARIO);
        this.view = 'scenario';
        return;
      case 'open-scenario':
        return this.openScenario();
      case 'save-scenario':
        return this.saveScenario();
      case 'export-run': {
        const id = this.lastSavedRun ?? this.runs[0]?.id;
        if (id === undefined) return this.notify('info', 'no saved run to export yet');
        try {
          const f = await this.host.exportRun(id, 'json');
          await this.host.saveFile({ suggestedName: f.filename, content: f.content, filters: [{ name: 'JSON', extensions: ['json'] }] });
        } catch (e) {
          this.notify('error', `export failed: ${(e as Error).message}`);
        }
        return;
      }
      case 'about':
        return this.notify('info', `Hyperlab ${this.info?.version ?? ''}`);
    }
  }

  /** File → Open: a scenario JSON (shown even when invalid, so its problems can be fixed). */
  async openScenario(): Promise<void> {
    const f = await this.host.openFile({ filters: [{ name: 'Hyperlab scenario', extensions: ['json'] }] });
    if (!f) return;
    let doc: unknown;
    try {
      doc = JSON.parse(f.content);
    } catch (e) {
      this.notify('error', `${f.name} is not JSON: ${(e as Error).message}`);
      return;
    }
    if (!doc || typeof doc !== 'object' || Array.isArray(doc) || !Array.isArray((doc as { domains?: unknown }).domains)) {
      this.notify('error', `${f.name} is not a Hyperlab scenario (it needs "name", "machine", "hypervisor" and a "domains" list)`);
      return;
    }
    this.scenario = doc as ScenarioInput;
    const v = validateScenario(doc);
    this.notify(v.ok ? 'info' : 'error', v.ok ? `opened ${f.name}` : `opened ${f.name}: ${v.problems.length} problem(s), shown in the Scenario view`);
    if (!v.ok) this.view = 'scenario';
  }

  /**
   * Puts a saved run's scenario (a snapshot kept with the run) in the editor and shows the Scenario
   * view, with a notice; shown even when invalid, as File → Open does, so its problems can be fixed.
   */
  loadScenario(doc: unknown, from: string): boolean {
    if (!doc || typeof doc !== 'object' || Array.isArray(doc) || !Array.isArray((doc as { domains?: unknown }).domains)) {
      this.notify('error', `${from} has no scenario to load (it needs "name", "machine", "hypervisor" and a "domains" list)`);
      return false;
    }
    this.scenario = structuredClone(doc) as ScenarioInput;
    this.view = 'scenario';
    const v = validateScenario(doc);
    this.notify(
      v.ok ? 'info' : 'error',
      v.ok ? `loaded the scenario of ${from} into the editor` : `loaded the scenario of ${from}: ${v.problems.length} problem(s), shown in the Scenario view`,
    );
    return true;
  }

  /** File → Save: the scenario as JSON (a file) and in the store's scenario list. */
  async saveScenario(): Promise<void> {
    const doc = $state.snapshot(this.scenario);
    const name = (doc.name || 'scenario').replace(/[^A-Za-z0-9_.-]+/g, '-');
    try {
      await this.host.saveScenario(doc.name || name, doc);
      const r = await this.host.saveFile({ suggestedName: `${name}.json`, content: JSON.stringify(doc, null, 2) + '\n', filters: [{ name: 'Hyperlab scenario', extensions: ['json'] }] });
      if (r.saved) this.notify('info', `saved ${r.path ?? `${name}.json`}`);
    } catch (e) {
      this.notify('error', `cannot save the scenario: ${(e as Error).message}`);
    }
  }

  get running(): boolean {
    const s = this.sim.state;
    return s === 'running' || s === 'booting' || s === 'paused';
  }
}

export function setLab(lab: Lab): void {
  setContext(KEY, lab);
}

export function useLab(): Lab {
  return getContext<Lab>(KEY);
}

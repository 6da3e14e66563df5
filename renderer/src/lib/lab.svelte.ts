/**
 * The app's shared state, passed down by context: the host, the simulation worker, the scenario
 * being edited, saved runs, the current view, theme and notices.
 */
import { getContext, setContext } from 'svelte';
import { MediaQuery } from 'svelte/reactivity';
import type { HostApi, HostInfo, MenuCommand, Pace, RunSummary, ScenarioInput } from '../../../core/api/index.js';
import { DEFAULT_PACE, describeJsonError, validateScenario } from '../../../core/api/index.js';
import { PRESETS } from '../../../core/api/presets.js';
import { SimWorker } from './simWorker.svelte.js';
import { RunRecorder } from './recorder.js';

export const VIEWS = ['scenario', 'run', 'compare', 'walk', 'topology', 'history', 'reproductions', 'labs'] as const;
export type View = (typeof VIEWS)[number];

export interface Notice {
  id: number;
  kind: 'info' | 'error';
  text: string;
  /** A notice about one thing (a refused run, a loaded preset): a newer one with the key replaces it. */
  key?: string;
}

/** At most this many notices at once; an older one gives way to a newer. */
export const MAX_NOTICES = 3;
/** The key of the notice a refused run leaves: withdrawn or updated as the scenario is fixed. */
export const RUN_REFUSED = 'run-refused';

const KEY = Symbol('lab');

/**
 * The scenario the app starts with (and File → New gives): the walk-4k preset itself, so the
 * start-up scenario and the preset of that name can never differ.
 */
export const DEFAULT_PRESET_ID = 'walk-4k';
export const DEFAULT_SCENARIO: ScenarioInput = (() => {
  const p = PRESETS.find((x) => x.id === DEFAULT_PRESET_ID) ?? PRESETS[0]!;
  return p.scenario;
})();

/** The theme picker's settings: the OS's, or one chosen. */
export type ThemeSetting = 'system' | AppliedTheme;
/** The themes app.css defines (html[data-theme]). */
export type AppliedTheme = 'light' | 'dark' | 'contrast';

export class Lab {
  view = $state<View>('run');
  scenario = $state<ScenarioInput>(structuredClone(DEFAULT_SCENARIO));
  runs = $state.raw<RunSummary[]>([]);
  info = $state.raw<HostInfo | null>(null);
  notices = $state<Notice[]>([]);
  theme = $state<ThemeSetting>('system');
  /**
   * The OS's colour scheme, live: MediaQuery listens to the query's 'change' while anything
   * reactive reads it, so "system" follows the OS when it switches with the app open.
   */
  private readonly osDark = typeof matchMedia !== 'undefined' ? new MediaQuery('(prefers-color-scheme: dark)', false) : null;
  /** The OS asks for more contrast (Windows high contrast, macOS "Increase contrast"). */
  private readonly osContrast = typeof matchMedia !== 'undefined' ? new MediaQuery('(prefers-contrast: more)', false) : null;
  /**
   * The theme in effect: the setting, or with "system" the OS's — high contrast when the OS asks
   * for more contrast, else its light or dark scheme.
   */
  readonly appliedTheme = $derived<AppliedTheme>(
    this.theme !== 'system' ? this.theme : (this.osContrast?.current ?? false) ? 'contrast' : (this.osDark?.current ?? false) ? 'dark' : 'light',
  );
  readonly dark = $derived(this.appliedTheme === 'dark');
  lastSavedRun = $state<number | null>(null);
  /** Simulated time per real second for the next run, and for the live one when changed. */
  pace = $state<Pace>(DEFAULT_PACE);
  /** The next run repeats every workload until Stop is pressed. */
  repeat = $state(false);
  /** A run opened from history, shown in the run view instead of the live session. */
  openedRun = $state<number | null>(null);
  readonly sim: SimWorker;
  readonly recorder: RunRecorder;
  private nextNotice = 1;
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- timers, not state: nothing renders them
  private readonly noticeTimers = new Map<number, ReturnType<typeof setTimeout>>();
  /**
   * Editors holding an edit that does not parse (the JSON editor, a domain's xl.cfg), by editor:
   * what is wrong and where. The scenario keeps its last valid version meanwhile, so the status
   * says so and Run refuses rather than run that version.
   */
  unparsed = $state<Record<string, string>>({});
  /** Editors with a typed edit not yet parsed (debounced): run() parses them first. */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- callbacks, not state: nothing renders them
  private readonly flushers = new Set<() => void>();

  validation = $derived(validateScenario($state.snapshot(this.scenario)));

  constructor(
    readonly host: HostApi,
    workerFactory: () => Worker,
    /** Workers a compare or sweep may use at once (main.ts: comparePoolSize(navigator.hardwareConcurrency)); 1 runs it in the session's worker. */
    opts: { compareWorkers?: number } = {},
  ) {
    this.sim = new SimWorker(workerFactory, opts);
    this.recorder = new RunRecorder(host, this.sim, {
      onSaved: (id) => {
        this.lastSavedRun = id;
        void this.refreshRuns();
      },
      onError: (m) => this.notify('error', m),
    });
    const saved = typeof localStorage !== 'undefined' ? localStorage.getItem('hyperlab-theme') : null;
    if (saved === 'light' || saved === 'dark' || saved === 'contrast' || saved === 'system') this.theme = saved;
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

  /**
   * Shows a notice. The same notice again (same kind and text) is not shown twice: its timer starts
   * over. A notice with a key replaces the one with that key. At most MAX_NOTICES show at once.
   */
  notify(kind: Notice['kind'], text: string, key?: string): void {
    const same = this.notices.find((n) => (key !== undefined && n.key === key) || (n.kind === kind && n.text === text));
    let id: number;
    if (same) {
      id = same.id;
      same.kind = kind;
      same.text = text;
      if (key !== undefined) same.key = key;
    } else {
      id = this.nextNotice++;
      this.notices.push({ id, kind, text, ...(key !== undefined ? { key } : {}) });
      while (this.notices.length > MAX_NOTICES) this.dismiss(this.notices[0]!.id);
    }
    clearTimeout(this.noticeTimers.get(id));
    this.noticeTimers.set(id, setTimeout(() => this.dismiss(id), kind === 'error' ? 12_000 : 5_000));
  }

  dismiss(id: number): void {
    clearTimeout(this.noticeTimers.get(id));
    this.noticeTimers.delete(id);
    const i = this.notices.findIndex((n) => n.id === id);
    if (i >= 0) this.notices.splice(i, 1);
  }

  /** An editor's unparsed edit (message: what and where), or null once it parses or is dropped. */
  setUnparsed(editor: string, message: string | null): void {
    if (message === null) {
      if (editor in this.unparsed) delete this.unparsed[editor];
    } else if (this.unparsed[editor] !== message) {
      this.unparsed[editor] = message;
    }
  }

  /** An editor's "parse what is typed now"; returns the function that unregisters it. */
  onFlush(flush: () => void): () => void {
    this.flushers.add(flush);
    return () => this.flushers.delete(flush);
  }

  /** Why Run would refuse now, or null: an editor's unparsed edit first, then the scenario's problems. */
  runBlocker(): string | null {
    const draft = Object.values(this.unparsed)[0];
    if (draft !== undefined) return `${draft}. Fix or undo it there: the scenario still holds the last version that parsed, and running that would not be what the editor shows.`;
    const v = this.validation;
    if (!v.ok) return `the scenario has ${v.problems.length} problem${v.problems.length === 1 ? '' : 's'}: ${v.problems[0]!.path}: ${v.problems[0]!.message}`;
    return null;
  }

  /** A refused run's notice follows the scenario: it names the current problem, and goes once it is fixed. */
  syncRunRefused(): void {
    const n = this.notices.find((x) => x.key === RUN_REFUSED);
    if (!n) return;
    const why = this.runBlocker();
    if (why === null) this.dismiss(n.id);
    else if (n.text !== `Not run: ${why}`) n.text = `Not run: ${why}`;
  }

  setTheme(t: ThemeSetting): void {
    this.theme = t;
    localStorage.setItem('hyperlab-theme', t);
  }

  /**
   * Validates, records and starts the scenario in the worker. opts.view: the view to show while it
   * runs (default the Run view; the Labs view stays on its sheet); opts.pace: this run's pace
   * instead of the setting's.
   */
  run(opts: { view?: View; pace?: Pace } = {}): boolean {
    for (const flush of this.flushers) flush();
    const why = this.runBlocker();
    const v = this.validation;
    if (why !== null || !v.ok) {
      this.notify('error', `Not run: ${why}`, RUN_REFUSED);
      this.view = 'scenario';
      return false;
    }
    this.openedRun = null;
    this.recorder.begin(v.scenario);
    this.sim.start(v.scenario, 100, { pace: opts.pace ?? this.pace, repeat: opts.view === undefined ? this.repeat : false });
    this.view = opts.view ?? 'run';
    return true;
  }

  /** Sets the pace: for the next run, and at once for a live one. */
  setPace(pace: Pace): void {
    this.pace = pace;
    if (this.running) this.sim.setPace(pace);
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
      this.notify('error', `${f.name}: ${describeJsonError(f.content, e as Error)}`);
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

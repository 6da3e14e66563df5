/**
 * The walk view's state: what to walk, the what-if settings (applied to a copy of the scenario
 * being edited, never to it until the user applies them), the trace the worker answered with, and
 * where the user is in it. The view owns the effects (it knows when it is visible); this class
 * owns what they do.
 */
import type { ScenarioInput, WalkTrace } from '../../../core/api/index.js';
import { validateScenario } from '../../../core/api/index.js';
import type { Lab } from './lab.svelte.js';
import * as W from './walk.js';

type Request = { scenario: ScenarioInput; domain: string; settings: W.WalkSettings; opts: { va?: string; warm: boolean; write: boolean } };

export class WalkSession {
  chosen = $state<string | null>(null);
  overrides = $state<Partial<W.WalkSettings>>({});
  warm = $state(false);
  write = $state(false);
  /** The address field as typed; `va` is the last valid address committed (Enter, a pick). */
  vaText = $state('');
  va = $state<string | undefined>(undefined);

  shown = $state.raw<{ trace: WalkTrace; settings: W.WalkSettings } | null>(null);
  candidates = $state.raw<string[]>([]);
  busy = $state(false);
  error = $state<string | null>(null);
  step = $state(0);
  playing = $state(false);
  pace = $state(700);

  readonly guests = $derived.by(() => W.guestDomains(this.lab.scenario));
  // The 2D walk is what the view is for: a HAP guest first, unless the user picked one.
  readonly domain = $derived(this.guests.find((g) => g.name === this.chosen) ?? this.guests.find((g) => g.mode === 'hap') ?? this.guests[0] ?? null);
  readonly base = $derived.by(() => (this.domain ? W.scenarioSettings(this.lab.scenario, this.domain.name) : null));
  readonly settings = $derived(this.base ? { ...this.base, ...this.overrides } : null);
  readonly changed = $derived(!!this.base && !!this.settings && (Object.keys(this.base) as (keyof W.WalkSettings)[]).some((k) => this.base![k] !== this.settings![k]));
  readonly vaParse = $derived(W.parseVaInput(this.vaText));
  readonly variant = $derived.by(() =>
    this.domain && this.settings ? W.walkVariant($state.snapshot(this.lab.scenario) as ScenarioInput, this.domain.name, this.settings) : null,
  );
  readonly validation = $derived(this.variant ? validateScenario(this.variant) : null);
  readonly problems = $derived(this.domain && this.validation && !this.validation.ok ? W.sortProblems(this.validation.problems, this.domain.index) : null);
  readonly request = $derived<Request | null>(
    this.variant && this.domain && this.settings && this.validation?.ok
      ? { scenario: this.variant, domain: this.domain.name, settings: this.settings, opts: { ...(this.va !== undefined ? { va: this.va } : {}), warm: this.warm, write: this.write } }
      : null,
  );
  readonly requestKey = $derived(this.request ? JSON.stringify(this.request) : null);

  readonly grid = $derived(this.shown ? W.walkGrid(this.shown.trace) : null);
  readonly total = $derived(this.shown?.trace.refs.length ?? 0);
  readonly levels = $derived(this.shown ? W.walkLevels(this.shown.trace.mode, this.shown.settings.guestPageSize, this.shown.settings.hostPageSize) : null);

  // Plumbing, not UI state: which request the shown trace answers, and the latest one sent.
  private loadedKey: string | null = null;
  private seq = 0;

  constructor(private readonly lab: Lab) {}

  /** Asks the worker for the current request if it is not the one already answered (an effect calls this). */
  sync(): void {
    const req = this.request;
    if (!req || this.requestKey === this.loadedKey) return;
    this.loadedKey = this.requestKey;
    void this.load(req);
  }

  retry(): void {
    this.loadedKey = null;
    this.sync();
  }

  private async load(req: Request): Promise<void> {
    const mine = ++this.seq;
    this.busy = true;
    this.error = null;
    try {
      const r = await this.lab.sim.walk(req.scenario, req.domain, req.opts);
      if (mine !== this.seq) return;
      // Redrawn where the user was: at the end of the new walk if they were at the end of the old.
      const atEnd = this.shown !== null && this.step > 0 && this.step === this.shown.trace.refs.length;
      this.shown = { trace: r.trace, settings: req.settings };
      this.candidates = r.candidates;
      this.step = atEnd ? r.trace.refs.length : Math.min(this.step, r.trace.refs.length);
      this.playing = false;
    } catch (e) {
      if (mine === this.seq) this.error = (e as Error).message;
    } finally {
      if (mine === this.seq) this.busy = false;
    }
  }

  act(a: W.StepAction): void {
    if (a === 'reset' || a === 'back') this.playing = false;
    this.step = W.applyStep(this.step, this.total, a);
  }

  jump(n: number): void {
    this.playing = false;
    this.step = Math.max(0, Math.min(this.total, n));
  }

  toggle(): void {
    if (!this.playing && this.step >= this.total) this.step = 0;
    this.playing = !this.playing && this.total > 0;
  }

  /** While playing (and visible), one step per `pace`; returns the cleanup (an effect calls this). */
  play(visible: boolean): (() => void) | undefined {
    if (!this.playing || !visible) return;
    const id = setInterval(() => {
      if (this.step >= this.total) this.playing = false;
      else this.step += 1;
    }, this.pace);
    return () => clearInterval(id);
  }

  commitVa(text: string): void {
    this.vaText = text;
    const p = W.parseVaInput(text);
    if (p.ok) this.va = p.va;
  }

  pickDomain(name: string): void {
    this.chosen = name;
    this.overrides = {};
    // A candidate belongs to the old domain's address space; a typed address is the user's.
    if (this.va === undefined || this.candidates.includes(this.va)) this.commitVa('');
  }

  setting(s: Partial<W.WalkSettings>): void {
    this.overrides = { ...this.overrides, ...s };
    // Other guest pages map other addresses: go back to the first mapped page, unless typed.
    if (s.guestPageSize !== undefined && this.va !== undefined && this.candidates.includes(this.va)) this.commitVa('');
  }

  /** Writes the what-if settings into the scenario being edited (only those that differ). */
  apply(): void {
    const { domain, settings, base } = this;
    if (!domain || !settings || !base || !this.validation?.ok) return;
    const s = this.lab.scenario;
    if (settings.psc !== base.psc || settings.nestedTlb !== base.nestedTlb) {
      const mmu = { ...(s.machine.mmu ?? {}) };
      if (settings.psc !== base.psc) mmu.psc = { ...(mmu.psc ?? {}), enabled: settings.psc };
      if (settings.nestedTlb !== base.nestedTlb) mmu.nestedTlb = { ...(mmu.nestedTlb ?? {}), enabled: settings.nestedTlb };
      s.machine.mmu = mmu;
    }
    const d = s.domains.find((x) => x.name === domain.name);
    if (d) {
      d.guestPageSize = settings.guestPageSize;
      d.hostPageSize = settings.hostPageSize;
    }
    this.overrides = {};
    this.lab.notify('info', `applied the walk's settings to ${domain.name} and the machine in scenario "${s.name}"`);
  }

  revert(): void {
    this.overrides = {};
  }
}

/**
 * The Compare view's state: what to compare (modes, workload, sweep), the request in flight, and
 * the last outcome. Kept in a class so the view's components share it and it survives switching
 * views (the view stays mounted, hidden).
 */
import type { PagingMode, Problem, ScenarioInput, SweepSpec, WorkloadKind } from '../../../../core/api/index.js';
import { validateScenario } from '../../../../core/api/index.js';
import type { Lab } from '../lab.svelte.js';
import type { CompareOutcome } from '../simWorker.svelte.js';
import { MODE_ORDER } from './shape.js';
import {
  chosenWorkload,
  compareScenario,
  defaultSweep,
  firstGuestIndex,
  kindSpec,
  numericParams,
  parseValues,
  scenarioWorkload,
  type WorkloadChoice,
} from './workload.js';

/** What the last comparison ran, kept beside its outcome (the form may change after). */
export interface RanFor {
  guest: string;
  workload: Record<string, unknown> & { kind: string };
  sweep: SweepSpec | null;
}

export class CompareSession {
  modes = $state<Record<PagingMode, boolean>>({ native: true, pv: true, shadow: true, hap: true });
  source = $state<'scenario' | 'kind'>('scenario');
  kind = $state<WorkloadKind>('update-vs-access');
  main = $state(20);
  sweepOn = $state(false);
  sweepParam = $state('updatesPerKiloAccess');
  /** The values typed for each parameter (switching parameters keeps what was typed for each). */
  private sweepTexts = $state<Record<string, string>>({});

  outcome = $state.raw<CompareOutcome | null>(null);
  ranFor = $state.raw<RanFor | null>(null);
  busy = $state(false);
  error = $state<{ message: string; problems?: Problem[] } | null>(null);
  cancelled = $state(false);
  /** The History entry the last comparison was saved as (null until saved, or if saving failed). */
  savedAs = $state<number | null>(null);

  constructor(private readonly lab: Lab) {}

  /** A plain copy of the scenario being edited (read deeply, so edits there re-derive all this). */
  readonly base = $derived.by(() => $state.snapshot(this.lab.scenario));
  readonly choice: WorkloadChoice = $derived(this.source === 'scenario' ? { source: 'scenario' } : { source: 'kind', kind: this.kind, main: this.main });
  readonly ownWorkload = $derived(scenarioWorkload(this.base));
  readonly hasGuest = $derived(firstGuestIndex(this.base) >= 0);
  readonly workload = $derived(chosenWorkload(this.base, this.choice));
  readonly params = $derived(numericParams(this.workload));
  readonly selectedModes = $derived(MODE_ORDER.filter((m) => this.modes[m]));
  readonly values = $derived(parseValues(this.sweepText));
  /** The sweep parameter actually used: the chosen one if the workload has it, else its first. */
  readonly param = $derived(this.params.includes(this.sweepParam) ? this.sweepParam : (this.params[0] ?? ''));

  /** The values for the parameter in use: as typed, or a first sweep around its current value. */
  get sweepText(): string {
    const cur = this.workload[this.param];
    return this.sweepTexts[this.param] ?? defaultSweep(this.param, typeof cur === 'number' ? cur : 1).join(', ');
  }
  set sweepText(text: string) {
    this.sweepTexts[this.param] = text;
  }

  readonly sweep: SweepSpec | null = $derived(this.sweepOn && this.values.ok && this.param ? { param: this.param, values: this.values.values } : null);

  /** Problems that stop a comparison from starting, each where the user can fix it. */
  readonly problems = $derived.by((): Problem[] => {
    const out: Problem[] = [];
    if (!this.hasGuest) out.push({ path: 'scenario', message: 'the scenario has no guest domain to compare; add one in the Scenario view' });
    if (this.selectedModes.length === 0) out.push({ path: 'modes', message: 'choose at least one paging mode' });
    if (this.source === 'kind' && !(Number.isFinite(this.main) && this.main >= 0)) {
      out.push({ path: 'workload', message: `${kindSpec(this.kind)?.main ?? 'the parameter'} must be a number ≥ 0` });
    }
    if (this.sweepOn) {
      if (!this.values.ok) out.push({ path: 'sweep.values', message: this.values.message });
      if (!this.param) out.push({ path: 'sweep.param', message: `the ${this.workload.kind} workload has no numeric parameter to sweep` });
    }
    if (out.length === 0 && this.hasGuest) {
      const base = compareScenario(this.base, this.choice);
      const points = this.sweep ? this.sweep.values.map((v) => ({ v, s: withParam(base, this.sweep!.param, v) })) : [{ v: null, s: base }];
      for (const { v, s } of points) {
        const r = validateScenario(s);
        if (!r.ok) {
          const at = v === null ? '' : ` (at ${this.sweep!.param} = ${v})`;
          out.push(...r.problems.map((p) => ({ path: p.path, message: p.message + at })));
          break;
        }
      }
    }
    return out;
  });

  readonly runCount = $derived(this.selectedModes.length * (this.sweep ? this.sweep.values.length : 1));

  setKind(kind: WorkloadKind): void {
    this.kind = kind;
    const spec = kindSpec(kind)!;
    const own = this.ownWorkload;
    const v = own.kind === kind ? own[spec.main] : spec.defaults[spec.main];
    this.main = typeof v === 'number' ? v : 0;
    if (!numericParams(chosenWorkload(this.base, { source: 'kind', kind, main: this.main })).includes(this.sweepParam)) this.setSweepParam(spec.main);
  }

  setSweepParam(param: string): void {
    this.sweepParam = param;
  }

  async run(): Promise<void> {
    if (this.problems.length > 0) return;
    const guestIdx = firstGuestIndex(this.base);
    const scenario = compareScenario(this.base, this.choice);
    const sweep = this.sweep ? { param: this.sweep.param, values: [...this.sweep.values] } : null;
    const ran: RanFor = { guest: scenario.domains[guestIdx]!.name, workload: $state.snapshot(this.workload), sweep };
    this.busy = true;
    this.error = null;
    this.cancelled = false;
    try {
      const outcome = await this.lab.sim.compare(scenario, [...this.selectedModes], sweep ?? undefined);
      this.outcome = outcome;
      this.ranFor = ran;
      this.savedAs = null;
      void this.save(scenario, outcome, ran);
    } catch (e) {
      const message = (e as Error).message;
      if (/cancel/i.test(message)) this.cancelled = true;
      else if (!/superseded/.test(message)) this.error = { message };
    } finally {
      this.busy = false;
    }
  }

  /** Saves a comparison in History (kind 'compare', or 'sweep'), so its charts can be opened again. */
  private async save(scenario: ScenarioInput, outcome: CompareOutcome, ran: RanFor): Promise<void> {
    try {
      const { id } = await this.lab.host.saveCompare({
        scenarioName: scenario.name || 'scenario',
        scenario,
        seed: typeof scenario.seed === 'number' ? scenario.seed : 1,
        compare: { guest: ran.guest, workload: ran.workload, sweep: ran.sweep, result: outcome.result, sweepPoints: outcome.sweep?.points ?? null },
      });
      if (this.outcome === outcome) this.savedAs = id;
      await this.lab.refreshRuns();
    } catch (e) {
      this.lab.notify('error', `this comparison was not saved in History: ${(e as Error).message}`);
    }
  }

  cancel(): void {
    this.lab.sim.cancelCompare();
  }
}

function withParam(s: ReturnType<typeof compareScenario>, param: string, value: number): ReturnType<typeof compareScenario> {
  const i = firstGuestIndex(s);
  const copy = structuredClone(s);
  copy.domains[i] = { ...copy.domains[i]!, workload: { ...(copy.domains[i]!.workload as object), [param]: value } as never };
  return copy;
}

/**
 * The toolstack library under `xl` (after libxl): domain lifecycle against the live Simulation,
 * with an event for each change so the hypervisor log, xenstore and the consoles follow.
 */
import type { Vm } from '../vm/vm.js';
import type { DomainInput, Simulation } from '../sim/simulation.js';

export interface LibxlEvents {
  created(d: Vm): void;
  destroyed(d: Vm, freed: { guestFrames: number; xenFrames: number }): void;
  paused(d: Vm): void;
  unpaused(d: Vm): void;
}

/** libxl's ERROR_INVAL, which xl prints for a name or id that matches no domain. */
export const ERROR_INVAL = -6;

export class Libxl {
  constructor(
    readonly sim: Simulation,
    private readonly events: LibxlEvents,
  ) {}

  /** Live domains by domid. */
  list(): Vm[] {
    return [...this.sim.domains].sort((a, b) => a.domid - b.domid);
  }

  /** A domain by name, or by domid when `ident` is a number (libxl_name_to_domid / xl's find_domain). */
  find(ident: string): Vm | null {
    const byName = this.sim.domains.find((d) => d.name === ident);
    if (byName) return byName;
    if (/^\d+$/.test(ident)) return this.sim.domains.find((d) => d.domid === Number(ident)) ?? null;
    return null;
  }

  /** Builds and boots a domain; throws DomainConfigError when it cannot. */
  create(input: DomainInput): Vm {
    const d = this.sim.createDomain(input);
    this.events.created(d);
    return d;
  }

  destroy(d: Vm): void {
    const freed = this.sim.destroyDomain(d);
    this.events.destroyed(d, freed);
  }

  pause(d: Vm): void {
    this.sim.pauseDomain(d);
    this.events.paused(d);
  }

  unpause(d: Vm): void {
    this.sim.unpauseDomain(d);
    this.events.unpaused(d);
  }
}

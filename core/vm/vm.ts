/**
 * A virtual machine: a domain as the hypervisor keeps it, paired with the guest kernel running in
 * it and the paging backend between the two. The toolstack and the simulation deal in these; the
 * hypervisor and the guest never see one.
 */
import type { DomainConfig, PagingMode } from '../api/scenario.js';
import type { GuestKernel } from '../guest/kernel.js';
import type { PvOps } from '../guest/pvops.js';
import type { CallResult } from '../guest/attack/scriptRunner.js';
import type { Counters } from '../machine/counters.js';
import type { Mmu } from '../machine/mmu/mmu.js';
import type { Domain, DomainState } from '../hv/domain.js';
import type { VmIo } from './io/ioWorld.js';
import type { MigrationResults } from '../api/results.js';
import type { BalloonDriver } from '../guest/balloon.js';

export class Vm {
  /** Results of a `hypercalls` script (the attack lab), one per step. */
  scriptCalls?: CallResult[];
  /** Its I/O (virtual disks, what it serves and drives) when the scenario has devices. */
  io?: VmIo;
  /** Pages Xen was asked to move (relocate), and what became of them (core/vm/relocate.ts). */
  relocation?: { requested: number; moved: number; refused: number };
  /** Its balloon driver (a Xen guest with xenstore: core/vm/balloon.ts). */
  balloon?: BalloonDriver;

  /** Which host it runs on: the scenario's machine, or the migration target after a live migration. */
  host: 'source' | 'target' = 'source';
  /** A live migration's report (core/vm/migrate.ts), once it has moved. */
  migration?: MigrationResults;

  constructor(
    /** The domain as Xen keeps it; a live migration replaces it with the target host's (rehome). */
    public dom: Domain,
    public ops: PvOps,
    readonly kernel: GuestKernel,
  ) {}

  /** After a live migration: the same guest, now the target host's domain behind new paging ops. */
  rehome(dom: Domain, ops: PvOps, host: 'source' | 'target'): void {
    this.dom = dom;
    this.ops = ops;
    this.host = host;
  }

  get name(): string {
    return this.dom.name;
  }
  get domid(): number {
    return this.dom.domid;
  }
  get config(): DomainConfig {
    return this.dom.config;
  }
  get mode(): PagingMode {
    return this.dom.mode;
  }
  get privileged(): boolean {
    return this.dom.privileged;
  }
  get counters(): Counters {
    return this.dom.counters;
  }
  get mmu(): Mmu {
    return this.dom.mmu;
  }
  get state(): DomainState {
    return this.dom.state;
  }
  set state(s: DomainState) {
    this.dom.state = s;
  }
}

/**
 * What the files of shadow/ share (Xen: shadow/private.h, and the shadow parts of struct domain
 * and struct vcpu): the pool's slots, the guest table → shadow maps, and the vCPU's out-of-sync
 * slots. Private to this folder: the rest of the hypervisor goes through ShadowPaging.
 */
import { C, type Vx } from '../../../machine/counters.js';
import type { CostTable } from '../../../machine/cost.js';
import type { Counters } from '../../../machine/counters.js';
import type { MachineMemory } from '../../../machine/memory.js';

/** Xen: SHADOW_OOS_PAGES out-of-sync L1s per vCPU. */
export const SHADOW_OOS_PAGES = 3;

export interface ShadowOwner {
  readonly counters: Counters;
  readonly p2m: Int32Array;
  /** p2m_grant_map_rw / _ro entries at gfns beyond RAM (grant host mappings, hv/mm/grantHost.ts). */
  readonly grantP2m?: ReadonlyMap<number, { mfn: number; readonly: boolean }>;
  /** Flush this domain's TLB entries (all of its VPID) on its pCPU. */
  flushTlb(): void;
  /** Invalidate one page in the TLB. */
  invlpg(va: number): void;
  /** After a VM exit and entry (flushes the TLB when the CPU has no VPID). */
  vmTransition(): void;
  /** The gfn machine frame `mfn` backs (the m2p), or a negative number. */
  m2p(mfn: number): number;
  /** KVM's kvm_faultin_pfn (hv/kvm/kvmHost.ts): faults `gfn`'s page into qemu if need be; 0 if not RAM. */
  readonly faultin?: (gfn: number) => number;
}

export class ShadowDomain {
  /** Granted frames a shadow entry was filled with (l1eFromGuest): the only ones removeAllMappings must search for. */
  readonly grantShadowed = new Set<number>();
  /** guest table gfn → slot of its shadow, or -1. */
  readonly shadowOf: Int32Array;
  /** guest superpage base gfn → slot of its fl1 shadow. */
  readonly fl1Of = new Map<number, number>();
  // Per pool slot:
  readonly slotMfn: Int32Array;
  readonly slotGfn: Int32Array;
  readonly slotLevel: Int8Array; // 0 = free, 1..4, 5 = fl1
  readonly slotRefs: Int32Array;
  readonly slotPinned: Uint8Array;
  /** Up-pointers: parent slot * 512 + index of every shadow entry referencing the slot. */
  readonly slotParents: number[][];
  readonly freeSlots: number[] = [];
  readonly mfnToSlot = new Map<number, number>();
  /** Count of writable shadow L1 mappings of each gfn (to find them when a gfn becomes a table). */
  readonly writableMaps: Int32Array;
  /** Out-of-sync L1s: gfn per slot of the vCPU's OOS array, and their snapshots. */
  readonly oosGfn: Int32Array;
  readonly oosSnap: Uint32Array[];
  readonly isOos: Uint8Array;
  lastEmulatedGfn = -1;
  /** Bumped whenever prealloc tears shadows down, so a fault handler knows its path may be gone. */
  generation = 0;
  /** Guest root gfn the vCPU runs on, and its shadow's slot. */
  guestCr3 = -1;
  rootSlot = -1;
  /** The last guest fault's #PF error code and the level it was found at. */
  lastErrorCode = 0;
  lastFaultLevel = 0;
  readonly poolPages: number;

  constructor(
    readonly mem: MachineMemory,
    readonly costs: CostTable,
    readonly owner: ShadowOwner,
    poolMfns: number[],
    readonly outOfSync: boolean,
    /**
     * Xen's SHOPT_EARLY_UNSHADOW (shadow/private.h, "Unshadow l1s on fork or exit"): two
     * PTE-aligned zero writes in a row to one shadowed L1 unshadow it (hvm.c,
     * check_for_early_unshadow). Off, the table stays shadowed and every store to it traps.
     */
    readonly earlyUnshadow: boolean = true,
  ) {
    const nr = owner.p2m.length;
    this.shadowOf = new Int32Array(nr).fill(-1);
    this.writableMaps = new Int32Array(nr);
    this.isOos = new Uint8Array(nr);
    this.poolPages = poolMfns.length;
    const n = poolMfns.length;
    this.slotMfn = Int32Array.from(poolMfns);
    this.slotGfn = new Int32Array(n).fill(-1);
    this.slotLevel = new Int8Array(n);
    this.slotRefs = new Int32Array(n);
    this.slotPinned = new Uint8Array(n);
    this.slotParents = Array.from({ length: n }, () => []);
    for (let s = n - 1; s >= 0; s--) {
      this.freeSlots.push(s);
      this.mfnToSlot.set(poolMfns[s]!, s);
    }
    this.oosGfn = new Int32Array(SHADOW_OOS_PAGES).fill(-1);
    this.oosSnap = Array.from({ length: SHADOW_OOS_PAGES }, () => new Uint32Array(1024));
  }

  get c(): Float64Array {
    return this.owner.counters.c;
  }

  exit(reason: Vx, handlerCost: number): void {
    const c = this.c;
    c[C.VmExits]++;
    this.owner.counters.vmexits[reason]++;
    c[C.CycHv] += this.costs.vmexit + handlerCost;
    this.owner.vmTransition();
  }

  /** Machine frame of guest frame `gfn`. */
  gmfn(gfn: number): number {
    return this.owner.p2m[gfn]!;
  }
}

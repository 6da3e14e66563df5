/**
 * The paging backends behind the guest kernel's PvOps (guest/pvops.ts), one per mode: what the
 * guest's pv-ops become on this machine — plain stores and native CR3 loads (native, hap), traps
 * the hypervisor emulates (shadow), or hypercalls Xen validates (pv). They are the one place that
 * sees both sides, so they live in vm/. This file holds what all four share.
 */
import type { PagingMode } from '../../api/scenario.js';
import type { PvOps } from '../../guest/pvops.js';
import { C } from '../../machine/counters.js';
import { CTR_CYC_GUEST } from '../../machine/mmu/hotIndex.js';
import { PTE_P, pteFlags, pteFrame } from '../../machine/pte.js';
import type { Domain } from '../../hv/domain.js';

export abstract class OpsBase implements PvOps {
  abstract readonly mode: PagingMode;
  lastPfn = 0;
  constructor(protected readonly d: Domain) {}

  protected get c(): Float64Array {
    return this.d.counters.c;
  }

  abstract setPte(tablePfn: number, level: number, i: number, targetPfn: number, flags: number): void;

  readPte(tablePfn: number, i: number): number {
    const mem = this.d.mem;
    const m = this.d.p2m[tablePfn]!;
    const lo = mem.readLo(m, i);
    if (!(lo & PTE_P)) {
      this.lastPfn = 0;
      return 0;
    }
    const hi = mem.readHi(m, i);
    this.lastPfn = this.frameToPfn(pteFrame(lo, hi));
    return pteFlags(lo, hi);
  }

  protected frameToPfn(frame: number): number {
    return frame;
  }

  lazyBegin(): void {}
  lazyEnd(): void {}
  allocPt(_pfn: number, _level: number): void {}
  releasePt(_pfn: number, _level: number): void {}
  pinRoot(_pfn: number): void {}
  unpinMm(_root: number, _tables: readonly { pfn: number; level: number }[]): void {}
  abstract switchRoot(pfn: number, pcid: number): void;
  abstract flushTlb(): void;
  abstract invlpg(va: number): void;

  access(va: number, write: boolean): boolean {
    const r = this.d.mmu.translate(va, write, true);
    if (r >= 0) {
      this.c[C.CycGuest] += this.d.costs.access;
      return true;
    }
    return this.slowAccess(va, write);
  }

  accessRun(vas: Float64Array, writes: Uint8Array, from: number, to: number): number {
    const end = this.d.mmu.hitRun(vas, writes, from, to, true);
    const c = this.d.counters.c;
    const cost = this.d.costs.access;
    // One add per access, in order, as access() makes them: the same floating-point sum whatever
    // the cost (n * cost could round differently).
    let cycles = c[CTR_CYC_GUEST]!;
    for (let k = from; k < end; k++) cycles += cost;
    c[CTR_CYC_GUEST] = cycles;
    return end;
  }

  protected abstract slowAccess(va: number, write: boolean): boolean;

  faultEnter(): void {
    this.c[C.CycGuest] += this.d.costs.faultTrap;
  }
  faultExit(): void {}
  taskSwitch(): void {}
  syscall(): void {
    this.c[C.Syscalls]++;
    this.c[C.CycGuest] += this.d.costs.syscall;
  }
  pageZeroed(_pfn: number): void {}
}

import type { PagingMode } from '../../api/scenario.js';
import { C } from '../../machine/counters.js';
import { pteHi, pteLo } from '../../machine/pte.js';
import { OpsBase } from './backend.js';

/** No hypervisor: the kernel owns the machine. */
export class NativeOps extends OpsBase {
  readonly mode: PagingMode = 'native';

  setPte(tablePfn: number, _level: number, i: number, targetPfn: number, flags: number): void {
    const frame = flags ? this.d.p2m[targetPfn]! : 0;
    this.d.mem.write(this.d.p2m[tablePfn]!, i, pteLo(frame, flags), pteHi(frame, flags));
    this.c[C.PtUpdates]++;
    this.c[C.CycGuest] += this.d.costs.pteWrite;
  }

  switchRoot(pfn: number, pcid: number): void {
    this.d.ctx.cr3 = this.d.p2m[pfn]!;
    this.loadCr3Tag(pcid);
  }

  /**
   * The CR3 load's address-space tag. With PCID, entries of other address spaces stay; without
   * it (before Westmere), the load flushes every non-global entry (Intel SDM Vol. 3 §4.10.4.1).
   */
  protected loadCr3Tag(pcid: number): void {
    this.c[C.CycGuest] += this.d.costs.cr3Write;
    if (this.d.xen.cpu.features.pcid) {
      this.d.ctx.pcid = pcid;
      return;
    }
    this.d.ctx.pcid = 0;
    this.c[C.TlbFlushes]++;
    this.d.mmu.flushPcid(this.d.ctx.vpid, 0);
  }

  flushTlb(): void {
    this.c[C.TlbFlushes]++;
    this.c[C.CycGuest] += this.d.costs.tlbFlush;
    this.d.mmu.flushPcid(this.d.ctx.vpid, this.d.ctx.pcid);
  }

  invlpg(va: number): void {
    this.c[C.Invlpgs]++;
    this.c[C.CycGuest] += this.d.costs.invlpg;
    this.d.mmu.invlpg(va);
  }

  protected slowAccess(_va: number, _write: boolean): boolean {
    return false;
  }
}

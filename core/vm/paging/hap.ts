import type { PagingMode } from '../../api/scenario.js';
import { C } from '../../machine/counters.js';
import { FaultKind, PFEC_WRITE } from '../../machine/mmu/types.js';
import { pteHi, pteLo } from '../../machine/pte.js';
import { NativeOps } from './native.js';

/** Nested paging: the guest's own tables in gfn terms, EPT behind them. */
export class HapOps extends NativeOps {
  override readonly mode: PagingMode = 'hap';

  override switchRoot(pfn: number, pcid: number): void {
    // With EPT, CR3 loads do not exit; the guest's CR3 holds a guest-physical address.
    this.d.ctx.cr3 = pfn;
    this.loadCr3Tag(pcid);
  }

  override setPte(tablePfn: number, _level: number, i: number, targetPfn: number, flags: number): void {
    const target = flags ? targetPfn : 0;
    this.d.mem.write(this.d.p2m[tablePfn]!, i, pteLo(target, flags), pteHi(target, flags));
    this.c[C.PtUpdates]++;
    this.c[C.CycGuest] += this.d.costs.pteWrite;
  }

  protected override slowAccess(va: number, write: boolean): boolean {
    const mmu = this.d.mmu;
    for (let tries = 0; tries < 8; tries++) {
      if (mmu.fault.kind === FaultKind.EptViolation) {
        if (!this.d.hap!.handleViolation(mmu.fault.gpa, (mmu.fault.errorCode & PFEC_WRITE) !== 0)) {
          throw new Error(`${this.d.name}: EPT violation outside guest memory at gpa 0x${mmu.fault.gpa.toString(16)}`);
        }
      } else return false;
      if (mmu.translate(va, write, true) >= 0) {
        this.c[C.CycGuest] += this.d.costs.access;
        return true;
      }
    }
    throw new Error(`${this.d.name}: EPT violations did not converge at va 0x${va.toString(16)}`);
  }
}

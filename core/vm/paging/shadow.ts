import { C } from '../../machine/counters.js';
import { pteHi, pteLo } from '../../machine/pte.js';
import { GuestWalk } from '../../hv/paging/shadow/fault.js';
import { OpsBase } from './backend.js';

/** Shadow paging: guest tables write-protected, hardware walks Xen's shadows. */
export class ShadowOps extends OpsBase {
  readonly mode = 'shadow' as const;

  setPte(tablePfn: number, _level: number, i: number, targetPfn: number, flags: number): void {
    const target = flags ? targetPfn : 0;
    this.c[C.PtUpdates]++;
    this.d.shadow!.guestWrite(tablePfn, i, pteLo(target, flags), pteHi(target, flags));
    this.syncCr3();
  }

  private syncCr3(): void {
    this.d.ctx.cr3 = this.d.shadow!.rootMfn;
  }

  switchRoot(pfn: number, pcid: number): void {
    this.d.shadow!.writeCr3(pfn);
    this.d.ctx.pcid = pcid;
    this.syncCr3();
  }

  flushTlb(): void {
    this.d.shadow!.flushTlb();
    this.syncCr3();
  }

  invlpg(va: number): void {
    this.d.shadow!.invlpg(va);
  }

  protected slowAccess(va: number, write: boolean): boolean {
    const mmu = this.d.mmu;
    for (let tries = 0; tries < 8; tries++) {
      if (this.d.shadow!.pageFault(va, write, true) === GuestWalk.GuestFault) return false;
      this.syncCr3();
      if (mmu.translate(va, write, true) >= 0) {
        this.c[C.CycGuest] += this.d.costs.access;
        return true;
      }
    }
    throw new Error(`${this.d.name}: shadow faults did not converge at va 0x${va.toString(16)}`);
  }

  override pageZeroed(pfn: number): void {
    this.d.shadow!.guestReusesPage(pfn);
  }
}

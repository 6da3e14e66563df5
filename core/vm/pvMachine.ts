/**
 * PvMachine (guest/attack/pvMachine.ts) on this machine: a PV guest program's hypercalls go to
 * Xen's entry points; its stores and loads go through the MMU and, where they trap, to Xen.
 */
import type { MmuextCmd, MmuUpdateReq } from '../api/public/xen.js';
import type { PvMachine } from '../guest/attack/pvMachine.js';
import { C, Hc } from '../machine/counters.js';
import { PTE_P, PTE_RW, pteFrame } from '../machine/pte.js';
import type { Domain } from '../hv/domain.js';
import type { Hypervisor } from '../hv/hypervisor.js';
import { PGT_l1_page_table } from '../hv/mm/frameTable.js';

export class XenPvMachine implements PvMachine {
  private readonly xen: Hypervisor;

  constructor(private readonly d: Domain) {
    this.xen = d.xen;
  }

  get p2m(): Int32Array {
    return this.d.p2m;
  }

  /** After a hypercall the vCPU runs on whatever base pointer Xen now holds for it. */
  private synced(rc: number): number {
    this.d.ctx.cr3 = this.d.guestCr3;
    return rc;
  }

  mmuUpdate(reqs: readonly MmuUpdateReq[], inMulticall: boolean): number {
    return this.synced(this.xen.pvMm.mmuUpdate(this.d, reqs, reqs.length, inMulticall).rc);
  }

  mmuextOp(cmd: MmuextCmd, arg: number, inMulticall: boolean): number {
    return this.synced(this.xen.pvMm.mmuextOp(this.d, cmd, arg, inMulticall));
  }

  updateVaMapping(va: number, lo: number, hi: number, flags: number, inMulticall: boolean): number {
    return this.synced(this.xen.pvMm.updateVaMapping(this.d, va, lo, hi, flags, inMulticall));
  }

  private hypercallEntry(op: number): void {
    const k = this.d.counters;
    k.c[C.Hypercalls]++;
    k.hypercalls[op]++;
    k.c[C.CycHv] += this.xen.costs.hypercall;
  }

  iret(): void {
    this.hypercallEntry(Hc.Iret);
  }

  multicall(): void {
    this.hypercallEntry(Hc.Multicall);
  }

  baseMfn(): number {
    return this.d.guestCr3;
  }

  entryLo(mfn: number, i: number): number {
    return this.xen.mem.readLo(mfn, i);
  }

  entryHi(mfn: number, i: number): number {
    return this.xen.mem.readHi(mfn, i);
  }

  /**
   * It succeeds if the guest has a writable mapping of the frame; a store to one of its own L1
   * tables traps into Xen, which emulates it with full validation (ptwr emulation) and reflects a
   * refusal as #PF; anything else faults.
   */
  store(mfn: number, index: number, lo: number, hi: number): string {
    const { d, xen } = this;
    const ft = xen.ft;
    const mapped = this.guestMapping(mfn);
    if (mapped === 'rw') {
      xen.mem.write(mfn, index, lo, hi);
      return '0';
    }
    if (mapped === 'ro' && ft.type(mfn) === PGT_l1_page_table && ft.typeCount(mfn) > 0) {
      d.counters.c[C.TrapBounces]++;
      d.counters.c[C.EmulatedWrites]++;
      d.counters.c[C.CycHv] += xen.costs.pvTrapBounce + xen.costs.emulateWrite;
      return xen.pvMm.modEntry(mfn, index, lo, hi, d) === 0 ? '0' : '#PF';
    }
    return '#PF';
  }

  /** How the guest's validated L1 tables map `mfn`: writable, read-only only, or not at all. */
  private guestMapping(mfn: number): 'rw' | 'ro' | 'none' {
    const { ft, mem } = this.xen;
    let found: 'ro' | 'none' = 'none';
    for (const t of ft.ownedFrames(this.d.domid)) {
      if (ft.type(t) !== PGT_l1_page_table || ft.typeCount(t) === 0) continue;
      for (const i of mem.nonZeroEntries(t, [])) {
        const lo = mem.readLo(t, i);
        if (lo & PTE_P && pteFrame(lo, mem.readHi(t, i)) === mfn) {
          if (lo & PTE_RW) return 'rw';
          found = 'ro';
        }
      }
    }
    return found;
  }

  access(va: number, write: boolean): boolean {
    return this.d.mmu.translate(va, write, false) >= 0;
  }

  foreignMfn(domain: string, pfn: number): number {
    const f = this.xen.domains.find((x) => x.name === domain);
    return f ? f.p2m[pfn]! : -1;
  }
}

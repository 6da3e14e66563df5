import { MmuextCmd, MMU_NORMAL_PT_UPDATE, UVMF_NONE, type MmuUpdateReq } from '../../api/public/xen.js';
import { errnoName } from '../../base/errno.js';
import { C, Hc } from '../../machine/counters.js';
import { PTE_A, PTE_D, PTE_P, PTE_RW, pteHi, pteLo } from '../../machine/pte.js';
import { GuestPanic, XenRefusal } from '../../guest/errors.js';
import { DIRECTMAP_BASE } from '../../guest/layout.js';
import type { Domain } from '../../hv/domain.js';
import { OpsBase } from './backend.js';

/** Linux's multicall batch (MC_BATCH) and mmu_update queue length. */
export const MC_BATCH = 32;

/** PV direct paging: tables hold machine frames; every change is a hypercall Xen validates. */
export class PvDirectOps extends OpsBase {
  readonly mode = 'pv' as const;
  /** Pages the kernel made read-only page tables (Linux's PagePinned for an mm's tables). */
  private readonly managed: Uint8Array;
  private readonly pinned: Uint8Array;
  private lazy = 0;
  private readonly queue: MmuUpdateReq[] = Array.from({ length: MC_BATCH }, () => ({ ptr: 0, cmd: 0, lo: 0, hi: 0 }));
  private queued = 0;
  private mcPending = false;

  constructor(d: Domain) {
    super(d);
    this.managed = new Uint8Array(d.p2m.length);
    this.pinned = new Uint8Array(d.p2m.length);
  }

  /** Tables built by the domain builder are managed from the start. */
  markManaged(pfn: number, pinned: boolean): void {
    this.managed[pfn] = 1;
    if (pinned) this.pinned[pfn] = 1;
  }

  /**
   * A migrated guest's ops on its new host: which pfns its kernel made page tables, and which it
   * pinned, carry over (they are by pfn); nothing may be left queued on the old host.
   */
  adopt(from: PvDirectOps): void {
    from.flushQueue();
    this.managed.set(from.managed);
    this.pinned.set(from.pinned);
  }

  isManaged(pfn: number): boolean {
    return this.managed[pfn] === 1;
  }

  protected override frameToPfn(frame: number): number {
    const pfn = this.d.ft.m2p(frame);
    if (pfn === undefined || pfn < 0 || pfn >= this.d.p2m.length) {
      // mfn_to_pfn found garbage: the guest's own m2p entries were rewritten (MMU_MACHPHYS_UPDATE).
      throw new GuestPanic(`${this.d.name}: m2p maps mfn ${frame} to invalid pfn ${pfn}`);
    }
    return pfn;
  }

  /** Reading an entry with an update still queued for it: apply the queue first (xen_mc_flush). */
  override readPte(tablePfn: number, i: number): number {
    if (this.queued > 0) {
      const ptr = this.d.p2m[tablePfn] * 4096 + i * 8;
      for (let q = 0; q < this.queued; q++) {
        if (this.queue[q].ptr === ptr) {
          this.flushQueue();
          break;
        }
      }
    }
    return super.readPte(tablePfn, i);
  }

  private check(rc: number, what: string): void {
    if (rc !== 0) throw new XenRefusal(rc, `${this.d.name}: Xen refused ${what}: ${errnoName(rc)}`);
  }

  setPte(tablePfn: number, _level: number, i: number, targetPfn: number, flags: number): void {
    const frame = flags ? this.d.p2m[targetPfn]! : 0;
    const lo = pteLo(frame, flags);
    const hi = pteHi(frame, flags);
    const table = this.d.p2m[tablePfn]!;
    this.c[C.PtUpdates]++;
    // A plain store only where the guest could have a writable mapping: never into a frame Xen
    // holds as a page table (even one the kernel did not allocate itself).
    if (!this.managed[tablePfn] && !this.d.ft.isPageTable(table)) {
      this.d.mem.write(table, i, lo, hi);
      this.c[C.CycGuest] += this.d.costs.pteWrite;
      return;
    }
    const r = this.queue[this.queued++]!;
    r.ptr = table * 4096 + i * 8;
    r.cmd = MMU_NORMAL_PT_UPDATE;
    r.lo = lo;
    r.hi = hi;
    if (!this.lazy || this.queued === MC_BATCH) this.flushQueue();
  }

  private flushQueue(): void {
    if (this.queued === 0) return;
    const n = this.queued;
    this.queued = 0;
    const { rc } = this.d.xen.pvMm.mmuUpdate(this.d, this.queue, n);
    this.check(rc, 'mmu_update');
  }

  override lazyBegin(): void {
    this.lazy++;
  }

  override lazyEnd(): void {
    if (--this.lazy === 0) {
      this.flushQueue();
      if (this.mcPending) {
        this.mcPending = false;
        this.multicall();
      }
    }
  }

  private directMapVa(pfn: number): number {
    return DIRECTMAP_BASE + pfn * 4096;
  }

  /** The direct-map entry of `pfn`, read-only or writable. */
  private directMapEntry(pfn: number, writable: boolean): { lo: number; hi: number } {
    const mfn = this.d.p2m[pfn]!;
    const flags = PTE_P | PTE_A | PTE_D | (writable ? PTE_RW : 0);
    return { lo: pteLo(mfn, flags), hi: pteHi(mfn, flags) };
  }

  /** One entry into Xen for a batch of calls; the inner calls are counted by op. */
  private multicall(): void {
    this.c[C.Hypercalls]++;
    this.d.counters.hypercalls[Hc.Multicall]++;
    this.c[C.CycHv] += this.d.costs.hypercall;
  }

  override allocPt(pfn: number, level: number): void {
    this.flushQueue();
    const pv = this.d.xen.pvMm;
    this.multicall();
    const e = this.directMapEntry(pfn, false);
    this.check(pv.updateVaMapping(this.d, this.directMapVa(pfn), e.lo, e.hi, UVMF_NONE, true), 'update_va_mapping (make table read-only)');
    if (level === 1) {
      this.check(pv.mmuextOp(this.d, MmuextCmd.PIN_L1_TABLE, this.d.p2m[pfn]!, true), 'MMUEXT_PIN_L1_TABLE');
      this.pinned[pfn] = 1;
    }
    this.managed[pfn] = 1;
    this.c[C.PtPagesAllocated]++;
  }

  override pinRoot(pfn: number): void {
    this.check(this.d.xen.pvMm.mmuextOp(this.d, MmuextCmd.PIN_L4_TABLE, this.d.p2m[pfn]!), 'MMUEXT_PIN_L4_TABLE');
    this.pinned[pfn] = 1;
  }

  override releasePt(pfn: number, _level: number): void {
    this.flushQueue();
    if (!this.managed[pfn]) return;
    const pv = this.d.xen.pvMm;
    this.multicall();
    if (this.pinned[pfn]) {
      this.check(pv.mmuextOp(this.d, MmuextCmd.UNPIN_TABLE, this.d.p2m[pfn]!, true), 'MMUEXT_UNPIN_TABLE');
      this.pinned[pfn] = 0;
    }
    const e = this.directMapEntry(pfn, true);
    this.check(pv.updateVaMapping(this.d, this.directMapVa(pfn), e.lo, e.hi, UVMF_NONE, true), 'update_va_mapping (make page writable)');
    this.managed[pfn] = 0;
  }

  /** xen_pgd_unpin: unpin the root and every pinned L1, then make all the tables writable. */
  override unpinMm(rootPfn: number, tables: readonly { pfn: number; level: number }[]): void {
    this.flushQueue();
    const pv = this.d.xen.pvMm;
    let inBatch = MC_BATCH;
    const call = () => {
      if (inBatch === MC_BATCH) {
        this.multicall();
        inBatch = 0;
      }
      inBatch++;
    };
    if (this.pinned[rootPfn]) {
      call();
      this.check(pv.mmuextOp(this.d, MmuextCmd.UNPIN_TABLE, this.d.p2m[rootPfn]!, true), 'MMUEXT_UNPIN_TABLE (L4)');
      this.pinned[rootPfn] = 0;
    }
    for (const t of tables) {
      if (this.pinned[t.pfn]) {
        call();
        this.check(pv.mmuextOp(this.d, MmuextCmd.UNPIN_TABLE, this.d.p2m[t.pfn]!, true), 'MMUEXT_UNPIN_TABLE');
        this.pinned[t.pfn] = 0;
      }
    }
    for (const t of [{ pfn: rootPfn, level: 4 }, ...tables]) {
      if (!this.managed[t.pfn]) continue;
      call();
      const e = this.directMapEntry(t.pfn, true);
      this.check(pv.updateVaMapping(this.d, this.directMapVa(t.pfn), e.lo, e.hi, UVMF_NONE, true), 'update_va_mapping (unpinned table writable)');
      this.managed[t.pfn] = 0;
    }
  }

  switchRoot(pfn: number, _pcid: number): void {
    this.flushQueue();
    const mfn = this.d.p2m[pfn]!;
    this.check(this.d.xen.pvMm.mmuextOp(this.d, MmuextCmd.NEW_BASEPTR, mfn), 'MMUEXT_NEW_BASEPTR');
    this.d.ctx.cr3 = mfn;
  }

  flushTlb(): void {
    this.flushQueue();
    this.d.xen.pvMm.mmuextOp(this.d, MmuextCmd.TLB_FLUSH_LOCAL, 0);
  }

  invlpg(va: number): void {
    this.flushQueue();
    if (this.lazy) {
      // Queued in the multicall batch: one entry into Xen for the lot at lazyEnd.
      this.d.xen.pvMm.mmuextOp(this.d, MmuextCmd.INVLPG_LOCAL, va, true);
      this.mcPending = true;
    } else this.d.xen.pvMm.mmuextOp(this.d, MmuextCmd.INVLPG_LOCAL, va);
  }

  protected slowAccess(): boolean {
    return false;
  }

  /** A PV guest's #PF enters Xen first, which bounces it to the guest kernel's handler. */
  override faultEnter(): void {
    this.c[C.TrapBounces]++;
    this.c[C.CycHv] += this.d.costs.pvTrapBounce;
    this.c[C.CycGuest] += this.d.costs.faultTrap;
  }

  /**
   * x86-64 PV kernels return to user mode through HYPERVISOR_iret; an x86-32 PV kernel runs in
   * ring 1 and returns with a plain iret (CpuFeatures.pvAbi).
   */
  override faultExit(): void {
    this.flushQueue();
    if (this.d.xen.cpu.features.pvAbi === 'x86_32') return;
    this.iret();
  }

  private iret(): void {
    this.c[C.Hypercalls]++;
    this.d.counters.hypercalls[Hc.Iret]++;
    this.c[C.CycHv] += this.d.costs.hypercall;
  }

  /**
   * x86-64: the syscall instruction enters Xen, which bounces it to the guest kernel, and the
   * kernel returns through HYPERVISOR_iret. x86-32: the guest's trap gate for int 0x80 goes
   * straight to the ring-1 kernel (Barham et al., SOSP 2003 §3.3: the "fast" handler).
   */
  /**
   * Xen keeps the guest kernel's stack pointer for ring transitions (the TSS is Xen's), so every
   * task switch tells it the new one: HYPERVISOR_stack_switch (Linux's xen_load_sp0).
   */
  override taskSwitch(): void {
    this.c[C.Hypercalls]++;
    this.d.counters.hypercalls[Hc.StackSwitch]++;
    this.c[C.CycHv] += this.d.costs.hypercall;
  }

  override syscall(): void {
    super.syscall();
    if (this.d.xen.cpu.features.pvAbi === 'x86_32') return;
    this.c[C.TrapBounces]++;
    this.c[C.CycHv] += this.d.costs.pvTrapBounce;
    this.iret();
  }
}

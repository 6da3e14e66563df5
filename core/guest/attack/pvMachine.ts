/**
 * What a program inside a PV guest can do to the machine: Xen's memory hypercalls, loads and
 * stores through its own mappings, and reading the page tables it may read (a PV guest's tables
 * are mapped read-only to it). vm/ provides it; the attack lab's scripts run against it.
 */
import type { MmuextCmd, MmuUpdateReq } from '../../api/public/xen.js';

export interface PvMachine {
  /** The guest's p2m: pfn → mfn (a PV guest sees machine frames). */
  readonly p2m: Int32Array;
  /** HYPERVISOR_mmu_update; returns Xen's return code. */
  mmuUpdate(reqs: readonly MmuUpdateReq[], inMulticall: boolean): number;
  /** HYPERVISOR_mmuext_op (one op); returns Xen's return code. */
  mmuextOp(cmd: MmuextCmd, arg: number, inMulticall: boolean): number;
  /** HYPERVISOR_update_va_mapping; returns Xen's return code. */
  updateVaMapping(va: number, lo: number, hi: number, flags: number, inMulticall: boolean): number;
  /** HYPERVISOR_iret: back to guest user mode. */
  iret(): void;
  /** Entering HYPERVISOR_multicall (its calls are made one by one after it). */
  multicall(): void;
  /** mfn of the L4 the vCPU runs on (the base pointer Xen installed). */
  baseMfn(): number;
  /** Entry `i` of table frame `mfn` as two 32-bit halves (the low half, then `entryHi`). */
  entryLo(mfn: number, i: number): number;
  entryHi(mfn: number, i: number): number;
  /**
   * A plain store of an entry into frame `mfn`: "0" if it went through (a writable mapping, or
   * Xen emulated a trapped write to one of the guest's L1 tables and accepted it), "#PF" if not.
   */
  store(mfn: number, index: number, lo: number, hi: number): string;
  /** A load or store at `va` by the CPU: true if it completed without a fault. */
  access(va: number, write: boolean): boolean;
  /** The mfn of another domain's `pfn` (a script guessing foreign frames names them so). */
  foreignMfn(domain: string, pfn: number): number;
}

/**
 * The attack lab's interpreter: runs a `hypercalls` script in a booted PV guest, step by step,
 * through the same entry points a PV kernel uses (HYPERVISOR_mmu_update, _mmuext_op,
 * _update_va_mapping, _multicall, _iret), plain stores and loads, and records each return code.
 */
import type { Call, EntryValue, FlagName, FrameRef, MmuextCmdName, Step } from '../../api/hypercallScript.js';
import { EINVAL, errnoName } from '../../base/errno.js';
import { C, Hc } from '../../machine/counters.js';
import {
  parsePteHex,
  PTE_A,
  PTE_D,
  PTE_G,
  PTE_NX,
  PTE_P,
  PTE_PCD,
  PTE_PS,
  PTE_PWT,
  PTE_RW,
  PTE_US,
  pteFrame,
  pteHi,
  pteLo,
} from '../../machine/pte.js';
import type { Domain } from '../domain.js';
import { PGT_l1_page_table } from '../mm/frameTable.js';
import { MMU_MACHPHYS_UPDATE, MMU_NORMAL_PT_UPDATE, MmuextCmd, UVMF_INVLPG, UVMF_NONE, UVMF_TLB_FLUSH, type MmuUpdateReq } from '../mm/pvMm.js';
import { DIRECTMAP_BASE, GuestPanic, XenRefusal } from '../paging/ops.js';

export interface CallResult {
  op: string;
  /** "0", Xen's error name ("-EINVAL" …), or "#PF" for a load or store that faults. */
  rc: string;
  calls?: CallResult[];
}

const FLAG_BITS: Record<FlagName, number> = {
  P: PTE_P,
  RW: PTE_RW,
  US: PTE_US,
  PWT: PTE_PWT,
  PCD: PTE_PCD,
  A: PTE_A,
  D: PTE_D,
  PS: PTE_PS,
  G: PTE_G,
  NX: PTE_NX,
};

const MMUEXT: Record<MmuextCmdName, MmuextCmd> = {
  pin_l1_table: MmuextCmd.PIN_L1_TABLE,
  pin_l2_table: MmuextCmd.PIN_L2_TABLE,
  pin_l3_table: MmuextCmd.PIN_L3_TABLE,
  pin_l4_table: MmuextCmd.PIN_L4_TABLE,
  unpin_table: MmuextCmd.UNPIN_TABLE,
  new_baseptr: MmuextCmd.NEW_BASEPTR,
  tlb_flush_local: MmuextCmd.TLB_FLUSH_LOCAL,
  invlpg_local: MmuextCmd.INVLPG_LOCAL,
  tlb_flush_multi: MmuextCmd.TLB_FLUSH_MULTI,
  invlpg_multi: MmuextCmd.INVLPG_MULTI,
  tlb_flush_all: MmuextCmd.TLB_FLUSH_ALL,
  invlpg_all: MmuextCmd.INVLPG_ALL,
};

const UVMF = { none: UVMF_NONE, tlb_flush: UVMF_TLB_FLUSH, invlpg: UVMF_INVLPG } as const;

export class ScriptRunner {
  /** Named pages → pfn. */
  private readonly pages = new Map<string, number>();

  constructor(
    private readonly d: Domain,
    private readonly domains: readonly Domain[],
  ) {}

  /**
   * Allocates the script's named pages and takes each out of the kernel's direct map, so it is
   * mapped nowhere: type none, no writable reference, ready to become anything.
   */
  setup(names: readonly string[]): void {
    const k = this.d.kernel;
    const pv = this.d.xen.pvMm;
    for (const name of names) {
      const pfn = k.allocPage();
      const rc = pv.updateVaMapping(this.d, DIRECTMAP_BASE + pfn * 4096, 0, 0, UVMF_INVLPG);
      if (rc !== 0) throw new Error(`cannot unmap page "${name}" from the direct map: ${errnoName(rc)}`);
      this.pages.set(name, pfn);
    }
  }

  /** Machine frame a reference names, or -1 if it names nothing (an unmapped `self` level). */
  frame(ref: FrameRef): number {
    if ('page' in ref) return this.d.p2m[this.pages.get(ref.page)!];
    if ('foreign' in ref) {
      const f = this.domains.find((x) => x.name === ref.foreign)!;
      return f.p2m[ref.pfn];
    }
    if (ref.self === 'l4') return this.d.guestCr3;
    const want = Number(ref.self[1]);
    const va = Number(ref.va);
    const mem = this.d.mem;
    let table = this.d.guestCr3;
    for (let level = 4; level > want; level--) {
      const i = Math.floor(va / 2 ** (3 + 9 * level)) % 512;
      const lo = mem.readLo(table, i);
      if (!(lo & PTE_P) || lo & PTE_PS) return -1;
      table = pteFrame(lo, mem.readHi(table, i));
    }
    return table;
  }

  private entry(v: EntryValue): { lo: number; hi: number } | null {
    if (v === 0) return { lo: 0, hi: 0 };
    if ('raw' in v) return parsePteHex(v.raw);
    const mfn = this.frame(v.frame);
    if (mfn < 0) return null;
    const flags = v.flags.reduce((a, f) => a | FLAG_BITS[f], 0);
    return { lo: pteLo(mfn, flags), hi: pteHi(mfn, flags) };
  }

  run(steps: readonly Step[], onStep: () => void): CallResult[] {
    const out: CallResult[] = [];
    for (const s of steps) {
      out.push(this.step(s, false));
      this.d.ctx.cr3 = this.d.guestCr3;
      onStep();
    }
    return out;
  }

  private step(s: Step | Call, inMulticall: boolean): CallResult {
    const d = this.d;
    const pv = d.xen.pvMm;
    const rc = (n: number): CallResult => ({ op: s.op, rc: errnoName(n) });
    switch (s.op) {
      case 'map': {
        // The kernel's own path: intermediate tables allocated, made read-only and hooked in
        // through mmu_update, then the leaf entry through mmu_update.
        const va = Number(s.va);
        const mfn = this.frame(s.frame);
        if (mfn < 0) return rc(EINVAL);
        const k = d.kernel;
        let l1: number;
        try {
          l1 = k.tableFor(k.current!.mm, va, 1, true);
        } catch (e) {
          // The script pulled the kernel's tables from under it (a new base pointer, an unpin):
          // the hypercall the kernel needed was refused, and so is the map.
          if (e instanceof XenRefusal) return rc(e.rc);
          // The script corrupted what the kernel relies on (its m2p view): the kernel faults.
          if (e instanceof GuestPanic) return { op: 'map', rc: '#PF' };
          throw e;
        }
        const flags = s.flags.reduce((a, f) => a | FLAG_BITS[f], 0);
        const req: MmuUpdateReq = { ptr: d.p2m[l1] * 4096 + (Math.floor(va / 4096) % 512) * 8, cmd: MMU_NORMAL_PT_UPDATE, lo: pteLo(mfn, flags), hi: pteHi(mfn, flags) };
        return rc(pv.mmuUpdate(d, [req]).rc);
      }
      case 'mmu_update': {
        const reqs: MmuUpdateReq[] = [];
        for (const r of s.reqs) {
          if ('table' in r) {
            const t = this.frame(r.table);
            const e = this.entry(r.val);
            if (t < 0 || !e) return rc(EINVAL);
            reqs.push({ ptr: t * 4096 + r.index * 8, cmd: MMU_NORMAL_PT_UPDATE, lo: e.lo, hi: e.hi });
          } else {
            const m = this.frame(r.frame);
            if (m < 0) return rc(EINVAL);
            reqs.push({ ptr: m, cmd: MMU_MACHPHYS_UPDATE, lo: 0, hi: 0, pfn: r.pfn });
          }
        }
        return rc(pv.mmuUpdate(d, reqs, reqs.length, inMulticall).rc);
      }
      case 'mmuext_op': {
        const cmd = MMUEXT[s.cmd];
        let arg = 0;
        if (s.frame) {
          arg = this.frame(s.frame);
          if (arg < 0) return rc(EINVAL);
        } else if (s.va) arg = Number(s.va);
        return rc(pv.mmuextOp(d, cmd, arg, inMulticall));
      }
      case 'update_va_mapping': {
        const e = this.entry(s.val);
        if (!e) return rc(EINVAL);
        return rc(pv.updateVaMapping(d, Number(s.va), e.lo, e.hi, UVMF[s.flags], inMulticall));
      }
      case 'iret': {
        // HYPERVISOR_iret: return to guest user mode.
        d.counters.c[C.Hypercalls]++;
        d.counters.hypercalls[Hc.Iret]++;
        d.counters.c[C.CycHv] += d.costs.hypercall;
        return rc(0);
      }
      case 'multicall': {
        d.counters.c[C.Hypercalls]++;
        d.counters.hypercalls[Hc.Multicall]++;
        d.counters.c[C.CycHv] += d.costs.hypercall;
        const calls: CallResult[] = [];
        for (const c of s.calls) {
          calls.push(this.step(c, true));
          // A privilege change (iret to user mode) ends the batch: the rest is not run.
          if (c.op === 'iret') break;
        }
        return { op: 'multicall', rc: '0', calls };
      }
      case 'write':
        return { op: 'write', rc: this.plainStore(s.frame, s.index, s.val) };
      case 'access': {
        const r = d.mmu.translate(Number(s.va), s.write, false);
        return { op: 'access', rc: r >= 0 ? '0' : '#PF' };
      }
    }
  }

  /**
   * A store by the guest into a frame. It succeeds if the guest has a writable mapping of it;
   * a store to one of its own L1 tables traps into Xen, which emulates it with full validation
   * (ptwr emulation) and reflects a refusal as #PF; anything else faults.
   */
  private plainStore(ref: FrameRef, index: number, val: EntryValue): string {
    const d = this.d;
    const ft = d.ft;
    const mfn = this.frame(ref);
    const e = this.entry(val);
    if (mfn < 0 || !e) return '#PF';
    const mapped = this.guestMapping(mfn);
    if (mapped === 'rw') {
      d.mem.write(mfn, index, e.lo, e.hi);
      return '0';
    }
    if (mapped === 'ro' && ft.type(mfn) === PGT_l1_page_table && ft.typeCount(mfn) > 0) {
      d.counters.c[C.TrapBounces]++;
      d.counters.c[C.EmulatedWrites]++;
      d.counters.c[C.CycHv] += d.costs.pvTrapBounce + d.costs.emulateWrite;
      return d.xen.pvMm.modEntry(mfn, index, e.lo, e.hi, d) === 0 ? '0' : '#PF';
    }
    return '#PF';
  }

  /** How the guest's validated L1 tables map `mfn`: writable, read-only only, or not at all. */
  private guestMapping(mfn: number): 'rw' | 'ro' | 'none' {
    const { ft, mem } = this.d;
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
}

/**
 * Log-dirty mode for live migration (XEN_DOMCTL_shadow_op, xen/include/public/domctl.h): Xen
 * records which of a domain's pages are written, so the toolstack can send again only those.
 *
 *  - PV and shadowed HVM domains: shadow log-dirty (xen/arch/x86/mm/shadow/common.c,
 *    shadow_enable_log_dirty; Xen turns shadow mode on for a PV guest just for this). The shadows
 *    map every page read-only until its first write of the round; that write faults into Xen
 *    (sh_page_fault), which marks the page in the bitmap (paging_mark_dirty), makes the mapping
 *    writable and lets the write go on: one hidden fault per page per round. The lab makes the
 *    shadow L1 entries' read-only bit at the TLB fill (TranslationContext.logDirty, the walker).
 *  - HAP domains: EPT write-protection (hap_enable_log_dirty → p2m_change_entry_type_global to
 *    p2m_ram_logdirty, xen/arch/x86/mm/hap/hap.c; ept_handle_violation marks the page and makes
 *    the entry writable again, xen/arch/x86/mm/p2m-ept.c): one EPT violation per page per round.
 *  - Writes Xen itself makes to the domain's memory (mmu_update's page-table writes, emulated
 *    writes, A/D bits the walker sets, page copies) are marked too, as Xen's callers of
 *    paging_mark_dirty do: the machine's write log (MachineMemory.takeWriteLog) gives them.
 *
 * CLEAN returns the bitmap and starts a fresh round (every page write-protected again, TLBs or
 * EPT flushed); PEEK returns it unchanged. The stats are xen_domctl_shadow_op_stats'
 * (fault_count, dirty_count).
 */
import { C } from '../../machine/counters.js';
import type { LogDirtyHook } from '../../machine/mmu/types.js';
import type { Domain } from '../domain.js';

/** XEN_DOMCTL_shadow_op's ops (xen/include/public/domctl.h). */
export const XEN_DOMCTL_SHADOW_OP_OFF = 0;
export const XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY = 2;
export const XEN_DOMCTL_SHADOW_OP_CLEAN = 11;
export const XEN_DOMCTL_SHADOW_OP_PEEK = 12;

/** struct xen_domctl_shadow_op_stats. */
export interface ShadowOpStats {
  faultCount: number;
  dirtyCount: number;
}

export class LogDirty {
  /** The bitmap, by pfn: 1 = written since the last CLEAN. */
  readonly bitmap: Uint8Array;
  /** Write faults (shadow #PF or EPT violations) since the last CLEAN. */
  private faults = 0;
  /** Write faults since log-dirty was enabled. */
  totalFaults = 0;
  private readonly hook: LogDirtyHook | null = null;
  private readonly hapWp: Uint8Array | null = null;
  private on = true;

  /** XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY: every page write-protected, the bitmap empty. */
  constructor(readonly d: Domain) {
    const n = d.p2m.length;
    this.bitmap = new Uint8Array(n);
    if (d.config.mode === 'pv' || d.config.mode === 'shadow') {
      let max = 0;
      for (let pfn = 0; pfn < n; pfn++) if (d.p2m[pfn]! > max) max = d.p2m[pfn]!;
      const wp = new Uint8Array(max + 1);
      const costs = d.costs;
      const c = d.counters.c;
      const hvm = d.config.mode === 'shadow';
      this.hook = {
        wp,
        fault: (mfn: number) => {
          wp[mfn] = 0;
          const pfn = d.ft.m2p(mfn);
          if (pfn !== undefined && pfn >= 0 && pfn < n) this.bitmap[pfn] = 1;
          this.faults++;
          this.totalFaults++;
          c[C.PfHidden]++;
          c[C.CycHv] += (hvm ? costs.vmexit : costs.faultTrap) + costs.shadowFault;
        },
      };
      d.ctx.logDirty = this.hook;
    } else if (d.config.mode === 'hap') {
      const wp = new Uint8Array(n);
      this.hapWp = wp;
      d.hap!.logDirty = {
        wp,
        fault: (gfn: number) => {
          wp[gfn] = 0;
          this.bitmap[gfn] = 1;
          this.faults++;
          this.totalFaults++;
        },
      };
    } else throw new Error(`${d.name}: log-dirty needs Xen (a ${d.config.mode} domain has no paging assistance to log with)`);
    d.mem.startWriteLog();
    this.protectAll();
  }

  get enabled(): boolean {
    return this.on;
  }

  /** Every page of the domain read-only again, and the stale writable translations flushed. */
  private protectAll(): void {
    const d = this.d;
    if (this.hook) {
      const wp = this.hook.wp as Uint8Array;
      for (let pfn = 0; pfn < d.p2m.length; pfn++) {
        const m = d.p2m[pfn]!;
        if (m >= 0 && m < wp.length) wp[m] = 1;
      }
      d.mmu.flushVpid(d.ctx.vpid);
    } else if (this.hapWp) {
      for (let gfn = 0; gfn < d.p2m.length; gfn++) this.hapWp[gfn] = d.p2m[gfn]! >= 0 ? 1 : 0;
      d.hap!.rewriteLeaves();
      d.mmu.flushNestedTlb(); // INVEPT
    }
  }

  /** Xen's own writes since the last look, marked in the bitmap (paging_mark_dirty). */
  private collectXenWrites(): void {
    const d = this.d;
    const ft = d.ft;
    for (const m of d.mem.takeWriteLog()) {
      if (ft.owner(m) !== d.domid) continue;
      const pfn = ft.m2p(m);
      if (pfn !== undefined && pfn >= 0 && pfn < this.bitmap.length && d.p2m[pfn] === m) this.bitmap[pfn] = 1;
    }
  }

  /** XEN_DOMCTL_SHADOW_OP_PEEK: the dirty pfns, the bitmap left as it is. */
  peek(): { pfns: number[]; stats: ShadowOpStats } {
    this.collectXenWrites();
    const pfns: number[] = [];
    for (let p = 0; p < this.bitmap.length; p++) if (this.bitmap[p] === 1) pfns.push(p);
    return { pfns, stats: { faultCount: this.faults, dirtyCount: pfns.length } };
  }

  /** XEN_DOMCTL_SHADOW_OP_CLEAN: the dirty pfns; the bitmap cleared and every page write-protected again. */
  clean(): { pfns: number[]; stats: ShadowOpStats } {
    const r = this.peek();
    this.bitmap.fill(0);
    this.faults = 0;
    this.protectAll();
    return r;
  }

  /** XEN_DOMCTL_SHADOW_OP_OFF: log-dirty off, every page writable again. */
  disable(): void {
    if (!this.on) return;
    this.on = false;
    const d = this.d;
    if (this.hook) {
      d.ctx.logDirty = undefined;
      d.mmu.flushVpid(d.ctx.vpid);
    } else if (this.hapWp) {
      d.hap!.logDirty = null;
      d.hap!.rewriteLeaves();
      d.mmu.flushNestedTlb();
    }
    d.mem.stopWriteLog();
  }
}

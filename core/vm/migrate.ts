/**
 * Live migration's save and restore sides (libxenguest's xg_sr_save.c / xg_sr_restore.c), without
 * the clock: the simulation (core/sim/migration.ts) decides when each round is sent and how long
 * the link takes. This file moves the pages and, at the end, the guest.
 *
 *  - Start: the target's Xen creates the domain and gives it all its memory (xc_domain_restore's
 *    populate, done at once here: a target too small refuses at the start, as libxl's free-memory
 *    check does), its paging assistance on; on the source Xen turns log-dirty on
 *    (XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, hv/mm/logDirty.ts).
 *  - Each round's pages are written into the target's frames as they arrive. A PV page-table page
 *    is normalised on the source (every present entry's mfn → pfn through the M2P, as
 *    xg_sr_save_x86_pv.c's normalise_pagetable; an entry naming a frame the domain does not own
 *    fails the migration, as there) and localised on the target (pfn → the target's new mfn,
 *    xg_sr_restore_x86_pv.c). A translated (HVM) guest's pages are copied as they are: its tables
 *    hold gfns, and only the target's p2m and EPT (or shadows) differ.
 *  - Resume (the domain paused, the last pages sent): log-dirty off on the source; on the target a
 *    PV guest's pinned tables are pinned again (MMUEXT_PIN_Ln_TABLE, which validates every entry,
 *    as the restore does for pages sent with XEN_DOMCTL_PFINFO_LPINTAB) and its base pointer
 *    installed (MMUEXT_NEW_BASEPTR); the guest kernel is rebound to the target's domain through
 *    new paging ops (pfn-keyed state carries over), and the vCPU reloads its CR3.
 */
import { MmuextCmd } from '../api/public/xen.js';
import { C } from '../machine/counters.js';
import { PTE_P, pteFlags, pteFrame, pteHi, pteLo } from '../machine/pte.js';
import type { Domain } from '../hv/domain.js';
import type { Hypervisor } from '../hv/hypervisor.js';
import { LogDirty } from '../hv/mm/logDirty.js';
import { PGT_l1_page_table, PGT_l4_page_table, PGT_pinned } from '../hv/mm/frameTable.js';
import { backendFor, platformOf } from './builder.js';
import { PvDirectOps } from './paging/pv.js';
import type { Vm } from './vm.js';

/** libxenguest's batch: at most MAX_BATCH_SIZE pfns per PAGE_DATA record (xg_sr_common.h). */
export const MAX_BATCH_SIZE = 1024;
/** struct xc_sr_rhdr (type, length) and struct xc_sr_rec_page_data_header (count, _res1): 8 bytes each (xg_sr_stream_format.h). */
export const RECORD_HEADER_BYTES = 8;
export const PAGE_DATA_HEADER_BYTES = 8;
/** Each pfn of a PAGE_DATA record: a uint64 (type in the top bits, pfn below), then its 4096 bytes. */
export const PAGE_PFN_BYTES = 8;
export const PAGE_BYTES = 4096;
/**
 * The vCPU's state at the stop-and-copy: one record of a 64-bit vCPU's context. The lab's size is
 * struct vcpu_guest_context for x86-64 (about 5 KiB with its FPU area) rounded up to two pages,
 * its reason: the X86_PV_VCPU_* / HVM_CONTEXT records together are of that order, and at any
 * link rate the lab allows it is under 2 ms, far below the pages' share of the downtime.
 */
export const VCPU_STATE_BYTES = 8192;

/** Bytes on the link for `pages` pages: PAGE_DATA records of up to MAX_BATCH_SIZE pfns each. */
export function pageStreamBytes(pages: number): number {
  if (pages <= 0) return 0;
  const records = Math.ceil(pages / MAX_BATCH_SIZE);
  return records * (RECORD_HEADER_BYTES + PAGE_DATA_HEADER_BYTES) + pages * (PAGE_PFN_BYTES + PAGE_BYTES);
}

export class MigrationError extends Error {}

/** One domain's move from its host to `target` (see the header). */
export class DomainMigration {
  readonly logDirty: LogDirty;
  /** The domain as the target's Xen builds it. */
  readonly to: Domain;
  readonly from: Domain;
  /** Pages sent so far, every round. */
  pagesSent = 0;
  /** Whether each pfn was last sent as a page table (PV): a page whose type changed since goes again at the end. */
  private readonly sentAsTable: Uint8Array;
  private done = false;

  constructor(
    readonly vm: Vm,
    readonly target: Hypervisor,
  ) {
    const d = vm.dom;
    this.from = d;
    if (d.mode === 'native') throw new MigrationError(`${vm.name} runs on bare metal: there is no hypervisor to migrate it`);
    if (vm.privileged) throw new MigrationError(`${vm.name} is dom0: it runs its host's toolstack and backends and does not migrate`);
    const io = vm.io;
    const ioInUse = io !== undefined && (io.disks.length > 0 || io.vifs.length > 0 || io.backends.length > 0 || io.netbacks.length > 0 || io.drivers.size > 0 || io.nics.size > 0);
    if (ioInUse || (vm.config.disks?.length ?? 0) > 0 || (vm.config.vifs?.length ?? 0) > 0 || (vm.config.pci?.length ?? 0) > 0) {
      throw new MigrationError(`${vm.name} has devices: the lab migrates guests without disks, vifs or passthrough devices for now (its frontends do not yet reconnect to the target's backends)`);
    }
    const need = d.p2m.length;
    if (target.freeFrames < need) {
      throw new MigrationError(`the target has ${Math.floor(target.freeFrames / 256)} MiB free, ${vm.name} needs ${Math.ceil(need / 256)} MiB (ENOMEM)`);
    }
    const to = target.createDomain(vm.config, d.counters);
    try {
      target.populatePhysmap(to, vm.config.hostPageSize === '1g' ? 18 : 9);
      target.enablePaging(to);
    } catch (e) {
      target.destroyDomain(to);
      throw new MigrationError(`the target could not build ${vm.name}: ${(e as Error).message}`);
    }
    this.to = to;
    this.sentAsTable = new Uint8Array(need);
    this.logDirty = new LogDirty(d);
  }

  /** Sends `pfns` (a PAGE_DATA stream): each page lands in its target frame. Returns how many were sent. */
  send(pfns: readonly number[]): number {
    const from = this.from;
    const to = this.to;
    let n = 0;
    for (const pfn of pfns) {
      const src = from.p2m[pfn]!;
      const dst = to.p2m[pfn]!;
      if (src < 0 || dst < 0) continue; // a hole (ballooned out): XEN_DOMCTL_PFINFO_XTAB, no data
      const level = from.mode === 'pv' ? this.tableLevel(src) : 0;
      if (level > 0) this.sendTable(pfn, src, dst, level);
      else {
        const f = from.mem.frame(src);
        if (f === undefined) to.mem.scrub(dst);
        else to.mem.frameForWrite(dst).set(f);
      }
      this.sentAsTable[pfn] = level > 0 ? 1 : 0;
      n++;
    }
    this.pagesSent += n;
    return n;
  }

  /** PGT_l1..l4 for a frame Xen holds as a page table (typed, count > 0), else 0. */
  private tableLevel(mfn: number): number {
    const ft = this.from.ft;
    return ft.isPageTable(mfn) ? ft.type(mfn) : 0;
  }

  /** normalise_pagetable on the source, then localise on the target. */
  private sendTable(pfn: number, src: number, dst: number, level: number): void {
    const from = this.from;
    const to = this.to;
    const out = to.mem.frameForWrite(dst);
    out.fill(0);
    const mem = from.mem;
    for (const i of mem.nonZeroEntries(src)) {
      const lo = mem.readLo(src, i);
      const hi = mem.readHi(src, i);
      if (!(lo & PTE_P)) {
        out[i << 1] = lo;
        out[(i << 1) | 1] = hi;
        continue;
      }
      const mfn = pteFrame(lo, hi);
      const p = from.ft.owner(mfn) === from.domid ? from.ft.m2p(mfn) : undefined;
      if (p === undefined || p < 0 || p >= from.p2m.length || from.p2m[p] !== mfn) {
        throw new MigrationError(`${from.name}: bad mfn ${mfn} in L${level}[${i}] of pfn ${pfn} (not the domain's own frame): normalise_pagetable fails, as Xen's does`);
      }
      const m = to.p2m[p]!;
      const flags = pteFlags(lo, hi);
      out[i << 1] = pteLo(m, flags);
      out[(i << 1) | 1] = pteHi(m, flags);
    }
  }

  /** XEN_DOMCTL_SHADOW_OP_CLEAN on the source: the pages dirtied since the last call, and the faults that logged them. */
  dirty(): { pfns: number[]; faults: number } {
    const r = this.logDirty.clean();
    return { pfns: r.pfns, faults: r.stats.faultCount };
  }

  /**
   * The stop-and-copy's extra pages: PV pages whose page-table type changed since they were sent
   * (a table sent as data or the other way round), which must go again in their present form.
   */
  retyped(): number[] {
    const out: number[] = [];
    if (this.from.mode !== 'pv') return out;
    for (let pfn = 0; pfn < this.from.p2m.length; pfn++) {
      const m = this.from.p2m[pfn]!;
      if (m < 0) continue;
      if ((this.tableLevel(m) > 0 ? 1 : 0) !== this.sentAsTable[pfn]) out.push(pfn);
    }
    return out;
  }

  /**
   * The domain paused and its last pages sent: the guest resumes on the target (see the header).
   * The caller destroys the source domain afterwards.
   */
  resume(): void {
    if (this.done) throw new Error('migration already resumed');
    this.done = true;
    const vm = this.vm;
    const from = this.from;
    const to = this.to;
    this.logDirty.disable();
    const k = vm.kernel;
    const cur = k.current;
    const root = cur ? cur.mm.root : k.initRoot;
    const pcid = cur ? cur.mm.pcid : 0;
    const ops = backendFor(to);
    if (from.mode === 'pv') {
      // Pin again what the source had pinned, lowest level first (XEN_DOMCTL_PFINFO_LPINTAB).
      const pins: { pfn: number; level: number }[] = [];
      for (let pfn = 0; pfn < from.p2m.length; pfn++) {
        const m = from.p2m[pfn]!;
        if (m < 0 || !(from.ft.flags(m) & PGT_pinned)) continue;
        const level = this.tableLevel(m);
        if (level >= PGT_l1_page_table && level <= PGT_l4_page_table) pins.push({ pfn, level });
      }
      pins.sort((a, b) => a.level - b.level || a.pfn - b.pfn);
      const pinCmd = [MmuextCmd.PIN_L1_TABLE, MmuextCmd.PIN_L2_TABLE, MmuextCmd.PIN_L3_TABLE, MmuextCmd.PIN_L4_TABLE];
      for (const p of pins) {
        const rc = this.target.pvMm.mmuextOp(to, pinCmd[p.level - 1]!, to.p2m[p.pfn]!);
        if (rc !== 0) throw new MigrationError(`${vm.name}: the target's Xen refused to pin pfn ${p.pfn} as an L${p.level} table (${rc}): its rebuilt page tables do not validate`);
      }
      const old = vm.ops as PvDirectOps;
      (ops as PvDirectOps).adopt(old);
    }
    // xl list's Time(s) and the run's bookkeeping go on from the source's.
    to.cpuCycles = from.cpuCycles;
    to.bootCycles = from.bootCycles;
    to.createdAt = from.createdAt;
    k.rebind(platformOf(this.target, to), ops);
    vm.rehome(to, ops, 'target');
    to.state = 'running';
    // The vCPU's context: CR3 reloaded on the target (for PV, MMUEXT_NEW_BASEPTR takes its type reference).
    const c = to.counters.c;
    const before = c[C.CycGuest];
    ops.switchRoot(root, pcid);
    c[C.CycGuest] = before; // the restore's work, not the guest's
  }

  /** The migration failed or was cancelled: log-dirty off on the source, the target's domain torn down. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    this.logDirty.disable();
    this.target.destroyDomain(this.to);
  }
}

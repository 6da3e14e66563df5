/**
 * Hardware-assisted paging (Intel EPT): a per-domain nested table mapping gfn → mfn, populated
 * lazily on EPT violations (as Xen's p2m fills in for a populate-on-demand or freshly built
 * domain), with 2 MiB / 1 GiB leaves where the domain's machine memory is contiguous and aligned.
 */
import { tableIndex } from '../../base/types.js';
import { C, Vx } from '../../machine/counters.js';
import type { CostTable } from '../../machine/cost.js';
import type { MachineMemory } from '../../machine/memory.js';
import { EPT_MT_WB, EPT_PS, EPT_R, EPT_RWX, EPT_W, EPT_X, pteFrame, pteLo, pteHi } from '../../machine/pte.js';
import type { Counters } from '../../machine/counters.js';

export interface HapOwner {
  readonly counters: Counters;
  /** gfn → mfn (the domain's p2m); -1 for a hole. */
  readonly p2m: Int32Array;
  /** After a VM exit and entry (flushes the TLB when the CPU has no VPID). */
  vmTransition(): void;
  /**
   * KVM's kvm_faultin_pfn (hv/kvm/kvmHost.ts): the host mapping's level for `gfn` (the largest
   * leaf allowed), 0 if it is not guest RAM. Absent under Xen, where the p2m is the answer.
   */
  readonly faultin?: (gfn: number) => number;
}

export class Hap {
  readonly eptRoot: number;
  /** EPT table frames this domain's nested table uses (for the auditor and teardown). */
  readonly tableFrames: number[] = [];
  private readonly leafLevel: number;

  constructor(
    private readonly mem: MachineMemory,
    private readonly costs: CostTable,
    private readonly owner: HapOwner,
    private readonly allocXenFrame: () => number,
    hostPageSize: '4k' | '2m' | '1g',
  ) {
    this.eptRoot = this.newTable();
    this.leafLevel = hostPageSize === '1g' ? 3 : hostPageSize === '2m' ? 2 : 1;
  }

  private newTable(): number {
    const mfn = this.allocXenFrame();
    this.mem.scrub(mfn);
    this.tableFrames.push(mfn);
    return mfn;
  }

  /** True if gfns [base, base+2^order) map to contiguous, naturally aligned machine frames. */
  private contiguous(base: number, order: number): boolean {
    const p2m = this.owner.p2m;
    const n = 2 ** order;
    if (base + n > p2m.length) return false;
    const m0 = p2m[base]!;
    if (m0 < 0 || m0 % n !== 0) return false;
    for (let i = 1; i < n; i++) if (p2m[base + i] !== m0 + i) return false;
    return true;
  }

  /**
   * Handles an EPT violation at `gpa` (a VM exit): installs the mapping for its gfn, with the
   * largest leaf the host page size and the backing allow. Returns false if the gfn is not the
   * domain's memory (the domain would be crashed).
   */
  handleViolation(gpa: number, write = false): boolean {
    const c = this.owner.counters.c;
    c[C.VmExits]++;
    this.owner.counters.vmexits[Vx.EptViolation]++;
    c[C.EptViolations]++;
    c[C.CycHv] += this.costs.vmexit + this.costs.eptViolation;
    this.owner.vmTransition();
    const gfn = Math.floor(gpa / 4096);
    if (gfn >= this.owner.p2m.length || this.owner.p2m[gfn]! < 0) return false;
    // ept_handle_violation on a p2m_ram_logdirty page: paging_mark_dirty, then the entry goes back
    // to p2m_ram_rw (p2m_change_type_one) and the write is retried.
    const ld = this.logDirty;
    if (ld !== null && write && ld.wp[gfn] === 1) ld.fault(gfn);
    // KVM: the frame comes from qemu's page tables (faulted in on first touch), and no EPT leaf
    // may be larger than the host's own mapping of it (host_pfn_mapping_level).
    const hostLevel = this.owner.faultin ? this.owner.faultin(gfn) : this.leafLevel;
    if (hostLevel <= 0) return false;
    this.mapGfn(gfn, hostLevel);
    return true;
  }

  /**
   * Log-dirty by EPT write-protection (hap_enable_log_dirty / hap_clean_dirty_bitmap:
   * p2m_change_entry_type_global(p2m_ram_rw → p2m_ram_logdirty), xen/arch/x86/mm/hap/hap.c and
   * p2m-ept.c): while set, a gfn with `wp[gfn]` = 1 is mapped by a read-only 4 KiB leaf (large
   * leaves are split, as ept_split_super_page does for a type change on part of one), and its
   * first write is an EPT violation that calls `fault(gfn)`. null: off.
   */
  logDirty: { readonly wp: Uint8Array; fault(gfn: number): void } | null = null;

  /**
   * Every present leaf of RAM re-made from the p2m as 4 KiB, read-only where `logDirty.wp` says so
   * (writable everywhere when log-dirty is off). The caller flushes (INVEPT). Returns the leaves
   * written.
   */
  rewriteLeaves(): number {
    let n = 0;
    const p2m = this.owner.p2m;
    for (let gfn = 0; gfn < p2m.length; gfn++) {
      if (p2m[gfn]! < 0 || this.lookup(gfn) < 0) continue;
      this.remapGfn(gfn);
      n++;
    }
    this.owner.counters.c[C.CycHv] += n * this.costs.pteWrite;
    return n;
  }

  /** Installs the EPT entry that covers `gfn` (and its 2M/1G neighbours when a big leaf fits). */
  mapGfn(gfn: number, maxLevel = this.leafLevel): void {
    let leaf = this.logDirty !== null ? 1 : Math.min(this.leafLevel, maxLevel);
    while (leaf > 1) {
      const order = 9 * (leaf - 1);
      if (this.contiguous(Math.floor(gfn / 2 ** order) * 2 ** order, order)) break;
      leaf--;
    }
    let table = this.eptRoot;
    const gpa = gfn * 4096;
    for (let level = 4; level > leaf; level--) {
      const i = tableIndex(gpa, level);
      const lo = this.mem.readLo(table, i);
      if (lo & EPT_RWX) {
        table = pteFrame(lo, this.mem.readHi(table, i));
      } else {
        const next = this.newTable();
        this.mem.write(table, i, pteLo(next, EPT_RWX), pteHi(next, 0));
        table = next;
      }
    }
    const order = 9 * (leaf - 1);
    const base = Math.floor(gfn / 2 ** order) * 2 ** order;
    const mfn = this.owner.p2m[base]!;
    const i = tableIndex(gpa, leaf);
    const flags = (this.readOnly(gfn) ? EPT_R | EPT_X : EPT_RWX) | EPT_MT_WB | (leaf > 1 ? EPT_PS : 0);
    this.mem.write(table, i, pteLo(mfn, flags), pteHi(mfn, 0));
  }

  /**
   * ept_set_entry for a p2m_grant_map_rw / p2m_grant_map_ro entry (ept_p2m_type_to_flags: R and W,
   * or R only; never X), a 4 KiB leaf at `gfn`, which is not RAM (so no large leaf covers it).
   */
  setGrantEntry(gfn: number, mfn: number, readonly: boolean): void {
    const table = this.leafTable(gfn * 4096);
    this.mem.write(table, tableIndex(gfn * 4096, 1), pteLo(mfn, EPT_R | (readonly ? 0 : EPT_W) | EPT_MT_WB), pteHi(mfn, 0));
  }

  /** The 4 KiB leaf at `gfn` cleared (guest_physmap_remove_page); the caller flushes (INVEPT). */
  clearGrantEntry(gfn: number): void {
    const table = this.leafTable(gfn * 4096);
    this.mem.write(table, tableIndex(gfn * 4096, 1), 0, 0);
  }

  /** The L1 EPT table for `gpa`, built on the way down (no large leaf may be in the way). */
  private leafTable(gpa: number): number {
    let table = this.eptRoot;
    for (let level = 4; level > 1; level--) {
      const i = tableIndex(gpa, level);
      const lo = this.mem.readLo(table, i);
      if (lo & EPT_RWX) {
        if (lo & EPT_PS) throw new Error(`EPT: a large leaf covers gpa 0x${gpa.toString(16)}, which is not RAM`);
        table = pteFrame(lo, this.mem.readHi(table, i));
      } else {
        const next = this.newTable();
        this.mem.write(table, i, pteLo(next, EPT_RWX), pteHi(next, 0));
        table = next;
      }
    }
    return table;
  }

  /**
   * The p2m entry of `gfn` changed (Xen moved the page, or took it away): its EPT leaf follows. A superpage leaf that
   * covers it is split first into a table of smaller leaves over the same frames (Xen's
   * ept_split_super_page), down to a 4 KiB leaf for `gfn`. An entry never filled in stays so: the
   * next EPT violation maps it from the p2m. The caller flushes (INVEPT).
   */
  remapGfn(gfn: number): void {
    let table = this.eptRoot;
    const gpa = gfn * 4096;
    for (let level = 4; level >= 1; level--) {
      const i = tableIndex(gpa, level);
      const lo = this.mem.readLo(table, i);
      if (!(lo & EPT_RWX)) return;
      if (level === 1) {
        const mfn = this.owner.p2m[gfn]!;
        // A gfn the p2m no longer backs (decrease_reservation) loses its leaf.
        if (mfn < 0) this.mem.write(table, i, 0, 0);
        else this.mem.write(table, i, pteLo(mfn, (this.readOnly(gfn) ? EPT_R | EPT_X : EPT_RWX) | EPT_MT_WB), pteHi(mfn, 0));
        return;
      }
      const frame = pteFrame(lo, this.mem.readHi(table, i));
      if (lo & EPT_PS) {
        const next = this.newTable();
        const step = 2 ** (9 * (level - 2));
        const flags = EPT_RWX | EPT_MT_WB | (level - 1 > 1 ? EPT_PS : 0);
        for (let k = 0; k < 512; k++) this.mem.write(next, k, pteLo(frame + k * step, flags), pteHi(frame + k * step, 0));
        this.mem.write(table, i, pteLo(next, EPT_RWX), pteHi(next, 0));
        this.owner.counters.c[C.CycHv] += 512 * this.costs.pteWrite;
        table = next;
      } else {
        table = frame;
      }
    }
  }

  /** A log-dirty leaf not yet written this round (p2m_ram_logdirty). */
  private readOnly(gfn: number): boolean {
    const ld = this.logDirty;
    return ld !== null && ld.wp[gfn] === 1;
  }

  /** The machine frame EPT maps `gfn` to, or -1 (a software walk, for the auditor). */
  lookup(gfn: number): number {
    let table = this.eptRoot;
    const gpa = gfn * 4096;
    for (let level = 4; level >= 1; level--) {
      const i = tableIndex(gpa, level);
      const lo = this.mem.readLo(table, i);
      if (!(lo & EPT_R)) return -1;
      const frame = pteFrame(lo, this.mem.readHi(table, i));
      if (level === 1 || lo & EPT_PS) {
        return frame + (gfn % 2 ** (9 * (level - 1)));
      }
      table = frame;
    }
    return -1;
  }
}

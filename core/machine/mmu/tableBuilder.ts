/**
 * Builds and edits 4-level x86-64 page tables and EPT tables in machine memory, the way an OS or a
 * hypervisor's p2m code does: tests build hand-made tables with it, and callers that need plain
 * tables (no validation) can use it too.
 *
 * Table frames live in a frame space: machine frames for 1D tables and EPT, guest frames (gfns)
 * for a nested guest's own tables, whose entries hold gfns. `toMfn` maps a table frame to the
 * machine frame that backs it.
 */
import { PAGE_SIZE_SHIFT, tableIndex, type PageSize } from '../../base/types.js';
import type { MachineMemory } from '../memory.js';
import { EPT_MT_WB, EPT_RWX, pteFrame, pteHi, pteLo, PTE_P, PTE_PS, PTE_RW, PTE_US } from '../pte.js';

export type TableFormat = 'x86' | 'ept';

/** What an edit replaced, i.e. what the OS must invalidate afterwards. */
export const enum MapChange {
  /** The entry was not present: nothing can be cached for it, no flush is needed. */
  None = 0,
  /** A present leaf at the same level was replaced: INVLPG (or INVEPT) that address. */
  Leaf = 1,
  /** A table or a leaf of another size on the path was replaced: flush the address space. */
  Structure = 2,
}

/** A located entry: the machine frame of its table, its index, its level and its halves. */
export interface EntryRef {
  mfn: number;
  index: number;
  level: number;
  lo: number;
  hi: number;
}

const LEAF_LEVEL: Record<PageSize, number> = { '4k': 1, '2m': 2, '1g': 3 };

export class TableBuilder {
  /** Bits that make an entry present in this format. */
  private readonly present: number;
  /** Flags of a non-leaf entry: everything allowed, so the leaf decides. */
  private readonly tableFlags: number;

  /**
   * @param alloc returns a fresh table frame (in the frame space entries hold); the builder zeroes it.
   * @param toMfn machine frame backing a table frame (identity unless these are a nested guest's tables).
   */
  constructor(
    readonly mem: MachineMemory,
    readonly format: TableFormat,
    private readonly alloc: () => number,
    private readonly toMfn: (frame: number) => number = (f) => f,
  ) {
    this.present = format === 'x86' ? PTE_P : EPT_RWX;
    this.tableFlags = format === 'x86' ? PTE_P | PTE_RW | PTE_US : EPT_RWX;
  }

  /** A new, empty top-level table; returns its frame (what CR3 or the EPTP points at). */
  newRoot(): number {
    return this.newTable();
  }

  private newTable(): number {
    const frame = this.alloc();
    this.mem.scrub(this.toMfn(frame));
    return frame;
  }

  private isPresent(lo: number): boolean {
    return (lo & this.present) !== 0;
  }

  /**
   * Maps the `size` page at `addr` to `frame` (the frame of the page's first 4 KiB, aligned to the
   * page size) with `flags` (PTE_* for x86, P added; EPT_* rights for EPT, write-back memory type
   * added). PS is set for 2 MiB and 1 GiB leaves. A leaf of another size in the way is replaced.
   */
  map(root: number, addr: number, frame: number, size: PageSize, flags: number): MapChange {
    const leafLevel = LEAF_LEVEL[size];
    const pages = 2 ** (PAGE_SIZE_SHIFT[size] - 12);
    if (frame % pages !== 0) throw new RangeError(`frame 0x${frame.toString(16)} is not aligned to a ${size} page`);
    let change = MapChange.None;
    let table = root;
    for (let level = 4; level > leafLevel; level--) {
      const mfn = this.toMfn(table);
      const i = tableIndex(addr, level);
      const lo = this.mem.readLo(mfn, i);
      if (this.isPresent(lo) && !(lo & PTE_PS)) {
        table = pteFrame(lo, this.mem.readHi(mfn, i));
        continue;
      }
      if (this.isPresent(lo)) change = MapChange.Structure; // a bigger leaf becomes a table
      const next = this.newTable();
      this.mem.write(mfn, i, pteLo(next, this.tableFlags), pteHi(next, this.tableFlags));
      table = next;
    }
    const mfn = this.toMfn(table);
    const i = tableIndex(addr, leafLevel);
    const old = this.mem.readLo(mfn, i);
    if (change === MapChange.None && this.isPresent(old)) {
      const wasLeaf = leafLevel === 1 || (old & PTE_PS) !== 0;
      change = wasLeaf ? MapChange.Leaf : MapChange.Structure;
    }
    const leafFlags = this.format === 'x86' ? flags | PTE_P : flags | EPT_MT_WB;
    // Bit 7 is PS in an L2/L3 leaf (EPT too); in an L1 entry it is PAT, left as given.
    const f = leafLevel > 1 ? leafFlags | PTE_PS : leafFlags;
    this.mem.write(mfn, i, pteLo(frame, f), pteHi(frame, f));
    return change;
  }

  /** The entry at `level` on the path of `addr`, or null if a table above it is missing or a leaf ends the path. */
  entry(root: number, addr: number, level: number): EntryRef | null {
    let table = root;
    for (let l = 4; ; l--) {
      const mfn = this.toMfn(table);
      const index = tableIndex(addr, l);
      const lo = this.mem.readLo(mfn, index);
      const hi = this.mem.readHi(mfn, index);
      if (l === level) return { mfn, index, level: l, lo, hi };
      if (!this.isPresent(lo) || lo & PTE_PS) return null;
      table = pteFrame(lo, hi);
    }
  }

  /** The leaf that maps `addr`, or null if none does. */
  leaf(root: number, addr: number): EntryRef | null {
    let table = root;
    for (let level = 4; level >= 1; level--) {
      const mfn = this.toMfn(table);
      const index = tableIndex(addr, level);
      const lo = this.mem.readLo(mfn, index);
      const hi = this.mem.readHi(mfn, index);
      if (!this.isPresent(lo)) return null;
      if (level === 1 || (level <= 3 && lo & PTE_PS)) return { mfn, index, level, lo, hi };
      table = pteFrame(lo, hi);
    }
    return null;
  }

  /** Clears the leaf mapping `addr`, whatever its size. */
  unmap(root: number, addr: number): MapChange {
    const e = this.leaf(root, addr);
    if (e === null) return MapChange.None;
    this.mem.write(e.mfn, e.index, 0, 0);
    return MapChange.Leaf;
  }

  /**
   * Replaces the flags of the leaf mapping `addr`, keeping its frame (and PS): `flags` as for map.
   * Returns false if nothing maps `addr`.
   */
  protect(root: number, addr: number, flags: number): boolean {
    const e = this.leaf(root, addr);
    if (e === null) return false;
    const frame = pteFrame(e.lo, e.hi);
    const ps = e.level > 1 ? PTE_PS : 0;
    const f = (this.format === 'x86' ? flags | PTE_P : flags | EPT_MT_WB) | ps;
    this.mem.write(e.mfn, e.index, pteLo(frame, f), pteHi(frame, f));
    return true;
  }

  /** Zeroes the entry at `level` on the path of `addr` (unlinking a whole table below it). */
  clear(root: number, addr: number, level: number): MapChange {
    const e = this.entry(root, addr, level);
    if (e === null || !this.isPresent(e.lo)) return MapChange.None;
    this.mem.write(e.mfn, e.index, 0, 0);
    return level === 1 || e.lo & PTE_PS ? MapChange.Leaf : MapChange.Structure;
  }

  /** Writes a raw entry at `level` on the path of `addr` (for tests of odd encodings); false if the path is missing. */
  writeEntry(root: number, addr: number, level: number, lo: number, hi: number): boolean {
    const e = this.entry(root, addr, level);
    if (e === null) return false;
    this.mem.write(e.mfn, e.index, lo, hi);
    return true;
  }

  /** Points the entry at `level` on the path of `addr` at an existing table (sharing it, as kernels share upper tables). */
  link(root: number, addr: number, level: number, tableFrame: number): boolean {
    return this.writeEntry(root, addr, level, pteLo(tableFrame, this.tableFlags), pteHi(tableFrame, this.tableFlags));
  }
}

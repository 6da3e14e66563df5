/**
 * Xen's per-frame bookkeeping (xen/arch/x86/include/asm/mm.h, struct page_info): an owner, a
 * general reference count (count_info & PGC_count_mask), a type (type_info & PGT_type_mask) with
 * its own count, and the validated and pinned flags; plus the m2p (machine_to_phys_mapping) that
 * maps an mfn back to its owner's pfn, and each owner's page list (d->page_list).
 *
 * Kept sparse, in chunks of FT_CHUNK frames allocated on first write: a chunk never written
 * reads as the defaults (owner DOMID_FREE, m2p INVALID_M2P, everything else 0), as Xen maps its
 * frame_table only where there is RAM. A 1 TiB machine running one small guest then costs the
 * chunks its domains use, not 22 bytes for each of its 2^28 frames.
 *
 * The page lists let whatever concerns one domain (destroying it, auditing it) visit that
 * domain's frames only. A list is unordered (removal swaps the last entry in); each frame
 * records its position, so adding and removing are O(1).
 */
export const PGT_none = 0;
export const PGT_l1_page_table = 1;
export const PGT_l2_page_table = 2;
export const PGT_l3_page_table = 3;
export const PGT_l4_page_table = 4;
export const PGT_seg_desc_page = 5;
export const PGT_writable_page = 6;
export type PageType = 0 | 1 | 2 | 3 | 4 | 5 | 6;

export const PGT_NAMES = ['none', 'l1', 'l2', 'l3', 'l4', 'seg_desc', 'writable'] as const;

/** PGT_validated: the frame's contents were checked for its current type. */
export const PGT_validated = 1;
/** PGT_pinned: the guest pinned the frame as a table (MMUEXT_PIN_Ln_TABLE): it holds a type ref. */
export const PGT_pinned = 2;

/** Owner values that are not domains. */
export const DOMID_FREE = -1;
/** Frames Xen uses itself (shadow pool, EPT tables, its heap). */
export const DOMID_XEN = 0x7ff2;
export const INVALID_M2P = -1;

/** log2 of the frames per chunk (16 MiB of machine memory, ~100 KiB of bookkeeping). */
export const FT_CHUNK_SHIFT = 12;
export const FT_CHUNK = 1 << FT_CHUNK_SHIFT;
export const FT_CHUNK_MASK = FT_CHUNK - 1;
const MASK = FT_CHUNK_MASK;

/** struct page_info for FT_CHUNK consecutive frames, one typed array per field. */
export class FrameTableChunk {
  readonly owner = new Int32Array(FT_CHUNK).fill(DOMID_FREE);
  readonly count = new Int32Array(FT_CHUNK);
  readonly type = new Uint8Array(FT_CHUNK);
  readonly typeCount = new Int32Array(FT_CHUNK);
  readonly flags = new Uint8Array(FT_CHUNK);
  readonly m2p = new Int32Array(FT_CHUNK).fill(INVALID_M2P);
  /**
   * linear_pt_count (after XSA-240): > 0, the number of linear entries pointing at this table;
   * < 0, the number of linear entries this table holds. A table is never both (one level deep).
   */
  readonly linear = new Int32Array(FT_CHUNK);
  /** Position of the frame in its owner's page list (meaningless while free). */
  readonly listPos = new Int32Array(FT_CHUNK);
}

/** One owner's frames (d->page_list), in no particular order. */
class PageList {
  items = new Int32Array(64);
  length = 0;
}

export class FrameTable {
  readonly nrFrames: number;
  /** Chunk of each FT_CHUNK frames: an index into `pool`, 0 until a frame in it is first written. */
  private readonly dir: Int32Array;
  /** pool[0] holds the defaults and is never written: reads of an untouched chunk land there. */
  private readonly pool: FrameTableChunk[] = [new FrameTableChunk()];
  private readonly lists = new Map<number, PageList>();
  /** While on: every owner (domid, DOMID_XEN, DOMID_FREE) of a frame whose entry was written. */
  private owners_: Set<number> | null = null;
  /** While on: every frame whose entry was written, and whether any frame changed owner. */
  private frames_: Set<number> | null = null;
  private ownersMoved_ = false;
  /**
   * Called after a frame changes owner (the IOMMU driver keeps strict PV and translated domains'
   * DMA tables in step, as Xen's guest_physmap_add_page / guest_remove_page do). Null: no one.
   */
  onOwnerChange: ((mfn: number, from: number, to: number) => void) | null = null;

  constructor(nrFrames: number) {
    this.nrFrames = nrFrames;
    this.dir = new Int32Array(Math.ceil(nrFrames / FT_CHUNK));
  }

  /**
   * The chunk holding `mfn`, for reading only (index it with mfn & FT_CHUNK_MASK): the defaults'
   * chunk if never written or outside machine memory. For loops over many frames (the auditor).
   */
  peek(mfn: number): FrameTableChunk {
    return this.pool[mfn >= 0 && mfn < this.nrFrames ? this.dir[mfn >>> FT_CHUNK_SHIFT]! : 0]!;
  }

  /** The chunk holding `mfn`, allocated if needed; undefined outside machine memory (writes there are dropped, as a typed array drops them). */
  private chunk(mfn: number): FrameTableChunk | undefined {
    if (!(mfn >= 0 && mfn < this.nrFrames)) return undefined;
    const i = mfn >>> FT_CHUNK_SHIFT;
    if (this.dir[i] === 0) {
      this.dir[i] = this.pool.length;
      this.pool.push(new FrameTableChunk());
    }
    const c = this.pool[this.dir[i]!]!;
    if (this.owners_ !== null) {
      this.owners_.add(c.owner[mfn & MASK]!);
      this.frames_!.add(mfn);
    }
    return c;
  }

  // --- fields ---------------------------------------------------------------------------------

  owner(mfn: number): number {
    return this.peek(mfn).owner[mfn & MASK]!;
  }
  count(mfn: number): number {
    return this.peek(mfn).count[mfn & MASK]!;
  }
  type(mfn: number): PageType {
    return this.peek(mfn).type[mfn & MASK]! as PageType;
  }
  typeCount(mfn: number): number {
    return this.peek(mfn).typeCount[mfn & MASK]!;
  }
  flags(mfn: number): number {
    return this.peek(mfn).flags[mfn & MASK]!;
  }
  /** machine_to_phys_mapping: mfn → pfn of its owner, or INVALID_M2P. */
  m2p(mfn: number): number {
    return this.peek(mfn).m2p[mfn & MASK]!;
  }
  linear(mfn: number): number {
    return this.peek(mfn).linear[mfn & MASK]!;
  }

  setCount(mfn: number, v: number): void {
    const c = this.chunk(mfn);
    if (c) c.count[mfn & MASK] = v;
  }
  setType(mfn: number, v: PageType): void {
    const c = this.chunk(mfn);
    if (c) c.type[mfn & MASK] = v;
  }
  setTypeCount(mfn: number, v: number): void {
    const c = this.chunk(mfn);
    if (c) c.typeCount[mfn & MASK] = v;
  }
  setFlags(mfn: number, v: number): void {
    const c = this.chunk(mfn);
    if (c) c.flags[mfn & MASK] = v;
  }
  setM2p(mfn: number, v: number): void {
    const c = this.chunk(mfn);
    if (c) c.m2p[mfn & MASK] = v;
  }
  setLinear(mfn: number, v: number): void {
    const c = this.chunk(mfn);
    if (c) c.linear[mfn & MASK] = v;
  }

  /** Gives `mfn` to `owner` (a domid, DOMID_XEN or DOMID_FREE), moving it between page lists. */
  setOwner(mfn: number, owner: number): void {
    const c = this.chunk(mfn);
    if (!c) return;
    const i = mfn & MASK;
    const old = c.owner[i]!;
    if (old === owner) return;
    if (old !== DOMID_FREE) this.unlist(old, c.listPos[i]!);
    if (owner !== DOMID_FREE) {
      let l = this.lists.get(owner);
      if (!l) {
        l = new PageList();
        this.lists.set(owner, l);
      }
      if (l.length === l.items.length) {
        const grown = new Int32Array(l.items.length * 2);
        grown.set(l.items);
        l.items = grown;
      }
      c.listPos[i] = l.length;
      l.items[l.length++] = mfn;
    }
    c.owner[i] = owner;
    if (this.owners_ !== null) {
      this.owners_.add(owner);
      this.ownersMoved_ = true;
    }
    this.onOwnerChange?.(mfn, old, owner);
  }

  private unlist(owner: number, pos: number): void {
    const l = this.lists.get(owner)!;
    const last = l.items[--l.length]!;
    l.items[pos] = last;
    const lc = this.pool[this.dir[last >>> FT_CHUNK_SHIFT]!]!;
    lc.listPos[last & MASK] = pos;
    if (l.length === 0) this.lists.delete(owner);
  }

  // --- write log (for an incremental auditor) ---------------------------------------------------

  /** Starts (or restarts) recording the owners of frames whose entries are written. */
  startOwnerLog(): void {
    this.owners_ = new Set();
    this.frames_ = new Set();
    this.ownersMoved_ = false;
  }

  /** Frames whose entries were written since the log started or was cleared; null when off. */
  get frameLog(): ReadonlySet<number> | null {
    return this.frames_;
  }

  /** Whether a frame changed owner since the log started or was cleared (page lists moved). */
  get ownersMoved(): boolean {
    return this.ownersMoved_;
  }

  /** Owners of frames whose entries were written since the log started or was cleared; null when off. */
  get ownerLog(): ReadonlySet<number> | null {
    return this.owners_;
  }

  clearOwnerLog(): void {
    this.owners_?.clear();
    this.frames_?.clear();
    this.ownersMoved_ = false;
  }

  // --- page lists -----------------------------------------------------------------------------

  /** How many frames `owner` has. */
  ownedCount(owner: number): number {
    return this.lists.get(owner)?.length ?? 0;
  }

  /**
   * The frames `owner` has, in no particular order: a live view, valid until the next change of
   * ownership (copy it to keep it). Its length is ownedCount(owner).
   */
  ownedFrames(owner: number): Int32Array {
    const l = this.lists.get(owner);
    return l ? l.items.subarray(0, l.length) : new Int32Array(0);
  }

  /** Position of `mfn` in its owner's page list (a dense index for per-domain scratch arrays). */
  listPos(mfn: number): number {
    return this.peek(mfn).listPos[mfn & MASK]!;
  }

  /** Owners with at least one frame. */
  owners(): number[] {
    return [...this.lists.keys()];
  }

  // --- Xen's operations -----------------------------------------------------------------------

  assign(mfn: number, domid: number, pfn: number): void {
    this.setOwner(mfn, domid);
    const c = this.chunk(mfn);
    if (!c) return;
    const i = mfn & MASK;
    c.m2p[i] = pfn;
    c.count[i] = 0;
    c.type[i] = PGT_none;
    c.typeCount[i] = 0;
    c.flags[i] = 0;
    c.linear[i] = 0;
  }

  release(mfn: number): void {
    this.setOwner(mfn, DOMID_FREE);
    const c = this.chunk(mfn);
    if (!c) return;
    const i = mfn & MASK;
    c.m2p[i] = INVALID_M2P;
    c.count[i] = 0;
    c.type[i] = PGT_none;
    c.typeCount[i] = 0;
    c.flags[i] = 0;
  }

  isPageTable(mfn: number): boolean {
    const t = this.type(mfn);
    return t >= PGT_l1_page_table && t <= PGT_l4_page_table && this.typeCount(mfn) > 0;
  }

  /**
   * Checks the page lists against the owner fields, visiting allocated chunks only: every frame
   * with an owner is on that owner's list at the position it records, and the lists hold nothing
   * else. Returns one line per disagreement (the auditor's full pass calls this).
   */
  checkPageLists(): string[] {
    const out: string[] = [];
    let owned = 0;
    for (let ci = 0; ci < this.dir.length; ci++) {
      if (this.dir[ci] === 0) continue;
      const c = this.pool[this.dir[ci]!]!;
      for (let i = 0; i < FT_CHUNK; i++) {
        const o = c.owner[i]!;
        if (o === DOMID_FREE) continue;
        owned++;
        const mfn = ci * FT_CHUNK + i;
        const l = this.lists.get(o);
        const pos = c.listPos[i]!;
        if (!l || pos < 0 || pos >= l.length || l.items[pos] !== mfn) out.push(`mfn ${mfn} is owned by ${o} but not on its page list`);
      }
    }
    let listed = 0;
    for (const l of this.lists.values()) listed += l.length;
    if (listed !== owned) out.push(`the page lists hold ${listed} frames but ${owned} frames have an owner`);
    return out;
  }
}

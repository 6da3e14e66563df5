/**
 * The guest's side of grant tables v1 (Linux drivers/xen/grant-table.c): a free list of refs over
 * the table frames Xen gave it (GNTTABOP_setup_table), and the writes that grant and end access in
 * the shared entries. Refs below GNTTAB_NR_RESERVED_ENTRIES are the toolstack's (console, xenstore)
 * and never handed out.
 */
import {
  GTF_accept_transfer,
  GTF_transfer_committed,
  GTF_transfer_completed,
  GNTTAB_NR_RESERVED_ENTRIES,
  GRANT_ENTRIES_PER_FRAME,
  GTF_permit_access,
  GTF_readonly,
  GTF_type_mask,
  GTF_reading,
  GTF_writing,
} from '../api/public/grant_table.js';
import type { MachineMemory } from '../machine/memory.js';

export class GrantTableFrontend {
  private readonly frames: number[];
  /** Refs handed out and not yet freed. */
  private readonly used = new Set<number>();
  /** Free refs, lowest first out (Linux keeps a LIFO list; lowest-first keeps runs reproducible). */
  private free: number[] = [];

  constructor(
    private readonly mem: MachineMemory,
    frames: number[],
    readonly domid: number,
  ) {
    this.frames = [];
    this.addFrames(frames);
  }

  /** More table frames after a later setup_table (gnttab_expand): their refs join the free list. */
  addFrames(frames: number[]): void {
    const first = this.frames.length * GRANT_ENTRIES_PER_FRAME;
    this.frames.push(...frames);
    const end = this.frames.length * GRANT_ENTRIES_PER_FRAME;
    for (let ref = Math.max(first, GNTTAB_NR_RESERVED_ENTRIES); ref < end; ref++) this.free.push(ref);
    this.free.sort((a, b) => a - b);
  }

  /** Entries the table can hold (reserved ones included). */
  get capacity(): number {
    return this.frames.length * GRANT_ENTRIES_PER_FRAME;
  }

  get inUse(): number {
    return this.used.size;
  }

  private where(ref: number): [mfn: number, slot: number] {
    return [this.frames[(ref / GRANT_ENTRIES_PER_FRAME) | 0]!, ref % GRANT_ENTRIES_PER_FRAME];
  }

  private valid(ref: number): boolean {
    return Number.isInteger(ref) && ref >= 0 && ref < this.capacity;
  }

  /**
   * gnttab_grant_foreign_access: a free ref granting `domid` access to `frame` (an mfn for a PV
   * guest, a gfn for an HVM one), or -1 when the table is full. The frame and domid are written
   * before the flags (the wmb in gnttab_update_entry_v1), so Xen never sees a valid flag on a
   * half-written entry.
   */
  grantForeignAccess(domid: number, frame: number, readonly: boolean): number {
    const ref = this.free.shift();
    if (ref === undefined) return -1;
    this.used.add(ref);
    const [mfn, slot] = this.where(ref);
    this.mem.write(mfn, slot, (domid & 0xffff) << 16, frame >>> 0);
    const flags = GTF_permit_access | (readonly ? GTF_readonly : 0);
    this.mem.write(mfn, slot, (((domid & 0xffff) << 16) | flags) >>> 0, frame >>> 0);
    return ref;
  }

  /**
   * gnttab_end_foreign_access_ref (v1): clears the flags unless Xen has the entry pinned
   * (GTF_reading or GTF_writing): then the entry is kept and false returned.
   */
  endForeignAccess(ref: number): boolean {
    if (!this.valid(ref)) return false;
    const [mfn, slot] = this.where(ref);
    const lo = this.mem.readLo(mfn, slot);
    if (lo & (GTF_reading | GTF_writing)) return false;
    this.mem.write(mfn, slot, (lo & 0xffff0000) >>> 0, this.mem.readHi(mfn, slot));
    return true;
  }

  /**
   * gnttab_grant_foreign_transfer: a free ref that accepts a frame from `domid` in place of `pfn`
   * (the page the guest is giving up), or -1 when the table is full.
   */
  grantForeignTransfer(domid: number, pfn: number): number {
    const ref = this.free.shift();
    if (ref === undefined) return -1;
    this.used.add(ref);
    const [mfn, slot] = this.where(ref);
    this.mem.write(mfn, slot, (domid & 0xffff) << 16, pfn >>> 0);
    this.mem.write(mfn, slot, (((domid & 0xffff) << 16) | GTF_accept_transfer) >>> 0, pfn >>> 0);
    return ref;
  }

  /**
   * gnttab_end_foreign_transfer_ref: the frame Xen transferred into `ref`, or 0 when no transfer
   * was committed (the entry is then cleared, so none can start). A committed transfer is complete
   * by the time the guest looks (the lab runs one operation at a time). The entry is cleared after
   * the frame is read, so the ref can be freed.
   */
  endForeignTransfer(ref: number): number {
    if (!this.valid(ref)) return 0;
    const [mfn, slot] = this.where(ref);
    const lo = this.mem.readLo(mfn, slot);
    const frame = this.mem.readHi(mfn, slot);
    this.mem.write(mfn, slot, (lo & 0xffff0000) >>> 0, frame);
    if (!(lo & GTF_transfer_committed)) return 0;
    if (!(lo & GTF_transfer_completed)) throw new Error(`grant ref ${ref}: transfer committed but not completed`);
    return frame;
  }

  /**
   * gnttab_free_grant_reference: the ref goes back to the free list. A ref that is not in use, or
   * whose entry still grants access (end it first), is an error in the driver.
   */
  freeRef(ref: number): void {
    if (!this.used.has(ref)) throw new Error(`grant ref ${ref} is not in use by d${this.domid}`);
    if (this.entry(ref).flags & GTF_type_mask) throw new Error(`grant ref ${ref} still grants access: end it before freeing`);
    this.used.delete(ref);
    const at = this.free.findIndex((r) => r > ref);
    if (at < 0) this.free.push(ref);
    else this.free.splice(at, 0, ref);
  }

  /** The entry as Xen reads it. */
  entry(ref: number): { flags: number; domid: number; frame: number } {
    if (!this.valid(ref)) throw new RangeError(`grant ref ${ref} is outside d${this.domid}'s table (0..${this.capacity - 1})`);
    const [mfn, slot] = this.where(ref);
    const lo = this.mem.readLo(mfn, slot);
    return { flags: lo & 0xffff, domid: lo >>> 16, frame: this.mem.readHi(mfn, slot) };
  }
}

/**
 * One domain's grant table as Xen keeps it (struct grant_table, xen/common/grant_table.c): the
 * shared frames holding its v1 entries, the active entries of the refs others have pinned, and its
 * maptrack (the mappings it made of others' grants, indexed by handle).
 */
import { GRANT_ENTRIES_PER_FRAME } from '../../api/public/grant_table.js';
import type { MachineMemory } from '../../machine/memory.js';

/** struct active_grant_entry: pin counts by kind, the pinning domain, the frame. */
export interface Active {
  hostR: number;
  hostW: number;
  devR: number;
  devW: number;
  mapper: number;
  mfn: number;
  /**
   * Whether the granter was translated when the entry was first pinned (a writable host mapping of
   * an HVM granter's frame takes no type reference: gnttab_host_mapping_get_page_type). Kept here
   * because the granter may be gone when the last mapping is undone.
   */
  translated?: boolean;
}

export interface MaptrackEntry {
  flags: number;
  granter: number;
  ref: number;
  mfn: number;
  /** The host_addr given at map time; undefined when the caller gave none (the lab's "only recorded"). */
  hostAddr: number | undefined;
  /** Whether the host mapper installed an entry at hostAddr (false: recorded only, no mapper set). */
  installed: boolean;
}

/** A domain's grant table: its shared frames, active entries, and its maptrack (as a mapper). */
export class GrantTable {
  readonly frames: number[] = [];
  readonly active = new Map<number, Active>();
  readonly maptrack: (MaptrackEntry | null)[] = [];
  /** Free maptrack handles (lowest reused first). */
  private readonly freeHandles: number[] = [];
  /** Set when the domain is killed while others still map its grants: the entries, copied out. */
  zombie: Uint32Array | null = null;

  constructor(
    readonly domid: number,
    readonly maxFrames: number,
    private readonly mem: MachineMemory,
  ) {}

  get nrEntries(): number {
    return this.frames.length * GRANT_ENTRIES_PER_FRAME;
  }

  /** The low word of entry `ref`: flags | domid << 16. */
  private lo(ref: number): number {
    if (this.zombie) return this.zombie[ref * 2]!;
    return this.mem.readLo(this.frames[(ref / GRANT_ENTRIES_PER_FRAME) | 0]!, ref % GRANT_ENTRIES_PER_FRAME);
  }

  flags(ref: number): number {
    return this.lo(ref) & 0xffff;
  }

  domid_(ref: number): number {
    return this.lo(ref) >>> 16;
  }

  frame(ref: number): number {
    if (this.zombie) return this.zombie[ref * 2 + 1]!;
    return this.mem.readHi(this.frames[(ref / GRANT_ENTRIES_PER_FRAME) | 0]!, ref % GRANT_ENTRIES_PER_FRAME);
  }

  /**
   * Whether entry `ref` still holds what Xen last wrote there ('xen'), was written by its guest
   * since ('guest': the entries are the guest's own memory, and a hostile guest may write any of
   * them, pinned or not), or was never written by Xen ('never'). The auditor checks the shared
   * flags only where Xen's write is still there: what the guest writes afterwards is its business.
   */
  lastWriter(ref: number): 'xen' | 'guest' | 'never' {
    const w = this.xenWrote.get(ref);
    if (w === undefined) return 'never';
    return w === this.lo(ref) ? 'xen' : 'guest';
  }

  /** The low word Xen last wrote to each entry it touched (setFlags). */
  private readonly xenWrote = new Map<number, number>();

  /** Xen's guest_cmpxchg on the flags half-word, as a plain write (the lab runs one op at a time). */
  setFlags(ref: number, flags: number): void {
    const lo = ((this.lo(ref) & 0xffff0000) | (flags & 0xffff)) >>> 0;
    this.xenWrote.set(ref, lo);
    if (this.zombie) {
      this.zombie[ref * 2] = lo;
      return;
    }
    const mfn = this.frames[(ref / GRANT_ENTRIES_PER_FRAME) | 0]!;
    const slot = ref % GRANT_ENTRIES_PER_FRAME;
    this.mem.write(mfn, slot, lo, this.mem.readHi(mfn, slot));
  }

  /** Xen's write of an entry's frame field (gnttab_transfer: the frame given to the transferee). */
  setFrame(ref: number, frame: number): void {
    if (this.zombie) {
      this.zombie[ref * 2 + 1] = frame >>> 0;
      return;
    }
    const mfn = this.frames[(ref / GRANT_ENTRIES_PER_FRAME) | 0]!;
    const slot = ref % GRANT_ENTRIES_PER_FRAME;
    this.mem.write(mfn, slot, this.mem.readLo(mfn, slot), frame >>> 0);
  }

  /** Copies the entries out of the frames, which domain_kill is about to free. */
  freeze(): void {
    const z = new Uint32Array(this.nrEntries * 2);
    for (let ref = 0; ref < this.nrEntries; ref++) {
      z[ref * 2] = this.lo(ref);
      z[ref * 2 + 1] = this.frame(ref);
    }
    this.zombie = z;
  }

  /** get_maptrack_handle: a free handle, or -1 when the maptrack limit is reached. */
  allocHandle(limit: number): number {
    if (this.freeHandles.length > 0) {
      this.freeHandles.sort((a, b) => b - a);
      return this.freeHandles.pop()!;
    }
    if (this.maptrack.length >= limit) return -1;
    this.maptrack.push(null);
    return this.maptrack.length - 1;
  }

  putHandle(handle: number): void {
    this.maptrack[handle] = null;
    this.freeHandles.push(handle);
  }

  liveMappings(): number {
    let n = 0;
    for (const m of this.maptrack) if (m) n++;
    return n;
  }
}

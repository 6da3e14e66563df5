/**
 * Machine memory: 4 KiB frames, backed sparsely. A frame that was never written has no backing
 * and reads as zeros, so a multi-GiB (or 1 TiB) machine costs only the frames its page tables
 * (and anything else that stores data) actually use. A frame is 1024 32-bit words: a page-table
 * entry at index i is words 2i (low half) and 2i+1 (high half), little-endian as on x86-64.
 *
 * Backing is found through a two-level directory (a chunk of FRAME_CHUNK frames, then the frame),
 * as Xen's own frame table is mapped only where there is RAM: a flat JS array of every frame
 * would cost 8 bytes a frame up front (2 GiB for 1 TiB) and, past ~10^5 slots, V8 keeps such an
 * array as a hash table, which the walker would then probe on every reference. The directory is
 * an Int32Array of chunk numbers (0: the shared empty chunk) and the chunks lie end to end in one
 * array, `slots`: a read is one typed-array load and one array load, with no branch for a missing
 * chunk, and the directory costs 4 bytes per 4 MiB.
 */
import { ENTRIES_PER_TABLE } from '../base/types.js';

export const WORDS_PER_FRAME = 1024;
/** log2 of the frames per directory chunk (4 MiB of machine memory per chunk). */
export const FRAME_CHUNK_SHIFT = 10;
export const FRAME_CHUNK = 1 << FRAME_CHUNK_SHIFT;
export const FRAME_CHUNK_MASK = FRAME_CHUNK - 1;
const CHUNK_MASK = FRAME_CHUNK_MASK;


export class MachineMemory {
  readonly nrFrames: number;
  /** Chunk number of each FRAME_CHUNK frames: 0 (the empty chunk) until a frame in it is first written. */
  readonly dir: Int32Array;
  /**
   * The chunks' slots end to end (chunk 0 is empty and stays so). A frame's backing, or undefined
   * for all zeros: slots[(dir[mfn >> FRAME_CHUNK_SHIFT] << FRAME_CHUNK_SHIFT) | (mfn & FRAME_CHUNK_MASK)].
   * Public so the walker can read without a call.
   */
  readonly slots: (Uint32Array | undefined)[];
  private chunksUsed = 1;
  /** Frames with backing (for reports and tests). */
  backed = 0;
  /**
   * Log-dirty (Xen's shadow_mode_log_dirty, in hardware terms a write log): when on, every frame
   * written through this interface (write, orLo, scrub, copyFrame) since the last clearDirty() is
   * in `dirty`; nothing writes frames around it.
   */
  private dirtyLog: Set<number> | null = null;
  /**
   * A second write log, for live migration (hv/mm/logDirty.ts): the frames Xen writes on a
   * domain's behalf (paging_mark_dirty from mmu_update, emulated and A/D writes, page copies),
   * kept apart from the auditor's `dirty`.
   */
  private writeLog: Set<number> | null = null;
  /**
   * A write watch (a memory checker's pre-images): `before(mfn)` runs once per frame, before the
   * first write through this interface after watchWrites() (a view from bytes() held by a ring's
   * owner writes around it, but that frame is in use, not one a checker expects unchanged).
   */
  private watchBefore: ((mfn: number) => void) | null = null;
  private readonly watched = new Set<number>();

  constructor(nrFrames: number) {
    this.nrFrames = nrFrames;
    this.dir = new Int32Array(Math.ceil(nrFrames / FRAME_CHUNK));
    // Grown by push, never with holes: a packed array stays in V8's fast elements mode.
    this.slots = [];
    for (let i = 0; i < FRAME_CHUNK; i++) this.slots.push(undefined);
  }

  private slot(mfn: number): number {
    return (this.dir[mfn >>> FRAME_CHUNK_SHIFT]! << FRAME_CHUNK_SHIFT) | (mfn & CHUNK_MASK);
  }

  /** The backing of `mfn`, or undefined (all zeros; also for an mfn outside memory). */
  frame(mfn: number): Uint32Array | undefined {
    if (!(mfn >= 0 && mfn < this.nrFrames)) return undefined;
    return this.slots[this.slot(mfn)];
  }

  private backing(mfn: number): Uint32Array {
    if (this.dirtyLog !== null) this.dirtyLog.add(mfn);
    if (this.writeLog !== null) this.writeLog.add(mfn);
    if (this.watchBefore !== null && !this.watched.has(mfn)) this.firstWrite(mfn);
    let f = this.frame(mfn);
    if (f === undefined) {
      if (mfn < 0 || mfn >= this.nrFrames || !Number.isInteger(mfn)) {
        throw new RangeError(`mfn ${mfn} is outside machine memory (0..${this.nrFrames - 1})`);
      }
      const ci = mfn >>> FRAME_CHUNK_SHIFT;
      if (this.dir[ci] === 0) {
        this.dir[ci] = this.chunksUsed++;
        for (let i = 0; i < FRAME_CHUNK; i++) this.slots.push(undefined);
      }
      f = new Uint32Array(WORDS_PER_FRAME);
      this.slots[this.slot(mfn)] = f;
      this.backed++;
    }
    return f;
  }

  /** The frame's words, backed (allocated on first use), for writers that work on whole pages (DMA, shared rings). */
  frameForWrite(mfn: number): Uint32Array {
    return this.backing(mfn);
  }

  /** A byte view of the frame (backed): what a kernel's direct map or a mapped grant gives. */
  bytes(mfn: number): DataView {
    const f = this.backing(mfn);
    return new DataView(f.buffer, f.byteOffset, WORDS_PER_FRAME * 4);
  }

  readLo(mfn: number, index: number): number {
    const f = this.frame(mfn);
    return f === undefined ? 0 : f[index << 1]!;
  }

  readHi(mfn: number, index: number): number {
    const f = this.frame(mfn);
    return f === undefined ? 0 : f[(index << 1) | 1]!;
  }

  /** Writes a 64-bit entry given as two unsigned 32-bit halves. */
  write(mfn: number, index: number, lo: number, hi: number): void {
    const f = this.backing(mfn);
    f[index << 1] = lo;
    f[(index << 1) | 1] = hi;
  }

  /** Sets bits in the low half of an entry (the walker's A/D updates). */
  orLo(mfn: number, index: number, bits: number): void {
    const f = this.backing(mfn);
    f[index << 1] = (f[index << 1]! | bits) >>> 0;
  }

  /** Zeroes a frame and drops its backing: a freshly scrubbed frame costs nothing again. */
  scrub(mfn: number): void {
    if (this.frame(mfn) !== undefined) {
      if (this.watchBefore !== null && !this.watched.has(mfn)) this.firstWrite(mfn);
      if (this.dirtyLog !== null) this.dirtyLog.add(mfn);
      if (this.writeLog !== null) this.writeLog.add(mfn);
      this.slots[this.slot(mfn)] = undefined;
      this.backed--;
    }
  }

  /**
   * Moves a frame's content to `dst` and leaves `src` empty: the backing itself changes frames, so
   * a view of it held by whoever uses the page (a driver's ring page) now sees `dst` (the lab's
   * stand-in for the page's virtual address, which follows a relocated page).
   */
  moveFrame(dst: number, src: number): void {
    const s = this.frame(src);
    if (s === undefined || dst === src) {
      if (dst !== src) this.scrub(dst);
      return;
    }
    this.backing(dst);
    this.slots[this.slot(dst)] = s;
    if (this.watchBefore !== null && !this.watched.has(src)) this.firstWrite(src);
    if (this.dirtyLog !== null) this.dirtyLog.add(src);
    if (this.writeLog !== null) this.writeLog.add(src);
    this.slots[this.slot(src)] = undefined;
    this.backed--;
  }

  copyFrame(dst: number, src: number): void {
    const s = this.frame(src);
    if (s === undefined) this.scrub(dst);
    else this.backing(dst).set(s);
  }

  /** True if every entry of the frame is zero. */
  isZero(mfn: number): boolean {
    const f = this.frame(mfn);
    if (f === undefined) return true;
    for (let i = 0; i < WORDS_PER_FRAME; i++) if (f[i] !== 0) return false;
    return true;
  }

  /** Indices of non-zero entries (for validation and the auditor: only present entries matter). */
  nonZeroEntries(mfn: number, out: number[] = []): number[] {
    out.length = 0;
    const f = this.frame(mfn);
    if (f === undefined) return out;
    for (let i = 0; i < ENTRIES_PER_TABLE; i++) {
      if (f[i << 1] !== 0 || f[(i << 1) | 1] !== 0) out.push(i);
    }
    return out;
  }

  /** Calls fn for every backed frame, in mfn order (visits allocated chunks only). */
  forEachBacked(fn: (mfn: number, words: Uint32Array) => void): void {
    for (let ci = 0; ci < this.dir.length; ci++) {
      if (this.dir[ci] === 0) continue;
      const base = this.dir[ci]! << FRAME_CHUNK_SHIFT;
      for (let i = 0; i < FRAME_CHUNK; i++) {
        const f = this.slots[base | i];
        if (f !== undefined) fn(ci * FRAME_CHUNK + i, f);
      }
    }
  }

  /** Starts (or restarts) logging which frames are written. */
  /** Starts a write watch: `before(mfn)` is called before the first write to each frame from now. */
  watchWrites(before: (mfn: number) => void): void {
    this.watched.clear();
    this.watchBefore = before;
  }

  private firstWrite(mfn: number): void {
    this.watched.add(mfn);
    this.watchBefore!(mfn);
  }

  startDirtyLog(): void {
    this.dirtyLog = new Set();
  }

  /** Frames written since the log started or was last cleared; null when not logging. */
  get dirty(): ReadonlySet<number> | null {
    return this.dirtyLog;
  }

  clearDirty(): void {
    this.dirtyLog?.clear();
  }

  /** Starts the migration write log (see `writeLog`); a running one starts afresh. */
  startWriteLog(): void {
    this.writeLog = new Set();
  }

  /** The frames written since the write log started or was last taken, and a fresh log; [] when off. */
  takeWriteLog(): number[] {
    const w = this.writeLog;
    if (w === null) return [];
    this.writeLog = new Set();
    return [...w];
  }

  stopWriteLog(): void {
    this.writeLog = null;
  }
}

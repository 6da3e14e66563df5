/**
 * Machine memory: 4 KiB frames, backed sparsely. A frame that was never written has no backing
 * and reads as zeros, so a multi-GiB machine costs only the frames its page tables (and anything
 * else that stores data) actually use. A frame is 1024 32-bit words: a page-table entry at index i
 * is words 2i (low half) and 2i+1 (high half), little-endian as on x86-64.
 */
import { ENTRIES_PER_TABLE } from '../base/types.js';

export const WORDS_PER_FRAME = 1024;

export class MachineMemory {
  readonly nrFrames: number;
  /** Backing per mfn; undefined means all zeros. Public so the walker can read without a call. */
  readonly frames: (Uint32Array | undefined)[];
  /** Frames with backing (for reports and tests). */
  backed = 0;

  constructor(nrFrames: number) {
    this.nrFrames = nrFrames;
    this.frames = new Array<Uint32Array | undefined>(nrFrames);
  }

  private backing(mfn: number): Uint32Array {
    let f = this.frames[mfn];
    if (f === undefined) {
      if (mfn < 0 || mfn >= this.nrFrames || !Number.isInteger(mfn)) {
        throw new RangeError(`mfn ${mfn} is outside machine memory (0..${this.nrFrames - 1})`);
      }
      f = new Uint32Array(WORDS_PER_FRAME);
      this.frames[mfn] = f;
      this.backed++;
    }
    return f;
  }

  readLo(mfn: number, index: number): number {
    const f = this.frames[mfn];
    return f === undefined ? 0 : f[index << 1]!;
  }

  readHi(mfn: number, index: number): number {
    const f = this.frames[mfn];
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
    if (this.frames[mfn] !== undefined) {
      this.frames[mfn] = undefined;
      this.backed--;
    }
  }

  copyFrame(dst: number, src: number): void {
    const s = this.frames[src];
    if (s === undefined) this.scrub(dst);
    else this.backing(dst).set(s);
  }

  /** True if any entry of the frame is non-zero. */
  isZero(mfn: number): boolean {
    const f = this.frames[mfn];
    if (f === undefined) return true;
    for (let i = 0; i < WORDS_PER_FRAME; i++) if (f[i] !== 0) return false;
    return true;
  }

  /** Indices of non-zero entries (for validation and the auditor: only present entries matter). */
  nonZeroEntries(mfn: number, out: number[] = []): number[] {
    out.length = 0;
    const f = this.frames[mfn];
    if (f === undefined) return out;
    for (let i = 0; i < ENTRIES_PER_TABLE; i++) {
      if (f[i << 1] !== 0 || f[(i << 1) | 1] !== 0) out.push(i);
    }
    return out;
  }
}

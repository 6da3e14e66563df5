/**
 * The data cache every page-walk reference goes through. Page walkers load entries through the
 * cache hierarchy like any other load (Intel SDM Vol. 3A §4.10.3 leaves caching of walk loads to
 * the memory types, which are write-back for page tables), so the cost of a walk depends on
 * locality: the 8 entries of one 64-byte line cost one miss between them, and the upper-level
 * entries that every walk shares stay cached.
 *
 * Set-associative, true LRU, tags are line numbers (machine address / 64).
 */
import { LINES_PER_FRAME } from './types.js';

export class DataCache {
  readonly sets: number;
  readonly ways: number;
  /** sets - 1 when sets is a power of two, else -1 (index by modulo). */
  private readonly setMask: number;
  /** Line number per way; -1 = empty. */
  private readonly tag: Float64Array;
  private readonly stamp: Float64Array;
  private tick = 0;

  constructor(sizeKiB: number, ways: number) {
    const lines = Math.floor((sizeKiB * 1024) / 64);
    if (ways < 1 || lines < ways) {
      throw new RangeError(`data cache of ${sizeKiB} KiB cannot have ${ways} ways of 64-byte lines`);
    }
    this.ways = ways;
    this.sets = Math.floor(lines / ways);
    this.setMask = (this.sets & (this.sets - 1)) === 0 ? this.sets - 1 : -1;
    this.tag = new Float64Array(this.sets * ways).fill(-1);
    this.stamp = new Float64Array(this.sets * ways);
  }

  /** Line number of the entry `index` (0..511) of table frame `mfn`. */
  static line(mfn: number, index: number): number {
    return mfn * LINES_PER_FRAME + (index >>> 3);
  }

  private setBase(line: number): number {
    return (this.setMask >= 0 ? line & this.setMask : line % this.sets) * this.ways;
  }

  /** One load of `line`: true on a hit. A miss fills the line, evicting the set's LRU way. */
  access(line: number): boolean {
    const base = this.setBase(line);
    const end = base + this.ways;
    const tag = this.tag;
    let victim = base;
    let oldest = Infinity;
    for (let i = base; i < end; i++) {
      const t = tag[i]!;
      if (t === line) {
        this.stamp[i] = ++this.tick;
        return true;
      }
      // Empty ways have stamp 0 and so are taken before any used way.
      const s = t < 0 ? -1 : this.stamp[i]!;
      if (s < oldest) {
        oldest = s;
        victim = i;
      }
    }
    tag[victim] = line;
    this.stamp[victim] = ++this.tick;
    return false;
  }

  /** True if `line` is cached; changes nothing (for the reference walk's trace). */
  peek(line: number): boolean {
    const base = this.setBase(line);
    for (let i = base; i < base + this.ways; i++) if (this.tag[i] === line) return true;
    return false;
  }

  flush(): void {
    this.tag.fill(-1);
    this.stamp.fill(0);
  }
}

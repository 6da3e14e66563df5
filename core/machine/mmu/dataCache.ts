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
  declare readonly sets: number;
  declare readonly ways: number;
  /** sets - 1 when sets is a power of two, else -1 (index by modulo). */
  declare readonly setMask: number;
  /**
   * Line number per way, each set kept in LRU order: the most recently used line first, the
   * victim last; -1 = empty. A hit moves its line to the front, so the common case — the line
   * hit last time in its set — costs one compare and no write, and no timestamps are needed.
   */
  declare private readonly tag: Float64Array;
  /**
   * Each set's most recently used line (= tag[set * ways]), so that the walker can test the common
   * case inline: `front[set] === line` is a hit that changes nothing; else accessBehindFront().
   */
  declare readonly front: Float64Array;
  declare readonly sizeKiB: number;

  constructor(sizeKiB: number, ways: number) {
    this.sizeKiB = sizeKiB;
    const lines = Math.floor((sizeKiB * 1024) / 64);
    if (ways < 1 || lines < ways) {
      throw new RangeError(`data cache of ${sizeKiB} KiB cannot have ${ways} ways of 64-byte lines`);
    }
    this.ways = ways;
    this.sets = Math.floor(lines / ways);
    this.setMask = (this.sets & (this.sets - 1)) === 0 ? this.sets - 1 : -1;
    this.tag = new Float64Array(this.sets * ways).fill(-1);
    this.front = new Float64Array(this.sets).fill(-1);
  }

  /** Line number of the entry `index` (0..511) of table frame `mfn`. */
  static line(mfn: number, index: number): number {
    return mfn * LINES_PER_FRAME + (index >>> 3);
  }

  /** One load of `line`: true on a hit. A miss fills the line, evicting the set's LRU way. */
  access(line: number): boolean {
    const set = this.setMask >= 0 ? line & this.setMask : line % this.sets;
    return this.front[set] === line || this.accessBehindFront(line, set);
  }

  /** access() of a `line` of set `set` that is not front[set]. */
  accessBehindFront(line: number, set: number): boolean {
    const base = set * this.ways;
    const tag = this.tag;
    const end = base + this.ways;
    let i = base + 1;
    while (i < end && tag[i] !== line) i++;
    const hit = i < end;
    // Move to the front: the ways before it age by one; on a miss the last (LRU) one falls out.
    if (!hit) i = end - 1;
    for (; i > base; i--) tag[i] = tag[i - 1]!;
    tag[base] = line;
    this.front[set] = line;
    return hit;
  }

  /** True if `line` is cached; changes nothing (for the reference walk's trace). */
  peek(line: number): boolean {
    const base = (this.setMask >= 0 ? line & this.setMask : line % this.sets) * this.ways;
    for (let i = base; i < base + this.ways; i++) if (this.tag[i] === line) return true;
    return false;
  }

  /** An independent copy in the same state (the reference walk replays a walk on it). */
  clone(): DataCache {
    const c = new DataCache(this.sizeKiB, this.ways);
    c.tag.set(this.tag);
    c.front.set(this.front);
    return c;
  }

  flush(): void {
    this.tag.fill(-1);
    this.front.fill(-1);
  }
}

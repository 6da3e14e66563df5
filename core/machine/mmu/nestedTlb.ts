/**
 * The nested TLB (Bhargava et al., ASPLOS 2008, §4.2): caches guest-physical → machine
 * translations for the walker, so a guest-table address (or the final guest-physical address)
 * whose gfn hits skips its whole EPT walk. Intel calls these "guest-physical mappings" and
 * associates them with the EPT in use (SDM Vol. 3C §29.4), so entries are tagged by the EPT
 * root; INVVPID leaves them alone and INVEPT drops them.
 *
 * An entry maps the whole EPT leaf it was walked to, as a guest-physical mapping does (SDM Vol.
 * 3C §29.4.1): a 2 MiB or 1 GiB EPT page is one entry for all its gfns. The tag is the gfn shifted
 * by the leaf's size; an entry keeps the EPT rights (R/W/X ANDed over the levels) and the leaf's
 * level, which the walker needs to size the combined TLB entry. A lookup probes the 4 KiB, then
 * (once a large leaf was cached) the 2 MiB and 1 GiB tags. Set-associative, true LRU, typed arrays.
 * The walker applies its fills when a walk ends, so a walk never hits what it cached itself.
 */
const NTLB_RIGHTS = 0x07;
const NTLB_LEVEL_SHIFT = 3;

export class NestedTlb {
  declare enabled: boolean;
  declare readonly sets: number;
  declare readonly ways: number;
  /** sets - 1 when sets is a power of two, else -1 (index by modulo). */
  declare private readonly setMask: number;
  declare private readonly entries: number;
  declare private readonly gfn: Float64Array;
  /** EPT root (mfn) the entry was walked from. */
  declare private readonly root: Int32Array;
  declare private readonly mfn: Int32Array;
  /** EPT rights (bits 0-2) and leaf level (bits 3-5). */
  declare private readonly info: Uint8Array;
  /**
   * Flush generation the entry was filled in: it is valid only while that is `epoch`, so a flush
   * (INVEPT, or every cold-walk probe) is one increment, whatever was cached.
   */
  declare private readonly born: Float64Array;
  declare private readonly stamp: Float64Array;
  private epoch = 1;
  private tick = 0;
  /** Fills of 2 MiB / 1 GiB leaves since the last flush (none: a lookup probes the 4 KiB tag only). */
  private bigLeaves = 0;
  /** Fills since the last flush (none: every lookup misses). */
  private fills = 0;
  /** Set by a hit: machine frame, EPT rights, EPT leaf level. */
  hitMfn = 0;
  hitRights = 0;
  hitLevel = 1;

  constructor(config: { enabled: boolean; entries: number; ways: number }) {
    this.enabled = config.enabled;
    const ways = Math.max(1, Math.min(config.ways, config.entries));
    this.ways = ways;
    this.sets = Math.max(1, Math.floor(config.entries / ways));
    this.setMask = (this.sets & (this.sets - 1)) === 0 ? this.sets - 1 : -1;
    const n = this.sets * ways;
    this.entries = n;
    this.gfn = new Float64Array(n).fill(-1);
    this.root = new Int32Array(n);
    this.mfn = new Int32Array(n);
    this.info = new Uint8Array(n);
    this.born = new Float64Array(n);
    this.stamp = new Float64Array(n);
  }

  private setBase(gfn: number): number {
    return (this.setMask >= 0 ? gfn & this.setMask : gfn % this.sets) * this.ways;
  }

  /**
   * True if `gfn` is cached for `root` with every right in `need` (hit fields set). An entry with
   * fewer rights misses (the EPT may have gained them since; the walk will tell) and the fill
   * replaces it.
   */
  lookup(root: number, gfn: number, need: number): boolean {
    // Empty since the last flush (every cold walk): nothing to scan.
    if (this.fills === 0) return false;
    if (this.probe(root, gfn, 1, need, gfn)) return true;
    if (this.bigLeaves === 0) return false;
    return this.probe(root, Math.floor(gfn / 512), 2, need, gfn) || this.probe(root, Math.floor(gfn / 262144), 3, need, gfn);
  }

  /** Looks up tag `tag` of a leaf at `level` (the tag is gfn >> 9·(level−1)). */
  private probe(root: number, tag: number, level: number, need: number, gfn: number): boolean {
    const key = tag * 4 + level;
    const base = this.setBase(tag);
    const end = base + this.ways;
    const epoch = this.epoch;
    for (let i = base; i < end; i++) {
      if (this.born[i] !== epoch || this.gfn[i] !== key || this.root[i] !== root) continue;
      const info = this.info[i]!;
      // Fewer rights than needed: a miss; the fill replaces this entry (slotFor finds it).
      if ((info & need) !== need) return false;
      this.stamp[i] = ++this.tick;
      this.hitMfn = this.mfn[i]! + (gfn - tag * (level === 1 ? 1 : level === 2 ? 512 : 262144));
      this.hitRights = info & NTLB_RIGHTS;
      this.hitLevel = info >>> NTLB_LEVEL_SHIFT;
      return true;
    }
    return false;
  }


  /** The slot for (root, key) in the set of `tag`: its current entry, else an empty way, else the LRU way. */
  private slotFor(root: number, key: number, tag: number): number {
    const base = this.setBase(tag);
    const end = base + this.ways;
    for (let i = base; i < end; i++) {
      if (this.gfn[i] === key && this.root[i] === root && this.born[i] === this.epoch) return i;
    }
    return this.victim(base, end);
  }

  /** An empty way of the set, else its least recently used one. */
  private victim(base: number, end: number): number {
    const epoch = this.epoch;
    let victim = base;
    let oldest = Infinity;
    for (let i = base; i < end; i++) {
      if (this.born[i] !== epoch) return i;
      if (this.stamp[i]! < oldest) {
        oldest = this.stamp[i]!;
        victim = i;
      }
    }
    return victim;
  }

  /** Whether lookup would hit; changes nothing. */
  peek(root: number, gfn: number, need: number): boolean {
    if (!this.enabled) return false;
    for (let level = 1; level <= 3; level++) {
      const tag = Math.floor(gfn / 2 ** (9 * (level - 1)));
      const key = tag * 4 + level;
      const base = this.setBase(tag);
      for (let i = base; i < base + this.ways; i++) {
        if (this.gfn[i] === key && this.root[i] === root && this.born[i] === this.epoch) return (this.info[i]! & need) === need;
      }
    }
    return false;
  }

  /** Caches the translation of `gfn` to `mfn`, walked to an EPT leaf at `level`: the whole leaf. */
  fill(root: number, gfn: number, mfn: number, rights: number, level: number): void {
    const span = level === 1 ? 1 : level === 2 ? 512 : 262144;
    const tag = Math.floor(gfn / span);
    const key = tag * 4 + level;
    const victim = this.slotFor(root, key, tag);
    if (level > 1) this.bigLeaves++;
    this.fills++;
    mfn -= gfn - tag * span;
    this.gfn[victim] = key;
    this.root[victim] = root;
    this.mfn[victim] = mfn;
    this.info[victim] = (rights & NTLB_RIGHTS) | (level << NTLB_LEVEL_SHIFT);
    this.born[victim] = this.epoch;
    this.stamp[victim] = ++this.tick;
  }

  /** INVEPT: drops every entry. */
  flush(): void {
    this.epoch++;
    this.bigLeaves = 0;
    this.fills = 0;
  }

  /** An independent copy in the same state (the reference walk replays a walk on it). */
  clone(): NestedTlb {
    const c = new NestedTlb({ enabled: this.enabled, entries: this.entries, ways: this.ways });
    c.gfn.set(this.gfn);
    c.root.set(this.root);
    c.mfn.set(this.mfn);
    c.info.set(this.info);
    c.born.set(this.born);
    c.stamp.set(this.stamp);
    c.epoch = this.epoch;
    c.tick = this.tick;
    c.bigLeaves = this.bigLeaves;
    c.fills = this.fills;
    return c;
  }

  count(): number {
    let n = 0;
    for (let i = 0; i < this.entries; i++) if (this.born[i] === this.epoch) n++;
    return n;
  }
}

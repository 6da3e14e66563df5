/**
 * A TLB for one page size (Intel SDM Vol. 3A §4.10.2): set-associative, true LRU, entries tagged
 * by VPID (Vol. 3C §29.1, §29.4: translations are associated with the current VPID) and PCID (§4.10.1).
 * An Mmu holds one per page size — 4 KiB, 2 MiB, 1 GiB — as recent cores split their STLBs.
 *
 * A global entry (G set in the leaf, CR4.PGE on) belongs to every PCID of its VPID (§4.10.2.4):
 * it is stored with the tag globalTag(vpid) = ~vpid, which no (vpid, pcid) tag can equal, so a
 * lookup matches it with one more integer compare and no flag test.
 *
 * All state is in typed arrays; a lookup allocates nothing. Flushes are cheap when few entries
 * were filled since the last full flush (a cold-walk probe flushes before every walk): the TLB
 * logs the slots it fills and, until the log overflows, a flush visits only those.
 */

/** Entry rights and state, as cached from the walk. */
export const TLB_RW = 1 << 0;
export const TLB_US = 1 << 1;
export const TLB_NX = 1 << 2;
/** D was set in the leaf when the entry was cached: a write through it needs no walk. */
export const TLB_DIRTY = 1 << 3;
/** Came from a nested (EPT) translation: a combined mapping that INVEPT drops (SDM Vol. 3C §29.4). */
export const TLB_NESTED = 1 << 4;
/**
 * A splinter: the guest's leaf maps a 2 MiB (or 1 GiB) page but the entry is smaller because the
 * host page is. INVLPG of any address in the guest's page must drop every splinter of it (SDM
 * §4.10.2.3: "an execution of INVLPG for a linear address on a page larger than 4 KBytes
 * invalidates any and all smaller-page TLB entries for the translation of that page").
 */
export const TLB_SPLIT_2M = 1 << 5;
export const TLB_SPLIT_1G = 1 << 6;

/** Tag of an entry cached for `pcid` of `vpid` (vpid < 2^16, pcid < 2^12, SDM sizes). */
export function asidTag(vpid: number, pcid: number): number {
  return (vpid << 12) | pcid;
}

/** Tag of a global entry of `vpid`: negative, so it never equals an asidTag. */
export function globalTag(vpid: number): number {
  return ~vpid;
}

/** Tag of an empty slot: equals no asidTag and no globalTag (vpid < 2^16). */
export const INVALID_TAG = -0x80000000;

/** Slots a flush can visit before it falls back to scanning the whole TLB. */
const FILL_LOG = 64;

export class Tlb {
  /** log2 of the page size this TLB holds. */
  declare readonly pageShift: number;
  declare readonly pageSize: number;
  /** pageSize - 1: offset of an address within its page (fits in 31 bits, so `va & offsetMask` is exact). */
  declare readonly offsetMask: number;
  declare readonly sets: number;
  declare readonly ways: number;
  declare private readonly setMask: number;
  /** Virtual page number (va / pageSize) per slot. */
  declare readonly vpn: Float64Array;
  /** asidTag, globalTag or INVALID_TAG per slot. */
  declare readonly tag: Int32Array;
  /** Machine frame of the first 4 KiB of the page (machine memory is below 2^43 bytes). */
  declare readonly mfn: Int32Array;
  /** TLB_* per slot. */
  declare readonly flags: Uint8Array;
  /** LRU stamp per slot: the tick of its last use (Mmu.hitRun updates these in its loop). */
  declare readonly stamp: Float64Array;
  /** Uses so far; the next use is stamped ++tick. */
  tick = 0;
  private readonly log = new Int32Array(FILL_LOG);
  private logged = 0;
  private logOverflow = false;
  /** Splinters filled since the last full flush (an upper bound): INVLPG scans for them only if any. */
  splinters = 0;
  /** Valid entries: a TLB with none (the 1 GiB one, mostly) is not searched on a miss. */
  live = 0;

  constructor(entries: number, ways: number, pageShift: number) {
    const sets = Math.floor(entries / ways);
    if (ways < 1 || sets < 1 || (sets & (sets - 1)) !== 0) {
      throw new RangeError(`TLB of ${entries} entries, ${ways}-way: the number of sets (entries/ways) must be a power of two`);
    }
    this.pageShift = pageShift;
    this.pageSize = 2 ** pageShift;
    this.offsetMask = this.pageSize - 1;
    this.sets = sets;
    this.ways = ways;
    this.setMask = sets - 1;
    const n = sets * ways;
    this.vpn = new Float64Array(n).fill(-1);
    this.tag = new Int32Array(n).fill(INVALID_TAG);
    this.mfn = new Int32Array(n);
    this.flags = new Uint8Array(n);
    this.stamp = new Float64Array(n);
  }

  get size(): number {
    return this.vpn.length;
  }

  /**
   * Slot caching `vpn` for tag `asid` (or the global tag `gtag` of the same vpid), marked most
   * recently used; -1 on a miss. The hit path of every access: keep it small.
   */
  lookup(vpn: number, asid: number, gtag: number): number {
    const ways = this.ways;
    const base = (vpn & this.setMask) * ways;
    const end = base + ways;
    const v = this.vpn;
    for (let i = base; i < end; i++) {
      if (v[i] === vpn) {
        const t = this.tag[i]!;
        if (t === asid || t === gtag) {
          this.stamp[i] = ++this.tick;
          return i;
        }
      }
    }
    return -1;
  }

  /** Marks slot `i` most recently used, as a lookup that finds it does. */
  touch(i: number): void {
    this.stamp[i] = ++this.tick;
  }

  /** Like lookup, without touching the LRU state. */
  peek(vpn: number, asid: number, gtag: number): number {
    const base = (vpn & this.setMask) * this.ways;
    for (let i = base; i < base + this.ways; i++) {
      if (this.vpn[i] === vpn && (this.tag[i] === asid || this.tag[i] === gtag)) return i;
    }
    return -1;
  }

  /**
   * Caches a translation after a lookup of it missed (so no entry holds this vpn and tag): in an
   * empty way, else in the least recently used one.
   */
  fill(vpn: number, tag: number, mfn: number, flags: number): void {
    const ways = this.ways;
    const base = (vpn & this.setMask) * ways;
    let victim = base;
    let oldest = Infinity;
    for (let i = base; i < base + ways; i++) {
      if (this.tag[i] === INVALID_TAG) {
        victim = i;
        break;
      }
      if (this.stamp[i]! < oldest) {
        oldest = this.stamp[i]!;
        victim = i;
      }
    }
    if (this.tag[victim] === INVALID_TAG) this.live++;
    this.vpn[victim] = vpn;
    this.tag[victim] = tag;
    this.mfn[victim] = mfn;
    this.flags[victim] = flags;
    this.stamp[victim] = ++this.tick;
    if (this.logged < FILL_LOG) this.log[this.logged++] = victim;
    else this.logOverflow = true;
    if (flags & (TLB_SPLIT_2M | TLB_SPLIT_1G)) this.splinters++;
  }

  invalidate(i: number): void {
    if (this.tag[i] === INVALID_TAG) return;
    this.vpn[i] = -1;
    this.tag[i] = INVALID_TAG;
    this.live--;
  }

  /** INVLPG: the entry for `vpn` of the current PCID, and the global one of its VPID (SDM §4.10.4.1). */
  invalidatePage(vpn: number, asid: number, gtag: number): void {
    const base = (vpn & this.setMask) * this.ways;
    for (let i = base; i < base + this.ways; i++) {
      if (this.vpn[i] === vpn && (this.tag[i] === asid || this.tag[i] === gtag)) this.invalidate(i);
    }
  }

  /**
   * INVLPG of `va` on a guest large page: drops the splinters of tag `asid` that lie in the same
   * 2 MiB (TLB_SPLIT_2M) or 1 GiB (TLB_SPLIT_1G) page as `va`.
   */
  invalidateSplinters(va: number, asid: number): void {
    if (this.splinters === 0) return;
    const region2m = Math.floor(va / 2097152);
    const region1g = Math.floor(va / 1073741824);
    const size = this.pageSize;
    const n = this.logOverflow ? this.size : this.logged;
    for (let k = 0; k < n; k++) {
      const i = this.logOverflow ? k : this.log[k]!;
      const f = this.flags[i]!;
      if (this.tag[i] !== asid || !(f & (TLB_SPLIT_2M | TLB_SPLIT_1G))) continue;
      const base = this.vpn[i]! * size;
      if (f & TLB_SPLIT_2M ? Math.floor(base / 2097152) === region2m : Math.floor(base / 1073741824) === region1g) this.invalidate(i);
    }
  }

  /** Non-global entries of one (vpid, pcid): a CR3 load without the no-flush bit (SDM §4.10.4.1). */
  flushAsid(asid: number): void {
    const n = this.logOverflow ? this.size : this.logged;
    for (let k = 0; k < n; k++) {
      const i = this.logOverflow ? k : this.log[k]!;
      if (this.tag[i] === asid) this.invalidate(i);
    }
  }

  /** Every entry of one VPID, global ones included (INVVPID single-context, SDM Vol. 3C §29.4.3). */
  flushVpid(vpid: number): void {
    const g = globalTag(vpid);
    const n = this.logOverflow ? this.size : this.logged;
    for (let k = 0; k < n; k++) {
      const i = this.logOverflow ? k : this.log[k]!;
      const t = this.tag[i]!;
      if (t === g || (t >= 0 && t >>> 12 === vpid)) this.invalidate(i);
    }
  }

  /** Entries derived through EPT (INVEPT drops combined mappings, SDM Vol. 3C §29.4.3). */
  flushNested(): void {
    const n = this.logOverflow ? this.size : this.logged;
    for (let k = 0; k < n; k++) {
      const i = this.logOverflow ? k : this.log[k]!;
      if (this.flags[i]! & TLB_NESTED) this.invalidate(i);
    }
  }

  flushAll(): void {
    if (this.logOverflow) {
      this.vpn.fill(-1);
      this.tag.fill(INVALID_TAG);
    } else {
      for (let k = 0; k < this.logged; k++) this.invalidate(this.log[k]!);
    }
    this.logged = 0;
    this.logOverflow = false;
    this.splinters = 0;
    this.live = 0;
  }

  /** Valid entries (for reports and tests; counts them, unlike `live`). */
  count(): number {
    let n = 0;
    for (let i = 0; i < this.size; i++) if (this.tag[i] !== INVALID_TAG) n++;
    return n;
  }

  /** Virtual page numbers cached in the set of `vpn`, least recently used first (for tests). */
  setOrder(vpn: number): number[] {
    const base = (vpn & this.setMask) * this.ways;
    const slots: number[] = [];
    for (let i = base; i < base + this.ways; i++) if (this.tag[i] !== INVALID_TAG) slots.push(i);
    return slots.sort((a, b) => this.stamp[a]! - this.stamp[b]!).map((i) => this.vpn[i]!);
  }
}

/**
 * A set-associative, LRU TLB for one page size, tagged by VPID and PCID (Intel SDM Vol. 3A
 * §4.10.2, §28.3). Global entries (G in the leaf) match every PCID of their VPID. State lives in
 * typed arrays; a lookup allocates nothing.
 */
export const TLB_RW = 1;
export const TLB_US = 2;
export const TLB_NX = 4;
/** The translation was cached with D set: a write through it needs no walk. */
export const TLB_DIRTY = 8;
export const TLB_GLOBAL = 16;

export class Tlb {
  readonly sets: number;
  readonly ways: number;
  private readonly mask: number;
  /** Virtual page number per slot (-1 = invalid). */
  readonly vpn: Float64Array;
  /** vpid << 12 | pcid per slot. */
  readonly tag: Int32Array;
  /** Machine frame of the page's first 4 KiB. */
  readonly frame: Float64Array;
  readonly perm: Uint8Array;
  private readonly stamp: Uint32Array;
  private clock = 0;

  constructor(entries: number, ways: number) {
    this.ways = Math.min(ways, entries);
    this.sets = Math.max(1, Math.floor(entries / this.ways));
    if ((this.sets & (this.sets - 1)) !== 0) throw new Error(`TLB sets must be a power of two (${entries}/${ways})`);
    this.mask = this.sets - 1;
    const n = this.sets * this.ways;
    this.vpn = new Float64Array(n).fill(-1);
    this.tag = new Int32Array(n);
    this.frame = new Float64Array(n);
    this.perm = new Uint8Array(n);
    this.stamp = new Uint32Array(n);
  }

  /** Slot holding `vpn` for this vpid/pcid, or -1. Marks it most recently used. */
  lookup(vpn: number, vpid: number, pcid: number): number {
    const ways = this.ways;
    const base = (vpn & this.mask) * ways;
    const tag = (vpid << 12) | pcid;
    for (let s = base; s < base + ways; s++) {
      if (this.vpn[s] === vpn && (this.tag[s] === tag || (this.perm[s] & TLB_GLOBAL && this.tag[s] >> 12 === vpid))) {
        this.stamp[s] = ++this.clock;
        return s;
      }
    }
    return -1;
  }

  /** Peek without touching LRU state (for traced reference walks). */
  has(vpn: number, vpid: number, pcid: number): boolean {
    const base = (vpn & this.mask) * this.ways;
    const tag = (vpid << 12) | pcid;
    for (let s = base; s < base + this.ways; s++) {
      if (this.vpn[s] === vpn && (this.tag[s] === tag || (this.perm[s] & TLB_GLOBAL && this.tag[s] >> 12 === vpid))) return true;
    }
    return false;
  }

  insert(vpn: number, vpid: number, pcid: number, frame: number, perm: number): void {
    const ways = this.ways;
    const base = (vpn & this.mask) * ways;
    const tag = (vpid << 12) | pcid;
    let victim = base;
    let oldest = 0xffffffff;
    for (let s = base; s < base + ways; s++) {
      if (this.vpn[s] === vpn && this.tag[s] === tag) {
        victim = s;
        break;
      }
      if (this.vpn[s] === -1) {
        victim = s;
        oldest = 0;
      } else if (this.stamp[s] < oldest) {
        victim = s;
        oldest = this.stamp[s];
      }
    }
    this.vpn[victim] = vpn;
    this.tag[victim] = tag;
    this.frame[victim] = frame;
    this.perm[victim] = perm;
    this.stamp[victim] = ++this.clock;
  }

  invalidateSlot(s: number): void {
    this.vpn[s] = -1;
  }

  /** INVLPG: every entry for `vpn` of this vpid, global ones included. */
  invlpg(vpn: number, vpid: number): void {
    const base = (vpn & this.mask) * this.ways;
    for (let s = base; s < base + this.ways; s++) if (this.vpn[s] === vpn && this.tag[s] >> 12 === vpid) this.vpn[s] = -1;
  }

  /** Non-global entries of one PCID (a CR3 load that flushes). */
  flushPcid(vpid: number, pcid: number): void {
    const tag = (vpid << 12) | pcid;
    for (let s = 0; s < this.vpn.length; s++) if (this.tag[s] === tag && !(this.perm[s] & TLB_GLOBAL)) this.vpn[s] = -1;
  }

  /** Every entry of one VPID, global ones included (INVVPID single-context). */
  flushVpid(vpid: number): void {
    for (let s = 0; s < this.vpn.length; s++) if (this.tag[s] >> 12 === vpid) this.vpn[s] = -1;
  }

  flushAll(): void {
    this.vpn.fill(-1);
  }

  /** Slots in one set in LRU order, oldest first (for tests). */
  setOrder(vpnInSet: number): number[] {
    const base = (vpnInSet & this.mask) * this.ways;
    const slots: number[] = [];
    for (let s = base; s < base + this.ways; s++) if (this.vpn[s] !== -1) slots.push(s);
    return slots.sort((a, b) => this.stamp[a] - this.stamp[b]).map((s) => this.vpn[s]);
  }
}

/**
 * A small fully associative (or set-associative) LRU cache from a key to a value, tagged: used for
 * the paging-structure caches (key = VA prefix, tag = vpid/pcid) and the nested TLB (key = gfn,
 * tag = vpid). Same typed-array layout as the TLB.
 */
export class TaggedCache {
  private readonly tlb: Tlb;
  constructor(entries: number, ways: number) {
    this.tlb = new Tlb(entries, ways);
  }
  /** Value (a frame) or -1. `perm` of the hit is left in `lastPerm`. */
  lastPerm = 0;
  get(key: number, vpid: number, pcid: number): number {
    const s = this.tlb.lookup(key, vpid, pcid);
    if (s < 0) return -1;
    this.lastPerm = this.tlb.perm[s];
    return this.tlb.frame[s];
  }
  has(key: number, vpid: number, pcid: number): boolean {
    return this.tlb.has(key, vpid, pcid);
  }
  put(key: number, vpid: number, pcid: number, value: number, perm: number): void {
    this.tlb.insert(key, vpid, pcid, value, perm & ~TLB_GLOBAL);
  }
  flushPcid(vpid: number, pcid: number): void {
    this.tlb.flushPcid(vpid, pcid);
  }
  flushVpid(vpid: number): void {
    this.tlb.flushVpid(vpid);
  }
  flushAll(): void {
    this.tlb.flushAll();
  }
}

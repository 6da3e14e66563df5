/**
 * Paging-structure caches (Intel SDM Vol. 3A §4.10.3): a PML4E cache keyed by va[47:39], a PDPTE
 * cache keyed by va[47:30] and a PDE cache keyed by va[47:21]. Each entry holds the frame of the
 * next table and the rights accumulated down to it (R/W and U/S ANDed, XD ORed, §4.10.3.1), so a
 * walk that hits skips every level above: a PDE-cache hit leaves only the PTE to read.
 *
 * A walk probes the PDE cache, then the PDPTE cache, then the PML4E cache, and starts below the
 * deepest hit (§4.10.3.2). Entries are tagged by VPID and PCID (§4.10.1; Vol. 3C §29.4) and created only
 * for present, non-leaf entries.
 *
 * For nested paging these are the "combined" caches of Bhargava et al. (ASPLOS 2008): the frame
 * held is the machine frame of the next guest table (already translated through EPT), so a hit
 * skips the guest reads above and the EPT walks of their tables too. INVEPT drops such entries.
 *
 * Each level is fully associative with true LRU; entries fill from the first slot up, so a lookup
 * scans only the slots used since the last flush, and a flush just forgets them.
 */
import { INVALID_TAG } from './tlb.js';

/** Entry rights: the same bits as the TLB's, so they pass through unchanged. */
const PSC_RIGHTS_MASK = 0x07;
/** The entry came from a nested walk (a combined mapping). */
const PSC_NESTED = 0x10;

/**
 * The key of an entry at `level` for the virtual page vhi·2^18 + vlo (vhi = va[47:30], vlo =
 * va[29:12]): va[47:21] for a PDE, va[47:30] for a PDPTE, va[47:39] for a PML4E.
 */
function pscKey(level: number, vhi: number, vlo: number): number {
  return level === 2 ? vhi * 512 + (vlo >>> 9) : level === 3 ? vhi : vhi >>> 9;
}

export class PagingStructureCache {
  declare enabled: boolean;
  /**
   * The three caches share one set of arrays: level l (2 = PDE, 3 = PDPTE, 4 = PML4E) owns slots
   * [start[l], start[l] + size[l]) and has used[l] of them filled since the last flush; a lookup
   * scans only those.
   */
  private readonly start = new Int32Array(5);
  private readonly size = new Int32Array(5);
  private readonly used = new Int32Array(5);
  /** vpn / SPAN[level]; -1 when empty. */
  declare private readonly key: Float64Array;
  /** asidTag of the entry, or INVALID_TAG. */
  declare private readonly tag: Int32Array;
  /** Machine frame of the next table. */
  declare private readonly frame: Int32Array;
  /** PSC_RIGHTS_MASK bits and PSC_NESTED. */
  declare private readonly info: Uint8Array;
  declare private readonly stamp: Float64Array;
  private tick = 0;
  /** Fills since the last flush (an upper bound on the entries): 0 means every level is empty. */
  private filled = 0;
  /** Set by a hit: machine frame of the table to read next, and the rights accumulated above it. */
  hitFrame = 0;
  hitRights = 0;

  constructor(config: { enabled: boolean; pml4e: number; pdpte: number; pde: number }) {
    this.enabled = config.enabled;
    this.size[2] = config.pde;
    this.size[3] = config.pdpte;
    this.size[4] = config.pml4e;
    this.start[3] = config.pde;
    this.start[4] = config.pde + config.pdpte;
    const n = config.pde + config.pdpte + config.pml4e;
    this.key = new Float64Array(n).fill(-1);
    this.tag = new Int32Array(n).fill(INVALID_TAG);
    this.frame = new Int32Array(n);
    this.info = new Uint8Array(n);
    this.stamp = new Float64Array(n);
  }

  /** Slot of (key, tag) at `level`, or -1. */
  private find(level: number, key: number, tag: number): number {
    const start = this.start[level]!;
    const end = start + this.used[level]!;
    for (let i = start; i < end; i++) if (this.key[i] === key && this.tag[i] === tag) return i;
    return -1;
  }

  /**
   * Level at which a walk for tag `asid` of the virtual page vhi·2^18 + vlo (vhi = va[47:30], vlo
   * = va[29:12]) starts: 1 after a PDE-cache hit, 2 after a PDPTE hit, 3 after a PML4E hit
   * (hitFrame and hitRights set), 4 on a miss.
   */
  lookup(asid: number, vhi: number, vlo: number): number {
    // Small on purpose (inlined into the walk): an empty cache, as after every flush, is one test.
    return this.filled === 0 ? 4 : this.lookupFilled(asid, vhi, vlo);
  }

  private lookupFilled(asid: number, vhi: number, vlo: number): number {
    for (let level = 2; level <= 4; level++) {
      const i = this.find(level, pscKey(level, vhi, vlo), asid);
      if (i >= 0) {
        this.stamp[i] = ++this.tick;
        this.hitFrame = this.frame[i]!;
        this.hitRights = this.info[i]! & PSC_RIGHTS_MASK;
        return level - 1;
      }
    }
    return 4;
  }

  /** Like lookup, without touching LRU state (and leaving hitFrame alone). 4 when disabled. */
  peek(asid: number, vhi: number, vlo: number): number {
    if (!this.enabled) return 4;
    for (let level = 2; level <= 4; level++) {
      if (this.find(level, pscKey(level, vhi, vlo), asid) >= 0) return level - 1;
    }
    return 4;
  }

  /**
   * Caches the present non-leaf entry at `level` (4, 3 or 2) on the path of virtual page
   * vhi·2^18 + vlo:
   * `frame` is the machine frame of the table it points to, `rights` the TLB_RW/US/NX accumulated
   * through it. Replaces the entry with the same key, else takes an empty slot, else the LRU one.
   */
  fill(level: number, asid: number, vhi: number, vlo: number, frame: number, rights: number, nested: boolean): void {
    const key = pscKey(level, vhi, vlo);
    const start = this.start[level]!;
    const used = this.used[level]!;
    let victim = -1;
    if (this.size[level] === 0) return; // a level configured with no entries caches nothing
    if (used === 0) {
      victim = start;
      this.used[level] = 1;
    } else {
      let empty = -1;
      let lru = start;
      let oldest = Infinity;
      for (let i = start; i < start + used; i++) {
        const t = this.tag[i]!;
        if (t === asid && this.key[i] === key) {
          victim = i;
          break;
        }
        if (t === INVALID_TAG) {
          if (empty < 0) empty = i;
        } else if (this.stamp[i]! < oldest) {
          oldest = this.stamp[i]!;
          lru = i;
        }
      }
      if (victim < 0) {
        if (empty >= 0) victim = empty;
        else if (used < this.size[level]!) {
          victim = start + used;
          this.used[level] = used + 1;
        } else victim = lru;
      }
    }
    this.filled++;
    this.key[victim] = key;
    this.tag[victim] = asid;
    this.frame[victim] = frame;
    this.info[victim] = (rights & PSC_RIGHTS_MASK) | (nested ? PSC_NESTED : 0);
    this.stamp[victim] = ++this.tick;
  }

  /** Drops the entries `drop` selects: of tag `asid`, of any tag of `vpid`, or nested ones. */
  private invalidateWhere(asid: number, vpid: number, nestedOnly: boolean): void {
    for (let level = 2; level <= 4; level++) {
      const start = this.start[level]!;
      for (let i = start; i < start + this.used[level]!; i++) {
        const t = this.tag[i]!;
        const hit = nestedOnly ? (this.info[i]! & PSC_NESTED) !== 0 : vpid >= 0 ? t >= 0 && t >>> 12 === vpid : t === asid;
        if (hit) {
          this.key[i] = -1;
          this.tag[i] = INVALID_TAG;
        }
      }
    }
  }

  /** Entries of one (vpid, pcid): INVLPG and CR3 loads drop them all (SDM §4.10.4.1). */
  flushAsid(asid: number): void {
    if (this.filled !== 0) this.invalidateWhere(asid, -1, false);
  }

  flushVpid(vpid: number): void {
    if (this.filled !== 0) this.invalidateWhere(0, vpid, false);
  }

  /** Combined (nested) entries: INVEPT. */
  flushNested(): void {
    if (this.filled !== 0) this.invalidateWhere(0, -1, true);
  }

  flush(): void {
    if (this.filled === 0) return;
    // Slots past used[level] are never read, so forgetting them is enough.
    this.used[2] = 0;
    this.used[3] = 0;
    this.used[4] = 0;
    this.filled = 0;
  }

  /** Valid entries at `level` (4 = PML4E, 3 = PDPTE, 2 = PDE), for reports and tests. */
  count(level: number): number {
    let n = 0;
    const start = this.start[level]!;
    for (let i = start; i < start + this.used[level]!; i++) if (this.tag[i] !== INVALID_TAG) n++;
    return n;
  }
}

/**
 * The data cache every page-walk reference goes through: 64-byte lines (so eight 8-byte entries
 * share a line), set-associative, LRU. A walk's cost depends on whether its references hit here.
 */
export class DataCache {
  private readonly sets: number;
  private readonly ways: number;
  private readonly line: Float64Array;
  private readonly stamp: Uint32Array;
  private clock = 0;

  constructor(sizeKiB: number, ways: number) {
    const lines = Math.max(1, Math.floor((sizeKiB * 1024) / 64));
    this.ways = Math.min(ways, lines);
    this.sets = Math.max(1, Math.floor(lines / this.ways));
    this.line = new Float64Array(this.sets * this.ways).fill(-1);
    this.stamp = new Uint32Array(this.sets * this.ways);
  }

  /** Looks up the line of machine address `maddr`, filling it on a miss. Returns true on a hit. */
  access(maddr: number): boolean {
    const ln = Math.floor(maddr / 64);
    const base = (ln % this.sets) * this.ways;
    let victim = base;
    let oldest = 0xffffffff;
    for (let s = base; s < base + this.ways; s++) {
      if (this.line[s] === ln) {
        this.stamp[s] = ++this.clock;
        return true;
      }
      if (this.stamp[s] < oldest) {
        oldest = this.stamp[s];
        victim = s;
      }
    }
    this.line[victim] = ln;
    this.stamp[victim] = ++this.clock;
    return false;
  }

  /** Whether the line is cached, without changing anything. */
  has(maddr: number): boolean {
    const ln = Math.floor(maddr / 64);
    const base = (ln % this.sets) * this.ways;
    for (let s = base; s < base + this.ways; s++) if (this.line[s] === ln) return true;
    return false;
  }

  flush(): void {
    this.line.fill(-1);
    this.stamp.fill(0);
  }
}

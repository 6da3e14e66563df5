/**
 * The guest kernel's page allocator: a stack of free pfns with a bitmap, and naturally aligned
 * runs for the hugetlb pool (Linux's buddy allocator gives the same two answers: one page fast,
 * an aligned 2^order block when one is free).
 */
export class OutOfMemory extends Error {}

export class PageAllocator {
  /** Free pfns (a stack) and a bitmap of which are free. */
  private readonly freeStack: Int32Array;
  private freeTop = 0;
  private readonly isFree: Uint8Array;
  /** Pages handed out since markAllocations() (a memory checker's "still free since then"). */
  private allocatedSinceMark: Uint8Array | null = null;

  constructor(
    /** pfns [0, nrUsable) are the allocator's; the rest is the kernel's reserve. */
    readonly nrUsable: number,
    nrPages: number,
    private readonly name: string,
  ) {
    // Room for every pfn: the balloon driver hands pages above nrUsable to the allocator too.
    this.freeStack = new Int32Array(nrPages);
    this.isFree = new Uint8Array(nrPages);
    // Allocate from the top down, leaving low memory (aligned for hugetlb pages) free longest.
    for (let p = 0; p < nrUsable; p++) {
      this.freeStack[this.freeTop++] = p;
      this.isFree[p] = 1;
    }
  }

  get freePages(): number {
    return this.freeTop;
  }

  /** One page, not zeroed (the kernel zeroes it: get_zeroed_page). */
  alloc(): number {
    if (this.freeTop === 0) throw new OutOfMemory(`${this.name}: out of guest memory`);
    const pfn = this.freeStack[--this.freeTop]!;
    this.isFree[pfn] = 0;
    if (this.allocatedSinceMark !== null) this.allocatedSinceMark[pfn] = 1;
    return pfn;
  }

  free(pfn: number): void {
    if (this.isFree[pfn]) throw new Error(`${this.name}: double free of pfn ${pfn}`);
    this.isFree[pfn] = 1;
    this.freeStack[this.freeTop++] = pfn;
  }

  /** From now on, remembers which pages are handed out. */
  markAllocations(): void {
    // A page in use at the mark counts as handed out: freed later, what it holds is its user's.
    const m = new Uint8Array(this.isFree.length);
    for (let p = 0; p < m.length; p++) m[p] = this.isFree[p] ? 0 : 1;
    this.allocatedSinceMark = m;
  }

  /** True if `pfn` is free now and was never handed out since markAllocations(). */
  freeSinceMark(pfn: number): boolean {
    return this.isFree[pfn] === 1 && this.allocatedSinceMark !== null && this.allocatedSinceMark[pfn] === 0;
  }

  /** 2^order naturally aligned free pages (hugetlb pool), or -1. */
  allocHuge(order: number): number {
    const n = 2 ** order;
    for (let base = 0; base + n <= this.nrUsable; base += n) {
      let ok = true;
      for (let k = 0; k < n && ok; k++) ok = this.isFree[base + k] === 1;
      if (!ok) continue;
      for (let k = 0; k < n; k++) this.isFree[base + k] = 0;
      if (this.allocatedSinceMark !== null) this.allocatedSinceMark.fill(1, base, base + n);
      // Rebuild the free stack without these pages.
      let w = 0;
      for (let r = 0; r < this.freeTop; r++) {
        const p = this.freeStack[r]!;
        if (this.isFree[p]) this.freeStack[w++] = p;
      }
      this.freeTop = w;
      return base;
    }
    return -1;
  }
}

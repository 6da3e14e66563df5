/**
 * Allocates machine frames in naturally aligned extents (order 0 = 4 KiB, 9 = 2 MiB, 18 = 1 GiB),
 * as Xen's buddy allocator does, so that a domain built with 2 MiB or 1 GiB host pages gets
 * contiguous, aligned machine memory where there is any.
 */
export class FrameAllocator {
  /** Free ranges [start, end), sorted by start, non-overlapping, coalesced. */
  private ranges: { start: number; end: number }[] = [];
  private freeCount = 0;

  constructor(nrFrames: number, firstUsable = 0) {
    if (nrFrames > firstUsable) this.ranges.push({ start: firstUsable, end: nrFrames });
    this.freeCount = Math.max(0, nrFrames - firstUsable);
  }

  get free(): number {
    return this.freeCount;
  }

  /** Allocates 2^order frames aligned to 2^order; returns the first mfn, or -1. */
  allocExtent(order: number, fromTop = false): number {
    const size = 2 ** order;
    const n = this.ranges.length;
    for (let k = 0; k < n; k++) {
      const i = fromTop ? n - 1 - k : k;
      const r = this.ranges[i]!;
      let start: number;
      if (fromTop) {
        start = Math.floor((r.end - size) / size) * size;
        if (start < r.start) continue;
      } else {
        start = Math.ceil(r.start / size) * size;
        if (start + size > r.end) continue;
      }
      this.take(i, start, start + size);
      return start;
    }
    return -1;
  }

  alloc(): number {
    return this.allocExtent(0);
  }

  private take(i: number, start: number, end: number): void {
    const r = this.ranges[i]!;
    const pieces: { start: number; end: number }[] = [];
    if (r.start < start) pieces.push({ start: r.start, end: start });
    if (end < r.end) pieces.push({ start: end, end: r.end });
    this.ranges.splice(i, 1, ...pieces);
    this.freeCount -= end - start;
  }

  /** Returns [start, start+count) to the free pool. */
  freeRange(start: number, count = 1): void {
    const end = start + count;
    let lo = 0;
    let hi = this.ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ranges[mid]!.start < start) lo = mid + 1;
      else hi = mid;
    }
    const prev = this.ranges[lo - 1];
    const next = this.ranges[lo];
    if ((prev && prev.end > start) || (next && next.start < end)) {
      throw new Error(`double free of mfn range ${start}..${end - 1}`);
    }
    if (prev && prev.end === start && next && next.start === end) {
      prev.end = next.end;
      this.ranges.splice(lo, 1);
    } else if (prev && prev.end === start) prev.end = end;
    else if (next && next.start === end) next.start = start;
    else this.ranges.splice(lo, 0, { start, end });
    this.freeCount += count;
  }
}

/**
 * The machine's event queue: things that happen at a simulated time (a device finishing a
 * command, a frame arriving on the wire). A binary min-heap keyed on (time, insertion number),
 * so events due at the same time fire in the order they were pushed and a run is deterministic.
 *
 * Cancelling marks the entry and leaves it in the heap (it is skipped when it reaches the top):
 * cancel is O(1) and the heap never has to find an entry in the middle.
 */

interface Entry {
  at: number;
  seq: number;
  fire: (() => void) | null;
}

export class EventQueue {
  private heap: Entry[] = [];
  private live = new Map<number, Entry>();
  private nextSeq = 1;

  /** Schedules `fire` at simulated time `at`; returns an id for cancel(). */
  push(at: number, fire: () => void): number {
    if (typeof at !== 'number' || Number.isNaN(at)) {
      throw new RangeError(`EventQueue.push: the time must be a number, got ${String(at)}`);
    }
    const e: Entry = { at, seq: this.nextSeq++, fire };
    this.live.set(e.seq, e);
    this.heap.push(e);
    this.up(this.heap.length - 1);
    return e.seq;
  }

  /** Drops a scheduled event; an unknown id or one that already fired is ignored. */
  cancel(id: number): void {
    const e = this.live.get(id);
    if (e === undefined) return;
    e.fire = null;
    this.live.delete(id);
    this.dropCancelledTop();
  }

  /** Time of the earliest pending event, Infinity when none. */
  peekTime(): number {
    this.dropCancelledTop();
    return this.heap.length === 0 ? Infinity : this.heap[0]!.at;
  }

  /**
   * Fires every event due at or before `now`, earliest first and in push order for equal times,
   * including events pushed by a handler that are themselves due. Returns how many fired.
   */
  runDue(now: number): number {
    let n = 0;
    while (this.heap.length > 0 && this.heap[0]!.at <= now) {
      const e = this.pop();
      const fire = e.fire;
      if (fire === null) continue;
      this.live.delete(e.seq);
      e.fire = null;
      n++;
      fire();
    }
    return n;
  }

  /** Pending (not cancelled) events. */
  get size(): number {
    return this.live.size;
  }

  private dropCancelledTop(): void {
    while (this.heap.length > 0 && this.heap[0]!.fire === null) this.pop();
  }

  private pop(): Entry {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      this.down(0);
    }
    return top;
  }

  private less(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private up(i: number): void {
    const h = this.heap;
    const e = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(e, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = e;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const e = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(h[r]!, h[l]!) ? r : l;
      if (!this.less(h[c]!, e)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = e;
  }
}

/** The simulated clock a device schedules on: cycles, with the machine's event queue. */
export interface DeviceClock {
  now(): number;
  queue: EventQueue;
  cyclesPerUs: number;
}

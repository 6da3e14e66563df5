import { describe, expect, it } from 'vitest';
import { EventQueue } from '../../core/machine/events.js';

describe('EventQueue', () => {
  it('is empty at first: peekTime is Infinity, size 0, nothing runs', () => {
    const q = new EventQueue();
    expect(q.peekTime()).toBe(Infinity);
    expect(q.size).toBe(0);
    expect(q.runDue(1e12)).toBe(0);
  });

  it('fires due events in time order and leaves later ones', () => {
    const q = new EventQueue();
    const log: number[] = [];
    for (const t of [50, 10, 40, 20, 30, 60]) q.push(t, () => log.push(t));
    expect(q.peekTime()).toBe(10);
    expect(q.runDue(45)).toBe(4);
    expect(log).toEqual([10, 20, 30, 40]);
    expect(q.size).toBe(2);
    expect(q.peekTime()).toBe(50);
  });

  it('fires events due at the same time in the order they were pushed', () => {
    const q = new EventQueue();
    const log: string[] = [];
    for (const name of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) q.push(5, () => log.push(name));
    q.push(4, () => log.push('early'));
    q.runDue(5);
    expect(log).toEqual(['early', 'a', 'b', 'c', 'd', 'e', 'f', 'g']);
  });

  it('runs an event pushed while running if it is due, and keeps one that is not', () => {
    const q = new EventQueue();
    const log: string[] = [];
    q.push(10, () => {
      log.push('first');
      q.push(10, () => log.push('same time'));
      q.push(15, () => log.push('later, still due'));
      q.push(21, () => log.push('not due'));
    });
    q.push(12, () => log.push('second'));
    expect(q.runDue(20)).toBe(4);
    expect(log).toEqual(['first', 'same time', 'second', 'later, still due']);
    expect(q.peekTime()).toBe(21);
  });

  it('does not fire a cancelled event, and cancelling twice or an unknown id is harmless', () => {
    const q = new EventQueue();
    const log: number[] = [];
    const a = q.push(1, () => log.push(1));
    const b = q.push(2, () => log.push(2));
    q.push(3, () => log.push(3));
    q.cancel(a);
    q.cancel(a);
    q.cancel(9999);
    expect(q.size).toBe(2);
    expect(q.peekTime()).toBe(2);
    q.cancel(b);
    expect(q.peekTime()).toBe(3);
    expect(q.runDue(10)).toBe(1);
    expect(log).toEqual([3]);
  });

  it('a cancelled event below the top does not show in peekTime once it surfaces', () => {
    const q = new EventQueue();
    q.push(1, () => {});
    const mid = q.push(5, () => {});
    q.push(9, () => {});
    q.cancel(mid);
    q.runDue(1);
    expect(q.peekTime()).toBe(9);
    expect(q.size).toBe(1);
  });

  it('matches a sorted reference on many random pushes (deterministic order)', () => {
    const q = new EventQueue();
    const fired: number[] = [];
    const ref: { at: number; n: number }[] = [];
    let x = 12345;
    for (let n = 0; n < 500; n++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const at = x % 50;
      ref.push({ at, n });
      q.push(at, () => fired.push(n));
    }
    q.runDue(49);
    ref.sort((a, b) => a.at - b.at || a.n - b.n);
    expect(fired).toEqual(ref.map((r) => r.n));
  });

  it('refuses a time that is not a number with a clear error', () => {
    const q = new EventQueue();
    expect(() => q.push(NaN, () => {})).toThrow(/time must be a number/);
  });
});

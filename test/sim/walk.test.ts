import { describe, expect, it } from 'vitest';
import { run, type Mode } from './helpers.js';

/** Levels walked to reach a leaf of this size in a 4-level table: 4 KiB → 4, 2 MiB → 3, 1 GiB → 2. */
const levels = (size: string) => ({ '4k': 4, '2m': 3, '1g': 2 })[size]!;
/** Bhargava et al.: a 2D walk with n guest and m host levels makes (n+1)(m+1)−1 references. */
const nested = (n: number, m: number) => (n + 1) * (m + 1) - 1;

function coldWalk(mode: Mode, guest: string, host: string) {
  const big = guest === '1g' || host === '1g';
  return run(mode, { kind: 'cold-walk', pages: 32 }, { guestPageSize: guest, hostPageSize: host, memoryMiB: big ? 2048 : 256 }, 4096);
}

describe('cold-walk gives the architectural walk length', () => {
  for (const guest of ['4k', '2m', '1g']) {
    it(`native with ${guest} pages walks ${levels(guest)} levels`, () => {
      const { g, r } = coldWalk('native', guest, '4k');
      expect(g.walk.walks).toBe(32);
      expect(g.walk.refsPerWalk).toBe(levels(guest));
      expect(g.walk.maxRefs).toBe(levels(guest));
      expect(r.audit.ok).toBe(true);
    });
  }

  it('pv walks the guest tables directly: 4 references', () => {
    const { g, r } = coldWalk('pv', '4k', '4k');
    expect(g.walk.refsPerWalk).toBe(levels('4k'));
    expect(r.audit.ok).toBe(true);
  });

  for (const guest of ['4k', '2m']) {
    it(`shadow walks a 4-level shadow (guest ${guest}: superpages are splintered into fl1 shadows)`, () => {
      const { g, r } = coldWalk('shadow', guest, '4k');
      expect(g.walk.refsPerWalk).toBe(4);
      expect(r.audit.ok).toBe(true);
    });
  }

  for (const guest of ['4k', '2m', '1g']) {
    for (const host of ['4k', '2m', '1g']) {
      const expected = nested(levels(guest), levels(host));
      it(`hap guest ${guest} / host ${host} walks (n+1)(m+1)-1 = ${expected}`, () => {
        const { g, r } = coldWalk('hap', guest, host);
        expect(g.walk.walks).toBe(32);
        expect(g.walk.refsPerWalk).toBe(expected);
        expect(g.walk.histogram[expected]).toBe(32);
        expect(r.audit.ok).toBe(true);
      });
    }
  }
});

describe('cold-walk rounds', () => {
  // Every probe starts with the TLBs, walk caches and data cache cold, so a round repeats the first
  // exactly: every counter of `rounds` rounds is that many times one round's, and per-walk figures
  // do not move.
  for (const [mode, guest, host] of [
    ['hap', '2m', '2m'],
    ['pv', '4k', '4k'],
    ['shadow', '4k', '4k'],
  ] as [Mode, string, string][]) {
    it(`${mode} ${guest}/${host}: 3 rounds walk every page 3 times, each walk as long as in one round`, () => {
      const one = run(mode, { kind: 'cold-walk', pages: 32 }, { guestPageSize: guest, hostPageSize: host, memoryMiB: 256 }, 4096).g;
      const three = run(mode, { kind: 'cold-walk', pages: 32, rounds: 3 }, { guestPageSize: guest, hostPageSize: host, memoryMiB: 256 }, 4096).g;
      expect(three.ops).toBe(3 * 32);
      expect(three.walk.walks).toBe(3 * one.walk.walks);
      expect(three.walk.refs).toBe(3 * one.walk.refs);
      expect(three.walk.refsMemory).toBe(3 * one.walk.refsMemory);
      expect(three.cycles.total).toBe(3 * one.cycles.total);
      expect(three.walk.refsPerWalk).toBe(mode === 'hap' ? nested(levels(guest), levels(host)) : levels(guest));
    });
  }

  it('one round is what a cold-walk without rounds does', () => {
    const plain = run('hap', { kind: 'cold-walk', pages: 32 }, {}, 4096);
    const once = run('hap', { kind: 'cold-walk', pages: 32, rounds: 1 }, {}, 4096);
    expect(once.r.domains).toEqual(plain.r.domains);
  });
});

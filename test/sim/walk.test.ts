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

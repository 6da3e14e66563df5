import { describe, expect, it } from 'vitest';
import { num, table } from '../../core/cli/format.js';

describe('CLI number formatting', () => {
  it('groups thousands with thin spaces and rounds', () => {
    expect(num(1234567.8)).toBe('1\u2009234\u2009568');
    expect(num(999)).toBe('999');
    expect(num(24, 2)).toBe('24.00');
    expect(num(12.34)).toBe('12.3');
    expect(num(Number.NaN)).toBe('-');
  });

  it('right-aligns every column but the first', () => {
    const t = table(['mode', 'cycles'], [['pv', '12'], ['shadow', '1\u2009000']]).split('\n');
    expect(t[0]).toBe('mode    cycles');
    expect(t[2]).toBe('pv          12');
    expect(t[3].endsWith('1\u2009000')).toBe(true);
  });
});

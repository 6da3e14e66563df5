// The cost table's documentation in the Scenario view: one line on what and one on where from,
// for every entry of the table and nothing else.
import { describe, expect, it } from 'vitest';
import { COST_KEYS } from '../../core/api/index.js';
import { COST_DOCS } from '../../core/api/costDocs.js';

describe('COST_DOCS', () => {
  it('has an entry for every COST_KEYS key, and none for a key the table does not have', () => {
    for (const k of COST_KEYS) expect(COST_DOCS[k], k).toBeDefined();
    expect(Object.keys(COST_DOCS).sort()).toEqual([...COST_KEYS].sort());
  });

  it('gives each entry a one-line description and a source', () => {
    for (const k of COST_KEYS) {
      const { what, source } = COST_DOCS[k];
      expect(what.length, k).toBeGreaterThan(10);
      expect(source.length, k).toBeGreaterThan(5);
      expect(what.includes('\n') || source.includes('\n'), k).toBe(false);
    }
  });
});

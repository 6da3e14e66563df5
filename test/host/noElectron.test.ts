import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './helpers.js';

/**
 * electron/host/ is what the browser-mode server runs under plain Node (DESIGN.md §2), so none of
 * it may import Electron, directly or by a dynamic import.
 */
describe('electron/host runs without Electron', () => {
  it('has no module that imports "electron"', () => {
    const dir = join(REPO, 'electron', 'host');
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files).toEqual(expect.arrayContaining(['store.ts', 'service.ts', 'export.ts']));
    const offenders = files.filter((f) => /(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"]electron(?:\/[^'"]*)?['"]/.test(readFileSync(join(dir, f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});

/**
 * The build's bundle-size report (scripts/bundleSizes.mjs) on a fixture out/ folder with files of
 * known sizes: every bundle of each part listed with its raw size, gzip sizes that are real
 * compressed sizes, totals per part, the JSON written beside, and a clear error for a missing part.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { bundleSizes, formatSizes, writeBundleSizes } from '../../scripts/bundleSizes.mjs';

function fixture(): { dir: string; random: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'hyperlab-sizes-'));
  const random = randomBytes(4096);
  const put = (p: string, data: string | Buffer) => {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), data);
  };
  put('renderer/index.html', '<!doctype html>'); // 15 bytes
  put('renderer/assets/index-abc.js', 'a'.repeat(10_000));
  put('renderer/assets/index-abc.css', random);
  put('renderer/assets/index-abc.js.map', 'not a bundle');
  put('renderer/assets/font.woff2', 'not code');
  put('main/index.js', 'x'.repeat(300));
  put('main/chunks/service.js', 'y'.repeat(200));
  put('preload/index.cjs', 'z'.repeat(50));
  return { dir, random };
}

describe('bundle sizes', () => {
  it('lists each part\'s bundles with raw and gzip sizes, and totals per part', () => {
    const { dir } = fixture();
    const r = bundleSizes(dir);
    expect(r.files.map((f) => [f.part, f.file, f.bytes])).toEqual([
      ['renderer', 'assets/index-abc.css', 4096],
      ['renderer', 'assets/index-abc.js', 10_000],
      ['renderer', 'index.html', 15],
      ['main', 'chunks/service.js', 200],
      ['main', 'index.js', 300],
      ['preload', 'index.cjs', 50],
    ]);
    expect(r.totals.renderer).toMatchObject({ files: 3, bytes: 4096 + 10_000 + 15 });
    expect(r.totals.main).toMatchObject({ files: 2, bytes: 500 });
    expect(r.totals.preload).toMatchObject({ files: 1, bytes: 50 });
    const js = r.files.find((f) => f.file === 'assets/index-abc.js')!;
    const css = r.files.find((f) => f.file === 'assets/index-abc.css')!;
    // 10 000 repeats of one letter compress to a few dozen bytes; random bytes do not compress
    // (gzip adds its 18-byte header and trailer and stored-block overhead).
    expect(js.gzipBytes).toBeLessThan(100);
    expect(css.gzipBytes).toBeGreaterThanOrEqual(4096);
    for (const part of ['renderer', 'main', 'preload']) {
      expect(r.totals[part]!.gzipBytes).toBe(r.files.filter((f) => f.part === part).reduce((s, f) => s + f.gzipBytes, 0));
    }
  });

  it('the gzip size is that of a stream that inflates back to the file', () => {
    const { dir, random } = fixture();
    const css = bundleSizes(dir).files.find((f) => f.file === 'assets/index-abc.css')!;
    const z = gzipSync(random, { level: 9 });
    expect(gunzipSync(z)).toEqual(random);
    expect(css.gzipBytes).toBe(z.length);
  });

  it('writes out/bundle-sizes.json and prints one line per bundle plus the totals', () => {
    const { dir } = fixture();
    const r = writeBundleSizes(dir);
    expect(JSON.parse(readFileSync(join(dir, 'bundle-sizes.json'), 'utf8'))).toEqual(r);
    const lines = formatSizes(r).split('\n');
    expect(lines).toHaveLength(1 + 6 + 3);
    expect(lines[0]).toMatch(/^part\s+bundle\s+raw\s+gzip$/);
    expect(lines.find((l) => l.includes('assets/index-abc.js'))).toMatch(/^renderer\s+assets\/index-abc\.js\s+9\.8 KiB\s+0\.\d KiB$/);
    expect(lines.at(-1)).toMatch(/^preload\s+\(total, 1 files\)\s+0\.0 KiB/);
  });

  it('says which part is missing when the build did not write it', () => {
    const { dir } = fixture();
    const empty = mkdtempSync(join(tmpdir(), 'hyperlab-sizes-'));
    mkdirSync(join(empty, 'renderer'));
    expect(() => bundleSizes(empty)).toThrow(/main is missing \(run electron-vite build first\)/);
    expect(() => bundleSizes(join(dir, 'nowhere'))).toThrow(/renderer is missing/);
  });
});

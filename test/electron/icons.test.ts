/**
 * The icons in build/ are what scripts/makeIcons.mjs draws, and are files the platforms accept.
 */
import { readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { drawIcon, encodePng } from '../../scripts/makeIcons.mjs';

vi.mock('electron', () => ({}));

function pngInfo(b: Buffer): { width: number; height: number; colourType: number } {
  expect(b.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(b.toString('ascii', 12, 16)).toBe('IHDR');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20), colourType: b[25]! };
}

describe('icons', () => {
  it('has the Linux icon set at 256 and 512, and a 512 source for macOS', () => {
    for (const n of [256, 512]) expect(pngInfo(readFileSync(`build/icons/${n}x${n}.png`))).toEqual({ width: n, height: n, colourType: 6 });
    expect(pngInfo(readFileSync('build/icon.png'))).toMatchObject({ width: 512, height: 512 });
  });

  it('has a Windows .ico with 16, 32, 48 and 256 pixel PNG entries', () => {
    const ico = readFileSync('build/icon.ico');
    expect(ico.readUInt16LE(2)).toBe(1);
    const count = ico.readUInt16LE(4);
    const sizes: number[] = [];
    for (let i = 0; i < count; i++) {
      const e = 6 + 16 * i;
      const size = ico[e] || 256;
      const png = ico.subarray(ico.readUInt32LE(e + 12), ico.readUInt32LE(e + 12) + ico.readUInt32LE(e + 8));
      expect(pngInfo(png).width).toBe(size);
      sizes.push(size);
    }
    expect(sizes).toEqual([16, 32, 48, 256]);
  });

  it('has a macOS .icns with 256 and 512 pixel PNG entries', () => {
    const icns = readFileSync('build/icon.icns');
    expect(icns.toString('ascii', 0, 4)).toBe('icns');
    expect(icns.readUInt32BE(4)).toBe(icns.length);
    const found: [string, number][] = [];
    for (let o = 8; o < icns.length; o += icns.readUInt32BE(o + 4)) found.push([icns.toString('ascii', o, o + 4), pngInfo(icns.subarray(o + 8, o + icns.readUInt32BE(o + 4))).width]);
    expect(found).toEqual([['ic08', 256], ['ic09', 512]]);
  });

  it('matches what scripts/makeIcons.mjs draws (the files are generated, not hand-edited)', () => {
    expect(encodePng(256, drawIcon(256)).equals(readFileSync('build/icons/256x256.png'))).toBe(true);
  });

  it('decodes: opaque in the middle, transparent in the corners', () => {
    const b = readFileSync('build/icons/256x256.png');
    // One IDAT chunk right after IHDR; rows are filter byte + RGBA with the Sub filter.
    const len = b.readUInt32BE(33);
    const raw = inflateSync(b.subarray(41, 41 + len));
    const stride = 256 * 4 + 1;
    expect(raw[0]).toBe(1);
    const alphaAt = (x: number, y: number) => {
      let a = 0;
      for (let i = 0; i <= x; i++) a = (a + raw[y * stride + 1 + i * 4 + 3]!) & 0xff;
      return a;
    };
    expect(alphaAt(0, 0)).toBe(0);
    expect(alphaAt(128, 128)).toBe(255);
  });
});

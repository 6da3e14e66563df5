// Draws Hyperlab's icon and writes it as PNG (Linux icon set), ICO (Windows) and ICNS (macOS),
// with nothing but node:zlib, so the icons can be regenerated on any machine:
//
//   node scripts/makeIcons.mjs   → build/icon.png, build/icons/<n>x<n>.png, build/icon.ico, build/icon.icns
//
// Having every platform's format ready means electron-builder never has to download its icon
// conversion tool.
//
// The picture is the nested (2D) page walk the lab is about: a 5 × 5 grid of guest × host
// table levels, the cells the walk visits lit in a staircase, the final data reference in amber.
// build/icon.svg is the same drawing as a vector file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const BACKGROUND = [0x20, 0x23, 0x2d];
const CELL = [0x3b, 0x41, 0x50];
const WALK = [0x4f, 0xc3, 0xf7];
const DATA = [0xff, 0xb7, 0x4d];

/** Inside a rounded rectangle [x0,x1]×[y0,y1] with corner radius r (unit coordinates)? */
function inRoundRect(x, y, x0, y0, x1, y1, r) {
  if (x < x0 || x > x1 || y < y0 || y > y1) return false;
  const cx = Math.min(Math.max(x, x0 + r), x1 - r);
  const cy = Math.min(Math.max(y, y0 + r), y1 - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
}

/** The colour at a point of the unit square, or null for transparent. */
function colourAt(x, y) {
  if (!inRoundRect(x, y, 0.04, 0.04, 0.96, 0.96, 0.2)) return null;
  const origin = 0.175;
  const pitch = 0.135;
  const size = 0.11;
  const c = Math.floor((x - origin) / pitch);
  const r = Math.floor((y - origin) / pitch);
  if (r >= 0 && r < 5 && c >= 0 && c < 5) {
    const x0 = origin + c * pitch;
    const y0 = origin + r * pitch;
    if (inRoundRect(x, y, x0, y0, x0 + size, y0 + size, 0.022)) {
      if (r === 4 && c === 4) return DATA;
      return c === r || c === r + 1 ? WALK : CELL;
    }
  }
  return BACKGROUND;
}

/** RGBA pixels of the icon at n × n, 4 × 4 samples per pixel for smooth edges. */
export function drawIcon(n) {
  const px = Buffer.alloc(n * n * 4);
  const S = 4;
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      let rr = 0, gg = 0, bb = 0, aa = 0;
      for (let sy = 0; sy < S; sy++) {
        for (let sx = 0; sx < S; sx++) {
          const col = colourAt((i + (sx + 0.5) / S) / n, (j + (sy + 0.5) / S) / n);
          if (!col) continue;
          rr += col[0];
          gg += col[1];
          bb += col[2];
          aa += 1;
        }
      }
      const o = (j * n + i) * 4;
      // Colours averaged over the covered samples only (straight, not premultiplied, alpha).
      if (aa) {
        px[o] = Math.round(rr / aa);
        px[o + 1] = Math.round(gg / aa);
        px[o + 2] = Math.round(bb / aa);
        px[o + 3] = Math.round((255 * aa) / (S * S));
      }
    }
  }
  return px;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, k) => {
  let c = k;
  for (let b = 0; b < 8; b++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A PNG file (8-bit RGBA, no interlace) of n × n RGBA pixels. */
export function encodePng(n, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(n, 0);
  ihdr.writeUInt32BE(n, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // colour type RGBA
  // Each row starts with filter type 1 (Sub): flat areas become runs of zeros, which deflate well.
  const raw = Buffer.alloc(n * (n * 4 + 1));
  for (let y = 0; y < n; y++) {
    const o = y * (n * 4 + 1);
    raw[o] = 1;
    for (let x = 0; x < n * 4; x++) {
      const cur = rgba[y * n * 4 + x];
      const left = x >= 4 ? rgba[y * n * 4 + x - 4] : 0;
      raw[o + 1 + x] = (cur - left) & 0xff;
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** An ICO file holding PNG images (Windows Vista and later read PNG entries). */
export function encodeIco(images) {
  const header = Buffer.alloc(6);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2); // type: icon
  header.writeUInt16LE(images.length, 4);
  let offset = 6 + 16 * images.length;
  const entries = images.map(({ size, png }) => {
    const e = Buffer.alloc(16);
    e[0] = size >= 256 ? 0 : size; // 0 means 256
    e[1] = size >= 256 ? 0 : size;
    e.writeUInt16LE(1, 4); // colour planes
    e.writeUInt16LE(32, 6); // bits per pixel
    e.writeUInt32LE(png.length, 8);
    e.writeUInt32LE(offset, 12);
    offset += png.length;
    return e;
  });
  return Buffer.concat([header, ...entries, ...images.map((i) => i.png)]);
}

/** An ICNS file holding PNG images: ic08 is 256 × 256, ic09 is 512 × 512 (macOS 10.5 and later). */
export function encodeIcns(images) {
  const TYPES = { 256: 'ic08', 512: 'ic09' };
  const entries = images.map(({ size, png }) => {
    const head = Buffer.alloc(8);
    head.write(TYPES[size], 0, 'ascii');
    head.writeUInt32BE(8 + png.length, 4);
    return Buffer.concat([head, png]);
  });
  const head = Buffer.alloc(8);
  head.write('icns', 0, 'ascii');
  head.writeUInt32BE(8 + entries.reduce((n, e) => n + e.length, 0), 4);
  return Buffer.concat([head, ...entries]);
}

function main() {
  const buildDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'build');
  mkdirSync(join(buildDir, 'icons'), { recursive: true });
  const png = new Map([16, 32, 48, 256, 512].map((n) => [n, encodePng(n, drawIcon(n))]));
  writeFileSync(join(buildDir, 'icon.png'), png.get(512));
  for (const n of [256, 512]) writeFileSync(join(buildDir, 'icons', `${n}x${n}.png`), png.get(n));
  writeFileSync(join(buildDir, 'icon.ico'), encodeIco([16, 32, 48, 256].map((size) => ({ size, png: png.get(size) }))));
  writeFileSync(join(buildDir, 'icon.icns'), encodeIcns([256, 512].map((size) => ({ size, png: png.get(size) }))));
  for (const [n, b] of png) console.log(`${n}×${n}: ${b.length} bytes`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();

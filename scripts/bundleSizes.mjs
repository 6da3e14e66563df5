// After `electron-vite build`: each output bundle's size, raw and gzipped, for the renderer, main
// and preload (out/renderer, out/main, out/preload), printed as a table and written to
// out/bundle-sizes.json. `npm run build` runs it; `node scripts/bundleSizes.mjs [outDir]` alone too.
// Bundles are the .js, .cjs, .mjs, .css and .html files (source maps and assets are not code).
import { readdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PARTS = ['renderer', 'main', 'preload'];
const BUNDLE = /\.(c|m)?js$|\.css$|\.html$/;

function walk(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.isFile() && BUNDLE.test(e.name)) out.push(p);
  }
  return out;
}

/**
 * The bundles under outDir/{renderer,main,preload}, sorted by part then path; a part whose folder
 * is missing is an error (the build did not write it).
 */
export function bundleSizes(outDir) {
  const files = [];
  const totals = {};
  for (const part of PARTS) {
    const dir = join(outDir, part);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`bundle sizes: ${dir} is missing (run electron-vite build first)`);
    const t = { files: 0, bytes: 0, gzipBytes: 0 };
    for (const p of walk(dir).sort()) {
      const data = readFileSync(p);
      const f = { part, file: relative(dir, p).split(sep).join('/'), bytes: data.length, gzipBytes: gzipSync(data, { level: 9 }).length };
      files.push(f);
      t.files += 1;
      t.bytes += f.bytes;
      t.gzipBytes += f.gzipBytes;
    }
    totals[part] = t;
  }
  return { files, totals };
}

const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;

/** The report as the build prints it: one line per bundle, then each part's total. */
export function formatSizes(report) {
  const rows = [['part', 'bundle', 'raw', 'gzip'], ...report.files.map((f) => [f.part, f.file, kib(f.bytes), kib(f.gzipBytes)])];
  for (const part of PARTS) {
    const t = report.totals[part];
    if (t) rows.push([part, `(total, ${t.files} files)`, kib(t.bytes), kib(t.gzipBytes)]);
  }
  const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => `${r[0].padEnd(w[0])}  ${r[1].padEnd(w[1])}  ${r[2].padStart(w[2])}  ${r[3].padStart(w[3])}`).join('\n');
}

/** Measures outDir, writes outDir/bundle-sizes.json and returns the report. */
export function writeBundleSizes(outDir) {
  const report = bundleSizes(outDir);
  writeFileSync(join(outDir, 'bundle-sizes.json'), JSON.stringify(report, null, 2) + '\n');
  return report;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = resolve(process.argv[2] ?? 'out');
  try {
    const report = writeBundleSizes(outDir);
    console.log(`bundle sizes (${relative(process.cwd(), join(outDir, 'bundle-sizes.json'))}):\n${formatSizes(report)}`);
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  }
}

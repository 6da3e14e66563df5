/**
 * Runs every benchmark in one process and prints a table (`npm run bench`). To add one, export
 * an `async function benchX(): Promise<BenchResult[]>` and list it in BENCHES.
 */
import { benchEndToEnd } from './endToEnd.bench.js';
import { benchMmu } from './mmu.bench.js';
import { benchParallel } from './parallel.bench.js';
import { benchScale } from './scale.bench.js';
import type { BenchResult } from './types.js';

const BENCHES: (() => Promise<BenchResult[]>)[] = [benchMmu, benchEndToEnd, benchScale, benchParallel];

/** `npm run bench -- parallel`: only the benchmarks whose function name contains a word given. */
const only = process.argv.slice(2).map((w) => w.toLowerCase());
const chosen = only.length === 0 ? BENCHES : BENCHES.filter((b) => only.some((w) => b.name.toLowerCase().includes(w)));

const rate = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M/s` : x >= 1e3 ? `${(x / 1e3).toFixed(2)} k/s` : `${x.toFixed(2)} /s`);

const rows: string[][] = [['benchmark', 'ops/s', 'baseline ops/s', 'ratio', 'note']];
for (const bench of chosen) {
  for (const r of await bench()) rows.push([r.name, rate(r.opsPerSec), rate(r.baselineOpsPerSec), r.ratio.toFixed(3), r.note]);
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows) console.log(r.map((c, i) => (i === 0 || i === 4 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));

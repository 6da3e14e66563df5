/**
 * The sweep chart's data: sweep points into one line per mode, where two lines cross, the axes
 * (an x scale that can space uneven sweep values evenly, a linear or log y), label rows for the
 * crossovers, marker shapes, and the sweep's CSV. Pure, like shape.ts.
 */
import type { PagingMode, SweepPoint } from '../../../../core/api/index.js';
import { MODE_LABEL, fmtInt, fmtNum } from '../format.js';
import { MODE_ORDER, niceTicks, toCsv } from './shape.js';

export interface XY {
  x: number;
  y: number;
}

export interface SweepLine {
  mode: PagingMode;
  points: XY[];
}

export function sweepLines(points: readonly Pick<SweepPoint, 'value' | 'mode' | 'cyclesPerOp'>[]): SweepLine[] {
  const by = new Map<PagingMode, XY[]>();
  for (const p of points) {
    const list = by.get(p.mode) ?? [];
    list.push({ x: p.value, y: p.cyclesPerOp });
    by.set(p.mode, list);
  }
  return [...by.entries()]
    .sort((a, b) => MODE_ORDER.indexOf(a[0]) - MODE_ORDER.indexOf(b[0]))
    .map(([mode, pts]) => ({ mode, points: pts.sort((a, b) => a.x - b.x) }));
}

export interface Crossover {
  /** The mode cheaper before the crossing (at smaller x)… */
  a: PagingMode;
  /** …and the one cheaper after it. */
  b: PagingMode;
  x: number;
  y: number;
}

/**
 * Where two modes' curves cross, by linear interpolation between neighbouring sweep values (the
 * curves are drawn as straight segments between the measured points, so this is where the drawn
 * lines meet). A curve equal to another over a stretch crosses where the stretch begins.
 */
export function crossoversOf(p: SweepLine, q: SweepLine): Crossover[] {
  const qy = new Map(q.points.map((pt) => [pt.x, pt.y]));
  const common = p.points.filter((pt) => qy.has(pt.x)).map((pt) => ({ x: pt.x, d: pt.y - qy.get(pt.x)!, y: pt.y }));
  const out: Crossover[] = [];
  let prev: { x: number; d: number; y: number } | null = null;
  let zeroRun: { x: number; y: number } | null = null;
  for (const c of common) {
    if (c.d === 0) {
      zeroRun ??= { x: c.x, y: c.y };
      continue;
    }
    if (prev && Math.sign(prev.d) !== Math.sign(c.d)) {
      // p cheaper before means p − q < 0 before.
      const [a, b] = prev.d < 0 ? [p.mode, q.mode] : [q.mode, p.mode];
      if (zeroRun) out.push({ a, b, x: zeroRun.x, y: zeroRun.y });
      else {
        const t = prev.d / (prev.d - c.d);
        out.push({ a, b, x: prev.x + t * (c.x - prev.x), y: prev.y + t * (c.y - prev.y) });
      }
    }
    prev = c;
    zeroRun = null;
  }
  return out;
}

export function crossovers(lines: readonly SweepLine[]): Crossover[] {
  const out: Crossover[] = [];
  for (let i = 0; i < lines.length; i++) for (let j = i + 1; j < lines.length; j++) out.push(...crossoversOf(lines[i]!, lines[j]!));
  return out.sort((u, v) => u.x - v.x);
}

// ---------------------------------------------------------------------------------------------
// Axes.

/**
 * An x scale for sweep values: linear, or "even" (the sweep values equally spaced, straight in
 * between, which keeps 0, 1, 2, 5 … 100 readable; interpolation within a segment is unchanged, so
 * crossovers stay on the drawn lines).
 */
export function xScale(values: readonly number[], kind: 'linear' | 'even', x0: number, x1: number): (v: number) => number {
  const xs = [...new Set(values)].sort((a, b) => a - b);
  if (xs.length < 2) return () => (x0 + x1) / 2;
  const lo = xs[0]!;
  const hi = xs[xs.length - 1]!;
  if (kind === 'linear') return (v) => x0 + ((v - lo) / (hi - lo)) * (x1 - x0);
  const step = (x1 - x0) / (xs.length - 1);
  return (v) => {
    if (v <= lo) return x0;
    if (v >= hi) return x1;
    let i = 0;
    while (xs[i + 1]! < v) i++;
    const t = (v - xs[i]!) / (xs[i + 1]! - xs[i]!);
    return x0 + (i + t) * step;
  };
}

/** Sweep values spread unevenly (0, 1, 2, 5, 10 … 100) read better evenly spaced. */
export function preferEven(values: readonly number[]): boolean {
  const xs = [...new Set(values)].sort((a, b) => a - b);
  if (xs.length < 3) return false;
  const gaps = xs.slice(1).map((x, i) => x - xs[i]!);
  return Math.max(...gaps) / Math.min(...gaps) > 4;
}

/** One row per sweep value, one cycles/op column per mode. */
export function sweepCsv(param: string, lines: readonly SweepLine[]): string {
  const xs = [...new Set(lines.flatMap((l) => l.points.map((p) => p.x)))].sort((a, b) => a - b);
  return toCsv(
    [param, ...lines.map((l) => `${l.mode}_cycles_per_op`)],
    xs.map((x) => [x, ...lines.map((l) => l.points.find((p) => p.x === x)?.y ?? '')]),
  );
}

// ---------------------------------------------------------------------------------------------
// Labels and marks.

/** A crossing's x as a reader wants it: two or three significant figures. */
export function approx(v: number): string {
  const a = Math.abs(v);
  if (a >= 100) return fmtInt(v);
  if (a >= 1 || a === 0) return fmtNum(v, 1);
  return fmtNum(v, 2);
}

/** "PV = shadow at ≈ 7.3 updates/1k". */
export function crossoverLabel(c: Crossover, unit: string): string {
  return `${MODE_LABEL[c.a] ?? c.a} = ${MODE_LABEL[c.b] ?? c.b} at ≈ ${approx(c.x)} ${unit}`;
}

/** A marker shape per mode (circle, square, triangle, diamond), so lines differ without colour. */
export function markerPath(mode: PagingMode, cx: number, cy: number, r: number): string {
  const f = (n: number) => n.toFixed(1);
  switch (mode) {
    case 'pv':
      return `M${f(cx - r)},${f(cy - r)}h${f(2 * r)}v${f(2 * r)}h${f(-2 * r)}Z`;
    case 'shadow':
      return `M${f(cx)},${f(cy - r * 1.2)}L${f(cx + r * 1.15)},${f(cy + r * 0.85)}L${f(cx - r * 1.15)},${f(cy + r * 0.85)}Z`;
    case 'hap':
      return `M${f(cx)},${f(cy - r * 1.3)}L${f(cx + r * 1.3)},${f(cy)}L${f(cx)},${f(cy + r * 1.3)}L${f(cx - r * 1.3)},${f(cy)}Z`;
    default:
      return `M${f(cx - r)},${f(cy)}a${f(r)},${f(r)} 0 1,0 ${f(2 * r)},0a${f(r)},${f(r)} 0 1,0 ${f(-2 * r)},0`;
  }
}

export interface LabelSlot {
  /** The label's left edge. */
  left: number;
  /** 0 for the row nearest the plot, then outwards. */
  row: number;
}

/**
 * Crossover labels go in a band of rows above the plot, each over its point (clamped to [x0, x1])
 * with a leader line down to it, so a label never covers a line: each takes the first row where
 * it overlaps no label already placed.
 */
export function labelRows(items: readonly { x: number; w: number }[], x0: number, x1: number, gap = 8): LabelSlot[] {
  const rows: { l: number; r: number }[][] = [];
  const order = items.map((it, i) => ({ ...it, i })).sort((a, b) => a.x - b.x);
  const out: LabelSlot[] = new Array(items.length);
  for (const it of order) {
    const left = Math.max(x0, Math.min(it.x - it.w / 2, x1 - it.w));
    let row = rows.findIndex((r) => r.every((o) => left >= o.r + gap || left + it.w + gap <= o.l));
    if (row < 0) row = rows.push([]) - 1;
    rows[row]!.push({ l: left, r: left + it.w });
    out[it.i] = { left, row };
  }
  return out;
}

/**
 * A legend's entries laid out left to right from `x0`, wrapping to a new row where the next one
 * would pass `x1` (an entry wider than the whole width gets a row of its own): each entry's left
 * edge (relative to x0) and row.
 */
export function flowLegend(widths: readonly number[], x0: number, x1: number, gap = 16): { x: number; row: number }[] {
  const out: { x: number; row: number }[] = [];
  let x = 0;
  let row = 0;
  for (const w of widths) {
    if (x > 0 && x0 + x + w > x1) {
      row += 1;
      x = 0;
    }
    out.push({ x, row });
    x += w + gap;
  }
  return out;
}

/** A y scale from `bottom` (pixel of the lowest value) to `top`: linear from 0, or log10. */
export function yScaleOf(kind: 'linear' | 'log', values: readonly number[], bottom: number, top: number): { map: (v: number) => number; ticks: number[] } {
  if (kind === 'log') {
    const pos = values.filter((v) => v > 0);
    const lo = Math.floor(Math.log10(pos.length ? Math.min(...pos) : 1));
    let hi = Math.ceil(Math.log10(pos.length ? Math.max(...pos) : 10));
    if (hi === lo) hi = lo + 1;
    const ticks: number[] = [];
    for (let e = lo; e <= hi; e++) for (const m of [1, 2, 5]) if (e < hi || m === 1) ticks.push(Number((m * 10 ** e).toPrecision(6)));
    const map = (v: number) => bottom - ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * (bottom - top);
    return { map, ticks };
  }
  const n = niceTicks(Math.max(0, ...values), 5);
  return { map: (v) => bottom - (v / n.max) * (bottom - top), ticks: n.ticks };
}

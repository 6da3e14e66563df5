/**
 * A saved run as History shows it again: its metric points back into snapshots (the Run view's
 * charts are drawn from those), its console chunks joined per console as plain text, and the
 * domains' modes for the chart legends. Everything here reads data from the store, which may come
 * from another version, an import or a hand edit: a missing or odd field gives a gap or a default,
 * never an exception.
 */
import type { ConsoleChunk, DomainMetrics, MetricSnapshot, PagingMode, RunDetail, SeriesPoint } from '../../../core/api/index.js';

const MODES: readonly PagingMode[] = ['native', 'pv', 'shadow', 'hap'];

/** A finite number, or NaN (a gap in the chart). */
function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : NaN;
}

/**
 * The saved points grouped back into one snapshot per time `t`, in time order, each with every
 * domain sampled then. Points that are not objects, or have no finite `t` or no domain name, are
 * skipped.
 */
export function snapshotsOf(series: readonly SeriesPoint[] | null | undefined): MetricSnapshot[] {
  const byT = new Map<number, DomainMetrics[]>();
  for (const p of Array.isArray(series) ? series : []) {
    if (!p || typeof p !== 'object' || typeof p.domain !== 'string' || !Number.isFinite(p.t)) continue;
    const v = (p.values && typeof p.values === 'object' ? p.values : {}) as Record<string, unknown>;
    const d: DomainMetrics = {
      name: p.domain,
      // Runs saved before these two were kept: every point counts as measured, as it was drawn then.
      state: v.running === 0 ? 'blocked' : 'running',
      ops: num(v.ops),
      cycles: num(v.cycles),
      tlbMissRate: num(v.tlbMissRate),
      refsPerWalk: num(v.refsPerWalk),
      exitsPerSec: num(v.exitsPerSec),
      hypercallsPerSec: num(v.hypercallsPerSec),
      cyclesPerOp: num(v.cyclesPerOp),
    };
    const at = byT.get(p.t);
    if (at) at.push(d);
    else byT.set(p.t, [d]);
  }
  return [...byT.entries()].sort((a, b) => a[0] - b[0]).map(([t, domains]) => ({ t, wallMs: 0, domains }));
}

/** The domains seen in the series, in order of first appearance. */
export function domainsOf(snapshots: readonly MetricSnapshot[]): string[] {
  const seen = new Set<string>();
  for (const s of snapshots) for (const d of s.domains) seen.add(d.name);
  return [...seen];
}

/** uPlot wants null for a gap; NaN or undefined would break the line's scale. */
export function gapsAsNull(data: (number | null)[][]): (number | null)[][] {
  return data.map((col) => col.map((v) => (typeof v === 'number' && Number.isFinite(v) ? v : null)));
}

/**
 * Each domain's paging mode, from the run's results if it has them, else from the scenario
 * snapshot (dom0 is a PV domain); a domain found in neither is shown as PV.
 */
export function modeOf(run: Pick<RunDetail, 'results' | 'scenario'>, name: string): PagingMode {
  const fromResults = run.results?.domains?.find?.((d) => d?.name === name)?.mode;
  if (fromResults && MODES.includes(fromResults)) return fromResults;
  const doms = (run.scenario as { domains?: unknown } | null)?.domains;
  if (Array.isArray(doms)) {
    const d = doms.find((x) => x && typeof x === 'object' && (x as { name?: unknown }).name === name) as { mode?: unknown; role?: unknown } | undefined;
    if (d && MODES.includes(d.mode as PagingMode)) return d.mode as PagingMode;
  }
  return 'pv';
}

/**
 * Terminal output as plain text: ANSI escape sequences (colours, cursor moves, titles) removed,
 * backspaces applied, CR LF as LF, and a lone CR (a line redrawn in place) dropped.
 */
export function plainText(raw: string): string {
  const noEsc = raw
    // OSC … BEL or ST (window titles)
    .replace(/\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g, '')
    // CSI sequences (colours, cursor, erase)
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, '')
    // Any other two-character escape
    .replace(/\x1b[@-Z\\-_]/g, '')
    .replace(/\r\n/g, '\n')
    .replace(/\r/g, '');
  if (!noEsc.includes('\b')) return noEsc;
  const out: string[] = [];
  for (const ch of noEsc) {
    if (ch === '\b') {
      if (out.length && out[out.length - 1] !== '\n') out.pop();
    } else out.push(ch);
  }
  return out.join('');
}

export interface ConsoleLog {
  console: string;
  text: string;
}

/** The chunks joined per console, consoles in the order they first wrote (xen, dom0 first if present). */
export function consoleLogs(chunks: readonly ConsoleChunk[] | null | undefined): ConsoleLog[] {
  const by = new Map<string, string[]>();
  for (const c of Array.isArray(chunks) ? chunks : []) {
    if (!c || typeof c.console !== 'string' || typeof c.text !== 'string') continue;
    const list = by.get(c.console);
    if (list) list.push(c.text);
    else by.set(c.console, [c.text]);
  }
  const rank = (n: string) => (n === 'xen' ? 0 : n === 'dom0' ? 1 : 2);
  return [...by.entries()]
    .map(([console, parts]) => ({ console, text: plainText(parts.join('')) }))
    .sort((a, b) => rank(a.console) - rank(b.console));
}

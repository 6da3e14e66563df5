/**
 * The walk view's logic, free of Svelte and the DOM: where each reference of a traced walk sits in
 * the guest × host grid (DESIGN.md §3, claim C7), the architectural count it is measured against,
 * the stepping rules, the address field's validation, and the what-if copy of the scenario a walk
 * is requested on (the scenario being edited is never touched unless the user applies it).
 */
import type { PagingMode, Problem, ScenarioInput, WalkRefServer, WalkTrace, WalkTraceRef } from '../../../core/api/index.js';
import { DEFAULT_MMU_CONFIG } from '../../../core/api/index.js';

export type PageSize = '4k' | '2m' | '1g';
export const PAGE_SIZES: readonly PageSize[] = ['4k', '2m', '1g'];
export const PAGE_SIZE_LABEL: Record<PageSize, string> = { '4k': '4 KiB', '2m': '2 MiB', '1g': '1 GiB' };

/** Table levels walked to reach a leaf of this size in a 4-level x86-64 (or EPT) table. */
export const LEVELS_FOR: Record<PageSize, number> = { '4k': 4, '2m': 3, '1g': 2 };

/** The manual's name of the table at each level. */
const TABLE_NAME: Record<number, string> = { 4: 'PML4', 3: 'PDPT', 2: 'PD', 1: 'PT' };

export interface GridAxis {
  /** The level this row or column stands for: 4..1, or 0 (the data gPA row, the read column). */
  level: number;
  label: string;
  /** A second, smaller line under the label. */
  sub: string;
  title: string;
}

export interface GridPos {
  row: number;
  col: number;
}

export interface WalkGrid {
  kind: WalkTrace['kind'];
  rows: GridAxis[];
  cols: GridAxis[];
  /** cells[row][col]: the reference made there, or null where this walk makes none. */
  cells: (WalkTraceRef | null)[][];
  /** pos[n − 1]: where reference n sits. */
  pos: GridPos[];
}

function levelsDown(lowest: number): number[] {
  const out: number[] = [];
  for (let l = 4; l >= Math.max(1, Math.min(4, lowest)); l--) out.push(l);
  return out;
}

/** The lowest level of a table walk with `count` levels, or lower if a reference went lower. */
function lowestLevel(count: number, seen: number[]): number {
  const fromCount = 5 - Math.max(1, Math.min(4, count || 4));
  return Math.min(fromCount, ...seen.filter((l) => l > 0));
}

const ONED_ROW: Record<PagingMode, string> = {
  native: 'page tables',
  pv: 'guest tables',
  shadow: 'shadow tables',
  hap: 'guest tables',
};
const MODE_SUB: Record<PagingMode, string> = { native: 'native', pv: 'PV, direct', shadow: 'shadow', hap: 'HAP' };
const ONED_TITLE: Record<PagingMode, string> = {
  native: 'the native page tables, read straight from memory',
  pv: "the PV guest's own tables: it writes machine frame numbers, Xen validates every update",
  shadow: "Xen's shadow tables, kept in step with the guest's; the hardware walks these",
  hap: 'the guest tables',
};

/**
 * The grid of a trace. Nested: rows gL4 … gLn then the data gPA, columns hL4 … hLm then the read
 * of the guest entry itself; large pages drop the low rows or columns. One-dimensional: one row,
 * a column per level.
 */
export function walkGrid(trace: WalkTrace): WalkGrid {
  let rows: GridAxis[];
  let cols: GridAxis[];
  if (trace.kind === 'nested') {
    const g = levelsDown(lowestLevel(trace.guestLevels, trace.refs.map((r) => r.guestLevel)));
    const h = levelsDown(lowestLevel(trace.hostLevels, trace.refs.map((r) => r.hostLevel)));
    rows = [
      ...g.map((l) => ({ level: l, label: `gL${l}`, sub: `guest ${TABLE_NAME[l]}`, title: `guest ${TABLE_NAME[l]} entry: its gPA goes through the EPT, then it is read` })),
      { level: 0, label: 'data gPA', sub: 'final gPA', title: 'the guest-physical address the guest tables produced, translated through the EPT' },
    ];
    cols = [
      ...h.map((l) => ({ level: l, label: `hL${l}`, sub: `EPT ${TABLE_NAME[l]}`, title: `EPT ${TABLE_NAME[l]} entry` })),
      { level: 0, label: 'read', sub: 'guest entry', title: 'the guest entry itself, read at the machine address the EPT gave' },
    ];
  } else {
    const g = levelsDown(lowestLevel(trace.guestLevels, trace.refs.map((r) => r.guestLevel)));
    rows = [{ level: -1, label: ONED_ROW[trace.mode], sub: MODE_SUB[trace.mode], title: ONED_TITLE[trace.mode] }];
    cols = g.map((l) => ({ level: l, label: `L${l}`, sub: TABLE_NAME[l]!, title: `${TABLE_NAME[l]} entry` }));
  }
  const cells: (WalkTraceRef | null)[][] = rows.map(() => cols.map(() => null));
  const pos: GridPos[] = [];
  for (const ref of trace.refs) {
    const row = trace.kind === 'nested' ? rows.findIndex((r) => r.level === ref.guestLevel) : 0;
    const col = cols.findIndex((c) => c.level === (trace.kind === 'nested' ? ref.hostLevel : ref.guestLevel));
    if (row < 0 || col < 0) throw new Error(`reference ${ref.n} (guest level ${ref.guestLevel}, host level ${ref.hostLevel}) has no place in the grid`);
    cells[row]![col] = ref;
    pos[ref.n - 1] = { row, col };
  }
  return { kind: trace.kind, rows, cols, cells, pos };
}

/** Where reference `n` (1-based) sits, or null if the walk has no such reference. */
export function cellOf(grid: WalkGrid, n: number): GridPos | null {
  return grid.pos[n - 1] ?? null;
}

/** Guest and host levels the hardware walks for a mode and its page sizes (m = 0: one dimension). */
export function walkLevels(mode: PagingMode, guestPageSize: PageSize, hostPageSize: PageSize): { n: number; m: number } {
  if (mode === 'hap') return { n: LEVELS_FOR[guestPageSize], m: LEVELS_FOR[hostPageSize] };
  // PV gets no superpages; shadow splinters a guest superpage into 4 KiB shadow L1s.
  if (mode === 'pv' || mode === 'shadow') return { n: 4, m: 0 };
  return { n: LEVELS_FOR[guestPageSize], m: 0 };
}

/** The architectural reference count, before any cache helps: (n+1)(m+1)−1 nested, n in 1D. */
export function expectedRefs(n: number, m: number): number {
  return m === 0 ? n : (n + 1) * (m + 1) - 1;
}

/** The count written out, e.g. '(4+1)(4+1)−1 = 24' or '4 levels = 4'. */
export function refFormula(n: number, m: number): string {
  return m === 0 ? `${n} level${n === 1 ? '' : 's'} = ${n}` : `(${n}+1)(${m}+1)−1 = ${expectedRefs(n, m)}`;
}

export interface SourceInfo {
  /** The label a cell shows. */
  short: string;
  long: string;
  /** False for a reference a cache hit lets the walker skip. */
  made: boolean;
  explain: string;
}

export const SOURCES: Record<WalkRefServer, SourceInfo> = {
  memory: { short: 'memory', long: 'memory', made: true, explain: 'made: a data-cache miss, so a DRAM access' },
  'data-cache': { short: 'data cache', long: 'data cache', made: true, explain: 'made: the 64-byte line holding this entry (and 7 neighbours) was cached' },
  psc: { short: 'PSC', long: 'paging-structure cache', made: false, explain: 'skipped: a paging-structure-cache hit handed the walker a lower table' },
  'nested-tlb': { short: 'nested TLB', long: 'nested TLB', made: false, explain: 'skipped: a nested-TLB hit gave the gPA → hPA translation without an EPT walk' },
};
export const SOURCE_ORDER: readonly WalkRefServer[] = ['memory', 'data-cache', 'psc', 'nested-tlb'];

/** How many of the first `upTo` references each source served. */
export function countSources(refs: readonly WalkTraceRef[], upTo: number): Record<WalkRefServer, number> {
  const out: Record<WalkRefServer, number> = { memory: 0, 'data-cache': 0, psc: 0, 'nested-tlb': 0 };
  for (const r of refs) if (r.n <= upTo) out[r.servedBy]++;
  return out;
}

/** What reference `ref` reads, in words. */
export function describeRef(ref: WalkTraceRef, kind: WalkTrace['kind']): string {
  const g = TABLE_NAME[ref.guestLevel];
  if (kind === 'oned') return `the ${g} entry (level ${ref.guestLevel}) for the virtual address`;
  const h = TABLE_NAME[ref.hostLevel];
  if (ref.hostLevel === 0) return `the guest's ${g} entry itself, at the machine address the EPT gave`;
  if (ref.guestLevel === 0) return `EPT ${h} entry (level ${ref.hostLevel}) translating the final guest-physical address`;
  return `EPT ${h} entry (level ${ref.hostLevel}) translating the gPA of the guest's ${g} table`;
}

export type StepAction = 'step' | 'back' | 'reset' | 'end';

/** The step after `action`, 0 (nothing shown) … total (every reference shown). */
export function applyStep(step: number, total: number, action: StepAction): number {
  switch (action) {
    case 'step':
      return Math.min(total, step + 1);
    case 'back':
      return Math.max(0, step - 1);
    case 'reset':
      return 0;
    case 'end':
      return total;
  }
}

/** The grid's keys: → step, ← back, Home reset, End to the end, Space play or pause. */
export function keyAction(key: string): StepAction | 'toggle' | null {
  switch (key) {
    case 'ArrowRight':
      return 'step';
    case 'ArrowLeft':
      return 'back';
    case 'Home':
      return 'reset';
    case 'End':
      return 'end';
    case ' ':
    case 'Spacebar':
      return 'toggle';
    default:
      return null;
  }
}

/** An entry or address with its leading zeros dropped, for a cell: '0x0000000042001007' → '0x42001007'. */
export function shortHex(h: string): string {
  const m = /^0x0*([0-9a-f]+)$/i.exec(h);
  return m ? `0x${m[1]!.toLowerCase()}` : h;
}

export type VaParse = { ok: true; va: string | undefined } | { ok: false; message: string };

const VA_BITS = 48n;
const VA_MASK = (1n << VA_BITS) - 1n;

/**
 * The address field: empty means "the first mapped page"; otherwise a canonical 48-bit virtual
 * address in hex, either in the lab's 48-bit form (at most 12 digits, as the candidates are
 * written) or sign-extended to 64 bits (13–16 digits, bits 63–48 copies of bit 47, e.g.
 * 0xffff880000000000). Returns the 48-bit form the walker takes.
 */
export function parseVaInput(text: string): VaParse {
  const t = text.trim().replace(/_/g, '');
  if (t === '') return { ok: true, va: undefined };
  const digits = t.replace(/^0x/i, '');
  if (!/^[0-9a-f]+$/i.test(digits)) return { ok: false, message: `"${text.trim()}" is not hex: use digits 0–9 and a–f, e.g. 0x7effff800000` };
  if (digits.length > 16) return { ok: false, message: 'too long: a virtual address has at most 16 hex digits (64 bits)' };
  const v = BigInt(`0x${digits}`);
  // More than 12 digits is the 64-bit form: bits 63–48 must copy bit 47.
  if (digits.length > 12) {
    const upper = v >> VA_BITS;
    const bit47 = (v >> 47n) & 1n;
    if (upper !== (bit47 === 1n ? 0xffffn : 0n)) {
      return { ok: false, message: 'not canonical: bits 63–48 must all copy bit 47 (0x00007… below the hole, 0xffff8… above)' };
    }
  }
  return { ok: true, va: `0x${(v & VA_MASK).toString(16)}` };
}

/** The settings a walk can change on its copy of the scenario. */
export interface WalkSettings {
  psc: boolean;
  nestedTlb: boolean;
  guestPageSize: PageSize;
  hostPageSize: PageSize;
}

export interface GuestDomain {
  name: string;
  mode: PagingMode;
  /** Index in scenario.domains (problems are reported by it). */
  index: number;
}

/** The domains a walk can be traced in: every domain that is not dom0. */
export function guestDomains(s: ScenarioInput): GuestDomain[] {
  return (s.domains ?? []).flatMap((d, index) => (d.role === 'dom0' ? [] : [{ name: d.name, mode: d.mode, index }]));
}

/** The settings as the scenario has them (defaults where it says nothing). */
export function scenarioSettings(s: ScenarioInput, domain: string): WalkSettings {
  const d = s.domains.find((x) => x.name === domain);
  const mmu = s.machine?.mmu;
  return {
    psc: mmu?.psc?.enabled ?? DEFAULT_MMU_CONFIG.psc.enabled,
    nestedTlb: mmu?.nestedTlb?.enabled ?? DEFAULT_MMU_CONFIG.nestedTlb.enabled,
    guestPageSize: (d?.guestPageSize ?? '4k') as PageSize,
    hostPageSize: (d?.hostPageSize ?? '4k') as PageSize,
  };
}

/** A copy of `s` with `settings` applied to the machine and to `domain`; `s` is not changed. */
export function walkVariant(s: ScenarioInput, domain: string, settings: WalkSettings): ScenarioInput {
  const out = structuredClone(s);
  const mmu = { ...(out.machine.mmu ?? {}) };
  mmu.psc = { ...(mmu.psc ?? {}), enabled: settings.psc };
  mmu.nestedTlb = { ...(mmu.nestedTlb ?? {}), enabled: settings.nestedTlb };
  out.machine = { ...out.machine, mmu };
  out.domains = out.domains.map((d) => (d.name === domain ? { ...d, guestPageSize: settings.guestPageSize, hostPageSize: settings.hostPageSize } : d));
  return out;
}

export interface SortedProblems {
  guestPageSize: string | null;
  hostPageSize: string | null;
  other: Problem[];
}

/** Problems of a walk's scenario, the page-size ones taken out to be shown at their fields. */
export function sortProblems(problems: readonly Problem[], domainIndex: number): SortedProblems {
  const out: SortedProblems = { guestPageSize: null, hostPageSize: null, other: [] };
  for (const p of problems) {
    if (p.path === `domains[${domainIndex}].guestPageSize`) out.guestPageSize ??= p.message;
    else if (p.path === `domains[${domainIndex}].hostPageSize`) out.hostPageSize ??= p.message;
    else out.other.push(p);
  }
  return out;
}

/** A page size in bytes as the lab writes it: '4 KiB', '2 MiB', '1 GiB'. */
export function fmtPageSize(bytes: number): string {
  if (bytes >= 2 ** 30) return `${bytes / 2 ** 30} GiB`;
  if (bytes >= 2 ** 20) return `${bytes / 2 ** 20} MiB`;
  return `${bytes / 1024} KiB`;
}

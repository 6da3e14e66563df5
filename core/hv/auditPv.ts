/**
 * The PV part of the auditor: general and type counts equal the references found in validated
 * tables, pins and base pointers; no writable mapping of a frame in use as a page table; no
 * mapping of a frame the domain does not own; every table in use is validated.
 *
 * It visits only the domain's own frames (its page list), so its cost follows what it owns, not
 * the size of the machine. A frame's recount lives at its page-list position. The recount is
 * the sum of what each of the domain's tables contributes (pass 1) plus the base pointers; pass 2
 * compares it with the frame table, frame by frame. Both passes work one table or one frame at a
 * time, so an incremental auditor can keep a domain's PvRecount and redo only the tables and
 * frames a step wrote (see PvRecount.update): the result is the one a full pass gives.
 */
import { GNTMAP_device_map, GNTMAP_host_map } from '../api/public/grant_table.js';
import { ENTRIES_PER_TABLE } from '../base/types.js';
import { PTE_P, PTE_RW, pteFrame } from '../machine/pte.js';
import type { Domain } from './domain.js';
import type { Hypervisor } from './hypervisor.js';
import { FT_CHUNK_MASK, FT_CHUNK_SHIFT, PGT_l1_page_table, PGT_l4_page_table, PGT_NAMES, PGT_pinned, PGT_validated, PGT_writable_page, type FrameTableChunk } from './mm/frameTable.js';
import { isGuestL4Slot } from './mm/pageType.js';

/** A PV finding, keyed so that findings of several domains merge into mfn order. */
export interface Found {
  pass: number;
  mfn: number;
  text: string;
}

const COUNT = 0;
const TYPE_REFS = 1;
const WRITABLE = 2;
const LINEAR_HELD = 3;
const LINEAR_USES = 4;
const FIELDS = 5;

/** What one table adds to the recount: slots of `s` to increment (repeats allowed), and what it found. */
interface TableContribution {
  incs: number[];
  found: Found[];
  entries: number;
}

function nameOf(xen: Hypervisor, id: number): string {
  for (const x of xen.domains) if (x.domid === id) return x.name;
  return `d${id}`;
}

/**
 * The grants as the PV recount of one domain needs them: the foreign frames it has mapped by grant
 * into its page tables (mfn → how many read-only and writable host mappings the hostMapper
 * installed), and the references mappings of its own frames hold (page-list position → general
 * references, writable type references), as map_grant_ref takes them.
 */
interface GrantView {
  mapped: Map<number, { ro: number; rw: number }>;
  refs: [pos: number, count: number, writable: number][];
  /** The mapped set, as a string, to notice when it changes between incremental audits. */
  key: string;
}

function grantView(xen: Hypervisor, d: Domain): GrantView {
  const mapped = new Map<number, { ro: number; rw: number }>();
  const refs: [number, number, number][] = [];
  const ft = xen.ft;
  for (const g of xen.gnttab.mappings()) {
    if (g.mapper === d.domid && g.installed) {
      let e = mapped.get(g.mfn);
      if (!e) mapped.set(g.mfn, (e = { ro: 0, rw: 0 }));
      e[g.readonly ? 'ro' : 'rw']++;
    }
    if (ft.owner(g.mfn) !== d.domid) continue;
    const dev = g.flags & GNTMAP_device_map ? 1 : 0;
    const host = g.flags & GNTMAP_host_map ? 1 : 0;
    // The granter is this PV domain: a writable host mapping holds a type reference too.
    refs.push([ft.listPos(g.mfn), dev + host, g.readonly ? 0 : dev + host]);
  }
  const key = [...mapped].map(([m, e]) => `${m}:${e.ro}:${e.rw}`).sort().join(',');
  return { mapped, refs, key };
}

/** Pass 1 for one frame of `owner`: null unless it is in use as a page table. */
function tableContribution(xen: Hypervisor, owner: number, m: number, pos: number, grants: GrantView): TableContribution | null {
  const { ft, mem } = xen;
  const n = ft.nrFrames;
  const ch = ft.peek(m);
  const mi = m & FT_CHUNK_MASK;
  const t = ch.type[mi]!;
  if (t < PGT_l1_page_table || t > PGT_l4_page_table || ch.typeCount[mi] === 0) return null;
  const r: TableContribution = { incs: [], found: [], entries: 0 };
  if (!(ch.flags[mi]! & PGT_validated)) {
    r.found.push({ pass: 1, mfn: m, text: `mfn ${m} (${nameOf(xen, owner)}) is in use as ${PGT_NAMES[t]} but not validated` });
    return r;
  }
  const f = mem.frame(m);
  if (f === undefined) return r;
  // A table's entries mostly map neighbouring frames: keep the last target's chunk.
  let lastChunk = -1;
  let tc: FrameTableChunk | null = null;
  for (let i = 0; i < ENTRIES_PER_TABLE; i++) {
    const lo = f[i << 1]!;
    if (!(lo & PTE_P)) continue;
    if (t === PGT_l4_page_table && !isGuestL4Slot(i)) continue;
    r.entries++;
    const target = pteFrame(lo, f[(i << 1) | 1]!);
    if (target >= n) {
      tc = null;
      lastChunk = -1;
    } else if (target >>> FT_CHUNK_SHIFT !== lastChunk) {
      lastChunk = target >>> FT_CHUNK_SHIFT;
      tc = ft.peek(target);
    }
    const ti = target & FT_CHUNK_MASK;
    if (tc === null || tc.owner[ti] !== owner) {
      // A frame it does not own is allowed in an L1 only as a grant host mapping it holds, with
      // the access it was granted (its references are the grant's, not the entry's).
      const g = t === PGT_l1_page_table ? grants.mapped.get(target) : undefined;
      if (g && (lo & PTE_RW ? g.rw : g.ro + g.rw) > 0) {
        if (lo & PTE_RW || g.ro > 0) continue;
        r.found.push({ pass: 1, mfn: m, text: `${nameOf(xen, owner)}: l1 mfn ${m} entry ${i} maps granted mfn ${target} read-only, but its grant mapping is writable` });
        continue;
      }
      if (g) {
        r.found.push({ pass: 1, mfn: m, text: `${nameOf(xen, owner)}: l1 mfn ${m} entry ${i} maps granted mfn ${target} writable, but it was mapped read-only` });
        continue;
      }
      r.found.push({ pass: 1, mfn: m, text: `${nameOf(xen, owner)}: ${PGT_NAMES[t]} mfn ${m} entry ${i} maps mfn ${target}, which it does not own` });
      continue;
    }
    const o = tc.listPos[ti]! * FIELDS;
    if (t === PGT_l1_page_table) {
      r.incs.push(o + COUNT);
      if (lo & PTE_RW) r.incs.push(o + WRITABLE);
      continue;
    }
    const isLinear = target === m || tc.type[ti] === t;
    if (isLinear && lo & PTE_RW) {
      r.found.push({ pass: 1, mfn: m, text: `${nameOf(xen, owner)}: ${PGT_NAMES[t]} mfn ${m} entry ${i} is a writable linear mapping of ${PGT_NAMES[t]} mfn ${target}` });
    }
    if (target !== m) {
      r.incs.push(o + COUNT, o + TYPE_REFS);
      if (isLinear) r.incs.push(pos * FIELDS + LINEAR_HELD, o + LINEAR_USES);
    }
  }
  return r;
}

/**
 * Pass 2 for one frame: its frame-table entry against its recount `s` at `o`. Returns what it
 * found, or null (most frames: plain memory mapped once, consistently). No closures here: it runs
 * for every frame of a domain.
 */
function frameFindings(xen: Hypervisor, who: string, m: number, s: Int32Array, o: number): Found[] | null {
  const ch = xen.ft.peek(m);
  const mi = m & FT_CHUNK_MASK;
  const count = s[o + COUNT]!;
  const typeRefs = s[o + TYPE_REFS]!;
  const writable = s[o + WRITABLE]!;
  const linearHeld = s[o + LINEAR_HELD]!;
  const linearUses = s[o + LINEAR_USES]!;
  const t = ch.type[mi]!;
  const typeCount = ch.typeCount[mi]!;
  const pinned = ch.flags[mi]! & PGT_pinned ? 1 : 0;
  const expCount = count + pinned;
  const isTable = t >= PGT_l1_page_table && t <= PGT_l4_page_table && typeCount > 0;
  if (ch.count[mi] === expCount && !isTable && t !== PGT_writable_page && writable === 0 && (linearHeld === 0 || linearUses === 0)) return null;
  const texts: string[] = [];
  if (ch.count[mi] !== expCount) texts.push(`mfn ${m} has count ${ch.count[mi]} but ${expCount} references (tables, pins, base pointers)`);
  if (linearHeld > 0 && linearUses > 0) texts.push(`mfn ${m} both holds linear entries and is mapped linearly (chained linear page tables)`);
  if (isTable && ch.linear[mi] !== linearUses - linearHeld) texts.push(`mfn ${m} has linear count ${ch.linear[mi]} but ${linearUses - linearHeld} from the tables`);
  if (isTable && writable > 0) texts.push(`mfn ${m} is a ${PGT_NAMES[t]} page table with ${writable} writable mapping(s)`);
  if (t === PGT_writable_page) {
    if (typeCount !== writable) texts.push(`mfn ${m} has writable type count ${typeCount} but ${writable} writable mappings`);
  } else if (isTable) {
    const exp = typeRefs + pinned;
    if (typeCount !== exp) texts.push(`mfn ${m} (${PGT_NAMES[t]}) has type count ${typeCount} but ${exp} references`);
  } else if (writable > 0) {
    texts.push(`mfn ${m} is mapped writable ${writable} time(s) but has type ${PGT_NAMES[t]} count ${typeCount}`);
  }
  if (texts.length === 0) return null;
  const out: Found[] = [];
  for (const text of texts) out.push({ pass: 2, mfn: m, text: `${who}: ${text}` });
  return out;
}

/** Positions (in `d`'s page list) of the base pointers of PV domains that run on an L4 `d` owns. */
function basePointers(xen: Hypervisor, d: Domain, pv: readonly Domain[]): number[] {
  const out: number[] = [];
  for (const e of pv) if (e.guestCr3 >= 0 && xen.ft.owner(e.guestCr3) === d.domid) out.push(xen.ft.listPos(e.guestCr3));
  return out;
}

/** A PV domain's recount and findings, kept so that a later audit can redo only what changed. */
export class PvRecount {
  /** Recount without the base pointers, FIELDS per page-list position. */
  private s = new Int32Array(0);
  private readonly tables = new Map<number, TableContribution>();
  /** Pass-2 findings by page-list position (only frames with something to say). */
  private readonly frames = new Map<number, Found[]>();
  /** Each frame's type as pass 1 last saw it (pass 1 of a table reads its targets' types). */
  private types = new Uint8Array(0);
  private bases: number[] = [];
  /** What the grants added to the recount at the last audit (page-list positions) and the mapped set's key. */
  private grantRefs: GrantView['refs'] = [];
  private grantKey = '';
  private size = -1;

  constructor(
    private readonly xen: Hypervisor,
    private readonly d: Domain,
  ) {}

  /** Audits every frame of the domain. */
  full(pv: readonly Domain[]): { found: Found[]; frames: number; entries: number } {
    const { xen, d } = this;
    const ft = xen.ft;
    const owned = ft.ownedFrames(d.domid);
    this.size = owned.length;
    this.s = new Int32Array(owned.length * FIELDS);
    this.types = new Uint8Array(owned.length);
    this.tables.clear();
    this.frames.clear();
    const grants = grantView(xen, d);
    this.grantKey = grants.key;
    this.grantRefs = grants.refs;
    for (let k = 0; k < owned.length; k++) {
      const m = owned[k]!;
      this.types[k] = ft.type(m);
      const c = tableContribution(xen, d.domid, m, k, grants);
      if (c === null) continue;
      this.tables.set(m, c);
      for (const i of c.incs) this.s[i]++;
    }
    this.bases = basePointers(xen, d, pv);
    this.addHeld(1);
    const who = nameOf(xen, d.domid);
    for (let k = 0; k < owned.length; k++) this.redoFrame(who, owned[k]!, k);
    this.addHeld(-1);
    return this.report();
  }

  /**
   * Audits again after a step that wrote `written` (frames whose contents or frame-table entry
   * changed; any frame, the domain's or not). Falls back to full() when the page list's length
   * changed or a frame of the domain changed type: a table's contribution depends on its targets'
   * types. A frame that changed owner can reorder the page list without changing its length:
   * after one, call full() (the Auditor does, on the frame table's ownersMoved).
   */
  update(pv: readonly Domain[], written: Iterable<number>): { found: Found[]; frames: number; entries: number } {
    const { xen, d } = this;
    const ft = xen.ft;
    if (ft.ownedCount(d.domid) !== this.size) return this.full(pv);
    // Which foreign frames its tables may map depends on its grant mappings, not on memory.
    const grants = grantView(xen, d);
    if (grants.key !== this.grantKey) return this.full(pv);
    const mine: number[] = [];
    for (const m of written) {
      if (ft.owner(m) !== d.domid) continue;
      if (ft.type(m) !== this.types[ft.listPos(m)]) return this.full(pv);
      mine.push(m);
    }
    const redo = new Set<number>();
    for (const m of mine) {
      redo.add(ft.listPos(m));
      const old = this.tables.get(m);
      if (old) {
        for (const i of old.incs) {
          this.s[i]--;
          redo.add((i / FIELDS) | 0);
        }
        this.tables.delete(m);
      }
      const c = tableContribution(xen, d.domid, m, ft.listPos(m), grants);
      if (c === null) continue;
      this.tables.set(m, c);
      for (const i of c.incs) {
        this.s[i]++;
        redo.add((i / FIELDS) | 0);
      }
    }
    const bases = basePointers(xen, d, pv);
    for (const p of this.bases) redo.add(p);
    for (const p of bases) redo.add(p);
    for (const [p] of this.grantRefs) redo.add(p);
    for (const [p] of grants.refs) redo.add(p);
    this.bases = bases;
    this.grantRefs = grants.refs;
    this.addHeld(1);
    const who = nameOf(xen, d.domid);
    const owned = ft.ownedFrames(d.domid);
    for (const k of redo) this.redoFrame(who, owned[k]!, k);
    this.addHeld(-1);
    return this.report();
  }

  /** Adds (by 1) or takes back (by -1) what base pointers and grant mappings hold on the domain's frames. */
  private addHeld(by: number): void {
    for (const p of this.bases) this.addBase(p, by);
    for (const [p, count, writable] of this.grantRefs) {
      this.s[p * FIELDS + COUNT] += by * count;
      this.s[p * FIELDS + WRITABLE] += by * writable;
    }
  }

  private addBase(pos: number, by: number): void {
    this.s[pos * FIELDS + COUNT] += by;
    this.s[pos * FIELDS + TYPE_REFS] += by;
  }

  private redoFrame(who: string, m: number, k: number): void {
    const out = frameFindings(this.xen, who, m, this.s, k * FIELDS);
    if (out !== null) this.frames.set(k, out);
    else if (this.frames.size > 0) this.frames.delete(k);
  }

  /** Pass-1 findings in page-list order, then pass-2 findings in page-list order, as a full scan finds them. */
  private report(): { found: Found[]; frames: number; entries: number } {
    const ft = this.xen.ft;
    const found: Found[] = [];
    let frames = 0;
    let entries = 0;
    const byPos = [...this.tables.entries()].map(([m, c]) => [ft.listPos(m), c] as const).sort((a, b) => a[0] - b[0]);
    for (const [, c] of byPos) {
      frames++;
      entries += c.entries;
      for (const f of c.found) found.push(f);
    }
    for (const k of [...this.frames.keys()].sort((a, b) => a - b)) for (const f of this.frames.get(k)!) found.push(f);
    return { found, frames, entries };
  }
}

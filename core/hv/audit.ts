/**
 * The auditor: recomputes every reference count and type from the tables themselves and checks
 * the isolation invariants (DESIGN.md §4). It shares no bookkeeping with the code it checks:
 * it reads machine memory and compares against what the hypervisor and the kernel recorded.
 *
 *  PV      general and type counts equal the references found in validated tables, pins and base
 *          pointers; no writable mapping of a frame in use as a page table; no mapping of a frame
 *          the domain does not own; every table in use is validated.
 *  shadow  no writable shadow mapping of an in-sync guest table; shadow L1s agree with the guest
 *          through the p2m; shadow reference counts equal references.
 *  hap     every EPT leaf maps only frames the domain owns.
 * What runs inside a domain is not Xen's to audit: the caller (vm/audit.ts) passes a GuestAudit
 * that checks each guest kernel's own counts, and its findings follow the domain's.
 */
import type { AuditResult } from '../api/results.js';
import { ENTRIES_PER_TABLE } from '../base/types.js';
import { EPT_PS, EPT_RWX, PTE_P, PTE_RW, pteFrame } from '../machine/pte.js';
import type { Domain } from './domain.js';
import type { Hypervisor } from './hypervisor.js';
import { DOMID_XEN, FT_CHUNK_MASK, FT_CHUNK_SHIFT, type FrameTableChunk, PGT_l1_page_table, PGT_l4_page_table, PGT_NAMES, PGT_pinned, PGT_validated, PGT_writable_page } from './mm/frameTable.js';
import { isGuestL4Slot } from './mm/pageType.js';

/** Checks what runs inside a domain (its guest kernel) and appends what it finds to `out`. */
export type GuestAudit = (d: Domain, out: string[]) => void;

export function audit(xen: Hypervisor, guest?: GuestAudit): AuditResult {
  const parts = new Map<Domain, DomainAudit>();
  const pv = xen.domains.filter((d) => d.mode === 'pv');
  for (const d of xen.domains) parts.set(d, auditDomain(xen, d, pv, guest));
  // The page lists the per-domain passes rely on must agree with the owners.
  return compose(xen, parts, xen.ft.checkPageLists());
}

/** A PV finding, keyed so that findings of several domains merge into mfn order. */
interface Found {
  pass: number;
  mfn: number;
  text: string;
}

/** What auditing one domain found: its PV findings, then the rest (shadow, EPT, kernel). */
interface DomainAudit {
  pv: Found[];
  rest: string[];
  frames: number;
  entries: number;
}

function auditDomain(xen: Hypervisor, d: Domain, pv: readonly Domain[], guest: GuestAudit | undefined): DomainAudit {
  const r: DomainAudit = { pv: [], rest: [], frames: 0, entries: 0 };
  if (d.mode === 'pv') auditPv(xen, d, pv, r);
  if (d.shadow) for (const v of d.shadow.audit((m) => xen.ft.owner(m) === d.domid)) r.rest.push(`${d.name}: ${v}`);
  if (d.hap) auditEpt(xen, d, r.rest, r);
  guest?.(d, r.rest);
  return r;
}

/**
 * The report, in the order a whole-machine scan gives: the frame table's own findings, every PV
 * finding by pass then mfn, then each domain's shadow, EPT and kernel findings in domain order.
 */
function compose(xen: Hypervisor, parts: Map<Domain, DomainAudit>, pageLists: string[]): AuditResult {
  const violations = pageLists.map((v) => `frame table: ${v}`);
  const checked = { frames: 0, entries: 0 };
  const found: Found[] = [];
  for (const d of xen.domains) {
    const p = parts.get(d)!;
    for (const f of p.pv) found.push(f);
    checked.frames += p.frames;
    checked.entries += p.entries;
  }
  // Stable: a frame's own findings keep the order they were found in.
  found.sort((x, y) => x.pass - y.pass || x.mfn - y.mfn);
  for (const f of found) violations.push(f.text);
  for (const d of xen.domains) for (const v of parts.get(d)!.rest) violations.push(v);
  return { ok: violations.length === 0, violations: violations.slice(0, 200), checked };
}

/**
 * An auditor for fuzzing, called after every step: it re-audits only the domains something
 * touched since its last call, and keeps the others' findings. Touched means: the domain's
 * counters moved, its base pointer changed, or a frame it owns (or owned) was written in machine
 * memory or in the frame table (both keep a write log while it runs; a write to a frame Xen
 * holds — shadow pool, EPT — touches every shadow and HAP domain). Every `fullEvery` calls, and
 * whenever the set of domains changes, it audits everything, page lists included, as audit()
 * does: state that changes without any of these signs (a guest kernel's own counts) is checked
 * there.
 */
export class Auditor {
  private parts = new Map<Domain, DomainAudit>();
  private readonly seen = new Map<Domain, { counters: Float64Array; cr3: number }>();
  private calls = 0;
  private pageLists: string[] = [];

  constructor(
    private readonly xen: Hypervisor,
    private readonly guest?: GuestAudit,
    private readonly fullEvery = 32,
  ) {
    xen.mem.startDirtyLog();
    xen.ft.startOwnerLog();
  }

  audit(): AuditResult {
    const xen = this.xen;
    const doms = xen.domains;
    const full = this.calls++ % this.fullEvery === 0 || doms.length !== this.parts.size || doms.some((d) => !this.parts.has(d));
    const pv = doms.filter((d) => d.mode === 'pv');
    const touched = full ? null : this.touchedOwners();
    const next = new Map<Domain, DomainAudit>();
    for (const d of doms) {
      const s = this.seen.get(d);
      const clean = touched !== null && s !== undefined && !touched.has(d.domid) && s.cr3 === d.guestCr3 && sameCounters(s.counters, d.counters.c);
      next.set(d, clean ? this.parts.get(d)! : auditDomain(xen, d, pv, this.guest));
      if (s) {
        s.counters.set(d.counters.c);
        s.cr3 = d.guestCr3;
      } else this.seen.set(d, { counters: d.counters.c.slice(), cr3: d.guestCr3 });
    }
    this.parts = next;
    for (const d of this.seen.keys()) if (!next.has(d)) this.seen.delete(d);
    if (full) this.pageLists = xen.ft.checkPageLists();
    xen.mem.clearDirty();
    xen.ft.clearOwnerLog();
    return compose(xen, next, this.pageLists);
  }

  /** Domains (and DOMID_XEN) whose frames were written since the last call. */
  private touchedOwners(): Set<number> {
    const { mem, ft } = this.xen;
    const owners = new Set(ft.ownerLog ?? []);
    for (const m of mem.dirty ?? []) owners.add(ft.owner(m));
    if (owners.has(DOMID_XEN)) for (const d of this.xen.domains) if (d.shadow || d.hap) owners.add(d.domid);
    return owners;
  }
}

function sameCounters(a: Float64Array, b: Float64Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Recount scratch, reused across audits: five counters per frame of the audited domain. */
let scratch = new Int32Array(0);
const COUNT = 0;
const TYPE_REFS = 1;
const WRITABLE = 2;
const LINEAR_HELD = 3;
const LINEAR_USES = 4;
const FIELDS = 5;

/**
 * Visits only the domain's own frames (its page list), so its cost follows what it owns, not
 * the size of the machine. A frame's recount lives at its page-list position in `scratch`.
 * Only references from the domain's own tables count (others are violations), and base pointers
 * of PV domains whose L4 it owns, so each PV domain is audited on its own.
 */
function auditPv(xen: Hypervisor, d: Domain, pv: readonly Domain[], out: DomainAudit): void {
  const { ft, mem } = xen;
  const n = ft.nrFrames;
  const total = ft.ownedCount(d.domid) * FIELDS;
  if (scratch.length < total) scratch = new Int32Array(total);
  const s = scratch;
  s.fill(0, 0, total);
  const b = 0;
  const doms = [d];
  const name = (id: number) => xen.domains.find((x) => x.domid === id)?.name ?? `d${id}`;
  const report = (pass: number, mfn: number, text: string) => out.pv.push({ pass, mfn, text });
  const checked = out;

  // Frame-table fields are read straight from their chunk (ft.peek): this loop visits every frame
  // of every PV domain, and a call per field was most of its time.
  {
    const owner = d.domid;
    const frames = ft.ownedFrames(owner);
    for (let k = 0; k < frames.length; k++) {
      const m = frames[k]!;
      const ch = ft.peek(m);
      const mi = m & FT_CHUNK_MASK;
      const t = ch.type[mi]!;
      if (t < PGT_l1_page_table || t > PGT_l4_page_table || ch.typeCount[mi] === 0) continue;
      checked.frames++;
      if (!(ch.flags[mi]! & PGT_validated)) {
        report(1, m, `mfn ${m} (${name(owner)}) is in use as ${PGT_NAMES[t]} but not validated`);
        continue;
      }
      const f = mem.frame(m);
      if (f === undefined) continue;
      // A table's entries mostly map neighbouring frames: keep the last target's chunk.
      let lastChunk = -1;
      let tc: FrameTableChunk | null = null;
      for (let i = 0; i < ENTRIES_PER_TABLE; i++) {
        const lo = f[i << 1]!;
        if (!(lo & PTE_P)) continue;
        if (t === PGT_l4_page_table && !isGuestL4Slot(i)) continue;
        checked.entries++;
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
          report(1, m, `${name(owner)}: ${PGT_NAMES[t]} mfn ${m} entry ${i} maps mfn ${target}, which it does not own`);
          continue;
        }
        // The target's recount: its owner's stretch, at its page-list position.
        const o = b + tc.listPos[ti]! * FIELDS;
        if (t === PGT_l1_page_table) {
          s[o + COUNT]++;
          if (lo & PTE_RW) s[o + WRITABLE]++;
          continue;
        }
        const isLinear = target === m || tc.type[ti] === t;
        if (isLinear && lo & PTE_RW) {
          report(1, m, `${name(owner)}: ${PGT_NAMES[t]} mfn ${m} entry ${i} is a writable linear mapping of ${PGT_NAMES[t]} mfn ${target}`);
        }
        if (target !== m) {
          s[o + COUNT]++;
          s[o + TYPE_REFS]++;
          if (isLinear) {
            s[b + k * FIELDS + LINEAR_HELD]++;
            s[o + LINEAR_USES]++;
          }
        }
      }
    }
  }
  for (const e of pv) {
    if (e.guestCr3 < 0 || ft.owner(e.guestCr3) !== d.domid) continue;
    const o = b + ft.listPos(e.guestCr3) * FIELDS;
    s[o + COUNT]++;
    s[o + TYPE_REFS]++;
  }
  for (const d of doms) {
    const who = name(d.domid);
    const frames = ft.ownedFrames(d.domid);
    for (let k = 0; k < frames.length; k++) {
      const m = frames[k]!;
      const ch = ft.peek(m);
      const mi = m & FT_CHUNK_MASK;
      const o = b + k * FIELDS;
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
      // Most frames are plain memory mapped once, consistently: nothing to say about them.
      if (ch.count[mi] === expCount && !isTable && t !== PGT_writable_page && writable === 0 && (linearHeld === 0 || linearUses === 0)) continue;
      if (ch.count[mi] !== expCount) {
        report(2, m, `${who}: mfn ${m} has count ${ch.count[mi]} but ${expCount} references (tables, pins, base pointers)`);
      }
      if (linearHeld > 0 && linearUses > 0) {
        report(2, m, `${who}: mfn ${m} both holds linear entries and is mapped linearly (chained linear page tables)`);
      }
      if (isTable && ch.linear[mi] !== linearUses - linearHeld) {
        report(2, m, `${who}: mfn ${m} has linear count ${ch.linear[mi]} but ${linearUses - linearHeld} from the tables`);
      }
      if (isTable && writable > 0) {
        report(2, m, `${who}: mfn ${m} is a ${PGT_NAMES[t]} page table with ${writable} writable mapping(s)`);
      }
      if (t === PGT_writable_page) {
        if (typeCount !== writable) {
          report(2, m, `${who}: mfn ${m} has writable type count ${typeCount} but ${writable} writable mappings`);
        }
      } else if (isTable) {
        const exp = typeRefs + pinned;
        if (typeCount !== exp) {
          report(2, m, `${who}: mfn ${m} (${PGT_NAMES[t]}) has type count ${typeCount} but ${exp} references`);
        }
      } else if (writable > 0) {
        report(2, m, `${who}: mfn ${m} is mapped writable ${writable} time(s) but has type ${PGT_NAMES[t]} count ${typeCount}`);
      }
    }
  }
}

function auditEpt(xen: Hypervisor, d: Domain, out: string[], checked: { frames: number; entries: number }): void {
  const { mem, ft } = xen;
  const visit = (table: number, level: number) => {
    checked.frames++;
    for (const i of mem.nonZeroEntries(table, [])) {
      const lo = mem.readLo(table, i);
      if (!(lo & EPT_RWX)) continue;
      checked.entries++;
      const frame = pteFrame(lo, mem.readHi(table, i));
      if (level > 1 && !(lo & EPT_PS)) {
        visit(frame, level - 1);
        continue;
      }
      const size = 2 ** (9 * (level - 1));
      for (let k = 0; k < size; k++) {
        if (ft.owner(frame + k) !== d.domid) {
          out.push(`${d.name}: EPT L${level} entry ${i} maps mfn ${frame + k}, owned by ${ft.owner(frame + k)}`);
          return;
        }
      }
    }
  };
  visit(d.hap!.eptRoot, 4);
}

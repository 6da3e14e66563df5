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
 *  iommu   every DMA table reaches only frames its domain owns or was granted (passthrough/iommu.ts).
 * What runs inside a domain is not Xen's to audit: the caller (vm/audit.ts) passes a GuestAudit
 * that checks each guest kernel's own counts, and its findings follow the domain's.
 */
import type { AuditResult } from '../api/results.js';
import { EPT_PS, EPT_RWX, EPT_W, EPT_X, pteFrame } from '../machine/pte.js';
import type { Domain } from './domain.js';
import type { Hypervisor } from './hypervisor.js';
import { DOMID_XEN } from './mm/frameTable.js';
import { PvRecount, type Found } from './auditPv.js';
import { auditHostMappings } from './mm/grantHost.js';

/** Checks what runs inside a domain (its guest kernel) and appends what it finds to `out`. */
export type GuestAudit = (d: Domain, out: string[]) => void;

export function audit(xen: Hypervisor, guest?: GuestAudit): AuditResult {
  const parts = new Map<Domain, DomainAudit>();
  const pv = xen.domains.filter((d) => d.mode === 'pv');
  for (const d of xen.domains) parts.set(d, auditDomain(xen, d, pv, guest));
  // The page lists the per-domain passes rely on must agree with the owners.
  return compose(xen, parts, xen.ft.checkPageLists());
}

/** What auditing one domain found: its PV findings, then the rest (shadow, EPT, kernel). */
interface DomainAudit {
  pv: Found[];
  rest: string[];
  frames: number;
  entries: number;
}

/** `recount` is the domain's PV recount to update from `written`, or null for a full pass. */
function auditDomain(xen: Hypervisor, d: Domain, pv: readonly Domain[], guest: GuestAudit | undefined, recount?: PvRecount, written?: Iterable<number>): DomainAudit {
  const r: DomainAudit = { pv: [], rest: [], frames: 0, entries: 0 };
  if (d.mode === 'pv') {
    const rc = recount ?? new PvRecount(xen, d);
    const p = written ? rc.update(pv, written) : rc.full(pv);
    r.pv = p.found;
    r.frames += p.frames;
    r.entries += p.entries;
  }
  if (d.shadow) {
    // A shadow may map a frame the domain has a grant host mapping of (its p2m_grant_map entry).
    const granted = new Set([...d.grantP2m.values()].map((e) => e.mfn));
    for (const v of d.shadow.audit((m) => xen.ft.owner(m) === d.domid || granted.has(m))) r.rest.push(`${d.name}: ${v}`);
  }
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
  // Grants: every mapping backed by a live grant, GTF_reading/writing as the mappings say.
  for (const v of xen.gnttab.audit()) violations.push(`grant table: ${v}`);
  // Host mappings: each one's entry is still in the mapper's tables (or p2m), as granted.
  for (const v of auditHostMappings(xen)) violations.push(`grant table: ${v}`);
  // IOMMU tables reach only what each domain owns or was granted; with the unit off, say what a device's owner can reach.
  for (const v of xen.iommu?.audit() ?? []) violations.push(`iommu: ${v}`);
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
  /** Each PV domain's recount, redone only where a step wrote (PvRecount.update). */
  private readonly recounts = new Map<Domain, PvRecount>();
  private readonly seen = new Map<Domain, { counters: Float64Array; cr3: number }>();
  private calls = 0;
  private pageLists: string[] = [];

  constructor(
    private readonly xen: Hypervisor,
    private readonly guest?: GuestAudit,
    private readonly fullEvery = 32,
  ) {
    if (!(fullEvery >= 1)) throw new RangeError(`fullEvery must be at least 1 (a full audit every so many calls), not ${fullEvery}`);
    xen.mem.startDirtyLog();
    xen.ft.startOwnerLog();
  }

  audit(): AuditResult {
    const xen = this.xen;
    const doms = xen.domains;
    const full = this.calls++ % this.fullEvery === 0 || doms.length !== this.parts.size || doms.some((d) => !this.parts.has(d)) || xen.ft.ownersMoved;
    const pv = doms.filter((d) => d.mode === 'pv');
    const touched = full ? null : this.touchedOwners();
    // A base pointer counts in the audit of the domain that owns its L4, whoever runs on it:
    // one that moved touches the owners of the frames it left and reached.
    if (touched !== null) {
      for (const d of doms) {
        const s = this.seen.get(d);
        if (!s || s.cr3 === d.guestCr3) continue;
        if (s.cr3 >= 0) touched.add(xen.ft.owner(s.cr3));
        if (d.guestCr3 >= 0) touched.add(xen.ft.owner(d.guestCr3));
      }
    }
    const written = full ? undefined : this.writtenFrames();
    const next = new Map<Domain, DomainAudit>();
    for (const d of doms) {
      const s = this.seen.get(d);
      const clean = touched !== null && s !== undefined && !touched.has(d.domid) && s.cr3 === d.guestCr3 && sameCounters(s.counters, d.counters.c);
      let rc = this.recounts.get(d);
      if (d.mode === 'pv' && !rc) this.recounts.set(d, (rc = new PvRecount(xen, d)));
      next.set(d, clean ? this.parts.get(d)! : auditDomain(xen, d, pv, this.guest, rc, s === undefined ? undefined : written));
      if (s) {
        s.counters.set(d.counters.c);
        s.cr3 = d.guestCr3;
      } else this.seen.set(d, { counters: d.counters.c.slice(), cr3: d.guestCr3 });
    }
    this.parts = next;
    for (const d of this.seen.keys()) if (!next.has(d)) this.seen.delete(d);
    for (const d of this.recounts.keys()) if (!next.has(d)) this.recounts.delete(d);
    if (full) this.pageLists = xen.ft.checkPageLists();
    xen.mem.clearDirty();
    xen.ft.clearOwnerLog();
    return compose(xen, next, this.pageLists);
  }

  /** Frames whose contents or frame-table entries were written since the last call. */
  private writtenFrames(): Set<number> {
    const { mem, ft } = this.xen;
    const out = new Set(ft.frameLog ?? []);
    for (const m of mem.dirty ?? []) out.add(m);
    return out;
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

function auditEpt(xen: Hypervisor, d: Domain, out: string[], checked: { frames: number; entries: number }): void {
  const { mem, ft } = xen;
  // Leaves a grant host mapping put there (p2m_grant_map_rw/ro): mfn → writable.
  const granted = new Map<number, boolean>();
  for (const e of d.grantP2m.values()) granted.set(e.mfn, !e.readonly || granted.get(e.mfn) === true);
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
      const g = level === 1 ? granted.get(frame) : undefined;
      if (g !== undefined && ft.owner(frame) !== d.domid) {
        if (lo & EPT_X || (lo & EPT_W && !g)) out.push(`${d.name}: EPT L1 entry ${i} maps granted mfn ${frame} with more access than its grant mapping (${lo & EPT_RWX})`);
        continue;
      }
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

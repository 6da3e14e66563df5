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
 *  all     the guest kernel's page reference counts equal the mappings in its page tables.
 */
import type { AuditResult } from '../api/results.js';
import { ENTRIES_PER_TABLE } from '../base/types.js';
import { EPT_PS, EPT_RWX, PTE_P, PTE_RW, pteFrame } from '../machine/pte.js';
import type { Domain } from './domain.js';
import type { Hypervisor } from './hypervisor.js';
import { PGT_l1_page_table, PGT_l4_page_table, PGT_NAMES, PGT_pinned, PGT_validated, PGT_writable_page } from './mm/frameTable.js';
import { isGuestL4Slot } from './mm/pvMm.js';

export function audit(xen: Hypervisor): AuditResult {
  const violations: string[] = [];
  const checked = { frames: 0, entries: 0 };
  // The page lists the per-domain passes below rely on must agree with the owners.
  for (const v of xen.ft.checkPageLists()) violations.push(`frame table: ${v}`);
  const pv = xen.domains.filter((d) => d.mode === 'pv');
  if (pv.length > 0) auditPv(xen, pv, violations, checked);
  for (const d of xen.domains) {
    if (d.shadow) for (const v of d.shadow.audit((m) => xen.ft.owner(m) === d.domid)) violations.push(`${d.name}: ${v}`);
    if (d.hap) auditEpt(xen, d, violations, checked);
    // A hypercalls script bypasses the guest kernel's bookkeeping on purpose; Xen's invariants
    // (above) are what isolation rests on, and they are checked in full.
    if (d.config.workload.kind !== 'hypercalls') auditKernel(d, violations);
  }
  return { ok: violations.length === 0, violations: violations.slice(0, 200), checked };
}

/** Recount scratch, reused across audits: five counters per frame of the audited domains. */
let scratch = new Int32Array(0);
const COUNT = 0;
const TYPE_REFS = 1;
const WRITABLE = 2;
const LINEAR_HELD = 3;
const LINEAR_USES = 4;
const FIELDS = 5;

/**
 * Visits only the audited domains' own frames (their page lists), so its cost follows what they
 * own, not the size of the machine. A frame's recount lives at its page-list position in its
 * owner's stretch of `scratch`. Violations are reported in mfn order, as a scan of the whole
 * frame table would find them.
 */
function auditPv(xen: Hypervisor, doms: Domain[], out: string[], checked: { frames: number; entries: number }): void {
  const { ft, mem } = xen;
  const n = ft.nrFrames;
  const base = new Map<number, number>();
  let total = 0;
  for (const d of doms) {
    base.set(d.domid, total);
    total += ft.ownedCount(d.domid) * FIELDS;
  }
  if (scratch.length < total) scratch = new Int32Array(total);
  const s = scratch;
  s.fill(0, 0, total);
  /** Scratch slot of `field` for `mfn`, owned by an audited domain whose stretch starts at `b`. */
  const at = (b: number, mfn: number, field: number) => b + ft.listPos(mfn) * FIELDS + field;
  const name = (id: number) => xen.domains.find((d) => d.domid === id)?.name ?? `d${id}`;
  const found: { pass: number; mfn: number; text: string }[] = [];
  const report = (pass: number, mfn: number, text: string) => found.push({ pass, mfn, text });

  for (const d of doms) {
    const b = base.get(d.domid)!;
    const owner = d.domid;
    const frames = ft.ownedFrames(owner);
    for (let k = 0; k < frames.length; k++) {
      const m = frames[k]!;
      const t = ft.type(m);
      if (t < PGT_l1_page_table || t > PGT_l4_page_table || ft.typeCount(m) === 0) continue;
      checked.frames++;
      if (!(ft.flags(m) & PGT_validated)) {
        report(1, m, `mfn ${m} (${name(owner)}) is in use as ${PGT_NAMES[t]} but not validated`);
        continue;
      }
      const f = mem.frame(m);
      if (f === undefined) continue;
      for (let i = 0; i < ENTRIES_PER_TABLE; i++) {
        const lo = f[i << 1]!;
        if (!(lo & PTE_P)) continue;
        if (t === PGT_l4_page_table && !isGuestL4Slot(i)) continue;
        checked.entries++;
        const target = pteFrame(lo, f[(i << 1) | 1]!);
        if (target >= n || ft.owner(target) !== owner) {
          report(1, m, `${name(owner)}: ${PGT_NAMES[t]} mfn ${m} entry ${i} maps mfn ${target}, which it does not own`);
          continue;
        }
        if (t === PGT_l1_page_table) {
          s[at(b, target, COUNT)]++;
          if (lo & PTE_RW) s[at(b, target, WRITABLE)]++;
          continue;
        }
        const isLinear = target === m || ft.type(target) === t;
        if (isLinear && lo & PTE_RW) {
          report(1, m, `${name(owner)}: ${PGT_NAMES[t]} mfn ${m} entry ${i} is a writable linear mapping of ${PGT_NAMES[t]} mfn ${target}`);
        }
        if (target !== m) {
          s[at(b, target, COUNT)]++;
          s[at(b, target, TYPE_REFS)]++;
          if (isLinear) {
            s[at(b, m, LINEAR_HELD)]++;
            s[at(b, target, LINEAR_USES)]++;
          }
        }
      }
    }
  }
  for (const d of doms) {
    if (d.guestCr3 < 0) continue;
    const b = base.get(ft.owner(d.guestCr3));
    if (b === undefined) continue;
    s[at(b, d.guestCr3, COUNT)]++;
    s[at(b, d.guestCr3, TYPE_REFS)]++;
  }
  for (const d of doms) {
    const b = base.get(d.domid)!;
    const who = name(d.domid);
    const frames = ft.ownedFrames(d.domid);
    for (let k = 0; k < frames.length; k++) {
      const m = frames[k]!;
      const o = b + k * FIELDS;
      const count = s[o + COUNT]!;
      const typeRefs = s[o + TYPE_REFS]!;
      const writable = s[o + WRITABLE]!;
      const linearHeld = s[o + LINEAR_HELD]!;
      const linearUses = s[o + LINEAR_USES]!;
      const t = ft.type(m);
      const typeCount = ft.typeCount(m);
      const pinned = ft.flags(m) & PGT_pinned ? 1 : 0;
      const expCount = count + pinned;
      if (ft.count(m) !== expCount) {
        report(2, m, `${who}: mfn ${m} has count ${ft.count(m)} but ${expCount} references (tables, pins, base pointers)`);
      }
      const isTable = t >= PGT_l1_page_table && t <= PGT_l4_page_table && typeCount > 0;
      if (linearHeld > 0 && linearUses > 0) {
        report(2, m, `${who}: mfn ${m} both holds linear entries and is mapped linearly (chained linear page tables)`);
      }
      if (isTable && ft.linear(m) !== linearUses - linearHeld) {
        report(2, m, `${who}: mfn ${m} has linear count ${ft.linear(m)} but ${linearUses - linearHeld} from the tables`);
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
  // Stable: a frame's own findings keep the order they were found in.
  found.sort((x, y) => x.pass - y.pass || x.mfn - y.mfn);
  for (const f of found) out.push(f.text);
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

function auditKernel(d: Domain, out: string[]): void {
  const k = d.kernel;
  const counts = k.recountMapcounts();
  let reported = 0;
  for (let p = 0; p < counts.length && reported < 20; p++) {
    if (counts[p] !== k.mapcount[p]) {
      out.push(`${d.name}: pfn ${p} has mapcount ${k.mapcount[p]} but ${counts[p]} mappings`);
      reported++;
    }
  }
}

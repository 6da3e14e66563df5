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
 * The guest kernels' own bookkeeping is audited beside this, by vm/audit.ts.
 */
import type { AuditResult } from '../api/results.js';
import { EPT_PS, EPT_RWX, PTE_P, PTE_RW, pteFrame } from '../machine/pte.js';
import type { Domain } from './domain.js';
import type { Hypervisor } from './hypervisor.js';
import { PGT_l1_page_table, PGT_l4_page_table, PGT_NAMES, PGT_pinned, PGT_validated, PGT_writable_page } from './mm/frameTable.js';
import { isGuestL4Slot } from './mm/pageType.js';

export function audit(xen: Hypervisor): AuditResult {
  const violations: string[] = [];
  const checked = { frames: 0, entries: 0 };
  const pv = xen.domains.filter((d) => d.mode === 'pv');
  if (pv.length > 0) auditPv(xen, pv, violations, checked);
  for (const d of xen.domains) {
    if (d.shadow) for (const v of d.shadow.audit((m) => xen.ft.owner[m] === d.domid)) violations.push(`${d.name}: ${v}`);
    if (d.hap) auditEpt(xen, d, violations, checked);
  }
  return { ok: violations.length === 0, violations: violations.slice(0, 200), checked };
}

function auditPv(xen: Hypervisor, doms: Domain[], out: string[], checked: { frames: number; entries: number }): void {
  const { ft, mem } = xen;
  const n = ft.nrFrames;
  const count = new Int32Array(n);
  const typeRefs = new Int32Array(n);
  const writable = new Int32Array(n);
  const linearHeld = new Int32Array(n);
  const linearUses = new Int32Array(n);
  const ids = new Set(doms.map((d) => d.domid));
  const name = (id: number) => xen.domains.find((d) => d.domid === id)?.name ?? `d${id}`;
  for (let m = 0; m < n; m++) {
    if (!ids.has(ft.owner[m])) continue;
    const t = ft.type[m];
    if (t < PGT_l1_page_table || t > PGT_l4_page_table || ft.typeCount[m] === 0) continue;
    checked.frames++;
    if (!(ft.flags[m] & PGT_validated)) {
      out.push(`mfn ${m} (${name(ft.owner[m])}) is in use as ${PGT_NAMES[t]} but not validated`);
      continue;
    }
    for (const i of mem.nonZeroEntries(m, [])) {
      if (t === PGT_l4_page_table && !isGuestL4Slot(i)) continue;
      const lo = mem.readLo(m, i);
      if (!(lo & PTE_P)) continue;
      checked.entries++;
      const target = pteFrame(lo, mem.readHi(m, i));
      if (target >= n || ft.owner[target] !== ft.owner[m]) {
        out.push(`${name(ft.owner[m])}: ${PGT_NAMES[t]} mfn ${m} entry ${i} maps mfn ${target}, which it does not own`);
        continue;
      }
      if (t === PGT_l1_page_table) {
        count[target]++;
        if (lo & PTE_RW) writable[target]++;
        continue;
      }
      const isLinear = target === m || ft.type[target] === t;
      if (isLinear && lo & PTE_RW) {
        out.push(`${name(ft.owner[m])}: ${PGT_NAMES[t]} mfn ${m} entry ${i} is a writable linear mapping of ${PGT_NAMES[t]} mfn ${target}`);
      }
      if (target !== m) {
        count[target]++;
        typeRefs[target]++;
        if (isLinear) {
          linearHeld[m]++;
          linearUses[target]++;
        }
      }
    }
  }
  for (const d of doms) {
    if (d.guestCr3 >= 0) {
      count[d.guestCr3]++;
      typeRefs[d.guestCr3]++;
    }
  }
  for (let m = 0; m < n; m++) {
    if (!ids.has(ft.owner[m])) continue;
    const t = ft.type[m];
    const pinned = ft.flags[m] & PGT_pinned ? 1 : 0;
    const expCount = count[m] + pinned;
    if (ft.count[m] !== expCount) {
      out.push(`${name(ft.owner[m])}: mfn ${m} has count ${ft.count[m]} but ${expCount} references (tables, pins, base pointers)`);
    }
    const isTable = t >= PGT_l1_page_table && t <= PGT_l4_page_table && ft.typeCount[m] > 0;
    if (linearHeld[m] > 0 && linearUses[m] > 0) {
      out.push(`${name(ft.owner[m])}: mfn ${m} both holds linear entries and is mapped linearly (chained linear page tables)`);
    }
    if (isTable && ft.linear[m] !== linearUses[m] - linearHeld[m]) {
      out.push(`${name(ft.owner[m])}: mfn ${m} has linear count ${ft.linear[m]} but ${linearUses[m] - linearHeld[m]} from the tables`);
    }
    if (isTable && writable[m] > 0) {
      out.push(`${name(ft.owner[m])}: mfn ${m} is a ${PGT_NAMES[t]} page table with ${writable[m]} writable mapping(s)`);
    }
    if (t === PGT_writable_page) {
      if (ft.typeCount[m] !== writable[m]) {
        out.push(`${name(ft.owner[m])}: mfn ${m} has writable type count ${ft.typeCount[m]} but ${writable[m]} writable mappings`);
      }
    } else if (isTable) {
      const exp = typeRefs[m] + pinned;
      if (ft.typeCount[m] !== exp) {
        out.push(`${name(ft.owner[m])}: mfn ${m} (${PGT_NAMES[t]}) has type count ${ft.typeCount[m]} but ${exp} references`);
      }
    } else if (writable[m] > 0) {
      out.push(`${name(ft.owner[m])}: mfn ${m} is mapped writable ${writable[m]} time(s) but has type ${PGT_NAMES[t]} count ${ft.typeCount[m]}`);
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
        if (ft.owner[frame + k] !== d.domid) {
          out.push(`${d.name}: EPT L${level} entry ${i} maps mfn ${frame + k}, owned by ${ft.owner[frame + k]}`);
          return;
        }
      }
    }
  };
  visit(d.hap!.eptRoot, 4);
}

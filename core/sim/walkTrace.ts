/**
 * One translation of a domain, traced reference by reference for the walk view (DESIGN.md §5,
 * "Seeing inside"; claim C7). The trace is the reference walk's (referenceWalk.ts): it changes
 * nothing — no TLB, paging-structure cache, nested TLB, data cache, A/D bit or counter moves —
 * and it names, for each reference, what would serve it from the pCPU's caches as they are now.
 */
import type { PagingMode } from '../api/scenario.js';
import type { WalkTrace, WalkTraceRef } from '../api/worker.js';
import { LEVELS_FOR_PAGE_SIZE, PAGE_SIZE_SHIFT, hex } from '../base/types.js';
import type { Vm } from '../vm/vm.js';
import { DIRECTMAP_BASE } from '../guest/layout.js';
import { asidTag, globalTag } from '../machine/mmu/tlb.js';
import { FaultKind, PFEC_PRESENT, PFEC_RSVD, PFEC_USER, PFEC_WRITE, type ReferenceResult } from '../machine/mmu/types.js';
import {
  EPT_A,
  EPT_D,
  EPT_IPAT,
  EPT_PS,
  EPT_R,
  EPT_RWX,
  EPT_W,
  EPT_X,
  parsePteHex,
  pteFrame,
  PTE_A,
  PTE_D,
  PTE_G,
  PTE_HI_NX,
  PTE_P,
  PTE_PCD,
  PTE_PS,
  PTE_PWT,
  PTE_RW,
  PTE_US,
} from '../machine/pte.js';
import type { Simulation } from './simulation.js';

/** Linear addresses are the 48 low bits (mmu.ts); the upper half is the kernel's. */
const VA_LIMIT = 2 ** 48;
const KERNEL_HALF = 2 ** 47;
const MAX_CANDIDATES = 8;

export interface WalkOptions {
  /** First translate `va` once through the fast path (filling the walk caches), then trace. */
  warm: boolean;
  write: boolean;
}

/** Traces one translation of `va` (default: the first candidate) in domain `domainName`. */
export function traceWalk(
  sim: Simulation,
  domainName: string,
  va: number | undefined,
  opts: WalkOptions,
): { trace: WalkTrace; candidates: string[] } {
  const d = sim.domains.find((x) => x.name === domainName);
  if (!d) throw new Error(`no domain named "${domainName}" (domains: ${sim.domains.map((x) => x.name).join(', ')})`);
  const candidates = walkCandidates(d);
  const target = va ?? (candidates.length > 0 ? parseInt(candidates[0]!, 16) : undefined);
  if (target === undefined) {
    throw new Error(`${d.name} has no mapped page to walk at this point of its ${d.config.workload.kind} workload; give an address`);
  }
  if (!Number.isInteger(target) || target < 0 || target >= VA_LIMIT) {
    throw new Error(`address ${String(va)} is not a 48-bit virtual address`);
  }
  const user = target < KERNEL_HALF;
  if (opts.warm) warmUp(d, target, opts.write, user);
  const r = d.mmu.referenceTranslate(d.dom.ctx, target, opts.write, user, true);
  return { trace: toTrace(d, target, r), candidates };
}

/**
 * One real translation through the fast path. The va's TLB entries are dropped first (and only
 * they), so the translation walks and fills the paging-structure caches, nested TLB and data cache
 * even if it was cached: the trace then shows what one earlier walk of this address leaves behind.
 */
function warmUp(d: Vm, va: number, write: boolean, user: boolean): void {
  const mmu = d.mmu;
  const ctx = d.dom.ctx;
  const asid = asidTag(ctx.vpid, ctx.pcid);
  const gtag = globalTag(ctx.vpid);
  mmu.tlb4k.invalidatePage(Math.floor(va / 4096), asid, gtag);
  mmu.tlb2m.invalidatePage(Math.floor(va / 2 ** 21), asid, gtag);
  mmu.tlb1g.invalidatePage(Math.floor(va / 2 ** 30), asid, gtag);
  const saved = mmu.ctx;
  mmu.ctx = ctx;
  // A fault here (an access the tables refuse) is shown by the trace itself.
  mmu.translate(va, write, user);
  mmu.ctx = saved;
}

/** Levels of the tables the hardware walks for this domain's page sizes (guest n, host m). */
function configuredLevels(d: Vm): { n: number; m: number } {
  const mode: PagingMode = d.mode;
  const guest = LEVELS_FOR_PAGE_SIZE[d.config.guestPageSize];
  if (mode === 'hap') return { n: guest, m: LEVELS_FOR_PAGE_SIZE[d.config.hostPageSize] };
  // PV gets no superpages; shadows splinter guest superpages into 4 KiB (fl1) shadows.
  if (mode === 'pv' || mode === 'shadow') return { n: 4, m: 0 };
  return { n: guest, m: 0 };
}

function toTrace(d: Vm, va: number, r: ReferenceResult): WalkTrace {
  const nested = d.mode === 'hap';
  const refs: WalkTraceRef[] = r.trace.map((w) => {
    const e = parsePteHex(w.entry) ?? { lo: 0, hi: 0 };
    return {
      n: w.n,
      guestLevel: w.guestLevel,
      hostLevel: w.hostLevel,
      maddr: hex(w.maddr),
      entry: w.entry,
      decoded: w.hostLevel > 0 ? decodeEpt(e.lo, e.hi, w.hostLevel) : decodePte(e.lo, e.hi, w.guestLevel),
      servedBy: w.source,
    };
  });
  const { n, m } = configuredLevels(d);
  // The grid is drawn from the walk as it happened (a host page may be smaller than asked for
  // where memory was not contiguous); expectedRefs is the architectural count for the page sizes.
  let guestLevels = n;
  let hostLevels = m;
  if (r.ok) {
    guestLevels = nested ? refs.filter((x) => x.hostLevel === 0).length : refs.length;
    hostLevels = nested ? refs.filter((x) => x.guestLevel === 0).length : 0;
  }
  return {
    domain: d.name,
    mode: d.mode,
    va: hex(va),
    kind: nested ? 'nested' : 'oned',
    guestLevels,
    hostLevels,
    ok: r.ok,
    maddr: r.ok ? hex(r.maddr) : null,
    pageSize: r.ok ? r.pageSize : 0,
    fault: r.ok ? null : describeFault(r),
    refs,
    expectedRefs: nested ? (n + 1) * (m + 1) - 1 : n,
  };
}

function describeFault(r: ReferenceResult): string {
  if (r.faultKind === FaultKind.EptViolation) {
    const where = r.faultDuringGuestWalk ? 'while translating a guest page-table address' : 'on the final guest-physical address';
    return `EPT violation at EPT L${r.faultLevel} for gpa ${hex(r.faultGpa)} ${where}`;
  }
  const ec = r.faultErrorCode;
  const why = ec & PFEC_RSVD ? 'reserved bit set' : ec & PFEC_PRESENT ? 'protection' : 'not present';
  const access = `${ec & PFEC_USER ? 'user' : 'supervisor'} ${ec & PFEC_WRITE ? 'write' : 'read'}`;
  return `#PF at L${r.faultLevel}: ${why} (${access}, error code ${hex(ec)})`;
}

/** An x86-64 entry of a table at `level`: 'P RW US A D PS NX frame 0x1234'. */
export function decodePte(lo: number, hi: number, level: number): string {
  if (!(lo & PTE_P)) return lo === 0 && hi === 0 ? 'not present (empty)' : 'not present';
  const f: string[] = ['P'];
  if (lo & PTE_RW) f.push('RW');
  if (lo & PTE_US) f.push('US');
  if (lo & PTE_PWT) f.push('PWT');
  if (lo & PTE_PCD) f.push('PCD');
  if (lo & PTE_A) f.push('A');
  if (lo & PTE_D) f.push('D');
  // Bit 7 is PS in L2/L3 entries and PAT in an L1 entry.
  if (lo & PTE_PS) f.push(level === 1 ? 'PAT' : 'PS');
  if (lo & PTE_G) f.push('G');
  if (hi & PTE_HI_NX) f.push('NX');
  f.push(`frame ${hex(pteFrame(lo, hi))}`);
  return f.join(' ');
}

/** An EPT entry at `level`: 'R W X PS mt=6 frame 0x1234' (memory type on leaves only). */
export function decodeEpt(lo: number, hi: number, level: number): string {
  if (!(lo & EPT_RWX)) return lo === 0 && hi === 0 ? 'not present (empty)' : 'not present';
  const f: string[] = [];
  if (lo & EPT_R) f.push('R');
  if (lo & EPT_W) f.push('W');
  if (lo & EPT_X) f.push('X');
  const ps = level > 1 && (lo & EPT_PS) !== 0;
  if (ps) f.push('PS');
  if (level === 1 || ps) {
    f.push(`mt=${(lo >>> 3) & 7}`);
    if (lo & EPT_IPAT) f.push('IPAT');
  }
  if (lo & EPT_A) f.push('A');
  if (lo & EPT_D) f.push('D');
  f.push(`frame ${hex(pteFrame(lo, hi))}`);
  return f.join(' ');
}

/** True if the hardware would translate `va` for the domain now (the reference walk, untraced). */
function mapped(d: Vm, va: number): boolean {
  return d.mmu.referenceTranslate(d.dom.ctx, va, false, va < KERNEL_HALF, false).ok;
}

/**
 * A few addresses mapped in the address space loaded on the domain's vCPU, hex: pages of the
 * running process's mappings (those of the domain's page size first, the largest first: the
 * workload's working set), then, for PV, the kernel's direct map.
 */
export function walkCandidates(d: Vm): string[] {
  const out: number[] = [];
  const add = (va: number) => {
    if (out.length < MAX_CANDIDATES && !out.includes(va) && mapped(d, va)) out.push(va);
  };
  const mm = d.kernel.current?.mm;
  if (mm) {
    const shift = PAGE_SIZE_SHIFT[d.config.guestPageSize];
    const vmas = [...mm.vmas].sort((a, b) => Number(b.pageShift === shift) - Number(a.pageShift === shift) || b.end - b.start - (a.end - a.start));
    for (const v of vmas) {
      const step = 2 ** v.pageShift;
      const pages = Math.floor((v.end - v.start) / step);
      for (const i of [0, 1, Math.floor(pages / 2), pages - 1]) if (i >= 0 && i < pages) add(v.start + i * step);
      if (out.length >= MAX_CANDIDATES) break;
    }
  }
  if (d.mode === 'pv') {
    add(DIRECTMAP_BASE);
    add(DIRECTMAP_BASE + Math.floor(d.dom.nrPages / 2) * 4096);
  }
  return out.map(hex);
}

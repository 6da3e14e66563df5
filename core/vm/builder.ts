/**
 * The domain builder (libxl's domain create with libxenguest's xc_dom_* steps): asks Xen for a
 * domain and its memory, turns on its paging assistance, lays out the guest's start of day — for
 * PV the initial page tables of the kernel's direct map, pinned and installed as the base pointer —
 * then boots the kernel behind the paging backend its mode needs, and steps away.
 */
import type { DomainConfig } from '../api/scenario.js';
import { GUEST_KERNEL_RESERVED_MIB } from '../api/scenario.js';
import { tableIndex } from '../base/types.js';
import { PTE_A, PTE_D, PTE_P, PTE_RW, pteHi, pteLo } from '../machine/pte.js';
import { GuestKernel } from '../guest/kernel.js';
import { DIRECTMAP_BASE } from '../guest/layout.js';
import type { GuestPlatform } from '../guest/platform.js';
import type { Domain } from '../hv/domain.js';
import type { Hypervisor } from '../hv/hypervisor.js';
import { PGT_l4_page_table, PGT_pinned } from '../hv/mm/frameTable.js';
import { OpsBase } from './paging/backend.js';
import { HapOps } from './paging/hap.js';
import { NativeOps } from './paging/native.js';
import { PvDirectOps } from './paging/pv.js';
import { ShadowOps } from './paging/shadow.js';
import { Vm } from './vm.js';

/** Builds and boots a domain from `config`; on failure nothing of it is left behind. */
export function buildDomain(xen: Hypervisor, config: DomainConfig): Vm {
  const d = xen.createDomain(config);
  try {
    return build(xen, d);
  } catch (e) {
    xen.destroyDomain(d);
    throw e;
  }
}

function build(xen: Hypervisor, d: Domain): Vm {
  const config = d.config;
  const nrPages = d.nrPages;
  // Memory beyond the boot memory (up to maxmem) is not populated: its pfns start ballooned out.
  const bootPages = d.bootPages;
  xen.populatePhysmap(d, config.hostPageSize === '1g' ? 18 : 9);
  xen.enablePaging(d);
  const ops = backendFor(d);
  // The guest kernel keeps the top of its boot memory for itself (text, data, boot page tables
  // covering every pfn up to maxmem).
  const reservedPages = Math.max(GUEST_KERNEL_RESERVED_MIB * 256, Math.ceil(nrPages / 512) + 64);
  const kernel = new GuestKernel(platformOf(xen, d), ops, bootPages - reservedPages);
  if (ops instanceof PvDirectOps) buildPvDirectMap(xen, d, ops, kernel, bootPages - reservedPages);
  kernel.boot();
  return new Vm(d, ops, kernel);
}

/** The paging ops a domain's mode needs (also a migrated domain's, on its new host). */
export function backendFor(d: Domain): OpsBase {
  switch (d.mode) {
    case 'native':
      return new NativeOps(d);
    case 'hap':
      return new HapOps(d);
    case 'shadow':
      return new ShadowOps(d);
    case 'pv':
      return new PvDirectOps(d);
  }
}

/** The machine as the guest kernel sees it: clear_page and copy_page write its frames through the p2m. */
export function platformOf(xen: Hypervisor, d: Domain): GuestPlatform {
  const mem = xen.mem;
  const p2m = d.p2m;
  return {
    name: d.name,
    mode: d.mode,
    platformName: xen.kind === 'none' ? 'bare metal' : d.mode === 'pv' ? 'Xen PV' : 'HVM',
    nrPages: d.nrPages,
    counters: d.counters,
    costs: xen.costs,
    userCpiScale: xen.cpu.userCpiScale,
    guestOs: d.config.guestOs ?? 'linux',
    clearPage: (pfn) => mem.scrub(p2m[pfn]!),
    copyPage: (dst, src) => mem.copyFrame(p2m[dst]!, p2m[src]!),
  };
}

/**
 * The PV start of day (xc_dom_x86's page-table setup): an initial L4 whose kernel half maps all of
 * the guest's memory at DIRECTMAP_BASE with 4 KiB pages (PV gets no superpages), its own
 * page-table pages mapped read-only, then pinned and installed as the vCPU's base pointer — which
 * validates every entry. The tables sit in the kernel's reserve, from `firstReserved` up.
 */
function buildPvDirectMap(xen: Hypervisor, d: Domain, ops: PvDirectOps, kernel: GuestKernel, firstReserved: number): void {
  const nrPages = d.nrPages;
  let next = firstReserved;
  const take = (): number => {
    if (next >= d.bootPages) throw new Error(`${d.name}: kernel reserve too small for the direct map`);
    return next++;
  };
  const l4 = take();
  const l3 = take();
  const nL2 = Math.ceil(nrPages / 262144);
  const nL1 = Math.ceil(nrPages / 512);
  const l2s = Array.from({ length: nL2 }, take);
  const l1s = Array.from({ length: nL1 }, take);
  const tables = new Set<number>([l4, l3, ...l2s, ...l1s]);
  const mem = xen.mem;
  const wr = (tablePfn: number, i: number, targetPfn: number, flags: number) => {
    const mfn = d.p2m[targetPfn]!;
    mem.write(d.p2m[tablePfn]!, i, pteLo(mfn, flags), pteHi(mfn, flags));
  };
  const up = PTE_P | PTE_RW | PTE_A | PTE_D;
  wr(l4, tableIndex(DIRECTMAP_BASE, 4), l3, up);
  for (let k = 0; k < nL2; k++) wr(l3, k, l2s[k]!, up);
  for (let k = 0; k < nL1; k++) wr(l2s[Math.floor(k / 512)]!, k % 512, l1s[k]!, up);
  // Only populated pfns are mapped; a hole's entry stays empty until the balloon driver fills it.
  for (let pfn = 0; pfn < d.bootPages; pfn++) {
    const flags = PTE_P | PTE_A | PTE_D | (tables.has(pfn) ? 0 : PTE_RW);
    wr(l1s[Math.floor(pfn / 512)]!, pfn % 512, pfn, flags);
  }
  // Pin the L4 (validating the whole tree) and make it the base pointer.
  const l4mfn = d.p2m[l4]!;
  const rc = xen.pvMm.getPageAndType(l4mfn, PGT_l4_page_table, d);
  if (rc !== 0) throw new Error(`${d.name}: initial page tables failed validation (${rc})`);
  xen.ft.setFlags(l4mfn, xen.ft.flags(l4mfn) | PGT_pinned);
  const rc2 = xen.pvMm.getPageAndType(l4mfn, PGT_l4_page_table, d);
  if (rc2 !== 0) throw new Error(`${d.name}: cannot install base pointer (${rc2})`);
  d.guestCr3 = l4mfn;
  d.ctx.cr3 = l4mfn;
  for (const t of tables) ops.markManaged(t, t === l4);
  kernel.setInitMm(l4, [
    { pfn: l3, level: 3 },
    ...l2s.map((pfn) => ({ pfn, level: 2 })),
    ...l1s.map((pfn) => ({ pfn, level: 1 })),
  ]);
}

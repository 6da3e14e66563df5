/**
 * The balloon driver (core/guest/balloon.ts) in a Xen guest: its hypercalls bound to this
 * hypervisor and domain, its watch on the domain's xenstore connection. Each hypercall goes
 * through Xen's entry point for it and is charged there (hypercall entry and the per-extent work).
 */
import { MMU_MACHPHYS_UPDATE } from '../api/public/xen.js';
import { PTE_A, PTE_D, PTE_P, PTE_RW, pteHi, pteLo } from '../machine/pte.js';
import { BalloonDriver, type BalloonHypervisor } from '../guest/balloon.js';
import { DIRECTMAP_BASE } from '../guest/layout.js';
import type { XenbusStore } from '../guest/io/env.js';
import type { Vm } from './vm.js';

/** The driver for `vm`, watching `xs` (its xenstore connection); started at once (its watch fires once on registration). */
export function attachBalloon(vm: Vm, xs: XenbusStore, later: (ms: number, fn: () => void) => void): BalloonDriver {
  const d = vm.dom;
  const xen = d.xen;
  const flags = PTE_P | PTE_RW | PTE_A | PTE_D;
  const hv: BalloonHypervisor = {
    decreaseReservation: (frames) => xen.decreaseReservation(d, frames),
    increaseReservation: (n) => xen.increaseReservation(d, n),
    populatePhysmap: (gfns) => xen.populatePhysmapGfns(d, gfns),
    machphysUpdate: (pairs) => xen.pvMm.mmuUpdate(d, pairs.map(([mfn, pfn]) => ({ ptr: mfn, cmd: MMU_MACHPHYS_UPDATE, lo: 0, hi: 0, pfn }))).rc,
    mapDirect: (pfn, mfn) => xen.pvMm.updateVaMapping(d, DIRECTMAP_BASE + pfn * 4096, mfn < 0 ? 0 : pteLo(mfn, flags), mfn < 0 ? 0 : pteHi(mfn, flags), 0),
    flushTlb: () => vm.ops.flushTlb(),
  };
  const extra: number[] = [];
  for (let pfn = d.bootPages; pfn < d.nrPages; pfn++) extra.push(pfn);
  const k = vm.kernel;
  const b = new BalloonDriver({
    autoTranslated: vm.mode === 'hap' || vm.mode === 'shadow',
    home: `/local/domain/${vm.domid}`,
    xs,
    hv,
    kernel: k,
    p2m: d.p2m,
    bootPages: d.bootPages,
    initiallyBallooned: extra,
    later,
    log: (line) => k.log.push(line),
  });
  vm.balloon = b;
  b.start();
  return b;
}

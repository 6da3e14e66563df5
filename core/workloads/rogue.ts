/**
 * rogue-dma (C3): a guest that owns a disk turns it on another domain's memory. It fills one page
 * of its own with a marker, writes it to the disk (a legitimate DMA from its own frame), then asks
 * the disk to read that sector back `pages` times, each time into a frame of the victim: the
 * disk's DMA engine writes wherever the command's PRP points.
 *
 * Where it aims: a PV guest programs machine addresses, and any PV guest can read the whole M2P
 * table (it is mapped read-only in every PV guest), so it could find frames it does not own. The
 * lab picks the victim's frames for it, from pages the victim's kernel holds free, so the victim
 * keeps running and the content check (results integrity) sees every hit: aimed at a page table
 * instead, the write would take the victim down (and the auditor would say why).
 *
 * With the IOMMU on, the device's DMA is translated through its owner's IOMMU tables, which
 * reach only the owner's own (and granted) frames: each write faults, the disk completes the
 * command with a data transfer error, and Xen logs the fault. With it off, bus address = machine
 * address, and every write lands.
 *
 * A translated (HVM) rogue programs the same numbers, but under the IOMMU its device's addresses
 * are its own guest-physical ones: an address inside its own memory lands there (the rogue hurts
 * only itself), one beyond it faults. Either way nothing reaches the victim.
 */
import type { Workload } from '../api/scenario.js';
import { C } from '../machine/counters.js';
import type { WorkloadContext } from './index.js';
import { BLOCK, MEASURE, type WorkloadStep } from './steps.js';

type RogueDma = Extract<Workload, { kind: 'rogue-dma' }>;

/** The marker the rogue writes: a word no zeroed or page-table page holds ("DMA!" then its index). */
const MARKER = 0x21414d44;

export function* runRogueDma(w: RogueDma, x: WorkloadContext): Generator<WorkloadStep, void, void> {
  const vm = x.vm;
  const io = vm.io;
  const driver = io ? [...io.drivers.values()][0] : undefined;
  if (!io || !driver) throw new Error(`${vm.name}: the rogue-dma workload needs a disk of its own to program (pci)`);
  const victim = x.domain?.(w.victim);
  if (!victim) throw new Error(`${vm.name}: rogue-dma: no domain named "${w.victim}" is running`);
  const env = io.env;
  const stats = io.stats;
  const c = vm.counters.c;
  // The victim's free pages, as the M2P would show them to a PV guest: machine frame numbers.
  const k = victim.kernel;
  const free: number[] = [];
  for (let pfn = 0; pfn < k.nrUsable; pfn++) if (k.freeSinceMark(pfn) && victim.dom.p2m[pfn]! >= 0) free.push(pfn);
  const targets = x.rng.sample(free, w.pages).map((pfn) => victim.dom.p2m[pfn]!);
  // Its own page, marked, written to sector 0: DMA from a frame it owns, which any IOMMU allows.
  const own = vm.kernel.allocPage();
  const page = env.page(own);
  for (let i = 0; i < 1024; i++) page.setUint32(i * 4, i === 0 ? MARKER : (MARKER ^ i) >>> 0, true);
  let out = 1;
  let primed = false;
  driver.submit({ op: 'write', sector: 0, segments: [{ busAddr: env.busAddr(own), bytes: 4096 }], done: (ok) => ((primed = ok), out--) });
  while (out > 0) yield BLOCK;
  if (!primed) throw new Error(`${vm.name}: rogue-dma: the disk refused the write from its own page`);
  yield MEASURE;
  // The attack: read sector 0 into each victim frame, by machine address, one command at a time
  // (each waits for the disk: a fault shows as that command's error).
  for (const mfn of targets) {
    out++;
    const submitted = env.now();
    driver.submit({
      op: 'read',
      sector: 0,
      segments: [{ busAddr: mfn * 4096, bytes: 4096 }],
      done: (ok) => {
        out--;
        c[C.Ops]++;
        stats.requests++;
        stats.latencies.push(env.now() - submitted);
        if (ok) stats.bytes += 4096;
        else stats.errors++;
      },
    });
    while (out > 0) yield BLOCK;
  }
}

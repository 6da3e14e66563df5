/**
 * backend-snoop (C5 against C1/C3): the domain's backend — blkback or netback in dom0 or a driver
 * domain under Xen, its qemu under KVM — tries to read `pages` pages of the domain's memory that
 * were never given to it for I/O. The domain fills each page with a secret; the backend's attempts
 * are vm/'s (VmIo.snoop), and the lab counts a page snooped only when what the backend got back
 * is that page's secret.
 *
 * Under Xen a backend reaches a guest's memory only through grants: a map of a reference the
 * guest never granted it, or a copy naming the guest's frame instead of a reference, is refused
 * by Xen (GNTST_general_error, GNTST_permission_denied). Under KVM, qemu has all of its guest's
 * RAM mapped in its own address space (the memory slot): it simply reads it.
 */
import type { Workload } from '../api/scenario.js';
import { C } from '../machine/counters.js';
import { fnv1a32 } from '../guest/io/hash.js';
import type { SnoopReport } from '../vm/io/ioWorld.js';
import type { WorkloadContext } from './index.js';
import { BLOCK, MEASURE, type WorkloadStep } from './steps.js';

type BackendSnoop = Extract<Workload, { kind: 'backend-snoop' }>;

export function* runBackendSnoop(w: BackendSnoop, x: WorkloadContext): Generator<WorkloadStep, void, void> {
  const vm = x.vm;
  const io = vm.io;
  if (!io?.snoop) throw new Error(`${vm.name}: the backend-snoop workload needs a virtual device served by a backend (disks or vifs)`);
  const k = vm.kernel;
  const pfns: number[] = [];
  const secrets: number[] = [];
  for (let i = 0; i < w.pages; i++) {
    const pfn = k.allocPage();
    const page = io.env.page(pfn);
    let s = (Math.imul(vm.domid + 1, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b)) >>> 0;
    for (let b = 0; b < 4096; b += 4) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      page.setUint32(b, s >>> 0, true);
    }
    pfns.push(pfn);
    secrets.push(fnv1a32(new Uint8Array(page.buffer, page.byteOffset, 4096)));
  }
  yield MEASURE;
  // One page at a time, as a backend sifting through memory would: each attempt is its own trip to
  // the backend (and, under Xen, to the grant table), so the probe runs over simulated time.
  const total: Omit<SnoopReport, 'obtained'> = { backend: '', attempts: 0, refused: 0, byStatus: {} };
  let snooped = 0;
  for (let i = 0; i < pfns.length; i++) {
    let report: SnoopReport | null = null;
    io.snoop([pfns[i]!], (r) => {
      report = r;
    });
    while (report === null) yield BLOCK;
    const r: SnoopReport = report;
    total.backend = r.backend;
    total.attempts += r.attempts;
    total.refused += r.refused;
    for (const [k, n] of Object.entries(r.byStatus)) total.byStatus[k] = (total.byStatus[k] ?? 0) + n;
    const h = r.obtained[0];
    if (h !== null && h !== undefined && h === secrets[i]) snooped++;
    vm.counters.c[C.Ops]++;
  }
  io.stats.snoop = { attempts: total.attempts, refused: total.refused, snoopedPages: snooped, byStatus: total.byStatus, backend: total.backend };
}

/**
 * Results of the I/O half (results `io` per domain, `timeline` and `devices` at the top): computed
 * from what the guest's workload recorded, the drivers' counters, and a content check of the
 * disk's durable media against every write the guest was told was done.
 */
import type { Vm } from '../vm/vm.js';
import type { IoWorld } from '../vm/io/ioWorld.js';
import { C } from '../machine/counters.js';
import type { DmaCost, IoResults, TimelineRecord } from '../api/results.js';
import type { CostTable } from '../machine/cost.js';

export type { IoResults, TimelineRecord };

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function ioResults(io: IoWorld, vm: Vm, clockGHz: number, costs: Readonly<CostTable>): IoResults {
  const s = vm.io!.stats;
  const us = (cycles: number) => cycles / (clockGHz * 1000);
  const lat = s.latencies.slice().sort((a, b) => a - b);
  let lost = 0;
  let volatile = 0;
  const disk = vm.io!.disks[0];
  const dev = s.device !== undefined ? io.disks.get(s.device) : disk ? io.diskOf(disk) : vm.io!.drivers.size > 0 ? io.disks.get([...vm.io!.drivers.keys()][0]!) : undefined;
  if (dev) {
    const dirty = new Set(dev.dirtyLbas());
    for (const [page, hash] of s.expected) {
      if (dev.blockHash(page) !== hash) lost++;
      else continue;
      if (dirty.has(page)) volatile++;
    }
  }
  const span = s.startedAt >= 0 && s.endedAt > s.startedAt ? s.endedAt - s.startedAt : 0;
  // Disks and vifs removed during the run (xl block-detach, network-detach) still count.
  const disks = [...vm.io!.disks, ...vm.io!.retired.disks];
  const vifs = [...vm.io!.vifs, ...vm.io!.retired.vifs];
  const fronts = [...disks.map((d) => d.front.stats), ...vifs.map((v) => v.front.stats)];
  const c = vm.counters.c;
  const served = vm.io!.backends.reduce((a, b) => a + b.stats.requests, 0) + vm.io!.netbacks.reduce((a, b) => a + b.stats.txFrames + b.stats.rxFrames, 0);
  return {
    requests: s.requests,
    bytes: s.bytes,
    throughputMBps: span > 0 ? s.bytes / 1e6 / (span / (clockGHz * 1e9)) : 0,
    latencyUs: { p50: us(percentile(lat, 50)), p99: us(percentile(lat, 99)), max: us(lat[lat.length - 1] ?? 0) },
    acknowledgedWrites: s.acknowledgedWrites,
    lostWrites: lost,
    volatileWrites: volatile,
    errors: s.errors,
    flushes: s.flushes,
    packetsDropped: vifs.reduce((a, v) => a + v.drops.dropped, 0),
    reconnects: fronts.reduce((a, f) => a + f.reconnects, 0),
    reconnectMs: fronts.flatMap((f) => f.reconnectCycles.map((x) => x / (clockGHz * 1e6))),
    reissued: disks.reduce((a, d) => a + d.front.stats.reissued, 0),
    grantOps: { map: c[C.GrantMaps]!, unmap: c[C.GrantUnmaps]!, copy: c[C.GrantCopies]! },
    evtchnSends: c[C.EvtchnSends]!,
    served,
    dmaCost: dmaCost(vm, disks, costs, s.requests > 0 ? s.requests : served),
    ...(s.snoop ? { refused: s.snoop.refused, snoopedPages: s.snoop.snoopedPages, snoop: { backend: s.snoop.backend, attempts: s.snoop.attempts, byStatus: s.snoop.byStatus } } : {}),
  };
}

/** DmaCost from the domain's counters (what Xen did for its IOMMU table and its grant copies) and its blkfronts' copies. */
function dmaCost(vm: Vm, disks: readonly { front: { stats: { copies: number; copyCycles: number } } }[], k: Readonly<CostTable>, requests: number): DmaCost {
  const c = vm.counters.c;
  const iommuMaps = c[C.IommuMaps]!;
  const iommuUnmaps = c[C.IommuUnmaps]!;
  const iotlbFlushes = c[C.IotlbFlushes]!;
  const iommuCycles = iommuMaps * k.iommuMap + iommuUnmaps * k.iommuUnmap + iotlbFlushes * k.iotlbFlush;
  const pageCopies = disks.reduce((a, d) => a + d.front.stats.copies, 0);
  const grantCopyBytes = c[C.GrantCopyBytes]!;
  const copyBytes = grantCopyBytes + pageCopies * 4096;
  const copyCycles = c[C.GrantCopies]! * k.grantCopyBase + (grantCopyBytes / 1024) * k.grantCopyPerKiB + disks.reduce((a, d) => a + d.front.stats.copyCycles, 0);
  const per = (x: number) => (requests > 0 ? x / requests : 0);
  return { iommuMaps, iommuUnmaps, iotlbFlushes, iommuCycles, copyBytes, copyCycles, perRequest: { iommuCycles: per(iommuCycles), copyCycles: per(copyCycles) } };
}

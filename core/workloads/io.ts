/**
 * I/O workloads: a program doing direct I/O to its virtual disk (disk-io), like fio with
 * O_DIRECT and an iodepth: it keeps `queueDepth` requests in flight, each `blockKiB` of whole
 * pages, and after every `flushEvery` writes asks for a cache flush (fsync's FLUSH). The domain
 * blocks while it waits, so its vCPU is free for others (or idle) until a completion arrives.
 *
 * Every write carries data the program can recognise later (a pattern from the block number and a
 * version), and when the guest is told a write is done, the lab records what that block must
 * hold. After the run the lab reads the disk's durable media and counts acknowledged writes that
 * are not there (results io.lostWrites).
 */
import type { Workload } from '../api/scenario.js';
import { C } from '../machine/counters.js';
import { BLKIF_RSP_OKAY } from '../api/public/io/blkif.js';
import type { BlkIo } from '../guest/io/blkfront.js';
import { fnv1a32 } from '../guest/io/hash.js';
import type { WorkloadContext } from './index.js';
import { BLOCK, MEASURE, type WorkloadStep } from './steps.js';

type DiskIo = Extract<Workload, { kind: 'disk-io' }>;

export function* runDiskIo(w: DiskIo, x: WorkloadContext): Generator<WorkloadStep, void, void> {
  const vm = x.vm;
  const io = vm.io;
  const disk = io?.disks[0];
  // A virtual disk (blkfront), or on bare metal the disk the kernel drives itself.
  const fe = disk?.front ?? io?.direct;
  if (!io || !fe) throw new Error(`${vm.name}: the disk-io workload needs a virtual disk (disks in the scenario), or on bare metal a disk it owns (pci)`);
  const k = vm.kernel;
  const c = vm.counters.c;
  const env = io.env;
  const stats = io.stats;
  if (disk) stats.device = disk.device;
  const pagesPer = w.blockKiB / 4;
  // The program's buffers: one per request it keeps in flight (O_DIRECT: the pages are granted as they are).
  const free: number[][] = [];
  for (let i = 0; i < w.queueDepth; i++) {
    const pfns: number[] = [];
    for (let p = 0; p < pagesPer; p++) pfns.push(k.allocPage());
    free.push(pfns);
  }
  // Wait for the disk to connect (boot: the xenbus handshake with the backend).
  while (!fe.connected) yield BLOCK;
  yield MEASURE;
  const blocks = Math.floor(fe.sectors / (8 * pagesPer));
  if (blocks < 1) throw new Error(`${vm.name}: ${disk?.vdev ?? 'the disk'} is smaller than one ${w.blockKiB} KiB block`);
  const inFlight = new Set<number>();
  const version = new Map<number, number>();
  let issued = 0;
  let done = 0;
  let writesSinceFlush = 0;
  let flushesOut = 0;
  const submitFlush = () => {
    flushesOut++;
    stats.flushes++;
    k.ops.syscall(); // fsync / fdatasync
    fe.submit({
      op: 'flush',
      sector: 0,
      pfns: [],
      done: (status) => {
        flushesOut--;
        if (status !== BLKIF_RSP_OKAY) stats.errors++;
      },
    });
  };
  while (done < w.ops) {
    while (issued < w.ops && free.length > 0) {
      if (w.flushEvery > 0 && writesSinceFlush >= w.flushEvery) {
        writesSinceFlush = 0;
        submitFlush();
        continue;
      }
      const write = w.writeFraction >= 1 || x.rng.next() < w.writeFraction;
      let block = w.pattern === 'sequential' ? issued % blocks : x.rng.below(blocks);
      // A file system never has two writes to one block in flight; neither does this program.
      for (let tries = 0; inFlight.has(block) && tries < 64; tries++) block = (block + 1) % blocks;
      if (inFlight.has(block)) break;
      const pfns = free.pop()!;
      const hashes: number[] = [];
      if (write) {
        const v = (version.get(block) ?? 0) + 1;
        version.set(block, v);
        for (let p = 0; p < pagesPer; p++) hashes.push(fillPattern(env.page(pfns[p]!), block * pagesPer + p, v));
      }
      inFlight.add(block);
      const submitted = env.now();
      const sector = block * pagesPer * 8;
      const req: BlkIo = {
        op: write ? 'write' : 'read',
        sector,
        pfns,
        done: (status) => {
          inFlight.delete(block);
          free.push(pfns);
          done++;
          c[C.Ops]++;
          stats.requests++;
          stats.bytes += w.blockKiB * 1024;
          stats.latencies.push(env.now() - submitted);
          if (status !== BLKIF_RSP_OKAY) {
            stats.errors++;
            return;
          }
          if (write) {
            stats.acknowledgedWrites++;
            for (let p = 0; p < pagesPer; p++) stats.expected.set(sector / 8 + p, hashes[p]!);
          }
        },
      };
      k.ops.syscall(); // io_submit
      fe.submit(req);
      issued++;
      if (write) writesSinceFlush++;
    }
    if (done < w.ops) yield BLOCK;
  }
  // The program's last fsync: what it wrote is durable before it exits.
  if (w.flushEvery > 0 && writesSinceFlush > 0) submitFlush();
  while (flushesOut > 0) yield BLOCK;
}

/** Fills a page with words only (page, version) produce; returns the page's FNV-1a hash. */
function fillPattern(page: DataView, pageNo: number, version: number): number {
  let s = (Math.imul(pageNo, 0x9e3779b1) ^ Math.imul(version, 0x85ebca6b) ^ 0x5bd1e995) >>> 0;
  for (let i = 0; i < 4096; i += 4) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    page.setUint32(i, s >>> 0, true);
  }
  return fnv1a32(new Uint8Array(page.buffer, page.byteOffset, 4096));
}

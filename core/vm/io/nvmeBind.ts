/**
 * A kernel's NVMe driver bound to one of the machine's disks (the PCI probe: bus mastering on, the
 * I/O queues created through the controller, the doorbells): the same for a Xen backend domain's
 * kernel and for the KVM host's.
 */
import type { NvmeDisk } from '../../machine/devices/disk.js';
import type { XenIoEnv } from '../../guest/io/env.js';
import { NvmeDriver, type NvmeCosts } from '../../guest/io/nvme.js';

export function bindNvme(env: XenIoEnv, disk: NvmeDisk, costs: NvmeCosts): NvmeDriver {
  disk.config.command |= 0x6; // Memory Space + Bus Master Enable
  return new NvmeDriver(
    env,
    {
      lbaBytes: 4096,
      sizeBytes: disk.sizeMiB * 1024 * 1024,
      volatileWriteCache: disk.writeCache,
      createIoQueues: (sq, cq, depth) => disk.createIoQueues(Math.floor(sq / 4096), Math.floor(cq / 4096), depth),
      sqDoorbell: (tail) => disk.ringSqDoorbell(tail),
      cqDoorbell: (head) => disk.ringCqDoorbell(head),
    },
    costs,
  );
}

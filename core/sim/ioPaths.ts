/**
 * C5 against C1: one I/O workload, per request, through Xen's split drivers with dom0 as the
 * backend and through KVM's qemu (and, once virtio-net exists, vhost-net): what each request costs
 * in exits, copies, wake-ups of the backend, interrupts, and cycles split by who spent them —
 * the guest, the hypervisor (Xen; KVM), the host kernel (KVM only: Xen has none), and the backend
 * (dom0's kernel running blkback and the NVMe driver; qemu's device emulation).
 */
import type { DomainResults, Results } from '../api/results.js';
import { validateScenario, type Workload } from '../api/scenario.js';
import { runScenario } from './run.js';

export type IoPathId = 'xen-dom0' | 'kvm-qemu';

export interface IoPathRow {
  path: IoPathId;
  label: string;
  requests: number;
  /** Per request: */
  exits: number;
  copies: number;
  /** The backend made to run: dom0's vCPU given an event (upcalls), or qemu's thread woken. */
  backendWakeups: number;
  /** Interrupts taken: the device's (by dom0 or the host) and the completions into the guest (under Xen, event upcalls into either). */
  interrupts: number;
  cycles: { guest: number; hypervisor: number; hostKernel: number; backend: number; total: number };
  lostWrites: number;
}

/** The guest's scenario on `path`: one HVM (hap) guest with a disk on disk0. */
function scenarioFor(path: IoPathId, workload: Workload) {
  const guest = { name: 'g', mode: 'hap' as const, memoryMiB: 256, vcpus: 1, disks: [{ device: 'disk0' }], workload };
  return {
    name: `io-path-${path}`,
    machine: { memoryMiB: 2048, pcpus: 1, devices: [{ id: 'disk0', kind: 'disk' as const, sizeMiB: 512 }] },
    hypervisor: path === 'xen-dom0' ? ('xen' as const) : ('kvm' as const),
    domains: [guest],
  };
}

function rowOf(path: IoPathId, r: Results): IoPathRow {
  const g = r.domains.find((d) => d.name === 'g')!;
  const n = g.io!.requests || 1;
  const per = (x: number) => x / n;
  if (path === 'kvm-qemu') {
    const k = g.kvm!.io;
    const guest = g.cycles.guest;
    // Everything KVM's side did lands in the guest's hypervisor cycles; kvm.io splits it.
    const host = k.hostKernelCycles;
    const backend = k.qemuCycles;
    const hv = g.cycles.hypervisor - host - backend;
    return {
      path,
      label: 'KVM, virtio-blk served by qemu',
      requests: g.io!.requests,
      exits: per(g.vmexits.total),
      copies: per(k.copies),
      backendWakeups: per(k.hostContextSwitches),
      interrupts: per(k.hostInterrupts + k.irqfdInjections),
      cycles: { guest: per(guest), hypervisor: per(hv), hostKernel: per(host), backend: per(backend), total: per(guest + hv + host + backend) },
      lostWrites: g.io!.lostWrites,
    };
  }
  const dom0 = r.domains.find((d) => d.role === 'dom0') as DomainResults;
  const guest = g.cycles.guest;
  const hv = g.cycles.hypervisor + dom0.cycles.hypervisor;
  const backend = dom0.cycles.guest;
  return {
    path,
    label: 'Xen, blkfront → blkback in dom0',
    requests: g.io!.requests,
    exits: per(g.vmexits.total + g.hypercalls.total - (g.vmexits.byReason.VMCALL ?? 0)),
    copies: per((g.counters.grantCopies ?? 0) + (dom0.counters.grantCopies ?? 0)),
    backendWakeups: per(dom0.counters.upcalls ?? 0),
    // Under Xen an interrupt is an event: the disk's MSI reaches dom0 as a pirq event, a completion the guest as one.
    interrupts: per((dom0.counters.upcalls ?? 0) + (g.counters.upcalls ?? 0)),
    cycles: { guest: per(guest), hypervisor: per(hv), hostKernel: 0, backend: per(backend), total: per(guest + hv + backend) },
    lostWrites: g.io!.lostWrites,
  };
}

/** Runs `workload` (disk-io) on each path and gives one row per path. */
export function compareIoPaths(workload: Workload, paths: readonly IoPathId[] = ['xen-dom0', 'kvm-qemu']): IoPathRow[] {
  if (workload.kind !== 'disk-io') throw new Error(`compareIoPaths: ${workload.kind} needs virtio-net under KVM, which is not built yet; disk-io is`);
  return paths.map((path) => {
    const v = validateScenario(scenarioFor(path, workload));
    if (!v.ok) throw new Error(`${path}: ${v.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
    return rowOf(path, runScenario(v.scenario));
  });
}

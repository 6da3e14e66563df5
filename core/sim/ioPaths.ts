/**
 * C5 against C1: one I/O workload, per request, through Xen's split drivers with dom0 as the
 * backend, through KVM's qemu, and (network only) through vhost-net: what each request costs
 * in exits, copies, wake-ups of the backend, interrupts, and cycles split by who spent them —
 * the guest, the hypervisor (Xen; KVM), the host kernel (KVM only: Xen has none), and the backend
 * (dom0's kernel running blkback and the NVMe driver; qemu's device emulation).
 */
import type { DomainResults, Results } from '../api/results.js';
import { validateScenario, type Workload } from '../api/scenario.js';
import { runScenario } from './run.js';

export type IoPathId = 'xen-dom0' | 'kvm-qemu' | 'kvm-vhost';

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

const NET = new Set(['net-stream', 'net-rr']);

/** The guest's scenario on `path`: one HVM (hap) guest with a disk on disk0, or a vif on nic0. */
function scenarioFor(path: IoPathId, workload: Workload) {
  const net = NET.has(workload.kind);
  const dev = net ? { vifs: [{ device: 'nic0', ...(path === 'kvm-vhost' ? { backend: 'vhost' } : {}) }] } : { disks: [{ device: 'disk0' }] };
  const guest = { name: 'g', mode: 'hap' as const, memoryMiB: 256, vcpus: 1, ...dev, workload };
  return {
    name: `io-path-${path}`,
    machine: { memoryMiB: 2048, pcpus: 1, devices: [net ? { id: 'nic0', kind: 'nic' as const } : { id: 'disk0', kind: 'disk' as const, sizeMiB: 512 }] },
    hypervisor: path === 'xen-dom0' ? ('xen' as const) : ('kvm' as const),
    domains: [guest],
  };
}

const LABELS: Record<IoPathId, [disk: string, net: string]> = {
  'xen-dom0': ['Xen, blkfront → blkback in dom0', 'Xen, netfront → netback in dom0'],
  'kvm-qemu': ['KVM, virtio-blk served by qemu', 'KVM, virtio-net served by qemu (tap)'],
  'kvm-vhost': ['KVM, vhost (network only)', 'KVM, virtio-net served by vhost-net'],
};

function rowOf(path: IoPathId, r: Results, net: boolean): IoPathRow {
  const g = r.domains.find((d) => d.name === 'g')!;
  const label = LABELS[path][net ? 1 : 0];
  const n = g.io!.requests || 1;
  const per = (x: number) => x / n;
  if (path !== 'xen-dom0') {
    const k = g.kvm!.io;
    const guest = g.cycles.guest;
    // Everything KVM's side did lands in the guest's hypervisor cycles; kvm.io splits it. vhost-net
    // is the backend and runs in the host kernel: its cycles are the host kernel's.
    const host = k.hostKernelCycles;
    const backend = k.qemuCycles;
    const hv = g.cycles.hypervisor - host - backend;
    return {
      path,
      label,
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
    label,
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

/**
 * Runs `workload` (disk-io, net-stream or net-rr) on each path and gives one row per path; vhost
 * serves only the network (a disk under KVM is qemu's), so disk-io has no kvm-vhost row.
 */
export function compareIoPaths(workload: Workload, paths?: readonly IoPathId[]): IoPathRow[] {
  const net = NET.has(workload.kind);
  if (!net && workload.kind !== 'disk-io') throw new Error(`compareIoPaths: ${workload.kind} is not an I/O workload (disk-io, net-stream, net-rr)`);
  const want = paths ?? (net ? ['xen-dom0', 'kvm-qemu', 'kvm-vhost'] : ['xen-dom0', 'kvm-qemu']);
  return want.map((path) => {
    if (path === 'kvm-vhost' && !net) throw new Error('compareIoPaths: vhost serves network devices only; disk-io under KVM is qemu\'s');
    const v = validateScenario(scenarioFor(path, workload));
    if (!v.ok) throw new Error(`${path}: ${v.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
    return rowOf(path, runScenario(v.scenario), net);
  });
}

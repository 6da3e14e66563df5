/**
 * C5 against C1–C4: one I/O workload, per request, through Xen's split drivers with dom0 as the
 * backend or with a PV driver domain that owns the device by pci as the backend (C4), through
 * KVM's qemu, (network only) through vhost-net, and by passthrough (C2: the guest owns the device
 * by pci under Xen with the IOMMU on and drives it itself): what each request costs
 * in exits, copies, wake-ups of the backend, interrupts, and cycles split by who spent them —
 * the guest, the hypervisor (Xen; KVM), the host kernel (KVM only: Xen has none), and the backend
 * (dom0's kernel running blkback and the NVMe driver; qemu's device emulation).
 */
import type { DomainResults, Results } from '../api/results.js';
import { IO_PATH_IDS, type IoPathId, type IoPathRow } from '../api/ioPaths.js';
import { validateScenario, type Workload } from '../api/scenario.js';
import { runScenario } from './run.js';

export { IO_PATH_IDS, IO_PATH_WORKLOADS, type IoPathId, type IoPathRow } from '../api/ioPaths.js';

/** The driver domain's name on the xen-driver-domain path. */
export const IO_DRIVER_DOMAIN = 'dd';

const NET = new Set(['net-stream', 'net-rr']);

/** The guest's scenario on `path`: one HVM (hap) guest with a disk on disk0, or a vif on nic0. */
function scenarioFor(path: IoPathId, workload: Workload) {
  const net = NET.has(workload.kind);
  const id = net ? 'nic0' : 'disk0';
  // The driver domain (C4): a PV domain that owns the device by pci and serves the guest.
  const backend = path === 'xen-driver-domain' ? { backend: IO_DRIVER_DOMAIN } : {};
  const dev =
    path === 'passthrough'
      ? { pci: [id] }
      : net
        ? { vifs: [{ device: id, ...backend, ...(path === 'kvm-vhost' ? { backend: 'vhost' } : {}) }] }
        : { disks: [{ device: id, ...backend }] };
  const guest = { name: 'g', mode: 'hap' as const, memoryMiB: 256, vcpus: 1, ...dev, workload };
  const dd = { name: IO_DRIVER_DOMAIN, mode: 'pv' as const, memoryMiB: 128, vcpus: 1, pci: [id] };
  return {
    name: `io-path-${path}`,
    // The IOMMU is on (the default) on every Xen path: passthrough and a driver domain need it.
    machine: { memoryMiB: 2048, pcpus: 1, iommu: true, devices: [net ? { id, kind: 'nic' as const } : { id, kind: 'disk' as const, sizeMiB: 512 }] },
    hypervisor: path.startsWith('kvm-') ? ('kvm' as const) : ('xen' as const),
    domains: path === 'xen-driver-domain' ? [dd, guest] : [guest],
  };
}

const LABELS: Record<IoPathId, [disk: string, net: string]> = {
  'xen-dom0': ['Xen, blkfront → blkback in dom0', 'Xen, netfront → netback in dom0'],
  'kvm-qemu': ['KVM, virtio-blk served by qemu', 'KVM, virtio-net served by qemu (tap)'],
  'kvm-vhost': ['KVM, vhost (network only)', 'KVM, virtio-net served by vhost-net'],
  'xen-driver-domain': ['Xen, blkfront → blkback in a driver domain', 'Xen, netfront → netback in a driver domain'],
  passthrough: ['Xen passthrough: the guest drives its NVMe disk (IOMMU on)', 'Xen passthrough: the guest drives its e1000 NIC (IOMMU on)'],
};

function rowOf(path: IoPathId, r: Results, net: boolean): IoPathRow {
  const g = r.domains.find((d) => d.name === 'g')!;
  const label = LABELS[path][net ? 1 : 0];
  const n = g.io!.requests || 1;
  const per = (x: number) => x / n;
  if (path === 'kvm-qemu' || path === 'kvm-vhost') {
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
      bytes: per(g.io!.bytes),
      exits: per(g.vmexits.total),
      copies: per(k.copies),
      backendWakeups: per(k.hostContextSwitches),
      interrupts: per(k.hostInterrupts + k.irqfdInjections),
      cycles: { guest: per(guest), hypervisor: per(hv), hostKernel: per(host), backend: per(backend), total: per(guest + hv + host + backend) },
      lostWrites: g.io!.lostWrites,
    };
  }
  if (path === 'passthrough') {
    // No backend: the guest's own driver does the I/O; Xen takes the device's MSI and sends it to
    // the guest as a pirq event. Everything else is the guest's.
    const guest = g.cycles.guest;
    const hv = g.cycles.hypervisor;
    return {
      path,
      label,
      requests: g.io!.requests,
      bytes: per(g.io!.bytes),
      exits: per(g.vmexits.total + g.hypercalls.total - (g.vmexits.byReason.VMCALL ?? 0)),
      copies: per(g.counters.grantCopies ?? 0),
      backendWakeups: 0,
      interrupts: per(g.counters.upcalls ?? 0),
      cycles: { guest: per(guest), hypervisor: per(hv), hostKernel: 0, backend: 0, total: per(guest + hv) },
      lostWrites: g.io!.lostWrites,
    };
  }
  // The backend domain: dom0, or the driver domain.
  const dom0 = (path === 'xen-driver-domain' ? r.domains.find((d) => d.name === IO_DRIVER_DOMAIN) : r.domains.find((d) => d.role === 'dom0')) as DomainResults;
  const guest = g.cycles.guest;
  const hv = g.cycles.hypervisor + dom0.cycles.hypervisor;
  const backend = dom0.cycles.guest;
  return {
    path,
    label,
    requests: g.io!.requests,
    bytes: per(g.io!.bytes),
    exits: per(g.vmexits.total + g.hypercalls.total - (g.vmexits.byReason.VMCALL ?? 0)),
    copies: per((g.counters.grantCopies ?? 0) + (dom0.counters.grantCopies ?? 0)),
    backendWakeups: per(dom0.counters.upcalls ?? 0),
    // Under Xen an interrupt is an event: the disk's MSI reaches dom0 as a pirq event, a completion the guest as one.
    interrupts: per((dom0.counters.upcalls ?? 0) + (g.counters.upcalls ?? 0)),
    cycles: { guest: per(guest), hypervisor: per(hv), hostKernel: 0, backend: per(backend), total: per(guest + hv + backend) },
    lostWrites: g.io!.lostWrites,
  };
}

/** The paths a workload has (vhost serves only the network: a disk under KVM is qemu's). */
export function ioPathsFor(kind: Workload['kind']): IoPathId[] {
  if (!NET.has(kind) && kind !== 'disk-io') throw new Error(`compareIoPaths: ${kind} is not an I/O workload (disk-io, net-stream, net-rr)`);
  return NET.has(kind) ? [...IO_PATH_IDS] : IO_PATH_IDS.filter((p) => p !== 'kvm-vhost');
}

/**
 * The scenario one path runs (validated by the caller): for a UI that wants to show it, and for
 * tests. Throws for a path the workload does not have.
 */
export function ioPathScenario(path: IoPathId, workload: Workload) {
  check(workload, [path]);
  return scenarioFor(path, workload);
}

function check(workload: Workload, paths: readonly IoPathId[]): boolean {
  const net = NET.has(workload.kind);
  if (!net && workload.kind !== 'disk-io') throw new Error(`compareIoPaths: ${workload.kind} is not an I/O workload (disk-io, net-stream, net-rr)`);
  for (const path of paths) {
    if (!IO_PATH_IDS.includes(path)) throw new Error(`compareIoPaths: unknown path ${JSON.stringify(path)} (expected one of ${IO_PATH_IDS.join(', ')})`);
    if (path === 'kvm-vhost' && !net) throw new Error('compareIoPaths: vhost serves network devices only; disk-io under KVM is qemu\'s');
  }
  return net;
}

/** Runs `workload` on one path and gives its row. */
export function runIoPath(path: IoPathId, workload: Workload): IoPathRow {
  const net = check(workload, [path]);
  const v = validateScenario(scenarioFor(path, workload));
  if (!v.ok) throw new Error(`${path}: ${v.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  return rowOf(path, runScenario(v.scenario), net);
}

/**
 * Runs `workload` (disk-io, net-stream or net-rr) on each path and gives one row per path; vhost
 * serves only the network (a disk under KVM is qemu's), so disk-io has no kvm-vhost row.
 */
export function compareIoPaths(workload: Workload, paths?: readonly IoPathId[]): IoPathRow[] {
  const want = paths ?? ioPathsFor(workload.kind);
  check(workload, want);
  return want.map((path) => runIoPath(path, workload));
}

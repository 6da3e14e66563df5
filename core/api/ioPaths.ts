/**
 * The I/O path comparison's contract (C5 against C1–C4): the paths one I/O workload runs through
 * and the per-request row each gives. Running them is core/sim/ioPaths.ts's; the worker answers
 * an 'io-paths' request with these rows (core/api/worker.ts).
 */

export type IoPathId = 'xen-dom0' | 'xen-driver-domain' | 'kvm-qemu' | 'kvm-vhost' | 'passthrough';

/**
 * Every path, in the order compareIoPaths runs them by default: the first three as they were
 * before the driver domain and passthrough were added (callers index the rows), then those two.
 */
export const IO_PATH_IDS: readonly IoPathId[] = ['xen-dom0', 'kvm-qemu', 'kvm-vhost', 'xen-driver-domain', 'passthrough'];

/** The I/O workloads the comparison runs. */
export const IO_PATH_WORKLOADS = ['disk-io', 'net-stream', 'net-rr'] as const;
export type IoPathWorkloadKind = (typeof IO_PATH_WORKLOADS)[number];

/** Which hypervisor a path runs under (the UI colours KVM's paths with the KVM colour). */
export function ioPathHypervisor(path: IoPathId): 'xen' | 'kvm' {
  return path.startsWith('kvm-') ? 'kvm' : 'xen';
}

export interface IoPathRow {
  path: IoPathId;
  label: string;
  requests: number;
  /** Per request: the bytes it moved (disk-io: the block; net-rr: request and response; net-stream: the frame), */
  bytes: number;
  exits: number;
  copies: number;
  /** The backend made to run: dom0's vCPU given an event (upcalls), or qemu's thread woken. */
  backendWakeups: number;
  /** Interrupts taken: the device's (by dom0 or the host) and the completions into the guest (under Xen, event upcalls into either). */
  interrupts: number;
  cycles: { guest: number; hypervisor: number; hostKernel: number; backend: number; total: number };
  lostWrites: number;
}

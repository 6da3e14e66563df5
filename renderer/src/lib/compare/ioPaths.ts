/**
 * The Compare view's I/O path section (C5 against C1–C4): the worker's rows (core/sim/ioPaths.ts,
 * one per path, every figure per request) shaped into stacked bars of cycles per request (guest,
 * hypervisor, host kernel, backend) and the CSV the chart exports (its Data table); and the workload form
 * (each I/O workload's main parameters with the schema's defaults).
 */
import { ioPathHypervisor, type IoPathId, type IoPathRow, type IoPathWorkloadKind } from '../../../../core/api/index.js';
import { toCsv } from './shape.js';

export const IO_PARTS = ['guest', 'hypervisor', 'hostKernel', 'backend'] as const;
export type IoPart = (typeof IO_PARTS)[number];

export const IO_PART_LABEL: Record<IoPart, string> = { guest: 'guest', hypervisor: 'hypervisor', hostKernel: 'host kernel', backend: 'backend' };

/** One colour per part (CSS variables of app.css, themed): they stand apart in every theme. */
export const IO_PART_COLOR: Record<IoPart, string> = { guest: '--mode-native', hypervisor: '--mode-shadow', hostKernel: '--mode-kvm', backend: '--mode-pv' };

/** A path's own colour where the UI colours modes: KVM's purple for KVM's paths, the HAP guest's blue for Xen's. */
export function ioPathColor(path: IoPathId): string {
  return ioPathHypervisor(path) === 'kvm' ? '--mode-kvm' : '--mode-hap';
}

/** Short names for the bars (the row's label says the whole path). */
export const IO_PATH_SHORT: Record<IoPathId, string> = {
  'xen-dom0': 'Xen · dom0',
  'xen-driver-domain': 'Xen · driver domain',
  'kvm-qemu': 'KVM · qemu',
  'kvm-vhost': 'KVM · vhost',
  passthrough: 'Xen · passthrough',
};

/** The order the section shows the paths: Xen's split drivers, KVM's, then passthrough. */
const SHOW_ORDER: readonly IoPathId[] = ['xen-dom0', 'xen-driver-domain', 'kvm-qemu', 'kvm-vhost', 'passthrough'];

export function orderRows(rows: readonly IoPathRow[]): IoPathRow[] {
  return [...rows].sort((a, b) => SHOW_ORDER.indexOf(a.path) - SHOW_ORDER.indexOf(b.path));
}

export interface IoSegment {
  part: IoPart;
  /** Cycles per request before this segment (where it starts on the axis). */
  start: number;
  perRequest: number;
}

export interface IoBar {
  path: IoPathId;
  short: string;
  label: string;
  color: string;
  total: number;
  /** Only the parts with cycles, in IO_PARTS order. */
  segments: IoSegment[];
}

/** Bars in show order; each part's segment starts where the previous ends. */
export function ioPathBars(rows: readonly IoPathRow[]): IoBar[] {
  return orderRows(rows).map((r) => {
    let start = 0;
    const segments: IoSegment[] = [];
    for (const part of IO_PARTS) {
      const v = r.cycles[part];
      if (v > 0) segments.push({ part, start, perRequest: v });
      start += v;
    }
    return { path: r.path, short: IO_PATH_SHORT[r.path], label: r.label, color: ioPathColor(r.path), total: r.cycles.total, segments };
  });
}

/** Total cycles per byte moved (0 bytes: none). */
export function cyclesPerByte(r: IoPathRow): number {
  return r.bytes > 0 ? r.cycles.total / r.bytes : 0;
}

/** The numbers behind the chart; ChartFrame's Data table is this CSV as a table (csvTable). */
export function ioPathsCsv(rows: readonly IoPathRow[]): string {
  return toCsv(
    ['path', 'label', 'requests', 'bytes_per_request', 'cycles_per_byte', 'exits_per_request', 'copies_per_request', 'backend_wakeups_per_request', 'interrupts_per_request', 'guest_cycles_per_request', 'hypervisor_cycles_per_request', 'host_kernel_cycles_per_request', 'backend_cycles_per_request', 'total_cycles_per_request'],
    orderRows(rows).map((r) => [r.path, r.label, r.requests, r.bytes, cyclesPerByte(r), r.exits, r.copies, r.backendWakeups, r.interrupts, ...IO_PARTS.map((p) => r.cycles[p]), r.cycles.total]),
  );
}

/** A workload parameter the form offers: number fields with the schema's bounds and default (core/api/scenario.ts). */
export interface IoParam {
  key: string;
  label: string;
  min: number;
  max: number;
  default: number;
  step?: number;
}

/**
 * The main parameters of each I/O workload, with core/api/scenario.ts's defaults except the
 * request counts: smaller than the schema's default (disk-io 2000 ops, net-rr 1000 transactions,
 * net-stream 4 MiB) so the five paths run in a few seconds; per-request figures do not depend on
 * the count once the first requests are past. disk-io's queue depth defaults to 1 (the schema's is
 * 32): one request at a time, so every interrupt and wake-up is one request's, not batched.
 */
export const IO_PARAMS: Record<IoPathWorkloadKind, IoParam[]> = {
  'disk-io': [
    { key: 'ops', label: 'requests', min: 1, max: 100_000, default: 200 },
    { key: 'blockKiB', label: 'block KiB', min: 4, max: 44, default: 4, step: 4 },
    { key: 'queueDepth', label: 'queue depth', min: 1, max: 32, default: 1 },
  ],
  'net-stream': [
    { key: 'bytes', label: 'bytes', min: 60, max: 1 << 30, default: 300_000 },
    { key: 'packetBytes', label: 'frame bytes', min: 60, max: 1514, default: 1500 },
  ],
  'net-rr': [
    { key: 'transactions', label: 'transactions', min: 1, max: 100_000, default: 100 },
    { key: 'requestBytes', label: 'request bytes', min: 60, max: 1514, default: 64 },
    { key: 'responseBytes', label: 'response bytes', min: 60, max: 1514, default: 64 },
  ],
};

export function defaultIoParams(kind: IoPathWorkloadKind): Record<string, number> {
  return Object.fromEntries(IO_PARAMS[kind].map((p) => [p.key, p.default]));
}

/** The workload the form sends (the worker applies the schema's defaults to the rest and checks the bounds). */
export function ioWorkload(kind: IoPathWorkloadKind, values: Record<string, number>): Record<string, unknown> {
  return { kind, ...Object.fromEntries(IO_PARAMS[kind].map((p) => [p.key, values[p.key] ?? p.default])) };
}

// The I/O path section's shaping: rows → stacked bars (segments start where the previous part
// ends, empty parts dropped, paths in show order, KVM's in KVM purple) and → the CSV and Data table.
import { describe, expect, it } from 'vitest';
import type { IoPathId, IoPathRow } from '../../core/api/index.js';
import { csvTable } from '../../renderer/src/lib/chartTable.js';
import { defaultIoParams, ioPathBars, ioPathColor, ioPathsCsv, ioWorkload, orderRows } from '../../renderer/src/lib/compare/ioPaths.js';
import { workloadSchema } from '../../core/api/scenario.js';

function row(path: IoPathId, guest: number, hypervisor: number, hostKernel: number, backend: number): IoPathRow {
  return {
    path,
    label: `label of ${path}`,
    requests: 10,
    bytes: 4096,
    exits: 1,
    copies: 0.5,
    backendWakeups: 2,
    interrupts: 3,
    cycles: { guest, hypervisor, hostKernel, backend, total: guest + hypervisor + hostKernel + backend },
    lostWrites: 0,
  };
}

// In the worker's default order (compareIoPaths): xen-dom0, kvm-qemu, kvm-vhost, xen-driver-domain, passthrough.
const ROWS = [row('xen-dom0', 6300, 9200, 0, 11000), row('kvm-qemu', 6400, 2800, 12400, 7000), row('kvm-vhost', 9300, 3800, 22032, 0), row('xen-driver-domain', 6300, 12800, 0, 11000), row('passthrough', 10100, 1300, 0, 0)];

describe('ioPathBars', () => {
  const bars = ioPathBars(ROWS);

  it('shows Xen’s split drivers, then KVM’s, then passthrough', () => {
    expect(bars.map((b) => b.path)).toEqual(['xen-dom0', 'xen-driver-domain', 'kvm-qemu', 'kvm-vhost', 'passthrough']);
    expect(orderRows(ROWS).map((r) => r.path)).toEqual(bars.map((b) => b.path));
  });

  it('stacks guest, hypervisor, host kernel, backend; each segment starts at the sum of those before it; empty parts are dropped', () => {
    const qemu = bars.find((b) => b.path === 'kvm-qemu')!;
    expect(qemu.segments).toEqual([
      { part: 'guest', start: 0, perRequest: 6400 },
      { part: 'hypervisor', start: 6400, perRequest: 2800 },
      { part: 'hostKernel', start: 9200, perRequest: 12400 },
      { part: 'backend', start: 21600, perRequest: 7000 },
    ]);
    expect(qemu.total).toBe(28600);
    const pt = bars.find((b) => b.path === 'passthrough')!;
    expect(pt.segments.map((s) => s.part)).toEqual(['guest', 'hypervisor']);
    const vhost = bars.find((b) => b.path === 'kvm-vhost')!;
    expect(vhost.segments.map((s) => s.part)).toEqual(['guest', 'hypervisor', 'hostKernel']);
  });

  it('colours KVM’s paths in KVM purple and Xen’s in the HAP guest’s blue', () => {
    expect(bars.map((b) => b.color)).toEqual(['--mode-hap', '--mode-hap', '--mode-kvm', '--mode-kvm', '--mode-hap']);
    expect(ioPathColor('kvm-vhost')).toBe('--mode-kvm');
  });
});

describe('ioPathsCsv and its Data table', () => {
  it('one line per path in show order, the per-request figures as given', () => {
    const table = csvTable('t', ioPathsCsv(ROWS));
    expect(table.columns.slice(0, 3)).toEqual(['path', 'label', 'requests']);
    expect(table.rows.map((r) => r[0])).toEqual(['xen-dom0', 'xen-driver-domain', 'kvm-qemu', 'kvm-vhost', 'passthrough']);
    const dd = table.rows[1]!;
    // requests, bytes, cycles per byte (30100 / 4096 = 7.348…), exits, copies, wake-ups, interrupts, guest, hypervisor, host kernel, backend, total (digits grouped with thin spaces).
    expect(dd.slice(2).map((c) => c.replace(/\u2009/g, ''))).toEqual(['10', '4096', '7.35', '1', '0.5', '2', '3', '6300', '12800', '0', '11000', '30100']);
  });
});

describe('the workload form', () => {
  it('sends each kind’s main parameters; every default is inside the schema’s bounds', () => {
    for (const kind of ['disk-io', 'net-stream', 'net-rr'] as const) {
      const w = ioWorkload(kind, defaultIoParams(kind));
      expect(workloadSchema.safeParse(w).success).toBe(true);
    }
    expect(ioWorkload('net-rr', { transactions: 7 })).toEqual({ kind: 'net-rr', transactions: 7, requestBytes: 64, responseBytes: 64 });
  });
});

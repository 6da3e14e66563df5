/** Device fields under KVM and Xen: virtio backends are KVM's, vhost serves only vifs, the host owns the devices. */
import { describe, expect, it } from 'vitest';
import { validateScenario } from '../../core/api/index.js';

const DEVICES = [
  { id: 'disk0', kind: 'disk' },
  { id: 'disk1', kind: 'disk' },
  { id: 'nic0', kind: 'nic' },
];

function problems(hypervisor: 'xen' | 'kvm', domains: Record<string, unknown>[]) {
  const v = validateScenario({ name: 'v', machine: { memoryMiB: 2048, pcpus: 1, devices: DEVICES }, hypervisor, domains: domains.map((d, i) => ({ name: `g${i + 1}`, mode: 'hap', memoryMiB: 128, vcpus: 1, ...d })) });
  return v.ok ? [] : v.problems;
}

describe('virtio backends at the field', () => {
  it('accepts a KVM guest with a virtio disk on a machine disk (backend qemu, or left out)', () => {
    expect(problems('kvm', [{ disks: [{ device: 'disk0' }], workload: { kind: 'disk-io' } }, { disks: [{ device: 'disk1', backend: 'qemu' }] }])).toEqual([]);
  });

  it('refuses qemu and vhost as backends under Xen, naming the field', () => {
    const p = problems('xen', [{ disks: [{ device: 'disk0', backend: 'qemu' }], vifs: [{ device: 'nic0', backend: 'vhost' }] }]);
    expect(p).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'domains[0].disks[0].backend', message: expect.stringContaining('KVM virtio backend') }),
        expect.objectContaining({ path: 'domains[0].vifs[0].backend', message: expect.stringContaining('KVM virtio backend') }),
      ]),
    );
  });

  it('refuses vhost for a disk: vhost-net serves network devices only', () => {
    expect(problems('kvm', [{ disks: [{ device: 'disk0', backend: 'vhost' }] }])).toEqual([expect.objectContaining({ path: 'domains[0].disks[0].backend', message: expect.stringContaining('network devices only') })]);
  });

  it('refuses a domain as a backend under KVM: there is no dom0 or driver domain', () => {
    expect(problems('kvm', [{ disks: [{ device: 'disk0', backend: 'g2' }] }, {}])).toEqual([expect.objectContaining({ path: 'domains[0].disks[0].backend', message: expect.stringContaining('"qemu"') })]);
  });

  it('refuses a KVM guest owning a device: the host kernel drives them', () => {
    expect(problems('kvm', [{ pci: ['disk0'] }])).toEqual([expect.objectContaining({ path: 'domains[0].pci', message: expect.stringContaining('host kernel') })]);
  });

  it('refuses two guests’ images on one disk device, and a disk that is a NIC', () => {
    expect(problems('kvm', [{ disks: [{ device: 'disk0' }] }, { disks: [{ device: 'disk0' }] }])).toEqual([expect.objectContaining({ path: 'domains[1].disks[0].device' })]);
    expect(problems('kvm', [{ disks: [{ device: 'nic0' }] }])).toEqual([expect.objectContaining({ path: 'domains[0].disks[0].device', message: expect.stringContaining('no disk device "nic0"') })]);
  });

  it('refuses disk-io under KVM without a virtual disk', () => {
    expect(problems('kvm', [{ workload: { kind: 'disk-io' } }])).toEqual([expect.objectContaining({ path: 'domains[0].workload', message: expect.stringContaining('virtio-blk') })]);
  });
});

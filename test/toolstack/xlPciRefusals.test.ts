/**
 * Bad passthrough set-ups are refused where they are made, with a message naming the field, never
 * a crash (issue 13, "what must hold"): a device given to two domains (in the scenario, by xl create
 * and by xl pci-attach), a device that is not assignable (another domain's, dom0's included, until
 * it is detached from it: xl pci-assignable-add), a device the machine does not have, and rogue-dma
 * without a device of its own to program.
 */
import { describe, expect, it } from 'vitest';
import { validateScenario } from '../../core/api/scenario.js';
import { boot, scenario } from './toolstackHelpers.js';

const DEVICES = [
  { id: 'disk0', kind: 'disk', sizeMiB: 64 },
  { id: 'disk1', kind: 'disk', sizeMiB: 64 },
  { id: 'nic0', kind: 'nic' },
];

function problems(domains: unknown[]) {
  const v = validateScenario({ name: 'x', machine: { memoryMiB: 1024, pcpus: 1, devices: DEVICES }, hypervisor: 'xen', domains });
  return v.ok ? [] : v.problems;
}

const pv = (name: string, extra: object = {}) => ({ name, mode: 'pv', memoryMiB: 128, vcpus: 1, ...extra });

describe('passthrough refused at the field', () => {
  it('a device in two domains\' pci: the second is refused, by device id or by its PCI address alike', () => {
    expect(problems([pv('a', { pci: ['disk0'] }), pv('b', { pci: ['0000:03:00.0'] })])).toEqual([
      { path: 'domains[1].pci[0]', message: 'device "disk0" is already owned by a: a device has one owner' },
    ]);
  });

  it('the same device twice in one domain\'s pci', () => {
    expect(problems([pv('a', { pci: ['disk0', '03:00.0'] })])).toEqual([
      { path: 'domains[0].pci[1]', message: 'device "disk0" is listed twice in this domain\'s pci (as "03:00.0")' },
    ]);
  });

  it('rogue-dma with no device, or with only a NIC (it programs a disk)', () => {
    const rogue = (pci: string[]) => pv('r', { pci, workload: { kind: 'rogue-dma', victim: 'v', pages: 4 } });
    for (const pci of [[], ['nic0']]) {
      expect(problems([pv('v'), rogue(pci)])).toEqual([
        { path: 'domains[1].workload', message: "the rogue-dma workload needs a device to program: list a disk device in this domain's pci" },
      ]);
    }
  });

  describe('in dom0\'s xl', () => {
    // dom0 (0), dd (1) owning disk0, g (2); disk1 and nic0 stay dom0's.
    const lab = () =>
      boot(scenario({ machine: { memoryMiB: 2048, pcpus: 1, devices: DEVICES }, hypervisor: 'xen', domains: [pv('dd', { pci: ['disk0'] }), pv('g')] } as never));

    it('nothing is assignable while every device has a driver; pci-attach of another domain\'s device, dom0\'s included, is refused', () => {
      const b = lab();
      expect(b.cmd('dom0', 'xl pci-assignable-list')).toBe('');
      expect(b.cmd('dom0', 'xl pci-attach g 03:00.0')).toBe('libxl: error: libxl_pci.c: domain 2: PCI device 0000:03:00.0 (disk0) is not assignable: dd owns it (pci-detach it from dd first)\nlibxl_device_pci_add failed.\n');
      expect(b.cmd('dom0', 'xl pci-attach g disk1')).toBe('libxl: error: libxl_pci.c: domain 2: PCI device 0000:03:01.0 (disk1) is not assignable: Domain-0 owns it (pci-detach it from Domain-0 first)\nlibxl_device_pci_add failed.\n');
      expect(b.cmd('dom0', 'xl pci-attach dd disk0')).toBe("libxl: error: libxl_pci.c: domain 1: PCI device 0000:03:00.0 (disk0) is already dd's\nlibxl_device_pci_add failed.\n");
      expect(b.cmd('dom0', 'xl pci-attach g 07:00.0')).toMatch(/^libxl: error: libxl_pci.c: domain 2: no device "07:00.0" on the machine; devices: disk0 \(0000:03:00\.0\), disk1 \(0000:03:01\.0\), nic0 /);
      // Nothing moved.
      expect(b.sim.io!.owner.get('disk0')).toBe('dd');
      expect(b.sim.io!.owner.get('disk1')).toBe('Domain-0');
    });

    it('xl create with a pci another domain drives is refused and builds nothing; after pci-assignable-add the same create works', () => {
      const b = lab();
      const before = b.sim.domains.length;
      expect(b.cmd('dom0', 'xl create name="h" memory=128 pci=["disk1"]')).toBe('Parsing config from (command line)\nlibxl: error: libxl_create.c: domain "h": pci[0]: device "disk1" is already owned by Domain-0: a device has one owner\n');
      expect(b.cmd('dom0', 'xl create name="h" memory=128 pci=["disk0"]')).toBe('Parsing config from (command line)\nlibxl: error: libxl_create.c: domain "h": pci[0]: device "disk0" is already owned by dd: a device has one owner\n');
      expect(b.sim.domains.length).toBe(before);
      b.cmd('dom0', 'xl pci-assignable-add 03:01.0');
      expect(b.cmd('dom0', 'xl pci-assignable-list')).toContain('0000:03:01.0');
      expect(b.cmd('dom0', 'xl create name="h" memory=128 pci=["disk1"]')).toBe('Parsing config from (command line)\n');
      expect(b.sim.io!.owner.get('disk1')).toBe('h');
    });
  });
});

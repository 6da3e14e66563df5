/**
 * The timeline's hot-plug entries (issue 12 item 6): each action has the fields xl would be given,
 * checked at the field; a field of another action, an unknown device, domain or backend is refused
 * where it is written.
 */
import { describe, expect, it } from 'vitest';
import { validateScenario } from '../../core/api/scenario.js';
import { TIMELINE_ACTIONS, TIMELINE_ACTION_FIELDS } from '../../core/api/ioScenario.js';

function base(timeline: unknown[], hypervisor = 'xen') {
  return {
    name: 'hp',
    machine: { memoryMiB: 2048, pcpus: 1, devices: [{ id: 'disk0', kind: 'disk' }, { id: 'nic0', kind: 'nic' }] },
    hypervisor,
    domains:
      hypervisor === 'none'
        ? [{ name: 'n', mode: 'native', memoryMiB: 256, vcpus: 1 }]
        : [
            { name: 'dd', mode: 'pv', memoryMiB: 128, vcpus: 1, pci: ['disk0'] },
            { name: 'hvm', mode: 'hap', memoryMiB: 128, vcpus: 1 },
            { name: 'g', mode: 'pv', memoryMiB: 128, vcpus: 1 },
          ],
    timeline,
  };
}

function problems(timeline: unknown[], hypervisor?: string) {
  const v = validateScenario(base(timeline, hypervisor));
  return v.ok ? [] : v.problems;
}

describe('timeline hot-plug entries', () => {
  it('accepts each action with its own field', () => {
    expect(
      problems([
        { atMs: 1, do: 'pci-detach', domain: 'dd', device: 'disk0' },
        { atMs: 2, do: 'pci-attach', domain: 'g', device: '03:00.0' },
        { atMs: 3, do: 'block-attach', domain: 'g', disk: { backend: 'dd', device: 'disk0', vdev: 'xvdb' } },
        { atMs: 4, do: 'block-detach', domain: 'g', vdev: 'xvdb' },
        { atMs: 5, do: 'network-attach', domain: 'g', vif: { device: 'nic0', mac: '00:16:3e:00:00:01' } },
        { atMs: 6, do: 'network-detach', domain: 'g', devid: 0 },
        { atMs: 7, do: 'network-detach', domain: 'g', mac: '00:16:3e:00:00:01' },
        { atMs: 8, do: 'pci-detach', domain: 'Domain-0', device: 'nic0' },
      ]),
    ).toEqual([]);
  });

  it('the actions are xl\'s, and each takes the fields the lead\'s form needs', () => {
    expect(TIMELINE_ACTIONS).toEqual(['destroy', 'create', 'pause', 'unpause', 'pci-attach', 'pci-detach', 'block-attach', 'block-detach', 'network-attach', 'network-detach', 'relocate', 'migrate', 'mem-set']);
    expect(TIMELINE_ACTION_FIELDS.relocate).toEqual(['pages', 'cooperative']);
    expect(TIMELINE_ACTION_FIELDS.migrate).toEqual([]);
    expect(TIMELINE_ACTION_FIELDS['mem-set']).toEqual(['memoryMiB']);
    expect(TIMELINE_ACTION_FIELDS['block-attach']).toEqual(['disk']);
    expect(TIMELINE_ACTION_FIELDS['network-detach']).toEqual(['devid', 'mac']);
  });

  it('a missing field is named with what to give', () => {
    expect(problems([{ atMs: 1, do: 'pci-attach', domain: 'g' }])).toEqual([{ path: 'timeline[0].device', message: expect.stringMatching(/^pci-attach needs "device": a machine device by id or PCI address/) }]);
    expect(problems([{ atMs: 1, do: 'block-attach', domain: 'g' }])).toEqual([{ path: 'timeline[0].disk', message: expect.stringMatching(/^block-attach needs "disk"/) }]);
    expect(problems([{ atMs: 1, do: 'block-detach', domain: 'g' }])).toEqual([{ path: 'timeline[0].vdev', message: expect.stringMatching(/^block-detach needs "vdev"/) }]);
    expect(problems([{ atMs: 1, do: 'network-attach', domain: 'g' }])).toEqual([{ path: 'timeline[0].vif', message: expect.stringMatching(/^network-attach needs "vif"/) }]);
    expect(problems([{ atMs: 1, do: 'network-detach', domain: 'g' }])).toEqual([{ path: 'timeline[0].devid', message: expect.stringMatching(/^network-detach needs "devid".* or "mac"/) }]);
  });

  it('a field that belongs to another action is refused at that field', () => {
    expect(problems([{ atMs: 1, do: 'destroy', domain: 'g', device: 'disk0' }])).toEqual([
      { path: 'timeline[0].device', message: '"device" belongs to pci-attach or pci-detach, not destroy, which takes only atMs, do and domain' },
    ]);
    expect(problems([{ atMs: 1, do: 'block-detach', domain: 'g', vdev: 'xvdb', devid: 1 }])).toEqual([
      { path: 'timeline[0].devid', message: '"devid" belongs to network-detach, not block-detach, which takes "vdev"' },
    ]);
    expect(problems([{ atMs: 1, do: 'network-detach', domain: 'g', devid: 0, mac: '00:16:3e:00:00:01' }])).toEqual([{ path: 'timeline[0].mac', message: 'give the vif by "devid" or by "mac", not both' }]);
  });

  it('unknown devices, domains and backends are refused where they are named', () => {
    expect(problems([{ atMs: 1, do: 'pci-attach', domain: 'g', device: 'disk7' }])).toEqual([
      { path: 'timeline[0].device', message: 'no device "disk7" on the machine; devices: disk0 (0000:03:00.0), nic0 (0000:03:01.0)' },
    ]);
    expect(problems([{ atMs: 1, do: 'pci-attach', domain: 'nobody', device: 'disk0' }])).toEqual([
      { path: 'timeline[0].domain', message: 'no domain named "nobody"; domains: dd, hvm, g, Domain-0' },
    ]);
    expect(problems([{ atMs: 1, do: 'block-attach', domain: 'g', disk: { backend: 'ghost', device: 'nic0' } }])).toEqual([
      { path: 'timeline[0].disk.device', message: 'no disk device "nic0" in machine.devices; disks: disk0' },
      { path: 'timeline[0].disk.backend', message: 'no domain named "ghost" to serve this disk; domains: dd, hvm, g, Domain-0' },
    ]);
    expect(problems([{ atMs: 1, do: 'network-attach', domain: 'g', vif: { backend: 'hvm', device: 'nic0' } }])).toEqual([
      { path: 'timeline[0].vif.backend', message: 'backend "hvm" runs in mode "hap"; the lab\'s driver domains run a PV kernel, so give it mode "pv"' },
    ]);
    expect(problems([{ atMs: 1, do: 'block-attach', domain: 'g', disk: { backend: 'g', device: 'disk0' } }])).toEqual([
      { path: 'timeline[0].disk.backend', message: 'a domain cannot be the backend of its own disk' },
    ]);
  });

  it('a malformed field is refused by the schema at its own path', () => {
    const p = problems([{ atMs: 1, do: 'block-detach', domain: 'g', vdev: 'sda' }]);
    expect(p.map((x) => x.path)).toEqual(['timeline[0].vdev']);
    expect(problems([{ atMs: 1, do: 'network-detach', domain: 'g', mac: '01:00:5e:00:00:01' }]).map((x) => x.path)).toEqual(['timeline[0].mac']);
  });

  it('dom0 may be given and lose devices, but not be destroyed; without Xen there is no hot-plug', () => {
    expect(problems([{ atMs: 1, do: 'pci-attach', domain: 'Domain-0', device: 'disk0' }])).toEqual([]);
    expect(problems([{ atMs: 1, do: 'destroy', domain: 'Domain-0' }])).toEqual([{ path: 'timeline[0].do', message: 'dom0 cannot be destroyed: it runs the toolstack' }]);
    expect(problems([{ atMs: 1, do: 'pci-detach', domain: 'n', device: 'disk0' }], 'none')).toEqual([
      { path: 'timeline[0].do', message: 'pci-detach is the Xen toolstack\'s (xl pci-detach): hypervisor "none" has no hot-plug' },
    ]);
  });
});

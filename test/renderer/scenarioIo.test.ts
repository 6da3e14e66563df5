// The Scenario form's I/O parts (issue 12): devices on the machine, who owns them, guests' virtual
// disks and the timeline, built by hand into a driver-domain scenario that validates, with the
// problems ioProblems finds shown at the field they are about.
import { cleanup, fireEvent, screen, within } from '@testing-library/svelte';
import { afterEach, describe, expect, it } from 'vitest';
import { validateScenario, type ScenarioInput } from '../../core/api/index.js';
import { addDisk, addTimelineRow, addVdisk, backendNames, ioClaims, nextVdev, removeDevice, setOwns, strayPci } from '../../renderer/src/components/scenario/io.js';
import { domainPaths, unclaimedScenarioProblems } from '../../renderer/src/components/scenario/fields.js';
import { mountScenario } from './scenarioLab.js';

const machine = () => within(screen.getByRole('region', { name: 'Machine and hypervisor' }));
const card = (name: string) => within(screen.getByRole('article', { name: `Domain ${name}` }));
const type = (el: HTMLElement, value: string) => fireEvent.input(el, { target: { value } });
const choose = (el: HTMLElement, value: string) => fireEvent.change(el, { target: { value } });
const dom = (s: ScenarioInput, i: number) => s.domains[i] as Record<string, unknown>;

afterEach(() => cleanup());

describe('I/O editing rules, without a DOM', () => {
  const base = (): ScenarioInput => ({ name: 't', machine: { memoryMiB: 2048, pcpus: 1 }, hypervisor: 'xen', domains: [{ name: 'dd', mode: 'pv', memoryMiB: 128, vcpus: 1 }, { name: 'g', mode: 'pv', memoryMiB: 128, vcpus: 1 }] });

  it('adds disks disk0, disk1 with the defaults; a domain that owns one serves a virtual disk on it, and the next goes on a disk still free', () => {
    const s = base();
    addDisk(s);
    addDisk(s);
    expect(s.machine.devices).toEqual([
      { id: 'disk0', kind: 'disk', sizeMiB: 512 },
      { id: 'disk1', kind: 'disk', sizeMiB: 512 },
    ]);
    setOwns(dom(s, 0), s.machine.devices![0], 0, true);
    expect(dom(s, 0).pci).toEqual(['disk0']);
    addVdisk(s, dom(s, 1));
    addVdisk(s, dom(s, 1));
    // disk0 is dd's and now in use; disk1 has no owner but dom0, which serves it by default.
    expect(dom(s, 1).disks).toEqual([
      { device: 'disk0', vdev: 'xvda', backend: 'dd' },
      { device: 'disk1', vdev: 'xvdb' },
    ]);
    expect(nextVdev(dom(s, 1))).toBe('xvdc');
    expect(validateScenario(s).ok).toBe(true);
  });

  it('a pci entry by address is the same device as its id; removing the device drops the claims on it', () => {
    const s = base();
    addDisk(s);
    s.machine.devices![0]!.bdf = '03:05.0';
    dom(s, 0).pci = ['0000:03:05.0'];
    setOwns(dom(s, 0), s.machine.devices![0], 0, true);
    expect(dom(s, 0).pci).toEqual(['0000:03:05.0']);
    dom(s, 0).pci = ['0000:03:05.0', 'nic9'];
    expect(strayPci(dom(s, 0), s)).toEqual([{ ref: 'nic9', j: 1 }]);
    removeDevice(s, 0);
    expect(s.machine.devices).toBeUndefined();
    expect(dom(s, 0).pci).toEqual(['nic9']);
  });

  it('backends are the listed domains and, under Xen without a listed dom0, Domain-0; timeline rows go 10 ms apart', () => {
    const s = base();
    expect(backendNames(s)).toEqual(['Domain-0', 'dd', 'g']);
    addTimelineRow(s);
    addTimelineRow(s);
    expect(s.timeline).toEqual([
      { atMs: 10, do: 'destroy', domain: 'dd' },
      { atMs: 20, do: 'destroy', domain: 'dd' },
    ]);
  });

  it('the I/O fields claim their problems: none falls to the top of the form or of a card', () => {
    expect(['machine.devices', 'machine.devices[0].id', 'machine.devices[2].bdf', 'timeline[1].domain', 'timeline[0]'].every(ioClaims)).toBe(true);
    expect(ioClaims('machine.devicesX')).toBe(false);
    expect(unclaimedScenarioProblems([{ path: 'timeline[0].do', message: 'x' }, { path: 'machine.devices[1].sizeMiB', message: 'y' }])).toEqual([]);
    const paths = domainPaths({ name: 'g', pci: ['disk0'], disks: [{ device: 'disk0' }] }, 3);
    for (const p of ['domains[3].pci[0]', 'domains[3].disks[0].backend', 'domains[3].disks[0].device', 'domains[3].disks[0].vdev']) expect(paths.has(p)).toBe(true);
  });
});

describe('Scenario view: a driver-domain scenario built in the forms', () => {
  it('adds a disk, gives it to g1, gives g2 a virtual disk served by g1, and the scenario is valid', async () => {
    const { lab } = mountScenario();
    await fireEvent.click(screen.getByTestId('add-disk'));
    expect(lab.scenario.machine.devices).toEqual([{ id: 'disk0', kind: 'disk', sizeMiB: 512 }]);
    expect(machine().getByLabelText('PCI address')).toHaveAttribute('placeholder', '0000:03:00.0');
    expect(machine().getByText('driven by Domain-0')).toBeTruthy();

    await fireEvent.click(card('g1').getByLabelText('disk0 (0000:03:00.0)'));
    expect(dom(lab.scenario, 0).pci).toEqual(['disk0']);
    expect(machine().getByText('driven by g1')).toBeTruthy();

    await fireEvent.click(card('g2').getByTestId('add-vdisk'));
    expect(dom(lab.scenario, 1).disks).toEqual([{ device: 'disk0', vdev: 'xvda', backend: 'g1' }]);
    expect(card('g2').getByLabelText('Backend domain')).toHaveValue('g1');
    expect(screen.getByTestId('scenario-status')).toHaveTextContent('valid');

    await fireEvent.click(screen.getByTestId('add-action'));
    expect(lab.scenario.timeline).toEqual([{ atMs: 10, do: 'destroy', domain: 'g1' }]);
    await choose(within(screen.getByTestId('timeline')).getByLabelText('Action'), 'pause');
    await type(within(screen.getByTestId('timeline')).getByLabelText(/^At/), '25');
    expect(lab.scenario.timeline).toEqual([{ atMs: 25, do: 'pause', domain: 'g1' }]);
    expect(screen.getByTestId('scenario-status')).toHaveTextContent('valid');
  });

  it('shows each I/O problem under its field: a backend that does not own the disk, a duplicate device id, an action on dom0', async () => {
    const { lab } = mountScenario();
    await fireEvent.click(screen.getByTestId('add-disk'));
    await fireEvent.click(screen.getByTestId('add-disk'));
    await fireEvent.click(card('g2').getByTestId('add-vdisk'));
    // Served by g1, which does not own disk0 (dom0 does).
    const backend = card('g2').getByLabelText('Backend domain');
    await choose(backend, 'g1');
    expect(dom(lab.scenario, 1).disks).toEqual([{ device: 'disk0', vdev: 'xvda', backend: 'g1' }]);
    expect(backend).toHaveAttribute('aria-invalid', 'true');
    expect(backend).toHaveAccessibleDescription('Backend domain: backend "g1" does not own device "disk0" (Domain-0 does): list "disk0" in g1\'s pci');
    // Back to dom0: the field stores nothing (dom0 is the default) and the problem goes.
    await choose(backend, 'Domain-0');
    expect(dom(lab.scenario, 1).disks).toEqual([{ device: 'disk0', vdev: 'xvda' }]);
    expect(backend).toHaveAttribute('aria-invalid', 'false');

    const ids = machine().getAllByLabelText('Disk id');
    await type(ids[1]!, 'disk0');
    expect(ids[1]).toHaveAccessibleDescription('Disk id: duplicate device id "disk0"');

    await type(ids[1]!, 'disk1');
    await fireEvent.click(screen.getByTestId('add-action'));
    const domain = within(screen.getByTestId('timeline')).getByLabelText('Domain');
    await choose(domain, 'Domain-0');
    const action = within(screen.getByTestId('timeline')).getByLabelText('Action');
    expect(action).toHaveAccessibleDescription('Action: dom0 cannot be destroyed: it runs the toolstack');
    expect(screen.queryByTestId('scenario-problems')).toBeNull();
  });

  it('a vdev the schema refuses is shown at the vdev field', async () => {
    mountScenario();
    await fireEvent.click(screen.getByTestId('add-disk'));
    await fireEvent.click(card('g1').getByTestId('add-vdisk'));
    const vdev = card('g1').getByLabelText('vdev');
    await type(vdev, 'hda');
    expect(vdev).toHaveAccessibleDescription('vdev: must be xvda … xvdz; got "hda"');
  });
});

describe('NICs and vifs in the forms', () => {
  it('adds nic0 with the default link, and a vif on it bridged by its owner; the scenario validates', async () => {
    const { addNic, addVif, removeVif, setOwns: own } = await import('../../renderer/src/components/scenario/io.js');
    const s: ScenarioInput = { name: 't', machine: { memoryMiB: 2048, pcpus: 1 }, hypervisor: 'xen', domains: [{ name: 'dd', mode: 'pv', memoryMiB: 128, vcpus: 1 }, { name: 'g', mode: 'pv', memoryMiB: 128, vcpus: 1 }] };
    addNic(s);
    expect(s.machine.devices).toEqual([{ id: 'nic0', kind: 'nic' }]);
    own(s.domains[0] as never, s.machine.devices![0], 0, true);
    addVif(s, s.domains[1] as never);
    expect((s.domains[1] as { vifs?: unknown }).vifs).toEqual([{ device: 'nic0', backend: 'dd' }]);
    expect(validateScenario(s).ok).toBe(true);
    removeVif(s.domains[1] as never, 0);
    expect('vifs' in s.domains[1]!).toBe(false);
  });
});

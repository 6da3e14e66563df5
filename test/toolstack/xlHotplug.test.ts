/**
 * dom0's xl hot-plug commands (tools/xl/xl_block.c, xl_nic.c, xl_pci.c): block-attach,
 * block-detach, network-attach, network-detach, pci-attach, pci-detach, checked through xl's own
 * listings and xenstore, with xl's error lines; and the timeline's hot-plug on the consoles.
 */
import { describe, expect, it } from 'vitest';
import { boot, lines, scenario, type Booted } from './toolstackHelpers.js';

/** xvda and xvdb: 202 << 8 | disk << 4 (docs/misc/vbd-interface.txt). */
const XVDA = 202 * 256;
const XVDB = XVDA + 16;
/** io/xenbus.h: XenbusStateConnected. */
const CONNECTED = 4;

/** dom0 (0), blkdd (1) owning disk0, dd2 (2) owning nothing, g (3) with xvda on disk1 served by dom0 and a long disk-io. */
function lab(timeline: unknown[] = []): Booted {
  return boot(
    scenario({
      machine: { memoryMiB: 2048, pcpus: 1, devices: [{ id: 'disk0', kind: 'disk', sizeMiB: 64 }, { id: 'disk1', kind: 'disk', sizeMiB: 64 }, { id: 'nic0', kind: 'nic' }] },
      hypervisor: 'xen',
      domains: [
        { name: 'blkdd', mode: 'pv', memoryMiB: 128, vcpus: 1, pci: ['disk0'] },
        { name: 'dd2', mode: 'pv', memoryMiB: 128, vcpus: 1 },
        { name: 'g', mode: 'pv', memoryMiB: 256, vcpus: 1, disks: [{ device: 'disk1', vdev: 'xvda' }], workload: { kind: 'disk-io', ops: 200_000, flushEvery: 8 } },
      ],
      timeline,
    } as never),
  );
}

function read(b: Booted, path: string): string {
  return b.cmd('dom0', `xenstore-read ${path}`).trim();
}

function until(b: Booted, what: string, cond: () => boolean): void {
  for (let i = 0; i < 5000; i++) {
    if (cond()) return;
    b.sim.step(1);
    b.hub.tick();
  }
  throw new Error(`never happened: ${what}`);
}

/** xenstore-read's line for a path that is not there (tools/xenstore/xenstore_client.c). */
const gone = (b: Booted, path: string) => b.cmd('dom0', `xenstore-read ${path}`) === `xenstore-read: couldn't read path ${path}\n`;

describe('xl block-attach and block-detach', () => {
  it('a disk attached from dom0 appears in xl block-list once connected, and block-detach removes it', () => {
    const b = lab();
    const fe = `/local/domain/3/device/vbd/${XVDB}`;
    expect(b.cmd('dom0', 'xl block-attach g backend=blkdd vdev=xvdb target=disk0')).toBe('');
    until(b, 'xvdb connected', () => read(b, `${fe}/state`) === String(CONNECTED));
    const rows = lines(b.cmd('dom0', 'xl block-list g')).slice(1);
    expect(rows.map((r) => r.split(/\s+/).slice(0, 4))).toEqual([
      [String(XVDA), '0', '3', String(CONNECTED)],
      [String(XVDB), '1', '3', String(CONNECTED)],
    ]);
    expect(rows[1]!.trimEnd().endsWith(`/local/domain/1/backend/vbd/3/${XVDB}`)).toBe(true);
    expect(b.raw.xen).toContain('d3: block-attach: xvdb (disk0, backend blkdd) added to g');
    // By its number, as xl accepts it.
    expect(b.cmd('dom0', `xl block-detach g ${XVDB}`)).toBe('');
    until(b, 'both directories gone', () => gone(b, fe) && gone(b, `/local/domain/1/backend/vbd/3/${XVDB}`));
    expect(lines(b.cmd('dom0', 'xl block-list g')).slice(1).map((r) => r.split(/\s+/)[0])).toEqual([String(XVDA)]);
  });

  it("xl's errors: a vdev not connected, a disk in use, a bad spec, usage", () => {
    const b = lab();
    expect(b.cmd('dom0', 'xl block-detach g xvdq')).toBe('Error: Device xvdq not connected.\n');
    expect(b.cmd('dom0', 'xl block-attach g vdev=xvdc target=disk1')).toBe("libxl: error: libxl_disk.c: domain 3: disk1 already backs g's xvda: a disk serves one virtual disk\nlibxl_device_disk_add failed.\n");
    expect(b.cmd('dom0', 'xl block-attach g target=disk0')).toBe("xl: error: disk spec 'target=disk0': no vdev: it is mandatory (vdev=xvda)\n");
    expect(b.cmd('dom0', 'xl block-attach nope vdev=xvdc target=disk0')).toBe('nope is an invalid domain identifier\n');
    expect(b.cmd('dom0', 'xl block-attach g')).toMatch(/^Usage: xl \[-v\] block-attach <Domain> <disk-spec-component\(s\)>\.\.\./);
    expect(b.cmd('dom0', 'xl block-detach g')).toMatch(/^Usage: xl \[-v\] block-detach <Domain> <DevId>/);
  });
});

describe('xl pci-detach and pci-attach', () => {
  it('a device detached from one driver domain is assignable, then attached to another, as pci-list and pci-assignable-list show', () => {
    const b = lab();
    expect(b.cmd('dom0', 'xl pci-list blkdd')).toBe('Vdev Device\n00.0 0000:03:00.0\n');
    expect(b.cmd('dom0', 'xl pci-assignable-list')).toBe('');
    expect(b.cmd('dom0', 'xl pci-detach blkdd 03:00.0')).toBe('');
    expect(b.cmd('dom0', 'xl pci-list blkdd')).toBe('');
    expect(b.cmd('dom0', 'xl pci-assignable-list')).toBe('0000:03:00.0\n');
    expect(b.cmd('dom0', 'xl pci-attach dd2 0000:03:00.0')).toBe('');
    expect(b.cmd('dom0', 'xl pci-list dd2')).toBe('Vdev Device\n00.0 0000:03:00.0\n');
    expect(b.cmd('dom0', 'xl pci-assignable-list')).toBe('');
    // dd2 can now serve a disk on it.
    expect(b.cmd('dom0', 'xl block-attach g backend=dd2, vdev=xvdb, target=disk0')).toBe('');
    until(b, 'xvdb connected to dd2', () => read(b, `/local/domain/3/device/vbd/${XVDB}/state`) === String(CONNECTED));
    expect(read(b, `/local/domain/3/device/vbd/${XVDB}/backend-id`)).toBe('2');
  });

  it("xl's errors: a device owned by a live domain, one in use, a malformed BDF", () => {
    const b = lab();
    expect(b.cmd('dom0', 'xl pci-attach dd2 03:00.0')).toBe('libxl: error: libxl_pci.c: domain 2: PCI device 0000:03:00.0 (disk0) is not assignable: blkdd owns it (pci-detach it from blkdd first)\nlibxl_device_pci_add failed.\n');
    b.cmd('dom0', 'xl block-attach g backend=blkdd vdev=xvdb target=disk0');
    expect(b.cmd('dom0', 'xl pci-detach blkdd disk0')).toBe(
      "libxl: error: libxl_pci.c: domain 1: disk0 (0000:03:00.0) is in use: blkdd's backend serves g's xvdb from it; remove those first (block-detach g xvdb)\nlibxl_device_pci_remove failed.\n",
    );
    expect(b.cmd('dom0', 'xl pci-attach dd2 zz:1')).toBe('pci-attach: malformed BDF specification "zz:1"\n');
    expect(b.cmd('dom0', 'xl pci-detach dd2')).toMatch(/^Usage: xl \[-v\] pci-detach \[options\] <Domain> <BDF>/);
  });
});

describe('xl pci-assignable-add and pci-assignable-remove', () => {
  it("take a device from dom0's driver and give it back", () => {
    const b = lab();
    // nic0 (0000:03:02.0) is dom0's: nobody's pci names it.
    expect(b.cmd('dom0', 'xl pci-assignable-add 03:02.0')).toBe('');
    expect(b.cmd('dom0', 'xl pci-assignable-list')).toBe('0000:03:02.0\n');
    expect(b.cmd('dom0', 'xl pci-assignable-remove 03:02.0')).toMatch(/^xl: without -r /);
    expect(b.cmd('dom0', 'xl pci-assignable-remove -r 03:02.0')).toBe('');
    expect(b.cmd('dom0', 'xl pci-assignable-list')).toBe('');
    expect(b.sim.io!.owner.get('nic0')).toBe('Domain-0');
    // A driver domain's device is not dom0's to give.
    expect(b.cmd('dom0', 'xl pci-assignable-add 03:00.0')).toBe('libxl: error: libxl_pci.c: domain 0: PCI device 0000:03:00.0 (disk0) not attached to Domain-0: blkdd owns it\nlibxl_device_pci_assignable_add failed.\n');
  });
});

describe('xl network-attach and network-detach', () => {
  it('a vif attached from dom0 is listed by xl network-list once connected; network-detach by MAC removes it', () => {
    const b = lab();
    expect(b.cmd('dom0', 'xl network-attach g bridge=nic0 mac=00:16:3e:01:02:03')).toBe('');
    const fe = '/local/domain/3/device/vif/0';
    until(b, 'vif connected', () => read(b, `${fe}/state`) === String(CONNECTED));
    const row = lines(b.cmd('dom0', 'xl network-list g'))[1]!;
    expect(row.split(/\s+/).slice(0, 3)).toEqual(['0', '0', '00:16:3e:01:02:03']);
    expect(row.trimEnd().endsWith('/local/domain/0/backend/vif/3/0')).toBe(true);
    expect(b.cmd('dom0', 'xl network-detach g 00:16:3e:01:02:03')).toBe('');
    until(b, 'vif gone', () => gone(b, fe));
    expect(lines(b.cmd('dom0', 'xl network-list g'))).toHaveLength(1);
    expect(b.cmd('dom0', 'xl network-detach g 7')).toBe('Unknown device 7.\n');
    expect(b.cmd('dom0', 'xl network-attach g mac=00:16:3e:01:02:03')).toMatch(/^xl: error: vif spec 'mac=00:16:3e:01:02:03': bridge= is required/);
    expect(b.cmd('dom0', 'xl network-attach g backend=dd2 bridge=nic0')).toBe('libxl: error: libxl_nic.c: domain 3: backend dd2 has no bridge on nic0 (Domain-0 owns it): pci-attach it to dd2 first\nlibxl_device_nic_add failed.\n');
  });
});

describe('the timeline hot-plug on the consoles', () => {
  it('each action is logged as xl logs it; a refusal says why', () => {
    const b = lab([
      { atMs: 1, do: 'pci-detach', domain: 'blkdd', device: 'disk0' },
      { atMs: 2, do: 'pci-attach', domain: 'dd2', device: 'disk0' },
      { atMs: 3, do: 'pci-attach', domain: 'blkdd', device: 'disk0' },
    ]);
    until(b, 'three actions', () => b.sim.timeline.length >= 3);
    const log = (b.raw.xen ?? '').split('\r\n');
    const i = log.findIndex((l) => /timeline: at 1(\.\d+)? ms: pci-detach blkdd$/.test(l));
    expect(i).toBeGreaterThan(0);
    expect(log[i + 1]).toMatch(/d1: pci-detach: disk0 \(0000:03:00\.0\) detached from blkdd: reset, now assignable$/);
    expect(b.raw.xen).toMatch(/timeline: at 3(\.\d+)? ms: pci-attach blkdd did nothing: PCI device 0000:03:00\.0 \(disk0\) is not assignable: dd2 owns it/);
    expect(b.cmd('dom0', 'xl pci-list dd2')).toBe('Vdev Device\n00.0 0000:03:00.0\n');
  });
});

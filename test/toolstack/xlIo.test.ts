/**
 * dom0's xl for the I/O machinery (issue 12): block-list, pci-list and pci-assignable-list as xl
 * prints them (tools/xl/xl_block.c, xl_pci.c), a driver domain destroyed and created again from
 * the console, and the scenario's timeline reaching the consoles as `xl destroy` / `xl create` do.
 */
import { describe, expect, it } from 'vitest';
import { PRESETS } from '../../core/api/presets.js';
import { boot, lines, scenario, type Booted } from './toolstackHelpers.js';

const preset = (id: string) => scenario(structuredClone(PRESETS.find((p) => p.id === id)!.scenario) as never);

/** xl_block.c's heading: printf("%-5s %-3s %-6s %-5s %-6s %-8s %-30s\n", "Vdev", "BE", "handle", "state", "evt-ch", "ring-ref", "BE-path"). */
const HEAD = 'Vdev ' + ' ' + 'BE ' + ' ' + 'handle' + ' ' + 'state' + ' ' + 'evt-ch' + ' ' + 'ring-ref' + ' ' + 'BE-path' + ' '.repeat(30 - 7);
/** A row with the same widths: %-5d %-3d %-6d %-5d %-6d %-8d %-30s. */
const row = (devid: number, be: number, handle: number, state: number, evtch: number, rref: number, path: string) =>
  [String(devid).padEnd(5), String(be).padEnd(3), String(handle).padEnd(6), String(state).padEnd(5), String(evtch).padEnd(6), String(rref).padEnd(8), path.padEnd(30)].join(' ');

/** xvda's virtual device number: major 202, minor 0 (docs/misc/vbd-interface.txt: 202 << 8 | disk << 4). */
const XVDA = 202 * 256;
/** io/xenbus.h: XenbusStateConnected. */
const CONNECTED = 4;

function read(b: Booted, path: string): string {
  return b.cmd('dom0', `xenstore-read ${path}`).trim();
}

/** Steps until every listed frontend reads Connected in xenstore. */
function untilConnected(b: Booted, fronts: string[]): void {
  for (let i = 0; i < 2000; i++) {
    if (fronts.every((f) => read(b, `${f}/state`) === String(CONNECTED))) return;
    b.sim.step(1);
    b.hub.tick();
  }
  throw new Error(`not connected: ${fronts.join(', ')}`);
}

describe('xl block-list', () => {
  it("lists each virtual disk with its backend domain, the frontend's state, event channel, ring-ref and backend path", () => {
    const b = boot(preset('c3-driver-domain'));
    // C3: blkdd is domain 1, web 2, db 3; both guests' xvda are served by blkdd.
    const web = `/local/domain/2/device/vbd/${XVDA}`;
    const db = `/local/domain/3/device/vbd/${XVDA}`;
    untilConnected(b, [web, db]);
    const evWeb = Number(read(b, `${web}/event-channel`));
    const rrWeb = Number(read(b, `${web}/ring-ref`));
    const evDb = Number(read(b, `${db}/event-channel`));
    const rrDb = Number(read(b, `${db}/ring-ref`));
    expect(lines(b.cmd('dom0', 'xl block-list web db'))).toEqual([
      HEAD,
      row(XVDA, 1, 2, CONNECTED, evWeb, rrWeb, `/local/domain/1/backend/vbd/2/${XVDA}`),
      row(XVDA, 1, 3, CONNECTED, evDb, rrDb, `/local/domain/1/backend/vbd/3/${XVDA}`),
    ]);
  });

  it('a domain without disks prints the heading only; a bad name says so and the rest are listed; no name is a usage error', () => {
    const b = boot(preset('c3-driver-domain'));
    expect(lines(b.cmd('dom0', 'xl block-list blkdd'))).toEqual([HEAD]);
    const out = lines(b.cmd('dom0', 'xl block-list nope 2'));
    expect(out[0]).toBe(HEAD);
    expect(out[1]).toBe('nope is an invalid domain identifier');
    expect(out[2]!.startsWith(`${XVDA} 1   2 `)).toBe(true);
    expect(b.cmd('dom0', 'xl block-list')).toMatch(/^Usage: xl \[-v\] block-list <Domain\(s\)>/);
  });
});

describe('xl pci-list and pci-assignable-list', () => {
  it("pci-list shows a driver domain's passed-through device as xl prints it (Vdev Device, %02x.%01x %04x:%02x:%02x.%01x)", () => {
    const b = boot(preset('c3-driver-domain'));
    // disk0 and disk1 are the first devices without an address: 0000:03:00.0 and 0000:03:01.0;
    // a PV guest's vdevfn is 0.
    expect(b.cmd('dom0', 'xl pci-list blkdd')).toBe('Vdev Device\n00.0 0000:03:00.0\n00.0 0000:03:01.0\n');
    expect(b.cmd('dom0', 'xl pci-list web')).toBe('');
    expect(b.cmd('dom0', 'xl pci-list 0')).toBe('');
    expect(b.cmd('dom0', 'xl pci-list nope')).toBe('nope is an invalid domain identifier (rc=-6)\n');
  });

  it('pci-assignable-list: nothing while every device has a live owner; the device of a destroyed driver domain until it is back', () => {
    const b = boot(preset('c3-driver-domain'));
    expect(b.cmd('dom0', 'xl pci-assignable-list')).toBe('');
    b.cmd('dom0', 'xl destroy blkdd');
    expect(b.cmd('dom0', 'xl pci-assignable-list')).toBe('0000:03:00.0\n0000:03:01.0\n');
    expect(b.cmd('dom0', 'xl pci-list blkdd')).toBe('blkdd is an invalid domain identifier (rc=-6)\n');
  });
});

describe('a driver domain destroyed and created again from dom0', () => {
  it("xl destroy takes the backend away (the frontend leaves Connected); xl create brings a new one and the guest's disk reconnects to it", () => {
    const b = boot(preset('c3-driver-domain'));
    const web = `/local/domain/2/device/vbd/${XVDA}`;
    untilConnected(b, [web]);
    b.cmd('dom0', 'xl destroy blkdd');
    for (let i = 0; i < 50; i++) {
      b.sim.step(1);
      b.hub.tick();
    }
    expect(read(b, `${web}/state`)).not.toBe(String(CONNECTED));
    expect(b.cmd('dom0', 'xenstore-ls /local/domain/1')).toBe('xenstore-ls: xs_directory (/local/domain/1): No such file or directory\n');
    expect(b.cmd('dom0', "xl create name=blkdd memory=128 pci=['disk0']")).toBe('Parsing config from (command line)\n');
    // The new blkdd is domain 4 (domids are not reused: 1-3 were given at boot).
    expect(lines(b.cmd('dom0', 'xl list blkdd'))[1]).toMatch(/^blkdd +4 +128 /);
    untilConnected(b, [web]);
    expect(read(b, `${web}/backend`)).toBe(`/local/domain/4/backend/vbd/2/${XVDA}`);
    expect(lines(b.cmd('dom0', 'xl block-list web'))[1]!.startsWith(`${XVDA} 4   2      ${CONNECTED}`)).toBe(true);
    expect(b.cmd('dom0', 'xl pci-assignable-list')).toBe('');
  });
});

describe("xenstore-ls shows the frontends' nodes", () => {
  it("dom0 sees a guest's vbd directory; the guest sees its own and not another guest's", () => {
    const b = boot(preset('c3-driver-domain'));
    const web = `/local/domain/2/device/vbd/${XVDA}`;
    untilConnected(b, [web]);
    const ls = lines(b.cmd('dom0', 'xenstore-ls /local/domain/2/device'));
    expect(ls.slice(0, 2)).toEqual(['vbd = ""', ` ${XVDA} = ""`]);
    expect(ls).toEqual(
      expect.arrayContaining([
        `  virtual-device = "${XVDA}"`,
        '  device-type = "disk"',
        '  backend-id = "1"',
        `  backend = "/local/domain/1/backend/vbd/2/${XVDA}"`,
        `  state = "${CONNECTED}"`,
        '  protocol = "x86_64-abi"',
      ]),
    );
    expect(lines(b.cmd('web', `xenstore-ls /local/domain/2/device`))).toEqual(ls);
    expect(b.cmd('web', 'xenstore-ls /local/domain/3/device')).toBe('xenstore-ls: xs_directory (/local/domain/3/device): Permission denied\n');
  });
});

describe('the scenario timeline on the consoles', () => {
  it('destroy and create of the driver domain reach the xen log, the consoles and xl as xl destroy / xl create do', () => {
    const b = boot(preset('c4-kill-driver-domain'));
    const changesBefore = b.changes;
    b.runToEnd();
    const log = (b.raw.xen ?? '').split('\r\n');
    const iDestroy = log.findIndex((l) => /timeline: at 20(\.\d+)? ms: destroy blkdd$/.test(l));
    const iCreate = log.findIndex((l) => /timeline: at 30(\.\d+)? ms: create blkdd$/.test(l));
    expect(iDestroy).toBeGreaterThan(0);
    expect(iCreate).toBeGreaterThan(iDestroy);
    // The same lines xl destroy / xl create log: blkdd's 128 MiB are 32768 pages of 4 KiB, less the
    // one page its blkback ballooned out to map the guest's ring at (its frame went back to Xen).
    expect(log[iDestroy + 1]).toMatch(/d1: destroyed "blkdd" \(pv\): 32767 pages/);
    // C4 boots dom0, blkdd (1), guest (2): the re-created blkdd is domain 3.
    expect(log[iCreate + 1]).toMatch(/d3: created "blkdd": 128 MiB \(32768 pages\)/);
    expect(b.raw.blkdd).toContain('[domain blkdd (domid 1) destroyed: console closed]');
    expect(b.hub.consoles()).toEqual(['xen', 'dom0', 'guest', 'blkdd']);
    expect(b.changes).toBeGreaterThanOrEqual(changesBefore + 2);
    expect(lines(b.cmd('dom0', 'xl list')).map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual(['Name ID', 'Domain-0 0', 'guest 2', 'blkdd 3']);
    expect(lines(b.cmd('dom0', 'xl block-list guest'))[1]!.startsWith(`${XVDA} 3   2      ${CONNECTED}`)).toBe(true);
    expect(b.cmd('dom0', 'xenstore-ls /local/domain/1')).toMatch(/No such file or directory/);
  });

  it('an action the timeline could not do is logged with its reason', () => {
    const s = preset('c4-kill-driver-domain');
    s.timeline = [{ atMs: 1, do: 'create', domain: 'blkdd' }];
    const b = boot(s);
    b.runToEnd();
    expect(b.raw.xen).toMatch(/timeline: at 1(\.\d+)? ms: create blkdd did nothing: "blkdd" is already running \(domain 1\)/);
  });
});

describe('xl network-list', () => {
  it('prints each vif as xl_nic.c does, with the values xenstore holds', () => {
    const b = boot(
      scenario({
        name: 'net',
        machine: { memoryMiB: 2048, pcpus: 1, devices: [{ id: 'nic0', kind: 'nic' }] },
        hypervisor: 'xen',
        domains: [
          { name: 'netdd', mode: 'pv', memoryMiB: 128, vcpus: 1, pci: ['nic0'] },
          { name: 'web', mode: 'pv', memoryMiB: 128, vcpus: 1, vifs: [{ backend: 'netdd', device: 'nic0', mac: '00:16:3e:0a:0b:0c' }] },
        ],
      } as never),
    );
    const fe = '/local/domain/2/device/vif/0';
    untilConnected(b, [fe]);
    // printf("%-3s %-2s %-17s %-6s %-5s %-6s %5s/%-5s %-30s\n", "Idx", "BE", "Mac Addr.", "handle", "state", "evt-ch", "tx-", "rx-ring-ref", "BE-path")
    const head = 'Idx BE Mac Addr.         handle state evt-ch   tx-/rx-ring-ref BE-path                       ';
    // "%-3d %-2d " then LIBXL_MAC_FMT then "%6d %5d %6d %5d/%-11d %-30s"
    const tx = read(b, `${fe}/tx-ring-ref`);
    const rx = read(b, `${fe}/rx-ring-ref`);
    const ev = read(b, `${fe}/event-channel`);
    const be = read(b, `${fe}/backend`);
    expect(be).toBe('/local/domain/1/backend/vif/2/0');
    const rowText = `0   1  00:16:3e:0a:0b:0c${'0'.padStart(6)} ${'4'.padStart(5)} ${ev.padStart(6)} ${tx.padStart(5)}/${rx.padEnd(11)} ${be.padEnd(30)}`;
    expect(b.cmd('dom0', 'xl network-list web')).toBe(`${head}\n${rowText}\n`);
    expect(b.cmd('dom0', 'xl network-list netdd')).toBe(`${head}\n`);
  });
});

describe('xl sched-credit', () => {
  /** xl_sched.c: "%-33s %4s %6s %4s" headings, "%-33s %4d %6d %4d" rows. */
  const line = (name: string, id: string | number, w: string | number, cap: string | number) => `${name.padEnd(33)} ${String(id).padStart(4)} ${String(w).padStart(6)} ${String(cap).padStart(4)}`;
  it('lists every domain with its weight and cap, sets them with -d -w / -c, and refuses bad values', () => {
    const s = structuredClone(PRESETS.find((p) => p.id === 'c1-dom0-backend')!.scenario) as { domains: { name: string; weight?: number }[] };
    s.domains[s.domains.length - 1]!.weight = 512;
    const b = boot(scenario(s as never));
    const guest = s.domains[s.domains.length - 1]!.name;
    const all = lines(b.cmd('dom0', 'xl sched-credit'));
    expect(all[0]).toBe('Cpupool Pool-0: tslice=30ms ratelimit=1000us migration-delay=0us');
    expect(all[1]).toBe(line('Name', 'ID', 'Weight', 'Cap'));
    const id = b.sim.domains.find((d) => d.name === guest)!.domid;
    expect(all).toContain(line(guest, id, 512, 0));
    expect(lines(b.cmd('dom0', `xl sched-credit -d ${guest} -w 128`))).toEqual([]);
    expect(lines(b.cmd('dom0', `xl sched-credit -d ${guest} -c 50`))).toEqual([]);
    expect(lines(b.cmd('dom0', `xl sched-credit -d ${guest}`))[2]).toBe(line(guest, id, 128, 50));
    expect(b.cmd('dom0', `xl sched-credit -d ${guest} -w 0`)).toMatch(/weight 0: must be a whole number from 1 to 65535/);
    expect(b.cmd('dom0', `xl sched-credit -d ${guest} -c 101`)).toMatch(/cap 101: must be a whole number from 0 \(no cap\) to 100/);
    expect(b.cmd('dom0', 'xl sched-credit -w 5')).toMatch(/Must specify a domain/);
  });
});

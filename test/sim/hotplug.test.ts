/**
 * Devices added to and removed from running domains (issue 12 item 6): the timeline's pci-attach,
 * pci-detach, block-attach, block-detach, network-attach and network-detach, checked through
 * xenstore, the kernels' logs, the devices' owners and I/O through the disks.
 */
import { describe, expect, it } from 'vitest';
import { validateScenario, type Scenario } from '../../core/api/scenario.js';
import { BLKIF_RSP_OKAY } from '../../core/api/public/io/blkif.js';
import { Simulation } from '../../core/sim/simulation.js';
import { topologyOf } from '../../core/sim/topology.js';
import { DomainConfigError } from '../../core/sim/newDomain.js';
import type { Vm } from '../../core/vm/vm.js';

/** io/xenbus.h. */
const CONNECTED = 4;
/** xvdb's virtual device number: 202 << 8 | 1 << 4 (docs/misc/vbd-interface.txt). */
const XVDB = 202 * 256 + 16;
const XVDA = 202 * 256;

function scenario(domains: unknown[], timeline: unknown[] = []): Scenario {
  const v = validateScenario({
    name: 'hotplug',
    machine: { memoryMiB: 2048, pcpus: 1, devices: [{ id: 'disk0', kind: 'disk', sizeMiB: 64 }, { id: 'disk1', kind: 'disk', sizeMiB: 64 }, { id: 'nic0', kind: 'nic' }] },
    hypervisor: 'xen',
    domains,
    timeline,
  });
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return v.scenario;
}

const blkdd = (pci: string[] = ['disk0']) => ({ name: 'blkdd', mode: 'pv', memoryMiB: 128, vcpus: 1, pci });
/** A guest whose disk-io on xvda (disk1, served by dom0) keeps the run going while the test acts. */
const busyGuest = (ops = 200_000) => ({ name: 'g', mode: 'pv', memoryMiB: 256, vcpus: 1, disks: [{ device: 'disk1', vdev: 'xvda' }], workload: { kind: 'disk-io', ops, flushEvery: 8 } });

const vm = (sim: Simulation, name: string) => sim.domains.find((d) => d.name === name)!;
const xs = (sim: Simulation, path: string) => sim.io!.xenstored.tree.node(path)?.value;
const exists = (sim: Simulation, path: string) => sim.io!.xenstored.tree.node(path) !== undefined;

function stepUntil(sim: Simulation, what: string, cond: () => boolean, max = 20_000): void {
  for (let i = 0; i < max; i++) {
    if (cond()) return;
    sim.step(1);
  }
  throw new Error(`never happened: ${what}`);
}

/** One page written to (or read from) sector 8·page of `vdev` through its blkfront, as a program's O_DIRECT I/O. */
function pageIo(sim: Simulation, d: Vm, vdev: string, op: 'read' | 'write' | 'flush', page: number, fill?: number): Uint8Array {
  const disk = d.io!.disks.find((k) => k.vdev === vdev)!;
  const pfn = d.kernel.allocPage();
  const view = d.io!.env.page(pfn);
  for (let i = 0; i < 4096; i++) view.setUint8(i, op === 'write' ? (fill! + i) & 0xff : 0);
  let status: number | null = null;
  disk.front.submit({ op, sector: op === 'flush' ? 0 : page * 8, pfns: op === 'flush' ? [] : [pfn], done: (s) => (status = s) });
  stepUntil(sim, `${op} on ${vdev}`, () => status !== null);
  expect(status).toBe(BLKIF_RSP_OKAY);
  return new Uint8Array(view.buffer, view.byteOffset, 4096).slice();
}

const pattern = (fill: number) => Uint8Array.from({ length: 4096 }, (_, i) => (fill + i) & 0xff);

describe('block-attach and block-detach on a running guest', () => {
  it('a second disk attached mid-run connects through xenbus and carries I/O; block-detach closes it and libxl removes both directories', () => {
    const sim = new Simulation(scenario([blkdd(), busyGuest()], [{ atMs: 1, do: 'block-attach', domain: 'g', disk: { backend: 'blkdd', device: 'disk0', vdev: 'xvdb' } }]));
    const g = vm(sim, 'g');
    const dd = vm(sim, 'blkdd');
    const fdir = `/local/domain/${g.domid}/device/vbd/${XVDB}`;
    const bdir = `/local/domain/${dd.domid}/backend/vbd/${g.domid}/${XVDB}`;
    expect(exists(sim, fdir)).toBe(false);
    stepUntil(sim, 'xvdb connected', () => xs(sim, `${fdir}/state`) === String(CONNECTED) && xs(sim, `${bdir}/state`) === String(CONNECTED));
    expect(sim.timeline[0]).toMatchObject({ do: 'block-attach', domain: 'g', ok: true });
    // The frontend points at blkdd's backend directory, as libxl_device_disk_add writes it.
    expect(xs(sim, `${fdir}/backend`)).toBe(bdir);
    expect(xs(sim, `${fdir}/backend-id`)).toBe(String(dd.domid));
    expect(xs(sim, `${bdir}/params`)).toBe('disk0');
    // A page written through xvdb is on disk0 and reads back.
    pageIo(sim, g, 'xvdb', 'write', 5, 0x40);
    expect(pageIo(sim, g, 'xvdb', 'read', 5)).toEqual(pattern(0x40));

    const r = sim.hotplugAct(g, { do: 'block-detach', vdev: 'xvdb' });
    expect(r.ok).toBe(true);
    // libxl's transaction: online 0 and the backend Closing, at once.
    expect(xs(sim, `${bdir}/online`)).toBe('0');
    expect(xs(sim, `${bdir}/state`)).toBe('5');
    stepUntil(sim, 'directories removed', () => !exists(sim, fdir) && !exists(sim, bdir));
    stepUntil(sim, 'xvdb gone from the guest', () => !g.io!.disks.some((k) => k.vdev === 'xvdb'));
    const glog = g.kernel.log.join('\n');
    expect(glog).toMatch(/blkfront: xvdb: backend \S+ went away \(Connected → Closed\)[^\n]*\n(.*\n)*blkfront: xvdb: removed/);
    expect(dd.kernel.log.some((l) => l.includes(`${bdir}: frontend ${g.domid} closed and the device is offline: removed`))).toBe(true);
    expect(topologyOf(sim).vbds.map((v) => `${v.frontend}:${v.vdev}`)).toEqual(['g:xvda']);
    // xvda and its I/O are untouched.
    expect(xs(sim, `/local/domain/${g.domid}/device/vbd/${XVDA}/state`)).toBe(String(CONNECTED));
    expect(g.io!.disks.map((k) => k.vdev)).toEqual(['xvda']);
  });

  it('block-detach then block-attach of the same vdev reconnects, and the data written before is there', () => {
    const sim = new Simulation(scenario([blkdd(), busyGuest()]));
    const g = vm(sim, 'g');
    const fdir = `/local/domain/${g.domid}/device/vbd/${XVDB}`;
    const attach = () => sim.hotplugAct(g, { do: 'block-attach', disk: { backend: 'blkdd', device: 'disk0', vdev: 'xvdb' } });
    expect(attach()).toMatchObject({ ok: true, message: 'xvdb (disk0, backend blkdd) added to g' });
    stepUntil(sim, 'connected', () => xs(sim, `${fdir}/state`) === String(CONNECTED));
    pageIo(sim, g, 'xvdb', 'write', 3, 0x11);
    // While the removal is under way the vdev is still taken.
    expect(sim.hotplugAct(g, { do: 'block-detach', vdev: String(XVDB) }).ok).toBe(true);
    expect(attach()).toEqual({ ok: false, message: 'xvdb is already one of g\'s disks (being removed)' });
    stepUntil(sim, 'removed', () => !g.io!.disks.some((k) => k.vdev === 'xvdb'));
    expect(attach().ok).toBe(true);
    stepUntil(sim, 'connected again', () => xs(sim, `${fdir}/state`) === String(CONNECTED));
    expect(pageIo(sim, g, 'xvdb', 'read', 3)).toEqual(pattern(0x11));
  });

  it('a disk-io job whose only disk is removed stalls: its unanswered requests are never completed, and the lab records the stall', () => {
    const s = scenario(
      [blkdd(), { name: 'g', mode: 'pv', memoryMiB: 256, vcpus: 1, disks: [{ backend: 'blkdd', device: 'disk0', vdev: 'xvda' }], workload: { kind: 'disk-io', ops: 3000, flushEvery: 8 } }],
      [{ atMs: 2, do: 'block-detach', domain: 'g', vdev: 'xvda' }],
    );
    const sim = new Simulation(s);
    while (sim.step(1));
    const r = sim.results();
    const tl = r.timeline!;
    expect(tl[0]).toMatchObject({ do: 'block-detach', domain: 'g', ok: true });
    expect(tl[tl.length - 1]).toMatchObject({ do: 'stall', domain: 'g', ok: false });
    const g = r.domains.find((d) => d.name === 'g')!;
    expect(g.ops).toBeLessThan(3000);
    expect(exists(sim, `/local/domain/${vm(sim, 'g').domid}/device/vbd/${XVDA}`)).toBe(false);
    expect(vm(sim, 'g').kernel.log.some((l) => /^blkfront: xvda: removed; \d+ requests never completed$/.test(l))).toBe(true);
    // The content check still reads disk0. A page differs from its last acknowledged write when
    // that write is only in the volatile cache, or when a later write of it (never acknowledged:
    // in flight at the removal) reached the disk: at most one page per unanswered request.
    const line = vm(sim, 'g').kernel.log.find((l) => l.startsWith('blkfront: xvda: removed'))!;
    const unanswered = Number(/; (\d+) requests never completed/.exec(line)![1]);
    const io = g.io as unknown as { acknowledgedWrites: number; lostWrites: number; volatileWrites: number };
    expect(io.acknowledgedWrites).toBeGreaterThan(0);
    expect(unanswered).toBeGreaterThan(0);
    expect(io.lostWrites - io.volatileWrites).toBeLessThanOrEqual(unanswered);
    expect(r.audit.ok).toBe(true);
  });

  it('a backend that never reaches Closed (its domain paused): after LIBXL_DESTROY_TIMEOUT libxl removes both directories by force, and the run records it', () => {
    const sim = new Simulation(scenario([blkdd(), busyGuest(), { name: 'h', mode: 'pv', memoryMiB: 128, vcpus: 1, disks: [{ backend: 'blkdd', device: 'disk0', vdev: 'xvdb' }] }]));
    const [dd, h] = [vm(sim, 'blkdd'), vm(sim, 'h')];
    const fdir = `/local/domain/${h.domid}/device/vbd/${XVDB}`;
    const bdir = `/local/domain/${dd.domid}/backend/vbd/${h.domid}/${XVDB}`;
    stepUntil(sim, 'h connected', () => xs(sim, `${fdir}/state`) === String(CONNECTED));
    sim.pauseDomain(dd);
    expect(sim.hotplugAct(h, { do: 'block-detach', vdev: 'xvdb' }).ok).toBe(true);
    // h's blkfront closes; blkdd, paused, cannot answer.
    stepUntil(sim, 'frontend Closed', () => xs(sim, `${fdir}/state`) === '6');
    for (let i = 0; i < 50; i++) sim.step(1);
    expect(xs(sim, `${bdir}/state`)).toBe('5');
    expect(sim.timeline).toEqual([]);
    // Nothing else would happen for 10 simulated seconds but g's disk-io: fire the queue's events
    // up to libxl's timeout without simulating them all.
    const q = sim.io!.queue;
    while (sim.timeline.length === 0 && q.peekTime() !== Infinity) q.runDue(q.peekTime());
    expect(sim.timeline).toEqual([
      expect.objectContaining({ atMs: -1, do: 'block-detach', domain: 'h', ok: false, message: `${fdir}: the backend did not reach Closed within 10 s; libxl removed both directories by force` }),
    ]);
    expect(exists(sim, fdir) || exists(sim, bdir)).toBe(false);
    // blkdd runs again: its blkback finds its node gone and unregisters without writing it back.
    sim.unpauseDomain(dd);
    stepUntil(sim, 'h lost xvdb', () => h.io!.disks.length === 0);
    for (let i = 0; i < 50; i++) sim.step(1);
    expect(exists(sim, bdir)).toBe(false);
    expect(dd.kernel.log).toContain(`blkback: ${bdir}: our node is gone: removed`);
  });

  it('refusals are results with a reason, never throws', () => {
    const sim = new Simulation(scenario([blkdd(), { name: 'dd2', mode: 'pv', memoryMiB: 128, vcpus: 1 }, busyGuest()]));
    const g = vm(sim, 'g');
    expect(sim.hotplugAct(g, { do: 'block-detach', vdev: 'xvdq' })).toEqual({ ok: false, message: "Device xvdq not connected: g's disks are xvda" });
    expect(sim.hotplugAct(g, { do: 'block-attach', disk: { device: 'disk1', vdev: 'xvdc' } })).toEqual({ ok: false, message: "disk1 already backs g's xvda: a disk serves one virtual disk" });
    expect(sim.hotplugAct(g, { do: 'block-attach', disk: { backend: 'dd2', device: 'disk0', vdev: 'xvdc' } })).toEqual({ ok: false, message: 'backend dd2 does not own disk0 (blkdd does): pci-attach it to dd2 first' });
    expect(sim.hotplugAct(g, { do: 'block-attach', disk: { device: 'disk9', vdev: 'xvdc' } })).toEqual({ ok: false, message: 'no disk device "disk9"; disks: disk0, disk1' });
    expect(sim.hotplugAct(g, { do: 'block-attach', disk: { backend: 'g', device: 'disk0', vdev: 'xvdc' } })).toEqual({ ok: false, message: 'a domain cannot be the backend of its own disk' });
    expect(sim.hotplugAct(g, { do: 'network-detach', devid: 3 })).toEqual({ ok: false, message: "Unknown device 3: g's vifs are (none)" });
  });
});

describe('pci-detach and pci-attach', () => {
  it('pci-detach is refused while the owner serves a frontend from the device, naming what uses it', () => {
    const sim = new Simulation(scenario([blkdd(), { name: 'g', mode: 'pv', memoryMiB: 256, vcpus: 1, disks: [{ backend: 'blkdd', device: 'disk0', vdev: 'xvda' }] }]));
    const r = sim.hotplugAct(vm(sim, 'blkdd'), { do: 'pci-detach', device: '0000:03:00.0' });
    expect(r).toEqual({ ok: false, message: "disk0 (0000:03:00.0) is in use: blkdd's backend serves g's xvda from it; remove those first (block-detach g xvda)" });
    expect(sim.io!.owner.get('disk0')).toBe('blkdd');
  });

  it('pci-detach then pci-attach of disk0 to another domain, which then serves a new block-attach', () => {
    const sim = new Simulation(
      scenario(
        [blkdd(), { name: 'dd2', mode: 'pv', memoryMiB: 128, vcpus: 1 }, busyGuest()],
        [
          { atMs: 1, do: 'pci-detach', domain: 'blkdd', device: 'disk0' },
          { atMs: 2, do: 'pci-attach', domain: 'dd2', device: '03:00.0' },
          { atMs: 3, do: 'block-attach', domain: 'g', disk: { backend: 'dd2', device: 'disk0', vdev: 'xvdb' } },
        ],
      ),
    );
    const [dd, dd2, g] = ['blkdd', 'dd2', 'g'].map((n) => vm(sim, n)) as [Vm, Vm, Vm];
    const ownerOf = () => topologyOf(sim).devices.find((d) => d.id === 'disk0')!.owner;
    expect(ownerOf()).toBe('blkdd');
    stepUntil(sim, 'pci-detach', () => sim.timeline.length >= 1);
    expect(sim.timeline[0]).toMatchObject({ do: 'pci-detach', ok: true, message: 'disk0 (0000:03:00.0) detached from blkdd: reset, now assignable' });
    // Assignable: no owner, its MSI's event channel closed in blkdd (no pirq port left there).
    expect(ownerOf()).toBeNull();
    expect(sim.io!.assignable('disk0')).toBe(true);
    expect(sim.xen.evtchn.ports(dd.domid).some((p) => p.pirq !== undefined)).toBe(false);
    stepUntil(sim, 'block-attach', () => sim.timeline.length >= 3);
    expect(sim.timeline.map((t) => [t.do, t.ok])).toEqual([['pci-detach', true], ['pci-attach', true], ['block-attach', true]]);
    expect(ownerOf()).toBe('dd2');
    expect(dd2.kernel.log.some((l) => l.startsWith('nvme 0000:03:00.0: 64 MiB'))).toBe(true);
    expect(sim.xen.evtchn.ports(dd2.domid).some((p) => p.pirq !== undefined)).toBe(true);
    const fdir = `/local/domain/${g.domid}/device/vbd/${XVDB}`;
    stepUntil(sim, 'xvdb connected to dd2', () => xs(sim, `${fdir}/state`) === String(CONNECTED));
    expect(xs(sim, `${fdir}/backend-id`)).toBe(String(dd2.domid));
    pageIo(sim, g, 'xvdb', 'write', 9, 0x5a);
    expect(pageIo(sim, g, 'xvdb', 'read', 9)).toEqual(pattern(0x5a));
    // dd2's blkback did the work, on disk0.
    expect(dd2.io!.backends.reduce((a, b) => a + b.stats.requests, 0)).toBeGreaterThanOrEqual(2);
    pageIo(sim, g, 'xvdb', 'flush', 0);
    expect(sim.io!.disks.get('disk0')!.readMedia(9)).toEqual(pattern(0x5a));
    const topo = topologyOf(sim);
    expect(topo.vbds.find((v) => v.vdev === 'xvdb')).toMatchObject({ frontend: 'g', backend: 'dd2', device: 'disk0', frontState: CONNECTED });
  });

  it('pci-attach refuses a device a live domain owns; pci-detach refuses a device the domain does not own', () => {
    const sim = new Simulation(scenario([blkdd(), { name: 'dd2', mode: 'pv', memoryMiB: 128, vcpus: 1 }, busyGuest()]));
    expect(sim.hotplugAct(vm(sim, 'dd2'), { do: 'pci-attach', device: 'disk0' })).toEqual({ ok: false, message: 'PCI device 0000:03:00.0 (disk0) is not assignable: blkdd owns it (pci-detach it from blkdd first)' });
    expect(sim.hotplugAct(vm(sim, 'dd2'), { do: 'pci-detach', device: 'disk0' })).toEqual({ ok: false, message: 'PCI device 0000:03:00.0 (disk0) not attached to dd2: blkdd owns it' });
    expect(sim.hotplugAct(vm(sim, 'dd2'), { do: 'pci-attach', device: '0000:07:00.0' }).message).toBe('no device "0000:07:00.0" on the machine; devices: disk0 (0000:03:00.0), disk1 (0000:03:01.0), nic0 (0000:03:02.0)');
  });

  it('xl create of a domain whose pci lists a device gets it only when it is assignable', () => {
    const sim = new Simulation(scenario([blkdd([]), busyGuest()]));
    const input = { name: 'dd9', mode: 'pv' as const, memoryMiB: 64, vcpus: 1, pci: ['disk0'] };
    // disk0 is dom0's (nobody claims it): not assignable.
    let err: unknown;
    try {
      sim.createDomain(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DomainConfigError);
    expect((err as DomainConfigError).problems).toEqual([{ path: 'pci[0]', message: 'device "disk0" is already owned by Domain-0: a device has one owner' }]);
    expect(sim.hotplugAct(vm(sim, 'Domain-0'), { do: 'pci-detach', device: 'disk0' }).ok).toBe(true);
    const d = sim.createDomain(input);
    expect(sim.io!.owner.get('disk0')).toBe('dd9');
    expect(d.kernel.log.some((l) => l.startsWith('nvme 0000:03:00.0'))).toBe(true);
  });
});

describe('network-attach and network-detach', () => {
  it('a vif attached to a running guest connects to the NIC owner\'s bridge; network-detach by MAC closes and removes it', () => {
    const sim = new Simulation(scenario([blkdd(), busyGuest()]));
    const g = vm(sim, 'g');
    const r = sim.hotplugAct(g, { do: 'network-attach', vif: { device: 'nic0', mac: '00:16:3e:0a:0b:0c' } });
    expect(r).toEqual({ ok: true, message: 'vif 0 (00:16:3e:0a:0b:0c, bridge xenbr-nic0, backend Domain-0) added to g' });
    const fdir = `/local/domain/${g.domid}/device/vif/0`;
    const bdir = `/local/domain/0/backend/vif/${g.domid}/0`;
    stepUntil(sim, 'vif connected', () => xs(sim, `${fdir}/state`) === String(CONNECTED) && xs(sim, `${bdir}/state`) === String(CONNECTED));
    expect(xs(sim, `${fdir}/mac`)).toBe('00:16:3e:0a:0b:0c');
    expect(xs(sim, `${bdir}/bridge`)).toBe('xenbr-nic0');
    const bridge = vm(sim, 'Domain-0').io!.nics.get('nic0')!.bridge;
    const mac = g.io!.vifs[0]!.mac;
    const onBridge = () => bridge.ports.some((p) => p.mac.every((b, i) => b === mac[i]));
    expect(onBridge()).toBe(true);
    // A second one takes the next devid (libxl__device_nextid).
    expect(sim.hotplugAct(g, { do: 'network-attach', vif: { device: 'nic0' } }).message).toMatch(/^vif 1 \(00:16:3e:/);
    expect(sim.hotplugAct(g, { do: 'network-detach', mac: '00:16:3e:0a:0b:0c' }).ok).toBe(true);
    expect(xs(sim, `${bdir}/online`)).toBe('0');
    stepUntil(sim, 'vif 0 removed', () => !exists(sim, fdir) && !exists(sim, bdir));
    expect(onBridge()).toBe(false);
    expect(g.io!.vifs.map((v) => v.index)).toEqual([1]);
    expect(g.kernel.log.some((l) => l === 'netfront: vif0: removed')).toBe(true);
    expect(vm(sim, 'Domain-0').kernel.log).toContain(`netback: ${bdir}: frontend ${g.domid} closed and the vif is offline: removed from the bridge`);
  });

  it('network-detach under a transmit stream: the frames on the tx ring are counted as dropped, and the stream stalls', () => {
    const v = validateScenario({
      name: 'n',
      machine: { memoryMiB: 2048, pcpus: 1, devices: [{ id: 'nic0', kind: 'nic' }] },
      hypervisor: 'xen',
      domains: [{ name: 'g', mode: 'pv', memoryMiB: 256, vcpus: 1, vifs: [{ device: 'nic0' }], workload: { kind: 'net-stream', bytes: 50_000_000, direction: 'tx' } }],
      timeline: [{ atMs: 2, do: 'network-detach', domain: 'g', devid: 0 }],
    });
    if (!v.ok) throw new Error(JSON.stringify(v.problems));
    const sim = new Simulation(v.scenario);
    while (sim.step(1));
    const r = sim.results();
    expect(r.timeline!.map((t) => [t.do, t.ok])).toEqual([['network-detach', true], ['stall', false]]);
    const line = vm(sim, 'g').kernel.log.find((l) => l.includes('went away (Connected → Closed)'))!;
    const onRing = Number(/; (\d+) frames on the tx ring lost/.exec(line)![1]);
    expect(onRing).toBeGreaterThan(0);
    // The removed vif's drops stay in the guest's results.
    const io = r.domains.find((d) => d.name === 'g')!.io!;
    expect(io.packetsDropped).toBeGreaterThanOrEqual(onRing);
    expect(vm(sim, 'g').io!.vifs).toEqual([]);
  });

  it('network-attach refuses a backend that has no bridge on the NIC', () => {
    const sim = new Simulation(scenario([blkdd(), busyGuest()]));
    expect(sim.hotplugAct(vm(sim, 'g'), { do: 'network-attach', vif: { backend: 'blkdd', device: 'nic0' } })).toEqual({ ok: false, message: 'backend blkdd has no bridge on nic0 (Domain-0 owns it): pci-attach it to blkdd first' });
  });
});

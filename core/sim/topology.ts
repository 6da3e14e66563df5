/** The Topology view's snapshot of a running simulation (core/api/topology.ts). */
import { EVTCHNSTAT_NAMES } from '../api/public/event_channel.js';
import { BLK_RING_SIZE } from '../api/public/io/blkif.js';
import { XENBUS_STATE_NAMES, XenbusStateUnknown, type XenbusState } from '../api/public/io/xenbus.js';
import { NET_TX_RING_SIZE } from '../api/public/io/netif.js';
import type { TopologySnapshot, TopologyGrants } from '../api/topology.js';
import { Netfront, macString } from '../guest/io/netfront.js';
import type { Simulation } from './simulation.js';
import { DOMID_IO } from '../hv/passthrough/iommu.js';
import { formatBdf } from '../machine/devices/pci.js';
import type { Vm } from '../vm/vm.js';

export function topologyOf(sim: Simulation): TopologySnapshot {
  const clockGHz = sim.xen.cpu.clockGHz;
  const io = sim.io;
  const live = sim.domains;
  const backends = new Set<string>();
  /** Both ends of a split driver: the frontend's xenbus state, the backend's as xenstore has it. */
  const ends = (vm: Vm, backend: string, f: { state: XenbusState; backend: { dir: string | null } }) => {
    backends.add(backend);
    const be = live.find((x) => x.name === backend);
    const dir = f.backend.dir;
    const raw = dir && io ? io.xenstored.tree.node(`${dir}/state`)?.value : undefined;
    const bs = (raw === undefined ? XenbusStateUnknown : Number(raw)) as XenbusState;
    return {
      frontend: vm.name,
      frontendDomid: vm.domid,
      backend,
      backendDomid: be ? be.domid : null,
      frontState: f.state,
      frontStateName: XENBUS_STATE_NAMES[f.state],
      backState: bs,
      backStateName: XENBUS_STATE_NAMES[bs] ?? 'Unknown',
    };
  };
  const vbds: TopologySnapshot['vbds'] = [];
  for (const vm of live) {
    for (const d of vm.io?.disks ?? []) {
      const f = d.front;
      vbds.push({
        ...ends(vm, d.backend, f),
        vdev: d.vdev,
        device: d.device,
        ringInFlight: f.inFlight,
        ringSize: BLK_RING_SIZE,
        queued: f.queued,
        reconnects: f.stats.reconnects,
      });
    }
  }
  const vifs: TopologySnapshot['vifs'] = [];
  for (const vm of live) {
    for (const v of vm.io?.vifs ?? []) {
      // Only split drivers: a NIC's owner reaches it through its own port on the bridge.
      if (!(v.front instanceof Netfront)) continue;
      const f = v.front;
      vifs.push({
        ...ends(vm, v.backend, f),
        devid: v.index,
        mac: macString(v.mac),
        device: v.device,
        txInFlight: f.txInFlight,
        txRingSize: NET_TX_RING_SIZE,
        rx: f.flipping || (f.rxFlip && !f.connected) ? 'flip' : 'copy',
        dropped: v.drops.dropped,
        reconnects: f.stats.reconnects,
      });
    }
  }
  const domains: TopologySnapshot['domains'] = live.map((vm) => ({
    domid: vm.domid,
    name: vm.name,
    mode: vm.mode,
    role: vm.config.role,
    state: sim.visibleState(vm),
    backend: backends.has(vm.name),
    cpuMs: vm.dom.cpuCycles / (clockGHz * 1e6),
  }));
  // Domains of the scenario that are not live (destroyed by the timeline or xl) are drawn dead.
  for (const cfg of sim.scenario.domains) {
    if (!live.some((vm) => vm.name === cfg.name)) {
      domains.push({ domid: -1, name: cfg.name, mode: cfg.mode, role: cfg.role, state: 'destroyed', backend: backends.has(cfg.name), cpuMs: 0 });
    }
  }
  const evtchns: TopologySnapshot['evtchns'] = [];
  for (const vm of live) {
    for (const p of sim.xen.evtchn.ports(vm.domid)) {
      if (p.status === 0) continue;
      evtchns.push({
        domid: vm.domid,
        port: p.port,
        kind: EVTCHNSTAT_NAMES[p.status],
        ...(p.remoteDom !== undefined ? { remoteDomid: p.remoteDom } : {}),
        ...(p.remotePort !== undefined ? { remotePort: p.remotePort } : {}),
        ...(p.pirq !== undefined ? { pirq: p.pirq } : {}),
        ...(p.virq !== undefined ? { virq: p.virq } : {}),
        pending: p.pending,
        masked: p.masked,
      });
    }
  }
  const byPair = new Map<string, TopologyGrants>();
  for (const m of sim.xen.gnttab.mappings()) {
    const k = `${m.granter}>${m.mapper}`;
    let g = byPair.get(k);
    if (!g) byPair.set(k, (g = { granter: m.granter, mapper: m.mapper, mappings: 0, readonly: 0 }));
    g.mappings++;
    if (m.readonly) g.readonly++;
  }
  return {
    atMs: (sim.cycles - sim.origin) / (clockGHz * 1e6),
    domains,
    devices: io ? io.deviceResults().map((d) => ({ ...d, outstanding: io.disks.get(d.id)?.outstanding ?? 0, ...iommuOfDevice(sim, d.id) })) : [],
    vbds,
    vifs,
    evtchns,
    grants: [...byPair.values()],
    timeline: sim.timeline.map((t) => ({ atMs: t.firedAtMs, do: t.do, domain: t.domain, ok: t.ok, message: t.message })),
  };
}


/** The IOMMU domain a device's DMA goes through, and how many of its DMAs were refused. */
function iommuOfDevice(sim: Simulation, id: string): { iommu: string; blockedDma: number } {
  const io = sim.io!;
  const iommu = sim.xen.iommu;
  if (!iommu?.hw.enabled) return { iommu: 'off', blockedDma: 0 };
  const bdf = io.deviceBdf(id);
  const domid = iommu.ownerOf(bdf);
  const name = domid === DOMID_IO ? 'quarantine' : domid < 0 ? 'none' : (sim.domains.find((d) => d.domid === domid)?.name ?? `domain ${domid}`);
  const text = formatBdf(bdf);
  let blocked = 0;
  for (const f of io.iommuState().log) if (f.bdf === text) blocked++;
  return { iommu: name, blockedDma: blocked };
}

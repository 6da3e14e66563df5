/**
 * What the Topology view draws (UI.md "Topology"): domains, the devices on the PCI bus and who
 * owns them, each split-driver connection (frontend, backend, their xenbus states and how full the
 * shared ring is), event channels and grant mappings as edges. A snapshot of one moment; the
 * simulation worker sends one with its metric snapshots while a run goes.
 */

export type TopologyDomainState = 'running' | 'paused' | 'blocked' | 'shutdown' | 'dying' | 'destroyed';

export interface TopologyDomain {
  domid: number;
  name: string;
  mode: string;
  role: 'dom0' | 'guest';
  state: TopologyDomainState;
  /** Serves at least one virtual device for another domain. */
  backend: boolean;
  /** Simulated CPU time the domain has used, ms. */
  cpuMs: number;
}

export interface TopologyDevice {
  id: string;
  kind: string;
  bdf: string;
  /** The domain that drives it, or null while it has none (its driver domain is dead). */
  owner: string | null;
  /** Commands the device has accepted and not completed. */
  outstanding: number;
  stats: Record<string, number>;
  /**
   * Whose IOMMU table its DMA goes through: the owner's name, "quarantine" (dom_io: a device
   * nobody owns reaches nothing), or "off" (no IOMMU: machine addresses, unchecked).
   */
  iommu?: string;
  /** DMAs the IOMMU refused from this device (from Xen's fault log). */
  blockedDma?: number;
}

/** One virtual block device: a frontend in a guest, a backend in the domain that serves it. */
export interface TopologyVbd {
  frontend: string;
  frontendDomid: number;
  vdev: string;
  /** The backend domain's name as configured (it may be dead). */
  backend: string;
  backendDomid: number | null;
  device: string;
  /** xenbus states (io/xenbus.h numbers) and their names. */
  frontState: number;
  frontStateName: string;
  backState: number;
  backStateName: string;
  /** Requests on the ring not yet answered, out of ringSize. */
  ringInFlight: number;
  ringSize: number;
  /** Requests waiting for ring space or for a backend. */
  queued: number;
  reconnects: number;
}

/** One virtual network interface: netfront in a guest, netback in the domain that bridges it. */
export interface TopologyVif {
  frontend: string;
  frontendDomid: number;
  /** The vif's index in its domain (xl network-list's Idx). */
  devid: number;
  mac: string;
  backend: string;
  backendDomid: number | null;
  /** The machine NIC whose bridge it joins. */
  device: string;
  frontState: number;
  frontStateName: string;
  backState: number;
  backStateName: string;
  /** Frames on the tx ring not yet answered, out of txRingSize. */
  txInFlight: number;
  txRingSize: number;
  /** How received frames arrive: grant copy or page flipping. */
  rx: 'copy' | 'flip';
  /** Frames for or from this vif lost anywhere on its path. */
  dropped: number;
  reconnects: number;
}

export interface TopologyEvtchn {
  domid: number;
  port: number;
  /** interdomain, unbound, pirq, virq. */
  kind: string;
  remoteDomid?: number;
  remotePort?: number;
  pirq?: number;
  virq?: number;
  pending: boolean;
  masked: boolean;
}

/** Grant mappings from one granter to one mapper, counted. */
export interface TopologyGrants {
  granter: number;
  mapper: number;
  mappings: number;
  readonly: number;
}

export interface TopologySnapshot {
  /** Simulated time since the domains booted, ms. */
  atMs: number;
  domains: TopologyDomain[];
  devices: TopologyDevice[];
  vbds: TopologyVbd[];
  vifs: TopologyVif[];
  evtchns: TopologyEvtchn[];
  grants: TopologyGrants[];
  /** What the timeline has done so far. */
  timeline: { atMs: number; do: string; domain: string; ok: boolean; message: string }[];
}

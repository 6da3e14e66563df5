/**
 * The toolstack library under `xl` (after libxl): domain lifecycle against the live Simulation,
 * with an event for each change so the hypervisor log, xenstore and the consoles follow.
 */
import type { Vm } from '../vm/vm.js';
import type { DomainInput, Simulation } from '../sim/simulation.js';
import { canonicalBdf, defaultBdf } from '../api/ioScenario.js';
import { xvdDevid } from '../guest/io/xenbus.js';
import { XsError, type XsClient } from '../guest/xenstore/client.js';
import type { HotplugAction, HotplugResult } from '../vm/io/hotplug.js';

/** libxl_diskinfo, as libxl_device_disk_getinfo (tools/libs/light/libxl_disk.c) fills it; -1 where xenstore has no value. */
export interface NicInfo {
  /** The vif's index (its devid). */
  devid: number;
  backendId: number;
  mac: string;
  /** The frontend's xenbus state. */
  state: number;
  evtch: number;
  rrefTx: number;
  rrefRx: number;
  backend: string;
}

export interface DiskInfo {
  /** The virtual device number (xvda → 202<<8 = 51712; docs/misc/vbd-interface.txt). */
  devid: number;
  vdev: string;
  /** Parsed from the backend path (/local/domain/<backend_id>/backend/...). */
  backendId: number;
  /** libxl sets it to the frontend's domid. */
  frontendId: number;
  /** The frontend's xenbus state (io/xenbus.h XenbusState). */
  state: number;
  evtch: number;
  rref: number;
  /** The backend's xenstore directory. */
  backend: string;
}

/** A PCI device as libxl_device_pci lists it. */
export interface PciDeviceInfo {
  id: string;
  /** Canonical "ssss:bb:dd.f". */
  bdf: string;
  /** The virtual slot in the guest (vdevfn); a PV guest's pcifront sees the real address, so 0. */
  vdevfn: number;
  /** The domain name that owns it (the scenario's pci; dom0 owns the rest). */
  owner: string;
}

export interface LibxlEvents {
  created(d: Vm): void;
  destroyed(d: Vm, freed: { guestFrames: number; xenFrames: number }): void;
  paused(d: Vm): void;
  unpaused(d: Vm): void;
  /** A device was added to or removed from `d` (xl pci-attach, block-detach … or the timeline's). */
  devicesChanged(d: Vm, what: string, message: string): void;
}

/** libxl's ERROR_INVAL, which xl prints for a name or id that matches no domain. */
export const ERROR_INVAL = -6;

export class Libxl {
  constructor(
    readonly sim: Simulation,
    private readonly events: LibxlEvents,
  ) {}

  /** Live domains by domid. */
  list(): Vm[] {
    return [...this.sim.domains].sort((a, b) => a.domid - b.domid);
  }

  /** A domain by name, or by domid when `ident` is a number (libxl_name_to_domid / xl's find_domain). */
  find(ident: string): Vm | null {
    const byName = this.sim.domains.find((d) => d.name === ident);
    if (byName) return byName;
    if (/^\d+$/.test(ident)) return this.sim.domains.find((d) => d.domid === Number(ident)) ?? null;
    return null;
  }

  /** Builds and boots a domain; throws DomainConfigError when it cannot. */
  create(input: DomainInput): Vm {
    const d = this.sim.createDomain(input);
    this.events.created(d);
    return d;
  }

  destroy(d: Vm): void {
    const freed = this.sim.destroyDomain(d);
    this.events.destroyed(d, freed);
  }

  pause(d: Vm): void {
    this.sim.pauseDomain(d);
    this.events.paused(d);
  }

  unpause(d: Vm): void {
    this.sim.unpauseDomain(d);
    this.events.unpaused(d);
  }

  /**
   * A hot-plug action on `d` (xl pci-attach, pci-detach, block-attach, block-detach,
   * network-attach, network-detach), through the same code as the timeline's.
   */
  hotplug(d: Vm, a: HotplugAction): HotplugResult {
    const r = this.sim.hotplugAct(d, a);
    if (r.ok) this.events.devicesChanged(d, a.do, r.message);
    return r;
  }

  private xsConn: XsClient | null = null;

  /** A read through dom0's xenstore connection; null when the node does not exist. */
  private xsRead(path: string): string | null {
    const io = this.sim.io;
    if (!io) return null;
    this.xsConn ??= io.xenstored.socketConnection(0);
    try {
      return this.xsConn.read(path);
    } catch (e) {
      if (e instanceof XsError) return null;
      throw e;
    }
  }

  /** libxl_device_disk_list + libxl_device_disk_getinfo: `d`'s virtual disks as xenstore shows them now. */
  diskList(d: Vm): DiskInfo[] {
    const out: DiskInfo[] = [];
    for (const disk of d.io?.disks ?? []) {
      const devid = xvdDevid(disk.vdev);
      const fe = `/local/domain/${d.domid}/device/vbd/${devid}`;
      const backend = this.xsRead(`${fe}/backend`);
      if (backend === null) continue; // getinfo fails (ERROR_FAIL): xl skips the disk
      const num = (v: string | null) => (v === null || !/^\d+$/.test(v) ? -1 : Number(v));
      const m = /^\/local\/domain\/(\d+)\//.exec(backend);
      out.push({
        devid,
        vdev: disk.vdev,
        backendId: m ? Number(m[1]) : -1,
        frontendId: d.domid,
        state: num(this.xsRead(`${fe}/state`)),
        evtch: num(this.xsRead(`${fe}/event-channel`)),
        rref: num(this.xsRead(`${fe}/ring-ref`)),
        backend,
      });
    }
    return out;
  }

  /** libxl_device_nic_list + getinfo: each vif's frontend and backend as xenstore has them. */
  nicList(d: Vm): NicInfo[] {
    const out: NicInfo[] = [];
    for (const vif of d.io?.vifs ?? []) {
      const fe = `/local/domain/${d.domid}/device/vif/${vif.index}`;
      const backend = this.xsRead(`${fe}/backend`);
      if (backend === null) continue; // getinfo fails: xl skips the vif
      const num = (v: string | null) => (v === null || !/^\d+$/.test(v) ? -1 : Number(v));
      const m = /^\/local\/domain\/(\d+)\//.exec(backend);
      out.push({
        devid: vif.index,
        backendId: m ? Number(m[1]) : -1,
        mac: [...vif.mac].map((b) => b.toString(16).padStart(2, '0')).join(':'),
        state: num(this.xsRead(`${fe}/state`)),
        evtch: num(this.xsRead(`${fe}/event-channel`)),
        rrefTx: num(this.xsRead(`${fe}/tx-ring-ref`)),
        rrefRx: num(this.xsRead(`${fe}/rx-ring-ref`)),
        backend,
      });
    }
    return out;
  }

  /** The machine's PCI devices with their owners, by address. */
  pciDevices(): PciDeviceInfo[] {
    const io = this.sim.io;
    if (!io) return [];
    const devices = this.sim.scenario.machine.devices ?? [];
    return devices
      .map((dv, i) => ({ id: dv.id, bdf: canonicalBdf(dv.bdf ?? defaultBdf(i))!, vdevfn: 0, owner: io.owner.get(dv.id) ?? '' }))
      .sort((a, b) => (a.bdf < b.bdf ? -1 : a.bdf > b.bdf ? 1 : 0));
  }

  /** libxl_device_pci_list: the devices passed through to `d` (its scenario's pci); dom0 drives the rest natively, so it has none. */
  pciList(d: Vm): PciDeviceInfo[] {
    if (d.privileged) return [];
    return this.pciDevices().filter((p) => p.owner === d.name);
  }

  /** libxl_device_pci_assignable_list: devices no live domain owns (a destroyed driver domain's, until it is back). */
  pciAssignable(): PciDeviceInfo[] {
    const live = new Set(this.sim.domains.map((d) => d.name));
    return this.pciDevices().filter((p) => !live.has(p.owner));
  }
}

/**
 * Devices added to and removed from running domains, as libxl does it for `xl pci-attach`,
 * `pci-detach`, `block-attach`, `block-detach`, `network-attach` and `network-detach` (and the
 * scenario timeline's actions of the same names): one implementation for both.
 *
 * Adding a virtual disk or vif is what libxl_device_disk_add / libxl_device_nic_add do at boot
 * (tools/libs/light/libxl_disk.c, libxl_nic.c): the frontend's and the backend's directories, and
 * the two kernels probe and connect through xenbus. Removing one is libxl's generic removal
 * (libxl_device.c libxl__initiate_device_generic_remove): the backend's `online` set to 0 and its
 * state to Closing (5) in one transaction; the frontend closes (its unanswered requests stay
 * unanswered), the backend sees the frontend Closed with online 0 and goes Closed (6) and
 * unregisters (Linux xen-blkback/xenbus.c frontend_changed); libxl, which waits for state 6 with a
 * watch, then deletes both directories. If the backend does not reach Closed within
 * LIBXL_DESTROY_TIMEOUT, libxl forces it (libxl_device_disk_remove's LIBXL__FORCE_AUTO): both
 * directories go at once.
 *
 * PCI devices move between domains through "assignable": pci-detach stops the owner's driver (the
 * device is reset, its MSI unbound, the pirq's permission revoked) and leaves the device owned by
 * nobody; pci-attach gives an assignable device to a domain whose kernel binds its driver, and any
 * frontend waiting for a backend on that device in that domain connects.
 */
import type { DomainConfig } from '../../api/scenario.js';
import type { VdiskConfig, VifConfig } from '../../api/ioScenario.js';
import { MAC_RE } from '../../api/ioScenario.js';
import { XenbusStateClosed, XenbusStateClosing } from '../../api/public/io/xenbus.js';
import { xvdDevid } from '../../guest/io/xenbus.js';
import { macString, Netfront } from '../../guest/io/netfront.js';
import type { Vm } from '../vm.js';
import { fnBdf, type IoWorld } from './ioWorld.js';

/** What a hot-plug action did, or why it did nothing (the timeline's record, xl's error line). */
export interface HotplugResult {
  ok: boolean;
  message: string;
}

/** libxl_internal.h: how long libxl waits for a backend to reach Closed before forcing the removal (seconds). */
export const LIBXL_DESTROY_TIMEOUT = 10;

/** A removal that did not go as asked (the backend never reached Closed), for the run's record. */
export interface RemovalNote {
  domain: Vm;
  do: 'block-detach' | 'network-detach';
  message: string;
}

export class Hotplug {
  /** Frontend directories being removed (the handshake under way). */
  private readonly removing = new Set<string>();
  /** Told when a removal had to be forced. */
  onForced?: (note: RemovalNote) => void;

  constructor(
    private readonly io: IoWorld,
    /** Simulated time now and cycles per second (for libxl's timeout). */
    private readonly clock: { now(): number; cyclesPerSecond: number },
  ) {}

  private bdf(id: string): string {
    return fnBdf((this.io.disks.get(id) ?? this.io.nics.get(id)!).bdf);
  }

  private noDevice(ref: string): HotplugResult {
    const known = [...this.io.disks.keys(), ...this.io.nics.keys()].map((k) => `${k} (${this.bdf(k)})`).join(', ') || '(none)';
    return { ok: false, message: `no device "${ref}" on the machine; devices: ${known}` };
  }

  /** What uses device `id` through `owner`'s backends: live frontends' disks and vifs served from it. */
  private users(owner: Vm, id: string): string[] {
    const out: string[] = [];
    for (const d of this.io.liveVms()) {
      if (d === owner) continue;
      for (const k of d.io?.disks ?? []) if (k.device === id && k.backend === owner.name) out.push(`${d.name}'s ${k.vdev}`);
      for (const v of d.io?.vifs ?? []) if (v.device === id && v.backend === owner.name) out.push(`${d.name}'s vif ${v.index}`);
    }
    return out;
  }

  /** libxl_device_pci_remove: the device leaves `vm` and becomes assignable. */
  pciDetach(vm: Vm, ref: string): HotplugResult {
    const id = this.io.resolveDevice(ref);
    if (id === undefined) return this.noDevice(ref);
    const bdf = this.bdf(id);
    if (this.io.owner.get(id) !== vm.name || !this.io.isLive(vm)) {
      const o = this.io.owner.get(id);
      return { ok: false, message: `PCI device ${bdf} (${id}) not attached to ${vm.name}: ${o !== undefined && this.io.vmNamed(o) ? `${o} owns it` : 'it is assignable (no domain owns it)'}` };
    }
    const users = this.users(vm, id);
    if (users.length > 0) {
      const how = users.map((u) => (u.includes("'s vif") ? `network-detach ${u.replace(/'s vif /, ' ')}` : `block-detach ${u.replace(/'s /, ' ')}`)).join(', ');
      return { ok: false, message: `${id} (${bdf}) is in use: ${vm.name}'s backend serves ${users.join(', ')} from it; remove those first (${how})` };
    }
    const lost = this.io.unbindDevice(vm, id);
    vm.kernel.log.push(`pci ${bdf}: ${id} removed (xl pci-detach): driver unbound, MSI released, device reset${lost ? `; ${lost} frames in its rings lost` : ''}`);
    return { ok: true, message: `${id} (${bdf}) detached from ${vm.name}: reset, now assignable${lost ? `; ${lost} frames in flight dropped` : ''}` };
  }

  /** libxl_device_pci_add: an assignable device to `vm`, its driver bound, waiting frontends served. */
  pciAttach(vm: Vm, ref: string): HotplugResult {
    const id = this.io.resolveDevice(ref);
    if (id === undefined) return this.noDevice(ref);
    const bdf = this.bdf(id);
    const o = this.io.owner.get(id);
    if (o === vm.name && this.io.isLive(vm)) return { ok: false, message: `PCI device ${bdf} (${id}) is already ${vm.name}'s` };
    if (!this.io.assignable(id)) return { ok: false, message: `PCI device ${bdf} (${id}) is not assignable: ${o} owns it (pci-detach it from ${o} first)` };
    this.io.bindDevice(vm, id);
    this.io.serveWaiting(vm, id);
    return { ok: true, message: `${id} (${bdf}) attached to ${vm.name}` };
  }

  /** Why a domain about to be created cannot have the devices its pci lists (xl create): each at pci[j]. */
  pciProblems(cfg: DomainConfig): { path: string; message: string }[] {
    const out: { path: string; message: string }[] = [];
    (cfg.pci ?? []).forEach((ref, j) => {
      const id = this.io.resolveDevice(ref);
      if (id === undefined || this.io.assignable(id)) return;
      const o = this.io.owner.get(id)!;
      out.push({ path: `pci[${j}]`, message: `PCI device ${this.bdf(id)} (${id}) is not assignable: ${o} owns it (pci-detach it from ${o} first)` });
    });
    return out;
  }

  /** libxl_device_disk_add on a running domain. */
  blockAttach(fe: Vm, vd: VdiskConfig): HotplugResult {
    const io = fe.io;
    if (!io) return { ok: false, message: `${fe.name} has no split drivers (no xenstore connection)` };
    const have = io.disks.find((d) => d.vdev === vd.vdev);
    if (have) return { ok: false, message: `${vd.vdev} is already one of ${fe.name}'s disks${this.removing.has(this.io.frontDir(fe, have)) ? ' (being removed)' : ` (on ${have.device})`}` };
    const dev = this.io.disks.get(vd.device);
    if (!dev) return { ok: false, message: `no disk device "${vd.device}"; disks: ${[...this.io.disks.keys()].join(', ') || '(none)'}` };
    for (const d of this.io.liveVms()) {
      const user = d.io?.disks.find((k) => k.device === vd.device);
      if (user) return { ok: false, message: `${vd.device} already backs ${d.name}'s ${user.vdev}: a disk serves one virtual disk` };
    }
    const backend = vd.backend ?? this.io.dom0Name;
    const be = this.io.vmNamed(backend);
    if (!be) return { ok: false, message: `backend domain "${backend}" is not running` };
    if (be === fe) return { ok: false, message: 'a domain cannot be the backend of its own disk' };
    if (this.io.owner.get(vd.device) !== backend) {
      const o = this.io.owner.get(vd.device);
      return { ok: false, message: `backend ${backend} does not own ${vd.device} (${o !== undefined && this.io.vmNamed(o) ? `${o} does` : 'it is assignable'}): pci-attach it to ${backend} first` };
    }
    this.io.addFrontend(fe, io, vd);
    return { ok: true, message: `${vd.vdev} (${vd.device}, backend ${backend}) added to ${fe.name}` };
  }

  /** libxl_device_disk_remove: the xenbus close handshake, then both directories removed. */
  blockDetach(fe: Vm, which: string): HotplugResult {
    const io = fe.io;
    const disk = io?.disks.find((d) => d.vdev === which || String(xvdDevid(d.vdev)) === which);
    if (!io || !disk) return { ok: false, message: `Device ${which} not connected: ${fe.name}'s disks are ${io?.disks.map((d) => d.vdev).join(', ') || '(none)'}` };
    const fdir = this.io.frontDir(fe, disk);
    if (this.removing.has(fdir)) return { ok: false, message: `${disk.vdev} is already being removed` };
    const bdir = disk.front.backend.dir;
    const started = this.remove(fe, 'block-detach', fdir, bdir, () => {
      disk.front.remove();
      const i = io.disks.indexOf(disk);
      if (i >= 0) io.disks.splice(i, 1);
      io.retired.disks.push(disk);
    });
    return { ok: true, message: `${disk.vdev} of ${fe.name}: ${started}` };
  }

  /** libxl_device_nic_add on a running domain: the next free devid, the vif connected to its backend's bridge. */
  networkAttach(fe: Vm, vf: VifConfig): HotplugResult {
    const io = fe.io;
    if (!io) return { ok: false, message: `${fe.name} has no split drivers (no xenstore connection)` };
    if (!this.io.nics.has(vf.device)) return { ok: false, message: `no nic device "${vf.device}"; nics: ${[...this.io.nics.keys()].join(', ') || '(none)'}` };
    const backend = vf.backend ?? this.io.dom0Name;
    const be = this.io.vmNamed(backend);
    if (!be) return { ok: false, message: `backend domain "${backend}" is not running` };
    if (be === fe) return { ok: false, message: 'a domain cannot be the backend of its own vif' };
    if (!be.io?.nics.has(vf.device)) {
      const o = this.io.owner.get(vf.device);
      return { ok: false, message: `backend ${backend} has no bridge on ${vf.device} (${o !== undefined && this.io.vmNamed(o) ? `${o} owns it` : 'it is assignable'}): pci-attach it to ${backend} first` };
    }
    if (vf.mac !== undefined && io.vifs.some((v) => macString(v.mac) === vf.mac!.toLowerCase())) return { ok: false, message: `${vf.mac} is already one of ${fe.name}'s vifs` };
    // libxl__device_nextid: one past the highest devid the domain has.
    const index = io.vifs.reduce((m, v) => Math.max(m, v.index + 1), 0);
    this.io.addVif(fe, io, vf, index);
    const v = io.vifs[io.vifs.length - 1]!;
    return { ok: true, message: `vif ${index} (${macString(v.mac)}, bridge xenbr-${vf.device}, backend ${backend}) added to ${fe.name}` };
  }

  /** libxl_device_nic_remove, by devid or MAC. */
  networkDetach(fe: Vm, which: string | number): HotplugResult {
    const io = fe.io;
    const byMac = typeof which === 'string' && MAC_RE.test(which);
    const vif = io?.vifs.find((v) => v.front instanceof Netfront && (byMac ? macString(v.mac) === (which as string).toLowerCase() : String(v.index) === String(which)));
    if (!io || !vif) {
      const have = io?.vifs.filter((v) => v.front instanceof Netfront).map((v) => `${v.index} (${macString(v.mac)})`).join(', ');
      return { ok: false, message: `Unknown device ${which}: ${fe.name}'s vifs are ${have || '(none)'}` };
    }
    const fdir = this.io.vifFrontDir(fe, vif.index);
    if (this.removing.has(fdir)) return { ok: false, message: `vif ${vif.index} is already being removed` };
    const front = vif.front as Netfront;
    const started = this.remove(fe, 'network-detach', fdir, front.backend.dir, () => {
      front.remove();
      const i = io.vifs.indexOf(vif);
      if (i >= 0) io.vifs.splice(i, 1);
      io.retired.vifs.push(vif);
    });
    return { ok: true, message: `vif ${vif.index} (${macString(vif.mac)}) of ${fe.name}: ${started}` };
  }

  /**
   * libxl__initiate_device_generic_remove, then libxl__device_destroy. `unplug` is the frontend
   * kernel's xenbus removing its device when its directory goes. Returns what was started.
   */
  private remove(fe: Vm, what: RemovalNote['do'], fdir: string, bdir: string | null, unplug: () => void): string {
    const io = this.io;
    const xs = io.dom0Xs;
    const gone = () => {
      // The frontend's xenbus sees its device node removed: the driver's remove runs on its vCPU.
      if (!io.isLive(fe)) return;
      io.post(fe.domid, () => {
        unplug();
        // A frontend that was still connected (a forced removal) wrote its state on the way out.
        io.toolstackRm(fdir);
      });
    };
    const state = bdir === null ? null : io.toolstackRead(`${bdir}/state`);
    if (bdir === null || state === null) {
      // "backend … already removed, cleanup frontend only".
      io.toolstackRm(fdir);
      gone();
      return 'backend already gone; frontend removed';
    }
    this.removing.add(fdir);
    xs.write(`${bdir}/online`, '0');
    if (Number(state) !== XenbusStateClosed) xs.write(`${bdir}/state`, String(XenbusStateClosing));
    const token = `libxl-remove:${fdir}`;
    let timer = -1;
    const finish = (forced: boolean) => {
      if (!this.removing.delete(fdir)) return;
      io.toolstackUnwatch(`${bdir}/state`, token);
      io.queue.cancel(timer);
      io.toolstackRm(bdir);
      io.toolstackRm(fdir);
      gone();
      if (forced) this.onForced?.({ domain: fe, do: what, message: `${fdir}: the backend did not reach Closed within ${LIBXL_DESTROY_TIMEOUT} s; libxl removed both directories by force` });
    };
    // libxl__ev_devstate_wait for XenbusStateClosed (a vanished node counts as done).
    io.toolstackWatch(`${bdir}/state`, token, () => {
      const s = io.toolstackRead(`${bdir}/state`);
      if (s === null || Number(s) === XenbusStateClosed) finish(false);
    });
    timer = io.queue.push(this.clock.now() + LIBXL_DESTROY_TIMEOUT * this.clock.cyclesPerSecond, () => finish(true));
    return `backend ${bdir} asked to close (online 0, state Closing)`;
  }
}

/** One hot-plug action and what it names (a timeline entry's fields, xl's arguments parsed). */
export type HotplugAction =
  | { do: 'pci-attach' | 'pci-detach'; device: string }
  | { do: 'block-attach'; disk: VdiskConfig }
  | { do: 'block-detach'; vdev: string }
  | { do: 'network-attach'; vif: VifConfig }
  | { do: 'network-detach'; devid?: number; mac?: string };

export const HOTPLUG_ACTIONS = ['pci-attach', 'pci-detach', 'block-attach', 'block-detach', 'network-attach', 'network-detach'] as const;

export function isHotplugAction(kind: string): kind is HotplugAction['do'] {
  return (HOTPLUG_ACTIONS as readonly string[]).includes(kind);
}

/** Runs one action on a live domain. */
export function runHotplug(h: Hotplug, vm: Vm, a: HotplugAction): HotplugResult {
  switch (a.do) {
    case 'pci-attach':
      return h.pciAttach(vm, a.device);
    case 'pci-detach':
      return h.pciDetach(vm, a.device);
    case 'block-attach':
      return h.blockAttach(vm, a.disk);
    case 'block-detach':
      return h.blockDetach(vm, a.vdev);
    case 'network-attach':
      return h.networkAttach(vm, a.vif);
    case 'network-detach':
      return h.networkDetach(vm, a.mac ?? a.devid ?? -1);
  }
}

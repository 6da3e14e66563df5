/**
 * The scenario form's I/O parts (issue 12) as data: the machine's devices, which domain owns
 * which (`pci`), a domain's virtual disks and the timeline, read from and written into the
 * scenario in place, and which problem paths their fields show.
 */
import { DEFAULT_DOM0, type ScenarioInput } from '../../../../core/api/index.js';
import { canonicalBdf, defaultBdf, TIMELINE_ACTION_FIELDS, TIMELINE_ACTIONS } from '../../../../core/api/ioScenario.js';
import { isObj, type Obj } from './edit.js';

export { TIMELINE_ACTION_FIELDS, TIMELINE_ACTIONS };

/** machine.devices as listed (entries that are not objects kept, so problems still find them). */
export function devicesOf(s: ScenarioInput): unknown[] {
  const m = (s as unknown as Obj).machine;
  return isObj(m) && Array.isArray(m.devices) ? m.devices : [];
}

/** Ids of the disk devices, in order, each once (a duplicate id is the Devices section's problem). */
export function diskIds(s: ScenarioInput): string[] {
  return [...new Set(devicesOf(s).flatMap((d) => (isObj(d) && d.kind === 'disk' && typeof d.id === 'string' ? [d.id] : [])))];
}

/** The PCI address a device has, or gets by default (the i-th listed: 0000:03:i.0). */
export function bdfOf(dev: unknown, i: number): string {
  const given = isObj(dev) && typeof dev.bdf === 'string' ? canonicalBdf(dev.bdf) : null;
  return given ?? defaultBdf(i);
}

/** Ids of the NICs, in order, each once. */
export function nicIds(s: ScenarioInput): string[] {
  return [...new Set(devicesOf(s).flatMap((d) => (isObj(d) && d.kind === 'nic' && typeof d.id === 'string' ? [d.id] : [])))];
}

/** Appends a device of `kind` named disk0, disk1 … or nic0, nic1 … (the first free), with the defaults. */
function addDevice(s: ScenarioInput, kind: 'disk' | 'nic'): void {
  const root = s as unknown as Obj;
  if (!isObj(root.machine)) root.machine = {};
  const m = root.machine as Obj;
  if (!Array.isArray(m.devices)) m.devices = [];
  const taken = devicesOf(s).map((d) => (isObj(d) ? d.id : undefined));
  let id = `${kind}0`;
  for (let n = 0; taken.includes(id); n++) id = `${kind}${n}`;
  (m.devices as unknown[]).push(kind === 'disk' ? { id, kind, sizeMiB: 512 } : { id, kind });
}

/** Appends a disk named disk0, disk1 … (the first free), 512 MiB, write cache on (the defaults). */
export function addDisk(s: ScenarioInput): void {
  addDevice(s, 'disk');
}

/** Appends a NIC named nic0, nic1 … (the first free), 1000 Mb/s (the default). */
export function addNic(s: ScenarioInput): void {
  addDevice(s, 'nic');
}

/** A new vif on the first NIC, bridged by whoever owns it (dom0 by default). */
export function addVif(s: ScenarioInput, d: Obj): void {
  const devs = devicesOf(s);
  const i = devs.findIndex((x) => isObj(x) && x.kind === 'nic');
  const dev = devs[i];
  const vif: Obj = { device: isObj(dev) && typeof dev.id === 'string' ? dev.id : 'nic0' };
  const owner = i < 0 ? undefined : (s.domains ?? []).find((o) => isObj(o) && o !== d && pciIndex(o, dev, i) >= 0);
  if (isObj(owner) && typeof owner.name === 'string') vif.backend = owner.name;
  d.vifs = [...(Array.isArray(d.vifs) ? d.vifs : []), vif];
}

export function removeVif(d: Obj, j: number): void {
  const keep = (d.vifs as unknown[]).filter((_, k) => k !== j);
  if (keep.length) d.vifs = keep;
  else delete d.vifs;
}

/**
 * Removes device `i`; the domains' pci entries naming it (by id or address) go too, and the
 * field is dropped when it was the last. Virtual disks on it stay, so the form says they have no device.
 */
export function removeDevice(s: ScenarioInput, i: number): void {
  const devs = devicesOf(s);
  const dev = devs[i];
  const id = isObj(dev) ? dev.id : undefined;
  const bdf = bdfOf(dev, i);
  devs.splice(i, 1);
  if (devs.length === 0) delete ((s as unknown as Obj).machine as Obj).devices;
  for (const dom of s.domains ?? []) {
    const d = dom as unknown as Obj;
    if (!isObj(d) || !Array.isArray(d.pci)) continue;
    const keep = (d.pci as unknown[]).filter((r) => r !== id && (typeof r !== 'string' || canonicalBdf(r) !== bdf));
    if (keep.length) d.pci = keep;
    else delete d.pci;
  }
}

/** Where in domain `d`'s pci the device is named (by id or by address), or -1. */
export function pciIndex(d: Obj, dev: unknown, i: number): number {
  if (!Array.isArray(d.pci)) return -1;
  const id = isObj(dev) ? dev.id : undefined;
  const bdf = bdfOf(dev, i);
  return (d.pci as unknown[]).findIndex((r) => r === id || (typeof r === 'string' && canonicalBdf(r) === bdf));
}

/** Makes domain `d` own the device (its id in pci) or not. */
export function setOwns(d: Obj, dev: unknown, i: number, on: boolean): void {
  const at = pciIndex(d, dev, i);
  if (on && at < 0) {
    const id = isObj(dev) && typeof dev.id === 'string' ? dev.id : bdfOf(dev, i);
    d.pci = [...(Array.isArray(d.pci) ? d.pci : []), id];
  } else if (!on && at >= 0) {
    const keep = (d.pci as unknown[]).filter((_, k) => k !== at);
    if (keep.length) d.pci = keep;
    else delete d.pci;
  }
}

/** pci entries that name no device on the machine (shown as text, so their problem has a field). */
export function strayPci(d: Obj, s: ScenarioInput): { ref: unknown; j: number }[] {
  if (!Array.isArray(d.pci)) return [];
  const devs = devicesOf(s);
  return (d.pci as unknown[]).flatMap((ref, j) => (devs.some((dev, i) => pciIndex({ pci: [ref] }, dev, i) === 0) ? [] : [{ ref, j }]));
}

/** Names a disk's backend may be: every listed domain and, under Xen without a listed dom0, Domain-0. */
export function backendNames(s: ScenarioInput): string[] {
  // Each once: two domains with one name are the domain list's problem, not a select's.
  const names = (s.domains ?? []).flatMap((d) => (isObj(d) && typeof d.name === 'string' && d.name ? [d.name] : []));
  const dom0 = (s.domains ?? []).find((d) => isObj(d) && d.role === 'dom0');
  if (s.hypervisor === 'xen' && !dom0) names.unshift(DEFAULT_DOM0.name);
  return [...new Set(names)];
}

/** The scenario's dom0 name (listed or Xen's default). */
export function dom0Name(s: ScenarioInput): string {
  const dom0 = (s.domains ?? []).find((d) => isObj(d) && d.role === 'dom0');
  return isObj(dom0) && typeof dom0.name === 'string' ? dom0.name : DEFAULT_DOM0.name;
}

/** The first xvdX the domain does not use yet. */
export function nextVdev(d: Obj): string {
  const used = new Set((Array.isArray(d.disks) ? d.disks : []).map((x) => (isObj(x) ? x.vdev : undefined)));
  for (let c = 0; c < 26; c++) {
    const v = `xvd${String.fromCharCode(97 + c)}`;
    if (!used.has(v)) return v;
  }
  return 'xvda';
}

/**
 * A new virtual disk on the first disk device no virtual disk uses yet (a disk backs one: xl
 * refuses a device in use), else the first disk; served by whoever owns it (dom0 by default).
 */
export function addVdisk(s: ScenarioInput, d: Obj): void {
  const devs = devicesOf(s);
  const used = new Set<unknown>();
  for (const o of s.domains ?? []) if (isObj(o) && Array.isArray(o.disks)) for (const v of o.disks) if (isObj(v)) used.add(v.device);
  const free = devs.findIndex((x) => isObj(x) && x.kind === 'disk' && !used.has(x.id));
  const i = free >= 0 ? free : devs.findIndex((x) => isObj(x) && x.kind === 'disk');
  const dev = devs[i];
  const disk: Obj = { device: isObj(dev) && typeof dev.id === 'string' ? dev.id : 'disk0', vdev: nextVdev(d) };
  const owner = i < 0 ? undefined : (s.domains ?? []).find((o) => isObj(o) && o !== d && pciIndex(o, dev, i) >= 0);
  if (isObj(owner) && typeof owner.name === 'string') disk.backend = owner.name;
  d.disks = [...(Array.isArray(d.disks) ? d.disks : []), disk];
}

export function removeVdisk(d: Obj, j: number): void {
  const keep = (d.disks as unknown[]).filter((_, k) => k !== j);
  if (keep.length) d.disks = keep;
  else delete d.disks;
}

/** A new timeline row: 10 ms after the last, destroying the first domain that is not dom0. */
export function addTimelineRow(s: ScenarioInput): void {
  const root = s as unknown as Obj;
  if (!Array.isArray(root.timeline)) root.timeline = [];
  const rows = root.timeline as unknown[];
  const last = rows.map((r) => (isObj(r) && typeof r.atMs === 'number' ? r.atMs : 0)).reduce((a, b) => Math.max(a, b), 0);
  const target = (s.domains ?? []).find((d) => isObj(d) && d.role !== 'dom0');
  rows.push({ atMs: rows.length ? last + 10 : 10, do: 'destroy', domain: isObj(target) && typeof target.name === 'string' ? target.name : '' });
}

export function removeTimelineRow(s: ScenarioInput, k: number): void {
  const root = s as unknown as Obj;
  const rows = (root.timeline as unknown[]).filter((_, j) => j !== k);
  if (rows.length) root.timeline = rows;
  else delete root.timeline;
}

const DEVICE_FIELD = /^machine\.devices(\[\d+\](\.(id|kind|bdf|sizeMiB|writeCache|linkMbps))?)?$/;
const TIMELINE_FIELD = /^timeline(\[\d+\](\.(atMs|do|domain|device|vdev|devid|mac|memoryMiB|disk(\.(backend|device|vdev))?|vif(\.(backend|device|mac|rx))?))?)?$/;

/** Whether a scenario-level problem path is shown by the Devices or Timeline section. */
export function ioClaims(path: string): boolean {
  return DEVICE_FIELD.test(path) || TIMELINE_FIELD.test(path);
}

/** The paths a domain card's I/O fields show, for domain `i`. */
export function ioDomainPaths(d: Obj, i: number): string[] {
  const at = (f: string) => `domains[${i}].${f}`;
  const out = [at('pci'), at('disks'), at('vifs')];
  if (Array.isArray(d.pci)) (d.pci as unknown[]).forEach((_, j) => out.push(at(`pci[${j}]`)));
  if (Array.isArray(d.disks)) (d.disks as unknown[]).forEach((_, j) => out.push(at(`disks[${j}]`), at(`disks[${j}].backend`), at(`disks[${j}].device`), at(`disks[${j}].vdev`)));
  if (Array.isArray(d.vifs)) (d.vifs as unknown[]).forEach((_, j) => out.push(at(`vifs[${j}]`), at(`vifs[${j}].backend`), at(`vifs[${j}].device`), at(`vifs[${j}].mac`), at(`vifs[${j}].rx`)));
  return out;
}

/** Whether the I/O sections are shown: under Xen, or when the scenario has I/O fields (so their problems show). */
export function showsIo(s: ScenarioInput): boolean {
  const root = s as unknown as Obj;
  return s.hypervisor === 'xen' || devicesOf(s).length > 0 || Array.isArray(root.timeline) || (s.domains ?? []).some((d) => isObj(d) && (d.pci !== undefined || d.disks !== undefined || d.vifs !== undefined));
}



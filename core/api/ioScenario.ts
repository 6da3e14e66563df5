/**
 * The I/O half of the scenario format (DESIGN.md §6, issue 12): devices on the machine's PCI bus,
 * which domain owns each (`pci`), the virtual disks a guest has and the domain that serves each
 * (`disks[].backend`, any domain: a driver domain or dom0), and a timeline of actions at simulated
 * times (destroy a driver domain mid-stream, create it again).
 */
import { z } from 'zod';

const int = (min: number, max: number) => z.number().int().min(min).max(max);

/** A PCI address as xl writes it: "0000:03:00.0" or the short "03:00.0". */
export const BDF_RE = /^(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{2}):([01][0-9a-fA-F])\.([0-7])$/;

export const DEVICE_KINDS = ['disk', 'nic'] as const;

export const deviceSchema = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'a lowercase letter followed by up to 31 lowercase letters, digits, "_" or "-"'),
  kind: z.enum(DEVICE_KINDS),
  /** PCI address; default 0000:03:NN.0 in the order listed. */
  bdf: z.string().regex(BDF_RE, 'a PCI address such as "0000:03:00.0" (segment:bus:device.function) or "03:00.0"').optional(),
  /** Disk capacity. */
  sizeMiB: int(1, 1_048_576).optional(),
  /** The disk's volatile write cache (NVMe Volatile Write Cache); default on. */
  writeCache: z.boolean().optional(),
  /** A NIC's link speed in Mb/s (default 1000, the 82540EM's gigabit). */
  linkMbps: z.number().min(1).max(100_000).optional(),
});
export type DeviceConfig = z.infer<typeof deviceSchema>;

export const vdiskSchema = z.strictObject({
  /** The domain whose kernel runs blkback for this disk (default dom0). */
  backend: z.string().min(1).max(32).optional(),
  /** The machine device (its id in machine.devices) behind the virtual disk. */
  device: z.string().min(1).max(32),
  /** The guest's name for it (Linux's xvdX). */
  vdev: z.string().regex(/^xvd[a-z]$/, 'xvda … xvdz').default('xvda'),
  /**
   * Persistent grants (blkif.h `feature-persistent`, both ends; Linux's xen-blkfront and
   * xen-blkback `feature_persistent` module parameters): the frontend grants a pool of pages once
   * and copies each request's data through them; the backend maps each pool grant once and keeps
   * it, so a driver domain's IOMMU table gains the entries once instead of a map, an unmap and an
   * IOTLB flush per page per request. Default false: the lab's blkback maps each request's own
   * pages (zero copy), the path whose IOMMU cost per request this option is compared against
   * (Linux has defaulted to true since 3.8).
   */
  persistent: z.boolean().optional(),
});
export type VdiskConfig = z.infer<typeof vdiskSchema>;

/** A unicast MAC address, six hex octets separated by ":" (xl's mac=). */
export const MAC_RE = /^[0-9a-fA-F][02468aceACE](?::[0-9a-fA-F]{2}){5}$/;

export const vifSchema = z.strictObject({
  /** The domain whose kernel runs netback for this vif (default dom0). */
  backend: z.string().min(1).max(32).optional(),
  /** The machine NIC (its id in machine.devices) the backend's bridge connects the vif to. */
  device: z.string().min(1).max(32),
  /** The vif's MAC address; default 00:16:3e:… (Xen's OUI) derived from the domain's name and the vif's index. */
  mac: z.string().regex(MAC_RE, 'a unicast MAC address such as "00:16:3e:01:02:03" (the first octet even)').optional(),
  /**
   * How frames reach the guest: "copy" (default: netback grant-copies each frame into a page the
   * guest posted, as Xen has done since 3.0.4) or "flip" (the guest gives its buffer frames back to
   * Xen and netback transfers the frame the NIC wrote into, GNTTABOP_transfer, as Xen 2.0–3.0.3 did;
   * netfront's rx_flip). Flipping needs a PV guest.
   */
  rx: z.enum(['copy', 'flip'], { error: 'must be "copy" (grant copy) or "flip" (page flipping)' }).optional(),
});
export type VifConfig = z.infer<typeof vifSchema>;

export const TIMELINE_ACTIONS = [
  'destroy',
  'create',
  'pause',
  'unpause',
  'pci-attach',
  'pci-detach',
  'block-attach',
  'block-detach',
  'network-attach',
  'network-detach',
  'relocate',
  'migrate',
  'mem-set',
] as const;
export type TimelineActionKind = (typeof TIMELINE_ACTIONS)[number];

/** The fields each action takes beyond atMs, do and domain (the hot-plug actions of xl(1)). */
export const TIMELINE_ACTION_FIELDS: Record<TimelineActionKind, readonly ('device' | 'disk' | 'vdev' | 'vif' | 'devid' | 'mac' | 'pages' | 'cooperative' | 'memoryMiB')[]> = {
  destroy: [],
  create: [],
  pause: [],
  unpause: [],
  'pci-attach': ['device'],
  'pci-detach': ['device'],
  'block-attach': ['disk'],
  'block-detach': ['vdev'],
  'network-attach': ['vif'],
  'network-detach': ['devid', 'mac'],
  relocate: ['pages', 'cooperative'],
  migrate: [],
  'mem-set': ['memoryMiB'],
};

/**
 * One timeline entry. The hot-plug actions carry what `xl` would be given: `device` (pci-attach,
 * pci-detach: a machine device by id or PCI address), `disk` (block-attach: as a domain's disks),
 * `vdev` (block-detach), `vif` (network-attach: as a domain's vifs), `devid` or `mac`
 * (network-detach). Which field belongs to which action is checked by ioProblems, at the field.
 */
export const timelineEntrySchema = z.strictObject({
  atMs: z.number().min(0).max(3_600_000),
  do: z.enum(TIMELINE_ACTIONS),
  domain: z.string().min(1).max(32),
  device: z.string().min(1).max(32).optional(),
  disk: vdiskSchema.optional(),
  vdev: z.string().regex(/^xvd[a-z]$/, 'xvda … xvdz').optional(),
  vif: vifSchema.optional(),
  /** A vif's index (its devid, the N of /local/domain/<id>/device/vif/N). */
  devid: int(0, 255).optional(),
  mac: z.string().regex(MAC_RE, 'a unicast MAC address such as "00:16:3e:01:02:03" (the first octet even)').optional(),
  /** relocate: how many of the domain's pages Xen is asked to move to other machine frames. */
  pages: int(1, 1_048_576).optional(),
  /** relocate: whether a PV guest cooperates (moves its pages itself through the ABI); default false. */
  cooperative: z.boolean().optional(),
  /** mem-set: the domain's new memory target in MiB (xl mem-set; written to memory/target in KiB). */
  memoryMiB: z.number().int('a whole number of MiB').min(1, 'at least 1 MiB').max(1_048_576).optional(),
});
export type TimelineEntry = z.infer<typeof timelineEntrySchema>;

/** Default PCI address of the i-th listed device without one. */
export function defaultBdf(i: number): string {
  return `0000:03:${i.toString(16).padStart(2, '0')}.0`;
}

/** "03:00.0" → "0000:03:00.0" (lowercase), or null when it is not a PCI address. */
export function canonicalBdf(s: string): string | null {
  const m = BDF_RE.exec(s);
  if (!m) return null;
  return `${(m[1] ?? '0000').toLowerCase()}:${m[2]!.toLowerCase()}:${m[3]!.toLowerCase()}.${m[4]}`;
}

export interface IoProblem {
  path: string;
  message: string;
}

interface IoDomain {
  name?: string;
  role?: 'dom0' | 'guest';
  mode?: string;
  pci?: string[];
  disks?: VdiskConfig[];
  /** A hole (undefined) is a vif that failed its own schema check. */
  vifs?: (VifConfig | undefined)[];
  workloadKind?: string;
  /** Its memory at boot and its maxmem (mem-set's ceiling), in MiB. */
  memoryMiB?: number;
  maxMemoryMiB?: number;
  /** rogue-dma: the domain it aims at. */
  victim?: string;
}

/** A machine device of `kind` named `ref`, or the problem at `path` listing the ones there are. */
function deviceOfKind(byId: Map<string, DeviceConfig>, ref: string, kind: 'disk' | 'nic', path: string, out: IoProblem[]): DeviceConfig | undefined {
  const dev = byId.get(ref);
  if (dev && dev.kind === kind) return dev;
  const have = [...byId.values()].filter((x) => x.kind === kind).map((x) => x.id);
  out.push({ path, message: `no ${kind} device "${ref}" in machine.devices; ${kind}s: ${have.join(', ') || `(none: add {"id": "${kind}0", "kind": "${kind}"})`}` });
  return undefined;
}

/** A vif's MAC seen twice in one domain. */
function macProblem(macs: Set<string>, mac: string | undefined, domain: string | undefined, path: string, out: IoProblem[]): void {
  if (mac === undefined) return;
  if (macs.has(mac.toLowerCase())) out.push({ path, message: `${mac} is already one of ${domain ?? 'this domain'}'s vifs` });
  macs.add(mac.toLowerCase());
}

/** Under `kvm`, who serves a virtual device: qemu (default), or for a vif the host's vhost-net. */
export const VIRTIO_BACKENDS = ['qemu', 'vhost'] as const;
export type VirtioBackend = (typeof VIRTIO_BACKENDS)[number];

/**
 * Devices under KVM: the machine's devices belong to the host (its kernel drives them), so a
 * guest owns none (no pci); its disks and vifs are virtio functions of its qemu, each on a machine
 * device of the right kind, a disk backing one guest's disk.
 */
function kvmDeviceProblems(domains: IoDomain[], byId: Map<string, DeviceConfig>): IoProblem[] {
  const out: IoProblem[] = [];
  const backing = new Map<string, string>();
  domains.forEach((d, i) => {
    if (d.pci?.length) {
      out.push({ path: `domains[${i}].pci`, message: 'under KVM the host kernel drives the machine\'s devices (device passthrough, VFIO, is not modelled): give the guest a virtio disk ("disks") instead' });
    }
    const vdevs = new Set<string>();
    d.disks?.forEach((vd, j) => {
      const at = (f: string) => `domains[${i}].disks[${j}].${f}`;
      if (vdevs.has(vd.vdev)) out.push({ path: at('vdev'), message: `${vd.vdev} is already one of ${d.name ?? 'this domain'}'s disks` });
      vdevs.add(vd.vdev);
      if (vd.backend === 'vhost') out.push({ path: at('backend'), message: 'vhost serves network devices only (vhost-net); a disk is served by qemu: use "qemu" or leave backend out' });
      else if (vd.backend !== undefined && vd.backend !== 'qemu') out.push({ path: at('backend'), message: `under KVM a disk's backend is "qemu" (the default), not a domain ("${vd.backend}"): there is no dom0 or driver domain` });
      const dev = deviceOfKind(byId, vd.device, 'disk', at('device'), out);
      if (!dev) return;
      const user = backing.get(dev.id);
      if (user !== undefined) out.push({ path: at('device'), message: `device "${dev.id}" already holds ${user}'s image: one guest's disk per device; add a disk to machine.devices` });
      backing.set(dev.id, `${d.name ?? `domains[${i}]`}`);
    });
    const macs = new Set<string>();
    d.vifs?.forEach((vf, j) => {
      if (!vf) return;
      const at = (f: string) => `domains[${i}].vifs[${j}].${f}`;
      if (vf.backend !== undefined && !VIRTIO_BACKENDS.includes(vf.backend as VirtioBackend)) {
        out.push({ path: at('backend'), message: `under KVM a vif's backend is "qemu" (the default) or "vhost" (vhost-net in the host kernel), not a domain ("${vf.backend}")` });
      }
      if (vf.rx !== undefined) out.push({ path: at('rx'), message: 'rx (grant copy or page flipping) is how Xen\'s netback delivers frames; a virtio-net device writes into the guest\'s posted buffers: leave rx out under KVM' });
      macProblem(macs, vf.mac, d.name, at('mac'), out);
      deviceOfKind(byId, vf.device, 'nic', at('device'), out);
    });
    if (d.workloadKind === 'disk-io' && !d.disks?.length) {
      out.push({ path: `domains[${i}].workload`, message: 'the disk-io workload needs a virtual disk: add "disks": [{"device": "<a disk device id>"}] (a virtio-blk disk served by qemu)' });
    }
    if (d.workloadKind === 'rogue-dma') out.push({ path: `domains[${i}].workload`, message: 'the rogue-dma workload is one domain attacking another: it needs hypervisor "xen"' });
    if (d.workloadKind === 'backend-snoop' && !d.disks?.length && !d.vifs?.length) {
      out.push({ path: `domains[${i}].workload`, message: 'the backend-snoop workload needs a device its qemu serves: add "disks": [{"device": "<a disk device id>"}] (virtio-blk) or a vif (virtio-net)' });
    }
    if ((d.workloadKind === 'net-stream' || d.workloadKind === 'net-rr') && !d.vifs?.length) {
      out.push({ path: `domains[${i}].workload`, message: `the ${d.workloadKind} workload needs a vif: add "vifs": [{"device": "<a nic device id>", "backend"?: "qemu" | "vhost"}] (virtio-net)` });
    }
  });
  return out;
}

/**
 * The I/O checks a schema cannot express: devices unique, each owned at most once, every disk
 * backed by an existing disk device that its backend domain owns, actions on known domains.
 * `dom0Name` is the dom0 of the scenario (listed or default).
 */
export function ioProblems(
  hv: string | undefined,
  devices: (DeviceConfig | undefined)[],
  domains: IoDomain[],
  timeline: (TimelineEntry | undefined)[],
  dom0Name: string,
): IoProblem[] {
  const out: IoProblem[] = [];
  const byId = new Map<string, DeviceConfig>();
  const bdfOf = new Map<string, string>();
  const seenBdf = new Map<string, string>();
  devices.forEach((dv, i) => {
    if (!dv) return;
    if (byId.has(dv.id)) out.push({ path: `machine.devices[${i}].id`, message: `duplicate device id "${dv.id}"` });
    byId.set(dv.id, dv);
    const bdf = canonicalBdf(dv.bdf ?? defaultBdf(i))!;
    const other = seenBdf.get(bdf);
    if (other !== undefined) out.push({ path: `machine.devices[${i}].bdf`, message: `PCI address ${bdf} is already device "${other}"'s` });
    seenBdf.set(bdf, dv.id);
    bdfOf.set(dv.id, bdf);
    if (dv.kind === 'nic' && dv.sizeMiB !== undefined) out.push({ path: `machine.devices[${i}].sizeMiB`, message: 'a nic has no capacity: sizeMiB is for disks' });
    if (dv.kind === 'nic' && dv.writeCache !== undefined) out.push({ path: `machine.devices[${i}].writeCache`, message: 'a nic has no write cache: writeCache is for disks' });
    if (dv.kind === 'disk' && dv.linkMbps !== undefined) out.push({ path: `machine.devices[${i}].linkMbps`, message: 'a disk has no link: linkMbps is for nics' });
  });
  const resolve = (ref: string): string | undefined => {
    if (byId.has(ref)) return ref;
    const c = canonicalBdf(ref);
    return c === null ? undefined : seenBdf.get(c);
  };
  if (hv === 'kvm') {
    out.push(...kvmDeviceProblems(domains, byId));
    const kvmNames = new Map<string, IoDomain>();
    for (const d of domains) if (d.name !== undefined) kvmNames.set(d.name, d);
    timeline.forEach((t, i) => {
      if (!t) return;
      const at = (f: string) => `timeline[${i}].${f}`;
      if (!kvmNames.has(t.domain)) out.push({ path: at('domain'), message: `no domain named "${t.domain}"; domains: ${[...kvmNames.keys()].join(', ')}` });
      out.push(...hotplugEntryProblems(t, at, { hv, byId, resolve, names: kvmNames, bdfOf }));
    });
    return out;
  }
  // Virtio backends are KVM's: under Xen a backend names a domain (unless one is called that).
  const domainNames = new Set(domains.map((d) => d.name));
  domains.forEach((d, i) => {
    for (const [k, list] of [['disks', d.disks], ['vifs', d.vifs]] as const) {
      list?.forEach((x, j) => {
        if (x?.backend !== undefined && VIRTIO_BACKENDS.includes(x.backend as VirtioBackend) && !domainNames.has(x.backend)) {
          out.push({ path: `domains[${i}].${k}[${j}].backend`, message: `"${x.backend}" is a KVM virtio backend; under Xen the backend is a domain running ${k === 'disks' ? 'blkback' : 'netback'} (default dom0): name a domain, or use hypervisor "kvm"` });
        }
      });
    }
  });
  // Bare metal: the one native domain drives the devices itself; there is no backend to serve a virtual disk.
  if (hv === 'none') {
    domains.forEach((d, i) => {
      if (d.disks?.length) out.push({ path: `domains[${i}].disks`, message: 'bare metal has no split drivers: the native domain drives the disk itself (list it in pci and run disk-io)' });
      if (d.vifs?.length) out.push({ path: `domains[${i}].vifs`, message: 'bare metal has no split drivers: the native domain drives the NIC itself (list it in pci and run net-stream or net-rr)' });
    });
  }
  const owner = new Map<string, string>();
  domains.forEach((d, i) => {
    d.pci?.forEach((ref, j) => {
      const id = resolve(ref);
      if (id === undefined) {
        const known = [...byId.keys()].map((k) => `${k} (${bdfOf.get(k)})`).join(', ') || '(none)';
        out.push({ path: `domains[${i}].pci[${j}]`, message: `no device "${ref}" on the machine; devices: ${known}` });
        return;
      }
      const prev = owner.get(id);
      if (prev !== undefined && prev === d.name) out.push({ path: `domains[${i}].pci[${j}]`, message: `device "${id}" is listed twice in this domain's pci (as "${ref}")` });
      else if (prev !== undefined) out.push({ path: `domains[${i}].pci[${j}]`, message: `device "${id}" is already owned by ${prev}: a device has one owner` });
      else if (d.name !== undefined) owner.set(id, d.name);
    });
  });
  const names = new Map<string, IoDomain>();
  for (const d of domains) if (d.name !== undefined) names.set(d.name, d);
  if (hv === 'xen' && !domains.some((d) => d.role === 'dom0')) names.set(dom0Name, { name: dom0Name, role: 'dom0', mode: 'pv' });
  const ownerOf = (id: string) => owner.get(id) ?? dom0Name;
  /** Device → the virtual disk already on it: a disk backs one writable virtual disk (xl refuses a device in use). */
  const backing = new Map<string, string>();
  domains.forEach((d, i) => {
    const vdevs = new Set<string>();
    d.disks?.forEach((vd, j) => {
      const at = (f: string) => `domains[${i}].disks[${j}].${f}`;
      if (vdevs.has(vd.vdev)) out.push({ path: at('vdev'), message: `${vd.vdev} is already one of ${d.name ?? 'this domain'}'s disks` });
      vdevs.add(vd.vdev);
      const dev = deviceOfKind(byId, vd.device, 'disk', at('device'), out);
      if (!dev) return;
      const user = backing.get(dev.id);
      if (user !== undefined) {
        out.push({ path: at('device'), message: `device "${dev.id}" already backs ${user}: a disk serves one guest's virtual disk (xl refuses a device in use); add a disk to machine.devices` });
      }
      backing.set(dev.id, `${d.name ?? `domains[${i}]`}'s ${vd.vdev}`);
      const backend = vd.backend ?? dom0Name;
      const be = names.get(backend);
      if (!be) {
        out.push({ path: at('backend'), message: `no domain named "${backend}" to serve this disk; domains: ${[...names.keys()].join(', ')}` });
        return;
      }
      if (backend === d.name) out.push({ path: at('backend'), message: 'a domain cannot be the backend of its own disk' });
      // A translated (hap, shadow) blkback maps each request's pages at gfns above its RAM, and its
      // disk DMAs to them by gfn through its IOMMU table (core/hv/passthrough/), so any Xen mode serves disks.
      if (be.mode === 'native') {
        out.push({ path: at('backend'), message: `backend "${backend}" runs in mode "native"; a Xen driver domain runs "pv", "hap" or "shadow"` });
      }
      if (ownerOf(dev.id) !== backend) {
        out.push({ path: at('backend'), message: `backend "${backend}" does not own device "${dev.id}" (${ownerOf(dev.id)} does): list "${dev.id}" in ${backend}'s pci` });
      }
    });
    const macs = new Set<string>();
    d.vifs?.forEach((vf, j) => {
      if (!vf || hv === 'none') return;
      const at = (f: string) => `domains[${i}].vifs[${j}].${f}`;
      macProblem(macs, vf.mac, d.name, at('mac'), out);
      const dev = deviceOfKind(byId, vf.device, 'nic', at('device'), out);
      if (!dev) return;
      const backend = vf.backend ?? dom0Name;
      const be = names.get(backend);
      if (!be) {
        out.push({ path: at('backend'), message: `no domain named "${backend}" to serve this vif; domains: ${[...names.keys()].join(', ')}` });
        return;
      }
      if (backend === d.name) out.push({ path: at('backend'), message: 'a domain cannot be the backend of its own vif' });
      if (vf.rx === 'flip' && d.mode !== undefined && d.mode !== 'pv') {
        out.push({ path: at('rx'), message: `page flipping needs a PV guest (its kernel rewrites its own p2m and direct map when frames change); ${d.name ?? 'this domain'} runs in mode "${d.mode}": use "copy"` });
      }
      if (be.mode !== undefined && be.mode !== 'pv') {
        out.push({ path: at('backend'), message: `backend "${backend}" runs in mode "${be.mode}"; the lab's driver domains run a PV kernel (netback grant-copies from its own frames by machine frame number), so give it mode "pv"` });
      }
      if (ownerOf(dev.id) !== backend) {
        out.push({ path: at('backend'), message: `backend "${backend}" does not own device "${dev.id}" (${ownerOf(dev.id)} does): list "${dev.id}" in ${backend}'s pci` });
      }
    });
    const ownsNic = d.name !== undefined && [...owner].some(([id, o]) => o === d.name && byId.get(id)?.kind === 'nic');
    // A domain that owns a NIC uses it itself (bare metal; dom0 or a driver domain on its bridge).
    const ownsNicToo = ownsNic || (hv === 'xen' && d.role === 'dom0' && [...byId.values()].some((x) => x.kind === 'nic' && ownerOf(x.id) === d.name));
    if ((d.workloadKind === 'net-stream' || d.workloadKind === 'net-rr') && !d.vifs?.length && !ownsNicToo) {
      out.push({
        path: `domains[${i}].workload`,
        message: hv === 'none' ? `the ${d.workloadKind} workload needs a NIC: list a nic device in this domain's pci` : `the ${d.workloadKind} workload needs a vif: add "vifs": [{"device": "<a nic device id>"}], or a NIC of its own (pci)`,
      });
    }
    const ownsDisk = d.name !== undefined && [...owner].some(([id, o]) => o === d.name && byId.get(id)?.kind === 'disk');
    if (d.workloadKind === 'rogue-dma') {
      const at = `domains[${i}].workload`;
      if (hv !== 'xen') out.push({ path: at, message: 'the rogue-dma workload is one domain attacking another: it needs hypervisor "xen"' });
      else if (!ownsDisk) out.push({ path: at, message: 'the rogue-dma workload needs a device to program: list a disk device in this domain\'s pci' });
      if (hv === 'xen' && d.victim !== undefined) {
        if (d.victim === d.name) out.push({ path: `${at}.victim`, message: 'a domain cannot be its own victim: name another domain' });
        else if (!names.has(d.victim)) out.push({ path: `${at}.victim`, message: `no domain named "${d.victim}"; domains: ${[...names.keys()].join(', ')}` });
      }
    }
    if (d.workloadKind === 'backend-snoop' && (hv === 'none' || (!d.disks?.length && !d.vifs?.length))) {
      out.push({
        path: `domains[${i}].workload`,
        message: hv === 'none' ? 'the backend-snoop workload needs a backend, and bare metal has none: use hypervisor "xen" (blkback, netback) or "kvm" (qemu)' : 'the backend-snoop workload needs a split-driver device whose backend does the snooping: add "disks": [{"device": "<a disk device id>"}] or a vif',
      });
    }
    // Under Xen a domain that owns a disk by passthrough drives it itself, as on bare metal.
    if (d.workloadKind === 'disk-io' && !d.disks?.length && !ownsDisk) {
      out.push({
        path: `domains[${i}].workload`,
        message: hv === 'none' ? 'the disk-io workload needs a disk: list a disk device in this domain\'s pci' : 'the disk-io workload needs a virtual disk: add "disks": [{"device": "<a disk device id>"}], or a disk of its own (pci)',
      });
    }
  });
  timeline.forEach((t, i) => {
    if (!t) return;
    const at = (f: string) => `timeline[${i}].${f}`;
    const d = names.get(t.domain);
    if (!d) out.push({ path: at('domain'), message: `no domain named "${t.domain}"; domains: ${[...names.keys()].join(', ')}` });
    else if (d.role === 'dom0' && (t.do === 'destroy' || t.do === 'create')) out.push({ path: at('do'), message: `dom0 cannot be ${t.do === 'destroy' ? 'destroyed' : 'created'}: it runs the toolstack` });
    out.push(...hotplugEntryProblems(t, at, { hv, byId, resolve, names, bdfOf }));
  });
  return out;
}

interface HotplugContext {
  hv: string | undefined;
  byId: Map<string, DeviceConfig>;
  resolve(ref: string): string | undefined;
  names: Map<string, IoDomain>;
  bdfOf: Map<string, string>;
}

const FIELD_HELP: Record<'device' | 'disk' | 'vdev' | 'vif' | 'devid' | 'mac', string> = {
  device: '"device": a machine device by id or PCI address (e.g. "disk0" or "0000:03:00.0")',
  disk: '"disk": {"device": "<a disk device id>", "backend"?: "<domain>", "vdev"?: "xvdb"}',
  vdev: '"vdev": the virtual disk to remove (e.g. "xvdb")',
  vif: '"vif": {"device": "<a nic device id>", "backend"?: "<domain>", "mac"?: "00:16:3e:…"}',
  devid: '"devid": the vif\'s index',
  mac: '"mac": the vif\'s MAC address',
};

/**
 * A timeline entry's own fields: each hot-plug action has what it needs and nothing another
 * action takes; the devices and backend domains it names exist. Whether the action can run
 * (the device free, the disk not already there) depends on the run and is its timeline record's.
 */
function hotplugEntryProblems(t: TimelineEntry, at: (f: string) => string, x: HotplugContext): IoProblem[] {
  const out: IoProblem[] = [];
  const allowed = TIMELINE_ACTION_FIELDS[t.do];
  for (const f of ['device', 'disk', 'vdev', 'vif', 'devid', 'mac', 'pages', 'cooperative', 'memoryMiB'] as const) {
    if (t[f] === undefined || allowed.includes(f)) continue;
    const owner = TIMELINE_ACTIONS.filter((a) => TIMELINE_ACTION_FIELDS[a].includes(f)).join(' or ');
    out.push({ path: at(f), message: `"${f}" belongs to ${owner}, not ${t.do}${allowed.length ? `, which takes ${allowed.map((a) => `"${a}"`).join(' or ')}` : ', which takes only atMs, do and domain'}` });
  }
  if (allowed.length === 0) return out;
  if (t.do === 'mem-set') {
    const d = x.names.get(t.domain);
    const max = d?.maxMemoryMiB ?? d?.memoryMiB;
    if (x.hv !== 'xen') out.push({ path: at('do'), message: `mem-set asks a Xen guest's balloon driver to move: hypervisor "${x.hv ?? '?'}" is not Xen` });
    else if (d?.role === 'dom0') out.push({ path: at('domain'), message: `dom0 is built with all its memory (dom0_mem): mem-set is for guests` });
    else if (d?.mode === 'native') out.push({ path: at('domain'), message: `"${t.domain}" runs native: it has no balloon driver` });
    if (t.memoryMiB === undefined) {
      out.push({ path: at('memoryMiB'), message: `mem-set needs "memoryMiB": the new target, a whole number of MiB from 1 to ${max ?? "the domain's maxMemoryMiB"}` });
    } else if (max !== undefined && t.memoryMiB > max) {
      out.push({ path: at('memoryMiB'), message: `${t.memoryMiB} MiB is above ${t.domain}'s maxmem (${max} MiB${d?.maxMemoryMiB === undefined ? ', its memoryMiB: set maxMemoryMiB to let it grow' : ', its maxMemoryMiB'}): allowed 1 to ${max}` });
    }
    return out;
  }
  if (t.do === 'relocate') {
    if (x.hv !== 'xen') out.push({ path: at('do'), message: `relocate asks Xen to move a domain's pages: hypervisor "${x.hv ?? '?'}" is not Xen` });
    if (t.pages === undefined) out.push({ path: at('pages'), message: 'relocate needs "pages": how many of the domain\'s pages to move (1 to 1048576)' });
    const d = x.names.get(t.domain);
    if (t.cooperative === true && d?.mode !== undefined && d.mode !== 'pv') {
      out.push({ path: at('cooperative'), message: `only a PV guest cooperates in moving its pages; "${t.domain}" runs in mode "${d.mode}", whose pages Xen moves by itself` });
    }
    return out;
  }
  if (x.hv !== 'xen') {
    out.push({ path: at('do'), message: `${t.do} is the Xen toolstack's (xl ${t.do}): hypervisor "${x.hv ?? '?'}" has no hot-plug` });
    return out;
  }
  if (t.do === 'network-detach') {
    if (t.devid === undefined && t.mac === undefined) out.push({ path: at('devid'), message: `network-detach needs ${FIELD_HELP.devid} or ${FIELD_HELP.mac}` });
    else if (t.devid !== undefined && t.mac !== undefined) out.push({ path: at('mac'), message: 'give the vif by "devid" or by "mac", not both' });
    return out;
  }
  const need = allowed[0] as keyof typeof FIELD_HELP;
  if (t[need] === undefined) {
    out.push({ path: at(need), message: `${t.do} needs ${FIELD_HELP[need]}` });
    return out;
  }
  const known = () => [...x.byId.keys()].map((k) => `${k} (${x.bdfOf.get(k)})`).join(', ') || '(none)';
  if (t.device !== undefined && x.resolve(t.device) === undefined) {
    out.push({ path: at('device'), message: `no device "${t.device}" on the machine; devices: ${known()}` });
  }
  const backendOf = (path: string, backend: string | undefined, kind: 'disk' | 'vif') => {
    if (backend === undefined) return;
    const be = x.names.get(backend);
    if (!be) out.push({ path, message: `no domain named "${backend}" to serve this ${kind}; domains: ${[...x.names.keys()].join(', ')}` });
    else if (backend === t.domain) out.push({ path, message: `a domain cannot be the backend of its own ${kind}` });
    else if (kind === 'vif' && be.mode !== undefined && be.mode !== 'pv') out.push({ path, message: `backend "${backend}" runs in mode "${be.mode}"; the lab's driver domains run a PV kernel, so give it mode "pv"` });
  };
  for (const [f, kind] of [['disk', 'disk'], ['vif', 'nic']] as const) {
    const v = t[f];
    if (!v) continue;
    const dev = x.byId.get(v.device);
    if (!dev || dev.kind !== kind) {
      const ofKind = [...x.byId.values()].filter((y) => y.kind === kind).map((y) => y.id);
      out.push({ path: at(`${f}.device`), message: `no ${kind} device "${v.device}" in machine.devices; ${kind}s: ${ofKind.join(', ') || '(none)'}` });
    }
    backendOf(at(`${f}.backend`), v.backend, f);
  }
  return out;
}

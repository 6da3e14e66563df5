/**
 * Domain configs in the xl.cfg syntax Xen users know (xl.cfg(5)), mapped onto Hyperlab's domain
 * schema, and back.
 *
 *   name, memory (MiB), vcpus       as in xl
 *   maxmem (MiB)                    as xl: the most the guest may balloon up to (mem-set)
 *   weight, cap                     the credit scheduler's (xl.cfg(5)): share of a contended pCPU, percent cap
 *   type = "pv" | "hvm" | "pvh"     pv → mode pv; hvm → hap, or shadow with hap = 0; pvh → hap
 *   hap = 0 | 1                     HVM only (default 1, as xl)
 *   builder = "generic" | "hvm"     xl's older spelling of type
 *   shadow_memory (MiB)             the shadow pool, as xl
 * Hyperlab's own keys:
 *   type = "native"                 bare metal, the baseline (no hypervisor)
 *   guest_page_size, host_page_size = "4k" | "2m" | "1g"
 *   shadow_out_of_sync = 0 | 1
 *   shadow_early_unshadow = 0 | 1   Xen's SHOPT_EARLY_UNSHADOW, a build option in Xen
 *   shadow_pool_pages               the shadow pool in pages, when not whole MiB
 *   workload = "random-access workingSetMiB=64 accesses=100000"   (or positional: "random-access 64 100000")
 * I/O (issue 12):
 *   disk = [ "<diskspec>", ... ]    xl's diskspec (docs/misc/xl-disk-configuration.txt, the grammar
 *                                   of tools/libs/util/libxlu_disk_l.l): key=value parameters,
 *                                   flags and positional target, format, vdev, access; `target=`
 *                                   last, eating the rest; deprecated prefixes (`phy:disk0,xvda,w`).
 *                                   The target is a machine device's id (xl's /dev/<id>).
 *   pci = [ "03:00.0", ... ]        devices passed through (a BDF, short or long, or a device id)
 *   driver_domain = 0 | 1           accepted: any domain in the lab may run a backend
 *   vif = [ "<vifspec>", ... ]      xl's vif spec: backend=, bridge= (the NIC's id), mac=
 * backend (a domain-wide key) is read and reported: give each disk and vif its backend=.
 * Any other key is a problem naming its line. As in xl, a later assignment of a key replaces an
 * earlier one (so `xl create file key=value` overrides the file).
 */
import type { z } from 'zod';
import { domainSchema, validateScenario, type DomainConfig, type PagingMode } from './scenario.js';
import { formatWorkload, parseWorkloadArgs } from './workloadSpec.js';
import { BDF_RE, MAC_RE, vdiskSchema, vifSchema, type VdiskConfig, type VifConfig } from './ioScenario.js';
import { formatXlValue, parseXlSyntax, type XlAssignment, type XlProblem, type XlValue } from './xlcfgSyntax.js';

export type { XlProblem } from './xlcfgSyntax.js';

export type XlCfgResult = { ok: true; domain: DomainConfig } | { ok: false; problems: XlProblem[] };

const PAGE_SIZES = ['4k', '2m', '1g'] as const;
const TYPES = ['pv', 'hvm', 'pvh', 'native'] as const;
const DEVICE_KEYS = ['backend'] as const;
export const XLCFG_KEYS = [
  'name',
  'memory',
  'vcpus',
  'type',
  'builder',
  'hap',
  'shadow_memory',
  'shadow_pool_pages',
  'shadow_out_of_sync',
  'shadow_early_unshadow',
  'guest_page_size',
  'host_page_size',
  'workload',
  'disk',
  'vif',
  'pci',
  'driver_domain',
  'weight',
  'cap',
  'maxmem',
  ...DEVICE_KEYS,
] as const;

/** Where a domain field comes from in xl.cfg (for problems found by the domain schema). */
const FIELD_KEY: Record<string, string> = {
  name: 'name',
  memoryMiB: 'memory',
  maxMemoryMiB: 'maxmem',
  vcpus: 'vcpus',
  weight: 'weight',
  cap: 'cap',
  mode: 'type',
  guestPageSize: 'guest_page_size',
  hostPageSize: 'host_page_size',
  shadowOutOfSync: 'shadow_out_of_sync',
  shadowEarlyUnshadow: 'shadow_early_unshadow',
  shadowPoolPages: 'shadow_pool_pages',
  workload: 'workload',
  role: 'type',
  disks: 'disk',
  vifs: 'vif',
  pci: 'pci',
};

/** The xl.cfg key a domain field is written with (`memoryMiB` → `memory`). */
export function xlKeyOfField(field: string): string {
  return FIELD_KEY[field] ?? field;
}

function show(v: XlValue): string {
  return formatXlValue(v);
}

export function parseXlCfg(text: string): XlCfgResult {
  const syntax = parseXlSyntax(text);
  const problems: XlProblem[] = [...syntax.problems];
  const last = new Map<string, XlAssignment>();
  for (const a of syntax.assignments) {
    if (!(XLCFG_KEYS as readonly string[]).includes(a.key)) {
      problems.push({ line: a.line, path: a.key, message: `unknown key "${a.key}"; Hyperlab's xl.cfg knows ${XLCFG_KEYS.join(', ')}` });
      continue;
    }
    last.set(a.key, a);
  }
  const lineOf = (key: string) => last.get(key)?.line ?? 0;
  const problem = (key: string, message: string) => problems.push({ line: lineOf(key), path: key, message });
  const str = (key: string, allowed?: readonly string[]): string | undefined => {
    const a = last.get(key);
    if (!a) return undefined;
    if (a.value.type !== 'string') {
      problem(key, `${key} is a string: write it in quotes${allowed ? ` (one of ${allowed.map((s) => `"${s}"`).join(', ')})` : ''}, not ${show(a.value)}`);
      return undefined;
    }
    if (allowed && !allowed.includes(a.value.value)) {
      problem(key, `${key} must be one of ${allowed.map((s) => `"${s}"`).join(', ')}, not "${a.value.value}"`);
      return undefined;
    }
    return a.value.value;
  };
  const int = (key: string): number | undefined => {
    const a = last.get(key);
    if (!a) return undefined;
    if (a.value.type !== 'number' || !Number.isInteger(a.value.value)) {
      problem(key, `${key} is a whole number, not ${show(a.value)}`);
      return undefined;
    }
    return a.value.value;
  };
  const flag = (key: string): boolean | undefined => {
    const a = last.get(key);
    if (!a) return undefined;
    if (a.value.type !== 'number' || (a.value.value !== 0 && a.value.value !== 1)) {
      problem(key, `${key} is 0 or 1, not ${show(a.value)}`);
      return undefined;
    }
    return a.value.value === 1;
  };

  for (const key of DEVICE_KEYS) {
    const a = last.get(key);
    if (!a) continue;
    const ok = key === 'backend' ? a.value.type === 'string' || isStringList(a.value) : isStringList(a.value);
    if (!ok) problem(key, `${key} is a list of strings, e.g. ${key} = [ "..." ]`);
    else problem(key, `${key}: the engine does not model a domain-wide backend key (give each disk and vif its backend=) yet; remove this line`);
  }
  const disks = stringList('disk', last, problem)?.flatMap((spec, i) => {
    const r = parseDiskSpec(spec);
    if (!r.ok) {
      problem('disk', `disk[${i}] '${spec}': ${r.message}`);
      return [];
    }
    return [r.disk];
  });
  const vifs = stringList('vif', last, problem)?.flatMap((spec, i) => {
    const r = parseVifSpec(spec);
    if (!r.ok) {
      problem('vif', `vif[${i}] '${spec}': ${r.message}`);
      return [];
    }
    return [r.vif];
  });
  const pci = stringList('pci', last, problem)?.flatMap((spec, i) => {
    const r = parsePciSpec(spec);
    if (r === null) {
      problem('pci', `pci[${i}] '${spec}': not a PCI address (BB:DD.F or SSSS:BB:DD.F, e.g. '03:00.0') nor a device id (e.g. 'disk0')`);
      return [];
    }
    return [r];
  });
  flag('driver_domain');

  const name = str('name');
  if (!last.has('name') && !problems.some((p) => p.path === 'name')) problems.push({ line: 0, path: 'name', message: 'name is required (name = "...")' });
  const memory = int('memory');
  const maxmem = int('maxmem');
  const vcpus = int('vcpus');
  const weight = int('weight');
  const cap = int('cap');
  let type = str('type', TYPES) as (typeof TYPES)[number] | undefined;
  const builder = str('builder', ['generic', 'hvm']);
  if (type === undefined && builder !== undefined) type = builder === 'hvm' ? 'hvm' : 'pv';
  const hap = flag('hap');
  const mode = modeOf(type ?? (last.has('type') ? undefined : 'pv'), hap, problem);
  const guestPageSize = str('guest_page_size', PAGE_SIZES);
  const hostPageSize = str('host_page_size', PAGE_SIZES);
  const outOfSync = flag('shadow_out_of_sync');
  const earlyUnshadow = flag('shadow_early_unshadow');
  const shadowMiB = int('shadow_memory');
  const poolPages = int('shadow_pool_pages');
  if (shadowMiB !== undefined && poolPages !== undefined) problem('shadow_pool_pages', 'give shadow_memory (MiB) or shadow_pool_pages, not both');
  let workload: unknown;
  const wtext = str('workload');
  if (wtext !== undefined) {
    const w = parseWorkloadArgs(wtext.trim().split(/\s+/).filter(Boolean));
    if (w.ok) workload = w.workload;
    else for (const p of w.problems) problem('workload', p.path === 'kind' ? p.message : `${p.path}: ${p.message}`);
  }
  if ((disks?.length || pci?.length) && type === 'native') problem(disks?.length ? 'disk' : 'pci', 'virtual disks and passthrough need a hypervisor: type "native" has none');
  if (vifs?.length && type === 'native') problem('vif', 'virtual network interfaces need a hypervisor: type "native" has none (own the NIC with pci instead)');
  if (problems.length > 0) return { ok: false, problems: sorted(problems) };

  const input: z.input<typeof domainSchema> = {
    name: name!,
    mode: mode!,
    memoryMiB: memory ?? 128,
    ...(maxmem !== undefined ? { maxMemoryMiB: maxmem } : {}),
    vcpus: vcpus ?? 1,
    ...(weight !== undefined ? { weight } : {}),
    ...(cap !== undefined && cap !== 0 ? { cap } : {}),
    ...(guestPageSize !== undefined ? { guestPageSize: guestPageSize as DomainConfig['guestPageSize'] } : {}),
    ...(hostPageSize !== undefined ? { hostPageSize: hostPageSize as DomainConfig['hostPageSize'] } : {}),
    ...(outOfSync !== undefined ? { shadowOutOfSync: outOfSync } : {}),
    ...(earlyUnshadow !== undefined ? { shadowEarlyUnshadow: earlyUnshadow } : {}),
    ...(shadowMiB !== undefined ? { shadowPoolPages: shadowMiB * 256 } : poolPages !== undefined ? { shadowPoolPages: poolPages } : {}),
    ...(workload !== undefined ? { workload: workload as DomainConfig['workload'] } : {}),
  };
  // The domain schema, then the scenario rules (page sizes per mode, workload fits in memory),
  // checked on a machine big enough that only the domain's own rules can fail. Its disks and pci
  // name the machine's devices and other domains, which the machine the domain is created on
  // checks (xl create); here they are checked for shape only.
  const v = validateScenario({
    name: 'xl.cfg',
    machine: { memoryMiB: 1_048_576, pcpus: 1 },
    hypervisor: mode === 'native' ? 'none' : 'xen',
    domains: [input],
  });
  if (!v.ok) {
    for (const p of v.problems) {
      if (!p.path.startsWith('domains[0]')) continue;
      const field = p.path.replace(/^domains\[0\]\.?/, '').split(/[.[]/)[0] ?? '';
      const key = field === 'shadowPoolPages' && last.has('shadow_memory') ? 'shadow_memory' : (FIELD_KEY[field] ?? field);
      problem(key, p.message);
    }
    if (problems.length > 0) return { ok: false, problems: sorted(problems) };
  }
  const domain = domainSchema.parse(input);
  return { ok: true, domain: { ...domain, ...(pci?.length ? { pci } : {}), ...(disks?.length ? { disks } : {}), ...(vifs?.length ? { vifs } : {}) } };
}

/** A key whose value is a list of strings; a problem naming it otherwise. */
function stringList(key: string, last: Map<string, XlAssignment>, problem: (key: string, m: string) => void): string[] | undefined {
  const a = last.get(key);
  if (!a) return undefined;
  if (!isStringList(a.value)) {
    const eg = key === 'pci' ? "pci = [ '03:00.0' ]" : key === 'vif' ? "vif = [ 'backend=netdd, bridge=nic0' ]" : "disk = [ 'backend=blkdd, vdev=xvda, target=disk0' ]";
    problem(key, `${key} is a list of strings, e.g. ${eg}, not ${show(a.value)}`);
    return undefined;
  }
  return (a.value as { items: { value: string }[] }).items.map((i) => i.value);
}

export type DiskSpecResult = { ok: true; disk: VdiskConfig } | { ok: false; message: string };

/** Deprecated prefixes xl strips and ignores (xl-disk-configuration.txt, "<deprecated-prefix>:"). */
const IGNORED_PREFIXES = ['tapdisk', 'tap', 'tap2', 'aio', 'ioemu', 'file', 'phy'];
/** Flags xl accepts that change nothing the lab models (advice to the backend: discard, O_DIRECT, trust). */
const ADVISORY_FLAGS = ['direct-io-safe', 'discard', 'no-discard', 'trusted', 'untrusted'];

/**
 * One of xl's diskspecs (docs/misc/xl-disk-configuration.txt), onto a virtual disk: comma-separated
 * `key=value` parameters, flags, and positional parameters filling target, format, vdev, access in
 * that order (after a deprecated `phy:`-style prefix on the target: target, vdev, access). An
 * empty value means the default; each parameter at most once; `target=` takes the rest of the
 * string. The lab's disks are whole machine devices served by blkback (`phy`), raw, read-write.
 */
export function parseDiskSpec(spec: string): DiskSpecResult {
  const p: { target?: string; format?: string; vdev?: string; access?: string; backend?: string; backendtype?: string; devtype?: string } = {};
  let deprecatedPrefix = false;
  const fail = (message: string): DiskSpecResult => ({ ok: false, message });
  const set = (k: keyof typeof p, v: string): string | null => {
    if (p[k] !== undefined && !(k === 'target' && p.target === '')) return `${k} is given twice (each parameter at most once)`;
    p[k] = v;
    return null;
  };
  let rest = spec;
  while (rest.length > 0) {
    rest = rest.replace(/^[ \t\n]+/, '');
    if (rest.startsWith('target=')) {
      const e = set('target', rest.slice('target='.length).replace(/,$/, ''));
      if (e) return fail(e);
      break;
    }
    const comma = rest.indexOf(',');
    const part = comma < 0 ? rest : rest.slice(0, comma);
    rest = comma < 0 ? '' : rest.slice(comma + 1);
    const named = /^([a-z][-a-z0-9_]*)=(.*)$/.exec(part);
    if (named) {
      const [, k, v] = named as unknown as [string, string, string];
      if (k === 'format' || k === 'vdev' || k === 'access' || k === 'backend' || k === 'backendtype' || k === 'devtype') {
        const e = set(k, v.trim());
        if (e) return fail(e);
        continue;
      }
      if (k === 'script') return fail('script=: block scripts are not modelled (the target is a machine device, served directly)');
      return fail(`unknown parameter "${k}=" (xl knows target, format, vdev, access, devtype, backend, backendtype, script, and flags such as cdrom, discard)`);
    }
    if (part.includes('=')) return fail(`bad disk syntax at "${part}"`);
    if (part === 'cdrom') return fail('cdrom: the lab has no CD-ROM drives, only disks');
    if (ADVISORY_FLAGS.includes(part.trim())) continue;
    let positional = part;
    if (p.target === undefined) {
      const prefix = /^([a-z][a-z0-9]*):(.*)$/.exec(part);
      if (prefix) {
        const [, pre, after] = prefix as unknown as [string, string, string];
        if (pre === 'raw' || pre === 'qcow' || pre === 'qcow2' || pre === 'vhd') {
          const e = set('format', pre);
          if (e) return fail(e);
        } else if (pre === 'iscsi' || pre === 'nbd' || pre === 'enbd' || pre === 'drbd') {
          return fail(`${pre}: block scripts are not modelled (the target is a machine device, served directly)`);
        } else if (!IGNORED_PREFIXES.includes(pre)) {
          return fail(`unknown deprecated disk prefix "${pre}:"`);
        }
        deprecatedPrefix = true;
        positional = after;
      }
    }
    positional = positional.trim();
    if (p.target === undefined) p.target = positional;
    else if (!deprecatedPrefix && p.format === undefined) p.format = positional;
    else if (p.vdev === undefined) {
      const colon = positional.lastIndexOf(':');
      if (colon >= 0) {
        const devtype = positional.slice(colon + 1);
        if (devtype !== 'disk') return fail(devtype === 'cdrom' ? 'cdrom: the lab has no CD-ROM drives, only disks' : `unknown deprecated type "${devtype}"`);
        p.vdev = positional.slice(0, colon);
      } else p.vdev = positional;
    } else if (p.access === undefined) p.access = positional;
    else return fail(`too many positional parameters at "${positional}" (target, format, vdev, access)`);
  }
  if (p.devtype !== undefined && p.devtype !== '' && p.devtype !== 'disk') return fail(p.devtype === 'cdrom' ? 'devtype=cdrom: the lab has no CD-ROM drives, only disks' : `unknown value for devtype "${p.devtype}" (disk or cdrom)`);
  if (p.format && p.format !== 'raw') return fail(`format "${p.format}": the lab's disks are raw devices (${['qcow', 'qcow2', 'vhd', 'qed'].includes(p.format) ? 'image formats need qdisk, which is not modelled' : 'xl knows raw, qcow, qcow2, vhd, qed'})`);
  if (p.access && !['rw', 'w', 'ro', 'r'].includes(p.access)) return fail(`unknown value for access "${p.access}" (rw, w, ro or r)`);
  if (p.access === 'ro' || p.access === 'r') return fail(`access=${p.access}: read-only virtual disks are not modelled; use rw`);
  if (p.backendtype && p.backendtype !== 'phy') return fail(`backendtype "${p.backendtype}": the lab's backend is blkback (phy)${['tap', 'qdisk'].includes(p.backendtype) ? '' : '; xl knows phy, tap, qdisk'}`);
  if (!p.target) return fail('no target: give the machine device behind the disk (target=disk0)');
  if (!p.vdev) return fail('no vdev: it is mandatory (vdev=xvda)');
  // xl prepends /dev to a target without a leading '/': the lab's device ids are those names.
  const device = p.target.startsWith('/dev/') ? p.target.slice('/dev/'.length) : p.target;
  if (device.startsWith('/') || device.includes('/')) return fail(`target "${p.target}": the lab's targets are machine devices by id (disk0 or /dev/disk0), not paths`);
  const r = vdiskSchema.safeParse({ device, vdev: p.vdev, ...(p.backend ? { backend: p.backend } : {}) });
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const k = issue.path[0] === 'device' ? 'target' : issue.path[0] === 'backend' ? 'backend' : 'vdev';
    return fail(`${k} "${p[k] ?? ''}": ${issue.message}`);
  }
  return { ok: true, disk: r.data };
}

/** A pci spec: `[SSSS:]BB:DD.F` (xl-pci-configuration; options after a comma are not modelled) or a device id. */
export function parsePciSpec(spec: string): string | null {
  const s = spec.trim();
  if (BDF_RE.test(s)) return s;
  if (/^[a-z][a-z0-9_-]{0,31}$/.test(s)) return s;
  return null;
}

export type VifSpecResult = { ok: true; vif: VifConfig } | { ok: false; message: string };

/** Keys of xl's vif spec (xl-network-configuration) that change nothing the lab models. */
const VIF_ADVISORY = ['type', 'model', 'vifname', 'script', 'ip', 'rate', 'gatewaydev', 'devid', 'mtu'];

/**
 * One of xl's vif specs (docs/misc/xl-network-configuration), onto a virtual NIC: comma-separated
 * key=value pairs. `backend` is the domain running netback; `bridge` names the bridge in the
 * backend that the vif joins — in the lab each NIC's owner has one bridge, named after the NIC, so
 * `bridge=nic0` is the NIC the vif reaches the wire through; `mac` is the vif's address. Keys that
 * change nothing the lab models (model, type, script, rate …) are accepted and ignored. `rx=flip`
 * (or `rx=copy`) is the lab's own key for how the guest's netfront receives: xl has none, since in
 * Xen it is the guest kernel's choice (Linux 2.6.18-xen netfront's rx_flip / rx_copy parameters).
 */
export function parseVifSpec(spec: string): VifSpecResult {
  const fail = (message: string): VifSpecResult => ({ ok: false, message });
  const out: Record<string, string> = {};
  for (const raw of spec.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) return fail(`"${part}" is not key=value (keys: backend, bridge, mac)`);
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key in out) return fail(`${key} is given twice`);
    if (key === 'backend' || key === 'bridge' || key === 'mac' || key === 'rx') out[key] = value;
    else if (!VIF_ADVISORY.includes(key)) return fail(`unknown key "${key}" (the lab reads backend, bridge, mac and rx; it accepts ${VIF_ADVISORY.join(', ')})`);
  }
  if (out.bridge === undefined || out.bridge === '') return fail('bridge= is required: the NIC whose bridge the vif joins (the lab names each bridge after its NIC, e.g. bridge=nic0)');
  if (out.rx !== undefined && out.rx !== 'copy' && out.rx !== 'flip') return fail(`rx=${out.rx}: must be rx=copy (grant copy) or rx=flip (page flipping)`);
  const r = vifSchema.safeParse({ device: out.bridge, ...(out.backend ? { backend: out.backend } : {}), ...(out.mac ? { mac: out.mac } : {}), ...(out.rx ? { rx: out.rx } : {}) });
  if (!r.success) return fail(out.mac && !MAC_RE.test(out.mac) ? `mac=${out.mac}: a unicast MAC address such as 00:16:3e:01:02:03 (the first octet even)` : r.error.issues[0]?.message ?? 'not a vif');
  return { ok: true, vif: r.data };
}

/** A virtual NIC as xl's vif spec, the form parseVifSpec reads back. */
export function formatVifSpec(v: VifConfig): string {
  return `${v.backend !== undefined ? `backend=${v.backend}, ` : ''}bridge=${v.device}${v.mac !== undefined ? `, mac=${v.mac}` : ''}${v.rx !== undefined ? `, rx=${v.rx}` : ''}`;
}

/** A virtual disk as xl's diskspec, the form parseDiskSpec reads back. */
export function formatDiskSpec(d: VdiskConfig): string {
  return `${d.backend !== undefined ? `backend=${d.backend}, ` : ''}vdev=${d.vdev}, target=${d.device}`;
}

function modeOf(type: (typeof TYPES)[number] | undefined, hap: boolean | undefined, problem: (key: string, m: string) => void): PagingMode | undefined {
  switch (type) {
    case undefined:
      return undefined;
    case 'hvm':
      return hap === false ? 'shadow' : 'hap';
    case 'pvh':
      if (hap === false) problem('hap', 'a PVH guest needs HAP (nested paging): remove hap = 0 or use type = "hvm" for shadow paging');
      return 'hap';
    case 'pv':
    case 'native':
      if (hap !== undefined) problem('hap', `hap applies to HVM guests (type = "hvm"); a ${type === 'pv' ? 'PV guest pages directly' : 'native kernel has no hypervisor'}`);
      return type;
  }
}

function isStringList(v: XlValue): boolean {
  return v.type === 'list' && v.items.every((i) => i.type === 'string');
}

function sorted(ps: XlProblem[]): XlProblem[] {
  return [...ps].sort((a, b) => a.line - b.line);
}

/**
 * The domain as xl.cfg text that parseXlCfg reads back to the same domain. A dom0's role and a
 * hypercalls script have no xl.cfg form; they are noted in comments.
 */
export function toXlCfg(domain: DomainConfig): string {
  const d = domainSchema.parse(domain);
  const s = (v: string) => formatXlValue({ type: 'string', value: v });
  const lines: string[] = [`# ${d.name}: mode ${d.mode} (Hyperlab)`];
  if (d.role === 'dom0') lines.push('# role: dom0 (Xen builds dom0 at boot; xl create makes guests)');
  lines.push(`name = ${s(d.name)}`);
  if (d.mode === 'pv') lines.push('type = "pv"');
  else if (d.mode === 'native') lines.push('type = "native"');
  else lines.push('type = "hvm"', `hap = ${d.mode === 'hap' ? 1 : 0}`);
  lines.push(`memory = ${d.memoryMiB}`);
  if (d.maxMemoryMiB !== undefined) lines.push(`maxmem = ${d.maxMemoryMiB}`);
  lines.push(`vcpus = ${d.vcpus}`);
  if (d.weight !== undefined) lines.push(`weight = ${d.weight}`);
  if (d.cap !== undefined) lines.push(`cap = ${d.cap}`);
  lines.push(`guest_page_size = ${s(d.guestPageSize)}`, `host_page_size = ${s(d.hostPageSize)}`);
  if (d.shadowOutOfSync !== undefined) lines.push(`shadow_out_of_sync = ${d.shadowOutOfSync ? 1 : 0}`);
  if (d.shadowEarlyUnshadow !== undefined) lines.push(`shadow_early_unshadow = ${d.shadowEarlyUnshadow ? 1 : 0}`);
  if (d.shadowPoolPages !== undefined) {
    lines.push(d.shadowPoolPages % 256 === 0 ? `shadow_memory = ${d.shadowPoolPages / 256}` : `shadow_pool_pages = ${d.shadowPoolPages}`);
  }
  if (d.pci?.length) lines.push(`pci = ${formatXlValue({ type: 'list', items: d.pci.map((v) => ({ type: 'string', value: v })) })}`, 'driver_domain = 1');
  if (d.disks?.length) lines.push(`disk = ${formatXlValue({ type: 'list', items: d.disks.map((v) => ({ type: 'string', value: formatDiskSpec(v) })) })}`);
  if (d.vifs?.length) lines.push(`vif = ${formatXlValue({ type: 'list', items: d.vifs.map((v) => ({ type: 'string', value: formatVifSpec(v) })) })}`);
  const w = formatWorkload(d.workload);
  if (w === null) lines.push(`# workload: a ${d.workload.kind} script (only a scenario file can hold it)`);
  else lines.push(`workload = ${s(w)}`);
  return lines.join('\n') + '\n';
}

/**
 * Domain configs in the xl.cfg syntax Xen users know (xl.cfg(5)), mapped onto Hyperlab's domain
 * schema, and back.
 *
 *   name, memory (MiB), vcpus       as in xl
 *   type = "pv" | "hvm" | "pvh"     pv → mode pv; hvm → hap, or shadow with hap = 0; pvh → hap
 *   hap = 0 | 1                     HVM only (default 1, as xl)
 *   builder = "generic" | "hvm"     xl's older spelling of type
 *   shadow_memory (MiB)             the shadow pool, as xl
 * Hyperlab's own keys:
 *   type = "native"                 bare metal, the baseline (no hypervisor)
 *   guest_page_size, host_page_size = "4k" | "2m" | "1g"
 *   shadow_out_of_sync = 0 | 1
 *   shadow_pool_pages               the shadow pool in pages, when not whole MiB
 *   workload = "random-access workingSetMiB=64 accesses=100000"   (or positional: "random-access 64 100000")
 * vif, disk, pci and backend are read (lists of strings) and reported: the engine does not model
 * virtual devices yet. Any other key is a problem naming its line. As in xl, a later assignment
 * of a key replaces an earlier one (so `xl create file key=value` overrides the file).
 */
import type { z } from 'zod';
import { domainSchema, validateScenario, type DomainConfig, type PagingMode } from './scenario.js';
import { formatWorkload, parseWorkloadArgs } from './workloadSpec.js';
import { formatXlValue, parseXlSyntax, type XlAssignment, type XlProblem, type XlValue } from './xlcfgSyntax.js';

export type { XlProblem } from './xlcfgSyntax.js';

export type XlCfgResult = { ok: true; domain: DomainConfig } | { ok: false; problems: XlProblem[] };

const PAGE_SIZES = ['4k', '2m', '1g'] as const;
const TYPES = ['pv', 'hvm', 'pvh', 'native'] as const;
const DEVICE_KEYS = ['vif', 'disk', 'pci', 'backend'] as const;
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
  'guest_page_size',
  'host_page_size',
  'workload',
  ...DEVICE_KEYS,
] as const;

/** Where a domain field comes from in xl.cfg (for problems found by the domain schema). */
const FIELD_KEY: Record<string, string> = {
  name: 'name',
  memoryMiB: 'memory',
  vcpus: 'vcpus',
  mode: 'type',
  guestPageSize: 'guest_page_size',
  hostPageSize: 'host_page_size',
  shadowOutOfSync: 'shadow_out_of_sync',
  shadowPoolPages: 'shadow_pool_pages',
  workload: 'workload',
  role: 'type',
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
    else problem(key, `${key}: the engine does not model virtual ${key === 'vif' ? 'network interfaces' : key === 'disk' ? 'disks' : key === 'pci' ? 'PCI devices (passthrough)' : 'device backends (driver domains)'} yet; remove this line`);
  }

  const name = str('name');
  if (!last.has('name') && !problems.some((p) => p.path === 'name')) problems.push({ line: 0, path: 'name', message: 'name is required (name = "...")' });
  const memory = int('memory');
  const vcpus = int('vcpus');
  let type = str('type', TYPES) as (typeof TYPES)[number] | undefined;
  const builder = str('builder', ['generic', 'hvm']);
  if (type === undefined && builder !== undefined) type = builder === 'hvm' ? 'hvm' : 'pv';
  const hap = flag('hap');
  const mode = modeOf(type ?? (last.has('type') ? undefined : 'pv'), hap, problem);
  const guestPageSize = str('guest_page_size', PAGE_SIZES);
  const hostPageSize = str('host_page_size', PAGE_SIZES);
  const outOfSync = flag('shadow_out_of_sync');
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
  if (problems.length > 0) return { ok: false, problems: sorted(problems) };

  const input: z.input<typeof domainSchema> = {
    name: name!,
    mode: mode!,
    memoryMiB: memory ?? 128,
    vcpus: vcpus ?? 1,
    ...(guestPageSize !== undefined ? { guestPageSize: guestPageSize as DomainConfig['guestPageSize'] } : {}),
    ...(hostPageSize !== undefined ? { hostPageSize: hostPageSize as DomainConfig['hostPageSize'] } : {}),
    ...(outOfSync !== undefined ? { shadowOutOfSync: outOfSync } : {}),
    ...(shadowMiB !== undefined ? { shadowPoolPages: shadowMiB * 256 } : poolPages !== undefined ? { shadowPoolPages: poolPages } : {}),
    ...(workload !== undefined ? { workload: workload as DomainConfig['workload'] } : {}),
  };
  // The domain schema, then the scenario rules (page sizes per mode, workload fits in memory),
  // checked on a machine big enough that only the domain's own rules can fail.
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
  return { ok: true, domain: domainSchema.parse(input) };
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
  lines.push(`memory = ${d.memoryMiB}`, `vcpus = ${d.vcpus}`);
  lines.push(`guest_page_size = ${s(d.guestPageSize)}`, `host_page_size = ${s(d.hostPageSize)}`);
  if (d.shadowOutOfSync !== undefined) lines.push(`shadow_out_of_sync = ${d.shadowOutOfSync ? 1 : 0}`);
  if (d.shadowPoolPages !== undefined) {
    lines.push(d.shadowPoolPages % 256 === 0 ? `shadow_memory = ${d.shadowPoolPages / 256}` : `shadow_pool_pages = ${d.shadowPoolPages}`);
  }
  const w = formatWorkload(d.workload);
  if (w === null) lines.push(`# workload: a ${d.workload.kind} script (only a scenario file can hold it)`);
  else lines.push(`workload = ${s(w)}`);
  return lines.join('\n') + '\n';
}

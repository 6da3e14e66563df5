/**
 * Editing the scenario in place: the form writes straight into lab.scenario, one field at a time,
 * and leaves every field it does not show (unknown or advanced ones) as it found them.
 */
import { CPU_PROFILES, type CpuProfileId, type ScenarioInput } from '../../../../core/api/index.js';

export type Obj = Record<string, unknown>;
export type DomainInput = ScenarioInput['domains'][number];

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Sets root[path[0]][path[1]]… to value, creating objects on the way; `undefined` deletes the
 * field instead, and objects left empty by that are removed too, from depth `pruneFrom` down
 * (so clearing the last cost override removes `machine.costs` but never `machine`).
 */
export function setIn(root: Obj, path: readonly string[], value: unknown, pruneFrom = 1): void {
  const chain: Obj[] = [root];
  let o = root;
  for (const k of path.slice(0, -1)) {
    if (!isObj(o[k])) {
      if (value === undefined) return;
      o[k] = {};
    }
    o = o[k] as Obj; // read back: with runes this is the reactive proxy, not the literal
    chain.push(o);
  }
  const last = path[path.length - 1]!;
  if (value !== undefined) {
    o[last] = value;
    return;
  }
  delete o[last];
  for (let d = chain.length - 1; d >= pruneFrom && d > 0; d--) {
    if (Object.keys(chain[d]!).length > 0) break;
    delete chain[d - 1]![path[d - 1]!];
  }
}

/**
 * The scenario's CPU profile (machine.cpu) when it names one; otherwise (unset, or a value the
 * schema refuses) undefined, which the defaults read as "modern".
 */
export function cpuOf(s: unknown): CpuProfileId | undefined {
  const v = getIn(s, ['machine', 'cpu']);
  return (CPU_PROFILES as readonly unknown[]).includes(v) ? (v as CpuProfileId) : undefined;
}

export function getIn(root: unknown, path: readonly string[]): unknown {
  let o = root;
  for (const k of path) {
    if (!isObj(o)) return undefined;
    o = o[k];
  }
  return o;
}

/** Replaces every field of `target` with those of `next`, keeping the object (and its card). */
export function replaceInPlace(target: Obj, next: Obj): void {
  for (const k of Object.keys(target)) if (!(k in next)) delete target[k];
  Object.assign(target, next);
}

/** JSON with sorted keys: two scenarios that differ only in field order compare equal. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    isObj(x) ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, x[k]])) : x,
  );
}

/** A domain name not in `taken`: g1 → g2 → g3 …, web → web-2 → web-3 …. */
export function uniqueName(base: string, taken: readonly unknown[]): string {
  const names = new Set(taken.map(String));
  if (!names.has(base)) return base;
  const m = /^(.*?)(\d+)$/.exec(base);
  const stem = m ? base.slice(0, base.length - m[2]!.length) : `${base}-`;
  for (let n = m ? Number(m[2]) + 1 : 2; ; n++) {
    const suffix = String(n);
    const candidate = stem.slice(0, 32 - suffix.length) + suffix;
    if (!names.has(candidate)) return candidate;
  }
}

export function domainNames(s: ScenarioInput): unknown[] {
  return Array.isArray(s.domains) ? s.domains.map((d) => (isObj(d) ? d.name : undefined)) : [];
}

/** A new guest that is valid under the current hypervisor (native alone, KVM without PV). */
export function newDomain(s: ScenarioInput): DomainInput {
  const mode = s.hypervisor === 'none' ? 'native' : s.hypervisor === 'kvm' ? 'hap' : 'pv';
  return {
    name: uniqueName('g1', domainNames(s)),
    mode,
    memoryMiB: 256,
    vcpus: 1,
    guestPageSize: '4k',
    hostPageSize: '4k',
    workload: { kind: 'cold-walk', pages: 64 },
  };
}

/** A copy of a domain with a fresh name (and never a second dom0). */
export function duplicateDomain(s: ScenarioInput, d: DomainInput): DomainInput {
  const copy = structuredClone(d);
  if (isObj(copy)) {
    copy.name = uniqueName(typeof d.name === 'string' && d.name ? d.name : 'g1', domainNames(s));
    if (copy.role === 'dom0') delete (copy as Obj).role;
  }
  return copy;
}

/**
 * A typed value read back from a text field: a finite number when the text is one, nothing when
 * it is empty, the text itself otherwise (the schema then says what is wrong with it).
 */
export function parseNumberText(text: string): number | string | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  if (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(t)) {
    const n = Number(t);
    if (Number.isFinite(n)) return n;
  }
  return text;
}

export function showValue(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

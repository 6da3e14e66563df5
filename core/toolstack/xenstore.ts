/**
 * xenstore (after xenstored and docs/misc/xenstore.txt): a tree of string values with per-node
 * permissions. A node's first permission entry names its owner, who may do anything, and what
 * everyone else may do; further entries grant particular domains read or write. Domain 0 may
 * do anything anywhere. The toolstack writes each domain's nodes when it builds the domain
 * (/local/domain/<domid>/..., /vm/<uuid>/..., /libxl/<domid>/...) and removes them on destroy.
 */
import { Rng } from '../base/rng.js';
import type { Vm } from '../vm/vm.js';

/** n none, r read, w write, b both (xenstore's permission letters). */
export type XsPerm = 'n' | 'r' | 'w' | 'b';

export interface XsPerms {
  owner: number;
  others: XsPerm;
  acl: Map<number, XsPerm>;
}

interface XsNode {
  value: string;
  children: Map<string, XsNode>;
  perms: XsPerms;
}

export type XsError = 'ENOENT' | 'EACCES' | 'EINVAL' | 'EEXIST';
export type XsResult<T> = { ok: true; value: T } | { ok: false; errno: XsError };

const canRead = (p: XsPerm) => p === 'r' || p === 'b';
const canWrite = (p: XsPerm) => p === 'w' || p === 'b';

export function isValidPath(path: string): boolean {
  return path === '/' || /^(\/[A-Za-z0-9_@:.\-]+)+$/.test(path);
}

function parts(path: string): string[] {
  return path.split('/').filter(Boolean);
}

function perms(owner: number, others: XsPerm, acl: [number, XsPerm][] = []): XsPerms {
  return { owner, others, acl: new Map(acl) };
}

export class Xenstore {
  private readonly root: XsNode = { value: '', children: new Map(), perms: perms(0, 'r') };

  private node(path: string): XsNode | null {
    let n: XsNode | undefined = this.root;
    for (const p of parts(path)) {
      n = n.children.get(p);
      if (!n) return null;
    }
    return n;
  }

  private allowed(n: XsNode, caller: number, write: boolean): boolean {
    if (caller === 0 || n.perms.owner === caller) return true;
    const p = n.perms.acl.get(caller) ?? n.perms.others;
    return write ? canWrite(p) : canRead(p);
  }

  read(path: string, caller: number): XsResult<string> {
    if (!isValidPath(path)) return { ok: false, errno: 'EINVAL' };
    const n = this.node(path);
    if (!n) return { ok: false, errno: 'ENOENT' };
    if (!this.allowed(n, caller, false)) return { ok: false, errno: 'EACCES' };
    return { ok: true, value: n.value };
  }

  /** Children's names, in the order they were written. */
  directory(path: string, caller: number): XsResult<string[]> {
    if (!isValidPath(path)) return { ok: false, errno: 'EINVAL' };
    const n = this.node(path);
    if (!n) return { ok: false, errno: 'ENOENT' };
    if (!this.allowed(n, caller, false)) return { ok: false, errno: 'EACCES' };
    return { ok: true, value: [...n.children.keys()] };
  }

  /**
   * Writes `value`, creating missing nodes on the way. A new node inherits its parent's
   * permissions, owned by the writer (as xenstored does); writing needs write permission on the
   * node, or on the nearest existing ancestor when it is created.
   */
  write(path: string, value: string, caller: number, p?: XsPerms): XsResult<null> {
    if (!isValidPath(path) || path === '/') return { ok: false, errno: 'EINVAL' };
    let n = this.root;
    const ps = parts(path);
    for (let i = 0; i < ps.length; i++) {
      let child = n.children.get(ps[i]!);
      if (!child) {
        if (!this.allowed(n, caller, true)) return { ok: false, errno: 'EACCES' };
        const inherited = { owner: caller === 0 ? n.perms.owner : caller, others: n.perms.others, acl: new Map(n.perms.acl) };
        child = { value: '', children: new Map(), perms: i === ps.length - 1 && p ? p : inherited };
        n.children.set(ps[i]!, child);
      }
      n = child;
    }
    if (!this.allowed(n, caller, true)) return { ok: false, errno: 'EACCES' };
    n.value = value;
    if (p) n.perms = p;
    return { ok: true, value: null };
  }

  rm(path: string, caller: number): XsResult<null> {
    if (!isValidPath(path) || path === '/') return { ok: false, errno: 'EINVAL' };
    const ps = parts(path);
    const parent = this.node('/' + ps.slice(0, -1).join('/'));
    const n = parent?.children.get(ps[ps.length - 1]!);
    if (!parent || !n) return { ok: false, errno: 'ENOENT' };
    if (!this.allowed(n, caller, true)) return { ok: false, errno: 'EACCES' };
    parent.children.delete(ps[ps.length - 1]!);
    return { ok: true, value: null };
  }

  /** Lines of `xenstore-ls path`: `name = "value"`, one space of indent per level; unreadable nodes are left out. */
  ls(path: string, caller: number): XsResult<string[]> {
    const top = this.directory(path, caller);
    if (!top.ok) return top;
    const out: string[] = [];
    const walk = (n: XsNode, depth: number) => {
      for (const [name, c] of n.children) {
        if (!this.allowed(c, caller, false)) continue;
        out.push(`${' '.repeat(depth)}${name} = "${escapeValue(c.value)}"`);
        walk(c, depth + 1);
      }
    };
    walk(this.node(path)!, 0);
    return { ok: true, value: out };
  }

  /** The nodes libxl writes for a new domain (libxl__domain_make and friends). */
  addDomain(d: Vm, seed: number, startSeconds: number): void {
    const id = d.domid;
    const base = `/local/domain/${id}`;
    const uuid = domainUuid(d, seed);
    const kib = String(d.config.memoryMiB * 1024);
    // The domain owns its directory; what the toolstack decides is dom0's, readable by the domain.
    const mine = perms(id, 'n');
    const ro = perms(0, 'n', [[id, 'r']]);
    this.write(base, '', 0, mine);
    const w = (rel: string, value: string, p: XsPerms = ro) => this.write(`${base}/${rel}`, value, 0, p);
    w('vm', `/vm/${uuid}`);
    w('name', d.name);
    w('domid', String(id));
    w('memory', '', mine);
    w('memory/static-max', kib);
    w('memory/target', kib, perms(id, 'n'));
    w('cpu', '');
    for (let v = 0; v < d.config.vcpus; v++) w(`cpu/${v}/availability`, 'online', perms(id, 'n'));
    w('console', '', mine);
    w('console/type', 'xenconsoled');
    w('console/output', 'pty');
    w('console/tty', `/dev/pts/${id}`);
    w('console/limit', '1048576');
    w('control', '', mine);
    w('control/shutdown', '', perms(id, 'n'));
    w('device', '', mine);
    w('data', '', mine);
    w('hyperlab', '');
    w('hyperlab/mode', d.mode);
    w('hyperlab/guest-page-size', d.config.guestPageSize);
    w('hyperlab/host-page-size', d.config.hostPageSize);
    const vm = `/vm/${uuid}`;
    this.write(vm, '', 0, perms(0, 'n', [[id, 'r']]));
    this.write(`${vm}/uuid`, uuid, 0);
    this.write(`${vm}/name`, d.name, 0);
    this.write(`${vm}/start_time`, startSeconds.toFixed(2), 0);
    this.write(`/libxl/${id}`, '', 0, perms(0, 'n'));
    this.write(`/libxl/${id}/type`, d.mode === 'pv' ? 'pv' : d.mode === 'native' ? 'native' : d.privileged ? 'pvh' : 'hvm', 0);
  }

  removeDomain(d: Vm, seed: number): void {
    this.rm(`/local/domain/${d.domid}`, 0);
    this.rm(`/vm/${domainUuid(d, seed)}`, 0);
    this.rm(`/libxl/${d.domid}`, 0);
  }
}

export function escapeValue(v: string): string {
  let out = '';
  for (const ch of v) {
    const c = ch.charCodeAt(0);
    if (ch === '\\' || ch === '"') out += '\\' + ch;
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out;
}

/** A domain's UUID: all zeros for dom0 (as Xen), otherwise derived from the seed and domid. */
export function domainUuid(d: Vm, seed: number): string {
  if (d.domid === 0) return '00000000-0000-0000-0000-000000000000';
  const rng = new Rng((seed * 0x85ebca6b + d.domid * 0xc2b2ae35) >>> 0);
  const h = Array.from({ length: 4 }, () => rng.nextU32().toString(16).padStart(8, '0')).join('');
  // A version-4-shaped UUID (the variant and version nibbles set).
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

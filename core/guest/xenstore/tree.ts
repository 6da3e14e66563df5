/**
 * xenstored's database (tools/xenstored/core.c): a tree of nodes, each with a value, children and
 * permissions, and a generation count that changes whenever the node (its value, permissions or
 * list of children) changes — what transactions compare to detect conflicts. Every operation is
 * made as a domain and checked against the node's permissions (perm_for_conn):
 *  - the privileged domain (dom0) may do anything;
 *  - a node's first permission entry names its owner, who may do anything, and what others get;
 *  - a later entry for the caller's domid replaces the "others" permission.
 * A missing node answers ENOENT only if the caller may read its nearest existing ancestor, EACCES
 * otherwise (errno_from_parents), so a guest cannot probe another guest's nodes.
 */
import type { XsErrno } from './wire.js';

/** n none, r read, w write, b both (xenstore.txt, GET_PERMS). */
export type XsPerm = 'n' | 'r' | 'w' | 'b';

export interface XsPerms {
  owner: number;
  others: XsPerm;
  acl: Map<number, XsPerm>;
}

export interface XsNode {
  value: string;
  children: Map<string, XsNode>;
  perms: XsPerms;
  gen: number;
}

export type XsResult<T> = { ok: true; value: T } | { ok: false; errno: XsErrno };

export const ok = <T>(value: T): XsResult<T> => ({ ok: true, value });
export const fail = <T = never>(errno: XsErrno): XsResult<T> => ({ ok: false, errno });

export function xsPerms(owner: number, others: XsPerm, acl: [number, XsPerm][] = []): XsPerms {
  return { owner, others, acl: new Map(acl) };
}

const clonePerms = (p: XsPerms): XsPerms => ({ owner: p.owner, others: p.others, acl: new Map(p.acl) });

/** The permission strings of GET_PERMS: "<others><owner>" then "<perm><domid>" per ACL entry. */
export function permsToStrings(p: XsPerms): string[] {
  return [`${p.others}${p.owner}`, ...[...p.acl].map(([d, q]) => `${q}${d}`)];
}

/** SET_PERMS' strings back into permissions; null when one is malformed (xenstored: EINVAL). */
export function permsFromStrings(s: readonly string[]): XsPerms | null {
  const parsed: [number, XsPerm][] = [];
  for (const e of s) {
    const m = /^([nrwb])(\d{1,5})$/.exec(e);
    if (!m || Number(m[2]) > 0xffff) return null;
    parsed.push([Number(m[2]), m[1] as XsPerm]);
  }
  if (parsed.length === 0) return null;
  const [owner, others] = parsed[0]!;
  return { owner, others, acl: new Map(parsed.slice(1)) };
}

export const READ = 1;
export const WRITE = 2;

function mask(p: XsPerm): number {
  return p === 'b' ? READ | WRITE : p === 'r' ? READ : p === 'w' ? WRITE : 0;
}

/** The parent path of an absolute path ('/' for a top-level node). */
export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

function parts(path: string): string[] {
  return path.split('/').filter(Boolean);
}

/** Limits an unprivileged domain is held to (xenstored's quotas). */
export interface XsQuota {
  nodes: number;
  entrySize: number;
  permsPerNode: number;
}

export class XsTree {
  root: XsNode;
  /** The last generation handed out; node generations only grow. */
  private gen = 0;

  constructor(rootPerms: XsPerms = xsPerms(0, 'n')) {
    this.root = { value: '', children: new Map(), perms: rootPerms, gen: 0 };
  }

  /** A deep copy (a transaction's snapshot: "when transaction is started whole db is copied", xenstore.txt). */
  clone(): XsTree {
    const t = new XsTree();
    const copy = (n: XsNode): XsNode => ({ value: n.value, perms: clonePerms(n.perms), gen: n.gen, children: new Map([...n.children].map(([k, c]) => [k, copy(c)])) });
    t.root = copy(this.root);
    t.gen = this.gen;
    return t;
  }

  /** Keeps generations unique across a tree and its transaction copies. */
  bumpTo(gen: number): void { this.gen = Math.max(this.gen, gen); }
  get generation(): number { return this.gen; }

  private touch(n: XsNode): void { n.gen = ++this.gen; }

  node(path: string): XsNode | undefined {
    let n: XsNode | undefined = this.root;
    for (const p of parts(path)) {
      n = n.children.get(p);
      if (!n) return undefined;
    }
    return n;
  }

  /** The node's generation, or -1 when it does not exist. */
  genOf(path: string): number {
    return this.node(path)?.gen ?? -1;
  }

  /** What `domid` may do to a node with permissions `p` (READ | WRITE bits). */
  static permFor(p: XsPerms, domid: number): number {
    if (domid === 0 || p.owner === domid) return READ | WRITE;
    return mask(p.acl.get(domid) ?? p.others);
  }

  private nearestExisting(path: string): { node: XsNode; path: string } {
    let p = path;
    for (;;) {
      const n = this.node(p);
      if (n) return { node: n, path: p };
      p = parentOf(p);
    }
  }

  /**
   * errno_from_parents: for a missing node, ENOENT if the nearest existing ancestor grants what
   * was asked for (`need`), else EACCES.
   */
  private missing(path: string, domid: number, need: number): XsErrno {
    return (XsTree.permFor(this.nearestExisting(path).node.perms, domid) & need) === need ? 'ENOENT' : 'EACCES';
  }

  /** The node if it exists and `domid` has `need` on it. */
  get(path: string, domid: number, need: number): XsResult<XsNode> {
    const n = this.node(path);
    if (!n) return fail(this.missing(path, domid, need));
    if ((XsTree.permFor(n.perms, domid) & need) !== need) return fail('EACCES');
    return ok(n);
  }

  /** Nodes owned by `domid` (xenstored's per-domain entry count). */
  owned(domid: number): number {
    let c = 0;
    const walk = (n: XsNode) => {
      if (n.perms.owner === domid) c++;
      for (const k of n.children.values()) walk(k);
    };
    walk(this.root);
    return c;
  }

  /**
   * Creates `path` and any missing parents (empty values), each inheriting its parent's
   * permissions, owned by the creator when unprivileged (construct_node). Creating needs write
   * permission on the nearest existing ancestor. Returns the paths created, outermost first.
   */
  private create(path: string, domid: number, quota: XsQuota): XsResult<string[]> {
    const { node: anc, path: ancPath } = this.nearestExisting(path);
    const pm = XsTree.permFor(anc.perms, domid);
    if (!(pm & WRITE)) return fail('EACCES');
    const rest = parts(path).slice(parts(ancPath).length);
    if (domid !== 0 && this.owned(domid) + rest.length > quota.nodes) return fail('ENOSPC');
    const created: string[] = [];
    let n = anc;
    let p = ancPath === '/' ? '' : ancPath;
    this.touch(anc);
    for (const name of rest) {
      const perms = clonePerms(n.perms);
      if (domid !== 0) perms.owner = domid;
      const child: XsNode = { value: '', children: new Map(), perms, gen: 0 };
      this.touch(child);
      n.children.set(name, child);
      n = child;
      p += '/' + name;
      created.push(p);
    }
    return ok(created);
  }

  write(path: string, value: string, domid: number, quota: XsQuota): XsResult<{ created: string[] }> {
    if (domid !== 0 && value.length > quota.entrySize) return fail('ENOSPC');
    let n = this.node(path);
    let created: string[] = [];
    if (n) {
      if (!(XsTree.permFor(n.perms, domid) & WRITE)) return fail('EACCES');
    } else {
      const r = this.create(path, domid, quota);
      if (!r.ok) return r;
      created = r.value;
      n = this.node(path)!;
    }
    n.value = value;
    this.touch(n);
    return ok({ created });
  }

  /** MKDIR: creates what is missing; an existing node is left as it is (and fires no watch). */
  mkdir(path: string, domid: number, quota: XsQuota): XsResult<{ created: string[] }> {
    const n = this.node(path);
    if (n) {
      if (!(XsTree.permFor(n.perms, domid) & WRITE)) return fail('EACCES');
      return ok({ created: [] });
    }
    const r = this.create(path, domid, quota);
    return r.ok ? ok({ created: r.value }) : r;
  }

  /**
   * RM: deletes the node and everything below it; needs write permission on the node. A missing
   * node is no error when its parent exists, ENOENT when the parent is missing too (xenstore.txt;
   * core.c do_rm). Returns the removed nodes, children before their parents (the order in which
   * xenstored's tree walk fires their watches), with their and their parents' permissions.
   */
  rm(path: string, domid: number): XsResult<{ removed: { path: string; perms: XsPerms; parentPerms: XsPerms }[] }> {
    if (path === '/') return fail('EINVAL');
    const n = this.node(path);
    if (!n) {
      const e = this.missing(path, domid, WRITE);
      if (e !== 'ENOENT') return fail(e);
      return this.node(parentOf(path)) ? ok({ removed: [] }) : fail('ENOENT');
    }
    if (!(XsTree.permFor(n.perms, domid) & WRITE)) return fail('EACCES');
    const parent = this.node(parentOf(path))!;
    const removed: { path: string; perms: XsPerms; parentPerms: XsPerms }[] = [];
    const walk = (node: XsNode, p: string, parentPerms: XsPerms) => {
      for (const [name, c] of node.children) walk(c, `${p}/${name}`, node.perms);
      removed.push({ path: p, perms: node.perms, parentPerms });
    };
    walk(n, path, parent.perms);
    parent.children.delete(path.slice(path.lastIndexOf('/') + 1));
    this.touch(parent);
    return ok({ removed });
  }

  /**
   * SET_PERMS: the caller must own the node (or be dom0); an unprivileged caller may not give the
   * node away (EPERM) nor list more than its quota of entries (ENOSPC).
   */
  setPerms(path: string, p: XsPerms, domid: number, quota: XsQuota): XsResult<null> {
    const n = this.node(path);
    if (!n) return fail(this.missing(path, domid, WRITE));
    if (domid !== 0) {
      if (n.perms.owner !== domid) return fail('EACCES');
      if (p.owner !== domid) return fail('EPERM');
      if (1 + p.acl.size > quota.permsPerNode) return fail('ENOSPC');
    }
    n.perms = clonePerms(p);
    this.touch(n);
    return ok(null);
  }
}

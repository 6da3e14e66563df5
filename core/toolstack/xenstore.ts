/**
 * xenstore for the toolstack: calls into xenstored (core/guest/xenstore/xenstored.ts), which
 * keeps the tree of string values with per-node permissions. A node's first permission entry
 * names its owner, who may do anything, and what everyone else may do; further entries grant
 * particular domains read or write. Domain 0 may do anything anywhere. The toolstack writes each domain's nodes when it builds the domain
 * (/local/domain/<domid>/..., /vm/<uuid>/..., /libxl/<domid>/...) and removes them on destroy.
 */
import { Rng } from '../base/rng.js';
import type { Vm } from '../vm/vm.js';
import { Xenstored, isValidNodename } from '../guest/xenstore/xenstored.js';
import type { XenstoredOptions } from '../guest/xenstore/xenstored.js';
import { XsError as XsFailure } from '../guest/xenstore/client.js';
import type { XsClient } from '../guest/xenstore/client.js';
import { xsPerms } from '../guest/xenstore/tree.js';
import type { XsPerm, XsPerms, XsResult } from '../guest/xenstore/tree.js';
import type { XsErrno } from '../guest/xenstore/wire.js';

export type { XsPerm, XsPerms, XsResult };
/** An errno xenstored answers with (xs_wire.h's xsd_errors). */
export type XsError = XsErrno;

/** A valid absolute xenstore path (xenstored's is_valid_nodename). */
export function isValidPath(path: string): boolean {
  return isValidNodename(path);
}

const perms = xsPerms;

/**
 * The toolstack's view of xenstore: xenstored (core/guest/xenstore) reached over its socket as a
 * given domain, so that xenstored's own permission checks apply to every call.
 */
export class Xenstore {
  /** The daemon; domains' rings are introduced to it (xenstored.introduce) by whoever builds them. */
  readonly xenstored: Xenstored;
  private readonly conns = new Map<number, XsClient>();

  /** On the simulation's xenstored when it has one (a machine with devices), else a fresh one. */
  constructor(xenstored?: Xenstored | Omit<XenstoredOptions, 'rootPerms'>) {
    // The root stays readable to every domain, as this lab's toolstack has always had it.
    this.xenstored = xenstored instanceof Xenstored ? xenstored : new Xenstored({ ...(xenstored ?? {}), rootPerms: perms(0, 'r') });
  }

  /** The socket connection that acts as `caller`. */
  connection(caller: number): XsClient {
    let c = this.conns.get(caller);
    if (!c) {
      c = this.xenstored.socketConnection(caller);
      this.conns.set(caller, c);
    }
    return c;
  }

  private run<T>(caller: number, f: (c: XsClient) => T): XsResult<T> {
    try {
      return { ok: true, value: f(this.connection(caller)) };
    } catch (e) {
      if (e instanceof XsFailure) return { ok: false, errno: e.errno };
      throw e;
    }
  }

  read(path: string, caller: number): XsResult<string> {
    return this.run(caller, (c) => c.read(path));
  }

  /** Children's names, in the order they were written. */
  directory(path: string, caller: number): XsResult<string[]> {
    return this.run(caller, (c) => c.directory(path));
  }

  /**
   * Writes `value`, creating missing nodes on the way (each inheriting its parent's permissions,
   * owned by an unprivileged writer, as xenstored does), then sets `p` on the node if given.
   */
  write(path: string, value: string, caller: number, p?: XsPerms): XsResult<null> {
    return this.run(caller, (c) => {
      c.write(path, value);
      if (p) c.setPerms(path, p);
      return null;
    });
  }

  rm(path: string, caller: number): XsResult<null> {
    return this.run(caller, (c) => {
      c.rm(path);
      return null;
    });
  }

  /** Lines of `xenstore-ls path`: `name = "value"`, one space of indent per level; unreadable nodes are left out. */
  ls(path: string, caller: number): XsResult<string[]> {
    const top = this.directory(path, caller);
    if (!top.ok) return top;
    const c = this.connection(caller);
    const out: string[] = [];
    const walk = (dir: string, names: string[], depth: number) => {
      for (const name of names) {
        const p = dir === '/' ? `/${name}` : `${dir}/${name}`;
        let value: string;
        let kids: string[];
        try {
          value = c.read(p);
          kids = c.directory(p);
        } catch (e) {
          if (e instanceof XsFailure) continue;
          throw e;
        }
        out.push(`${' '.repeat(depth)}${name} = "${escapeValue(value)}"`);
        walk(p, kids, depth + 1);
      }
    };
    walk(path, top.value, 0);
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
    // static-max is the domain's maxmem (xl.cfg maxmem; its memory when none), the ceiling of mem-set.
    // A simulation with xenstore rings wrote both when it built the domain (its balloon driver
    // watches memory/target): they are not written again, which would fire that watch.
    const has = (rel: string) => this.read(`${base}/${rel}`, 0).ok;
    if (!has('memory/static-max')) w('memory/static-max', String(d.dom.nrPages * 4));
    if (!has('memory/target')) w('memory/target', kib, perms(id, 'n'));
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
    // xenstored notices the domain is gone: its connection goes and @releaseDomain fires.
    if (d.domid !== 0 && this.xenstored.isIntroduced(d.domid)) this.xenstored.release(d.domid);
    this.conns.get(d.domid)?.close();
    this.conns.delete(d.domid);
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

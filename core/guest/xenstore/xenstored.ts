/**
 * xenstored, the xenstore daemon (tools/xenstored/: core.c, domain.c, watch.c, transaction.c),
 * which in the lab runs in dom0. It keeps the tree (tree.ts), one connection per introduced
 * domain — a shared ring page (ring.ts) and an event channel — and direct "socket" connections
 * for dom0's own tools. Requests follow docs/misc/xenstore.txt; every failure is an XS_ERROR reply
 * naming the errno, never an exception.
 */
import { XsRing, XENSTORE_ERROR_PROTO, XENSTORE_ERROR_RINGIDX, XENSTORE_SERVER_FEATURE_ERROR, XENSTORE_SERVER_FEATURE_RECONNECTION } from './ring.js';
import { READ, XsTree, fail, ok, parentOf, permsFromStrings, permsToStrings, xsPerms } from './tree.js';
import type { XsPerms, XsQuota, XsResult } from './tree.js';
import {
  XENSTORE_PAYLOAD_MAX, XENSTORE_REL_PATH_MAX, XS_DIRECTORY, XS_DIRECTORY_PART, XS_ERROR, XS_GET_DOMAIN_PATH,
  XS_GET_PERMS, XS_INTRODUCE, XS_IS_DOMAIN_INTRODUCED, XS_MKDIR, XS_READ, XS_RELEASE, XS_RESET_WATCHES, XS_RM,
  XS_SET_PERMS, XS_TRANSACTION_END, XS_TRANSACTION_START, XS_UNWATCH, XS_WATCH, XS_WATCH_EVENT, XS_WRITE,
  decodeMsg, directoryPartPayload, encodeMsg, errorMsg, fromUtf8, splitStrings, strings, utf8,
} from './wire.js';
import type { XsMsg } from './wire.js';
import { XsClient } from './client.js';
import { canonicalize, isChild, isValidNodename, oneArg, parseDecimal, relative } from './path.js';

export { isValidNodename };

/**
 * dom0 CPU cycles xenstored spends on one request, from reading it off the ring to queueing the
 * reply: an estimate, not a measurement. C xenstored parses the message, allocates with talloc,
 * looks the node up in its database (a TDB hash lookup and unpacking the node record), checks
 * permissions, writes back and matches every watch for a change; ~10 µs per request (tens of
 * thousands of requests per second on one core — xenstore.txt: "xenstore is not a
 * high-performance facility"), i.e. 30,000 cycles at 3 GHz. It excludes the event-channel
 * notifications and dom0's scheduling, which the cost table counts on their own.
 */
export const XENSTORED_REQUEST_CYCLES = 30_000;

/** tools/xenstored/core.c defaults: quota_nb_entry_per_domain, quota_max_entry_size, quota_nb_perms_per_node. */
export const XS_DEFAULT_QUOTA: XsQuota = { nodes: 1000, entrySize: 2048, permsPerNode: 5 };
/** core.c: quota_nb_watch_per_domain (past it, WATCH answers E2BIG, watch.c do_watch). */
export const XS_QUOTA_WATCHES = 128;
/** core.c: quota_max_transaction (past it, TRANSACTION_START answers ENOSPC). */
export const XS_QUOTA_TRANSACTIONS = 10;
/** xen.h: DOMID_FIRST_RESERVED; INTRODUCE needs a real domain id. */
const DOMID_FIRST_RESERVED = 0x7ff0;

export const XS_INTRODUCE_DOMAIN = '@introduceDomain';
export const XS_RELEASE_DOMAIN = '@releaseDomain';

interface Watch {
  /** As the domain gave it (relative or absolute or @special). */
  given: string;
  /** Absolute, or the @special name. */
  path: string;
  token: string;
}

type Op =
  | { kind: 'write'; path: string; value: string }
  | { kind: 'mkdir'; path: string }
  | { kind: 'rm'; path: string }
  | { kind: 'perms'; path: string; perms: XsPerms };

interface Transaction {
  id: number;
  tree: XsTree;
  /** Generation of every node read or written, as in the snapshot (-1: absent). */
  accessed: Map<string, number>;
  ops: Op[];
}

interface Conn {
  domid: number;
  ring?: XsRing;
  port?: number;
  mfn?: number;
  /** Bytes read from the ring that do not yet make a whole message (xenstored's conn->in). */
  inBuf: Uint8Array;
  /** Encoded replies and events not yet on the ring. */
  outBuf: Uint8Array;
  /** Socket connections: messages waiting for the client. */
  queue: XsMsg[];
  watches: Watch[];
  txs: Map<number, Transaction>;
  nextTx: number;
  /** A protocol violation made xenstored stop talking to it (ignore_connection). */
  ignored: boolean;
  /** Socket connections: told when an event arrives. */
  onEvent?: () => void;
}

export interface XenstoredOptions {
  /** The frame of a machine frame number (MachineMemory.frame), for INTRODUCE. */
  frame?: (mfn: number) => Uint32Array | undefined;
  /** Notify a domain on its xenstore event channel (after replies or events were queued on its ring). */
  notify?: (domid: number, port: number) => void;
  quota?: Partial<XsQuota>;
  /** The root's permissions; xenstored's own setup gives it to dom0 with no access for others. */
  rootPerms?: XsPerms;
}

const cat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  if (a.length === 0) return b;
  const o = new Uint8Array(a.length + b.length);
  o.set(a);
  o.set(b, a.length);
  return o;
};

export class Xenstored {
  readonly tree: XsTree;
  readonly quota: XsQuota;
  private readonly conns = new Map<number, Conn>();
  /**
   * The special nodes' permissions: dom0's with no access for others until dom0 grants it with
   * SET_PERMS (core.c set_perms_special), e.g. a driver domain that must hear of @releaseDomain.
   */
  private readonly special = new Map<string, XsPerms>([[XS_INTRODUCE_DOMAIN, xsPerms(0, 'n')], [XS_RELEASE_DOMAIN, xsPerms(0, 'n')]]);
  private readonly sockets = new Set<Conn>();
  /** Requests handled, on any connection. */
  requests = 0;
  /**
   * Requests domains sent over their ring pages: the work xenstored does on dom0's CPU for the
   * guests' kernels (× XENSTORED_REQUEST_CYCLES). The toolstack's own requests over the socket
   * are setup work in dom0, not charged, as the domain builder's is not.
   */
  ringRequests = 0;
  /** What must follow the current reply on the wire (a new watch's first event). */
  private after: (() => void)[] = [];
  /** Socket connections with events to tell, once the request in hand is finished. */
  private readonly wake = new Set<Conn>();
  private depth = 0;

  private readonly opts: XenstoredOptions;

  constructor(opts: XenstoredOptions = {}) {
    this.opts = { ...opts };
    this.tree = new XsTree(opts.rootPerms ?? xsPerms(0, 'n'));
    this.quota = { ...XS_DEFAULT_QUOTA, ...opts.quota };
  }

  /** Connects the daemon to the machine after construction: frames for INTRODUCE, event-channel notify. */
  attach(hooks: Pick<XenstoredOptions, 'frame' | 'notify'>): void {
    if (hooks.frame) this.opts.frame = hooks.frame;
    if (hooks.notify) this.opts.notify = hooks.notify;
  }

  private newConn(domid: number): Conn {
    return { domid, inBuf: new Uint8Array(0), outBuf: new Uint8Array(0), queue: [], watches: [], txs: new Map(), nextTx: 1, ignored: false };
  }

  /**
   * INTRODUCE as the toolstack does it for a new domain: map its xenstore page and bind its event
   * channel. Fires @introduceDomain.
   */
  introduce(domid: number, mfn: number, port: number): XsResult<null> {
    if (!Number.isInteger(domid) || domid <= 0 || domid >= DOMID_FIRST_RESERVED) return fail('EINVAL');
    const old = this.conns.get(domid);
    if (old?.ring) {
      // Introducing a known domain again only rebinds its event channel (domain.c introduce_domain).
      old.port = port;
      return ok(null);
    }
    const frame = this.opts.frame?.(mfn);
    if (!frame) return fail('EINVAL');
    const c = this.newConn(domid);
    c.ring = new XsRing(frame);
    c.mfn = mfn;
    c.port = port;
    c.ring.serverFeatures = XENSTORE_SERVER_FEATURE_RECONNECTION | XENSTORE_SERVER_FEATURE_ERROR;
    this.conns.set(domid, c);
    this.fireSpecial(XS_INTRODUCE_DOMAIN);
    this.flush();
    this.wakeSockets();
    return ok(null);
  }

  /** RELEASE / domain destruction: drop the connection (its watches and transactions) and fire @releaseDomain. */
  release(domid: number): XsResult<null> {
    if (!this.conns.delete(domid)) return fail('ENOENT');
    this.fireSpecial(XS_RELEASE_DOMAIN);
    this.flush();
    this.wakeSockets();
    return ok(null);
  }

  isIntroduced(domid: number): boolean {
    return domid === 0 || this.conns.has(domid);
  }

  /** A direct connection (xenstored's unix socket, /dev/xen/xenbus for a guest's own tools) as `domid`. */
  socketConnection(domid = 0): XsClient {
    const c = this.newConn(domid);
    this.sockets.add(c);
    const client: XsClient = new XsClient({
      send: (m) => this.respond(c, m, (r) => c.queue.push(r)),
      kick: () => {},
      receive: () => c.queue.splice(0),
      close: () => { this.sockets.delete(c); },
    });
    c.onEvent = () => client.poll();
    return client;
  }

  /**
   * One request from `domid`'s ring connection (dom0 may always talk: it has its own). Returns the
   * reply; watch events it causes are queued on the watchers' connections.
   */
  handle(domid: number, msg: XsMsg): XsMsg {
    let c = this.conns.get(domid);
    if (!c && domid === 0) {
      c = this.newConn(0);
      this.conns.set(0, c);
    }
    if (!c) return errorMsg(msg, 'EACCES');
    let reply = errorMsg(msg, 'EIO');
    this.respond(c, msg, (r) => { reply = r; });
    this.flush();
    return reply;
  }

  /**
   * Consumes whole requests from `domid`'s ring, writes the replies and any queued events back
   * and notifies the domain. A payload longer than XENSTORE_PAYLOAD_MAX or corrupt ring indexes
   * make xenstored stop serving the ring, with the reason in its error field (core.c
   * ignore_connection; xenstore.txt: the connection is "immediately killed"). Returns the number
   * of requests handled.
   */
  serviceRing(domid: number): number {
    const c = this.conns.get(domid);
    if (!c?.ring || c.ignored) return 0;
    let handled = 0;
    for (;;) {
      if (c.ring.fill('req') < 0) { this.ignore(c, XENSTORE_ERROR_RINGIDX); break; }
      const got = c.ring.backRead();
      if (got.length) c.inBuf = cat(c.inBuf, got);
      let progressed = false;
      for (;;) {
        const m = decodeMsg(c.inBuf);
        if (!m) break;
        if (m.tooLong) { this.ignore(c, XENSTORE_ERROR_PROTO); return handled; }
        c.inBuf = c.inBuf.slice(m.size);
        this.respond(c, m, (r) => { c.outBuf = cat(c.outBuf, encodeMsg(r)); });
        handled++;
        this.ringRequests++;
        progressed = true;
      }
      this.flush();
      if (!progressed && got.length === 0) break;
    }
    return handled;
  }

  private ignore(c: Conn, err: number): void {
    c.ignored = true;
    c.ring!.error = err;
    c.watches = [];
    c.txs.clear();
  }

  /** Writes pending output to every ring with room, notifying the domains that got some. */
  private flush(): void {
    for (const c of this.conns.values()) {
      if (!c.ring || c.ignored || c.outBuf.length === 0) continue;
      const n = c.ring.backWrite(c.outBuf);
      if (n === 0) continue;
      c.outBuf = c.outBuf.slice(n);
      if (c.port !== undefined) this.opts.notify?.(c.domid, c.port);
    }
  }

  private queueOut(c: Conn, m: XsMsg): void {
    if (c.ring) c.outBuf = cat(c.outBuf, encodeMsg(m));
    else {
      c.queue.push(m);
      if (c.onEvent) this.wake.add(c);
    }
  }

  // ---- watches ----

  /** A special event goes to the watchers that may read the special node (dom0, and whom it granted). */
  private fireSpecial(name: string): void {
    const perms = this.special.get(name)!;
    for (const c of this.allConns()) {
      if (!(XsTree.permFor(perms, c.domid) & READ)) continue;
      for (const w of c.watches) if (w.path === name) this.event(c, w.given, w.token);
    }
  }

  /** GET_PERMS / SET_PERMS on @introduceDomain or @releaseDomain: reading needs read, setting ownership. */
  private specialPerms(c: Conn, name: string, set?: XsPerms): XsResult<Uint8Array> {
    const p = this.special.get(name);
    if (!p) return fail('ENOENT');
    const mine = XsTree.permFor(p, c.domid);
    if (!set) return mine & READ ? ok(strings(...permsToStrings(p))) : fail('EACCES');
    if (c.domid !== 0 && p.owner !== c.domid) return fail('EACCES');
    if (c.domid !== 0 && set.owner !== p.owner) return fail('EPERM');
    this.special.set(name, set);
    return ok(strings('OK'));
  }

  private allConns(): Conn[] {
    return [...this.conns.values(), ...this.sockets].filter((c) => !c.ignored);
  }

  private event(c: Conn, path: string, token: string): void {
    this.queueOut(c, { type: XS_WATCH_EVENT, reqId: 0, txId: 0, payload: strings(path, token) });
  }

  /**
   * A change at `path` (watch.c fire_watches): every watch on it or an ancestor fires with
   * `path`; `exact` (a node removed below the removal's root) fires only watches on that very
   * path. A watcher hears it only if it may read the node or its parent (or could read the node
   * before a permission change) — watch_permitted.
   */
  private fire(path: string, exact: boolean, perms: XsPerms, parentPerms: XsPerms | undefined, oldPerms?: XsPerms): void {
    for (const c of this.allConns()) {
      const may = (p: XsPerms | undefined) => p !== undefined && (XsTree.permFor(p, c.domid) & READ) !== 0;
      if (!may(oldPerms) && !may(perms) && !may(parentPerms)) continue;
      for (const w of c.watches) {
        if (w.path.startsWith('@')) continue;
        if (exact ? w.path !== path : !isChild(path, w.path)) continue;
        this.event(c, w.given === w.path ? path : relative(path, c.domid), w.token);
      }
    }
  }

  // ---- requests ----

  /** Handles `m`, hands the reply to `deliver`, then queues what must follow it. */
  private respond(c: Conn, m: XsMsg, deliver: (reply: XsMsg) => void): void {
    this.depth++;
    try {
      this.after = [];
      const reply = this.process(c, m);
      const then = this.after;
      this.after = [];
      deliver(reply);
      for (const f of then) f();
    } finally {
      this.depth--;
    }
    if (this.depth === 0) this.flush();
    this.wakeSockets();
  }

  /** Hands queued events to socket clients (outside any request, so their callbacks may make new ones). */
  private wakeSockets(): void {
    if (this.depth > 0) return;
    while (this.wake.size) {
      const c = this.wake.values().next().value!;
      this.wake.delete(c);
      if (this.sockets.has(c)) c.onEvent?.();
    }
  }

  /** Watch events queued for a ring-less connection of `domid` (dom0's own, used by handle()). */
  takeEvents(domid: number): XsMsg[] {
    const c = this.conns.get(domid);
    return c && !c.ring ? c.queue.splice(0) : [];
  }

  private process(c: Conn, m: XsMsg): XsMsg {
    this.requests++;
    const r = this.dispatch(c, m);
    if (!r.ok) return errorMsg(m, r.errno);
    // core.c send_reply: a reply that would not fit is E2BIG (DIRECTORY_PART exists for long lists).
    if (r.value.length > XENSTORE_PAYLOAD_MAX) return errorMsg(m, 'E2BIG');
    return { type: m.type, reqId: m.reqId, txId: m.txId, payload: r.value };
  }

  private dispatch(c: Conn, m: XsMsg): XsResult<Uint8Array> {
    if (m.payload.length > XENSTORE_PAYLOAD_MAX) return fail('E2BIG');
    const OK = ok(strings('OK'));
    const priv = c.domid === 0;
    switch (m.type) {
      case XS_READ: case XS_DIRECTORY: case XS_GET_PERMS: case XS_MKDIR: case XS_RM: {
        const a = oneArg(m.payload);
        if (a === null) return fail('EINVAL');
        if (m.type === XS_GET_PERMS && a.startsWith('@')) return this.specialPerms(c, a);
        const path = canonicalize(c.domid, a);
        if (!path.ok) return path;
        return this.treeOp(c, m, { path: path.value });
      }
      case XS_DIRECTORY_PART: {
        const a = splitStrings(m.payload);
        if (!a || a.length !== 2) return fail('EINVAL');
        const path = canonicalize(c.domid, a[0]!);
        if (!path.ok) return path;
        // core.c reads the offset with atoi(): anything unparsable is 0.
        return this.directoryPart(c, m, path.value, Math.max(0, parseInt(a[1]!, 10) || 0));
      }
      case XS_WRITE: {
        const nul = m.payload.indexOf(0);
        if (nul < 0) return fail('EINVAL');
        const path = canonicalize(c.domid, fromUtf8(m.payload.subarray(0, nul)));
        if (!path.ok) return path;
        return this.treeOp(c, m, { path: path.value, value: fromUtf8(m.payload.subarray(nul + 1)) });
      }
      case XS_SET_PERMS: {
        const a = splitStrings(m.payload);
        if (!a || a.length < 2) return fail('EINVAL');
        const p = permsFromStrings(a.slice(1).filter((s, i, all) => !(i === all.length - 1 && s === '')));
        if (!p) return fail('EINVAL');
        if (!priv && 1 + p.acl.size > this.quota.permsPerNode) return fail('ENOSPC');
        if (a[0]!.startsWith('@')) return this.specialPerms(c, a[0]!, p);
        const path = canonicalize(c.domid, a[0]!);
        if (!path.ok) return path;
        return this.treeOp(c, m, { path: path.value, perms: p });
      }
      case XS_WATCH: case XS_UNWATCH: {
        const a = splitStrings(m.payload);
        if (!a || a.length < 2) return fail('EINVAL');
        const [given, token] = [a[0]!, a[1]!];
        let path = given;
        if (!given.startsWith('@')) {
          const r = canonicalize(c.domid, given);
          if (!r.ok) return r;
          path = r.value;
        } else if (given.length > XENSTORE_REL_PATH_MAX) return fail('EINVAL');
        const i = c.watches.findIndex((w) => w.path === path && w.token === token);
        if (m.type === XS_UNWATCH) {
          if (i < 0) return fail('ENOENT');
          c.watches.splice(i, 1);
          return OK;
        }
        if (i >= 0) return fail('EEXIST');
        if (!priv && c.watches.length > XS_QUOTA_WATCHES) return fail('E2BIG'); // watch.c: domain_watch(conn) > quota
        c.watches.push({ given, path, token });
        // watch.c: "We fire once up front: simplifies clients and restart." (after the ack)
        this.after.push(() => this.event(c, given, token));
        return OK;
      }
      case XS_TRANSACTION_START: {
        // process_message looks tx_id up first (unknown: ENOENT); transaction.c: "We don't support
        // nested transactions" (EBUSY); the quota test is `started > quota`, as written there.
        if (m.txId !== 0) return fail(c.txs.has(m.txId) ? 'EBUSY' : 'ENOENT');
        if (!priv && c.txs.size > XS_QUOTA_TRANSACTIONS) return fail('ENOSPC');
        let id = c.nextTx;
        while (id === 0 || c.txs.has(id)) id = (id + 1) >>> 0;
        c.nextTx = (id + 1) >>> 0;
        c.txs.set(id, { id, tree: this.tree.clone(), accessed: new Map(), ops: [] });
        return ok(strings(String(id)));
      }
      case XS_TRANSACTION_END: {
        const a = oneArg(m.payload);
        if (a !== 'T' && a !== 'F') return fail('EINVAL');
        const tx = c.txs.get(m.txId);
        if (!tx) return fail('ENOENT');
        c.txs.delete(m.txId);
        if (a === 'F') return OK;
        return this.commit(c, tx) ? OK : fail('EAGAIN');
      }
      case XS_INTRODUCE: {
        if (!priv) return fail('EACCES');
        const a = splitStrings(m.payload);
        if (!a || a.length < 3) return fail('EINVAL');
        const [domid, mfn, port] = a.slice(0, 3).map(parseDecimal);
        if (domid === null || mfn === null || port === null) return fail('EINVAL');
        const r = this.introduce(domid!, mfn!, port!);
        return r.ok ? OK : r;
      }
      case XS_RELEASE: {
        if (!priv) return fail('EACCES');
        const d = parseDecimal(oneArg(m.payload) ?? '');
        if (d === null || d === 0) return fail('EINVAL');
        const r = this.release(d);
        return r.ok ? OK : r;
      }
      case XS_GET_DOMAIN_PATH: {
        const d = parseDecimal(oneArg(m.payload) ?? '');
        if (d === null) return fail('EINVAL');
        return ok(strings(`/local/domain/${d}`));
      }
      case XS_IS_DOMAIN_INTRODUCED: {
        if (!priv) return fail('EACCES');
        const d = parseDecimal(oneArg(m.payload) ?? '');
        if (d === null) return fail('EINVAL');
        return ok(strings(this.isIntroduced(d) ? 'T' : 'F'));
      }
      case XS_RESET_WATCHES:
        c.watches = [];
        c.txs.clear();
        return OK;
      case XS_ERROR: case XS_WATCH_EVENT:
        return fail('EINVAL');
      default:
        // core.c process_message: "Client unknown operation" → ENOSYS (also what this daemon leaves out:
        // CONTROL, RESUME, SET_TARGET, RESTRICT).
        return fail('ENOSYS');
    }
  }

  /**
   * DIRECTORY_PART (xenstore.txt): the node's generation count, then the children's names from
   * byte `offset` of the whole NUL-separated list, as many as fit; an empty name (a second NUL)
   * marks the end of the list.
   */
  private directoryPart(c: Conn, m: XsMsg, path: string, offset: number): XsResult<Uint8Array> {
    const tx = m.txId !== 0 ? c.txs.get(m.txId) : undefined;
    if (m.txId !== 0 && !tx) return fail('ENOENT');
    if (tx && !tx.accessed.has(path)) tx.accessed.set(path, tx.tree.genOf(path));
    const r = (tx?.tree ?? this.tree).get(path, c.domid, READ);
    if (!r.ok) return r;
    return ok(directoryPartPayload(r.value.gen, [...r.value.children.keys()], offset));
  }

  /** A tree operation, inside the connection's transaction when tx_id names one. */
  private treeOp(c: Conn, m: XsMsg, a: { path: string; value?: string; perms?: XsPerms }): XsResult<Uint8Array> {
    let tx: Transaction | undefined;
    if (m.txId !== 0) {
      tx = c.txs.get(m.txId);
      if (!tx) return fail('ENOENT');
    }
    const tree = tx?.tree ?? this.tree;
    const note = (p: string) => { if (tx && !tx.accessed.has(p)) tx.accessed.set(p, tx.tree.genOf(p)); };
    const OK = ok(strings('OK'));
    const { path } = a;
    switch (m.type) {
      case XS_READ: {
        note(path);
        const r = tree.get(path, c.domid, READ);
        return r.ok ? ok(utf8(r.value.value)) : r;
      }
      case XS_DIRECTORY: {
        note(path);
        const r = tree.get(path, c.domid, READ);
        return r.ok ? ok(strings(...r.value.children.keys())) : r;
      }
      case XS_GET_PERMS: {
        note(path);
        const r = tree.get(path, c.domid, READ);
        return r.ok ? ok(strings(...permsToStrings(r.value.perms))) : r;
      }
    }
    // Modifications: note the node, and every ancestor up to the first existing one (their
    // children change); the parent of a removed node likewise.
    if (tx) {
      note(path);
      if (m.type === XS_RM) note(parentOf(path));
      else for (let p = path; p !== '/' && !tx.tree.node(p); ) { p = parentOf(p); note(p); }
    }
    const op: Op = m.type === XS_WRITE ? { kind: 'write', path, value: a.value! }
      : m.type === XS_MKDIR ? { kind: 'mkdir', path }
      : m.type === XS_RM ? { kind: 'rm', path }
      : { kind: 'perms', path, perms: a.perms! };
    const r = this.apply(tree, op, c.domid, !tx);
    if (!r.ok) return r;
    tx?.ops.push(op);
    return OK;
  }

  /** One modification on `tree` as `domid`; fires watches when it is the live tree. */
  private apply(tree: XsTree, op: Op, domid: number, live: boolean): XsResult<null> {
    switch (op.kind) {
      case 'write': case 'mkdir': {
        const r = op.kind === 'write' ? tree.write(op.path, op.value, domid, this.quota) : tree.mkdir(op.path, domid, this.quota);
        if (!r.ok) return r;
        if (live && (op.kind === 'write' || r.value.created.length)) this.fire(op.path, false, tree.node(op.path)!.perms, tree.node(parentOf(op.path))?.perms);
        return ok(null);
      }
      case 'rm': {
        const r = tree.rm(op.path, domid);
        if (!r.ok) return r;
        // delnode_sub: each removed node fires, children before parents; only the root of the
        // removal matches watches above it, the others only watches on exactly their path.
        if (live) for (const n of r.value.removed) this.fire(n.path, n.path !== op.path, n.perms, n.parentPerms);
        return ok(null);
      }
      case 'perms': {
        const old = tree.node(op.path)?.perms;
        const r = tree.setPerms(op.path, op.perms, domid, this.quota);
        if (r.ok && live) this.fire(op.path, false, op.perms, tree.node(parentOf(op.path))?.perms, old);
        return r;
      }
    }
  }

  /**
   * TRANSACTION_END "T": fails (EAGAIN, nothing applied) when a node the transaction read or
   * wrote changed since it began; otherwise replays its changes on the live tree, which fires
   * their watches (transaction.c).
   */
  private commit(c: Conn, tx: Transaction): boolean {
    for (const [p, g] of tx.accessed) if (this.tree.genOf(p) !== g) return false;
    for (const op of tx.ops) this.apply(this.tree, op, c.domid, true);
    return true;
  }
}

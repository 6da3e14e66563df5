/**
 * A domain's side of xenstore (Linux drivers/xen/xenbus/xenbus_xs.c and xenbus_comms.c): each
 * call encodes one request, puts it on the transport — the shared ring page, then a kick of the
 * xenstore event channel; or xenstored's socket for dom0's tools — and decodes the reply.
 *
 * Errors: an XS_ERROR reply is thrown as an XsError carrying the errno's name (`e.errno`), as
 * Linux's xenbus_xs.c turns it into a negative errno. WATCH_EVENT messages read along the way, or
 * by poll() when the event channel fires, go to `onWatch(path, token)`.
 */
import { XsRing } from './ring.js';
import { permsFromStrings, permsToStrings } from './tree.js';
import type { XsPerms } from './tree.js';
import {
  XS_DIRECTORY, XS_DIRECTORY_PART, XS_ERROR, XS_GET_DOMAIN_PATH, XS_GET_PERMS, XS_INTRODUCE, XS_IS_DOMAIN_INTRODUCED, XS_MKDIR,
  XS_READ, XS_RELEASE, XS_RM, XS_SET_PERMS, XS_TRANSACTION_END, XS_TRANSACTION_START, XS_UNWATCH, XS_WATCH,
  XS_WATCH_EVENT, XS_WRITE, decodeMsg, encodeMsg, fromUtf8, isXsErrno, splitStrings, strings, stringsThen, utf8,
} from './wire.js';
import type { XsErrno, XsMsg } from './wire.js';

export class XsError extends Error {
  constructor(readonly errno: XsErrno, readonly op = '') {
    super(op ? `${op}: ${errno}` : errno);
    this.name = 'XsError';
  }
}

/** How a client reaches xenstored. */
export interface XsTransport {
  send(m: XsMsg): void;
  /** Tell xenstored there is something to read (the event channel notify); a no-op on a socket. */
  kick(): void;
  /** Whole messages that have arrived. */
  receive(): XsMsg[];
  close?(): void;
}

/** The ring page as a transport (xenbus_comms.c xb_write / xb_read). */
export function ringTransport(ring: XsRing, kick: () => void): XsTransport {
  let inBuf = new Uint8Array(0);
  return {
    send(m) {
      const bytes = encodeMsg(m);
      let off = 0;
      let stalled = false;
      for (;;) {
        const n = ring.frontWrite(bytes.subarray(off));
        off += n;
        if (off >= bytes.length) break;
        // The request ring is full: let xenstored drain it (xb_write waits for space); a ring
        // xenstored no longer serves never drains.
        if (n === 0 && stalled) throw new XsError('EIO', 'xb_write');
        stalled = n === 0;
        kick();
      }
    },
    kick,
    receive() {
      // xb_read: after consuming, notify xenstored so it can refill the ring (a reply may be
      // longer than the ring and arrive in pieces).
      for (;;) {
        const got = ring.frontRead();
        if (got.length === 0) break;
        const b = new Uint8Array(inBuf.length + got.length);
        b.set(inBuf);
        b.set(got, inBuf.length);
        inBuf = b;
        kick();
      }
      const out: XsMsg[] = [];
      for (;;) {
        const m = decodeMsg(inBuf);
        if (!m || m.tooLong) break;
        inBuf = inBuf.slice(m.size);
        out.push({ type: m.type, reqId: m.reqId, txId: m.txId, payload: m.payload });
      }
      return out;
    },
  };
}

export class XsClient {
  /** Called for every watch event, with the event's path and the watch's token. */
  onWatch: ((path: string, token: string) => void) | null = null;
  private nextReq = 1;
  private readonly replies = new Map<number, XsMsg>();

  constructor(private readonly transport: XsTransport) {}

  /** A client on a domain's ring page; `kick` notifies xenstored's end of the event channel. */
  static overRing(frame: Uint32Array | Uint8Array, kick: () => void): XsClient {
    return new XsClient(ringTransport(new XsRing(frame), kick));
  }

  /** Reads what has arrived: replies are kept for their requests, watch events handed to onWatch. */
  poll(): void {
    for (const m of this.transport.receive()) {
      if (m.type === XS_WATCH_EVENT) {
        const a = splitStrings(m.payload);
        if (a && a.length >= 2) this.onWatch?.(a[0]!, a[1]!);
      } else this.replies.set(m.reqId, m);
    }
  }

  /** One request; the reply as it came (XS_ERROR included). No reply at all is EIO. */
  request(type: number, payload: Uint8Array, txId = 0): XsMsg {
    const reqId = this.nextReq;
    this.nextReq = (this.nextReq + 1) >>> 0 || 1;
    this.transport.send({ type, reqId, txId, payload });
    this.transport.kick();
    this.poll();
    const r = this.replies.get(reqId);
    if (!r) throw new XsError('EIO', 'no reply from xenstored');
    this.replies.delete(reqId);
    return r;
  }

  private call(op: string, type: number, payload: Uint8Array, txId = 0): Uint8Array {
    const r = this.request(type, payload, txId);
    if (r.type === XS_ERROR) {
      const name = fromUtf8(r.payload).replace(/\0$/, '');
      throw new XsError(isXsErrno(name) ? name : 'EIO', op);
    }
    return r.payload;
  }

  private list(p: Uint8Array): string[] {
    return p.length === 0 ? [] : (splitStrings(p) ?? []);
  }

  read(path: string, tx = 0): string {
    return fromUtf8(this.call('read', XS_READ, strings(path), tx));
  }

  write(path: string, value: string, tx = 0): void {
    this.call('write', XS_WRITE, stringsThen([path], utf8(value)), tx);
  }

  mkdir(path: string, tx = 0): void {
    this.call('mkdir', XS_MKDIR, strings(path), tx);
  }

  rm(path: string, tx = 0): void {
    this.call('rm', XS_RM, strings(path), tx);
  }

  /**
   * The children's names. A list too long for one reply (E2BIG) is fetched with DIRECTORY_PART,
   * starting again if the node changed between parts (its generation count moved), as
   * libxenstore's xs_directory does.
   */
  directory(path: string, tx = 0): string[] {
    try {
      return this.list(this.call('directory', XS_DIRECTORY, strings(path), tx));
    } catch (e) {
      if (!(e instanceof XsError) || e.errno !== 'E2BIG') throw e;
    }
    for (;;) {
      const names: string[] = [];
      let gen: string | undefined;
      let offset = 0;
      let restart = false;
      for (;;) {
        const part = this.list(this.call('directory_part', XS_DIRECTORY_PART, strings(path, String(offset)), tx));
        const [g, ...rest] = part;
        if (gen !== undefined && g !== gen) { restart = true; break; }
        gen = g;
        const done = rest.length > 0 && rest[rest.length - 1] === '';
        const got = done ? rest.slice(0, -1) : rest;
        names.push(...got);
        offset += got.reduce((a, n) => a + utf8(n).length + 1, 0);
        if (done) break;
        if (got.length === 0) throw new XsError('EIO', 'directory_part');
      }
      if (!restart) return names;
    }
  }

  getPerms(path: string, tx = 0): XsPerms {
    const p = permsFromStrings(this.list(this.call('get_perms', XS_GET_PERMS, strings(path), tx)));
    if (!p) throw new XsError('EIO', 'get_perms');
    return p;
  }

  setPerms(path: string, perms: XsPerms, tx = 0): void {
    this.call('set_perms', XS_SET_PERMS, strings(path, ...permsToStrings(perms)), tx);
  }

  watch(path: string, token: string): void {
    this.call('watch', XS_WATCH, strings(path, token));
  }

  unwatch(path: string, token: string): void {
    this.call('unwatch', XS_UNWATCH, strings(path, token));
  }

  /** A new transaction's id. */
  transactionStart(): number {
    return Number(this.list(this.call('transaction_start', XS_TRANSACTION_START, strings('')))[0]);
  }

  /** Commits (`commit` true: "T") or discards ("F"); a conflicting commit throws XsError EAGAIN. */
  transactionEnd(tx: number, commit: boolean): void {
    this.call('transaction_end', XS_TRANSACTION_END, strings(commit ? 'T' : 'F'), tx);
  }

  getDomainPath(domid: number): string {
    return this.list(this.call('get_domain_path', XS_GET_DOMAIN_PATH, strings(String(domid))))[0] ?? '';
  }

  introduce(domid: number, mfn: number, port: number): void {
    this.call('introduce', XS_INTRODUCE, strings(String(domid), String(mfn), String(port)));
  }

  release(domid: number): void {
    this.call('release', XS_RELEASE, strings(String(domid)));
  }

  isDomainIntroduced(domid: number): boolean {
    return this.list(this.call('is_domain_introduced', XS_IS_DOMAIN_INTRODUCED, strings(String(domid))))[0] === 'T';
  }

  close(): void {
    this.transport.close?.();
  }
}

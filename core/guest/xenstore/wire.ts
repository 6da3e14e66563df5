/**
 * The xenstore wire protocol (xen/include/public/io/xs_wire.h, docs/misc/xenstore.txt): every
 * message in either direction is a 16-byte header — struct xsd_sockmsg { u32 type, req_id, tx_id,
 * len }, little-endian on x86 — followed by `len` bytes of payload, generally NUL-terminated
 * strings. Errors travel as the errno's name ("ENOENT"), never its number.
 */

/** enum xsd_sockmsg_type (xs_wire.h): the order is the ABI. */
export const XS_CONTROL = 0;
/** The old name of XS_CONTROL (xs_wire.h: `XS_DEBUG = XS_CONTROL`). */
export const XS_DEBUG = 0;
export const XS_DIRECTORY = 1;
export const XS_READ = 2;
export const XS_GET_PERMS = 3;
export const XS_WATCH = 4;
export const XS_UNWATCH = 5;
export const XS_TRANSACTION_START = 6;
export const XS_TRANSACTION_END = 7;
export const XS_INTRODUCE = 8;
export const XS_RELEASE = 9;
export const XS_GET_DOMAIN_PATH = 10;
export const XS_WRITE = 11;
export const XS_MKDIR = 12;
export const XS_RM = 13;
export const XS_SET_PERMS = 14;
export const XS_WATCH_EVENT = 15;
export const XS_ERROR = 16;
export const XS_IS_DOMAIN_INTRODUCED = 17;
export const XS_RESUME = 18;
export const XS_SET_TARGET = 19;
export const XS_RESTRICT = 20;
export const XS_RESET_WATCHES = 21;
export const XS_DIRECTORY_PART = 22;
/** xs_wire.h: "Guaranteed to remain an invalid type". */
export const XS_INVALID = 0xffff;

/** Names by type value, for logs and the inspector. */
export const XS_TYPE_NAMES: readonly string[] = [
  'CONTROL', 'DIRECTORY', 'READ', 'GET_PERMS', 'WATCH', 'UNWATCH', 'TRANSACTION_START',
  'TRANSACTION_END', 'INTRODUCE', 'RELEASE', 'GET_DOMAIN_PATH', 'WRITE', 'MKDIR', 'RM', 'SET_PERMS',
  'WATCH_EVENT', 'ERROR', 'IS_DOMAIN_INTRODUCED', 'RESUME', 'SET_TARGET', 'RESTRICT',
  'RESET_WATCHES', 'DIRECTORY_PART',
];

/**
 * struct xsd_errors xsd_errors[] (xs_wire.h), in the header's order, with Linux's errno numbers
 * (include/uapi/asm-generic/errno-base.h and errno.h).
 */
export const XSD_ERRORS = [
  ['EINVAL', 22], ['EACCES', 13], ['EEXIST', 17], ['EISDIR', 21], ['ENOENT', 2], ['ENOMEM', 12],
  ['ENOSPC', 28], ['EIO', 5], ['ENOTEMPTY', 39], ['ENOSYS', 38], ['EROFS', 30], ['EBUSY', 16],
  ['EAGAIN', 11], ['EISCONN', 106], ['E2BIG', 7], ['EPERM', 1],
] as const;

export type XsErrno = (typeof XSD_ERRORS)[number][0];

export function isXsErrno(s: string): s is XsErrno {
  return XSD_ERRORS.some(([n]) => n === s);
}

/** xs_wire.h */
export const XSD_SOCKMSG_SIZE = 16;
/** xs_wire.h: "Violating this is very bad" — xenstored drops a connection that exceeds it. */
export const XENSTORE_PAYLOAD_MAX = 4096;
/** xs_wire.h: "Violating these just gets you an error back". */
export const XENSTORE_ABS_PATH_MAX = 3072;
export const XENSTORE_REL_PATH_MAX = 2048;
/** enum xs_watch_type (xs_wire.h): the fields of a WATCH_EVENT payload. */
export const XS_WATCH_PATH = 0;
export const XS_WATCH_TOKEN = 1;

/** One message: struct xsd_sockmsg plus its payload. */
export interface XsMsg {
  type: number;
  reqId: number;
  txId: number;
  payload: Uint8Array;
}

/** UTF-8 bytes of `s` (core has no TextEncoder; values are meant to be 7-bit ASCII anyway, xenstore.txt). */
export function utf8(s: string): Uint8Array {
  const out: number[] = [];
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}

/** The string in `b` (UTF-8; a malformed byte becomes U+FFFD). */
export function fromUtf8(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    const n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
    if (n === 0 || i + n > b.length) { s += '\ufffd'; i++; continue; }
    let cp = n === 1 ? c : c & (0xff >> (n + 1));
    for (let k = 1; k < n; k++) cp = (cp << 6) | (b[i + k]! & 63);
    s += String.fromCodePoint(cp);
    i += n;
  }
  return s;
}

/** A payload of strings, each followed by a NUL (xenstore.txt's `<foo>|*`). */
export function strings(...parts: string[]): Uint8Array {
  const bs = parts.map(utf8);
  const out = new Uint8Array(bs.reduce((a, b) => a + b.length + 1, 0));
  let o = 0;
  for (const b of bs) { out.set(b, o); o += b.length + 1; }
  return out;
}

/** `strings(...head)` followed by raw `tail` bytes with no NUL (WRITE's `<path>|<value|>`). */
export function stringsThen(head: string[], tail: Uint8Array): Uint8Array {
  const h = strings(...head);
  const out = new Uint8Array(h.length + tail.length);
  out.set(h);
  out.set(tail, h.length);
  return out;
}

/**
 * Splits a payload of NUL-terminated strings; null when the last string lacks its NUL (which
 * xenstored answers with EINVAL).
 */
export function splitStrings(p: Uint8Array): string[] | null {
  if (p.length === 0 || p[p.length - 1] !== 0) return null;
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] === 0) { out.push(fromUtf8(p.subarray(start, i))); start = i + 1; }
  }
  return out;
}

/** The header's four u32 fields and the payload, as the bytes that go on the wire. */
export function encodeMsg(m: XsMsg): Uint8Array {
  const out = new Uint8Array(XSD_SOCKMSG_SIZE + m.payload.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, m.type >>> 0, true);
  dv.setUint32(4, m.reqId >>> 0, true);
  dv.setUint32(8, m.txId >>> 0, true);
  dv.setUint32(12, m.payload.length, true);
  out.set(m.payload, XSD_SOCKMSG_SIZE);
  return out;
}

export interface XsHeader {
  type: number;
  reqId: number;
  txId: number;
  len: number;
}

/** The header at the start of `b` (which holds at least 16 bytes). */
export function decodeHeader(b: Uint8Array): XsHeader {
  const dv = new DataView(b.buffer, b.byteOffset, XSD_SOCKMSG_SIZE);
  return { type: dv.getUint32(0, true), reqId: dv.getUint32(4, true), txId: dv.getUint32(8, true), len: dv.getUint32(12, true) };
}

/**
 * One whole message from `b`: null while it is incomplete; the header alone (payload empty,
 * `tooLong` set) when its len exceeds XENSTORE_PAYLOAD_MAX.
 */
export function decodeMsg(b: Uint8Array): (XsMsg & { size: number; tooLong?: boolean }) | null {
  if (b.length < XSD_SOCKMSG_SIZE) return null;
  const h = decodeHeader(b);
  if (h.len > XENSTORE_PAYLOAD_MAX) return { type: h.type, reqId: h.reqId, txId: h.txId, payload: new Uint8Array(0), size: XSD_SOCKMSG_SIZE, tooLong: true };
  if (b.length < XSD_SOCKMSG_SIZE + h.len) return null;
  return { type: h.type, reqId: h.reqId, txId: h.txId, payload: b.slice(XSD_SOCKMSG_SIZE, XSD_SOCKMSG_SIZE + h.len), size: XSD_SOCKMSG_SIZE + h.len };
}

/** An XS_ERROR reply: the errno's name and a NUL; req_id and tx_id copied (xenstore.txt). */
export function errorMsg(req: { reqId: number; txId: number }, errno: XsErrno): XsMsg {
  return { type: XS_ERROR, reqId: req.reqId, txId: req.txId, payload: strings(errno) };
}

/**
 * A DIRECTORY_PART reply (xenstore.txt; core.c send_directory_part): the node's generation count,
 * then the children's names from byte `offset` of the whole NUL-separated list, as many whole
 * names as fit in XENSTORE_PAYLOAD_MAX; an empty name (a second NUL) marks the end of the list.
 */
export function directoryPartPayload(gen: number, children: string[], offset: number): Uint8Array {
  const all = strings(...children);
  const head = strings(String(gen));
  // "Offset behind list: just return a list with an empty string."
  if (offset >= all.length) return strings(String(gen), '');
  const room = XENSTORE_PAYLOAD_MAX - head.length - 1;
  let end = offset;
  while (end < all.length) {
    const next = all.indexOf(0, end) + 1;
    if (next - offset > room) break;
    end = next;
  }
  const body = all.subarray(offset, end);
  const out = new Uint8Array(head.length + body.length + (end === all.length ? 1 : 0));
  out.set(head);
  out.set(body, head.length);
  return out;
}

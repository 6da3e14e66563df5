/**
 * xenstore as a service: the wire format and ring page of xs_wire.h, and xenstored's permissions,
 * watches, transactions and quota as docs/misc/xenstore.txt and tools/xenstored describe them.
 */
import { describe, expect, it } from 'vitest';
import {
  XENSTORE_PAYLOAD_MAX, XS_DIRECTORY, XS_DIRECTORY_PART, XS_ERROR, XS_INVALID, XS_READ, XS_TRANSACTION_START, XS_WATCH_EVENT, XS_WRITE,
  decodeMsg, encodeMsg, fromUtf8, splitStrings, strings, stringsThen, utf8,
} from '../../core/guest/xenstore/wire.js';
import type { XsMsg } from '../../core/guest/xenstore/wire.js';
import { XENSTORE_ERROR_PROTO, XENSTORE_ERROR_RINGIDX, XsRing } from '../../core/guest/xenstore/ring.js';
import { XS_DEFAULT_QUOTA, Xenstored } from '../../core/guest/xenstore/xenstored.js';
import type { XsQuota } from '../../core/guest/xenstore/tree.js';
import { xsPerms } from '../../core/guest/xenstore/tree.js';
import { XsClient, XsError } from '../../core/guest/xenstore/client.js';
import { Xenstore } from '../../core/toolstack/xenstore.js';
import { xenstoreTool } from '../../core/toolstack/xenstoreCli.js';

const PORT = 7;

/** xenstored with dom0's socket and guests introduced on their own ring pages, homes owned by them (as libxl does). */
function lab(quota?: Partial<XsQuota>) {
  const frames = new Map<number, Uint32Array>();
  const notified: [number, number][] = [];
  const xsd = new Xenstored({ frame: (mfn) => frames.get(mfn), notify: (d, p) => notified.push([d, p]), ...(quota ? { quota } : {}) });
  const dom0 = xsd.socketConnection(0);
  const dom0Events: [string, string][] = [];
  dom0.onWatch = (p, t) => dom0Events.push([p, t]);
  const guest = (domid: number) => {
    const frame = new Uint32Array(1024);
    frames.set(0x1000 + domid, frame);
    dom0.mkdir(`/local/domain/${domid}`);
    dom0.setPerms(`/local/domain/${domid}`, xsPerms(domid, 'n'));
    expect(xsd.introduce(domid, 0x1000 + domid, PORT).ok).toBe(true);
    const client = XsClient.overRing(frame, () => xsd.serviceRing(domid));
    const events: [string, string][] = [];
    client.onWatch = (p, t) => events.push([p, t]);
    return { client, events, ring: new XsRing(frame), frame };
  };
  return { xsd, dom0, dom0Events, guest, notified };
}

function errnoOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof XsError) return e.errno;
    throw e;
  }
  return 'no error';
}

const msg = (type: number, payload: Uint8Array, txId = 0, reqId = 1): XsMsg => ({ type, reqId, txId, payload });
const errName = (m: XsMsg) => (m.type === XS_ERROR ? fromUtf8(m.payload) : `type ${m.type}`);

describe('xs_wire.h', () => {
  it('lays a message out as four little-endian u32s (type, req_id, tx_id, len) and the payload', () => {
    const bytes = encodeMsg({ type: XS_READ, reqId: 0x01020304, txId: 5, payload: strings('/a') });
    // XS_READ is the third value of enum xsd_sockmsg_type (XS_CONTROL, XS_DIRECTORY, XS_READ) = 2.
    expect([...bytes]).toEqual([2, 0, 0, 0, 4, 3, 2, 1, 5, 0, 0, 0, 3, 0, 0, 0, 0x2f, 0x61, 0]);
    const back = decodeMsg(bytes)!;
    expect([back.type, back.reqId, back.txId, back.size, fromUtf8(back.payload)]).toEqual([2, 0x01020304, 5, 19, '/a\0']);
    expect(decodeMsg(bytes.subarray(0, 18))).toBeNull();
  });

  it('numbers the message types in the header\'s order', () => {
    // xs_wire.h: XS_WRITE is the 12th entry (11), XS_ERROR the 17th (16), XS_DIRECTORY_PART the 23rd (22).
    expect([XS_WRITE, XS_ERROR, XS_WATCH_EVENT, XS_DIRECTORY_PART, XS_INVALID]).toEqual([11, 16, 15, 22, 0xffff]);
  });

  it('separates strings with NULs; WRITE\'s value has none', () => {
    expect([...strings('a', 'bc')]).toEqual([0x61, 0, 0x62, 0x63, 0]);
    expect([...stringsThen(['p'], utf8('v'))]).toEqual([0x70, 0, 0x76]);
    expect(splitStrings(strings('x', '', 'y'))).toEqual(['x', '', 'y']);
    expect(splitStrings(utf8('no-nul'))).toBeNull();
  });
});

describe('struct xenstore_domain_interface', () => {
  it('keeps the indexes at bytes 2048.. after req[1024] and rsp[1024]', () => {
    const f = new Uint32Array(1024);
    const r = new XsRing(f);
    expect(r.frontWrite(utf8('abc'))).toBe(3);
    // req_cons, req_prod, rsp_cons, rsp_prod at 2048, 2052, 2056, 2060: words 512..515.
    expect([f[512], f[513], f[514], f[515]]).toEqual([0, 3, 0, 0]);
    expect([...r.bytes.subarray(0, 3)]).toEqual([0x61, 0x62, 0x63]);
    expect(r.backWrite(utf8('Z'))).toBe(1);
    expect(r.bytes[1024]).toBe(0x5a);
    expect(f[515]).toBe(1);
  });

  it('wraps bytes at MASK_XENSTORE_IDX and indexes at 2^32', () => {
    const f = new Uint32Array(1024);
    const r = new XsRing(f);
    r.reqCons = r.reqProd = 0xfffffffe;
    expect(r.frontWrite(Uint8Array.from([1, 2, 3, 4]))).toBe(4);
    expect(r.reqProd).toBe(2);
    // 0xfffffffe & 1023 = 1022: bytes at 1022, 1023, then 0, 1.
    expect([r.bytes[1022], r.bytes[1023], r.bytes[0], r.bytes[1]]).toEqual([1, 2, 3, 4]);
    expect([...r.backRead()]).toEqual([1, 2, 3, 4]);
    expect(r.reqCons).toBe(2);
  });

  it('takes no more than the ring holds, and calls indexes more than a ring apart corrupt', () => {
    const r = new XsRing(new Uint32Array(1024));
    expect(r.frontWrite(new Uint8Array(1100))).toBe(1024);
    expect(r.frontWrite(new Uint8Array(1))).toBe(0);
    r.reqProd = r.reqCons + 2000;
    expect(r.fill('req')).toBe(-1);
  });

  it('brings a reply longer than the ring across in pieces', () => {
    const { dom0, guest } = lab();
    const g1 = guest(1).client;
    const big = 'x'.repeat(3000); // 16 + 3000 bytes: three ring-fulls
    dom0.write('/local/domain/1/big', big);
    expect(g1.read('big')).toBe(big);
    g1.write('data/after', 'ok');
    expect(g1.read('data/after')).toBe('ok');
  });

  it('carries many requests through a ring that wraps many times', () => {
    const { guest } = lab();
    const g = guest(1).client;
    for (let i = 0; i < 200; i++) g.write(`data/k${i}`, `value-${i}`);
    for (let i = 0; i < 200; i++) expect(g.read(`data/k${i}`)).toBe(`value-${i}`);
    expect(g.directory('data')).toHaveLength(200);
  });
});

describe('long directories', () => {
  it('answer DIRECTORY with E2BIG past XENSTORE_PAYLOAD_MAX; the client then reads them in parts', () => {
    const { xsd, dom0 } = lab();
    // 600 names of 26 characters: 600 × 27 bytes = 16,200, about four payloads' worth.
    const names = Array.from({ length: 600 }, (_, i) => `child-with-a-long-name-${String(i).padStart(3, '0')}`);
    for (const n of names) dom0.write(`/big/${n}`, '');
    expect(errName(xsd.handle(0, msg(XS_DIRECTORY, strings('/big'))))).toBe('E2BIG\0');
    expect(dom0.directory('/big')).toEqual(names);
  });
});

describe('permissions', () => {
  it('keeps a guest out of another guest\'s home, lets it write its own, and dom0 anywhere', () => {
    const { dom0, guest } = lab();
    const g1 = guest(1).client;
    guest(2);
    dom0.write('/local/domain/2/x', 'secret');
    expect(errnoOf(() => g1.read('/local/domain/2/x'))).toBe('EACCES');
    // A missing node under an unreadable one is EACCES too: no probing (errno_from_parents).
    expect(errnoOf(() => g1.read('/local/domain/2/nope'))).toBe('EACCES');
    expect(errnoOf(() => g1.write('/local/domain/2/x', 'mine'))).toBe('EACCES');
    expect(errnoOf(() => g1.directory('/local/domain/2'))).toBe('EACCES');
    g1.write('data/x', 'hello');
    expect(g1.read('/local/domain/1/data/x')).toBe('hello');
    expect(errnoOf(() => g1.read('data/nope'))).toBe('ENOENT');
    expect(dom0.read('/local/domain/1/data/x')).toBe('hello');
    dom0.write('/anywhere/at/all', '1');
    expect(dom0.read('/local/domain/2/x')).toBe('secret');
  });

  it('gives a new node its parent\'s permissions, owned by an unprivileged creator', () => {
    const { dom0, guest } = lab();
    const g1 = guest(1).client;
    dom0.setPerms('/local/domain/1', xsPerms(1, 'n', [[2, 'r']]));
    g1.write('made/by/me', '');
    expect(dom0.getPerms('/local/domain/1/made/by')).toEqual(xsPerms(1, 'n', [[2, 'r']]));
    // dom0 creating inside keeps the parent's owner.
    dom0.write('/local/domain/1/by-dom0', '');
    expect(dom0.getPerms('/local/domain/1/by-dom0').owner).toBe(1);
    dom0.write('/tool/x', '');
    expect(dom0.getPerms('/tool/x')).toEqual(xsPerms(0, 'n'));
  });

  it('removes a missing node quietly only where the caller could have written it', () => {
    const { dom0, guest } = lab();
    const g1 = guest(1).client;
    dom0.write('/local/domain/1/ro', '');
    dom0.setPerms('/local/domain/1/ro', xsPerms(0, 'n', [[1, 'r']]));
    g1.rm('data-never-written');
    expect(errnoOf(() => g1.rm('ro/nothing'))).toBe('EACCES');
    expect(errnoOf(() => g1.rm('nope/deeper'))).toBe('ENOENT');
    expect(errnoOf(() => g1.rm('ro'))).toBe('EACCES');
  });

  it('lets an owner grant access but not give the node away', () => {
    const { guest } = lab();
    const g1 = guest(1).client;
    const g2 = guest(2).client;
    g1.write('shared', 'hi');
    expect(errnoOf(() => g2.read('/local/domain/1/shared'))).toBe('EACCES');
    g1.setPerms('shared', xsPerms(1, 'n', [[2, 'r']]));
    expect(g2.read('/local/domain/1/shared')).toBe('hi');
    expect(errnoOf(() => g2.write('/local/domain/1/shared', 'x'))).toBe('EACCES');
    expect(errnoOf(() => g1.setPerms('shared', xsPerms(2, 'b')))).toBe('EPERM');
    expect(errnoOf(() => g2.setPerms('/local/domain/1/shared', xsPerms(2, 'b')))).toBe('EACCES');
  });
});

describe('watches', () => {
  it('fire once on registration, then on the node and everything below it, with the token', () => {
    const { dom0, dom0Events, guest } = lab();
    const g1 = guest(1).client;
    dom0.watch('/local/domain/1/device', 'tok');
    expect(dom0Events).toEqual([['/local/domain/1/device', 'tok']]);
    g1.write('device/vbd/51712/state', '1');
    g1.write('data/elsewhere', '1');
    expect(dom0Events.slice(1)).toEqual([['/local/domain/1/device/vbd/51712/state', 'tok']]);
    dom0.unwatch('/local/domain/1/device', 'tok');
    g1.write('device/vbd/51712/state', '2');
    expect(dom0Events).toHaveLength(2);
    expect(errnoOf(() => dom0.unwatch('/local/domain/1/device', 'tok'))).toBe('ENOENT');
  });

  it('report relative paths for a relative watch and notify the guest\'s event channel', () => {
    const { dom0, guest, notified } = lab();
    const { client: g1, events } = guest(1);
    g1.watch('device', 'dev');
    expect(events).toEqual([['device', 'dev']]);
    notified.length = 0;
    dom0.write('/local/domain/1/device/vif/0/state', '3');
    expect(notified).toEqual([[1, PORT]]);
    g1.poll();
    expect(events.slice(1)).toEqual([['device/vif/0/state', 'dev']]);
  });

  it('fire a watch below a removed subtree with the watch\'s own path', () => {
    const { dom0, dom0Events } = lab();
    dom0.write('/backend/vbd/1/51712/state', '4');
    dom0.watch('/backend/vbd/1/51712/state', 's');
    dom0.watch('/backend', 'b');
    dom0Events.length = 0;
    dom0.rm('/backend/vbd/1');
    // Each removed node fires, children first; a watch above the removal hears only its root.
    expect(dom0Events).toEqual([['/backend/vbd/1/51712/state', 's'], ['/backend/vbd/1', 'b']]);
  });

  it('refuse a second watch on the same path and token, however the path is spelt', () => {
    const { guest } = lab();
    const g1 = guest(1).client;
    g1.watch('device', 't');
    expect(errnoOf(() => g1.watch('/local/domain/1/device', 't'))).toBe('EEXIST');
    g1.watch('device', 'other-token');
  });

  it('say nothing to a domain that may not read the node', () => {
    const { dom0, guest } = lab();
    guest(1);
    const { client: g2, events } = guest(2);
    g2.watch('/local/domain/1', 'spy');
    dom0.write('/local/domain/1/data/x', '1');
    g2.poll();
    expect(events).toEqual([['/local/domain/1', 'spy']]);
  });
});

describe('transactions', () => {
  it('isolate reads and writes until "T" commits them', () => {
    const { dom0, dom0Events, guest } = lab();
    const g1 = guest(1).client;
    g1.write('data/a', 'old');
    dom0.watch('/local/domain/1/data', 'w');
    const tx = g1.transactionStart();
    g1.write('data/a', 'new', tx);
    expect(g1.read('data/a', tx)).toBe('new');
    expect(g1.read('data/a')).toBe('old');
    expect(dom0Events).toHaveLength(1);
    g1.transactionEnd(tx, true);
    expect(dom0.read('/local/domain/1/data/a')).toBe('new');
    expect(dom0Events.slice(1)).toEqual([['/local/domain/1/data/a', 'w']]);
  });

  it('fail "T" with EAGAIN and change nothing when a node they read changed meanwhile', () => {
    const { dom0, guest } = lab();
    const g1 = guest(1).client;
    g1.write('data/x', '1');
    const tx = g1.transactionStart();
    expect(g1.read('data/x', tx)).toBe('1');
    g1.write('data/y', 'from-tx', tx);
    dom0.write('/local/domain/1/data/x', '2');
    expect(errnoOf(() => g1.transactionEnd(tx, true))).toBe('EAGAIN');
    expect(errnoOf(() => g1.read('data/y'))).toBe('ENOENT');
    expect(g1.read('data/x')).toBe('2');
    // The transaction is gone either way.
    expect(errnoOf(() => g1.transactionEnd(tx, true))).toBe('ENOENT');
  });

  it('discard everything on "F"', () => {
    const { guest } = lab();
    const g1 = guest(1).client;
    const tx = g1.transactionStart();
    g1.write('data/z', '1', tx);
    g1.transactionEnd(tx, false);
    expect(errnoOf(() => g1.read('data/z'))).toBe('ENOENT');
  });

  it('refuse a TRANSACTION_START inside a transaction (EBUSY) and an unknown id (ENOENT)', () => {
    const { guest } = lab();
    const g1 = guest(1).client;
    const tx = g1.transactionStart();
    expect(errName(g1.request(XS_TRANSACTION_START, strings(''), tx))).toBe('EBUSY\0');
    expect(errName(g1.request(XS_TRANSACTION_START, strings(''), tx + 100))).toBe('ENOENT\0');
    expect(errnoOf(() => g1.read('data', tx + 100))).toBe('ENOENT');
  });
});

describe('quota', () => {
  it('answers ENOSPC past a domain\'s node count, and creates nothing of a refused write', () => {
    expect(XS_DEFAULT_QUOTA.nodes).toBe(1000); // core.c quota_nb_entry_per_domain
    const { dom0, guest } = lab({ nodes: 5 });
    const g1 = guest(1).client;
    // The home counts as one of the domain's nodes: a, b, c bring it to 4; d/e would make 6.
    g1.write('a', '');
    g1.write('b', '');
    g1.write('c', '');
    expect(errnoOf(() => g1.write('d/e', ''))).toBe('ENOSPC');
    expect(errnoOf(() => g1.read('d'))).toBe('ENOENT');
    g1.write('d', '');
    expect(errnoOf(() => g1.mkdir('f'))).toBe('ENOSPC');
    // dom0 has no quota.
    for (let i = 0; i < 10; i++) dom0.write(`/tool/n${i}`, '');
  });
});

describe('domains', () => {
  it('RELEASE drops the connection and fires @releaseDomain; INTRODUCE fires @introduceDomain', () => {
    const { xsd, dom0, dom0Events, guest } = lab();
    dom0.watch('@introduceDomain', 'in');
    dom0.watch('@releaseDomain', 'out');
    expect(dom0Events).toEqual([['@introduceDomain', 'in'], ['@releaseDomain', 'out']]);
    const g1 = guest(1).client;
    expect(dom0Events.slice(2)).toEqual([['@introduceDomain', 'in']]);
    expect(dom0.isDomainIntroduced(1)).toBe(true);
    expect(errnoOf(() => g1.release(1))).toBe('EACCES');
    dom0.release(1);
    expect(dom0Events.slice(3)).toEqual([['@releaseDomain', 'out']]);
    expect(dom0.isDomainIntroduced(1)).toBe(false);
    expect(xsd.serviceRing(1)).toBe(0);
    expect(errnoOf(() => g1.read('data'))).toBe('EIO');
    expect(errnoOf(() => dom0.release(1))).toBe('ENOENT');
    expect(dom0.getDomainPath(3)).toBe('/local/domain/3');
  });

  it('@releaseDomain reaches another domain only once dom0 lets it read the special node', () => {
    const { dom0, guest } = lab();
    guest(1);
    guest(2);
    const { client: dd, events } = guest(3); // a driver domain
    dd.watch('@releaseDomain', 'gone');
    dom0.release(1);
    dd.poll();
    expect(events).toEqual([['@releaseDomain', 'gone']]);
    expect(errnoOf(() => dd.setPerms('@releaseDomain', xsPerms(3, 'r')))).toBe('EACCES');
    expect(errnoOf(() => dd.getPerms('@releaseDomain'))).toBe('EACCES');
    dom0.setPerms('@releaseDomain', xsPerms(0, 'n', [[3, 'r']]));
    expect(dom0.getPerms('@releaseDomain')).toEqual(xsPerms(0, 'n', [[3, 'r']]));
    dom0.release(2);
    dd.poll();
    expect(events).toEqual([['@releaseDomain', 'gone'], ['@releaseDomain', 'gone']]);
  });

  it('INTRODUCE of a known domain only rebinds its event channel', () => {
    const { xsd, dom0, guest, notified } = lab();
    const { client: g1, events } = guest(1);
    g1.watch('data', 'd');
    dom0.introduce(1, 0x1000 + 1, 9);
    notified.length = 0;
    dom0.write('/local/domain/1/data/x', '1');
    expect(notified).toEqual([[1, 9]]);
    g1.poll();
    expect(events).toEqual([['data', 'd'], ['data/x', 'd']]);
    expect(errnoOf(() => dom0.introduce(0, 1, 1))).toBe('EINVAL');
    expect(errnoOf(() => dom0.introduce(4, 0xdead, 1))).toBe('EINVAL');
    expect(xsd.isIntroduced(4)).toBe(false);
  });
});

describe('malformed requests', () => {
  it('get an error reply, never an exception', () => {
    const { xsd } = lab();
    expect(errName(xsd.handle(0, msg(XS_READ, new Uint8Array(XENSTORE_PAYLOAD_MAX + 1))))).toBe('E2BIG\0');
    expect(errName(xsd.handle(0, msg(XS_READ, utf8('/no-nul'))))).toBe('EINVAL\0');
    expect(errName(xsd.handle(0, msg(99, strings('/'))))).toBe('ENOSYS\0');
    expect(errName(xsd.handle(0, msg(XS_INVALID, strings('/'))))).toBe('ENOSYS\0');
    expect(errName(xsd.handle(0, msg(XS_READ, strings('//double'))))).toBe('EINVAL\0');
    expect(errName(xsd.handle(0, msg(XS_WRITE, utf8('no-nul-at-all'))))).toBe('EINVAL\0');
    // The reply echoes req_id and tx_id (xenstore.txt).
    const r = xsd.handle(0, msg(XS_READ, utf8('x'), 0, 42));
    expect([r.type, r.reqId, r.txId]).toEqual([XS_ERROR, 42, 0]);
  });

  it('on a ring: a bad request gets EINVAL; an oversized one stops service with XENSTORE_ERROR_PROTO', () => {
    const { xsd, guest } = lab();
    const { client: g1, ring } = guest(1);
    expect(errName(g1.request(XS_READ, utf8('data')))).toBe('EINVAL\0');
    const header = encodeMsg(msg(XS_WRITE, new Uint8Array(0)));
    new DataView(header.buffer).setUint32(12, XENSTORE_PAYLOAD_MAX + 1, true);
    ring.frontWrite(header);
    expect(() => xsd.serviceRing(1)).not.toThrow();
    expect(ring.error).toBe(XENSTORE_ERROR_PROTO);
    expect(errnoOf(() => g1.read('data'))).toBe('EIO');
  });

  it('corrupt ring indexes stop service with XENSTORE_ERROR_RINGIDX', () => {
    const { xsd, guest } = lab();
    const { ring } = guest(1);
    ring.reqProd = ring.reqCons + 5000;
    expect(xsd.serviceRing(1)).toBe(0);
    expect(ring.error).toBe(XENSTORE_ERROR_RINGIDX);
  });
});

describe('the toolstack\'s xenstore', () => {
  it('goes through xenstored: a console write fires a watch set on the daemon', () => {
    const store = new Xenstore();
    const events: [string, string][] = [];
    const dom0 = store.xenstored.socketConnection(0);
    dom0.onWatch = (p, t) => events.push([p, t]);
    dom0.watch('/local/domain/5', 'be');
    expect(xenstoreTool(store, 0, 'xenstore-write', ['/local/domain/5/device/vbd/51712/state', '4'])).toEqual([]);
    expect(events).toEqual([['/local/domain/5', 'be'], ['/local/domain/5/device/vbd/51712/state', 'be']]);
    expect(xenstoreTool(store, 0, 'xenstore-read', ['/local/domain/5/device/vbd/51712/state'])).toEqual(['4']);
    // Unprivileged callers meet xenstored's checks: the root is readable, not writable.
    expect(xenstoreTool(store, 3, 'xenstore-write', ['/evil', '1'])).toEqual(['xenstore-write: could not write path /evil: Permission denied']);
  });
});

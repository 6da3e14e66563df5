/**
 * struct xenstore_domain_interface (xen/include/public/io/xs_wire.h): one 4 KiB frame shared by a
 * domain and xenstored. Two byte rings of XENSTORE_RING_SIZE (1024) — req (domain → xenstored)
 * and rsp (replies and watch events) — each with free-running u32 producer and consumer indexes;
 * a byte lives at MASK_XENSTORE_IDX(idx). The writer advances prod, the reader cons; prod - cons
 * (mod 2^32) is the fill and never exceeds 1024 (xenstored's domain.c checks it: beyond that the
 * indexes are corrupt, XENSTORE_ERROR_RINGIDX).
 */

/** xs_wire.h */
export const XENSTORE_RING_SIZE = 1024;
export const MASK_XENSTORE_IDX = (idx: number): number => idx & (XENSTORE_RING_SIZE - 1);

/** Byte offsets of the fields (xs_wire.h's struct layout: two char[1024] then u32s). */
export const XS_RING_REQ = 0;
export const XS_RING_RSP = 1024;
export const XS_RING_REQ_CONS = 2048;
export const XS_RING_REQ_PROD = 2052;
export const XS_RING_RSP_CONS = 2056;
export const XS_RING_RSP_PROD = 2060;
export const XS_RING_SERVER_FEATURES = 2064;
export const XS_RING_CONNECTION = 2068;
export const XS_RING_ERROR = 2072;

/** server_features bits (xs_wire.h). */
export const XENSTORE_SERVER_FEATURE_RECONNECTION = 1;
export const XENSTORE_SERVER_FEATURE_ERROR = 2;
/** connection values (xs_wire.h). */
export const XENSTORE_CONNECTED = 0;
export const XENSTORE_RECONNECT = 1;
/** error values (xs_wire.h). */
export const XENSTORE_ERROR_NONE = 0;
export const XENSTORE_ERROR_COMM = 1;
export const XENSTORE_ERROR_RINGIDX = 2;
export const XENSTORE_ERROR_PROTO = 3;

type Side = 'req' | 'rsp';

/** Both ends of the interface over one frame (a MachineMemory frame: 1024 u32 words, or its bytes). */
export class XsRing {
  readonly bytes: Uint8Array;
  private readonly words: Uint32Array;

  constructor(frame: Uint32Array | Uint8Array) {
    if (frame.byteLength < 4096) throw new RangeError('xenstore ring: the interface needs a 4 KiB frame');
    this.bytes = new Uint8Array(frame.buffer, frame.byteOffset, 4096);
    // The u32 fields are naturally aligned (offsets 2048..2072); x86 and every JS host are little-endian.
    this.words = new Uint32Array(frame.buffer, frame.byteOffset, 1024);
  }

  private get(off: number): number { return this.words[off >> 2]!; }
  private set(off: number, v: number): void { this.words[off >> 2] = v >>> 0; }

  get reqCons(): number { return this.get(XS_RING_REQ_CONS); }
  set reqCons(v: number) { this.set(XS_RING_REQ_CONS, v); }
  get reqProd(): number { return this.get(XS_RING_REQ_PROD); }
  set reqProd(v: number) { this.set(XS_RING_REQ_PROD, v); }
  get rspCons(): number { return this.get(XS_RING_RSP_CONS); }
  set rspCons(v: number) { this.set(XS_RING_RSP_CONS, v); }
  get rspProd(): number { return this.get(XS_RING_RSP_PROD); }
  set rspProd(v: number) { this.set(XS_RING_RSP_PROD, v); }
  get serverFeatures(): number { return this.get(XS_RING_SERVER_FEATURES); }
  set serverFeatures(v: number) { this.set(XS_RING_SERVER_FEATURES, v); }
  get connection(): number { return this.get(XS_RING_CONNECTION); }
  set connection(v: number) { this.set(XS_RING_CONNECTION, v); }
  get error(): number { return this.get(XS_RING_ERROR); }
  set error(v: number) { this.set(XS_RING_ERROR, v); }

  private idx(side: Side): { base: number; cons: number; prod: number } {
    return side === 'req'
      ? { base: XS_RING_REQ, cons: this.reqCons, prod: this.reqProd }
      : { base: XS_RING_RSP, cons: this.rspCons, prod: this.rspProd };
  }

  /** Bytes waiting in `side`; -1 when the indexes are corrupt (prod - cons beyond the ring). */
  fill(side: Side): number {
    const { cons, prod } = this.idx(side);
    const n = (prod - cons) >>> 0;
    return n > XENSTORE_RING_SIZE ? -1 : n;
  }

  /** Copies as much of `data` as fits into `side`, then advances its producer; returns the count. */
  private put(side: Side, data: Uint8Array): number {
    const used = this.fill(side);
    if (used < 0) return 0;
    const { base, prod } = this.idx(side);
    const n = Math.min(data.length, XENSTORE_RING_SIZE - used);
    for (let i = 0; i < n; i++) this.bytes[base + MASK_XENSTORE_IDX(prod + i)] = data[i]!;
    if (side === 'req') this.reqProd = prod + n; else this.rspProd = prod + n;
    return n;
  }

  /** Takes up to `max` bytes from `side`, then advances its consumer. */
  private take(side: Side, max: number): Uint8Array {
    const used = this.fill(side);
    if (used <= 0) return new Uint8Array(0);
    const { base, cons } = this.idx(side);
    const n = Math.min(used, max);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.bytes[base + MASK_XENSTORE_IDX(cons + i)]!;
    if (side === 'req') this.reqCons = cons + n; else this.rspCons = cons + n;
    return out;
  }

  /** The domain's end: queue request bytes (Linux xb_write). */
  frontWrite(data: Uint8Array): number { return this.put('req', data); }
  /** The domain's end: take reply and event bytes (Linux xb_read). */
  frontRead(max = XENSTORE_RING_SIZE): Uint8Array { return this.take('rsp', max); }
  /** xenstored's end: take request bytes (domain.c readchn). */
  backRead(max = XENSTORE_RING_SIZE): Uint8Array { return this.take('req', max); }
  /** xenstored's end: queue reply bytes (domain.c writechn). */
  backWrite(data: Uint8Array): number { return this.put('rsp', data); }
}

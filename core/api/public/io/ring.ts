/**
 * Xen's shared I/O rings (xen/include/public/io/ring.h): one 4 KiB page shared by a frontend and
 * a backend, holding a header and a power-of-two array of request/response slots (a slot holds a
 * request, or later its response). The indices are free-running 32-bit counters (RING_IDX); each
 * side keeps a private producer index and publishes it, and asks for a notification by setting
 * the peer's event index (req_event / rsp_event), so a notification is sent only when the peer
 * asked for one (RING_PUSH_*_AND_CHECK_NOTIFY, RING_FINAL_CHECK_FOR_*).
 *
 * Layout of struct <name>_sring: req_prod u32 @0, req_event u32 @4, rsp_prod u32 @8,
 * rsp_event u32 @12, then 48 bytes of padding (the private/pad union of ring.h), ring[] @64.
 */

export const PAGE_BYTES = 4096;
/** Offset of ring[] in the shared page (16 bytes of indices + 48 of pad). */
export const SRING_HEADER_BYTES = 64;
const REQ_PROD = 0;
const REQ_EVENT = 4;
const RSP_PROD = 8;
const RSP_EVENT = 12;

/** __RD32: the largest power of two ≤ n (ring.h rounds the slot count down). */
export function roundDownPow2(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return n < 1 ? 0 : p;
}

/** __CONST_RING_SIZE(name, PAGE_SIZE): slots of `slotBytes` that fit after the header. */
export function ringSlots(slotBytes: number): number {
  return roundDownPow2(Math.floor((PAGE_BYTES - SRING_HEADER_BYTES) / slotBytes));
}

const u32 = (x: number) => x >>> 0;

/** SHARED_RING_INIT: both producers 0, both event indices 1. */
export function sharedRingInit(page: DataView): void {
  page.setUint32(REQ_PROD, 0, true);
  page.setUint32(RSP_PROD, 0, true);
  page.setUint32(REQ_EVENT, 1, true);
  page.setUint32(RSP_EVENT, 1, true);
}

class RingSide {
  readonly nrEnts: number;
  constructor(
    readonly page: DataView,
    readonly slotBytes: number,
  ) {
    this.nrEnts = ringSlots(slotBytes);
  }
  get reqProd(): number {
    return this.page.getUint32(REQ_PROD, true);
  }
  get rspProd(): number {
    return this.page.getUint32(RSP_PROD, true);
  }
  /** Byte offset in the page of the slot that index `idx` names (RING_GET_REQUEST/RESPONSE). */
  slot(idx: number): number {
    return SRING_HEADER_BYTES + (idx & (this.nrEnts - 1)) * this.slotBytes;
  }
}

/** The frontend's view (struct <name>_front_ring). */
export class FrontRing extends RingSide {
  reqProdPvt = 0;
  rspCons = 0;

  /** FRONT_RING_INIT on a page the frontend has just initialised with sharedRingInit. */
  constructor(page: DataView, slotBytes: number) {
    super(page, slotBytes);
  }

  /** RING_FREE_REQUESTS. */
  freeRequests(): number {
    return this.nrEnts - u32(this.reqProdPvt - this.rspCons);
  }
  /** RING_FULL. */
  get full(): boolean {
    return this.freeRequests() === 0;
  }
  /** The next request slot's offset; the caller fills it and calls `produced()`. */
  nextRequest(): number {
    return this.slot(this.reqProdPvt);
  }
  produced(): void {
    this.reqProdPvt = u32(this.reqProdPvt + 1);
  }
  /** RING_PUSH_REQUESTS_AND_CHECK_NOTIFY: publish; true when the backend asked to be told. */
  pushRequestsAndCheckNotify(): boolean {
    const old = this.reqProd;
    const now = this.reqProdPvt;
    this.page.setUint32(REQ_PROD, now, true);
    const ev = this.page.getUint32(REQ_EVENT, true);
    return u32(now - ev) < u32(now - old);
  }
  /** RING_HAS_UNCONSUMED_RESPONSES. */
  unconsumedResponses(): number {
    return u32(this.rspProd - this.rspCons);
  }
  /** RING_FINAL_CHECK_FOR_RESPONSES: when none are left, ask to be notified of the next one. */
  finalCheckForResponses(): boolean {
    if (this.unconsumedResponses() > 0) return true;
    this.page.setUint32(RSP_EVENT, u32(this.rspCons + 1), true);
    return this.unconsumedResponses() > 0;
  }
}

/** The backend's view (struct <name>_back_ring). */
export class BackRing extends RingSide {
  rspProdPvt = 0;
  reqCons = 0;

  /** BACK_RING_INIT (also BACK_RING_ATTACH at index 0 for a fresh connection). */
  constructor(page: DataView, slotBytes: number) {
    super(page, slotBytes);
  }

  /** RING_HAS_UNCONSUMED_REQUESTS: requests published and not consumed, bounded by free response slots. */
  unconsumedRequests(): number {
    const req = u32(this.reqProd - this.reqCons);
    const rsp = this.nrEnts - u32(this.reqCons - this.rspProdPvt);
    return req < rsp ? req : rsp;
  }
  /** The next response slot's offset; the caller fills it and calls `produced()`. */
  nextResponse(): number {
    return this.slot(this.rspProdPvt);
  }
  produced(): void {
    this.rspProdPvt = u32(this.rspProdPvt + 1);
  }
  consumed(): void {
    this.reqCons = u32(this.reqCons + 1);
  }
  /** RING_PUSH_RESPONSES_AND_CHECK_NOTIFY. */
  pushResponsesAndCheckNotify(): boolean {
    const old = this.rspProd;
    const now = this.rspProdPvt;
    this.page.setUint32(RSP_PROD, now, true);
    const ev = this.page.getUint32(RSP_EVENT, true);
    return u32(now - ev) < u32(now - old);
  }
  /** RING_FINAL_CHECK_FOR_REQUESTS. */
  finalCheckForRequests(): boolean {
    if (this.unconsumedRequests() > 0) return true;
    this.page.setUint32(REQ_EVENT, u32(this.reqCons + 1), true);
    return this.unconsumedRequests() > 0;
  }
}

import { describe, expect, it } from 'vitest';
import { BackRing, FrontRing, ringSlots, sharedRingInit, SRING_HEADER_BYTES } from '../../../core/api/public/io/ring.js';
import {
  BLK_RING_SIZE,
  BLKIF_OP_WRITE,
  BLKIF_REQUEST_BYTES,
  BLKIF_SLOT_BYTES,
  readBlkifRequest,
  readBlkifResponse,
  writeBlkifRequest,
  writeBlkifResponse,
} from '../../../core/api/public/io/blkif.js';

const page = () => new DataView(new ArrayBuffer(4096));

describe('io/ring.h shared rings', () => {
  it('blkif: 112-byte slots, so (4096 − 64) / 112 = 36 rounds down to the 32-request ring', () => {
    // struct blkif_request on x86-64: 1+1+2 (+4 pad) + 8 id + 8 sector + 11 × 8 segments.
    expect(BLKIF_REQUEST_BYTES).toBe(4 + 4 + 8 + 8 + 11 * 8);
    expect(BLKIF_SLOT_BYTES).toBe(112);
    expect(Math.floor((4096 - 64) / 112)).toBe(36);
    expect(BLK_RING_SIZE).toBe(32);
    expect(ringSlots(16)).toBe(128); // a 16-byte slot: 252 rounds down to 128
  });

  it('SHARED_RING_INIT: producers 0, event indices 1', () => {
    const p = page();
    p.setUint32(0, 99, true);
    sharedRingInit(p);
    expect([p.getUint32(0, true), p.getUint32(4, true), p.getUint32(8, true), p.getUint32(12, true)]).toEqual([0, 1, 0, 1]);
  });

  it('the first push notifies (req_event 1); later pushes only after the backend asks again', () => {
    const p = page();
    sharedRingInit(p);
    const f = new FrontRing(p, BLKIF_SLOT_BYTES);
    const b = new BackRing(p, BLKIF_SLOT_BYTES);
    f.produced();
    expect(f.pushRequestsAndCheckNotify()).toBe(true); // new=1, old=0, event=1: (1−1) < (1−0)
    f.produced();
    // The backend has not consumed nor re-armed: req_event is still 1, so 2 − 1 < 2 − 1 is false.
    expect(f.pushRequestsAndCheckNotify()).toBe(false);
    expect(b.unconsumedRequests()).toBe(2);
    b.consumed();
    b.consumed();
    // Nothing left: RING_FINAL_CHECK_FOR_REQUESTS sets req_event = req_cons + 1 = 3.
    expect(b.finalCheckForRequests()).toBe(false);
    expect(p.getUint32(4, true)).toBe(3);
    f.produced();
    expect(f.pushRequestsAndCheckNotify()).toBe(true);
  });

  it('a full ring takes no more requests until responses free slots', () => {
    const p = page();
    sharedRingInit(p);
    const f = new FrontRing(p, BLKIF_SLOT_BYTES);
    const b = new BackRing(p, BLKIF_SLOT_BYTES);
    for (let i = 0; i < 32; i++) f.produced();
    f.pushRequestsAndCheckNotify();
    expect(f.full).toBe(true);
    expect(f.freeRequests()).toBe(0);
    // The backend consumes all 32 but answers none: still no room (the slots hold the requests).
    for (let i = 0; i < 32; i++) b.consumed();
    expect(f.full).toBe(true);
    b.produced();
    b.pushResponsesAndCheckNotify();
    expect(f.unconsumedResponses()).toBe(1);
    f.rspCons = 1;
    expect(f.freeRequests()).toBe(1);
  });

  it('indices are free-running 32-bit counters: slots wrap, arithmetic wraps at 2^32', () => {
    const p = page();
    sharedRingInit(p);
    const f = new FrontRing(p, BLKIF_SLOT_BYTES);
    f.reqProdPvt = 0xffffffff;
    f.rspCons = 0xffffffff;
    expect(f.nextRequest()).toBe(SRING_HEADER_BYTES + 31 * 112); // index 2^32−1 is slot 31
    f.produced();
    expect(f.reqProdPvt).toBe(0);
    expect(f.nextRequest()).toBe(SRING_HEADER_BYTES);
    expect(f.freeRequests()).toBe(31); // one request out across the wrap
  });

  it('a request and a response round-trip through a slot at their header offsets', () => {
    const p = page();
    const off = SRING_HEADER_BYTES + 3 * 112;
    writeBlkifRequest(p, off, { operation: BLKIF_OP_WRITE, handle: 51712, id: 77, sector: 1 << 20, segs: [{ gref: 9, firstSect: 0, lastSect: 7 }, { gref: 10, firstSect: 2, lastSect: 5 }] });
    expect(p.getUint8(off)).toBe(1);
    expect(p.getUint8(off + 1)).toBe(2);
    expect(p.getUint16(off + 2, true)).toBe(51712);
    expect(Number(p.getBigUint64(off + 16, true))).toBe(1 << 20);
    expect(p.getUint32(off + 24 + 8, true)).toBe(10); // seg[1].gref
    const r = readBlkifRequest(p, off);
    expect(r.segs).toEqual([{ gref: 9, firstSect: 0, lastSect: 7 }, { gref: 10, firstSect: 2, lastSect: 5 }]);
    writeBlkifResponse(p, off, { id: 77, operation: BLKIF_OP_WRITE, status: -1 });
    expect(p.getInt16(off + 10, true)).toBe(-1);
    expect(readBlkifResponse(p, off)).toEqual({ id: 77, operation: 1, status: -1 });
  });
});

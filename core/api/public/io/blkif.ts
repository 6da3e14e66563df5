/**
 * The block-device split-driver ABI (xen/include/public/io/blkif.h), on x86-64.
 *
 * struct blkif_request: operation u8 @0, nr_segments u8 @1, handle u16 @2, (pad) , id u64 @8,
 * sector_number u64 @16, seg[11] @24, each { gref u32, first_sect u8, last_sect u8, pad 2 } → 112
 * bytes. struct blkif_response: id u64 @0, operation u8 @8, status i16 @10 → 16 bytes. A ring slot
 * is the union, 112 bytes, so (4096 − 64) / 112 = 36 rounds down to 32 slots: the "32-request
 * ring". Sectors are 512-byte units whatever the disk's sector size.
 */
import { ringSlots } from './ring.js';

export const BLKIF_OP_READ = 0;
export const BLKIF_OP_WRITE = 1;
export const BLKIF_OP_WRITE_BARRIER = 2;
export const BLKIF_OP_FLUSH_DISKCACHE = 3;
export const BLKIF_OP_DISCARD = 5;
export const BLKIF_OP_INDIRECT = 6;

export const BLKIF_MAX_SEGMENTS_PER_REQUEST = 11;

export const BLKIF_RSP_EOPNOTSUPP = -2;
export const BLKIF_RSP_ERROR = -1;
export const BLKIF_RSP_OKAY = 0;

export const BLKIF_REQUEST_BYTES = 112;
export const BLKIF_RESPONSE_BYTES = 16;
export const BLKIF_SLOT_BYTES = Math.max(BLKIF_REQUEST_BYTES, BLKIF_RESPONSE_BYTES);
/** __CONST_RING_SIZE(blkif, 4096) = 32. */
export const BLK_RING_SIZE = ringSlots(BLKIF_SLOT_BYTES);
export const SECTOR_BYTES = 512;
export const SECTORS_PER_PAGE = 8;

export const BLKIF_OP_NAMES: Record<number, string> = {
  [BLKIF_OP_READ]: 'BLKIF_OP_READ',
  [BLKIF_OP_WRITE]: 'BLKIF_OP_WRITE',
  [BLKIF_OP_WRITE_BARRIER]: 'BLKIF_OP_WRITE_BARRIER',
  [BLKIF_OP_FLUSH_DISKCACHE]: 'BLKIF_OP_FLUSH_DISKCACHE',
  [BLKIF_OP_DISCARD]: 'BLKIF_OP_DISCARD',
};

export interface BlkifSegment {
  gref: number;
  firstSect: number;
  lastSect: number;
}

export interface BlkifRequest {
  operation: number;
  handle: number;
  id: number;
  sector: number;
  segs: BlkifSegment[];
}

export interface BlkifResponse {
  id: number;
  operation: number;
  status: number;
}

/** Writes a request into its ring slot at byte offset `off`. */
export function writeBlkifRequest(page: DataView, off: number, r: BlkifRequest): void {
  page.setUint8(off, r.operation);
  page.setUint8(off + 1, r.segs.length);
  page.setUint16(off + 2, r.handle, true);
  page.setUint32(off + 4, 0, true);
  page.setBigUint64(off + 8, BigInt(r.id), true);
  page.setBigUint64(off + 16, BigInt(r.sector), true);
  for (let i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++) {
    const s = r.segs[i];
    const o = off + 24 + i * 8;
    page.setUint32(o, s ? s.gref : 0, true);
    page.setUint8(o + 4, s ? s.firstSect : 0);
    page.setUint8(o + 5, s ? s.lastSect : 0);
    page.setUint16(o + 6, 0, true);
  }
}

/** Reads a request from a slot as the backend does (copying it out before validating it). */
export function readBlkifRequest(page: DataView, off: number): BlkifRequest & { nrSegments: number } {
  const nr = page.getUint8(off + 1);
  const segs: BlkifSegment[] = [];
  for (let i = 0; i < Math.min(nr, BLKIF_MAX_SEGMENTS_PER_REQUEST); i++) {
    const o = off + 24 + i * 8;
    segs.push({ gref: page.getUint32(o, true), firstSect: page.getUint8(o + 4), lastSect: page.getUint8(o + 5) });
  }
  return {
    operation: page.getUint8(off),
    nrSegments: nr,
    handle: page.getUint16(off + 2, true),
    id: Number(page.getBigUint64(off + 8, true)),
    sector: Number(page.getBigUint64(off + 16, true)),
    segs,
  };
}

export function writeBlkifResponse(page: DataView, off: number, r: BlkifResponse): void {
  page.setBigUint64(off, BigInt(r.id), true);
  page.setUint8(off + 8, r.operation);
  page.setUint8(off + 9, 0);
  page.setInt16(off + 10, r.status, true);
  page.setUint32(off + 12, 0, true);
}

export function readBlkifResponse(page: DataView, off: number): BlkifResponse {
  return { id: Number(page.getBigUint64(off, true)), operation: page.getUint8(off + 8), status: page.getInt16(off + 10, true) };
}

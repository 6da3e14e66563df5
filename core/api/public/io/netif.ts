/**
 * The network split-driver ABI (xen/include/public/io/netif.h), on x86-64: two rings, one for
 * transmit and one for receive, each in its own shared page.
 *
 * struct netif_tx_request: gref u32 @0, offset u16 @4, flags u16 @6, id u16 @8, size u16 @10 → 12
 * bytes. struct netif_tx_response: id u16 @0, status i16 @2 → 4 bytes. A tx slot is the union, 12
 * bytes, so (4096 − 64) / 12 = 336 rounds down to 256.
 *
 * struct netif_rx_request: id u16 @0, (pad u16 @2), gref u32 @4 → 8 bytes. struct
 * netif_rx_response: id u16 @0, offset u16 @2, flags u16 @4, status i16 @6 → 8 bytes (status: a
 * negative NETIF_RSP_* or, when positive, the received packet's length). An rx slot is 8 bytes, so
 * (4096 − 64) / 8 = 504 rounds down to 256.
 */
import { ringSlots } from './ring.js';

/** netif_tx_request.flags (netif.h: _NETTXF_*). */
export const NETTXF_csum_blank = 1 << 0;
export const NETTXF_data_validated = 1 << 1;
export const NETTXF_more_data = 1 << 2;
export const NETTXF_extra_info = 1 << 3;

/** netif_rx_response.flags (netif.h: _NETRXF_*). */
export const NETRXF_data_validated = 1 << 0;
export const NETRXF_csum_blank = 1 << 1;
export const NETRXF_more_data = 1 << 2;
export const NETRXF_extra_info = 1 << 3;
export const NETRXF_gso_prefix = 1 << 4;

/** Response status (netif.h). */
export const NETIF_RSP_DROPPED = -2;
export const NETIF_RSP_ERROR = -1;
export const NETIF_RSP_OKAY = 0;
/** No response: used for auxiliary requests (netif_extra_info). */
export const NETIF_RSP_NULL = 1;

export const NETIF_TX_REQUEST_BYTES = 12;
export const NETIF_TX_RESPONSE_BYTES = 4;
export const NETIF_RX_REQUEST_BYTES = 8;
export const NETIF_RX_RESPONSE_BYTES = 8;
export const NETIF_TX_SLOT_BYTES = Math.max(NETIF_TX_REQUEST_BYTES, NETIF_TX_RESPONSE_BYTES);
export const NETIF_RX_SLOT_BYTES = Math.max(NETIF_RX_REQUEST_BYTES, NETIF_RX_RESPONSE_BYTES);
/** __CONST_RING_SIZE(netif_tx, 4096) = 256 (Linux's NET_TX_RING_SIZE). */
export const NET_TX_RING_SIZE = ringSlots(NETIF_TX_SLOT_BYTES);
/** __CONST_RING_SIZE(netif_rx, 4096) = 256 (Linux's NET_RX_RING_SIZE). */
export const NET_RX_RING_SIZE = ringSlots(NETIF_RX_SLOT_BYTES);

export interface NetifTxRequest {
  gref: number;
  offset: number;
  flags: number;
  id: number;
  size: number;
}

export interface NetifTxResponse {
  id: number;
  status: number;
}

export interface NetifRxRequest {
  id: number;
  gref: number;
}

export interface NetifRxResponse {
  id: number;
  offset: number;
  flags: number;
  /** Negative: NETIF_RSP_*; otherwise the packet's length in bytes. */
  status: number;
}

export function writeNetifTxRequest(page: DataView, off: number, r: NetifTxRequest): void {
  page.setUint32(off, r.gref >>> 0, true);
  page.setUint16(off + 4, r.offset, true);
  page.setUint16(off + 6, r.flags, true);
  page.setUint16(off + 8, r.id, true);
  page.setUint16(off + 10, r.size, true);
}

export function readNetifTxRequest(page: DataView, off: number): NetifTxRequest {
  return {
    gref: page.getUint32(off, true),
    offset: page.getUint16(off + 4, true),
    flags: page.getUint16(off + 6, true),
    id: page.getUint16(off + 8, true),
    size: page.getUint16(off + 10, true),
  };
}

export function writeNetifTxResponse(page: DataView, off: number, r: NetifTxResponse): void {
  page.setUint16(off, r.id, true);
  page.setInt16(off + 2, r.status, true);
}

export function readNetifTxResponse(page: DataView, off: number): NetifTxResponse {
  return { id: page.getUint16(off, true), status: page.getInt16(off + 2, true) };
}

export function writeNetifRxRequest(page: DataView, off: number, r: NetifRxRequest): void {
  page.setUint16(off, r.id, true);
  page.setUint16(off + 2, 0, true);
  page.setUint32(off + 4, r.gref >>> 0, true);
}

export function readNetifRxRequest(page: DataView, off: number): NetifRxRequest {
  return { id: page.getUint16(off, true), gref: page.getUint32(off + 4, true) };
}

export function writeNetifRxResponse(page: DataView, off: number, r: NetifRxResponse): void {
  page.setUint16(off, r.id, true);
  page.setUint16(off + 2, r.offset, true);
  page.setUint16(off + 4, r.flags, true);
  page.setInt16(off + 6, r.status, true);
}

export function readNetifRxResponse(page: DataView, off: number): NetifRxResponse {
  return { id: page.getUint16(off, true), offset: page.getUint16(off + 2, true), flags: page.getUint16(off + 4, true), status: page.getInt16(off + 6, true) };
}

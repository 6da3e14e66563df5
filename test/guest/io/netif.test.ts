import { describe, expect, it } from 'vitest';
import { SRING_HEADER_BYTES } from '../../../core/api/public/io/ring.js';
import {
  NETIF_RSP_DROPPED,
  NETIF_RSP_ERROR,
  NETIF_RSP_NULL,
  NETIF_RSP_OKAY,
  NETIF_RX_REQUEST_BYTES,
  NETIF_RX_RESPONSE_BYTES,
  NETIF_RX_SLOT_BYTES,
  NETIF_TX_REQUEST_BYTES,
  NETIF_TX_RESPONSE_BYTES,
  NETIF_TX_SLOT_BYTES,
  NET_RX_RING_SIZE,
  NET_TX_RING_SIZE,
  NETRXF_csum_blank,
  NETRXF_data_validated,
  NETRXF_extra_info,
  NETRXF_gso_prefix,
  NETRXF_more_data,
  NETTXF_csum_blank,
  NETTXF_data_validated,
  NETTXF_extra_info,
  NETTXF_more_data,
  readNetifRxRequest,
  readNetifRxResponse,
  readNetifTxRequest,
  readNetifTxResponse,
  writeNetifRxRequest,
  writeNetifRxResponse,
  writeNetifTxRequest,
  writeNetifTxResponse,
} from '../../../core/api/public/io/netif.js';

const bytes = (p: DataView, off: number, n: number) => Array.from(new Uint8Array(p.buffer, off, n));

describe('io/netif.h: the network rings', () => {
  it('slot sizes from the structs, and 256-slot rings by ring.h’s arithmetic', () => {
    // netif_tx_request: grant_ref_t gref (4) + offset (2) + flags (2) + id (2) + size (2).
    expect(NETIF_TX_REQUEST_BYTES).toBe(4 + 2 + 2 + 2 + 2);
    // netif_tx_response: id (2) + status (2).
    expect(NETIF_TX_RESPONSE_BYTES).toBe(2 + 2);
    // netif_rx_request: id (2) + pad (2) + gref (4); netif_rx_response: id, offset, flags, status (2 each).
    expect(NETIF_RX_REQUEST_BYTES).toBe(2 + 2 + 4);
    expect(NETIF_RX_RESPONSE_BYTES).toBe(2 * 4);
    expect(NETIF_TX_SLOT_BYTES).toBe(12);
    expect(NETIF_RX_SLOT_BYTES).toBe(8);
    // __CONST_RING_SIZE: (PAGE_SIZE − 64-byte header) / slot, rounded down to a power of two.
    expect(SRING_HEADER_BYTES).toBe(64);
    expect(Math.floor((4096 - 64) / 12)).toBe(336); // → 256 (512 > 336)
    expect(Math.floor((4096 - 64) / 8)).toBe(504); // → 256 (512 > 504)
    expect(NET_TX_RING_SIZE).toBe(256);
    expect(NET_RX_RING_SIZE).toBe(256);
  });

  it('flags and statuses are netif.h’s', () => {
    expect([NETTXF_csum_blank, NETTXF_data_validated, NETTXF_more_data, NETTXF_extra_info]).toEqual([1, 2, 4, 8]);
    expect([NETRXF_data_validated, NETRXF_csum_blank, NETRXF_more_data, NETRXF_extra_info, NETRXF_gso_prefix]).toEqual([1, 2, 4, 8, 16]);
    expect([NETIF_RSP_DROPPED, NETIF_RSP_ERROR, NETIF_RSP_OKAY, NETIF_RSP_NULL]).toEqual([-2, -1, 0, 1]);
  });

  it('a tx request is laid out little-endian at the header’s offsets', () => {
    const p = new DataView(new ArrayBuffer(4096));
    writeNetifTxRequest(p, 64, { gref: 0x11223344, offset: 0x10, flags: NETTXF_more_data, id: 7, size: 1514 });
    expect(bytes(p, 64, 12)).toEqual([0x44, 0x33, 0x22, 0x11, 0x10, 0x00, 0x04, 0x00, 0x07, 0x00, 0xea, 0x05]);
    expect(readNetifTxRequest(p, 64)).toEqual({ gref: 0x11223344, offset: 0x10, flags: 4, id: 7, size: 1514 });
    writeNetifTxResponse(p, 76, { id: 7, status: NETIF_RSP_ERROR });
    expect(bytes(p, 76, 4)).toEqual([0x07, 0x00, 0xff, 0xff]);
    expect(readNetifTxResponse(p, 76)).toEqual({ id: 7, status: -1 });
  });

  it('an rx request leaves its pad zero; a response’s status is the length or a negative NETIF_RSP_*', () => {
    const p = new DataView(new ArrayBuffer(4096));
    new Uint8Array(p.buffer).fill(0xaa);
    writeNetifRxRequest(p, 64, { id: 255, gref: 9 });
    expect(bytes(p, 64, 8)).toEqual([0xff, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00]);
    expect(readNetifRxRequest(p, 64)).toEqual({ id: 255, gref: 9 });
    writeNetifRxResponse(p, 72, { id: 3, offset: 0, flags: NETRXF_data_validated, status: 1500 });
    expect(bytes(p, 72, 8)).toEqual([0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0xdc, 0x05]);
    writeNetifRxResponse(p, 80, { id: 4, offset: 0, flags: 0, status: NETIF_RSP_DROPPED });
    expect(readNetifRxResponse(p, 80)).toEqual({ id: 4, offset: 0, flags: 0, status: -2 });
  });
});

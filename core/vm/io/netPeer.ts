/**
 * The machine at the other end of a NIC's cable, as the lab's network workloads use it: it plugs
 * into the NIC through a LinkPartner (core/machine/devices/nic.ts; the NIC then reports Link Up and
 * hands it every frame it transmits) and sends the lab's frames itself, so each carries the
 * destination the bridge forwards by.
 *
 * The lab's frame (IEEE 802 local experimental EtherType 88B5h, as LinkPartner's): destination MAC
 * @0, source MAC @6, EtherType @12, sequence number u32 big-endian @14, kind u8 @18 (0 a stream
 * frame, 1 a request, 2 a response), then bytes (seq + i) & 0xff for i = 19 … len−1. The
 * destination MAC is the vif's: it is the header the bridge routes by.
 *
 * Timing: a stream's frame k is sent at start + round(k · wireBits(len) / linkMbps µs) (the link's
 * full rate; rounding never accumulates). A request that reaches the partner is answered at once
 * (the partner's own processing is taken as zero: the lab measures the host's side), its response
 * arriving wireBits(response)/linkMbps µs later, after any response still on its wire.
 */
import type { DeviceClock } from '../../machine/events.js';
import { type E1000Nic, LinkPartner, wireBits } from '../../machine/devices/nic.js';
import type { VifDrops } from '../../guest/io/netfront.js';

/** The link partner's MAC (LinkPartner's locally administered source address). */
export const PEER_MAC = Uint8Array.of(0x02, 0, 0, 0, 0, 0x01);
export const LAB_ETHERTYPE = 0x88b5;
export const FRAME_STREAM = 0;
export const FRAME_REQUEST = 1;
export const FRAME_RESPONSE = 2;
/** A receiver's acknowledgement (net-stream rx with ackEvery): the partner sinks it. */
export const FRAME_ACK = 3;
/** Bytes of header before the pattern: Ethernet 14, sequence 4, kind 1. */
export const LAB_HEADER_BYTES = 19;

/** Writes the lab's frame into `out` (len bytes). */
export function writeLabFrame(out: Uint8Array, dst: Uint8Array, src: Uint8Array, seq: number, kind: number, len: number): void {
  out.set(dst, 0);
  out.set(src, 6);
  out[12] = LAB_ETHERTYPE >> 8;
  out[13] = LAB_ETHERTYPE & 0xff;
  out[14] = (seq >>> 24) & 0xff;
  out[15] = (seq >>> 16) & 0xff;
  out[16] = (seq >>> 8) & 0xff;
  out[17] = seq & 0xff;
  out[18] = kind;
  for (let i = LAB_HEADER_BYTES; i < len; i++) out[i] = (seq + i) & 0xff;
}

export function labFrame(dst: Uint8Array, src: Uint8Array, seq: number, kind: number, len: number): Uint8Array {
  const f = new Uint8Array(len);
  writeLabFrame(f, dst, src, seq, kind, len);
  return f;
}

/** The lab frame's sequence number and kind, or null for another frame. */
export function parseLabFrame(f: Uint8Array): { seq: number; kind: number } | null {
  if (f.length < LAB_HEADER_BYTES || f[12] !== LAB_ETHERTYPE >> 8 || f[13] !== (LAB_ETHERTYPE & 0xff)) return null;
  return { seq: ((f[14]! << 24) | (f[15]! << 16) | (f[16]! << 8) | f[17]!) >>> 0, kind: f[18]! };
}

const macKey = (m: Uint8Array, at = 0) => Array.from(m.subarray(at, at + 6), (b) => b.toString(16).padStart(2, '0')).join(':');

export interface PeerStream {
  readonly frames: number;
  sent: number;
  /** Frames the NIC refused (no receive descriptor, receiver off: its owner gone). */
  refused: number;
  done: boolean;
}

export class NetPeer {
  readonly partner: LinkPartner;
  /** Frames received from each source MAC. */
  private readonly fromMac = new Map<string, number>();
  private readonly listeners = new Map<string, ((f: Uint8Array) => void)[]>();
  private readonly drops = new Map<string, VifDrops>();
  /** When the partner's transmitter is next free (cycles). */
  private txFreeAt = 0;
  /** Responses sent, requests answered. */
  responses = 0;

  constructor(
    readonly nic: E1000Nic,
    private readonly clock: DeviceClock,
  ) {
    this.partner = new LinkPartner({ clock, rateMbps: nic.linkMbps, frameBytes: 60, frames: 0 });
    this.partner.connect(nic);
    this.partner.onFrame = (f) => this.sink(f);
  }

  /** Where drops of frames the partner sends to `mac` are counted (the vif's counter). */
  register(mac: Uint8Array, drops: VifDrops): void {
    this.drops.set(macKey(mac), drops);
  }

  receivedFrom(mac: Uint8Array): number {
    return this.fromMac.get(macKey(mac)) ?? 0;
  }

  /** Calls `cb` with every frame the NIC sends from `mac`. */
  listen(mac: Uint8Array, cb: (f: Uint8Array) => void): void {
    const k = macKey(mac);
    const l = this.listeners.get(k) ?? [];
    l.push(cb);
    this.listeners.set(k, l);
  }

  unlisten(mac: Uint8Array, cb: (f: Uint8Array) => void): void {
    const l = this.listeners.get(macKey(mac));
    if (l && l.includes(cb)) l.splice(l.indexOf(cb), 1);
  }

  private cyclesOf(len: number): number {
    return (wireBits(len) / this.nic.linkMbps) * this.clock.cyclesPerUs;
  }

  /** Sends `frames` stream frames of `len` bytes to `dst` at the link's rate from now; `onDone` after the last. */
  stream(dst: Uint8Array, frames: number, len: number, onDone?: () => void): PeerStream {
    const s: PeerStream = { frames, sent: 0, refused: 0, done: frames === 0 };
    const start = Math.max(this.clock.now(), this.txFreeAt);
    const per = this.cyclesOf(len);
    const send = (k: number) => {
      this.clock.queue.push(start + Math.round(k * per), () => {
        if (!this.put(labFrame(dst, PEER_MAC, k, FRAME_STREAM, len))) s.refused++;
        s.sent++;
        if (k + 1 < frames) send(k + 1);
        else {
          s.done = true;
          onDone?.();
        }
      });
    };
    if (frames > 0) send(0);
    this.txFreeAt = start + Math.round(frames * per);
    return s;
  }

  /** One frame onto the NIC; a refused frame is counted against the vif it was for. */
  private put(f: Uint8Array): boolean {
    this.partner.sent++;
    this.partner.sentBytes += f.length;
    if (this.nic.receive(f)) return true;
    this.partner.dropped++;
    const d = this.drops.get(macKey(f, 0));
    if (d) d.dropped++;
    return false;
  }

  private sink(f: Uint8Array): void {
    const src = macKey(f, 6);
    this.fromMac.set(src, (this.fromMac.get(src) ?? 0) + 1);
    for (const cb of this.listeners.get(src) ?? []) cb(f);
    const lab = parseLabFrame(f);
    if (lab?.kind === FRAME_REQUEST) {
      const len = Math.max(60, Math.min(1514, (f[19] ?? 0) * 256 + (f[20] ?? 0)) || 60);
      const at = Math.max(this.clock.now(), this.txFreeAt) + Math.round(this.cyclesOf(len));
      this.txFreeAt = at;
      const resp = labFrame(f.subarray(6, 12).slice(), PEER_MAC, lab.seq, FRAME_RESPONSE, len);
      this.responses++;
      this.clock.queue.push(at, () => {
        this.put(resp);
      });
    }
  }
}

/**
 * A request frame: the lab frame with kind 1 whose first two pattern bytes carry the response's
 * length (big-endian), so the partner knows what to answer.
 */
export function writeRequestFrame(out: Uint8Array, dst: Uint8Array, src: Uint8Array, seq: number, len: number, responseBytes: number): void {
  writeLabFrame(out, dst, src, seq, FRAME_REQUEST, len);
  out[19] = (responseBytes >> 8) & 0xff;
  out[20] = responseBytes & 0xff;
}

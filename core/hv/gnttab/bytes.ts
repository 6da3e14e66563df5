/**
 * Byte access to machine memory, which stores each frame as 512 little-endian 64-bit slots of two
 * 32-bit words: byte `o` of a frame is byte `o & 3` of word `(o >> 2) & 1` of slot `o >> 3`.
 * GNTTABOP_copy moves bytes at any offset and length within a page.
 */
import type { MachineMemory } from '../../machine/memory.js';

/** Reads `len` bytes of frame `mfn` from byte `offset`. */
export function readBytes(mem: MachineMemory, mfn: number, offset: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    const o = offset + i;
    const slot = o >>> 3;
    const word = (o >>> 2) & 1 ? mem.readHi(mfn, slot) : mem.readLo(mfn, slot);
    out[i] = (word >>> ((o & 3) * 8)) & 0xff;
  }
  return out;
}

/** Writes `bytes` into frame `mfn` from byte `offset` (read-modify-write of each slot touched). */
export function writeBytes(mem: MachineMemory, mfn: number, offset: number, bytes: Uint8Array): void {
  let i = 0;
  while (i < bytes.length) {
    const o = offset + i;
    const slot = o >>> 3;
    let lo = mem.readLo(mfn, slot);
    let hi = mem.readHi(mfn, slot);
    for (let b = o & 7; b < 8 && i < bytes.length; b++, i++) {
      const shift = (b & 3) * 8;
      const keep = ~(0xff << shift);
      if (b < 4) lo = ((lo & keep) | (bytes[i]! << shift)) >>> 0;
      else hi = ((hi & keep) | (bytes[i]! << shift)) >>> 0;
    }
    mem.write(mfn, slot, lo, hi);
  }
}

/** memcpy between two frames (distinct or the same: the source is read first). */
export function copyBytes(mem: MachineMemory, dst: number, dstOffset: number, src: number, srcOffset: number, len: number): void {
  writeBytes(mem, dst, dstOffset, readBytes(mem, src, srcOffset, len));
}

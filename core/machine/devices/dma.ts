/**
 * DMA: a device reading and writing machine memory by bus address. Without an IOMMU the bus
 * address is the machine address (mfn·4096 + offset), which is why a driver domain that owns a
 * device without one can reach any frame (Xen's docs/misc/xen-command-line "iommu" explains the
 * trust this implies). The `translate` hook is where an IOMMU goes: it is asked once per 4 KiB
 * page touched, as the VT-d/AMD-Vi page tables translate per page.
 *
 * Transfers may cross pages. A transfer that would touch anything outside the machine, or a page
 * the hook faults, moves nothing and returns false (checked before the first byte moves, so a
 * device never leaves a half-written buffer behind a refused transfer).
 */
import { MachineMemory } from '../memory.js';

export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;
/** 2^32: joins the two little-endian halves of a 64-bit bus address in a descriptor (lo + hi·TWO32). */
export const TWO32 = 0x1_0000_0000;

export interface DmaPort {
  /** Fills `dst` from bus address `busAddr`; false (nothing read) on a fault. */
  read(busAddr: number, dst: Uint8Array): boolean;
  /** Writes `src` at bus address `busAddr`; false (nothing written) on a fault. */
  write(busAddr: number, src: Uint8Array): boolean;
}

export class DirectDma implements DmaPort {
  /** Bus address → machine address of the same page offset, or -1 for a fault. Identity when unset. */
  translate?: (busAddr: number, write: boolean) => number;
  /** Refused transfers. */
  faults = 0;

  constructor(readonly memory: MachineMemory) {}

  read(busAddr: number, dst: Uint8Array): boolean {
    const runs = this.resolve(busAddr, dst.length, false);
    if (runs === null) return false;
    let off = 0;
    for (let i = 0; i < runs.length; i += 2) {
      const maddr = runs[i]!;
      const len = runs[i + 1]!;
      const words = this.memory.frame(Math.floor(maddr / PAGE_SIZE));
      const po = maddr % PAGE_SIZE;
      if (words === undefined) dst.fill(0, off, off + len);
      else for (let b = 0; b < len; b++) dst[off + b] = (words[(po + b) >>> 2]! >>> (((po + b) & 3) * 8)) & 0xff;
      off += len;
    }
    return true;
  }

  write(busAddr: number, src: Uint8Array): boolean {
    const runs = this.resolve(busAddr, src.length, true);
    if (runs === null) return false;
    let off = 0;
    for (let i = 0; i < runs.length; i += 2) {
      const maddr = runs[i]!;
      const len = runs[i + 1]!;
      const mfn = Math.floor(maddr / PAGE_SIZE);
      const po = maddr % PAGE_SIZE;
      // Through MachineMemory.write, 8 bytes at a time, so log-dirty sees DMA'd frames.
      let b = 0;
      while (b < len) {
        const entry = (po + b) >>> 3;
        const eStart = entry << 3;
        let lo = this.memory.readLo(mfn, entry);
        let hi = this.memory.readHi(mfn, entry);
        for (let k = po + b - eStart; k < 8 && b < len; k++, b++) {
          const v = src[off + b]!;
          if (k < 4) lo = ((lo & ~(0xff << (k * 8))) | (v << (k * 8))) >>> 0;
          else hi = ((hi & ~(0xff << ((k - 4) * 8))) | (v << ((k - 4) * 8))) >>> 0;
        }
        this.memory.write(mfn, entry, lo, hi);
      }
      off += len;
    }
    return true;
  }

  /** The transfer as [maddr, length] pairs, one per page, or null if any page faults. */
  private resolve(busAddr: number, length: number, write: boolean): number[] | null {
    const end = this.memory.nrFrames * PAGE_SIZE;
    if (!Number.isSafeInteger(busAddr) || busAddr < 0) {
      this.faults++;
      return null;
    }
    const runs: number[] = [];
    let a = busAddr;
    let left = length;
    while (left > 0) {
      const inPage = Math.min(left, PAGE_SIZE - (a % PAGE_SIZE));
      const m = this.translate ? this.translate(a, write) : a;
      if (!(m >= 0) || m + inPage > end || m % PAGE_SIZE !== a % PAGE_SIZE) {
        this.faults++;
        return null;
      }
      runs.push(m, inPage);
      a += inPage;
      left -= inPage;
    }
    return runs;
  }
}

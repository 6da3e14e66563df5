/**
 * x86-64 page-table entries (Intel SDM Vol. 3A §4.5, Tables 4-14 … 4-20) and EPT entries
 * (Vol. 3C §29.3.2). An entry is 64 bits, stored as a low and a high 32-bit half.
 *
 * Flags follow Xen's convention (xen/arch/x86/include/asm/x86_64/page.h, get_pte_flags): a 24-bit
 * word holding bits 0–11 of the entry and bits 52–63 folded into bits 12–23, so NX (bit 63) is
 * bit 23 of the flags word. The frame number is bits 12–51.
 */
import { TWO_32 } from '../base/types.js';

export const PTE_P = 1 << 0;
export const PTE_RW = 1 << 1;
export const PTE_US = 1 << 2;
export const PTE_PWT = 1 << 3;
export const PTE_PCD = 1 << 4;
export const PTE_A = 1 << 5;
export const PTE_D = 1 << 6;
/** PS in L2/L3 entries (a 2 MiB / 1 GiB leaf); the PAT bit in L1 entries. */
export const PTE_PS = 1 << 7;
export const PTE_PAT = 1 << 7;
export const PTE_G = 1 << 8;
/** Bits 9–11 are ignored by hardware and available to software. */
export const PTE_AVAIL = 0x7 << 9;
/** NX (bit 63) in the folded flags word. */
export const PTE_NX = 1 << 23;
/** High half bit for NX. */
export const PTE_HI_NX = 0x80000000;

/** Bits 52–62 are available/protection-key bits, folded into flags bits 12–22. */
export const PTE_HI_AVAIL_FLAGS = 0x7ff000;
/**
 * Xen's _PAGE_GNTTAB (xen/arch/x86/include/asm/x86_64/page.h: 1U<<22 in the folded flags, bit 62
 * of the entry): marks an L1 entry Xen wrote for a grant host mapping. Guests cannot set it (it is
 * inside the L1 disallow mask's available bits).
 */
export const PTE_GNTTAB = 1 << 22;

/** Frame number of an entry: bits 12–51. */
export function pteFrame(lo: number, hi: number): number {
  return (lo >>> 12) + (hi & 0xfffff) * 0x100000;
}

/** Folded flags word of an entry (Xen's get_pte_flags). */
export function pteFlags(lo: number, hi: number): number {
  return (lo & 0xfff) | ((hi >>> 20) << 12);
}

/** Low half of the entry mapping `frame` with `flags`. */
export function pteLo(frame: number, flags: number): number {
  return (((frame & 0xfffff) << 12) | (flags & 0xfff)) >>> 0;
}

/** High half of the entry mapping `frame` with `flags`. */
export function pteHi(frame: number, flags: number): number {
  return ((Math.floor(frame / 0x100000) & 0xfffff) | ((flags >>> 12) << 20)) >>> 0;
}

/** A 64-bit entry as a hex string, for logs and the walk view. */
export function pteHex(lo: number, hi: number): string {
  return '0x' + hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

/** Parses "0x…" into the two halves of an entry. */
export function parsePteHex(s: string): { lo: number; hi: number } | null {
  if (!/^0x[0-9a-fA-F]{1,16}$/.test(s)) return null;
  const digits = s.slice(2).padStart(16, '0');
  return { hi: parseInt(digits.slice(0, 8), 16) >>> 0, lo: parseInt(digits.slice(8), 16) >>> 0 };
}

/** Machine address from frame and offset (no 32-bit truncation). */
export function frameAddr(frame: number, offset: number): number {
  return frame * 4096 + offset;
}

export { TWO_32 };

// --- EPT (Intel SDM Vol. 3C Table 29-1 … 29-6) -------------------------------------------------
export const EPT_R = 1 << 0;
export const EPT_W = 1 << 1;
export const EPT_X = 1 << 2;
/** Memory type in bits 3–5 of a leaf; 6 = write-back. */
export const EPT_MT_WB = 6 << 3;
export const EPT_IPAT = 1 << 6;
/** Bit 7: the entry maps a 2 MiB (EPT PDE) or 1 GiB (EPT PDPTE) page. */
export const EPT_PS = 1 << 7;
export const EPT_A = 1 << 8;
export const EPT_D = 1 << 9;
export const EPT_RWX = EPT_R | EPT_W | EPT_X;

/** An EPT entry is present if any of R/W/X is set. */
export function eptPresent(lo: number): boolean {
  return (lo & EPT_RWX) !== 0;
}

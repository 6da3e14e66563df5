/**
 * Address-space types, named as the field names them (Xen, Intel SDM).
 *
 * - `mfn`   machine frame number: an index into machine memory.
 * - `pfn`   a PV guest's pseudo-physical frame number (guest-local; the p2m maps it to an mfn).
 * - `gfn`   an HVM guest's guest-physical frame number (the p2m / EPT maps it to an mfn).
 * - `gva`   guest virtual address; `gpa` guest-physical address; `maddr` machine address.
 *
 * They are plain numbers; names say the space (`gpa`, `mfn`, `gpaToMfn`, `walkNested`). Addresses
 * are below 2^52, so a JS number holds them exactly; 64-bit page-table entries are kept as two
 * 32-bit halves (see machine/pte.ts).
 */

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
export const ENTRIES_PER_TABLE = 512;
/** 2^32, for splitting addresses above 4 GiB without BigInt. */
export const TWO_32 = 4294967296;

/** Page sizes a scenario may ask for, and their shifts. */
export type PageSize = '4k' | '2m' | '1g';
export const PAGE_SIZE_SHIFT: Record<PageSize, number> = { '4k': 12, '2m': 21, '1g': 30 };
/** Number of page-table levels walked to reach a leaf of this size in a 4-level x86-64 table. */
export const LEVELS_FOR_PAGE_SIZE: Record<PageSize, number> = { '4k': 4, '2m': 3, '1g': 2 };

/** Bytes one entry of a table at `level` maps (4 KiB at L1, 2 MiB at L2, 1 GiB at L3, 512 GiB at L4). */
export function levelSpan(level: number): number {
  return 2 ** (12 + 9 * (level - 1));
}

/** Table index of `va` at `level` (1 = L1/PT … 4 = L4/PML4), for va < 2^53. */
export function tableIndex(va: number, level: number): number {
  // va / 2^(12 + 9*(level-1)) mod 512, without 32-bit truncation.
  return Math.floor(va / 2 ** (3 + 9 * level)) % 512;
}

export function hex(n: number): string {
  return '0x' + n.toString(16);
}

/**
 * Address-space types, named as the field names them (Xen, Intel SDM).
 *
 * - `mfn`   machine frame number: an index into machine memory.
 * - `pfn`   a PV guest's pseudo-physical frame number (guest-local; the p2m maps it to an mfn).
 * - `gfn`   an HVM guest's guest-physical frame number (the p2m / EPT maps it to an mfn).
 * - `gva`   guest virtual address; `gpa` guest-physical address; `maddr` machine address.
 *
 * They are branded numbers: free at run time, but a function that maps one space to another says so
 * in its signature (`gpaToMfn`, `walkGuest`, `walkNested`). Addresses are below 2^52, so a JS number
 * holds them exactly; 64-bit page-table entries are kept as two 32-bit halves (see machine/pte.ts).
 */
export type Mfn = number & { readonly __space: 'mfn' };
export type Pfn = number & { readonly __space: 'pfn' };
export type Gfn = number & { readonly __space: 'gfn' };
export type Gva = number & { readonly __space: 'gva' };
export type Gpa = number & { readonly __space: 'gpa' };
export type Maddr = number & { readonly __space: 'maddr' };

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
export const ENTRIES_PER_TABLE = 512;
/** 2^32, for splitting addresses above 4 GiB without BigInt. */
export const TWO_32 = 4294967296;

export const mfn = (n: number): Mfn => n as Mfn;
export const pfn = (n: number): Pfn => n as Pfn;
export const gfn = (n: number): Gfn => n as Gfn;
export const gva = (n: number): Gva => n as Gva;

/** Page sizes a scenario may ask for, and their shifts. */
export type PageSize = '4k' | '2m' | '1g';
export const PAGE_SIZE_SHIFT: Record<PageSize, number> = { '4k': 12, '2m': 21, '1g': 30 };
/** Number of page-table levels walked to reach a leaf of this size in a 4-level x86-64 table. */
export const LEVELS_FOR_PAGE_SIZE: Record<PageSize, number> = { '4k': 4, '2m': 3, '1g': 2 };

/** Table index of `va` at `level` (1 = L1/PT … 4 = L4/PML4), for va < 2^53. */
export function tableIndex(va: number, level: number): number {
  // va / 2^(12 + 9*(level-1)) mod 512, without 32-bit truncation.
  return Math.floor(va / 2 ** (3 + 9 * level)) % 512;
}

export function hex(n: number): string {
  return '0x' + n.toString(16);
}

/**
 * Page-table helpers of the guest kernel (Linux's pgtable.h): the flags of an entry that points
 * at a lower table, and the leaf level a mapping uses.
 */
import { PTE_A, PTE_D, PTE_P, PTE_RW, PTE_US } from '../machine/pte.js';
import type { Vma } from './mm.js';

/** _PAGE_TABLE: the flags Linux puts in an entry pointing at a lower-level table. */
export const PAGE_TABLE = PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D;

/** The level whose entries map a VMA's pages: 1 for 4 KiB, 2 for 2 MiB, 3 for 1 GiB (hugetlb). */
export function leafLevelOf(v: Vma): number {
  return v.pageShift === 30 ? 3 : v.pageShift === 21 ? 2 : 1;
}

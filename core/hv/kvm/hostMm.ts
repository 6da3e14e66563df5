/**
 * A host process's address space (Linux's struct mm_struct): real x86-64 four-level page tables
 * in machine memory (pgd → pud → pmd → pte) and its mappings (VMAs). Anonymous memory is mapped
 * on first touch: the first access to a page takes a page fault that handle_mm_fault resolves by
 * installing the leaf entry (do_anonymous_page; do_huge_pmd_anonymous_page for a transparent huge
 * page; hugetlb_fault for a 1 GiB hugetlbfs page), and only then does the page count in the
 * process's RSS.
 *
 * Which machine frame a page gets is fixed when the mapping is made (`backing`), not chosen at
 * the fault: the lab's guest kernel writes its memory through its frames directly, from boot, so
 * every page's frame must be known before anything touches it. What the first touch does is
 * what a user can see and count: the host page-table entry, the RSS, the fault and its cost.
 */
import { tableIndex } from '../../base/types.js';
import type { MachineMemory } from '../../machine/memory.js';
import { PTE_A, PTE_D, PTE_NX, PTE_P, PTE_PS, PTE_RW, PTE_US, pteFrame, pteHi, pteLo } from '../../machine/pte.js';

/** An anonymous mapping (a VMA of MAP_PRIVATE|MAP_ANONYMOUS memory). */
export interface AnonVma {
  readonly start: number;
  readonly pages: number;
  /**
   * The largest page the mapping may use, as a page-table level: 1 for 4 KiB pages, 2 for
   * transparent huge pages (2 MiB, madvise(MADV_HUGEPAGE)), 3 for a 1 GiB hugetlbfs mapping.
   */
  readonly maxLevel: number;
  /** The machine frame of page k of the mapping. */
  readonly backing: Int32Array;
  readonly name: string;
}

/** A host walk's answer: the leaf's frame for the address (-1: not present), its level and the entries read. */
export interface HostWalk {
  frame: number;
  level: number;
  refs: number;
}

const TABLE = PTE_P | PTE_RW | PTE_US | PTE_A;
const LEAF = PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D | PTE_NX;

export class HostMm {
  /** mm->pgd: the frame of the top-level table. */
  readonly pgd: number;
  /** Every page-table frame of this mm (freed when the process exits). */
  readonly tableFrames: number[] = [];
  readonly vmas: AnonVma[] = [];
  /** Resident pages, in 4 KiB units (MM_ANONPAGES, what ps shows as RSS). */
  rssPages = 0;
  /** Page faults handled in this mm. */
  faults = 0;
  /** Result record, reused by walk(). */
  private readonly out: HostWalk = { frame: -1, level: 0, refs: 0 };

  constructor(
    private readonly mem: MachineMemory,
    private readonly allocTable: () => number,
  ) {
    this.pgd = this.newTable();
  }

  private newTable(): number {
    const m = this.allocTable();
    this.mem.scrub(m);
    this.tableFrames.push(m);
    return m;
  }

  /** mmap(MAP_ANONYMOUS): nothing is mapped yet, only the VMA exists. */
  mmapAnon(vma: AnonVma): void {
    if (vma.start % 4096 !== 0 || vma.backing.length !== vma.pages) throw new Error(`mmap ${vma.name}: bad mapping`);
    this.vmas.push(vma);
  }

  findVma(hva: number): AnonVma | undefined {
    for (const v of this.vmas) if (hva >= v.start && hva < v.start + v.pages * 4096) return v;
    return undefined;
  }

  /**
   * A software walk of this mm's tables for `hva` (what get_user_pages_fast and KVM's
   * host_pfn_mapping_level do): the frame of the 4 KiB page at `hva` and the level of the leaf
   * that maps it, or frame -1 when an entry on the way is not present. No side effects.
   */
  walk(hva: number): HostWalk {
    const out = this.out;
    out.frame = -1;
    out.level = 0;
    out.refs = 0;
    let table = this.pgd;
    for (let level = 4; level >= 1; level--) {
      const i = tableIndex(hva, level);
      const lo = this.mem.readLo(table, i);
      out.refs++;
      if (!(lo & PTE_P)) return out;
      const frame = pteFrame(lo, this.mem.readHi(table, i));
      if (level === 1 || lo & PTE_PS) {
        const within = Math.floor((hva % 2 ** (12 + 9 * (level - 1))) / 4096);
        out.frame = frame + within;
        out.level = level;
        return out;
      }
      table = frame;
    }
    return out;
  }

  /**
   * handle_mm_fault for an access to `hva`: installs the leaf that maps it (the largest the VMA
   * allows where its frames are contiguous and aligned, as the huge-page allocator would have
   * given them). Returns the leaf's level, or 0 when no VMA holds the address (SIGSEGV; for KVM,
   * hva_to_pfn fails with KVM_PFN_ERR_FAULT).
   */
  handleMmFault(hva: number): number {
    const vma = this.findVma(hva);
    if (!vma) return 0;
    const k = Math.floor((hva - vma.start) / 4096);
    let level = vma.maxLevel;
    while (level > 1 && !this.hugeFits(vma, k, level)) level--;
    const span = 2 ** (9 * (level - 1));
    const base = Math.floor(k / span) * span;
    const frame = vma.backing[base]!;
    let table = this.pgd;
    for (let l = 4; l > level; l--) {
      const i = tableIndex(hva, l);
      const lo = this.mem.readLo(table, i);
      if (lo & PTE_P) table = pteFrame(lo, this.mem.readHi(table, i));
      else {
        const next = this.newTable();
        this.mem.write(table, i, pteLo(next, TABLE), pteHi(next, TABLE));
        table = next;
      }
    }
    const flags = LEAF | (level > 1 ? PTE_PS : 0);
    this.mem.write(table, tableIndex(hva, level), pteLo(frame, flags), pteHi(frame, flags));
    this.rssPages += span;
    this.faults++;
    return level;
  }

  /** A huge leaf fits: the VMA covers the whole aligned range and its frames are contiguous and aligned. */
  private hugeFits(vma: AnonVma, k: number, level: number): boolean {
    const span = 2 ** (9 * (level - 1));
    const base = Math.floor(k / span) * span;
    if ((vma.start / 4096 + base) % span !== 0 || base + span > vma.pages) return false;
    const m0 = vma.backing[base]!;
    if (m0 < 0 || m0 % span !== 0) return false;
    for (let i = 1; i < span; i++) if (vma.backing[base + i] !== m0 + i) return false;
    return true;
  }
}

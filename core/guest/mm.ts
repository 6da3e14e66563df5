/**
 * Address spaces of the guest kernel: VMAs, the page-table pages an mm owns, and processes.
 */

/** A file's pages in the page cache (pfn per page, -1 while not cached). */
export class FileImage {
  readonly pages: Int32Array;
  constructor(
    readonly name: string,
    nrPages: number,
  ) {
    this.pages = new Int32Array(nrPages).fill(-1);
  }
}

export interface Vma {
  start: number;
  end: number;
  write: boolean;
  exec: boolean;
  /** File-backed mapping, or null for anonymous memory. */
  file: FileImage | null;
  /** MAP_SHARED: a write maps the page-cache page itself (else a private copy is made). */
  shared?: boolean;
  /** First file page mapped at `start`. */
  filePage: number;
  /** Page shift of the mapping: 12, or 21 / 30 for hugetlb-style mappings of 2 MiB / 1 GiB pages. */
  pageShift: number;
  /** hugetlb: base pfn of each huge page backing the VMA, in order (aliased if fewer than needed). */
  hugePfns: number[] | null;
}

export interface PtPage {
  level: number;
  /** The table and index that point at this one (the root has none). */
  parent: number;
  index: number;
}

export class Mm {
  readonly vmas: Vma[] = [];
  /** Page-table pages of this address space, below the root. */
  readonly tables = new Map<number, PtPage>();
  /** Next address handed out by mmap (top-down below the stack). */
  mmapBase = 0x7f0000000000;
  /** This mm's PCID was used before (wrap-around): flush it before first use. */
  needsFlush = false;

  constructor(
    readonly root: number,
    readonly pcid: number,
  ) {}

  findVma(va: number): Vma | null {
    for (const v of this.vmas) if (va >= v.start && va < v.end) return v;
    return null;
  }
}

export class Process {
  constructor(
    readonly pid: number,
    public mm: Mm,
    readonly name: string,
  ) {}
}

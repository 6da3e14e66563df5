/**
 * The guest kernel: a small Linux-like memory manager that runs unchanged in every paging mode
 * through PvOps. Demand-zero faults, copy-on-write fork, exec from a page cache, mmap / munmap /
 * mprotect, context switches with PCIDs. Its page tables are real x86-64 tables in its memory.
 */
import { C } from '../machine/counters.js';
import { PTE_A, PTE_D, PTE_NX, PTE_P, PTE_PS, PTE_RW, PTE_US } from '../machine/pte.js';
import { levelSpan, tableIndex } from '../base/types.js';
import type { PvOps } from './pvops.js';
import { FileImage, Mm, Process, type Vma } from './mm.js';
import { OutOfMemory, PageAllocator } from './pageAlloc.js';
import { leafLevelOf, PAGE_TABLE } from './pgtable.js';
import type { GuestPlatform } from './platform.js';
import { mprotect, munmap } from './mprotect.js';
import { exec, exit, fork } from './process.js';

export { OutOfMemory } from './pageAlloc.js';

/** tlb_single_page_flush_ceiling: above this many pages a range flush becomes a full flush. */
export const FLUSH_CEILING = 33;
const MAX_PCID = 4095;
/** A Windows transition PTE's software bit (bit 11); not present, so the MMU ignores the rest. */
const PTE_TRANSITION = 0x800;

export class SegmentationFault extends Error {
  constructor(
    readonly va: number,
    readonly write: boolean,
  ) {
    super(`segmentation fault at 0x${va.toString(16)} (${write ? 'write' : 'read'})`);
  }
}


export class GuestKernel {
  /** The pv-ops behind the kernel (a live migration changes them: rebind). */
  ops: PvOps;
  /** @internal The counters' array (process.ts charges work to it too). */
  readonly c: Float64Array;
  private readonly pages: PageAllocator;
  /** Pages drivers keep for their devices (allocPage(true)). */
  private readonly pinned = new Set<number>();
  /** References to each page: one per PTE mapping it, plus one while it is in the page cache. */
  readonly mapcount: Int32Array;
  readonly inPageCache: Uint8Array;
  /** The kernel's own address space (init_mm / swapper_pg_dir). */
  initRoot = -1;
  /** Kernel-half entries every new L4 copies: [slot, pfn] pairs. */
  private kernelSlots: [number, number][] = [];
  private initTables: { pfn: number; level: number }[] = [];
  readonly procs = new Map<number, Process>();
  current: Process | null = null;
  /** @internal */
  nextPid = 1;
  private nextPcid = 1;
  private pcidWrapped = false;
  readonly log: string[] = [];

  constructor(
    /** The machine as the kernel sees it (vm/ supplies it; a live migration changes it: rebind). */
    public plat: GuestPlatform,
    ops: PvOps,
    /** pfns [0, nrUsable) are the kernel's page allocator's; the rest is its reserve. */
    readonly nrUsable: number,
  ) {
    this.ops = ops;
    this.c = plat.counters.c;
    const n = plat.nrPages;
    this.pages = new PageAllocator(nrUsable, n, plat.name);
    this.mapcount = new Int32Array(n);
    this.inPageCache = new Uint8Array(n);
  }

  get name(): string {
    return this.plat.name;
  }

  /**
   * Resumed on another machine (a live migration): the same memory by pfn behind new pv-ops and
   * platform. The counters must be the same object (the kernel and its processes keep `c`).
   */
  rebind(plat: GuestPlatform, ops: PvOps): void {
    if (plat.counters.c !== this.c) throw new Error(`${this.name}: a rebound kernel must keep its counters`);
    this.plat = plat;
    this.ops = ops;
  }

  get freePages(): number {
    return this.pages.freePages;
  }

  /** Called by the PV builder: the init mm it built (root and tables in the kernel reserve). */
  setInitMm(root: number, tables: { pfn: number; level: number }[]): void {
    this.initRoot = root;
    this.initTables = tables;
    for (let slot = 256; slot < 512; slot++) {
      const flags = this.ops.readPte(root, slot);
      if (flags) this.kernelSlots.push([slot, this.ops.lastPfn]);
    }
  }

  boot(): void {
    if (this.initRoot < 0) {
      // Non-PV kernels: an init mm with an empty kernel half (the kernel's own mappings are not
      // walked by any workload, so they are not built).
      this.initRoot = this.allocPage();
      this.ops.allocPt(this.initRoot, 4);
      this.ops.pinRoot(this.initRoot);
    }
    this.ops.switchRoot(this.initRoot, 0);
    this.log.push(`Linux version 6.1-hyperlab (${this.plat.mode}) booting on ${this.plat.platformName}`);
    this.log.push(`Memory: ${this.plat.nrPages * 4} KiB, ${this.nrUsable} pages for the page allocator`);
  }

  // --- page allocator ------------------------------------------------------------------------

  /**
   * get_zeroed_page. `pinned`: a driver keeps it for a device (a ring, a DMA queue), so it is not
   * movable (Linux's unmovable pages): a device holds its address.
   */
  allocPage(pinned = false): number {
    const pfn = this.pages.alloc();
    this.zeroPage(pfn);
    if (pinned) this.pinned.add(pfn);
    return pfn;
  }

  /** True for a page a driver allocated for a device (allocPage(true)) and has not freed. */
  isPinned(pfn: number): boolean {
    return this.pinned.has(pfn);
  }

  private zeroPage(pfn: number): void {
    this.ops.pageZeroed(pfn);
    this.plat.clearPage(pfn);
    this.c[C.ZeroedPages]++;
    this.c[C.CycGuest] += this.plat.costs.zeroPage;
  }

  freePage(pfn: number): void {
    this.pages.free(pfn);
    this.pinned.delete(pfn);
  }

  /**
   * totalram_pages: the pages the page allocator manages, what /proc/meminfo's MemTotal and `free`
   * report. The balloon driver lowers it for each page it gives to Xen and raises it for each page
   * it takes back (Linux's adjust_managed_page_count).
   */
  get totalramPages(): number {
    return this.nrUsable + this.ramDelta;
  }
  private ramDelta = 0;

  /**
   * A free page for the balloon (alloc_page(GFP_BALLOON): not zeroed, no reclaim, no warning), or
   * -1 when the allocator has none free; it leaves totalram.
   */
  balloonTakePage(): number {
    if (this.pages.freePages === 0) return -1;
    const pfn = this.pages.alloc();
    this.ramDelta--;
    return pfn;
  }

  /** clear_page before a page leaves the guest (the balloon's scrub: CONFIG_XEN_SCRUB_PAGES_DEFAULT). */
  scrubPage(pfn: number): void {
    this.plat.clearPage(pfn);
    this.c[C.CycGuest] += this.plat.costs.zeroPage;
  }

  /** A page the balloon got back from Xen goes to the allocator and into totalram (free_reserved_page). */
  balloonGivePage(pfn: number): void {
    this.pages.free(pfn);
    this.ramDelta++;
  }

  /** From now on the page allocator remembers which pages it hands out (a memory check's start). */
  markAllocations(): void {
    this.pages.markAllocations();
  }

  /** Free now and never handed out since markAllocations(): no one may have written it since. */
  freeSinceMark(pfn: number): boolean {
    return this.pages.freeSinceMark(pfn);
  }

  /** 2^order naturally aligned free pages (hugetlb pool), or -1. */
  allocHuge(order: number): number {
    return this.pages.allocHuge(order);
  }

  // --- address spaces ------------------------------------------------------------------------

  /** @internal A new address space: its root with the kernel half copied in, pinned. */
  newMm(): Mm {
    const root = this.allocPage();
    // pgd_ctor: copy the kernel half while the page is still an ordinary page.
    for (const [slot, pfn] of this.kernelSlots) this.ops.setPte(root, 4, slot, pfn, PAGE_TABLE);
    this.ops.allocPt(root, 4);
    this.ops.pinRoot(root);
    if (this.nextPcid > MAX_PCID) {
      this.nextPcid = 1;
      this.pcidWrapped = true;
    }
    const mm = new Mm(root, this.nextPcid++);
    mm.needsFlush = this.pcidWrapped;
    this.c[C.PtPagesAllocated]++;
    return mm;
  }

  spawn(name: string): Process {
    const p = new Process(this.nextPid++, this.newMm(), name);
    this.procs.set(p.pid, p);
    return p;
  }

  switchTo(p: Process): void {
    if (this.current === p) return;
    this.current = p;
    this.c[C.ContextSwitches]++;
    this.c[C.CycGuest] += this.plat.costs.contextSwitch;
    this.ops.taskSwitch();
    this.ops.switchRoot(p.mm.root, p.mm.pcid);
    if (p.mm.needsFlush) {
      p.mm.needsFlush = false;
      this.ops.flushTlb();
    }
  }

  /** The table at `leafLevel` covering `va`, allocating missing tables; -1 if absent and !alloc. */
  tableFor(mm: Mm, va: number, leafLevel: number, alloc: boolean): number {
    let t = mm.root;
    for (let level = 4; level > leafLevel; level--) {
      const i = tableIndex(va, level);
      const flags = this.ops.readPte(t, i);
      if (flags & PTE_P) {
        t = this.ops.lastPfn;
        continue;
      }
      if (!alloc) return -1;
      const child = this.allocPage();
      this.ops.allocPt(child, level - 1);
      this.c[C.PtPagesAllocated]++;
      mm.tables.set(child, { level: level - 1, parent: t, index: i });
      this.ops.setPte(t, level, i, child, PAGE_TABLE);
      t = child;
    }
    return t;
  }

  mmap(mm: Mm, bytes: number, opts: { write?: boolean; exec?: boolean; file?: FileImage | null; shared?: boolean; at?: number; pageShift?: number } = {}): Vma {
    const pageShift = opts.pageShift ?? 12;
    const align = 2 ** pageShift;
    const size = Math.ceil(bytes / align) * align;
    let start = opts.at;
    if (start === undefined) {
      mm.mmapBase = Math.floor((mm.mmapBase - size) / Math.max(align, 2 ** 21)) * Math.max(align, 2 ** 21);
      start = mm.mmapBase;
    }
    const vma: Vma = {
      start,
      end: start + size,
      write: opts.write ?? true,
      exec: opts.exec ?? false,
      file: opts.file ?? null,
      ...(opts.shared ? { shared: true } : {}),
      filePage: 0,
      pageShift,
      hugePfns: null,
    };
    if (pageShift > 12) {
      const order = pageShift - 12;
      const want = size / align;
      const pfns: number[] = [];
      for (let k = 0; k < want; k++) {
        const base = this.allocHuge(order);
        if (base < 0) break;
        pfns.push(base);
      }
      if (pfns.length === 0) throw new OutOfMemory(`${this.plat.name}: no free ${align >> 20} MiB page for a hugetlb mapping`);
      vma.hugePfns = pfns;
    }
    mm.vmas.push(vma);
    this.ops.syscall();
    return vma;
  }

  // --- faults --------------------------------------------------------------------------------

  /** A user access; faults are handled as the kernel would. Throws SegmentationFault. */
  touch(va: number, write: boolean): void {
    const ops = this.ops;
    if (ops.access(va, write)) return;
    for (let tries = 0; tries < 4; tries++) {
      if (!this.handleFault(this.current!, va, write)) throw new SegmentationFault(va, write);
      if (ops.access(va, write)) return;
    }
    throw new Error(`${this.plat.name}: fault at 0x${va.toString(16)} did not resolve`);
  }

  /** do_page_fault → handle_mm_fault: demand-zero, page cache, hugetlb, or copy-on-write. */
  handleFault(p: Process, va: number, write: boolean): boolean {
    const ops = this.ops;
    ops.faultEnter();
    this.c[C.PfGuest]++;
    const mm = p.mm;
    const vma = mm.findVma(va);
    if (!vma || (write && !vma.write)) {
      // Refused (SIGSEGV): only the VMA lookup and the access check.
      this.c[C.CycGuest] += this.plat.costs.faultCheck;
      ops.faultExit();
      return false;
    }
    this.c[C.CycGuest] += this.plat.costs.faultHandler;
    const leaf = leafLevelOf(vma);
    const t = this.tableFor(mm, va, leaf, true);
    const i = tableIndex(va, leaf);
    const flags = ops.readPte(t, i);
    if (!(flags & PTE_P)) {
      let pfn: number;
      let fl = PTE_P | PTE_US | PTE_A;
      if (vma.hugePfns) {
        const k = Math.floor((va - vma.start) / 2 ** vma.pageShift);
        pfn = vma.hugePfns[k % vma.hugePfns.length]!;
        fl |= PTE_PS | PTE_D | (vma.write ? PTE_RW : 0);
      } else if (vma.file) {
        const page = vma.filePage + Math.floor((va - vma.start) / 4096);
        const cached = this.pageCache(vma.file, page);
        if (write && vma.shared) {
          // A shared file mapping written: the page-cache page itself, writable and dirty.
          pfn = cached;
          fl |= PTE_RW | PTE_D;
        } else if (write) {
          // A private file mapping written: copy the page-cache page now.
          pfn = this.allocPage();
          this.copy(pfn, cached);
          fl |= PTE_RW | PTE_D;
        } else {
          pfn = cached;
        }
      } else {
        if (this.plat.guestOs === 'windows') {
          // Windows' MiResolveDemandZeroFault: the PTE first becomes a transition PTE (not
          // present) while the page is prepared, then the valid one (G. Dunlap, "Xen 3.3 Feature:
          // Shadow 3", 2008: two page-table writes per demand-zero fault).
          ops.setPte(t, leaf, i, 0, PTE_TRANSITION);
        }
        pfn = this.allocPage();
        if (vma.write) fl |= PTE_RW;
        if (write) fl |= PTE_D;
      }
      if (!vma.exec) fl |= PTE_NX;
      if (!vma.hugePfns) this.mapcount[pfn]++;
      ops.setPte(t, leaf, i, pfn, fl);
    } else if (write && !(flags & PTE_RW)) {
      const old = ops.lastPfn;
      if (this.mapcount[old] === 1 && !this.inPageCache[old]) {
        ops.setPte(t, leaf, i, old, flags | PTE_RW | PTE_D);
      } else {
        const n = this.allocPage();
        this.copy(n, old);
        this.c[C.CowCopies]++;
        this.mapcount[n]!++;
        this.unref(old);
        ops.setPte(t, leaf, i, n, (flags | PTE_RW | PTE_D) & ~PTE_PS);
      }
      ops.invlpg(va);
    } else {
      // Spurious: a stale TLB entry (another CPU changed the entry). Flush and retry.
      ops.invlpg(va);
    }
    ops.faultExit();
    return true;
  }

  private copy(dst: number, src: number): void {
    this.plat.copyPage(dst, src);
    this.c[C.CycGuest] += this.plat.costs.copyPage;
  }

  private pageCache(f: FileImage, page: number): number {
    let pfn = f.pages[page]!;
    if (pfn < 0) {
      pfn = this.allocPage();
      f.pages[page] = pfn;
      this.inPageCache[pfn] = 1;
      this.mapcount[pfn] = 1;
      this.c[C.CycGuest] += this.plat.costs.copyPage; // read in from the (cached) block device
    }
    return pfn;
  }

  private unref(pfn: number): void {
    const n = --this.mapcount[pfn]!;
    if (n < 0) throw new Error(`${this.plat.name}: mapcount underflow on pfn ${pfn}`);
    if (n === 0) this.freePage(pfn);
  }

  // --- range operations ------------------------------------------------------------------------

  /** @internal Visits every present leaf entry in [start, end): cb(table, level, index, va, flags, pfn). */
  forEachPte(mm: Mm, start: number, end: number, leaf: number, cb: (t: number, i: number, va: number, flags: number, pfn: number) => void): void {
    const span = levelSpan(leaf);
    const tspan = span * 512;
    for (let base = Math.floor(start / tspan) * tspan; base < end; base += tspan) {
      const t = this.tableFor(mm, Math.max(base, start), leaf, false);
      if (t < 0) continue;
      const i0 = base < start ? tableIndex(start, leaf) : 0;
      const i1 = base + tspan > end ? tableIndex(end - 1, leaf) : 511;
      for (let i = i0; i <= i1; i++) {
        const flags = this.ops.readPte(t, i);
        if (flags & PTE_P) cb(t, i, base + i * span, flags, this.ops.lastPfn);
      }
    }
  }

  /** Flush after changing `pages` entries of the current mm (range flush or full flush). */
  /** @internal */
  flushRange(mm: Mm, vas: number[]): void {
    if (this.current?.mm !== mm) return; // not loaded: its PCID/VPID entries are flushed on reuse
    if (vas.length === 0) return;
    if (vas.length >= FLUSH_CEILING) this.ops.flushTlb();
    else {
      // flush_tlb_range: one INVLPG per page (PV batches them into one multicall).
      this.ops.lazyBegin();
      for (const va of vas) this.ops.invlpg(va);
      this.ops.lazyEnd();
    }
  }

  /** zap_page_range: clear the entries of [start, end) and drop the pages. */
  zap(mm: Mm, v: Vma, start: number, end: number, flush: boolean): void {
    const leaf = leafLevelOf(v);
    const vas: number[] = [];
    this.ops.lazyBegin();
    const pageRef = this.plat.costs.pageRef;
    this.forEachPte(mm, start, end, leaf, (t, i, va, _flags, pfn) => {
      this.ops.setPte(t, leaf, i, 0, 0);
      this.c[C.CycGuest] += pageRef;
      if (!v.hugePfns) this.unref(pfn);
      vas.push(va);
    });
    this.ops.lazyEnd();
    if (flush) this.flushRange(mm, vas);
  }

  /** change_protection: make present entries of [start, end) read-only or writable again. */
  mprotect(mm: Mm, start: number, end: number, write: boolean): number {
    return mprotect(this, mm, start, end, write);
  }

  munmap(mm: Mm, v: Vma): void {
    munmap(this, mm, v);
  }

  /** Copy-on-write fork (copy_page_range): the child shares every page read-only. */
  fork(parent: Process, name = parent.name): Process {
    return fork(this, parent, name);
  }

  exit(p: Process): void {
    exit(this, p);
  }

  /** execve: a fresh mm mapping the image (text read-only, data private writable) and a stack. */
  exec(p: Process, image: FileImage): void {
    exec(this, p, image);
  }

  /** Auditor support: recount every page's references from the tables of all live mms. */
  recountMapcounts(): Int32Array {
    const counts = new Int32Array(this.mapcount.length);
    for (let p = 0; p < this.inPageCache.length; p++) if (this.inPageCache[p]) counts[p]!++;
    for (const proc of this.procs.values()) {
      for (const v of proc.mm.vmas) {
        if (v.hugePfns) continue;
        this.forEachPte(proc.mm, v.start, v.end, 1, (_t, _i, _va, _f, pfn) => {
          counts[pfn]!++;
        });
      }
    }
    return counts;
  }

  /** Page-table pages of the kernel's own mm (PV: the boot-time direct map). */
  get kernelTables(): readonly { pfn: number; level: number }[] {
    return this.initTables;
  }
}

/**
 * The balloon driver (Linux's drivers/xen/balloon.c with its xenstore half, xen-balloon.c): it
 * watches `memory/target` (KiB) in the domain's xenstore directory and moves the guest's memory
 * toward it, one batch of frame numbers at a time.
 *
 *  Down (decrease_reservation): free pages are taken from the guest's own allocator (they leave
 *  totalram, so `free` and MemTotal shrink), scrubbed, and given to Xen. A PV guest first unmaps each
 *  from its direct map (update_va_mapping to an empty PTE: the mapping holds a reference on the
 *  frame), sets its p2m entry to INVALID_P2M_ENTRY, flushes its TLB, and hands back the machine
 *  frames; a translated guest (shadow, hap) hands back its gfns and Xen removes the p2m entries.
 *  Up: a PV guest asks for fresh frames (XENMEM_increase_reservation, as the xenlinux balloon did),
 *  puts each into its p2m and the M2P (MMU_MACHPHYS_UPDATE, one mmu_update for the batch) and maps
 *  it in its direct map; a translated guest asks Xen to populate its ballooned gfns
 *  (XENMEM_populate_physmap, Linux's xenmem_reservation_increase). The pages go back to the allocator.
 *
 * Linux's balloon_process: it loops while there is credit (target − current) and each step did all
 * it asked; a step that could do nothing (no free page to give, Xen gave no frame: max_pages or
 * free memory) leaves the rest for later (BP_EAGAIN) and retries after schedule_delay seconds,
 * doubling up to max_schedule_delay. A step that did part of its batch is done with it and the
 * next step asks again. With no ballooned page left to fill, the guest cannot grow (Linux would
 * hot-add memory, which the lab leaves out): it stays below its target.
 */
import type { XenbusStore } from './io/env.js';

/** Frame numbers per decrease/increase call: one page of xen_pfn_t (balloon.c's frame_list, PAGE_SIZE / 8). */
export const BALLOON_BATCH = 512;
/** balloon_stats.schedule_delay (balloon.c): the first retry comes after 1 s. */
export const BALLOON_SCHEDULE_DELAY_S = 1;
/** balloon_stats.max_schedule_delay (balloon.c): retries back off, doubling, up to 32 s apart. */
export const BALLOON_MAX_SCHEDULE_DELAY_S = 32;
/** INVALID_P2M_ENTRY (arch/x86/include/asm/xen/page.h): a pfn with no frame behind it. */
export const INVALID_P2M_ENTRY = -1;

/** What the driver reaches Xen through: its hypercalls and, for a PV guest, its own p2m. */
export interface BalloonHypervisor {
  /** XENMEM_decrease_reservation: machine frames (PV) or gfns (translated); returns the extents done. */
  decreaseReservation(frames: readonly number[]): number;
  /** PV: XENMEM_increase_reservation, up to `n` fresh machine frames (fewer when Xen has no more for the domain). */
  increaseReservation(n: number): number[];
  /** Translated: XENMEM_populate_physmap at these gfns; returns the extents done. */
  populatePhysmap(gfns: readonly number[]): number;
  /** PV: one mmu_update of MMU_MACHPHYS_UPDATE requests, [mfn, pfn] each; 0 or a negative errno. */
  machphysUpdate(pairs: readonly (readonly [number, number])[]): number;
  /** PV: update_va_mapping of `pfn`'s direct-map address: to `mfn`, writable, or (-1) to an empty PTE; 0 or a negative errno. */
  mapDirect(pfn: number, mfn: number): number;
  /** Flush this vCPU's TLB (PV: MMUEXT_TLB_FLUSH_LOCAL). */
  flushTlb(): void;
}

/** The guest kernel's side the driver works with (its page allocator, its p2m for a PV guest). */
export interface BalloonKernel {
  /** A free page, not zeroed, leaving totalram; -1 when none is free. */
  balloonTakePage(): number;
  /** A page back into the allocator and totalram. */
  balloonGivePage(pfn: number): void;
  /** clear_page (scrub before the frame leaves: CONFIG_XEN_SCRUB_PAGES). */
  scrubPage(pfn: number): void;
}

export interface BalloonEnv {
  /** XENFEAT_auto_translated_physmap: hap or shadow (Xen keeps the p2m). */
  readonly autoTranslated: boolean;
  /** /local/domain/<domid> */
  readonly home: string;
  readonly xs: XenbusStore;
  readonly hv: BalloonHypervisor;
  readonly kernel: BalloonKernel;
  /** PV: the guest's p2m (pfn → mfn); it writes it itself. */
  readonly p2m: Int32Array;
  /** Pages populated at boot (current_pages at start). */
  readonly bootPages: number;
  /** pfns that start ballooned out (above the boot memory, up to maxmem), lowest first. */
  readonly initiallyBallooned: readonly number[];
  /** Runs `fn` on this domain's vCPU after `ms` of simulated time (a delayed work item). */
  later(ms: number, fn: () => void): void;
  log(line: string): void;
}

export interface BalloonStats {
  /** balloon_stats.target_pages: from memory/target. */
  targetPages: number;
  /** balloon_stats.current_pages: pages the guest has (its frames). */
  currentPages: number;
  /** Pages given to Xen so far. */
  pagesReleased: number;
  /** Pages taken back from Xen so far. */
  pagesReclaimed: number;
  /** Hypercalls the driver made (memory_op, mmu_update, update_va_mapping, mmuext_op). */
  hypercalls: number;
}

type BpState = 'done' | 'eagain' | 'ecanceled';

export class BalloonDriver {
  readonly stats: BalloonStats;
  /** The ballooned pages (balloon.c's ballooned_pages list), a stack: the last given is the first taken back. */
  private readonly ballooned: number[];
  private scheduleDelayS = BALLOON_SCHEDULE_DELAY_S;
  private retryPending = false;
  /** True once memory/target has been written since boot with a value other than the boot size. */
  private moved = false;

  constructor(private readonly env: BalloonEnv) {
    this.stats = { targetPages: env.bootPages, currentPages: env.bootPages, pagesReleased: 0, pagesReclaimed: 0, hypercalls: 0 };
    // Highest pfn last, so the lowest extra pfn is filled first.
    this.ballooned = [...env.initiallyBallooned].reverse();
  }

  /** Pages held in the balloon (given to Xen, or never populated). */
  get balloonedPages(): number {
    return this.ballooned.length;
  }

  /** True if the driver has been asked to move (memory/target changed from the boot size). */
  get used(): boolean {
    return this.moved;
  }

  /** balloon_init + register_xen_selfballooning's watch: xenbus watch on memory/target. */
  start(): void {
    this.env.xs.watch(`${this.env.home}/memory/target`, 'balloon:target', () => this.watchTarget());
  }

  /** watch_target: a new target in KiB, in pages (>> (PAGE_SHIFT − 10)). A missing or bad value is ignored, as Linux does. */
  private watchTarget(): void {
    const v = this.env.xs.read(`${this.env.home}/memory/target`);
    if (v === null || !/^\d+$/.test(v)) return;
    const pages = Math.floor(Number(v) / 4);
    if (pages !== this.stats.targetPages) this.moved = true;
    this.setTarget(pages);
  }

  /** balloon_set_new_target: the work item runs now (delay 0). */
  setTarget(pages: number): void {
    this.stats.targetPages = pages;
    this.scheduleDelayS = BALLOON_SCHEDULE_DELAY_S;
    this.process();
  }

  /** balloon_process: step toward the target while each step completes; retry later on BP_EAGAIN. */
  process(): void {
    this.retryPending = false;
    let state: BpState = 'done';
    let credit: number;
    do {
      credit = this.stats.targetPages - this.stats.currentPages;
      if (credit > 0) state = this.ballooned.length > 0 ? this.increase(credit) : 'ecanceled';
      else if (credit < 0) state = this.decrease(-credit);
      if (state === 'done') this.scheduleDelayS = BALLOON_SCHEDULE_DELAY_S;
    } while (credit !== 0 && state === 'done');
    if (state === 'eagain' && !this.retryPending) {
      this.retryPending = true;
      const delay = this.scheduleDelayS;
      this.scheduleDelayS = Math.min(delay * 2, BALLOON_MAX_SCHEDULE_DELAY_S);
      this.env.later(delay * 1000, () => {
        if (this.retryPending) this.process();
      });
    }
  }

  /** decrease_reservation: up to one batch of free pages to Xen. */
  private decrease(nr: number): BpState {
    const env = this.env;
    const k = env.kernel;
    const n = Math.min(nr, BALLOON_BATCH);
    const pfns: number[] = [];
    for (let i = 0; i < n; i++) {
      const pfn = k.balloonTakePage();
      if (pfn < 0) break;
      pfns.push(pfn);
    }
    if (pfns.length === 0) return 'eagain';
    for (const pfn of pfns) k.scrubPage(pfn);
    let frames: number[];
    if (env.autoTranslated) {
      frames = pfns;
    } else {
      // xenmem_reservation_va_mapping_reset: the direct map's entry goes, then the p2m's.
      frames = pfns.map((pfn) => env.p2m[pfn]!);
      for (const pfn of pfns) {
        const rc = env.hv.mapDirect(pfn, -1);
        this.stats.hypercalls++;
        if (rc !== 0) throw new Error(`balloon: update_va_mapping of pfn ${pfn} to an empty PTE failed (${rc})`);
        env.p2m[pfn] = INVALID_P2M_ENTRY;
      }
      env.hv.flushTlb();
      this.stats.hypercalls++;
    }
    const done = env.hv.decreaseReservation(frames);
    this.stats.hypercalls++;
    if (done < frames.length) {
      // Linux BUG()s here (a free, unmapped page always goes); the lab keeps the guest alive: the
      // pages Xen did not take (a reference it holds, a grant or DMA in flight) go back into use.
      env.log(`xen:balloon: Xen took ${done} of ${frames.length} pages (decrease_reservation); keeping the rest`);
      for (let i = done; i < pfns.length; i++) {
        const pfn = pfns[i]!;
        if (!env.autoTranslated) {
          env.p2m[pfn] = frames[i]!;
          env.hv.mapDirect(pfn, frames[i]!);
          this.stats.hypercalls++;
        }
        env.kernel.balloonGivePage(pfn);
      }
    }
    for (let i = 0; i < done; i++) this.ballooned.push(pfns[i]!);
    this.stats.currentPages -= done;
    this.stats.pagesReleased += done;
    return done === pfns.length ? 'done' : 'eagain';
  }

  /** increase_reservation: up to one batch of ballooned pages filled again. */
  private increase(nr: number): BpState {
    const env = this.env;
    const n = Math.min(nr, BALLOON_BATCH, this.ballooned.length);
    const pfns = this.ballooned.slice(this.ballooned.length - n).reverse();
    let got: number;
    if (env.autoTranslated) {
      got = env.hv.populatePhysmap(pfns);
      this.stats.hypercalls++;
    } else {
      const mfns = env.hv.increaseReservation(n);
      this.stats.hypercalls++;
      got = mfns.length;
      if (got > 0) {
        for (let i = 0; i < got; i++) env.p2m[pfns[i]!] = mfns[i]!;
        const rc = env.hv.machphysUpdate(mfns.map((m, i) => [m, pfns[i]!] as const));
        this.stats.hypercalls++;
        if (rc !== 0) throw new Error(`balloon: MMU_MACHPHYS_UPDATE failed (${rc})`);
        for (let i = 0; i < got; i++) {
          const rc2 = env.hv.mapDirect(pfns[i]!, mfns[i]!);
          this.stats.hypercalls++;
          if (rc2 !== 0) throw new Error(`balloon: update_va_mapping of pfn ${pfns[i]} to mfn ${mfns[i]} failed (${rc2})`);
        }
      }
    }
    if (got <= 0) return 'eagain';
    this.ballooned.length -= got;
    for (let i = 0; i < got; i++) env.kernel.balloonGivePage(pfns[i]!);
    this.stats.currentPages += got;
    this.stats.pagesReclaimed += got;
    return 'done';
  }
}

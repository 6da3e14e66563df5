/**
 * What the guest kernel knows of the machine it runs on, besides its pv-ops: its name and memory
 * size, where it booted, the counters and cost table its work is charged to, and the arch page
 * primitives (clear_page, copy_page) that write through the kernel's own mappings. The domain
 * builder (vm/) supplies it; the kernel never sees the hypervisor's domain.
 */
import type { PagingMode } from '../api/scenario.js';
import type { CostTable } from '../machine/cost.js';
import type { Counters } from '../machine/counters.js';

export interface GuestPlatform {
  readonly name: string;
  readonly mode: PagingMode;
  /** What the boot log says the kernel runs on: "bare metal", "Xen PV" or "HVM". */
  readonly platformName: string;
  /** Pages of guest-physical memory (pfns 0 .. nrPages-1). */
  readonly nrPages: number;
  readonly counters: Counters;
  readonly costs: CostTable;
  /** "windows": demand-zero faults write a transition PTE first (the domain's guestOs). */
  readonly guestOs: 'linux' | 'windows';
  /** Cycles per user instruction relative to the reference core (CpuProfile.userCpiScale). */
  readonly userCpiScale: number;
  /** clear_page: zero the page at `pfn`. */
  clearPage(pfn: number): void;
  /** copy_page: copy the page at `src` over the page at `dst`. */
  copyPage(dst: number, src: number): void;
}

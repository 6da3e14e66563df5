/**
 * What a guest kernel's split drivers see of Xen (Linux's drivers/xen and drivers/block/xen-blk*):
 * event channels, grant tables and xenstore (through xenbus), through their hypercall interfaces,
 * plus the kernel's own view of its pages. vm/ supplies one per domain; the drivers never see the
 * hypervisor's objects.
 */

import type { GnttabCopyOp } from '../../api/public/grant_table.js';

/** The grant operations a backend calls (GNTTABOP_*), with Xen's GNTST_* status codes. */
export interface GrantOps {
  mapGrantRef(op: { dom: number; ref: number; flags: number; hostAddr?: number }): { status: number; handle: number; mfn: number; devBusAddr: number };
  unmapGrantRef(op: { handle: number; hostAddr?: number; devBusAddr?: number }): number;
  /** GNTTABOP_copy: one hypercall for the batch, a GNTST_* per op (netback's grant copies). */
  copy(ops: GnttabCopyOp[]): number[];
}

/**
 * Page flipping as a PV kernel does it (Linux 2.6.18-xen's netback and netfront): the kernel's
 * pages change machine frames. Each call is one multicall: the direct-map entries rewritten with
 * update_va_mapping (the last one flushing the TLB), the m2p entries with one mmu_update, and the
 * memory_op or grant transfer that goes with them. The kernel's p2m follows.
 */
export interface PageFlipOps {
  /**
   * network_alloc_rx_buffers: the frames behind `pfns` go back to Xen (direct-map entries cleared,
   * p2m entries invalid, XENMEM_decrease_reservation). The pages stay the kernel's, unbacked until
   * a frame is transferred in. Returns how many frames Xen took back.
   */
  giveAway(pfns: readonly number[]): number;
  /** netif_poll: frames transferred into our pages: p2m, direct map and m2p point at them. */
  adopt(pages: readonly { pfn: number; mfn: number }[]): void;
  /**
   * net_rx_action: each page's frame goes to a grantee's accept-transfer ref (GNTTABOP_transfer),
   * and the page gets a fresh frame from our reservation (XENMEM_increase_reservation in batches).
   * A GNTST_* per op; a page whose transfer failed keeps its fresh frame all the same.
   */
  transfer(ops: readonly { pfn: number; domid: number; ref: number }[]): number[];
}

/** The guest's own grant table entries (drivers/xen/grant-table.c). */
export interface GrantEntries {
  /** A ref accepting a frame from `domid` in place of `pfn`, or -1 when the table is full. */
  grantForeignTransfer(domid: number, pfn: number): number;
  /** The frame transferred into `ref`, or 0 when none was (the entry is cleared). */
  endForeignTransfer(ref: number): number;
  /** A ref granting `domid` access to `frame`, or -1 when the table is full. */
  grantForeignAccess(domid: number, frame: number, readonly: boolean): number;
  /** False (the entry stays) while the grantee still has it mapped. */
  endForeignAccess(ref: number): boolean;
  freeRef(ref: number): void;
}

/** EVTCHNOP_* for one domain; ports ≥ 0, errors as negative errno. */
export interface EventChannelOps {
  allocUnbound(remoteDom: number): number;
  bindInterdomain(remoteDom: number, remotePort: number): number;
  bindPirq(pirq: number): number;
  send(port: number): number;
  close(port: number): number;
  /** The kernel's handler for a port (bind_evtchn_to_irqhandler); called on its vCPU when the port fires. */
  onPort(port: number, handler: () => void): void;
}

/** The xenstore operations xenbus drivers use (drivers/xen/xenbus). Reads of missing nodes give null. */
export interface XenbusStore {
  read(path: string): string | null;
  write(path: string, value: string): void;
  rm(path: string): void;
  /** A watch; its callback runs on this domain's vCPU (the xenwatch thread), never inside the write that fired it. */
  watch(path: string, token: string, cb: (path: string) => void): void;
  unwatch(path: string, token: string): void;
}

export interface XenIoEnv {
  readonly domid: number;
  /** /local/domain/<domid> */
  readonly home: string;
  /**
   * XENFEAT_auto_translated_physmap: Xen translates this kernel's memory (HVM, PVH). Its grant host
   * mappings are at guest-physical addresses, and Xen refuses it device mappings.
   */
  readonly autoTranslated: boolean;
  readonly evtchn: EventChannelOps;
  readonly grants: GrantEntries;
  readonly gnttab: GrantOps;
  readonly xs: XenbusStore;
  /** Page flipping; null when the kernel cannot flip (not PV, or bare metal). */
  readonly flip: PageFlipOps | null;
  /** The kernel's access to one of its pages through its direct map. */
  page(pfn: number): DataView;
  /** The kernel's access to a foreign frame it has mapped by grant (GNTMAP_host_map), by mfn. */
  mappedPage(mfn: number): DataView;
  /**
   * gnttab_alloc_pages / gnttab_free_pages: pages set aside (ballooned out) to map grants at; each
   * is named by the address to pass as GNTMAP_host_map's host_addr.
   */
  readonly grantPages: { alloc(): number; free(hostAddr: number): void };
  /** The kernel's access through the grant host mapping at `hostAddr` (its page tables or p2m); throws if nothing is mapped there. */
  hostPage(hostAddr: number): DataView;
  /**
   * The bus address a device uses to reach `pfn`: its machine address for a PV kernel (and on
   * bare metal, or with the IOMMU off); its guest-physical address for a translated kernel whose
   * devices DMA through an IOMMU table that is its p2m (`dmaByGpa`).
   */
  busAddr(pfn: number): number;
  /**
   * A translated kernel under Xen with the IOMMU on: its devices are programmed with
   * guest-physical addresses, and a page it maps by grant is reached at its host address (the gfn
   * Xen put the grant at), as Linux's DMA API does in an HVM or PVH domain with passthrough.
   */
  readonly dmaByGpa?: boolean;
  /** What a grant entry's frame field holds for `pfn`: the mfn for a PV guest, the gfn for HVM. */
  grantFrame(pfn: number): number;
  allocPage(): number;
  freePage(pfn: number): void;
  /** Guest kernel cycles for driver work. */
  charge(cycles: number): void;
  /** Simulated time now, in cycles (for latencies). */
  now(): number;
  /** Kernel log line (dmesg). */
  log(line: string): void;
}

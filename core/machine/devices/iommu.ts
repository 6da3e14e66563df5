/**
 * DMA remapping hardware, Intel VT-d style (Intel Virtualization Technology for Directed I/O,
 * Architecture Specification, rev. 3+, ch. 3 "DMA Remapping" and ch. 9 "Translation Structure
 * Formats"), legacy (non-scalable) mode. It knows no hypervisor: software builds the structures in
 * machine memory and tells the unit where the root table is; the unit walks them per request.
 *
 *  - Root table (one 4 KiB frame, RTADDR_REG): 256 16-byte entries, one per bus. Low qword: bit 0
 *    P, bits 12–63 the context-table pointer.
 *  - Context table (one 4 KiB frame per bus): 256 16-byte entries, one per devfn (dev << 3 | fn).
 *    Low qword: bit 0 P, bit 1 FPD, bits 2–3 TT (0: untranslated requests through the second-level
 *    tables, 1: the same plus device-TLB, 2: pass-through, 3: reserved), bits 12–63 SLPTPTR.
 *    High qword: bits 0–2 AW (1: 39-bit, 3-level; 2: 48-bit, 4-level), bits 8–23 DID.
 *  - Second-level tables: 512 eight-byte entries, bit 0 R, bit 1 W, bit 7 SP (a 2 MiB / 1 GiB leaf
 *    at level 2 / 3), address bits 12–51: R and W are EPT's bits 0 and 1, which is why a
 *    hypervisor can point a context entry at its EPT (Xen's iommu_hap_pt_share).
 *
 * A request (source id = bus << 8 | devfn, address, read or write) is translated per 4 KiB page:
 * the context cache (source id → context) and the IOTLB (domain id, page → frame, R/W) first, then
 * the walk, whose every entry read is a reference counted in `walkRefs`. A fault is recorded with
 * the spec's fault reason (ch. 7 / appendix "Non-recoverable fault reasons"; the same strings are
 * in Xen's xen/drivers/passthrough/vtd/iommu.c and Linux's drivers/iommu/intel/dmar.c) in a
 * fault recording register and signalled to software (`onFault`, the fault event MSI).
 *
 * Disabled (GCMD.TE clear, or no IOMMU on the machine), DMA is identity: bus address = machine
 * address, the DirectDma of dma.ts.
 */
import type { MachineMemory } from '../memory.js';
import { DirectDma, PAGE_SIZE, TWO32, type DmaPort } from './dma.js';
import type { Bdf } from './pci.js';

/** Non-recoverable fault reasons (VT-d spec appendix, "Fault Reason Encodings"; vtd/iommu.c's strings). */
export const VTD_FR_ROOT_NOT_PRESENT = 0x1;
export const VTD_FR_CONTEXT_NOT_PRESENT = 0x2;
export const VTD_FR_INVALID_CONTEXT = 0x3;
export const VTD_FR_BEYOND_MGAW = 0x4;
export const VTD_FR_PTE_WRITE = 0x5;
export const VTD_FR_PTE_READ = 0x6;
export const VTD_FR_NEXT_PT_INVALID = 0x7;
export const VTD_FR_ROOT_TABLE_INVALID = 0x8;
export const VTD_FR_CONTEXT_TABLE_PTR_INVALID = 0x9;

/** The reason strings as the VT-d drivers print them (index = reason code). */
export const VTD_FAULT_REASONS: readonly string[] = [
  'Software',
  'Present bit in root entry is clear',
  'Present bit in context entry is clear',
  'Invalid context entry',
  'Access beyond MGAW',
  'PTE Write access is not set',
  'PTE Read access is not set',
  'Next page table ptr is invalid',
  'Root table address invalid',
  'Context table ptr is invalid',
  'non-zero reserved fields in RTP',
  'non-zero reserved fields in CTP',
  'non-zero reserved fields in PTE',
];

/** Root and context entry bit 0; second-level entry R, W, SP (VT-d spec ch. 9). */
export const VTD_P = 0x1;
export const VTD_CTX_FPD = 0x2;
export const VTD_CTX_TT_SHIFT = 2;
export const VTD_TT_MULTI_LEVEL = 0;
export const VTD_TT_DEV_IOTLB = 1;
export const VTD_TT_PASS_THROUGH = 2;
export const VTD_AW_39 = 1;
export const VTD_AW_48 = 2;
export const VTD_DID_SHIFT = 8;
export const DMA_PTE_READ = 0x1;
export const DMA_PTE_WRITE = 0x2;
export const DMA_PTE_SP = 0x80;
/** IOTLB tag: a 16-bit domain id above a page number below 2^36 (48-bit addresses): under 2^53. */
const DID_STRIDE = 2 ** 36;
/** Bits 12–51 of an entry's high half (bits 32–51 of the address). */
const ADDR_HI_MASK = 0xfffff;
const ADDR_LO_MASK = 0xfffff000;

/**
 * Sizes the spec leaves to the implementation (Intel publishes none for its parts): an IOTLB of
 * 64 entries (4 KiB granules, fully associative, LRU) and a context cache of 16 entries, a small
 * fraction of a CPU's TLB as Amit et al. (USENIX ATC 2011, "vIOMMU") estimate IOTLBs to be; and
 * NFR = 8 fault recording registers (CAP_REG.NFR allows 1–256; 8 is what the VT-d spec's
 * examples and several client parts report).
 */
export const IOTLB_ENTRIES = 64;
export const CONTEXT_CACHE_ENTRIES = 16;
export const FAULT_RECORDING_REGISTERS = 8;

export interface IommuFault {
  /** Fault reason code (VTD_FR_*). */
  reason: number;
  /** Requester: source id = bus << 8 | dev << 3 | fn. */
  sourceId: number;
  /** The faulting page's address (the request's address, 4 KiB aligned, as FRCD_REG records it). */
  addr: number;
  write: boolean;
}

export interface IommuCounters {
  translations: number;
  iotlbHits: number;
  iotlbMisses: number;
  contextCacheHits: number;
  contextCacheMisses: number;
  /** Entries read from memory by walks (root, context, second-level). */
  walkRefs: number;
  faults: number;
  /** Faults not recorded because every recording register was full (FSTS.PFO set). */
  faultsOverflowed: number;
  contextInvalidations: number;
  iotlbInvalidations: number;
}

interface ContextCacheEntry {
  present: boolean;
  tt: number;
  levels: number;
  slptptr: number;
  did: number;
  reason: number;
}

/** A request's source id from its PCI address (bus 8 bits, devfn 8 bits; one segment per unit). */
export function sourceId(bdf: Bdf): number {
  return ((bdf.bus & 0xff) << 8) | ((bdf.dev & 0x1f) << 3) | (bdf.fn & 7);
}

/** "0000:bb:dd.f" of a source id, as Xen prints a requester. */
export function sourceIdString(sid: number, seg = 0): string {
  const h = (n: number, w: number) => n.toString(16).padStart(w, '0');
  return `${h(seg, 4)}:${h(sid >>> 8, 2)}:${h((sid >>> 3) & 0x1f, 2)}.${sid & 7}`;
}

/** The address in an entry's bits 12–51. */
function entryAddr(lo: number, hi: number): number {
  return (hi & ADDR_HI_MASK) * TWO32 + (lo & ADDR_LO_MASK);
}

export class Iommu {
  /** GCMD_REG.TE: translation enabled. Off, every port is identity. */
  enabled = false;
  /** RTADDR_REG, as a frame number; -1 until software sets it (then a request faults with reason 8). */
  rootMfn = -1;
  readonly counters: IommuCounters = {
    translations: 0,
    iotlbHits: 0,
    iotlbMisses: 0,
    contextCacheHits: 0,
    contextCacheMisses: 0,
    walkRefs: 0,
    faults: 0,
    faultsOverflowed: 0,
    contextInvalidations: 0,
    iotlbInvalidations: 0,
  };
  /** Fault recording registers holding a record (F bit set) that software has not cleared yet. */
  readonly recorded: IommuFault[] = [];
  /** FSTS_REG.PFO: a fault arrived with every recording register full (it was not recorded). */
  overflow = false;
  /** The fault event (an MSI to software): raised when a fault is recorded. */
  onFault: (() => void) | null = null;
  /** did · DID_STRIDE + page → frame · 4 + R + W; Map order is LRU order. */
  private readonly iotlb = new Map<number, number>();
  private readonly contextCache = new Map<number, ContextCacheEntry>();

  constructor(readonly memory: MachineMemory) {}

  /** A DMA port for the device at `bdf`: every page it touches goes through this unit. */
  port(bdf: Bdf): DmaPort & { faults: number } {
    const sid = sourceId(bdf);
    const dma = new DirectDma(this.memory);
    dma.translate = (busAddr, write) => (this.enabled ? this.translate(sid, busAddr, write) : busAddr);
    return dma;
  }

  /** Translates one request; the machine address, or -1 after recording a fault. */
  translate(sid: number, addr: number, write: boolean): number {
    const c = this.counters;
    c.translations++;
    const ctx = this.context(sid);
    if (ctx.reason !== 0) return this.fault(ctx.reason, sid, addr, write);
    if (ctx.tt === VTD_TT_PASS_THROUGH) return addr;
    const width = 12 + 9 * ctx.levels;
    if (addr >= 2 ** width) return this.fault(VTD_FR_BEYOND_MGAW, sid, addr, write);
    const page = Math.floor(addr / PAGE_SIZE);
    const key = ctx.did * DID_STRIDE + page;
    const hit = this.iotlb.get(key);
    let entry: number;
    if (hit !== undefined) {
      c.iotlbHits++;
      this.iotlb.delete(key);
      this.iotlb.set(key, hit);
      entry = hit;
    } else {
      c.iotlbMisses++;
      const w = this.walk(ctx, addr);
      if (w <= 0) return this.fault(-w, sid, addr, write);
      entry = w;
      // Only present translations are cached (a non-present entry faults every time, as VT-d
      // without caching mode does).
      this.iotlb.set(key, entry);
      if (this.iotlb.size > IOTLB_ENTRIES) this.iotlb.delete(this.iotlb.keys().next().value!);
    }
    if (write && !(entry & DMA_PTE_WRITE)) return this.fault(VTD_FR_PTE_WRITE, sid, addr, write);
    if (!write && !(entry & DMA_PTE_READ)) return this.fault(VTD_FR_PTE_READ, sid, addr, write);
    return Math.floor(entry / 4) * PAGE_SIZE + (addr % PAGE_SIZE);
  }

  /**
   * Side-effect-free translation (no caches, no counters, no fault recorded): the machine frame a
   * device at `sid` reaches at `addr`, with its R/W, or the fault reason. For tests and auditors.
   */
  probe(sid: number, addr: number): { mfn: number; read: boolean; write: boolean } | { reason: number } {
    if (!this.enabled) return { mfn: Math.floor(addr / PAGE_SIZE), read: true, write: true };
    const ctx = this.readContext(sid, false);
    if (ctx.reason !== 0) return { reason: ctx.reason };
    if (ctx.tt === VTD_TT_PASS_THROUGH) return { mfn: Math.floor(addr / PAGE_SIZE), read: true, write: true };
    if (addr >= 2 ** (12 + 9 * ctx.levels)) return { reason: VTD_FR_BEYOND_MGAW };
    const e = this.walk(ctx, addr, false);
    if (e <= 0) return { reason: e === 0 ? VTD_FR_PTE_READ : -e };
    return { mfn: Math.floor(e / 4), read: (e & DMA_PTE_READ) !== 0, write: (e & DMA_PTE_WRITE) !== 0 };
  }

  /** The context of `sid`: from the context cache, or read from the root and context tables. */
  private context(sid: number): ContextCacheEntry {
    const cached = this.contextCache.get(sid);
    if (cached !== undefined) {
      this.counters.contextCacheHits++;
      this.contextCache.delete(sid);
      this.contextCache.set(sid, cached);
      return cached;
    }
    this.counters.contextCacheMisses++;
    const ctx = this.readContext(sid, true);
    // Only present contexts are cached (VT-d without caching mode caches no non-present entries).
    if (ctx.reason === 0) {
      this.contextCache.set(sid, ctx);
      if (this.contextCache.size > CONTEXT_CACHE_ENTRIES) this.contextCache.delete(this.contextCache.keys().next().value!);
    }
    return ctx;
  }

  private readContext(sid: number, count: boolean): ContextCacheEntry {
    const bad = (reason: number): ContextCacheEntry => ({ present: false, tt: 0, levels: 0, slptptr: 0, did: 0, reason });
    const mem = this.memory;
    const nr = mem.nrFrames;
    if (!(this.rootMfn >= 0 && this.rootMfn < nr)) return bad(VTD_FR_ROOT_TABLE_INVALID);
    const bus = sid >>> 8;
    if (count) this.counters.walkRefs++;
    const rlo = mem.readLo(this.rootMfn, bus * 2);
    const rhi = mem.readHi(this.rootMfn, bus * 2);
    if (!(rlo & VTD_P)) return bad(VTD_FR_ROOT_NOT_PRESENT);
    const ctp = entryAddr(rlo, rhi) / PAGE_SIZE;
    if (ctp >= nr) return bad(VTD_FR_CONTEXT_TABLE_PTR_INVALID);
    const devfn = sid & 0xff;
    if (count) this.counters.walkRefs++;
    const lo = mem.readLo(ctp, devfn * 2);
    const hi = mem.readHi(ctp, devfn * 2);
    const hi2lo = mem.readLo(ctp, devfn * 2 + 1);
    if (!(lo & VTD_P)) return bad(VTD_FR_CONTEXT_NOT_PRESENT);
    const tt = (lo >>> VTD_CTX_TT_SHIFT) & 3;
    const aw = hi2lo & 7;
    const did = (hi2lo >>> VTD_DID_SHIFT) & 0xffff;
    if (tt === 3) return bad(VTD_FR_INVALID_CONTEXT);
    if (tt === VTD_TT_PASS_THROUGH) return { present: true, tt, levels: 0, slptptr: 0, did, reason: 0 };
    if (aw !== VTD_AW_39 && aw !== VTD_AW_48) return bad(VTD_FR_INVALID_CONTEXT);
    const slptptr = entryAddr(lo, hi) / PAGE_SIZE;
    if (slptptr >= nr) return bad(VTD_FR_NEXT_PT_INVALID);
    return { present: true, tt, levels: aw + 2, slptptr, did, reason: 0 };
  }

  /** The second-level walk: frame << 2 | R | W of the 4 KiB page at `addr`, or −reason. */
  private walk(ctx: ContextCacheEntry, addr: number, count = true): number {
    const mem = this.memory;
    let table = ctx.slptptr;
    let perms = DMA_PTE_READ | DMA_PTE_WRITE;
    for (let level = ctx.levels; level >= 1; level--) {
      const idx = Math.floor(addr / 2 ** (12 + 9 * (level - 1))) % 512;
      if (count) this.counters.walkRefs++;
      const lo = mem.readLo(table, idx);
      const hi = mem.readHi(table, idx);
      const rw = lo & (DMA_PTE_READ | DMA_PTE_WRITE);
      // An entry with neither R nor W is not present; which fault depends on the access.
      if (rw === 0) return 0;
      perms &= rw;
      const target = entryAddr(lo, hi) / PAGE_SIZE;
      if (level === 1 || (lo & DMA_PTE_SP && level <= 3)) {
        const inLeaf = level === 1 ? 0 : Math.floor((addr % 2 ** (12 + 9 * (level - 1))) / PAGE_SIZE);
        return (target + inLeaf) * 4 + perms;
      }
      if (target >= mem.nrFrames) return -VTD_FR_NEXT_PT_INVALID;
      table = target;
    }
    return 0;
  }

  /**
   * Records a fault in a free recording register and raises the fault event; with every register
   * full, sets PFO and drops the record (VT-d spec §7.2.1: "Primary Fault Overflow"), as hardware
   * does until software clears the registers. Returns −1 for the caller.
   */
  private fault(reason: number, sid: number, addr: number, write: boolean): number {
    // A walk that finds no R/W entry returns 0: the reason is the access's missing permission.
    if (reason === 0) reason = write ? VTD_FR_PTE_WRITE : VTD_FR_PTE_READ;
    this.counters.faults++;
    if (this.recorded.length >= FAULT_RECORDING_REGISTERS) {
      this.overflow = true;
      this.counters.faultsOverflowed++;
      return -1;
    }
    this.recorded.push({ reason, sourceId: sid, addr: Math.floor(addr / PAGE_SIZE) * PAGE_SIZE, write });
    this.onFault?.();
    return -1;
  }

  /** Software reads and clears the recording registers (and PFO): the fault handler's drain. */
  takeFaults(): IommuFault[] {
    const out = this.recorded.splice(0);
    this.overflow = false;
    return out;
  }

  // --- invalidations (CCMD_REG / IOTLB_REG, or the same descriptors on the invalidation queue) ---

  /** Context-cache invalidation: global (no argument), domain-selective (did) or device-selective (did, sid). */
  invalidateContext(did?: number, sid?: number): void {
    this.counters.contextInvalidations++;
    if (did === undefined) this.contextCache.clear();
    else for (const [s, e] of this.contextCache) if (e.did === did && (sid === undefined || s === sid)) this.contextCache.delete(s);
  }

  /** IOTLB global invalidation. */
  invalidateIotlbGlobal(): void {
    this.counters.iotlbInvalidations++;
    this.iotlb.clear();
  }

  /** IOTLB domain-selective invalidation. */
  invalidateIotlbDomain(did: number): void {
    this.counters.iotlbInvalidations++;
    for (const k of [...this.iotlb.keys()]) if (Math.floor(k / DID_STRIDE) === did) this.iotlb.delete(k);
  }

  /** IOTLB page-selective invalidation: 2^am pages from `addr` (aligned down), domain `did`. */
  invalidateIotlbPages(did: number, addr: number, am = 0): void {
    this.counters.iotlbInvalidations++;
    const n = 2 ** am;
    const first = Math.floor(addr / PAGE_SIZE / n) * n;
    for (let p = first; p < first + n; p++) this.iotlb.delete(did * DID_STRIDE + p);
  }

  /** Entries in the IOTLB now (for tests and views). */
  get iotlbSize(): number {
    return this.iotlb.size;
  }
}

// --- helpers for software building the structures (a driver, or a test by hand) -----------------

/** Writes root entry `bus` of the root table at `rootMfn`: present, pointing at context table `ctxMfn`. */
export function writeRootEntry(mem: MachineMemory, rootMfn: number, bus: number, ctxMfn: number): void {
  const a = ctxMfn * PAGE_SIZE;
  mem.write(rootMfn, bus * 2, ((a % TWO32) | VTD_P) >>> 0, Math.floor(a / TWO32));
  mem.write(rootMfn, bus * 2 + 1, 0, 0);
}

/**
 * Writes context entry `devfn` of the context table at `ctxMfn`: present, translation type `tt`,
 * second-level table `slptMfn`, address width `aw`, domain id `did`.
 */
export function writeContextEntry(
  mem: MachineMemory,
  ctxMfn: number,
  devfn: number,
  e: { slptMfn: number; did: number; tt?: number; aw?: number },
): void {
  const a = e.slptMfn * PAGE_SIZE;
  const tt = e.tt ?? VTD_TT_MULTI_LEVEL;
  mem.write(ctxMfn, devfn * 2, ((a % TWO32) | (tt << VTD_CTX_TT_SHIFT) | VTD_P) >>> 0, Math.floor(a / TWO32));
  mem.write(ctxMfn, devfn * 2 + 1, ((e.aw ?? VTD_AW_48) | ((e.did & 0xffff) << VTD_DID_SHIFT)) >>> 0, 0);
}

/** Clears context entry `devfn` (not present). */
export function clearContextEntry(mem: MachineMemory, ctxMfn: number, devfn: number): void {
  mem.write(ctxMfn, devfn * 2, 0, 0);
  mem.write(ctxMfn, devfn * 2 + 1, 0, 0);
}

/** A second-level entry's halves: frame `mfn`, R/W as given, SP for a superpage leaf. */
export function dmaPte(mfn: number, read: boolean, write: boolean, sp = false): { lo: number; hi: number } {
  const a = mfn * PAGE_SIZE;
  return {
    lo: ((a % TWO32) | (read ? DMA_PTE_READ : 0) | (write ? DMA_PTE_WRITE : 0) | (sp ? DMA_PTE_SP : 0)) >>> 0,
    hi: Math.floor(a / TWO32),
  };
}

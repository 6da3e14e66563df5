/**
 * Memory integrity (the content check behind each domain's results `integrity`): did anything write
 * memory a domain was not using? From the moment the check starts, each domain's page allocator
 * remembers which pages it hands out, and the machine's memory hands the check every frame's
 * content just before its first write. At the end, every page that stayed free in its kernel the
 * whole time must hold exactly what it held at the start: nobody (the domain, Xen, another domain,
 * a device) has a reason to write a free page. A frame whose content changed was corrupted, most
 * likely by DMA from a device whose owner does not own the frame (C3: what an IOMMU prevents).
 *
 * In-use pages are not judged here: their content is their kernel's business, and the auditor
 * checks the tables among them.
 */
import type { MachineMemory } from '../machine/memory.js';
import type { Vm } from './vm.js';

export interface IntegrityResult {
  /** Pages free in the domain's kernel for the whole check, whose content was compared. */
  framesChecked: number;
  /** Of those, pages whose content changed. */
  framesCorrupted: number;
}

/** FNV-1a over a frame's 32-bit words (an unbacked frame, all zeros, hashes as one). */
function frameHash(mem: MachineMemory, mfn: number): number {
  const f = mem.frame(mfn);
  let h = 0x811c9dc5;
  if (f === undefined) return h;
  for (let i = 0; i < f.length; i++) h = Math.imul(h ^ f[i]!, 0x01000193) >>> 0;
  return h;
}

export class IntegrityCheck {
  /** Content hash of each frame before its first write since start(). */
  private readonly before = new Map<number, number>();
  private readonly zeroBefore = new Set<number>();

  constructor(private readonly mem: MachineMemory) {}

  /** Starts the check for these domains (their allocators start remembering) and the machine. */
  start(domains: readonly Vm[]): void {
    this.before.clear();
    this.zeroBefore.clear();
    for (const d of domains) this.add(d);
    // Frames written later hand their content over before the first write (a frame already
    // recorded keeps its record: a view taken before the start writes around the watch).
    this.mem.watchWrites((mfn) => this.record(mfn));
  }

  /** Adds a domain (from the start, or created later): its free pages' content now is what they must keep. */
  add(d: Vm): void {
    const k = d.kernel;
    k.markAllocations();
    const p2m = d.dom.p2m;
    for (let pfn = 0; pfn < k.nrUsable; pfn++) {
      if (!k.freeSinceMark(pfn)) continue;
      const mfn = p2m[pfn]!;
      if (mfn >= 0) this.record(mfn);
    }
  }

  private record(mfn: number): void {
    if (this.before.has(mfn) || this.zeroBefore.has(mfn)) return;
    if (this.mem.isZero(mfn)) this.zeroBefore.add(mfn);
    else this.before.set(mfn, frameHash(this.mem, mfn));
  }

  /**
   * Xen moved a page from `oldMfn` to `newMfn` (relocate): what the old frame was expected to hold
   * is now the new frame's expectation.
   */
  moved(oldMfn: number, newMfn: number): void {
    this.before.delete(newMfn);
    this.zeroBefore.delete(newMfn);
    const h = this.before.get(oldMfn);
    if (h !== undefined) this.before.set(newMfn, h);
    else if (this.zeroBefore.has(oldMfn)) this.zeroBefore.add(newMfn);
    else if (this.mem.isZero(newMfn)) this.zeroBefore.add(newMfn);
    else this.before.set(newMfn, frameHash(this.mem, newMfn));
  }

  /** The check of one domain now. */
  check(d: Vm): IntegrityResult {
    const k = d.kernel;
    const p2m = d.dom.p2m;
    let checked = 0;
    let corrupted = 0;
    for (let pfn = 0; pfn < k.nrUsable; pfn++) {
      if (!k.freeSinceMark(pfn)) continue;
      const mfn = p2m[pfn]!;
      if (mfn < 0) continue; // ballooned out: no frame behind it
      checked++;
      if (this.zeroBefore.has(mfn)) {
        if (!this.mem.isZero(mfn)) corrupted++;
      } else {
        const h = this.before.get(mfn);
        if (h !== undefined && frameHash(this.mem, mfn) !== h) corrupted++;
      }
    }
    return { framesChecked: checked, framesCorrupted: corrupted };
  }
}

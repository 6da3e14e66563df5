/**
 * VT-d DMA remapping against the spec's layout (Intel VT-d Architecture Specification, ch. 9):
 * structures written here by hand as raw 64-bit words, not through the module's helpers.
 *  root entry      bit 0 P, bits 12–63 context-table pointer (16 bytes, one per bus)
 *  context entry   lo: bit 0 P, bits 2–3 TT, bits 12–63 SLPTPTR; hi: bits 0–2 AW (2 = 48-bit,
 *                  4-level), bits 8–23 DID (16 bytes, one per devfn)
 *  second level    bit 0 R, bit 1 W, bit 7 SP, bits 12–51 address (8 bytes, 512 per table)
 * Fault reasons (appendix): 1 root not present, 2 context not present, 4 beyond MGAW, 5 PTE write,
 * 6 PTE read, 8 root table invalid.
 */
import { describe, expect, it } from 'vitest';
import { MachineMemory } from '../../core/machine/memory.js';
import { FAULT_RECORDING_REGISTERS, Iommu } from '../../core/machine/devices/iommu.js';

const ROOT = 10;
const CTX = 11;
const L4 = 12;
const L3 = 13;
const L2 = 14;
const L1 = 15;
const DID = 7;
/** 03:00.0: bus 3, devfn 0 → source id 0x0300. */
const SID = 0x0300;

/** A 128-bit entry is two 64-bit words: entry i of a 16-byte table is words 2i and 2i + 1. */
function setup(): { mem: MachineMemory; iommu: Iommu } {
  const mem = new MachineMemory(4096);
  mem.write(ROOT, 3 * 2, CTX * 4096 + 1, 0); // bus 3 → context table, P
  mem.write(CTX, 0 * 2, L4 * 4096 + 1, 0); // devfn 0: SLPTPTR = L4, TT 0, P
  mem.write(CTX, 0 * 2 + 1, 2 | (DID << 8), 0); // AW 2 (48-bit), DID 7
  mem.write(L4, 0, L3 * 4096 + 3, 0);
  mem.write(L3, 0, L2 * 4096 + 3, 0);
  mem.write(L2, 0, L1 * 4096 + 3, 0);
  mem.write(L1, 5, 0x20 * 4096 + 3, 0); // dfn 5 → mfn 0x20, R|W
  mem.write(L1, 6, 0x21 * 4096 + 1, 0); // dfn 6 → mfn 0x21, R only
  mem.write(L2, 1, 0x200 * 4096 + 0x80 + 3, 0); // dfn 0x200–0x3ff → mfn 0x200–0x3ff, a 2 MiB leaf (SP)
  const iommu = new Iommu(mem);
  iommu.rootMfn = ROOT;
  iommu.enabled = true;
  return { mem, iommu };
}

describe('VT-d remapping', () => {
  it('walks root → context → four second-level levels: dfn 5 + 0x123 lands at mfn 0x20 + 0x123', () => {
    const { iommu } = setup();
    expect(iommu.translate(SID, 0x5123, false)).toBe(0x20123);
    expect(iommu.translate(SID, 0x5ff8, true)).toBe(0x20ff8);
    // A 2 MiB leaf at L2 entry 1: page 0x203 is frame 0x200 + 3.
    expect(iommu.translate(SID, 0x203_456, true)).toBe(0x203_456);
    expect(iommu.counters.faults).toBe(0);
  });

  it('faults with the spec reason: write to a read-only page 5, read of a missing page 6, unknown device 2, unknown bus 1, beyond 48 bits 4', () => {
    const { iommu } = setup();
    expect(iommu.translate(SID, 0x6010, false)).toBe(0x21010);
    expect(iommu.translate(SID, 0x6010, true)).toBe(-1);
    expect(iommu.translate(SID, 0x7000, false)).toBe(-1);
    expect(iommu.translate(0x0308, 0x5000, false)).toBe(-1); // 03:01.0: context entry 8 not present
    expect(iommu.translate(0x0400, 0x5000, true)).toBe(-1); // bus 4: root entry not present
    expect(iommu.translate(SID, 2 ** 48, false)).toBe(-1);
    expect(iommu.takeFaults()).toEqual([
      { reason: 5, sourceId: SID, addr: 0x6000, write: true },
      { reason: 6, sourceId: SID, addr: 0x7000, write: false },
      { reason: 2, sourceId: 0x0308, addr: 0x5000, write: false },
      { reason: 1, sourceId: 0x0400, addr: 0x5000, write: true },
      { reason: 4, sourceId: SID, addr: 2 ** 48, write: false },
    ]);
    expect(iommu.counters.faults).toBe(5);
  });

  it('with no root table set, every request faults with reason 8 (root table address invalid)', () => {
    const { iommu } = setup();
    iommu.rootMfn = -1;
    expect(iommu.translate(SID, 0x5000, false)).toBe(-1);
    expect(iommu.takeFaults()[0]!.reason).toBe(8);
  });

  it('the IOTLB hits after a miss (no memory references), and a page-selective invalidation of that page makes it miss again', () => {
    const { iommu } = setup();
    const c = iommu.counters;
    iommu.translate(SID, 0x5000, false);
    // Miss: root and context entries (context cache cold), then L4, L3, L2, L1.
    expect([c.iotlbMisses, c.iotlbHits, c.walkRefs]).toEqual([1, 0, 6]);
    iommu.translate(SID, 0x5800, true);
    expect([c.iotlbMisses, c.iotlbHits, c.walkRefs, c.contextCacheHits]).toEqual([1, 1, 6, 1]);
    // Another domain's invalidation, or another page's, leaves the entry.
    iommu.invalidateIotlbPages(DID + 1, 0x5000);
    iommu.invalidateIotlbPages(DID, 0x6000);
    iommu.translate(SID, 0x5000, false);
    expect(c.iotlbHits).toBe(2);
    iommu.invalidateIotlbPages(DID, 0x5000);
    iommu.translate(SID, 0x5000, false);
    // Miss again: the context is still cached, so only the four second-level entries are read.
    expect([c.iotlbMisses, c.walkRefs]).toEqual([2, 10]);
    expect(c.iotlbInvalidations).toBe(3);
  });

  it('a cached translation outlives its entry until invalidated (software must flush after an unmap)', () => {
    const { mem, iommu } = setup();
    expect(iommu.translate(SID, 0x5000, true)).toBe(0x20000);
    mem.write(L1, 5, 0, 0);
    expect(iommu.translate(SID, 0x5000, true)).toBe(0x20000);
    iommu.invalidateIotlbDomain(DID);
    expect(iommu.translate(SID, 0x5000, true)).toBe(-1);
    // The context cache too: a cleared context entry is seen only after a context invalidation.
    mem.write(CTX, 0, 0, 0);
    expect(iommu.translate(SID, 0x6000, false)).toBe(0x21000);
    iommu.invalidateContext();
    iommu.invalidateIotlbGlobal();
    expect(iommu.translate(SID, 0x6000, false)).toBe(-1);
    expect(iommu.takeFaults().map((f) => f.reason)).toEqual([5, 2]);
  });

  it(`keeps ${FAULT_RECORDING_REGISTERS} fault records; one more sets PFO and is not recorded until software drains them`, () => {
    const { iommu } = setup();
    for (let i = 0; i <= FAULT_RECORDING_REGISTERS; i++) iommu.translate(SID, 0x100000 + i * 4096, true);
    expect(iommu.recorded).toHaveLength(FAULT_RECORDING_REGISTERS);
    expect(iommu.overflow).toBe(true);
    expect(iommu.counters.faults).toBe(FAULT_RECORDING_REGISTERS + 1);
    expect(iommu.counters.faultsOverflowed).toBe(1);
    expect(iommu.takeFaults()).toHaveLength(FAULT_RECORDING_REGISTERS);
    expect(iommu.overflow).toBe(false);
    iommu.translate(SID, 0x100000, true);
    expect(iommu.recorded).toHaveLength(1);
  });

  it('a device port moves bytes through the translation, and a faulting transfer writes nothing', () => {
    const { mem, iommu } = setup();
    const port = iommu.port({ seg: 0, bus: 3, dev: 0, fn: 0 });
    expect(port.write(0x5010, Uint8Array.of(1, 2, 3, 4))).toBe(true);
    expect(mem.readLo(0x20, 2)).toBe(0x04030201); // bytes 16–19 of mfn 0x20
    // Crosses into the read-only page 6: refused before the first byte moves.
    expect(port.write(0x5ffe, Uint8Array.of(9, 9, 9, 9))).toBe(false);
    expect(mem.readHi(0x20, 511)).toBe(0);
    expect(mem.isZero(0x21)).toBe(true);
    const dst = new Uint8Array(4);
    expect(port.read(0x5010, dst)).toBe(true);
    expect([...dst]).toEqual([1, 2, 3, 4]);
  });

  it('disabled (no translation enabled), DMA is identity: bus address = machine address', () => {
    const { mem, iommu } = setup();
    iommu.enabled = false;
    const port = iommu.port({ seg: 0, bus: 9, dev: 1, fn: 0 });
    expect(port.write(0x30 * 4096 + 8, Uint8Array.of(0xaa))).toBe(true);
    expect(mem.readHi(0x30, 1) & 0xff).toBe(0);
    expect(mem.readLo(0x30, 1) & 0xff).toBe(0xaa);
    expect(iommu.counters.translations).toBe(0);
  });

  it('pass-through contexts (TT 2) translate 1:1 without a walk', () => {
    const { mem, iommu } = setup();
    mem.write(CTX, 8 * 2, (2 << 2) | 1, 0); // devfn 8 (03:01.0): TT 2, P
    mem.write(CTX, 8 * 2 + 1, 2 | (9 << 8), 0);
    expect(iommu.translate(0x0308, 0x777_000, true)).toBe(0x777_000);
  });
});

/**
 * The guest kernel's memory behaviour, the same in every paging mode.
 */
import { describe, expect, it } from 'vitest';
import { validateScenario } from '../../core/api/index.js';
import { Hypervisor } from '../../core/hv/hypervisor.js';
import { buildDomain } from '../../core/vm/builder.js';
import { auditMachine } from '../../core/vm/audit.js';
import { costsOf, mmuConfigOf } from '../../core/sim/run.js';
import { SegmentationFault } from '../../core/guest/kernel.js';
import { C } from '../../core/machine/counters.js';

function boot(mode: 'native' | 'pv' | 'shadow' | 'hap', shadow: { shadowOutOfSync?: boolean; shadowEarlyUnshadow?: boolean } = {}) {
  const v = validateScenario({
    name: 'kernel',
    machine: { memoryMiB: 1024, pcpus: 1 },
    hypervisor: mode === 'native' ? 'none' : 'xen',
    domains: [{ name: 'g1', mode, memoryMiB: 128, vcpus: 1, ...shadow }],
  });
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  const xen = new Hypervisor(v.scenario, costsOf(v.scenario), mmuConfigOf(v.scenario));
  const d = buildDomain(xen, v.scenario.domains[0]);
  xen.contextSwitch(d.dom);
  return { xen, d, vm: d, k: d.kernel };
}

for (const mode of ['native', 'pv', 'shadow', 'hap'] as const) {
  describe(`guest kernel under ${mode}`, () => {
    it('demand-zero faults once per page, then hits', () => {
      const { k, d, xen, vm } = boot(mode);
      const p = k.spawn('a');
      k.switchTo(p);
      const v = k.mmap(p.mm, 16 * 4096);
      const before = d.counters.c[C.PfGuest];
      for (let va = v.start; va < v.end; va += 4096) k.touch(va, true);
      for (let va = v.start; va < v.end; va += 4096) k.touch(va, false);
      expect(d.counters.c[C.PfGuest] - before).toBe(16);
      expect(auditMachine(xen, [vm]).ok).toBe(true);
    });

    it('fork shares pages copy-on-write; a write in the child copies exactly one page', () => {
      const { k, d, xen, vm } = boot(mode);
      const parent = k.spawn('parent');
      k.switchTo(parent);
      const v = k.mmap(parent.mm, 8 * 4096);
      for (let va = v.start; va < v.end; va += 4096) k.touch(va, true);
      const child = k.fork(parent);
      expect(auditMachine(xen, [vm]).ok).toBe(true);
      k.switchTo(child);
      k.touch(v.start, true);
      expect(d.counters.c[C.CowCopies]).toBe(1);
      // The parent's first page is now its own again: writing it needs no copy.
      k.switchTo(parent);
      k.touch(v.start, true);
      expect(d.counters.c[C.CowCopies]).toBe(1);
      k.touch(v.start + 4096, true);
      expect(d.counters.c[C.CowCopies]).toBe(2);
      expect(auditMachine(xen, [vm]).ok).toBe(true);
      k.exit(child);
      expect(auditMachine(xen, [vm]).ok).toBe(true);
    });

    it('exit and munmap give every page and table back', () => {
      const { k, xen, vm } = boot(mode);
      const shell = k.spawn('sh');
      k.switchTo(shell);
      const free0 = k.freePages;
      const p = k.fork(shell);
      k.switchTo(p);
      const v = k.mmap(p.mm, 64 * 4096);
      for (let va = v.start; va < v.end; va += 4096) k.touch(va, true);
      k.munmap(p.mm, v);
      const w = k.mmap(p.mm, 4 * 4096);
      k.touch(w.start, true);
      k.exit(p);
      k.switchTo(shell);
      expect(k.freePages).toBe(free0);
      expect(auditMachine(xen, [vm]).ok).toBe(true);
    });

    it('mprotect read-only makes the next write fault, and a write outside any mapping is a segfault', () => {
      const { k, d, xen, vm } = boot(mode);
      const p = k.spawn('a');
      k.switchTo(p);
      const v = k.mmap(p.mm, 4 * 4096, { write: false });
      k.touch(v.start, false);
      expect(() => k.touch(v.start, true)).toThrow(SegmentationFault);
      expect(() => k.touch(0x1000, false)).toThrow(SegmentationFault);
      const w = k.mmap(p.mm, 4 * 4096);
      k.touch(w.start, true);
      expect(k.mprotect(p.mm, w.start, w.end, false)).toBe(1);
      const faults = d.counters.c[C.PfGuest];
      k.touch(w.start, false);
      expect(d.counters.c[C.PfGuest]).toBe(faults);
      expect(auditMachine(xen, [vm]).ok).toBe(true);
    });
  });
}

describe('shadow specifics', () => {
  it('first accesses after a new address space are hidden faults the guest never sees', () => {
    const { k, d } = boot('shadow');
    const p = k.spawn('a');
    k.switchTo(p);
    const v = k.mmap(p.mm, 4 * 4096);
    for (let va = v.start; va < v.end; va += 4096) k.touch(va, true);
    const q = k.fork(p);
    k.switchTo(q);
    const hidden = d.counters.c[C.PfHidden];
    const guest = d.counters.c[C.PfGuest];
    k.touch(v.start, false);
    expect(d.counters.c[C.PfHidden]).toBeGreaterThan(hidden);
    expect(d.counters.c[C.PfGuest]).toBe(guest);
  });
});

describe('shadow with early unshadow off (a VMM that keeps tracing every shadowed table)', () => {
  const traced = { shadowOutOfSync: false, shadowEarlyUnshadow: false };

  it('tearing down an address space traps on every cleared PTE', () => {
    for (const early of [true, false]) {
      const { k, d, xen, vm } = boot('shadow', { shadowOutOfSync: false, shadowEarlyUnshadow: early });
      const shell = k.spawn('sh');
      k.switchTo(shell);
      const p = k.fork(shell);
      k.switchTo(p);
      const v = k.mmap(p.mm, 256 * 4096);
      for (let va = v.start; va < v.end; va += 4096) k.touch(va, true);
      const emulated = d.counters.c[C.EmulatedWrites];
      k.switchTo(shell);
      k.exit(p);
      const n = d.counters.c[C.EmulatedWrites] - emulated;
      // 256 present PTEs are cleared in one shadowed L1: with the heuristic the second zeroing
      // store unshadows it; without it each of the 256 is an emulated store.
      if (early) expect(n).toBeLessThan(16);
      else expect(n).toBeGreaterThanOrEqual(256);
      expect(auditMachine(xen, [vm]).ok).toBe(true);
    }
  });

  it('a freed table still shadowed costs clear_page one exit per 8-byte store, and a user write to it as data unshadows it', () => {
    const { k, d, xen, vm } = boot('shadow', traced);
    const shell = k.spawn('sh');
    k.switchTo(shell);
    const heap = k.mmap(shell.mm, 8 * 4096);
    k.touch(heap.start, true);
    const p = k.fork(shell);
    k.switchTo(p);
    const root = p.mm.root;
    k.switchTo(shell);
    k.exit(p);
    // The child's top-level shadow is pinned, so its root stays shadowed after the exit.
    expect(d.dom.shadow!.isShadowed(root)).toBe(true);
    const emulated = d.counters.c[C.EmulatedWrites];
    const exits = d.counters.c[C.VmExits];
    // The next page the kernel hands out is the last one freed: the child's root, now as data.
    k.touch(heap.start + 4096, true);
    let pfn = -1;
    k.forEachPte(shell.mm, heap.start + 4096, heap.start + 8192, 1, (_t, _i, _va, _f, f) => (pfn = f));
    expect(pfn).toBe(root);
    // clear_page is 4096 / 8 = 512 stores, each trapping (no rep_stos in Xen's shadow emulator),
    // then one more for the shell's new PTE; the user-mode write then unshadows the frame.
    expect(d.counters.c[C.EmulatedWrites] - emulated).toBe(4096 / 8 + 1);
    expect(d.counters.c[C.VmExits] - exits).toBeGreaterThanOrEqual(4096 / 8 + 1);
    expect(d.dom.shadow!.isShadowed(root)).toBe(false);
    expect(auditMachine(xen, [vm]).ok).toBe(true);
  });

  it('is refused outside shadow mode, naming the field', () => {
    const v = validateScenario({
      name: 'k',
      machine: { memoryMiB: 1024, pcpus: 1 },
      hypervisor: 'xen',
      domains: [{ name: 'g1', mode: 'hap', memoryMiB: 128, vcpus: 1, shadowEarlyUnshadow: false }],
    });
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.problems.map((p) => p.path)).toContain('domains[0].shadowEarlyUnshadow');
  });
});

describe('regressions found by the fuzzer', () => {
  it('a forked child maps new memory below its inherited mappings, not on top of them', () => {
    const { k, xen, vm } = boot('shadow');
    const parent = k.spawn('p');
    k.switchTo(parent);
    const v = k.mmap(parent.mm, 4096);
    const child = k.fork(parent);
    k.switchTo(child);
    k.touch(v.start, false);
    const w = k.mmap(child.mm, 4096);
    expect(w.end <= v.start || w.start >= v.end).toBe(true);
    expect(auditMachine(xen, [vm]).ok).toBe(true);
  });
});

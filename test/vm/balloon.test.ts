/**
 * Ballooning (C9, issue 14 item 2): a guest's balloon driver watches memory/target and gives pages
 * to Xen (decrease_reservation) or takes them back (PV: increase_reservation + MMU_MACHPHYS_UPDATE;
 * HVM: populate_physmap), within max_pages. 1 MiB = 256 pages of 4 KiB throughout.
 */
import { describe, expect, it } from 'vitest';
import { validateScenario, type ScenarioInput } from '../../core/api/index.js';
import { PRESETS } from '../../core/api/presets.js';
import { parseXlCfg, toXlCfg } from '../../core/api/xlcfg.js';
import { Simulation } from '../../core/sim/simulation.js';
import { auditMachine } from '../../core/vm/audit.js';
import { memInfo } from '../../core/toolstack/procTools.js';
import { BALLOON_BATCH } from '../../core/guest/balloon.js';
import type { Vm } from '../../core/vm/vm.js';
import { PTE_P, pteFrame } from '../../core/machine/pte.js';

type Mode = 'pv' | 'shadow' | 'hap';
const MIB = 256;

function scenario(mode: Mode, extra: Partial<ScenarioInput> = {}, dom: Record<string, unknown> = {}): ScenarioInput {
  return {
    name: 'balloon',
    machine: { memoryMiB: 1024, pcpus: 1 },
    hypervisor: 'xen',
    domains: [{ name: 'g', mode, memoryMiB: 64, maxMemoryMiB: 96, vcpus: 1, workload: { kind: 'random-access', workingSetMiB: 8, accesses: 20_000 }, ...dom }],
    // A timeline gives the guests their xenstore rings (the I/O machinery); this entry changes nothing.
    timeline: [{ atMs: 0, do: 'mem-set', domain: 'g', memoryMiB: 64 }],
    ...extra,
  } as ScenarioInput;
}

function sim(input: ScenarioInput): Simulation {
  const v = validateScenario(input);
  if (!v.ok) throw new Error(v.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return new Simulation(v.scenario);
}

function runToEnd(s: Simulation): void {
  for (let i = 0; i < 1_000_000 && s.step(4); i++);
  // Kernel work left after the workloads (a balloon's watch) runs on the next pump.
  s.step(1);
}

function guest(s: Simulation, name = 'g'): Vm {
  return s.domains.find((d) => d.name === name)!;
}

function target(s: Simulation, d: Vm): string | null {
  try {
    return s.io!.dom0Xs.read(`/local/domain/${d.domid}/memory/target`);
  } catch {
    return null;
  }
}

/** Every page the guest kernel uses (not free) with its content, by pfn. */
function livePages(g: Vm): Map<number, string> {
  const k = g.kernel;
  const free = new Set<number>();
  // A free page is one the allocator would hand out: drain and restore to learn which.
  const taken: number[] = [];
  for (let p = k.balloonTakePage(); p >= 0; p = k.balloonTakePage()) taken.push(p);
  for (const p of taken) {
    free.add(p);
    k.balloonGivePage(p);
  }
  const out = new Map<number, string>();
  const mem = g.dom.xen.mem;
  g.dom.p2m.forEach((m, pfn) => {
    // A driver's page (the xenstore ring) changes by its own traffic: the mem-set requests themselves.
    // A PV guest's page tables hold machine frames, which ballooning changes: checked on their own.
    if (m >= 0 && !free.has(pfn) && !k.isPinned(pfn) && !g.dom.xen.ft.isPageTable(m)) out.set(pfn, Array.from(mem.frame(m) ?? []).join(','));
  });
  return out;
}

describe('ballooning down then up', () => {
  for (const mode of ['pv', 'hap', 'shadow'] as const) {
    it(`${mode}: 64 → 40 → 90 MiB: pages, xenstore, Xen's free memory, xl list and the guest's free move by the page counts; audit clean`, () => {
      const s = sim(scenario(mode));
      runToEnd(s);
      const g = guest(s);
      const xen = s.xen;
      const tot0 = xen.totPages(g.dom);
      const free0 = xen.freeFrames;
      const ept0 = g.dom.hap?.tableFrames.length ?? 0;
      const total0 = memInfo(g.kernel).total;

      expect(s.memSet(g, 40)).toBeNull();
      expect(target(s, g)).toBe(String(40 * 1024)); // KiB, as libxl writes it
      runToEnd(s);
      expect(g.balloon!.stats.currentPages).toBe(40 * MIB);
      expect(xen.totPages(g.dom)).toBe(tot0 - 24 * MIB);
      expect(xen.freeFrames).toBe(free0 + 24 * MIB - ((g.dom.hap?.tableFrames.length ?? 0) - ept0));
      expect(memInfo(g.kernel).total).toBe(total0 - 24 * MIB);
      expect(auditMachine(xen, s.domains).violations).toEqual([]);

      expect(s.memSet(g, 90)).toBeNull();
      expect(target(s, g)).toBe(String(90 * 1024));
      runToEnd(s);
      const ept1 = g.dom.hap?.tableFrames.length ?? 0;
      expect(xen.totPages(g.dom)).toBe(tot0 + 26 * MIB);
      expect(xen.freeFrames).toBe(free0 - 26 * MIB - (ept1 - ept0));
      expect(memInfo(g.kernel).total).toBe(total0 + 26 * MIB);
      // The pages above the boot memory (pfns 64 MiB … 90 MiB) are now backed, the rest of maxmem not.
      for (let pfn = 64 * MIB; pfn < 96 * MIB; pfn++) expect(g.dom.p2m[pfn]! >= 0).toBe(pfn < 90 * MIB);

      const r = s.results();
      const b = r.domains.find((d) => d.name === 'g')!.balloon!;
      expect(b).toMatchObject({ targetMiB: 90, currentMiB: 90, pagesReleased: 24 * MIB, pagesReclaimed: 50 * MIB });
      // Batches of one page of frame numbers: 6144 pages go in 12 decrease_reservation calls, 12800 come back in 25 calls.
      const down = Math.ceil((24 * MIB) / BALLOON_BATCH);
      const up = Math.ceil((50 * MIB) / BALLOON_BATCH);
      // PV also unmaps and maps each page in its direct map (update_va_mapping), flushes once per
      // batch going down, and writes the M2P with one mmu_update per batch coming up.
      expect(b.hypercalls).toBe(mode === 'pv' ? down * 2 + 24 * MIB + up * 2 + 50 * MIB : down + up);
      expect(r.audit.ok).toBe(true);
      expect(r.domains.find((d) => d.name !== 'g')!.balloon).toBeUndefined();
    });
  }

  it('PV: the M2P names each reclaimed page’s pfn, and the p2m its frame', () => {
    const s = sim(scenario('pv'));
    runToEnd(s);
    const g = guest(s);
    s.memSet(g, 32);
    runToEnd(s);
    s.memSet(g, 96);
    runToEnd(s);
    for (let pfn = 0; pfn < 96 * MIB; pfn++) {
      const m = g.dom.p2m[pfn]!;
      if (m < 0) continue;
      expect(s.xen.ft.owner(m)).toBe(g.domid);
      if (pfn >= 64 * MIB) expect(s.xen.ft.m2p(m)).toBe(pfn);
    }
  });

  for (const mode of ['pv', 'hap', 'shadow'] as const) {
    it(`${mode}: the guest's live pages keep their content through a balloon down and up`, () => {
      const s = sim(scenario(mode));
      runToEnd(s);
      const g = guest(s);
      const before = livePages(g);
      s.memSet(g, 24);
      runToEnd(s);
      s.memSet(g, 96);
      runToEnd(s);
      const after = new Map<number, string>();
      const mem = s.xen.mem;
      for (const pfn of before.keys()) after.set(pfn, Array.from(mem.frame(g.dom.p2m[pfn]!) ?? []).join(','));
      expect(after).toEqual(before);
      expect(auditMachine(s.xen, s.domains).violations).toEqual([]);
      if (mode === 'pv') {
        // The direct map (its L1s, one per 512 pfns up to maxmem) maps each pfn to its p2m frame, and
        // nothing where the p2m has none.
        const l1s = g.kernel.kernelTables.filter((t) => t.level === 1).map((t) => g.dom.p2m[t.pfn]!);
        for (let pfn = 0; pfn < g.dom.nrPages; pfn++) {
          const t = l1s[Math.floor(pfn / 512)]!;
          const lo = mem.readLo(t, pfn % 512);
          const want = g.dom.p2m[pfn]!;
          expect(lo & PTE_P ? pteFrame(lo, mem.readHi(t, pfn % 512)) : -1).toBe(want);
        }
      }
    });
  }
});

describe('limits', () => {
  it('mem-set above maxmem is refused with libxl’s message, and the target stays', () => {
    const s = sim(scenario('hap'));
    runToEnd(s);
    const g = guest(s);
    expect(s.memSet(g, 97)).toMatch(/^memory_dynamic_max must be less than or equal to memory_static_max/);
    expect(target(s, g)).toBe(String(64 * 1024));
    expect(g.balloon!.stats.targetPages).toBe(64 * MIB);
  });

  it('a guest without maxmem cannot grow past its memory: static-max is its memory', () => {
    const s = sim(scenario('pv', {}, { maxMemoryMiB: undefined }));
    runToEnd(s);
    expect(s.memSet(guest(s), 65)).toMatch(/memory_dynamic_max/);
    expect(s.memSet(guest(s), 64)).toBeNull();
  });

  for (const mode of ['pv', 'hap'] as const) {
    it(`${mode}: beyond max_pages (xl mem-max), Xen gives fewer extents and the guest stays below its target`, () => {
      const s = sim(scenario(mode));
      runToEnd(s);
      const g = guest(s);
      const extra = s.xen.totPages(g.dom) - g.balloon!.stats.currentPages; // frames the guest owns beyond its RAM pages
      s.memSet(g, 40);
      runToEnd(s);
      expect(s.memMax(g, 30)).toMatch(/^memory_static_max must be greater than or or equal to memory_dynamic_max/);
      expect(s.memMax(g, 48)).toBeNull();
      // A target written straight to xenstore (xenstore-write), past xl's enforcement of max_pages.
      s.io!.dom0Xs.write(`/local/domain/${g.domid}/memory/target`, String(90 * 1024));
      runToEnd(s);
      // max_pages = 48 MiB + libxl's 1 MiB headroom (LIBXL_MAXMEM_CONSTANT).
      expect(s.xen.totPages(g.dom)).toBe(49 * MIB);
      expect(g.balloon!.stats.currentPages).toBe(49 * MIB - extra);
      expect(g.balloon!.stats.targetPages).toBe(90 * MIB);
      expect(auditMachine(s.xen, s.domains).violations).toEqual([]);
    });
  }

  it('PV: with little free machine memory, Xen gives what it has', () => {
    // 1024 MiB machine: Xen 32 + dom0 512 + g 64 leave 416 MiB; a second guest takes 400 of them.
    const s = sim(
      scenario('pv', {
        domains: [
          { name: 'g', mode: 'pv', memoryMiB: 64, maxMemoryMiB: 128, vcpus: 1, workload: { kind: 'idle' } },
          { name: 'big', mode: 'pv', memoryMiB: 400, vcpus: 1, workload: { kind: 'idle' } },
        ],
      } as Partial<ScenarioInput>),
    );
    runToEnd(s);
    const g = guest(s);
    const free = s.xen.freeFrames;
    expect(free).toBeLessThan(64 * MIB);
    s.memSet(g, 128);
    runToEnd(s);
    expect(s.xen.freeFrames).toBe(0);
    expect(g.balloon!.stats.currentPages).toBe(64 * MIB + free);
    expect(auditMachine(s.xen, s.domains).violations).toEqual([]);
  });

  for (const mode of ['pv', 'shadow'] as const) {
    it(`${mode}: a guest with no free memory gives what it can; the rest stays until pages are free again`, () => {
      const s = sim(scenario(mode));
      runToEnd(s);
      const g = guest(s);
      const k = g.kernel;
      // A memory hog: all but 100 free pages are taken.
      const hog: number[] = [];
      while (k.freePages > 100) hog.push(k.allocPage());
      s.memSet(g, 54);
      runToEnd(s);
      expect(g.balloon!.stats.pagesReleased).toBe(100);
      expect(g.balloon!.stats.currentPages).toBe(64 * MIB - 100);
      expect(k.freePages).toBe(0);
      // The hog exits; the driver's retry (its delayed work) finishes the job.
      for (const p of hog) k.freePage(p);
      g.balloon!.process();
      expect(g.balloon!.stats.currentPages).toBe(54 * MIB);
      expect(auditMachine(s.xen, s.domains).violations).toEqual([]);
    });
  }
});

describe('the timeline action and the preset', () => {
  it('a timeline mem-set moves the guest and is recorded', () => {
    const s = sim(scenario('hap', { timeline: [{ atMs: 0.01, do: 'mem-set', domain: 'g', memoryMiB: 48 }] }));
    runToEnd(s);
    const r = s.results();
    expect(r.timeline?.[0]).toMatchObject({ do: 'mem-set', domain: 'g', ok: true });
    expect(r.domains.find((d) => d.name === 'g')!.balloon).toMatchObject({ targetMiB: 48, currentMiB: 48, pagesReleased: 16 * MIB, pagesReclaimed: 0 });
    expect(r.audit.ok).toBe(true);
  });

  it('c9-balloon: g2 grows into the memory g1 gave up, beyond what was free at boot', () => {
    const p = PRESETS.find((x) => x.id === 'c9-balloon')!;
    const s = sim(p.scenario);
    const freeBoot = s.xen.freeFrames;
    const ept0 = guest(s, 'g2').dom.hap!.tableFrames.length;
    // g2's growth (256 → 448 MiB) is more than the machine had free after boot.
    expect(freeBoot).toBeLessThan((448 - 256) * MIB);
    runToEnd(s);
    const r = s.results();
    const g1 = r.domains.find((d) => d.name === 'g1')!.balloon!;
    const g2 = r.domains.find((d) => d.name === 'g2')!.balloon!;
    expect(g1).toMatchObject({ targetMiB: 160, currentMiB: 160, pagesReleased: (384 - 160) * MIB, pagesReclaimed: 0 });
    expect(g2).toMatchObject({ targetMiB: 448, currentMiB: 448, pagesReleased: 0, pagesReclaimed: (448 - 256) * MIB });
    // Xen's free memory: what g1 gave, less what g2 took and the EPT tables g2's new pages needed.
    const ept = guest(s, 'g2').dom.hap!.tableFrames.length - ept0;
    expect(s.xen.freeFrames).toBe(freeBoot + (384 - 160) * MIB - (448 - 256) * MIB - ept);
    // Both actions come after the workloads' setup, so the results count the balloons' hypercalls:
    // g1 (PV) one decrease_reservation and one TLB flush per 512 pages, one update_va_mapping per
    // page; g2 (HAP) one populate_physmap per 512 pages.
    const h1 = r.domains.find((d) => d.name === 'g1')!.hypercalls.byOp;
    const h2 = r.domains.find((d) => d.name === 'g2')!.hypercalls.byOp;
    expect([h1.memory_op, h1.mmuext_op, h1.update_va_mapping]).toEqual([(224 * MIB) / 512, (224 * MIB) / 512, 224 * MIB]);
    expect(h2.memory_op).toBe((192 * MIB) / 512);
    expect(g1.hypercalls).toBe(h1.memory_op! + h1.mmuext_op! + h1.update_va_mapping!);
    // No domain's free pages were written while frames went from one guest to Xen and on to another.
    for (const d of r.domains) expect(d.integrity?.framesCorrupted, d.name).toBe(0);
    expect(r.audit.ok).toBe(true);
    expect(r.timeline?.map((t) => t.ok)).toEqual([true, true]);
  });
});

describe('validation of the timeline action and maxMemoryMiB', () => {
  const problems = (input: ScenarioInput) => {
    const v = validateScenario(input);
    return v.ok ? [] : v.problems;
  };
  it('names what is allowed, at the field', () => {
    const base = scenario('pv');
    const at = (t: Record<string, unknown>) => problems({ ...base, timeline: [{ atMs: 1, do: 'mem-set', domain: 'g', ...t }] } as ScenarioInput);
    expect(at({})).toEqual([expect.objectContaining({ path: 'timeline[0].memoryMiB', message: expect.stringMatching(/needs "memoryMiB".*1 to 96/) })]);
    expect(at({ memoryMiB: 97 })).toEqual([expect.objectContaining({ path: 'timeline[0].memoryMiB', message: expect.stringMatching(/above g's maxmem \(96 MiB.*allowed 1 to 96/) })]);
    expect(at({ memoryMiB: 0 })[0]!.path).toBe('timeline[0].memoryMiB');
    expect(at({ memoryMiB: 1.5 })[0]!.path).toBe('timeline[0].memoryMiB');
    expect(at({ memoryMiB: 32, pages: 5 })).toEqual([expect.objectContaining({ path: 'timeline[0].pages', message: expect.stringMatching(/belongs to relocate, not mem-set/) })]);
    expect(at({ memoryMiB: 96 })).toEqual([]);
    const noMax = problems({ ...base, domains: [{ ...base.domains[0]!, maxMemoryMiB: undefined }], timeline: [{ atMs: 1, do: 'mem-set', domain: 'g', memoryMiB: 65 }] } as ScenarioInput);
    expect(noMax).toEqual([expect.objectContaining({ path: 'timeline[0].memoryMiB', message: expect.stringMatching(/set maxMemoryMiB to let it grow/) })]);
    const dom0 = problems({ ...base, timeline: [{ atMs: 1, do: 'mem-set', domain: 'Domain-0', memoryMiB: 256 }] } as ScenarioInput);
    expect(dom0).toEqual([expect.objectContaining({ path: 'timeline[0].domain', message: expect.stringMatching(/dom0/) })]);
  });

  it('xl.cfg maxmem is maxMemoryMiB, both ways', () => {
    const r = parseXlCfg('name = "g"\ntype = "pv"\nmemory = 64\nmaxmem = 96\n');
    expect(r.ok && r.domain.maxMemoryMiB).toBe(96);
    if (r.ok) expect(toXlCfg(r.domain)).toMatch(/^memory = 64\nmaxmem = 96$/m);
  });

  it('maxMemoryMiB below memoryMiB is refused', () => {
    const base = scenario('hap');
    const p = problems({ ...base, timeline: undefined, domains: [{ ...base.domains[0]!, maxMemoryMiB: 32 }] } as ScenarioInput);
    expect(p).toEqual([expect.objectContaining({ path: 'domains[0].maxMemoryMiB', message: expect.stringMatching(/at least memoryMiB \(64\)/) })]);
  });
});

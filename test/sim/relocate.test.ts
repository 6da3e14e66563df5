/**
 * relocate (C9): Xen moves a translated guest's pages by itself and the guest sees nothing; a PV
 * guest's page tables and p2m hold machine frames, so Xen refuses unless the guest cooperates.
 */
import { describe, expect, it } from 'vitest';
import { validateScenario } from '../../core/api/index.js';
import { Simulation } from '../../core/sim/simulation.js';
import { relocateGfn } from '../../core/hv/mm/relocate.js';
import type { Vm } from '../../core/vm/vm.js';

type Mode = 'pv' | 'shadow' | 'hap';

function sim(mode: Mode) {
  const v = validateScenario({
    name: 'reloc',
    machine: { memoryMiB: 2048, pcpus: 1 },
    hypervisor: 'xen',
    // 2 MiB EPT leaves where the memory allows: a moved page splits the leaf over it.
    domains: [{ name: 'g', mode, memoryMiB: 256, vcpus: 1, ...(mode === 'hap' ? { hostPageSize: '2m' } : {}), workload: { kind: 'kernel-build', jobs: 3 } }],
  });
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return new Simulation(v.scenario);
}

/** Runs to the end, asking for `pages` to move after the first step. */
function runWith(mode: Mode, pages: number, cooperative = false) {
  const s = sim(mode);
  const g = s.domains.find((d) => d.name === 'g')!;
  let first = true;
  while (s.step(1)) {
    if (first && pages > 0) s.relocate(g, pages, cooperative);
    first = false;
  }
  return { s, g, r: s.results() };
}

/** Each of the guest's pages by pfn: its content, or null where `skip` says so. */
function contents(g: Vm, skip: (mfn: number) => boolean = () => false): (string | null)[] {
  const mem = g.dom.xen.mem;
  return Array.from(g.dom.p2m, (m) => (m < 0 || skip(m) ? null : Array.from(mem.frame(m) ?? []).join(',')));
}

describe('relocating a translated guest’s pages', () => {
  for (const mode of ['hap', 'shadow'] as const) {
    it(`${mode}: 1,000 pages move, and the guest's memory and its own results are those of a run without`, () => {
      const base = runWith(mode, 0);
      const moved = runWith(mode, 1000);
      const before = new Int32Array(base.g.dom.p2m);
      const gb = base.r.domains.find((d) => d.name === 'g')!;
      const gm = moved.r.domains.find((d) => d.name === 'g')!;
      expect(gm.relocation).toEqual({ requested: 1000, moved: 1000, refused: 0 });
      // At least the moved pages now sit on other machine frames than in the run without.
      let differ = 0;
      moved.g.dom.p2m.forEach((m, pfn) => (differ += m !== before[pfn] ? 1 : 0));
      expect(differ).toBeGreaterThanOrEqual(1000);
      // Page by page (gfn), the same content: page tables included, since they hold gfns.
      expect(contents(moved.g)).toEqual(contents(base.g));
      // What the guest did and saw is the same; only Xen's work (and the TLB refills of its flushes) differ.
      for (const k of ['ops', 'ptUpdates'] as const) expect(gm[k]).toBe(gb[k]);
      expect(gm.pageFaults.guest).toBe(gb.pageFaults.guest);
      expect(gm.counters.cowCopies).toBe(gb.counters.cowCopies);
      expect(gm.cycles.guest).toBe(gb.cycles.guest);
      expect(gm.cycles.hypervisor).toBeGreaterThan(gb.cycles.hypervisor);
      expect(moved.r.audit.ok).toBe(true);
    });
  }

  it('a page someone else holds a reference to (a grant mapping, DMA) is not moved', () => {
    const s = sim('hap');
    const g = s.domains.find((d) => d.name === 'g')!;
    const gfn = 1234;
    const mfn = g.dom.p2m[gfn]!;
    const ft = g.dom.xen.ft;
    ft.setCount(mfn, ft.count(mfn) + 1);
    expect(relocateGfn(g.dom.xen, g.dom, gfn)).toBe('in-use');
    expect(g.dom.p2m[gfn]).toBe(mfn);
    ft.setCount(mfn, ft.count(mfn) - 1);
    expect(relocateGfn(g.dom.xen, g.dom, gfn)).toBe('moved');
    expect(g.dom.p2m[gfn]).not.toBe(mfn);
  });
});

describe('relocating a PV guest’s pages', () => {
  it('is refused when the guest does not cooperate: nothing moves', () => {
    const s = sim('pv');
    const g = s.domains.find((d) => d.name === 'g')!;
    s.step(1);
    const p2m = new Int32Array(g.dom.p2m);
    const r = s.relocate(g, 1000, false);
    expect(r).toMatchObject({ requested: 1000, moved: 0, refused: 1000 });
    expect(r.reasons[0]!.why).toContain('PV guest');
    expect(new Int32Array(g.dom.p2m)).toEqual(p2m);
    while (s.step(1));
    expect(s.results().audit.ok).toBe(true);
  });

  it('succeeds when it cooperates: its data pages keep their content on new frames, and the audit is clean', () => {
    const base = runWith('pv', 0);
    const moved = runWith('pv', 1000, true);
    const gm = moved.r.domains.find((d) => d.name === 'g')!;
    expect(gm.relocation!.requested).toBe(1000);
    expect(gm.relocation!.moved).toBeGreaterThan(900);
    expect(gm.relocation!.moved + gm.relocation!.refused).toBe(1000);
    // Page tables hold machine frames, which moved: compare every other page by pfn.
    const ftOf = (g: Vm) => g.dom.xen.ft;
    expect(contents(moved.g, (m) => ftOf(moved.g).isPageTable(m))).toEqual(contents(base.g, (m) => ftOf(base.g).isPageTable(m)));
    // Each moved page cost the guest hypercalls: increase and decrease_reservation, MMU_MACHPHYS_UPDATE, update_va_mapping.
    const gb = base.r.domains.find((d) => d.name === 'g')!;
    expect(gm.hypercalls.total - gb.hypercalls.total).toBeGreaterThanOrEqual(4 * gm.relocation!.moved);
    expect(gm.ops).toBe(gb.ops);
    expect(moved.r.audit.ok).toBe(true);
  });
});

describe('relocate in a scenario', () => {
  const base = (timeline: unknown[], mode: Mode = 'hap') => ({
    name: 't',
    machine: { memoryMiB: 2048, pcpus: 1 },
    hypervisor: 'xen',
    domains: [{ name: 'g', mode, memoryMiB: 256, vcpus: 1, workload: { kind: 'kernel-build', jobs: 1 } }],
    timeline,
  });
  const problems = (s: unknown) => {
    const v = validateScenario(s);
    return v.ok ? [] : v.problems;
  };

  it('runs from the timeline and reports in the results', () => {
    const v = validateScenario(base([{ atMs: 1, do: 'relocate', domain: 'g', pages: 64 }]));
    if (!v.ok) throw new Error(JSON.stringify(v.problems));
    const s = new Simulation(v.scenario);
    while (s.step(1));
    const r = s.results();
    expect(r.timeline![0]).toMatchObject({ do: 'relocate', domain: 'g', ok: true });
    expect(r.domains.find((d) => d.name === 'g')!.relocation).toEqual({ requested: 64, moved: 64, refused: 0 });
  });

  it('is refused at the field without pages, with cooperative on an HVM guest, or without Xen', () => {
    expect(problems(base([{ atMs: 1, do: 'relocate', domain: 'g' }]))).toEqual([expect.objectContaining({ path: 'timeline[0].pages' })]);
    expect(problems(base([{ atMs: 1, do: 'relocate', domain: 'g', pages: 8, cooperative: true }]))).toEqual([expect.objectContaining({ path: 'timeline[0].cooperative' })]);
    expect(problems(base([{ atMs: 1, do: 'relocate', domain: 'g', pages: 8, device: 'disk0' }]))).toEqual([expect.objectContaining({ path: 'timeline[0].device' })]);
  });
});

describe('relocating the pages of a domain that drives a device', () => {
  it('is refused: a device’s DMA cannot wait for a page to move (Xen: no paging with an IOMMU in use)', () => {
    const v = validateScenario({
      name: 'pt',
      machine: { memoryMiB: 2048, pcpus: 1, devices: [{ id: 'disk0', kind: 'disk', sizeMiB: 64 }] },
      hypervisor: 'xen',
      domains: [{ name: 'dd', mode: 'hap', memoryMiB: 256, vcpus: 1, pci: ['disk0'] }],
      // cooperative: false is accepted for any mode (only true is a PV guest's).
      timeline: [{ atMs: 1, do: 'relocate', domain: 'dd', pages: 16, cooperative: false }],
    });
    if (!v.ok) throw new Error(JSON.stringify(v.problems));
    const s = new Simulation(v.scenario);
    const dd = s.domains.find((d) => d.name === 'dd')!;
    const r = s.relocate(dd, 16, false);
    expect(r).toMatchObject({ requested: 16, moved: 0, refused: 16 });
    expect(r.reasons[0]!.why).toContain('No paging if iommu is used');
    expect(s.results().domains.find((d) => d.name === 'dd')!.relocation).toEqual({ requested: 16, moved: 0, refused: 16 });
  });
});

/**
 * rogue-dma (C3): a guest that owns a disk programs it to write into another domain's frames. The
 * content check of free memory (results integrity) sees exactly the frames the device wrote.
 */
import { describe, expect, it } from 'vitest';
import { validateScenario } from '../../core/api/index.js';
import { runScenario } from '../../core/sim/run.js';
import { Simulation } from '../../core/sim/simulation.js';

function scenario(over: { pages?: number; victim?: string; rogueMode?: 'pv' | 'hap'; pci?: string[]; hypervisor?: string; iommu?: boolean } = {}) {
  return {
    name: 'rogue',
    machine: { memoryMiB: 2048, pcpus: 1, devices: [{ id: 'disk0', kind: 'disk', sizeMiB: 64 }], ...(over.iommu !== undefined ? { iommu: over.iommu } : {}) },
    hypervisor: over.hypervisor ?? 'xen',
    domains: [
      { name: 'victim', mode: 'pv', memoryMiB: 256, vcpus: 1, workload: { kind: 'idle' } },
      {
        name: 'rogue',
        mode: over.rogueMode ?? 'pv',
        memoryMiB: 256,
        vcpus: 1,
        pci: over.pci ?? ['disk0'],
        workload: { kind: 'rogue-dma', victim: over.victim ?? 'victim', pages: over.pages ?? 12 },
      },
    ],
  };
}

function run(s: unknown) {
  const v = validateScenario(s);
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return runScenario(v.scenario);
}

function problems(s: unknown) {
  const v = validateScenario(s);
  return v.ok ? [] : v.problems;
}

describe('rogue-dma with the IOMMU off', () => {
  it('corrupts exactly the victim frames it aimed at, and no other domain’s; the auditor says why', () => {
    const pages = 12;
    const r = run(scenario({ pages, iommu: false }));
    const by = new Map(r.domains.map((d) => [d.name, d]));
    const rogue = by.get('rogue')!;
    expect(rogue.io).toMatchObject({ requests: pages, errors: 0 });
    // Every DMA landed in a different free page of the victim's, whose content was zero.
    expect(by.get('victim')!.integrity).toMatchObject({ framesCorrupted: pages });
    expect(by.get('victim')!.integrity!.framesChecked).toBeGreaterThan(pages);
    expect(by.get('Domain-0')!.integrity!.framesCorrupted).toBe(0);
    expect(rogue.integrity!.framesCorrupted).toBe(0);
    expect(r.iommu).toMatchObject({ enabled: false, faults: 0 });
    // With no IOMMU a device's owner reaches frames it does not own: the audit reports it.
    expect(r.audit.ok).toBe(false);
    expect(r.audit.violations.join('\n')).toMatch(/rogue.*IOMMU is off/);
  });
});

describe('rogue-dma with the IOMMU on (the default)', () => {
  it('pv rogue: every write is blocked and logged, and no domain’s memory changes', () => {
    const pages = 12;
    const r = run(scenario({ pages }));
    const by = new Map(r.domains.map((d) => [d.name, d]));
    // The disk completes each read with a data transfer error: the IOMMU refused its DMA.
    expect(by.get('rogue')!.io).toMatchObject({ requests: pages, errors: pages });
    expect(r.iommu).toMatchObject({ enabled: true, faults: pages });
    for (const d of r.domains) expect(d.integrity!.framesCorrupted, d.name).toBe(0);
    expect(r.audit.ok).toBe(true);
  });

  it('hap rogue: its device’s addresses are its own guest-physical ones, so the victim is never reached', () => {
    const pages = 12;
    for (const rogueMiB of [256, 1024]) {
      const s = scenario({ pages, rogueMode: 'hap' });
      s.domains[1]!.memoryMiB = rogueMiB;
      const r = run(s);
      const by = new Map(r.domains.map((d) => [d.name, d]));
      const io = by.get('rogue')!.io!;
      // Each read either faulted (an address beyond its memory) or landed in its own memory.
      expect(io.errors).toBe(r.iommu!.faults);
      expect(by.get('victim')!.integrity!.framesCorrupted).toBe(0);
      expect(by.get('Domain-0')!.integrity!.framesCorrupted).toBe(0);
      expect(r.audit.ok).toBe(true);
    }
  });
});

describe('free memory stays untouched by legitimate I/O', () => {
  it('split block I/O through dom0 leaves no free page of any domain changed', () => {
    const r = run({
      name: 'clean',
      machine: { memoryMiB: 2048, pcpus: 1, devices: [{ id: 'disk0', kind: 'disk', sizeMiB: 64 }] },
      hypervisor: 'xen',
      domains: [{ name: 'g', mode: 'pv', memoryMiB: 256, vcpus: 1, disks: [{ device: 'disk0' }], workload: { kind: 'disk-io', ops: 300, flushEvery: 8 } }],
    });
    for (const d of r.domains) {
      expect(d.integrity!.framesChecked, d.name).toBeGreaterThan(0);
      expect(d.integrity!.framesCorrupted, d.name).toBe(0);
    }
  });
});

describe('rogue-dma is refused where it cannot run', () => {
  it('without a disk of its own', () => {
    expect(problems(scenario({ pci: [] }))).toEqual([expect.objectContaining({ path: 'domains[1].workload', message: expect.stringContaining('needs a device to program') })]);
  });
  it('aimed at no domain, or at itself', () => {
    expect(problems(scenario({ victim: 'nobody' }))).toEqual([expect.objectContaining({ path: 'domains[1].workload.victim', message: expect.stringContaining('no domain named "nobody"') })]);
    expect(problems(scenario({ victim: 'rogue' }))).toEqual([expect.objectContaining({ path: 'domains[1].workload.victim', message: expect.stringContaining('its own victim') })]);
  });
});

describe('the content check of free memory', () => {
  it('judges only pages free at its start and never handed out since: a page in use then, freed and written later, is not counted', () => {
    const v = validateScenario(scenario({ pages: 1 }));
    if (!v.ok) throw new Error(JSON.stringify(v.problems));
    const sim = new Simulation(v.scenario);
    const victim = sim.domains.find((d) => d.name === 'victim')!;
    const k = victim.kernel;
    // A page the kernel had handed out before the check began (its xenstore ring page, say).
    let pfn = -1;
    for (let p = 0; p < k.nrUsable && pfn < 0; p++) if (!k.freeSinceMark(p) && victim.dom.p2m[p]! >= 0 && !victim.dom.xen.ft.isPageTable(victim.dom.p2m[p]!)) pfn = p;
    expect(pfn).toBeGreaterThanOrEqual(0);
    const before = sim.results().domains.find((d) => d.name === 'victim')!.integrity!;
    victim.dom.xen.mem.write(victim.dom.p2m[pfn]!, 7, 0xdead, 0xbeef);
    k.freePage(pfn);
    const after = sim.results().domains.find((d) => d.name === 'victim')!.integrity!;
    expect(after.framesCorrupted).toBe(0);
    expect(after.framesChecked).toBe(before.framesChecked);
    // A page free all along, written behind the kernel's back, is.
    let free = -1;
    for (let p = k.nrUsable - 1; p >= 0 && free < 0; p--) if (k.freeSinceMark(p)) free = p;
    victim.dom.xen.mem.write(victim.dom.p2m[free]!, 3, 1, 0);
    expect(sim.results().domains.find((d) => d.name === 'victim')!.integrity!.framesCorrupted).toBe(1);
  });
});

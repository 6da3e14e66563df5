/**
 * The fuzzing harness: boots a small Xen machine, runs a step sequence in a guest and audits
 * after every step: incrementally (the Auditor re-audits the domains a step touched, and all of
 * them every few steps) and in full with audit() once the sequence ends. PV guests run attack-lab scripts (random and adversarial hypercalls); shadow
 * and HAP guests run random guest-kernel operations (there is no hypercall interface to abuse,
 * so the kernel's own updates are what the shadow and EPT code must keep safe).
 */
import fc from 'fast-check';
import { PTE_P, PTE_RW, pteHi, pteLo } from '../../core/machine/pte.js';
import type { PageType } from '../../core/hv/mm/frameTable.js';
import type { Step } from '../../core/api/hypercallScript.js';
import { validateScenario, type Scenario } from '../../core/api/index.js';
import { Hypervisor } from '../../core/hv/hypervisor.js';
import { buildDomain } from '../../core/vm/builder.js';
import { ScriptRunner } from '../../core/guest/attack/scriptRunner.js';
import { auditMachine, machineAuditor } from '../../core/vm/audit.js';
import type { AuditResult } from '../../core/api/results.js';
import { XenPvMachine } from '../../core/vm/pvMachine.js';
import { costsOf, mmuConfigOf } from '../../core/sim/run.js';
import { SegmentationFault } from '../../core/guest/kernel.js';
import type { Vm } from '../../core/vm/vm.js';

export const PAGES = ['a', 'b', 'c', 'd'] as const;
const VAS = ['0x10000000', '0x10001000', '0x10200000', '0x7effffe00000', '0x880000000000', '0x964b2592c000', '0x960000080000'];
const FLAGS = ['P', 'RW', 'US', 'A', 'D', 'PS', 'G', 'NX', 'PWT', 'PCD'] as const;

const frameRef = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...PAGES).map((page) => ({ page })) },
  { weight: 2, arbitrary: fc.constant({ self: 'l4' as const }) },
  { weight: 2, arbitrary: fc.record({ self: fc.constantFrom('l1' as const, 'l2' as const, 'l3' as const), va: fc.constantFrom(...VAS) }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 8191 }).map((pfn) => ({ foreign: 'g2', pfn })) },
);
const flags = fc.subarray([...FLAGS]).map((f) => (f.includes('P') || Math.random() < 0 ? f : ['P', ...f]));
const entry = fc.oneof(
  { weight: 6, arbitrary: fc.record({ frame: frameRef, flags }) },
  { weight: 1, arbitrary: fc.constant(0 as const) },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((b) => ({ raw: '0x' + b.toString(16) })) },
);
const va = fc.constantFrom(...VAS);
const index = fc.oneof(fc.integer({ min: 0, max: 511 }), fc.constantFrom(0, 1, 128, 256, 271, 272, 300, 511));
const mmuUpdate = fc.record({
  op: fc.constant('mmu_update' as const),
  reqs: fc.array(
    fc.oneof(
      { weight: 8, arbitrary: fc.record({ table: frameRef, index, val: entry }) },
      { weight: 1, arbitrary: fc.record({ cmd: fc.constant('machphys' as const), frame: frameRef, pfn: fc.integer({ min: 0, max: 20000 }) }) },
    ),
    { minLength: 1, maxLength: 4 },
  ),
});
const mmuext = fc.oneof(
  fc.record({ op: fc.constant('mmuext_op' as const), cmd: fc.constantFrom('pin_l1_table', 'pin_l2_table', 'pin_l3_table', 'pin_l4_table', 'unpin_table', 'new_baseptr') as fc.Arbitrary<'pin_l1_table'>, frame: frameRef }),
  fc.record({ op: fc.constant('mmuext_op' as const), cmd: fc.constantFrom('tlb_flush_local', 'tlb_flush_all') as fc.Arbitrary<'tlb_flush_local'> }),
  fc.record({ op: fc.constant('mmuext_op' as const), cmd: fc.constantFrom('invlpg_local', 'invlpg_all') as fc.Arbitrary<'invlpg_local'>, va }),
);
const uvm = fc.record({ op: fc.constant('update_va_mapping' as const), va, val: entry, flags: fc.constantFrom('none' as const, 'tlb_flush' as const, 'invlpg' as const) });
const call = fc.oneof(mmuUpdate, mmuext, uvm, fc.constant({ op: 'iret' as const }));

export const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('map' as const), frame: frameRef, va, flags }) },
  { weight: 5, arbitrary: mmuUpdate },
  { weight: 4, arbitrary: mmuext },
  { weight: 2, arbitrary: uvm },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('multicall' as const), calls: fc.array(call, { minLength: 1, maxLength: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('write' as const), frame: frameRef, index, val: entry }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('access' as const), va, write: fc.boolean() }) },
) as fc.Arbitrary<Step>;

/** A PV machine small enough to boot in milliseconds. */
export function pvScenario(steps: Step[]): Scenario {
  const v = validateScenario({
    name: 'fuzz-pv',
    machine: { memoryMiB: 256, pcpus: 1 },
    hypervisor: 'xen',
    domains: [
      { name: 'Domain-0', role: 'dom0', mode: 'pv', memoryMiB: 32, vcpus: 1 },
      { name: 'g1', mode: 'pv', memoryMiB: 32, vcpus: 1, workload: { kind: 'hypercalls', pages: Object.fromEntries(PAGES.map((p) => [p, {}])), steps: steps.length ? steps : [{ op: 'iret' }] } },
      { name: 'g2', mode: 'pv', memoryMiB: 32, vcpus: 1 },
    ],
  });
  if (!v.ok) throw new Error('fuzz scenario invalid: ' + JSON.stringify(v.problems));
  return v.scenario;
}

function boot(s: Scenario): { xen: Hypervisor; doms: Vm[] } {
  const xen = new Hypervisor(s, costsOf(s), mmuConfigOf(s));
  const doms = s.domains.map((c) => buildDomain(xen, c));
  return { xen, doms };
}

/** Runs the steps in g1, auditing after each; returns the number of steps run, or throws. */
/**
 * A corruption written behind Xen's back between two steps (through the frame table or machine
 * memory, as a bug would), for checking that the incremental auditor reports what a full audit does.
 */
export interface Corruption {
  /** After which step (modulo the sequence's length, so every corruption lands). */
  atStep: number;
  /** Which of g1's frames (an index into its page list, modulo its length). */
  frame: number;
  what: 'count' | 'typeCount' | 'linear' | 'type' | 'entry' | 'cr3';
  /** For 'entry': the entry index and the frame it is made to map (an index into g1's page list). */
  index: number;
  target: number;
}

/**
 * Runs `steps` in g1 as runPvSteps does, applying `corruptions`, and after every step checks that
 * the incremental auditor's report equals a full audit's, word for word; returns the steps run.
 */
export function runPvStepsComparingAudits(steps: Step[], corruptions: readonly Corruption[]): number {
  const s = pvScenario(steps);
  const { xen, doms } = boot(s);
  const g1 = doms[1];
  xen.contextSwitch(g1.dom);
  const k = g1.kernel;
  k.switchTo(k.spawn('fuzz'));
  const v = k.mmap(k.current!.mm, 16 * 4096);
  for (let a = v.start; a < v.end; a += 4096) k.touch(a, true);
  const runner = new ScriptRunner(g1.kernel, new XenPvMachine(g1.dom));
  runner.setup([...PAGES]);
  const auditor = machineAuditor(xen, doms);
  let n = 0;
  const check = () => {
    const inc = auditor.audit();
    const full = auditMachine(xen, doms);
    if (JSON.stringify(inc) !== JSON.stringify(full)) {
      throw new Error(`after step ${n - 1} the incremental audit says ${JSON.stringify(inc).slice(0, 400)} but a full audit ${JSON.stringify(full).slice(0, 400)}`);
    }
  };
  check();
  runner.run(steps, () => {
    n++;
    const own = xen.ft.ownedFrames(g1.domid);
    for (const c of corruptions) {
      // atStep picks one of the sequence's steps, whatever its length.
      if ((c.atStep % steps.length) + 1 !== n) continue;
      const ft = xen.ft;
      // Type corruptions go to page tables, where a type is what other tables' entries depend on.
      const pool = c.what === 'type' ? Array.from(own).filter((f) => ft.isPageTable(f)) : own;
      const m = pool[c.frame % pool.length]!;
      if (c.what === 'count') ft.setCount(m, ft.count(m) + 1);
      else if (c.what === 'typeCount') ft.setTypeCount(m, Math.max(0, ft.typeCount(m) - 1));
      else if (c.what === 'linear') ft.setLinear(m, ft.linear(m) + 1);
      else if (c.what === 'type') ft.setType(m, ((ft.type(m) % 4) + 1) as PageType);
      // Another domain's base pointer moved onto one of g1's frames (it counts in g1's audit).
      else if (c.what === 'cr3') doms[2]!.dom.guestCr3 = m;
      else {
        const t = own[c.target % own.length]!;
        xen.mem.write(m, c.index, pteLo(t, PTE_P | PTE_RW), pteHi(t, PTE_P | PTE_RW));
      }
    }
    check();
  });
  return n;
}

export function runPvSteps(steps: Step[]): number {
  const s = pvScenario(steps);
  const { xen, doms } = boot(s);
  const g1 = doms[1];
  xen.contextSwitch(g1.dom);
  const k = g1.kernel;
  const p = k.spawn('fuzz');
  k.switchTo(p);
  const v = k.mmap(p.mm, 16 * 4096);
  for (let a = v.start; a < v.end; a += 4096) k.touch(a, true);
  const runner = new ScriptRunner(g1.kernel, new XenPvMachine(g1.dom));
  runner.setup([...PAGES]);
  const auditor = stepAuditor(xen, doms);
  let n = 0;
  runner.run(steps, () => {
    n++;
    const r = auditor.audit();
    if (!r.ok) throw new Error(`audit failed after step ${n - 1}: ${r.violations.slice(0, 3).join('; ')}`);
  });
  finalAudit(xen, doms, n);
  return n;
}

// --- shadow and HAP: random guest-kernel operations -------------------------------------------

export type KernelOp =
  | { op: 'mmap'; pages: number }
  | { op: 'touch'; vma: number; page: number; write: boolean }
  | { op: 'munmap'; vma: number }
  | { op: 'mprotect'; vma: number; write: boolean }
  | { op: 'fork' }
  | { op: 'exit' }
  | { op: 'switch'; proc: number };

export const kernelOpArb: fc.Arbitrary<KernelOp> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ op: fc.constant('mmap' as const), pages: fc.integer({ min: 1, max: 600 }) }) },
  { weight: 8, arbitrary: fc.record({ op: fc.constant('touch' as const), vma: fc.nat(7), page: fc.nat(599), write: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('munmap' as const), vma: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('mprotect' as const), vma: fc.nat(7), write: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ op: 'fork' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'exit' as const }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('switch' as const), proc: fc.nat(7) }) },
);

/** Runs kernel operations in one guest of `mode`, auditing after each; returns the count run. */
export function runKernelOps(mode: 'shadow' | 'hap' | 'pv', ops: KernelOp[], oos = true, pool?: number): number {
  const v = validateScenario({
    name: `fuzz-${mode}`,
    machine: { memoryMiB: 256, pcpus: 1 },
    hypervisor: 'xen',
    domains: [
      { name: 'Domain-0', role: 'dom0', mode: 'pv', memoryMiB: 32, vcpus: 1 },
      { name: 'g1', mode, memoryMiB: 48, vcpus: 1, ...(mode === 'shadow' ? { shadowOutOfSync: oos, ...(pool ? { shadowPoolPages: pool } : {}) } : {}) },
    ],
  });
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  const { xen, doms } = boot(v.scenario);
  const d = doms[1];
  xen.contextSwitch(d.dom);
  const k = d.kernel;
  const auditor = stepAuditor(xen, doms);
  const procs = [k.spawn('init')];
  k.switchTo(procs[0]);
  let n = 0;
  for (const o of ops) {
    const cur = k.current ?? procs[0];
    if (k.current !== cur) k.switchTo(cur);
    const vmas = cur.mm.vmas;
    switch (o.op) {
      case 'mmap':
        if (vmas.length < 8 && k.freePages > o.pages + 64) k.mmap(cur.mm, o.pages * 4096);
        break;
      case 'touch': {
        const vma = vmas[o.vma % Math.max(1, vmas.length)];
        if (!vma) break;
        const va = vma.start + (o.page % ((vma.end - vma.start) / 4096)) * 4096;
        if (k.freePages < 16) break;
        try {
          k.touch(va, o.write);
        } catch (e) {
          if (!(e instanceof SegmentationFault)) throw e;
        }
        break;
      }
      case 'munmap': {
        const vma = vmas[o.vma % Math.max(1, vmas.length)];
        if (vma) k.munmap(cur.mm, vma);
        break;
      }
      case 'mprotect': {
        const vma = vmas[o.vma % Math.max(1, vmas.length)];
        if (vma) k.mprotect(cur.mm, vma.start, vma.end, o.write);
        break;
      }
      case 'fork':
        if (procs.length < 8 && k.freePages > 2048) procs.push(k.fork(cur));
        break;
      case 'exit':
        if (procs.length > 1) {
          const i = procs.indexOf(cur);
          k.exit(cur);
          procs.splice(i, 1);
          k.switchTo(procs[0]);
        }
        break;
      case 'switch':
        k.switchTo(procs[o.proc % procs.length]);
        break;
    }
    n++;
    const r = auditor.audit();
    if (!r.ok) throw new Error(`audit failed after op ${n - 1} (${JSON.stringify(o)}): ${r.violations.slice(0, 3).join('; ')}`);
  }
  finalAudit(xen, doms, n);
  return n;
}

/**
 * The auditor a sequence runs after each step: the incremental one, or (HYPERLAB_FUZZ_FULL_AUDIT=1,
 * for the benchmark's baseline) a full audit() every time.
 */
function stepAuditor(xen: Hypervisor, doms: readonly Vm[]): { audit(): AuditResult } {
  return process.env.HYPERLAB_FUZZ_FULL_AUDIT === '1' ? { audit: () => auditMachine(xen, doms) } : machineAuditor(xen, doms);
}

/** The full audit a sequence ends with: whatever the incremental one might not have looked at. */
function finalAudit(xen: Hypervisor, doms: readonly Vm[], steps: number): void {
  const r = auditMachine(xen, doms);
  if (!r.ok) throw new Error(`full audit failed after all ${steps} steps: ${r.violations.slice(0, 3).join('; ')}`);
}

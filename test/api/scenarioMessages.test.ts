/**
 * Problems are told in the field's own terms (issue 10): no zod wording reaches a user; a number
 * field says its unit and the range the schema allows (bounds read from the schema here, not
 * copied); every problem comes in one pass, structural and semantic alike; JSON syntax errors give
 * a line and column; the PV-superpage message speaks of the hypervisor in use.
 */
import { describe, expect, it } from 'vitest';
import { domainSchema, machineSchema, parseScenarioText, scenarioSchema, validateScenario, workloadSchema } from '../../core/api/index.js';

/** Thin-space grouping, as the lab prints numbers (1 048 576). */
const g = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, '\u2009');
/** The schema's own bounds of a number field. */
const bounds = (s: unknown) => {
  const n = s as { minValue: number; maxValue: number };
  return `from ${g(n.minValue)} to ${g(n.maxValue)}`;
};

const base = () => ({
  name: 'm',
  machine: { memoryMiB: 4096, pcpus: 2 },
  hypervisor: 'xen',
  domains: [
    { name: 'a', mode: 'pv', memoryMiB: 256, vcpus: 1, workload: { kind: 'cold-walk', pages: 64 } },
    { name: 'b', mode: 'hap', memoryMiB: 256, vcpus: 1, workload: { kind: 'cold-walk', pages: 64 } },
  ],
});

function problems(doc: unknown) {
  const v = validateScenario(doc);
  expect(v.ok).toBe(false);
  return v.ok ? [] : v.problems;
}

describe('scenario problems in the field’s own terms', () => {
  it('a string in a MiB field: the unit, the schema’s range and what was written', () => {
    const s = base() as any;
    s.domains[1].memoryMiB = 'abc';
    const mem = domainSchema.shape.memoryMiB;
    expect(problems(s)).toEqual([{ path: 'domains[1].memoryMiB', message: `must be a whole number of MiB ${bounds(mem)}; got "abc"` }]);
  });

  it('a number over the maximum names the bound, not "Too big"', () => {
    const s = base() as any;
    s.domains[0].workload = { kind: 'random-access', workingSetMiB: 64, accesses: 1e12 };
    const accesses = (workloadSchema.options as any[]).find((o) => o.shape.kind.def.values[0] === 'random-access').shape.accesses;
    const [p] = problems(s);
    expect(p).toEqual({ path: 'domains[0].workload.accesses', message: `must be a whole number ${bounds(accesses)}; got ${g(1e12)}` });
    expect(p!.message).not.toMatch(/Too big|expected number|Invalid input/);
  });

  it('a missing field says it is missing and what it must be', () => {
    const s = base() as any;
    delete s.machine.pcpus;
    expect(problems(s)).toEqual([{ path: 'machine.pcpus', message: `missing: must be a whole number ${bounds(machineSchema.shape.pcpus)}` }]);
  });

  it('a fraction where a whole number belongs, an unknown enum value, an unknown field', () => {
    const s = base() as any;
    s.machine.pcpus = 1.5;
    s.hypervisor = 'vmware';
    s.domains[0].turbo = true;
    const ps = problems(s);
    expect(ps).toContainEqual({ path: 'machine.pcpus', message: `must be a whole number ${bounds(machineSchema.shape.pcpus)}; got 1.5` });
    expect(ps).toContainEqual({ path: 'hypervisor', message: `must be one of ${scenarioSchema.shape.hypervisor.options.map((o) => `"${o}"`).join(', ')}; got "vmware"` });
    expect(ps.find((p) => p.path === 'domains[0].turbo')?.message).toMatch(/^unknown field; the fields here are name, role, mode, memoryMiB/);
  });

  it('no message anywhere carries zod’s wording', () => {
    const s = base() as any;
    Object.assign(s, { name: '', seed: -1 });
    s.machine.memoryMiB = 'lots';
    s.domains[0].vcpus = 0;
    s.domains[1].workload = { kind: 'sequential', workingSetMiB: 'x', passes: 1e6 };
    s.domains.push(7);
    for (const p of problems(s)) expect(p.message).not.toMatch(/Invalid input|Too (big|small)|expected (number|string|int|array)|received/);
  });

  it('reports structural and semantic problems in one pass', () => {
    const s = base() as any;
    s.domains[0].guestPageSize = '2m'; // semantic: PV has no superpages
    s.domains[1].memoryMiB = 'abc'; // structural
    s.domains.push({ name: 'a', mode: 'hap', memoryMiB: 64, vcpus: 'two' }); // structural (vcpus) and semantic (duplicate name)
    const paths = problems(s).map((p) => p.path);
    expect(paths).toEqual(expect.arrayContaining(['domains[1].memoryMiB', 'domains[2].vcpus', 'domains[0].guestPageSize', 'domains[2].name']));
    // Structural problems come first.
    expect(paths.indexOf('domains[2].vcpus')).toBeLessThan(paths.indexOf('domains[0].guestPageSize'));
  });

  it('words the PV-superpage problem for the hypervisor in use', () => {
    const xen = base() as any;
    xen.domains[0].guestPageSize = '2m';
    expect(problems(xen).find((p) => p.path === 'domains[0].guestPageSize')!.message).toMatch(/Xen refuses PSE/);
    const kvm = base() as any;
    kvm.hypervisor = 'kvm';
    kvm.domains[0].guestPageSize = '2m';
    const m = problems(kvm).find((p) => p.path === 'domains[0].guestPageSize')!.message;
    expect(m).toMatch(/under KVM/);
    expect(m).not.toMatch(/Xen refuses/);
  });

  it('a TLB whose ways do not divide its entries says so', () => {
    const s = base() as any;
    s.machine.mmu = { tlb4k: { entries: 1536, ways: 7 } };
    expect(problems(s)).toEqual([{ path: 'machine.mmu.tlb4k', message: 'ways must divide entries (sets = entries/ways), and 7 does not divide 1536' }]);
  });

  it('parseScenarioText gives a JSON syntax error’s line and column, not a position', () => {
    const text = '{\n  "name": "x",\n  "machine": {"memoryMiB": 8,, "pcpus": 1}\n}';
    const v = parseScenarioText(text);
    expect(v.ok).toBe(false);
    if (v.ok) return;
    // The second comma of line 3.
    const col = text.split('\n')[2]!.indexOf(',,') + 2;
    expect(v.problems).toEqual([{ path: '(file)', message: expect.stringMatching(new RegExp(`^not valid JSON at line 3, column ${col}: `)) }]);
    expect(v.problems[0]!.message).not.toMatch(/position/);
  });
});

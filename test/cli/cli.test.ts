/**
 * The CLI contract of DESIGN.md §6, run as a user would, right after `npm ci`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { domainSchema, machineSchema, validateScenario } from '../../core/api/index.js';
import { labRunner, scratch } from './labProcess.js';

const lab = labRunner(60_000);
const { dir, write } = scratch('hyperlab-cli-');

const minimal = {
  name: 'walk',
  machine: { memoryMiB: 2048, pcpus: 1 },
  hypervisor: 'xen',
  domains: [{ name: 'g1', mode: 'hap', memoryMiB: 256, vcpus: 1, guestPageSize: '4k', hostPageSize: '4k', workload: { kind: 'cold-walk', pages: 64 } }],
};

/** Thin-space grouping, as the lab prints numbers; the bounds come from the schema itself. */
const g = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, '\u2009');
const range = (s: unknown) => `from ${g((s as { minValue: number }).minValue)} to ${g((s as { maxValue: number }).maxValue)}`;

describe('lab validate: every problem in one pass, in the field’s own terms', () => {
  it('names the field, its unit and the allowed range for a wrong type, a missing field and a semantic problem together', () => {
    const s = structuredClone(minimal) as any;
    s.domains[0].memoryMiB = 'abc';
    delete s.machine.pcpus;
    s.domains.push({ name: 'g1', mode: 'pv', memoryMiB: 128, vcpus: 1, guestPageSize: '2m' });
    const r = lab('validate', write('many.json', s));
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toContain(`domains[0].memoryMiB: must be a whole number of MiB ${range(domainSchema.shape.memoryMiB)}; got "abc"`);
    expect(lines).toContain(`machine.pcpus: missing: must be a whole number ${range(machineSchema.shape.pcpus)}`);
    // Semantic problems of the valid parts, in the same pass.
    expect(lines).toContain('domains[1].name: duplicate domain name "g1"');
    expect(lines.some((l) => l.startsWith('domains[1].guestPageSize: PV guests get no superpages'))).toBe(true);
    expect(r.stderr).not.toMatch(/Invalid input|received undefined|Too big|Too small/);
  });

  it('gives a JSON syntax error as line and column, never a position', () => {
    const text = '{\n  "name": "x",\n  "machine": {"memoryMiB": 8,, "pcpus": 1}\n}';
    const r = lab('validate', write('comma.json', text));
    expect(r.status).toBe(1);
    const col = text.split('\n')[2]!.indexOf(',,') + 2;
    expect(r.stderr).toMatch(new RegExp(`^\\(file\\): not valid JSON at line 3, column ${col}: `));
    expect(r.stderr).not.toMatch(/position/);
  });

  it('words the PV-superpage problem for KVM under hypervisor "kvm"', () => {
    const s = structuredClone(minimal) as any;
    s.hypervisor = 'kvm';
    Object.assign(s.domains[0], { mode: 'pv', guestPageSize: '2m' });
    const r = lab('validate', write('kvm-pv.json', s));
    const line = r.stderr.split('\n').find((l) => l.startsWith('domains[0].guestPageSize:'));
    expect(line).toMatch(/under KVM/);
    expect(line).not.toMatch(/Xen refuses/);
  });
});

describe('lab validate', () => {
  it('exits 0 for a valid scenario', () => {
    const r = lab('validate', write('ok.json', minimal));
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
  });

  const bad: [string, (s: any) => void, string][] = [
    ['an unknown field', (s) => (s.domains[0].colour = 'red'), 'domains[0].colour: unknown field'],
    ['pv with 2 MiB guest pages', (s) => Object.assign(s.domains[0], { mode: 'pv', guestPageSize: '2m', hostPageSize: '4k' }), 'domains[0].guestPageSize: PV guests get no superpages'],
    ['memory larger than the machine', (s) => (s.machine.memoryMiB = 256), 'machine.memoryMiB: domains need'],
    ['an unknown workload', (s) => (s.domains[0].workload = { kind: 'mining' }), 'domains[0].workload.kind: unknown workload kind'],
  ];
  for (const [what, mutate, line] of bad) {
    it(`exits non-zero with one line per problem for ${what}`, () => {
      const s = structuredClone(minimal) as any;
      mutate(s);
      const r = lab('validate', write(`bad-${what.replace(/\W+/g, '-')}.json`, s));
      expect(r.status).not.toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n').some((l) => l.startsWith(line))).toBe(true);
    });
  }

  it('reports a missing file and broken JSON without a stack trace', () => {
    const missing = lab('validate', join(dir, 'nope.json'));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/cannot read .*nope\.json/);
    const broken = lab('validate', write('broken.json', '{"name":'));
    expect(broken.status).toBe(1);
    expect(broken.stderr).toMatch(/^\(file\): not valid JSON/);
    expect(broken.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });
});

describe('lab run --json', () => {
  it('prints exactly one JSON document with the contract fields, and exits 0', () => {
    const r = lab('run', write('run.json', minimal), '--json');
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(doc.audit).toMatchObject({ ok: true, violations: [] });
    const g = doc.domains.find((d: any) => d.name === 'g1');
    expect(g).toMatchObject({ name: 'g1', mode: 'hap' });
    for (const path of [
      'ops', 'cycles.total', 'cycles.guest', 'cycles.hypervisor', 'cycles.walk', 'tlb.lookups', 'tlb.hits', 'tlb.misses',
      'walk.walks', 'walk.refs', 'walk.refsPerWalk', 'walk.maxRefs', 'vmexits.total', 'hypercalls.total', 'ptUpdates',
      'pageFaults.guest', 'pageFaults.hidden',
    ]) {
      expect(typeof path.split('.').reduce((o: any, k) => o?.[k], g), path).toBe('number');
    }
    expect(typeof g.vmexits.byReason).toBe('object');
    expect(typeof g.hypercalls.byOp).toBe('object');
    // The architectural count, from the formula: 4 guest levels × 4 host levels.
    expect(g.walk.refsPerWalk).toBe((4 + 1) * (4 + 1) - 1);
    // dom0 was created with defaults.
    expect(doc.domains.some((d: any) => d.role === 'dom0')).toBe(true);
  });

  it('prints a readable table without --json', () => {
    const r = lab('run', write('table.json', minimal));
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/g1\s+hap\s+cold-walk/);
    expect(r.stdout).toMatch(/audit: ok/);
  });
});

describe('lab compare', () => {
  it('runs the workload under each mode and says why a mode cannot run', () => {
    const s = structuredClone(minimal) as any;
    s.domains[0].guestPageSize = '2m';
    const r = lab('compare', write('cmp.json', s), '--modes', 'native,pv,shadow,hap', '--json');
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.modes).toEqual(['native', 'shadow', 'hap']);
    expect(doc.skipped[0]).toMatchObject({ mode: 'pv' });
    expect(doc.skipped[0].reason).toMatch(/no superpages/);
    const refs = Object.fromEntries(doc.runs.map((x: any) => [x.mode, x.results.domains.find((d: any) => d.name === 'g1').walk.refsPerWalk]));
    expect(refs).toEqual({ native: 3, shadow: 4, hap: (3 + 1) * (4 + 1) - 1 });
  });

  it('rejects an unknown mode with usage', () => {
    const r = lab('compare', write('cmp2.json', minimal), '--modes', 'pv,turbo');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown mode "turbo"/);
  });
});

describe('examples/', () => {
  it('every example is a valid scenario with a description', () => {
    const files = readdirSync('examples').filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(8);
    for (const f of files) {
      const v = validateScenario(JSON.parse(readFileSync(join('examples', f), 'utf8')));
      expect(v.ok, `${f}: ${JSON.stringify(!v.ok && v.problems)}`).toBe(true);
      if (v.ok) expect(v.scenario.description, f).toBeTruthy();
    }
  });
});

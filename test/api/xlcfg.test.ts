import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { domainSchema, type DomainConfig } from '../../core/api/index.js';
import { parseXlCfg, toXlCfg } from '../../core/api/xlcfg.js';
import { parseWorkloadArgs } from '../../core/api/workloadSpec.js';

function ok(text: string): DomainConfig {
  const r = parseXlCfg(text);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.domain;
}

function problems(text: string) {
  const r = parseXlCfg(text);
  if (r.ok) throw new Error('parsed: ' + JSON.stringify(r.domain));
  return r.problems;
}

describe('xl.cfg: keys and modes', () => {
  it('reads an HVM guest with hap = 1 as mode hap, with comments, blank lines and both quotes', () => {
    const d = ok(`# an HVM guest\n\nname = "g1"   # its name\nmemory = 512\nvcpus = 2\ntype = 'hvm'\nhap = 1\nhost_page_size = "2m"\n`);
    expect(d).toEqual({ name: 'g1', role: 'guest', mode: 'hap', memoryMiB: 512, vcpus: 2, guestPageSize: '4k', hostPageSize: '2m', workload: { kind: 'idle' } });
    expect(domainSchema.safeParse(d).success).toBe(true);
  });

  it('maps type and hap to the paging mode as xl does', () => {
    const mode = (extra: string) => ok(`name="x"\nmemory=64\n${extra}`).mode;
    expect(mode('type="hvm"')).toBe('hap');
    expect(mode('type="hvm"\nhap=1')).toBe('hap');
    expect(mode('type="hvm"\nhap=0')).toBe('shadow');
    expect(mode('type="pv"')).toBe('pv');
    expect(mode('type="pvh"')).toBe('hap');
    expect(mode('')).toBe('pv');
    expect(mode('builder="hvm"\nhap=0')).toBe('shadow');
    expect(mode('type="native"')).toBe('native');
  });

  it('reads Hyperlab keys: page sizes, out-of-sync shadows, the shadow pool and the workload', () => {
    const d = ok(`name="s"; memory=256; type="hvm"; hap=0; guest_page_size="2m"; shadow_out_of_sync=0; shadow_early_unshadow=0; shadow_memory=4\nworkload="update-vs-access 12.5 64 100000 protect"`);
    expect(d).toMatchObject({ mode: 'shadow', guestPageSize: '2m', shadowOutOfSync: false, shadowEarlyUnshadow: false, shadowPoolPages: 1024 });
    expect(d.workload).toEqual({ kind: 'update-vs-access', updatesPerKiloAccess: 12.5, workingSetMiB: 64, accesses: 100000, updateKind: 'protect' });
    expect(ok(`name="w"\nmemory=128\nworkload="random-access accesses=1000 workingSetMiB=8"`).workload).toEqual({ kind: 'random-access', workingSetMiB: 8, accesses: 1000 });
  });

  it('accepts lists over several lines syntactically, says which vif spec lacks its bridge, that backend is not modelled and a disk path is no machine device', () => {
    const p = problems(`name = "g"\nvif = [ 'bridge=xenbr0',\n        'mac=00:16:3e:00:00:01', ]\ndisk = [ "phy:/dev/vg/g,xvda,w" ]\npci = [ "01:00.0" ]\nbackend = "netback"\n`);
    expect(p.map((x) => [x.line, x.path])).toEqual([
      [2, 'vif'],
      [4, 'disk'],
      [6, 'backend'],
    ]);
    // The first vif spec is whole (bridge names the NIC); the second has no bridge.
    expect(p[0]!.message).toBe("vif[1] 'mac=00:16:3e:00:00:01': bridge= is required: the NIC whose bridge the vif joins (the lab names each bridge after its NIC, e.g. bridge=nic0)");
  });
});

describe('xl.cfg: problems name the line and the key', () => {
  it('an unknown key', () => {
    const [p] = problems(`name = "g"\nmemory = 64\nkernel = "/boot/vmlinuz"\n`);
    expect(p).toMatchObject({ line: 3, path: 'kernel' });
    expect(p!.message).toMatch(/^unknown key "kernel"; Hyperlab's xl.cfg knows name, memory, vcpus, type/);
  });

  it('a value of the wrong kind, and a unit suffix xl.cfg does not have', () => {
    expect(problems(`name = "g"\nmemory = "lots"\n`)).toEqual([{ line: 2, path: 'memory', message: 'memory is a whole number, not "lots"' }]);
    expect(problems(`name = "g"\n\nmemory = 512M\n`)).toEqual([{ line: 3, path: 'memory', message: 'syntax error: "512M" is not a number' }]);
    expect(problems(`name = g1\n`)).toEqual([{ line: 1, path: 'name', message: 'syntax error: values are numbers, quoted strings or [lists]: write "g1" in quotes' }]);
  });

  it('syntax errors: a missing "=", an unterminated string, an unclosed list; the rest is still read', () => {
    const p = problems(`name = "g"\nmemory 64\ntype = "hvm\nvif = [ "a"\nvcpus = 1\nbogus = 2\n`);
    expect(p.map((x) => [x.line, x.path])).toEqual([
      [2, 'memory'],
      [3, 'type'],
      [5, 'vif'],
      [6, 'bogus'],
    ]);
    expect(p[0]!.message).toBe('syntax error: expected "=" after memory, found the number 64');
    expect(p[1]!.message).toBe('syntax error: unterminated string (no closing " on this line)');
  });

  it('rules of the domain schema come back on the key that set them', () => {
    expect(problems(`name = "g"\nmemory = 256\ntype = "pv"\nguest_page_size = "2m"\n`)).toEqual([
      { line: 4, path: 'guest_page_size', message: 'PV guests get no superpages: Xen refuses PSE in a PV guest\'s L2/L3 entries, so guestPageSize must be "4k", not "2m"' },
    ]);
    expect(problems(`name = "g"\nmemory = 64\ntype = "hvm"\nshadow_out_of_sync = 1\n`)[0]).toMatchObject({ line: 4, path: 'shadow_out_of_sync' });
    expect(problems(`name = "g"\nmemory = 64\nworkload = "random-access 512 10"\n`)[0]).toMatchObject({ line: 3, path: 'workload' });
    expect(problems(`name = "g"\nmemory = 64\nworkload = "random-access 5 lots"\n`)).toEqual([
      { line: 3, path: 'workload', message: 'accesses: must be an integer from 1 to 100000000 (got "lots")' },
    ]);
  });

  it('impossible combinations: hap on a PV guest, PVH without HAP, no name', () => {
    expect(problems(`name="g"\ntype="pv"\nhap=1\n`)).toEqual([{ line: 3, path: 'hap', message: 'hap applies to HVM guests (type = "hvm"); a PV guest pages directly' }]);
    expect(problems(`name="g"\ntype="pvh"\nhap=0\n`)[0]).toMatchObject({ line: 3, path: 'hap' });
    expect(problems(`memory = 64\n`)).toEqual([{ line: 0, path: 'name', message: 'name is required (name = "...")' }]);
    expect(problems(`name="g"\ntype="xen"\n`)).toEqual([{ line: 2, path: 'type', message: 'type must be one of "pv", "hvm", "pvh", "native", not "xen"' }]);
  });

  it('a later assignment replaces an earlier one, as in xl', () => {
    expect(ok(`name="a"\nmemory=64\nmemory=128\n`).memoryMiB).toBe(128);
  });
});

const PAGE = ['4k', '2m', '1g'] as const;

/** Any valid domain, in its parsed form (defaults applied). */
const arbDomain: fc.Arbitrary<DomainConfig> = fc
  .record({
    mode: fc.constantFrom('native', 'pv', 'shadow', 'hap' as const),
    g: fc.constantFrom(...PAGE),
    h: fc.constantFrom(...PAGE),
    k: fc.integer({ min: 32, max: 2048 }),
    vcpus: fc.integer({ min: 1, max: 64 }),
    name: fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.-]{0,31}$/),
    oos: fc.option(fc.boolean(), { nil: undefined }),
    pool: fc.option(fc.oneof(fc.integer({ min: 16, max: 100_000 }), fc.integer({ min: 1, max: 64 }).map((m) => m * 256)), { nil: undefined }),
    workload: fc.oneof(
      fc.constant({ kind: 'idle' as const }),
      fc.record({ kind: fc.constant('random-access' as const), workingSetMiB: fc.integer({ min: 1, max: 16 }), accesses: fc.integer({ min: 1, max: 100_000_000 }) }),
      fc.record({
        kind: fc.constant('update-vs-access' as const),
        updatesPerKiloAccess: fc.double({ min: 0, max: 1000, noNaN: true }),
        workingSetMiB: fc.integer({ min: 1, max: 16 }),
        accesses: fc.integer({ min: 1, max: 1000 }),
        updateKind: fc.constantFrom('populate', 'protect', 'unmap', 'mix' as const),
      }),
      fc.record({ kind: fc.constant('fork-exit' as const), forks: fc.integer({ min: 1, max: 100_000 }), residentMiB: fc.integer({ min: 1, max: 16 }) }),
      fc.record({ kind: fc.constant('cold-walk' as const), pages: fc.integer({ min: 1, max: 100_000 }) }),
    ),
  })
  .map(({ mode, g, h, k, vcpus, name, oos, pool, workload }) => {
    const guestPageSize = mode === 'pv' ? '4k' : mode === 'shadow' && g === '1g' ? '2m' : g;
    const hostPageSize = mode === 'hap' ? h : '4k';
    let memoryMiB = k * 2;
    if (hostPageSize === '1g') memoryMiB = 1024 * (1 + (k % 3));
    if (guestPageSize === '1g') memoryMiB = Math.max(memoryMiB, 2048);
    return domainSchema.parse({
      name,
      mode,
      memoryMiB,
      vcpus,
      guestPageSize,
      hostPageSize,
      ...(mode === 'shadow' && oos !== undefined ? { shadowOutOfSync: oos } : {}),
      ...(mode === 'shadow' && pool !== undefined ? { shadowPoolPages: pool } : {}),
      workload,
    });
  });

describe('xl.cfg: round trip', () => {
  it('parseXlCfg(toXlCfg(d)) is d, for every mode and page size', () => {
    fc.assert(
      fc.property(arbDomain, (d) => {
        const text = toXlCfg(d);
        const r = parseXlCfg(text);
        if (!r.ok) throw new Error(`${text}\n${JSON.stringify(r.problems)}`);
        expect(r.domain).toEqual(d);
        expect(domainSchema.safeParse(r.domain).success).toBe(true);
        const again = parseXlCfg(toXlCfg(r.domain));
        expect(again).toEqual(r);
      }),
      { numRuns: 400 },
    );
  });

  it('every mode and page-size combination the schema allows is covered', () => {
    const seen = new Set<string>();
    fc.assert(fc.property(arbDomain, (d) => void seen.add(`${d.mode}/${d.guestPageSize}/${d.hostPageSize}`)), { numRuns: 1500 });
    expect([...seen].sort()).toEqual(
      ['hap/1g/1g', 'hap/1g/2m', 'hap/1g/4k', 'hap/2m/1g', 'hap/2m/2m', 'hap/2m/4k', 'hap/4k/1g', 'hap/4k/2m', 'hap/4k/4k', 'native/1g/4k', 'native/2m/4k', 'native/4k/4k', 'pv/4k/4k', 'shadow/2m/4k', 'shadow/4k/4k'].sort(),
    );
  });

  it('toXlCfg writes what an xl user reads', () => {
    const d = domainSchema.parse({ name: 'g2', mode: 'shadow', memoryMiB: 512, vcpus: 1, shadowOutOfSync: false, workload: { kind: 'random-access', workingSetMiB: 64, accesses: 100000 } });
    expect(toXlCfg(d)).toBe(
      [
        '# g2: mode shadow (Hyperlab)',
        'name = "g2"',
        'type = "hvm"',
        'hap = 0',
        'memory = 512',
        'vcpus = 1',
        'guest_page_size = "4k"',
        'host_page_size = "4k"',
        'shadow_out_of_sync = 0',
        'workload = "random-access workingSetMiB=64 accesses=100000"',
        '',
      ].join('\n'),
    );
  });
});

describe('workload arguments', () => {
  it('takes parameters in schema order, or by name', () => {
    expect(parseWorkloadArgs(['random-access', '512', '1000000'])).toEqual({ ok: true, workload: { kind: 'random-access', workingSetMiB: 512, accesses: 1000000 } });
    expect(parseWorkloadArgs(['context-switch', 'processes=4', 'switches=10'])).toEqual({ ok: true, workload: { kind: 'context-switch', switches: 10, processes: 4, sizeKiB: 0 } });
    // A parameter left out takes its default (lat_ctx -s 0: no working set).
  });

  it('says which parameter is wrong and why', () => {
    const r = parseWorkloadArgs(['random-access', '0']);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual([
      { path: 'workingSetMiB', message: 'must be an integer from 1 to 65536 (got "0")' },
      { path: 'accesses', message: 'missing (an integer from 1 to 100000000)' },
    ]);
  });
});

/**
 * xl migrate in dom0's console (tools/xl/xl_migrate.c: `xl migrate [options] <Domain> <host>`):
 * the scenario's migrationTarget is the one host it knows; the rounds go to the log as they run.
 */
import { describe, expect, it } from 'vitest';
import { boot, lines, scenario } from './toolstackHelpers.js';

function lab(withTarget = true) {
  return boot(
    scenario({
      machine: { memoryMiB: 1024, pcpus: 1 },
      hypervisor: 'xen',
      domains: [{ name: 'g', mode: 'hap', memoryMiB: 32, vcpus: 1, cap: 2, workload: { kind: 'random-access', workingSetMiB: 1, accesses: 10_000_000 } }],
      ...(withTarget ? { migrationTarget: { memoryMiB: 1024, pcpus: 1, linkMbps: 1000 } } : {}),
    } as never),
  );
}

describe('xl migrate', () => {
  it('starts a live migration to "target"; the log shows each round, the stop-and-copy and the resume', () => {
    const b = lab();
    const out = lines(b.cmd('dom0', 'xl migrate g target'));
    expect(out).toEqual([expect.stringMatching(/^migration sender: domain \d+ \(g\): live migration to the target started \(1000 Mbit\/s link\)$/)]);
    b.runToEnd();
    const log = b.hub['logLines'] as string[];
    const text = log.join('\n');
    expect(text).toMatch(/migrate g: round 1: 8192 pages/);
    expect(text).toMatch(/migrate g: stop-and-copy/);
    expect(text).toMatch(/migrate g: running on the target as domain \d+/);
    const r = b.sim.results();
    expect(r.domains.find((d) => d.name === 'g')!.host).toBe('target');
  });

  it('refuses usage errors, unknown hosts and domains, dom0, and a scenario without a target', () => {
    const b = lab();
    expect(b.cmd('dom0', 'xl migrate g')).toMatch(/^Usage: xl \[-v\] migrate/);
    expect(b.cmd('dom0', 'xl migrate g elsewhere')).toMatch(/unknown host \(the lab's one migration target is "target"\)/);
    expect(b.cmd('dom0', 'xl migrate nosuch target')).toMatch(/nosuch/);
    expect(b.cmd('dom0', 'xl migrate Domain-0 target')).toMatch(/^migrate: migration of Domain-0 refused: .*dom0/);
    const n = lab(false);
    expect(n.cmd('dom0', 'xl migrate g target')).toMatch(/^migrate: no migration target/);
  });
});

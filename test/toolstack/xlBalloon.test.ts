/**
 * xl mem-set / mem-max in dom0's console (xl_mem.c, libxl_mem.c), and what xl list, xl info,
 * xenstore and the guest's own `free` show of ballooning. 1 MiB = 256 pages.
 */
import { describe, expect, it } from 'vitest';
import { memInfo } from '../../core/toolstack/procTools.js';
import { boot, lines, scenario } from './toolstackHelpers.js';

const MIB = 256;

function balloonBoot(mode: 'pv' | 'hap') {
  return boot(
    scenario({
      machine: { memoryMiB: 1024, pcpus: 1 },
      hypervisor: 'xen',
      domains: [{ name: 'g', mode, memoryMiB: 64, maxMemoryMiB: 96, vcpus: 1 }],
      // A timeline gives the guests their xenstore rings; this entry leaves the target where it is.
      timeline: [{ atMs: 0, do: 'mem-set', domain: 'g', memoryMiB: 64 }],
    }),
  );
}

const field = (out: string, key: string) => Number(lines(out).find((l) => l.startsWith(key.padEnd(23)))!.split(':')[1]);

describe('xl mem-set', () => {
  for (const mode of ['pv', 'hap'] as const) {
    it(`${mode}: moves xl list's Mem, xl info's free_memory, memory/target and the guest's free by the pages the balloon moved`, () => {
      const b = balloonBoot(mode);
      b.runToEnd();
      const g = b.sim.domains.find((d) => d.name === 'g')!;
      const free0 = b.sim.xen.freeFrames;
      const ept0 = g.dom.hap?.tableFrames.length ?? 0;
      const total0 = memInfo(g.kernel).total;
      expect(field(b.cmd('dom0', 'xl info'), 'free_memory')).toBe(Math.floor(free0 / MIB));

      expect(b.cmd('dom0', 'xl mem-set g 40')).toBe('');
      expect(b.kicks).toBeGreaterThan(0);
      b.runToEnd();
      expect(b.cmd('dom0', `xenstore-read /local/domain/${g.domid}/memory/target`)).toBe(`${40 * 1024}\n`);
      const row = lines(b.cmd('dom0', 'xl list g'))[1]!;
      expect(row.slice(46, 52).trim()).toBe(String(Math.floor(b.sim.xen.totPages(g.dom) / MIB)));
      expect(row.slice(46, 52).trim()).toBe('40');
      const ept1 = g.dom.hap?.tableFrames.length ?? 0;
      expect(field(b.cmd('dom0', 'xl info'), 'free_memory')).toBe(Math.floor((free0 + 24 * MIB - (ept1 - ept0)) / MIB));
      // free -k: totalram went down by the 6144 pages given to Xen (4 KiB each).
      const mem = lines(b.cmd('g', 'free -k'))[1]!;
      expect(Number(mem.slice(7, 19))).toBe((total0 - 24 * MIB) * 4);

      expect(b.cmd('dom0', 'xl mem-set g 96m')).toBe('');
      b.runToEnd();
      expect(lines(b.cmd('dom0', 'xl list g'))[1]!.slice(46, 52).trim()).toBe('96');
      expect(Number(lines(b.cmd('g', 'free -k'))[1]!.slice(7, 19))).toBe((total0 + 32 * MIB) * 4);
      expect(b.sim.results().audit.ok).toBe(true);
    });
  }

  it('refuses above maxmem with libxl’s message, and bad sizes with xl’s', () => {
    const b = balloonBoot('hap');
    b.runToEnd();
    const g = b.sim.domains.find((d) => d.name === 'g')!;
    expect(b.cmd('dom0', 'xl mem-set g 97')).toBe(`libxl: error: libxl_mem.c: Domain ${g.domid}:memory_dynamic_max must be less than or equal to memory_static_max (g: static-max 96 MiB, asked 97 MiB)\n`);
    expect(b.cmd('dom0', 'xl mem-set g 1g')).toMatch(/memory_dynamic_max must be less than or equal to memory_static_max/);
    expect(b.cmd('dom0', 'xl mem-set g 40x')).toBe('invalid memory size: 40x\n');
    expect(b.cmd('dom0', 'xl mem-set nosuch 40')).toMatch(/^nosuch is an invalid domain identifier/);
    expect(b.cmd('dom0', 'xl mem-set g')).toMatch(/^Usage: xl \[-v\] mem-set <Domain> <MemMB/);
    expect(b.cmd('dom0', `xenstore-read /local/domain/${g.domid}/memory/target`)).toBe(`${64 * 1024}\n`);
    expect(b.cmd('dom0', 'xl mem-max g 32')).toBe(
      `libxl: error: libxl_mem.c: Domain ${g.domid}:memory_static_max must be greater than or or equal to memory_dynamic_max (g: target 64 MiB, asked 32 MiB)\ncannot set domid ${g.domid} static max memory to : 32\n`,
    );
    expect(b.cmd('dom0', 'xl mem-max g 80')).toBe('');
    expect(g.dom.maxPages).toBe(80 * MIB + MIB); // plus LIBXL_MAXMEM_CONSTANT (1 MiB)
  });

  it('a scenario without xenstore rings says why it cannot balloon', () => {
    const b = boot(scenario({ machine: { memoryMiB: 1024, pcpus: 1 }, hypervisor: 'xen', domains: [{ name: 'g', mode: 'pv', memoryMiB: 64, vcpus: 1 }] }));
    expect(b.cmd('dom0', 'xl mem-set g 32')).toMatch(/^xl: g has no xenstore connection for its balloon driver/);
  });
});

import { describe, expect, it } from 'vitest';
import { CLOCK_HZ, XEN_RESERVED_MIB } from '../../core/api/index.js';
import { auditMachine } from '../../core/vm/audit.js';
import { C } from '../../core/machine/counters.js';
import { boot, lines, threeGuests } from './toolstackHelpers.js';

/** xl's header (tools/xl/xl_info.c: "Name", 40 spaces, "ID   Mem VCPUs\tState\tTime(s)"), tabs at 8 columns. */
const HEADER = 'Name' + ' '.repeat(40) + 'ID   Mem VCPUs' + ' '.repeat(6) + 'State' + ' '.repeat(3) + 'Time(s)';
/** An xl list row, columns as xl prints them: %-40s %5d %5lu %5d     %s  %8.1f. */
const row = (name: string, id: number, mem: number, vcpus: number, state: string, time = '0.0') =>
  name.padEnd(40) + String(id).padStart(6) + String(mem).padStart(6) + String(vcpus).padStart(6) + '     ' + state + time.padStart(10);

function info(out: string): Record<string, string> {
  return Object.fromEntries(lines(out).map((l) => [l.slice(0, 23).trim(), l.slice(25)]));
}

describe('xl list', () => {
  it('puts each value under the end of its header, as xl does', () => {
    const [head, dom0] = lines(boot(threeGuests()).cmd('dom0', 'xl list'));
    for (const [col, value] of [['ID', '0'], ['Mem', '512'], ['VCPUs', '1']] as const) {
      const end = head!.indexOf(col) + col.length;
      expect(dom0!.slice(end - value.length, end)).toBe(value);
    }
  });

  it('shows every domain with xl\'s columns, memory and vCPUs from the scenario, state letters', () => {
    const b = boot(threeGuests());
    expect(lines(b.cmd('dom0', 'xl list'))).toEqual([
      HEADER,
      row('Domain-0', 0, 512, 1, 'r-----'),
      row('g1', 1, 256, 1, '-b----'),
      row('g2', 2, 512, 2, '-b----'),
      row('g3', 3, 256, 1, '-b----'),
    ]);
    expect(lines(b.cmd('dom0', 'xl list g2 1'))).toEqual([HEADER, row('g2', 2, 512, 2, '-b----'), row('g1', 1, 256, 1, '-b----')]);
  });

  it("Time(s) is the domain's simulated CPU time at 3 GHz, and a domain with work shows r", () => {
    const b = boot(threeGuests());
    b.cmd('g3', 'run kernel-build 2000');
    const g3 = b.sim.domains.find((d) => d.name === 'g3')!;
    while (g3.dom.cpuCycles < 0.25 * CLOCK_HZ) b.sim.step(4);
    const r = lines(b.cmd('dom0', 'xl list g3'))[1];
    expect(r).toBe(row('g3', 3, 256, 1, 'r-----', (g3.dom.cpuCycles / CLOCK_HZ).toFixed(1)));
  });

  it('names no domain: the invalid-identifier message, and a bad option gives the usage', () => {
    const b = boot(threeGuests());
    expect(b.cmd('dom0', 'xl list nope')).toBe('nope is an invalid domain identifier (rc=-6)\n');
    expect(b.cmd('dom0', 'xl list -z')).toBe('Usage: xl [-v] list [options] [Domain]\n\nList information about all/some domains.\n\nOptions:\n\n-h  Print this help.\n');
  });
});

describe('xl info', () => {
  it('reports the host: cpus, total and free memory from the scenario, Xen version and capabilities', () => {
    const b = boot(threeGuests());
    const i = info(b.cmd('dom0', 'xl info'));
    const g2 = b.sim.domains.find((d) => d.name === 'g2')!;
    const usedFrames = (XEN_RESERVED_MIB + 512 + 256 + 512 + 256) * 256 + (256 * 1 + 2 * 256) + g2.dom.hap!.tableFrames.length;
    expect(i).toMatchObject({
      host: 'hyperlab',
      machine: 'x86_64',
      nr_cpus: '2',
      max_cpu_id: '1',
      total_memory: '2048',
      free_memory: String(Math.floor((2048 * 256 - usedFrames) / 256)),
      virt_caps: 'pv hvm hap shadow',
      xen_caps: 'xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64',
      xen_version: '4.17.0-hyperlab',
      xen_major: '4',
      xen_minor: '17',
      xen_pagesize: '4096',
      cpu_mhz: '3000.000',
    });
    expect(lines(b.cmd('dom0', 'xl info'))[0]).toBe('host                   : hyperlab');
  });
});

describe('xl destroy', () => {
  it('removes the domain from xl list and free_memory grows by exactly its memory', () => {
    const b = boot(threeGuests());
    const free0 = Number(info(b.cmd('dom0', 'xl info')).free_memory);
    const g1 = b.sim.domains.find((d) => d.name === 'g1')!;
    const changes = b.changes;
    expect(b.cmd('dom0', 'xl destroy g1')).toBe('');
    expect(lines(b.cmd('dom0', 'xl list')).map((l) => l.split(' ')[0])).toEqual(['Name', 'Domain-0', 'g2', 'g3']);
    expect(Number(info(b.cmd('dom0', 'xl info')).free_memory) - free0).toBe(g1.config.memoryMiB);
    expect(b.changes).toBe(changes + 1);
    expect(b.hub.consoles()).toEqual(['xen', 'dom0', 'g2', 'g3']);
    expect(b.raw.g1!.endsWith('\r\n[domain g1 (domid 1) destroyed: console closed]\r\n')).toBe(true);
    expect(b.raw.xen).toContain(`d1: destroyed "g1" (pv): ${256 * 256} pages returned to the heap`);
    expect(auditMachine(b.sim.xen, b.sim.domains)).toMatchObject({ ok: true, violations: [] });
  });

  it('a shadow domain gives back its memory and its shadow pool; by domid too', () => {
    const b = boot(threeGuests());
    const before = b.sim.freeFrames;
    b.cmd('dom0', 'xl destroy 3');
    expect(b.sim.freeFrames - before).toBe(256 * 256 + 256 * 1 + 2 * 256);
    expect(b.raw.xen).toContain(`d3: destroyed "g3" (shadow): ${256 * 256} pages and ${256 + 2 * 256} Xen pages (shadow pool) returned to the heap`);
  });

  it('bad usage and dom0', () => {
    const b = boot(threeGuests());
    expect(b.cmd('dom0', 'xl destroy')).toBe(
      'Usage: xl [-v] destroy [options] <Domain>\n\nTerminate a domain immediately.\n\nOptions:\n\n-h  Print this help.\n-f  Permit destroying domain 0 (not in Hyperlab: it runs this shell).\n',
    );
    expect(b.cmd('dom0', 'xl destroy g1 g2')).toMatch(/^Usage: xl \[-v\] destroy/);
    expect(b.cmd('dom0', 'xl destroy nope')).toBe('nope is an invalid domain identifier (rc=-6)\n');
    expect(b.cmd('dom0', 'xl destroy Domain-0')).toBe('Not destroying domain 0; use -f to force.\n');
    expect(b.sim.domains.length).toBe(4);
  });
});

describe('xl pause / unpause', () => {
  it('a paused domain shows p and its workload stops; unpaused it finishes', () => {
    const b = boot(threeGuests());
    b.cmd('g2', 'run random-access 16 400000');
    b.sim.step(3);
    const g2 = b.sim.domains.find((d) => d.name === 'g2')!;
    expect(b.cmd('dom0', 'xl pause g2')).toBe('');
    expect(lines(b.cmd('dom0', 'xl list g2'))[1]).toBe(row('g2', 2, 512, 2, '--p---', (g2.dom.cpuCycles / CLOCK_HZ).toFixed(1)));
    const ops = g2.counters.c[C.Ops];
    b.sim.step(20);
    expect(g2.counters.c[C.Ops]).toBe(ops);
    const kicks = b.kicks;
    expect(b.cmd('dom0', 'xl unpause g2')).toBe('');
    expect(b.kicks).toBe(kicks + 1);
    expect(lines(b.cmd('dom0', 'xl list g2'))[1]).toContain('r-----');
    b.runToEnd();
    expect(g2.counters.c[C.Ops]).toBe(400000);
    expect(b.raw.xen).toMatch(/d2: paused "g2" \(hap\): its vCPUs are descheduled\r\n.*d2: unpaused "g2" \(hap\)\r\n/s);
  });

  it('usage, unknown domains, and dom0', () => {
    const b = boot(threeGuests());
    expect(b.cmd('dom0', 'xl pause')).toBe('Usage: xl [-v] pause <Domain>\n\nPause execution of a domain.\n');
    expect(b.cmd('dom0', 'xl unpause x y')).toBe('Usage: xl [-v] unpause <Domain>\n\nUnpause a paused domain.\n');
    expect(b.cmd('dom0', 'xl unpause 9')).toBe('9 is an invalid domain identifier (rc=-6)\n');
    expect(b.cmd('dom0', 'xl pause 0')).toBe('xl: pausing domain 0 would stop this shell; Hyperlab does not allow it\n');
  });
});

describe('xl create', () => {
  it('inline xl.cfg settings build a domain: it is listed, logged, has a console, and uses memory', () => {
    const b = boot(threeGuests());
    const before = b.sim.freeFrames;
    expect(b.cmd('dom0', 'xl create name="g9" memory=256 type="hvm" hap=1')).toBe('Parsing config from (command line)\n');
    const g9 = b.sim.domains.find((d) => d.name === 'g9')!;
    expect(g9).toMatchObject({ domid: 4, mode: 'hap' });
    expect(lines(b.cmd('dom0', 'xl list')).at(-1)).toBe(row('g9', 4, 256, 1, 'r-----'));
    expect(before - b.sim.freeFrames).toBe(256 * 256 + g9.dom.hap!.tableFrames.length);
    expect(Number(info(b.cmd('dom0', 'xl info')).free_memory)).toBe(Math.floor(b.sim.freeFrames / 256));
    expect(b.hub.consoles()).toEqual(['xen', 'dom0', 'g1', 'g2', 'g3', 'g9']);
    expect(b.raw.g9).toContain('Hypervisor detected: Xen HVM');
    expect(b.raw.g9!.endsWith('root@g9:~# ')).toBe(true);
    expect(b.cmd('dom0', 'xl dmesg')).toContain('d4: created "g9": 256 MiB (65536 pages), 1 vCPU, HVM, HAP/EPT nested paging');
    expect(auditMachine(b.sim.xen, b.sim.domains)).toMatchObject({ ok: true, violations: [] });
  });

  it('from a built-in example, with overrides after it; a workload in the config starts', () => {
    const b = boot(threeGuests());
    expect(b.cmd('dom0', 'ls /etc/xen')).toBe('xlexample.hvm  xlexample.pvlinux  xlexample.pvhlinux  xlexample.shadow\n');
    const kicks = b.kicks;
    expect(b.cmd('dom0', 'xl create xlexample.shadow name=s1 memory=128')).toBe('Parsing config from /etc/xen/xlexample.shadow\n');
    const s1 = b.sim.domains.find((d) => d.name === 's1')!;
    expect(s1).toMatchObject({ mode: 'shadow' });
    expect(s1.config.memoryMiB).toBe(128);
    expect(b.kicks).toBeGreaterThan(kicks);
    expect(b.sim.jobs.some((j) => j.d === s1 && j.workload.kind === 'update-vs-access')).toBe(true);
  });

  it('parse errors name the line and key; libxl errors name the field', () => {
    const b = boot(threeGuests());
    expect(b.cmd('dom0', 'xl create name=x memory=abc')).toBe(
      'Parsing config from (command line)\n(command line) memory = "abc": config parsing error near `memory\': memory is a whole number, not "abc"\nFailed to parse config: Invalid argument\n',
    );
    expect(b.cmd('dom0', 'xl create /etc/xen/xlexample.hvm kernel=/boot/vmlinuz')).toMatch(
      /^Parsing config from \/etc\/xen\/xlexample.hvm\n\(command line\) kernel = "\/boot\/vmlinuz": config parsing error near `kernel': unknown key "kernel"/,
    );
    expect(b.cmd('dom0', 'xl create name=g1 memory=64')).toBe(
      'Parsing config from (command line)\nlibxl: error: libxl_create.c: domain "g1": name: domain name "g1" is already in use by domain 1; choose another name\n',
    );
    expect(b.cmd('dom0', 'xl create name=huge memory=4096')).toMatch(/libxl: error: libxl_create.c: domain "huge": memory: huge needs 1048576 frames \(4096 MiB\) but only \d+ frames/);
    expect(b.cmd('dom0', 'xl create /etc/xen/missing.cfg')).toBe('Failed to read config file: /etc/xen/missing.cfg: No such file or directory\n');
    expect(b.cmd('dom0', 'xl create')).toMatch(/^Usage: xl \[-v\] create \[options\] \[<ConfigFile>\] \[vars\]\n\nCreate a domain/);
    expect(b.sim.domains.length).toBe(4);
  });

  it('-n parses and prints the config without creating anything', () => {
    const b = boot(threeGuests());
    expect(b.cmd('dom0', 'xl create -n name=t memory=64 type=pvh')).toBe(
      'Parsing config from (command line)\n# t: mode hap (Hyperlab)\nname = "t"\ntype = "hvm"\nhap = 1\nmemory = 64\nvcpus = 1\nguest_page_size = "4k"\nhost_page_size = "4k"\nworkload = "idle"\n',
    );
    expect(b.sim.domains.length).toBe(4);
  });

  it('destroy then create reuses the memory and the auditor passes', () => {
    const b = boot(threeGuests());
    b.cmd('dom0', 'xl destroy g1');
    b.cmd('dom0', 'xl destroy g3');
    b.cmd('dom0', 'xl create name=p2 memory=256 type=pv workload="fork-exit 20 4"');
    b.cmd('dom0', 'xl create name=s2 memory=256 type=hvm hap=0 workload="mmap-churn 20 8"');
    expect(auditMachine(b.sim.xen, b.sim.domains)).toMatchObject({ ok: true, violations: [] });
    b.runToEnd();
    expect(auditMachine(b.sim.xen, b.sim.domains)).toMatchObject({ ok: true, violations: [] });
    expect(b.raw.p2).toContain('init: fork-exit finished: 20 ops');
  });
});

describe('xl console, dmesg, help and the shell around them', () => {
  it('xl console asks the UI to switch, and says so', () => {
    const b = boot(threeGuests());
    expect(b.cmd('dom0', 'xl console g3')).toBe('xl: switching to the console of g3 (domid 3)\n');
    expect(b.switched).toEqual(['g3']);
    expect(b.cmd('dom0', 'xl console Domain-0')).toBe('xl: switching to the console of Domain-0 (domid 0)\n');
    expect(b.switched).toEqual(['g3', 'dom0']);
    expect(b.cmd('dom0', 'xl console')).toMatch(/^Usage: xl \[-v\] console \[options\] <Domain>/);
    const nohook = boot(threeGuests(), { switchHook: false });
    expect(nohook.cmd('dom0', 'xl console g1')).toBe('xl: this terminal cannot switch consoles; open the console of g1\n');
  });

  it('xl dmesg prints the hypervisor log; -c clears it', () => {
    const b = boot(threeGuests());
    const log = lines(b.cmd('dom0', 'xl dmesg'));
    expect(log[0]).toBe('(XEN) [    0.000000] Xen version 4.17.0-hyperlab (root@hyperlab) (gcc (Hyperlab) 12.2.0) debug=n  Hyperlab 0.1.0');
    expect(log.every((l) => /^\(XEN\) \[ *\d+\.\d{6}\] /.test(l))).toBe(true);
    expect(log).toContain('(XEN) [    0.000000] HVM: Hardware Assisted Paging (HAP) detected');
    expect(log).toContain('(XEN) [    0.000000] Brought up 2 CPUs');
    expect(log.some((l) => l.includes('Dom0 alloc.: 131072 pages (512 MiB)'))).toBe(true);
    expect(log.some((l) => l.includes('d3: created "g3": 256 MiB (65536 pages), 1 vCPU, HVM, shadow paging (pool 768 pages'))).toBe(true);
    expect(b.raw.xen!.replace(/\r\n/g, '\n')).toBe(log.join('\n') + '\n');
    b.cmd('dom0', 'xl dmesg -c');
    expect(b.cmd('dom0', 'xl dmesg')).toBe('');
    expect(b.cmd('dom0', 'xl dmesg -x')).toBe('Usage: xl [-v] dmesg [-c]\n\nRead and/or clear dmesg buffer.\n\nOptions:\n\n-c  Clear dmesg buffer as well as printing it\n');
  });

  it("the hypervisor console takes Xen's debug keys and lists consoles before and after boot", () => {
    const b = boot(threeGuests());
    const out = b.keys('xen', 'q');
    expect(out).toContain('General information for domain 2: "g2", running\r\n');
    expect(out).toContain('paging: HAP/EPT nested paging, guest 4k pages, host 2m pages, 19 refs per TLB miss');
    expect(b.keys('xen', 'm')).toContain(`${2048 * 256} pages, ${b.sim.freeFrames} free`);
    expect(b.keys('xen', 'z')).toBe('');
    expect(b.hub.consoles()).toEqual(['xen', 'dom0', 'g1', 'g2', 'g3']);
  });

  it('unknown commands and subcommands', () => {
    const b = boot(threeGuests());
    expect(b.cmd('dom0', 'foo')).toBe('-bash: foo: command not found\n');
    expect(b.cmd('dom0', 'foo bar "baz')).toBe("-bash: unexpected EOF while looking for matching `\"'\n");
    expect(b.cmd('dom0', 'xl frobnicate')).toMatch(/^command not implemented\nUsage xl \[-v\] <subcommand> \[args\]\n\nxl full list of subcommands:\n\n create {14}Create a domain/);
    expect(b.cmd('dom0', 'xl')).toMatch(/^Usage xl/);
    expect(b.cmd('dom0', 'xl help destroy')).toMatch(/^Usage: xl \[-v\] destroy/);
    expect(b.cmd('dom0', 'xl list -h')).toMatch(/^Usage: xl \[-v\] list/);
    expect(b.cmd('g1', 'xl list')).toBe('-bash: xl: command not found\n');
  });
});

describe('xenstore', () => {
  it('holds each domain\'s nodes; dom0 reads and writes anywhere', () => {
    const b = boot(threeGuests());
    expect(b.cmd('dom0', 'xenstore-read /local/domain/2/name /local/domain/2/memory/target')).toBe(`g2\n${512 * 1024}\n`);
    expect(b.cmd('dom0', 'xenstore-read /local/domain/0/vm')).toBe('/vm/00000000-0000-0000-0000-000000000000\n');
    const ls = lines(b.cmd('dom0', 'xenstore-ls /local/domain/1'));
    expect(ls.slice(0, 6)).toEqual(['vm = "' + b.cmd('dom0', 'xenstore-read /local/domain/1/vm').trim() + '"', 'name = "g1"', 'domid = "1"', 'memory = ""', ' static-max = "262144"', ' target = "262144"']);
    expect(ls).toContain(' tty = "/dev/pts/1"');
    expect(b.cmd('dom0', 'xenstore-write /local/domain/1/data/greeting hello')).toBe('');
    expect(b.cmd('g1', 'xenstore-read /local/domain/1/data/greeting')).toBe('hello\n');
    expect(b.cmd('dom0', 'xenstore-read /nope')).toBe("xenstore-read: couldn't read path /nope\n");
    expect(b.cmd('dom0', 'xenstore-write /a')).toBe('Usage: xenstore-write [-h] key value [...]\n');
  });

  it('a guest reads its own nodes only, and cannot rewrite what the toolstack set', () => {
    const b = boot(threeGuests());
    expect(b.cmd('g1', 'xenstore-read /local/domain/1/name')).toBe('g1\n');
    expect(b.cmd('g1', 'xenstore-read /local/domain/2/name')).toBe("xenstore-read: couldn't read path /local/domain/2/name\n");
    expect(b.cmd('g1', 'xenstore-write /local/domain/1/name evil')).toBe('xenstore-write: could not write path /local/domain/1/name: Permission denied\n');
    expect(b.cmd('g1', 'xenstore-write /local/domain/1/data/x 1')).toBe('');
    expect(b.cmd('g1', 'xenstore-ls /local/domain/2')).toBe('xenstore-ls: xs_directory (/local/domain/2): Permission denied\n');
  });

  it("a destroyed domain's nodes go", () => {
    const b = boot(threeGuests());
    b.cmd('dom0', 'xl destroy g1');
    expect(b.cmd('dom0', 'xenstore-read /local/domain/1/name')).toBe("xenstore-read: couldn't read path /local/domain/1/name\n");
    expect(b.cmd('dom0', 'xenstore-list /local/domain')).toBe('0\n2\n3\n');
  });
});

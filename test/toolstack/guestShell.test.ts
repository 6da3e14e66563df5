import { describe, expect, it } from 'vitest';
import { CLOCK_HZ } from '../../core/api/index.js';
import { auditMachine } from '../../core/vm/audit.js';
import { C } from '../../core/machine/counters.js';
import { domainResults } from '../../core/sim/simulation.js';
import { stamp } from '../../core/toolstack/bootLog.js';
import { boot, lines, scenario, threeGuests } from './toolstackHelpers.js';

const plain = (s: string) => s.replace(/\r\n/g, '\n');

describe('boot logs', () => {
  it('each guest console says what its kernel found: Xen PV, Xen HVM with shadow or HAP, page sizes and walk length', () => {
    const b = boot(threeGuests());
    const g1 = plain(b.raw.g1!);
    expect(g1).toContain('] Booting paravirtualized kernel on Xen\n');
    expect(g1).toContain('Xen PV direct paging');
    expect(g1).toContain('page sizes: 4K only (Xen PV: no superpages); 4 memory references per TLB miss');
    const p2m0 = b.sim.domains[1]!.dom.p2m[0]!;
    expect(g1).toContain(`Xen: p2m: 65536 pfn->mfn entries (pfn 0 -> mfn 0x${p2m0.toString(16)})`);
    const g2 = plain(b.raw.g2!);
    expect(g2).toContain('] Hypervisor detected: Xen HVM\n');
    expect(g2).toContain('hardware-assisted paging (HAP, EPT)');
    expect(g2).toContain('2D walk: guest 4 levels x host 3 levels = (4+1)(3+1)-1 = 19 memory references per TLB miss');
    expect(g2).toContain('page sizes: guest 4K, host (EPT) 2M');
    expect(g2).toContain('smpboot: Allowing 2 CPUs');
    const g3 = plain(b.raw.g3!);
    expect(g3).toContain('Xen HVM shadow paging');
    expect(g3).toContain('out-of-sync L1 shadows on');
    expect(g3).toContain(`Memory: ${b.sim.domains[3]!.kernel.nrUsable * 4}K/${256 * 1024}K available`);
    expect(g3).not.toContain('EPT');
    expect(plain(b.raw.dom0!)).toContain('privileged (dom0)');
  });

  it('lines are stamped like printk from simulated cycles at 3 GHz, and end at a prompt', () => {
    const b = boot(threeGuests());
    const dom0 = b.sim.domains[0]!;
    const log = lines(plain(b.raw.dom0!)).filter((l) => l.startsWith('['));
    expect(log.every((l) => /^\[ {0,4}\d+\.\d{6}\] \S/.test(l))).toBe(true);
    expect(log[0]!.startsWith('[    0.000000] Linux version 6.1.0-hyperlab')).toBe(true);
    // The last boot line is stamped when the boot's simulated cycles are spent.
    expect(log.at(-1)).toBe(`${stamp(dom0.dom.bootCycles / CLOCK_HZ)}Run /sbin/init as init process`);
    expect(dom0.dom.bootCycles).toBeGreaterThan(0);
    expect(b.raw.dom0!.endsWith('root@hyperlab:~# ')).toBe(true);
    expect(b.raw.g2!.endsWith('root@g2:~# ')).toBe(true);
  });

  it('native and KVM guests say so, and there is no xenstore without Xen', () => {
    const n = boot(scenario({ machine: { memoryMiB: 1024, pcpus: 1 }, hypervisor: 'none', domains: [{ name: 'bare', mode: 'native', memoryMiB: 256, vcpus: 1, guestPageSize: '2m' }] }));
    expect(n.hub.consoles()).toEqual(['bare']);
    expect(plain(n.raw.bare!)).toContain('native 4-level page tables, walked by the CPU; no hypervisor');
    expect(plain(n.raw.bare!)).toContain('page sizes: 2M; 3 memory references per TLB miss');
    expect(plain(n.raw.bare!)).not.toContain('Xen');
    expect(n.cmd('bare', 'xenstore-ls')).toBe('-bash: xenstore-ls: command not found\n');
    const k = boot(scenario({ machine: { memoryMiB: 1024, pcpus: 1 }, hypervisor: 'kvm', domains: [{ name: 'vm1', mode: 'hap', memoryMiB: 256, vcpus: 1 }] }));
    expect(k.hub.consoles()).toEqual(['host', 'vm1']);
    expect(plain(k.raw.vm1!)).toContain('Hypervisor detected: KVM');
    expect(plain(k.raw.vm1!)).toContain('KVM TDP MMU (EPT)');
    expect(plain(k.raw.host!)).toContain('kvm: vm1: qemu-system-x86_64 -name vm1 -m 256 -smp 1');
  });
});

describe('run', () => {
  it('starts a workload that advances when the Simulation steps, and prints a summary equal to the counters', () => {
    const b = boot(threeGuests());
    const g2 = b.sim.domains.find((d) => d.name === 'g2')!;
    const kicks = b.kicks;
    const t0 = b.sim.cycles;
    expect(b.cmd('g2', 'run random-access 16 300000')).toBe('random-access workingSetMiB=16 accesses=300000: running; Ctrl-C stops it\n');
    expect(b.kicks).toBe(kicks + 1);
    const job = b.sim.jobs.find((j) => j.d === g2 && !j.done)!;
    expect(job.workload).toEqual({ kind: 'random-access', workingSetMiB: 16, accesses: 300000 });
    b.sim.step(4);
    const ops = g2.counters.c[C.Ops];
    expect(ops).toBeGreaterThan(0);
    b.sim.step(4);
    expect(g2.counters.c[C.Ops]).toBeGreaterThan(ops);
    while (!job.done) b.sim.step(4);
    const r = domainResults(g2);
    const seconds = ((b.sim.cycles - t0) / CLOCK_HZ).toFixed(6);
    const before = b.raw.g2!.length;
    b.hub.tick();
    const out = plain(b.raw.g2!.slice(before));
    expect(r.ops).toBe(300000);
    expect(out.startsWith(`random-access finished: ${seconds} s simulated\n`)).toBe(true);
    expect(out).toContain(
      `  ${r.ops} ops, ${r.cycles.perOp.toFixed(2)} cycles/op, ${r.tlb.misses} TLB misses, ${r.walk.refsPerWalk.toFixed(2)} walk refs/walk, ${r.hypercalls.total} hypercalls, ${r.vmexits.total} exits\n`,
    );
    expect(out.endsWith('root@g2:~# ')).toBe(true);
    expect(r.walk.refsPerWalk).toBeGreaterThan(0);
    expect(auditMachine(b.sim.xen, b.sim.domains)).toMatchObject({ ok: true, violations: [] });
  });

  it('a PV run counts its hypercalls in the summary; its memory comes back afterwards', () => {
    const b = boot(threeGuests());
    const g1 = b.sim.domains.find((d) => d.name === 'g1')!;
    const free0 = b.cmd('g1', 'free');
    b.cmd('g1', 'run fork-exit 40 4');
    let r = domainResults(g1);
    for (let i = 0; i < 10_000 && b.sim.jobs.some((j) => j.d === g1 && !j.done); i++) {
      b.sim.step(2);
      r = domainResults(g1);
    }
    const before = b.raw.g1!.length;
    b.hub.tick();
    const out = plain(b.raw.g1!.slice(before));
    expect(r.hypercalls.total).toBeGreaterThan(0);
    expect(out).toContain(`  40 ops, ${r.cycles.perOp.toFixed(2)} cycles/op, ${r.tlb.misses} TLB misses, ${r.walk.refsPerWalk.toFixed(2)} walk refs/walk, ${r.hypercalls.total} hypercalls, ${r.vmexits.total} exits`);
    expect(b.cmd('g1', 'free')).toBe(free0);
    expect(b.cmd('g1', 'ps')).toBe('    PID STAT       VSZ       RSS COMMAND\n');
    expect(auditMachine(b.sim.xen, b.sim.domains)).toMatchObject({ ok: true, violations: [] });
  });

  it('Ctrl-C stops the shell-started workload: it no longer advances and its memory is freed', () => {
    const b = boot(threeGuests());
    const g3 = b.sim.domains.find((d) => d.name === 'g3')!;
    const free0 = g3.kernel.freePages;
    b.cmd('g3', 'run random-access 64 100000000');
    b.sim.step(6);
    b.hub.tick();
    expect(g3.kernel.freePages).toBeLessThan(free0 - 64 * 256);
    // Typed while it runs: echoed (type-ahead); Ctrl-C discards it with the job.
    expect(b.keys('g3', 'typed ahead')).toBe('typed ahead');
    const job = b.sim.jobs.find((j) => j.d === g3 && !j.done)!;
    expect(b.keys('g3', '\x03')).toBe('^C\r\nroot@g3:~# ');
    expect(job.done).toBe(true);
    expect(b.sim.jobs).not.toContain(job);
    const ops = g3.counters.c[C.Ops];
    b.sim.step(10);
    expect(g3.counters.c[C.Ops]).toBe(ops);
    expect(g3.kernel.freePages).toBe(free0);
    expect(g3.kernel.procs.size).toBe(0);
    expect(auditMachine(b.sim.xen, b.sim.domains)).toMatchObject({ ok: true, violations: [] });
  });

  it('a workload that runs out of guest memory dies; the shell and the domain live on', () => {
    const b = boot(threeGuests());
    const g2 = b.sim.domains.find((d) => d.name === 'g2')!;
    b.cmd('g2', 'run random-access 64 1000');
    // Something else takes the guest's memory between the check and the run.
    const taken: number[] = [];
    while (g2.kernel.freePages > 1000) taken.push(g2.kernel.allocPage());
    b.runToEnd();
    const out = plain(b.raw.g2!);
    expect(out).toContain('Out of memory: g2: out of guest memory\nroot@g2:~# ');
    expect(out).toMatch(/\] random-access: Out of memory: g2: out of guest memory\n/);
    for (const p of taken) g2.kernel.freePage(p);
    expect(g2.kernel.procs.size).toBe(0);
    expect(auditMachine(b.sim.xen, b.sim.domains)).toMatchObject({ ok: true, violations: [] });
    expect(b.cmd('g2', 'run random-access 8 1000')).toContain('running');
  });

  it('workloads stopped by the session are reported as stopped, not finished', () => {
    const s = scenario({
      machine: { memoryMiB: 1024, pcpus: 1 },
      hypervisor: 'xen',
      domains: [
        { name: 'a', mode: 'hap', memoryMiB: 128, vcpus: 1, workload: { kind: 'random-access', workingSetMiB: 16, accesses: 50_000_000 } },
        { name: 'b', mode: 'pv', memoryMiB: 128, vcpus: 1 },
      ],
    });
    const b = boot(s, { stepFirst: false });
    b.sim.step(2);
    b.cmd('b', 'run random-access 16 50000000');
    b.sim.step(2);
    for (const j of [...b.sim.jobs]) if (!j.done) b.sim.stopJob(j);
    b.hub.tick();
    expect(plain(b.raw.a!)).toMatch(/\] init: random-access stopped\n/);
    expect(plain(b.raw.b!)).toContain('Terminated (random-access: the session stopped the workloads)\nroot@b:~# ');
    expect(b.sim.domains[2]!.kernel.procs.size).toBe(0);
  });

  it('bad arguments print the CLI usage; a workload too big for the guest is refused', () => {
    const b = boot(threeGuests());
    expect(b.cmd('g1', 'run random-access 512')).toBe(
      'run: accesses: missing (an integer from 1 to 100000000)\nUsage: run random-access <workingSetMiB> <accesses>\n',
    );
    expect(b.cmd('g1', 'run random-access abc 10')).toBe(
      'run: workingSetMiB: must be an integer from 1 to 65536 (got "abc")\nUsage: run random-access <workingSetMiB> <accesses>\n',
    );
    expect(b.cmd('g1', 'run random-access 1 2 3')).toBe('run: too many arguments: random-access takes 2 (workingSetMiB, accesses)\nUsage: run random-access <workingSetMiB> <accesses>\n');
    expect(lines(b.cmd('g1', 'run'))).toContain('  update-vs-access <updatesPerKiloAccess> <workingSetMiB> <accesses> [updateKind]');
    const nope = lines(b.cmd('g1', 'run nope'));
    expect(nope[0]).toMatch(/^run: unknown workload "nope"; one of idle, cold-walk, random-access, .*kernel-build, oltp, spec, disk-io, net-stream, net-rr, rogue-dma, backend-snoop$/);
    // Only what run can start: hypercalls is a script, written in a scenario file.
    expect(nope[0]).not.toContain('hypercalls');
    // The error stays on screen: one usage line, not a line per workload.
    expect(nope).toEqual([nope[0], 'Usage: run <workload> [params...]   ("run" alone lists each workload\'s parameters)']);
    expect(b.cmd('g1', 'run random-access 1000 10')).toBe(
      "run: the workload needs 1000 MiB but the guest has 240 MiB after its kernel's 16 MiB; raise memoryMiB or shrink the workload\n",
    );
    expect(b.cmd('g1', 'run hypercalls')).toMatch(/^run: a hypercalls workload is a script: write it in a scenario file\n/);
    expect(b.sim.jobs.filter((j) => !j.done)).toEqual([]);
  });

  it("refuses while the scenario's own workload runs, and reports that one when it ends", () => {
    const s = scenario({
      machine: { memoryMiB: 1024, pcpus: 1 },
      hypervisor: 'xen',
      domains: [{ name: 'w', mode: 'hap', memoryMiB: 128, vcpus: 1, workload: { kind: 'context-switch', switches: 2000, processes: 4, sizeKiB: 64 } }],
    });
    const b = boot(s, { stepFirst: false });
    expect(plain(b.raw.w!)).toContain('init: started context-switch switches=2000 processes=4 sizeKiB=64 (the scenario\'s workload)');
    expect(b.cmd('w', 'run idle')).toBe("-bash: run: context-switch (the scenario's workload) is still running in w; wait for it to finish\n");
    b.runToEnd();
    const w = b.sim.domains.find((d) => d.name === 'w')!;
    const r = domainResults(w);
    expect(plain(b.raw.w!)).toMatch(new RegExp(`\\] init: context-switch finished: 2000 ops, ${r.cycles.perOp.toFixed(2).replace('.', '\\.')} cycles/op`));
    // ps: the workload's four processes, each with its 64 KiB array (lat_ctx -s 64) resident.
    expect(lines(b.cmd('w', 'ps'))).toEqual([
      '    PID STAT       VSZ       RSS COMMAND',
      ...[0, 1, 2, 3].map((i) => `${String(i + 1).padStart(7)} S    ${'64'.padStart(9)} ${'64'.padStart(9)} lat_ctx.${i}`),
    ]);
    expect(b.cmd('w', 'dmesg')).toContain('init: context-switch finished: 2000 ops');
  });
});

describe('free, dmesg, help, clear, unknown commands', () => {
  it("free reports the kernel's page allocator", () => {
    const b = boot(threeGuests());
    const k = b.sim.domains.find((d) => d.name === 'g3')!.kernel;
    const used = k.nrUsable - k.freePages;
    expect(lines(b.cmd('g3', 'free'))).toEqual([
      '              total        used        free      shared  buff/cache   available',
      `Mem:   ${String(k.nrUsable * 4).padStart(12)}${String(used * 4).padStart(12)}${String(k.freePages * 4).padStart(12)}${'0'.padStart(12)}${'0'.padStart(12)}${String(k.freePages * 4).padStart(12)}`,
      `Swap:  ${'0'.padStart(12)}${'0'.padStart(12)}${'0'.padStart(12)}`,
    ]);
    expect(lines(b.cmd('g3', 'free -m'))[1]!.slice(7, 19).trim()).toBe(String(Math.floor((k.nrUsable * 4096) / 2 ** 20)));
    expect(b.cmd('g3', 'free -x')).toMatch(/^free: invalid option -- 'x'\n\nUsage:\n free \[options\]/);
  });

  it('dmesg repeats the boot log', () => {
    const b = boot(threeGuests());
    const bootLines = lines(plain(b.raw.g2!)).filter((l) => l.startsWith('['));
    expect(lines(b.cmd('g2', 'dmesg'))).toEqual(bootLines);
  });

  it('help lists the commands; clear clears; unknown commands are bash errors', () => {
    const b = boot(threeGuests());
    const help = b.cmd('g1', 'help');
    for (const c of ['run <workload> [params...]', 'free', 'ps', 'dmesg', 'clear', 'xenstore-read path']) expect(help).toContain(`  ${c}`);
    expect(b.cmd('dom0', 'help')).toContain('  xl <subcommand> [args]');
    expect(b.cmd('g1', 'clear')).toBe('\x1b[H\x1b[2J\x1b[3J');
    expect(b.cmd('g1', 'frobnicate --now')).toBe('-bash: frobnicate: command not found\n');
    expect(b.cmd('g1', '   ')).toBe('');
  });

  it('history and backspace work in a guest console', () => {
    const b = boot(threeGuests());
    b.cmd('g1', 'free -m');
    const out = b.keys('g1', 'x\x7f\x1b[A\r');
    expect(plain(out)).toContain('Mem:');
    expect(out.startsWith('x\b \b\r\x1b[Kroot@g1:~# free -m\r\n')).toBe(true);
  });
});

describe('job control, as bash has it', () => {
  // Lines as bash 5 prints them (jobs.c): "[n]" and the mark, two spaces, the status padded to 24.
  const running = (n: number, mark: string, cmd: string) => `[${n}]${mark}  Running                 ${cmd} &`;
  const ended = (n: number, mark: string, status: string, cmd: string) => `[${n}]${mark}  ${status.padEnd(24)}${cmd}`;

  it('run … & prints [1] <pid> and returns the prompt; jobs, ps and vmstat see the workload while it runs', () => {
    const b = boot(threeGuests());
    const g1 = b.sim.domains.find((d) => d.name === 'g1')!;
    const pid = g1.kernel.nextPid;
    const kicks = b.kicks;
    const out = b.keys('g1', 'run random-access 16 50000000 &\r');
    expect(out).toBe(`run random-access 16 50000000 &\r\n[1] ${pid}\r\nroot@g1:~# `);
    expect(b.kicks).toBe(kicks + 1);
    expect(b.cmd('g1', 'jobs')).toBe(running(1, '+', 'run random-access 16 50000000') + '\n');
    expect(b.cmd('g1', 'jobs -l')).toBe(`[1]+ ${pid} Running                 run random-access 16 50000000 &\n`);
    b.sim.step(4);
    b.hub.tick();
    const ps = lines(b.cmd('g1', 'ps'));
    expect(ps[1]).toMatch(new RegExp(`^ {0,6}${pid} R +\\d+ +\\d+ random-access$`));
    // A second workload waits for this one: the kernel runs one at a time.
    expect(b.cmd('g1', 'run idle')).toBe(
      '-bash: run: job [1] (run random-access 16 50000000) is still running in g1: one workload at a time; wait for it (jobs, fg %1) or end it (kill %1)\n',
    );
    // vmstat watches it; Ctrl-C ends vmstat only, the job runs on.
    b.keys('g1', 'vmstat\r');
    b.sim.step(2);
    b.hub.tick();
    expect(plain(b.raw.g1!)).toMatch(/ops +tlbmiss/);
    expect(b.keys('g1', '\x03')).toMatch(/^\^C\r\nvmstat: \d+ lines?\r\nroot@g1:~# $/);
    expect(b.sim.jobs.some((j) => j.d === g1 && !j.done)).toBe(true);
    // Ctrl-C at the prompt leaves a background job alone too.
    expect(b.keys('g1', '\x03')).toBe('^C\r\nroot@g1:~# ');
    expect(b.sim.jobs.some((j) => j.d === g1 && !j.done)).toBe(true);
  });

  it('fg brings the job back (its command printed), Ctrl-C then stops it; fg and kill name missing jobs as bash does', () => {
    const b = boot(threeGuests());
    const g3 = b.sim.domains.find((d) => d.name === 'g3')!;
    const free0 = g3.kernel.freePages;
    expect(b.cmd('g3', 'fg')).toBe('-bash: fg: current: no such job\n');
    b.cmd('g3', 'run random-access 32 50000000&');
    expect(b.cmd('g3', 'fg %3')).toBe('-bash: fg: %3: no such job\n');
    expect(b.cmd('g3', 'kill %2')).toBe('-bash: kill: %2: no such job\n');
    expect(b.keys('g3', 'fg 1\r')).toBe('fg 1\r\nrun random-access 32 50000000\r\n');
    b.sim.step(4);
    b.hub.tick();
    expect(b.keys('g3', '\x03')).toBe('^C\r\nroot@g3:~# ');
    expect(b.sim.jobs.some((j) => j.d === g3 && !j.done)).toBe(false);
    expect(g3.kernel.freePages).toBe(free0);
    expect(b.cmd('g3', 'jobs')).toBe('');
    expect(auditMachine(b.sim.xen, b.sim.domains)).toMatchObject({ ok: true, violations: [] });
  });

  it('a background job that ends prints its summary at once and "Done" before the next prompt', () => {
    const b = boot(threeGuests());
    const g2 = b.sim.domains.find((d) => d.name === 'g2')!;
    b.cmd('g2', 'run random-access 16 300000 &');
    b.keys('g2', 'fr'); // a line being typed when it ends
    b.runToEnd();
    const r = domainResults(g2);
    const tail = plain(b.raw.g2!.slice(b.raw.g2!.lastIndexOf('[1] ')));
    // The summary goes above the line being typed, which is redrawn.
    expect(tail).toMatch(/random-access finished: \d+\.\d{6} s simulated\n/);
    expect(tail).toMatch(/\n {2}300000 ops, \d+\.\d\d cycles\/op, \d+ TLB misses/);
    expect(tail.endsWith('root@g2:~# fr')).toBe(true);
    expect(r.ops).toBe(300000);
    // bash reports the job after the command's output, before the next prompt, once.
    const out = lines(b.cmd('g2', 'ee'));
    expect(out[0]).toMatch(/^ +total +used +free/);
    expect(out.at(-1)).toBe(ended(1, '+', 'Done', 'run random-access 16 300000'));
    expect(b.cmd('g2', '')).toBe('');
  });

  it('kill %1 ends a background job: "Terminated" before the next prompt; jobs reports an ended job instead', () => {
    const b = boot(threeGuests());
    const g1 = b.sim.domains.find((d) => d.name === 'g1')!;
    b.cmd('g1', 'run random-access 16 50000000 &');
    b.sim.step(2);
    expect(b.cmd('g1', 'kill %1')).toBe(ended(1, '+', 'Terminated', 'run random-access 16 50000000') + '\n');
    expect(b.sim.jobs.some((j) => j.d === g1 && !j.done)).toBe(false);
    expect(g1.kernel.procs.size).toBe(0);
    b.cmd('g1', 'run random-access 16 300000 &');
    b.runToEnd();
    expect(b.cmd('g1', 'jobs')).toBe(ended(1, '+', 'Done', 'run random-access 16 300000') + '\n');
    expect(b.cmd('g1', '')).toBe('');
    expect(b.cmd('g1', 'free &')).toBe("-bash: free: only 'run' can be put in the background here ('run <workload> … &')\n");
    expect(b.cmd('g1', '&')).toBe("-bash: syntax error near unexpected token `&'\n");
    expect(b.cmd('g1', 'kill 4242')).toBe('-bash: kill: (4242) - No such process\n');
  });

  it('what is typed while a foreground job runs is echoed, and runs when the prompt returns', () => {
    const b = boot(threeGuests());
    b.cmd('g1', 'run random-access 16 300000');
    expect(b.keys('g1', 'ps\r')).toBe('ps\r\n');
    b.runToEnd();
    const out = plain(b.raw.g1!);
    const after = out.slice(out.lastIndexOf('random-access finished'));
    expect(after).toMatch(/root@g1:~# ps\n {4}PID STAT +VSZ +RSS COMMAND\nroot@g1:~# $/);
  });
});

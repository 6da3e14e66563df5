/**
 * The consoles of a live session: the hypervisor's log ('xen'; 'host' under KVM), dom0's shell
 * with the xl toolstack ('dom0'), and a shell per guest (named after it). The session owns the
 * Simulation and steps it; the hub turns keystrokes into commands, commands into lifecycle
 * changes (through Libxl), and writes every console's output through `hooks.out`.
 */
import type { Vm } from '../vm/vm.js';
import type { Simulation } from '../sim/simulation.js';
import { cyclesToSeconds, domainCreatedMessage, HOST_NAME, kvmHostMessages, pagingSummary, stamp, xenBootMessages } from './bootLog.js';
import { DomainShell } from './guestShell.js';
import { HostShell } from './hostShell.js';
import { Libxl, type LibxlEvents } from './libxl.js';
import { dom0Commands, type XlContext } from './xlShell.js';
import { Xenstore } from './xenstore.js';

export interface ConsoleHubHooks {
  /** Output for a console: raw terminal data, '\r\n' line endings, ANSI escapes. */
  out(console: string, data: string): void;
  /** Domains were created, destroyed, paused or unpaused (the console list may have changed). */
  domainsChanged(): void;
  /** Work was started: the session should resume stepping. */
  kick(): void;
  /** `xl console <name>`: the UI should show console `name`. */
  switchConsole?(name: string): void;
}

const RESERVED = new Set(['xen', 'dom0', 'host']);

export class ConsoleHub {
  readonly store: Xenstore;
  readonly libxl: Libxl;
  private readonly logName: string | null;
  private readonly logLines: string[] = [];
  private readonly shells = new Map<number, { console: string; shell: DomainShell }>();
  private booted = false;
  /** Under KVM: the host's shell (ps, kill) on the 'host' console. */
  private readonly hostShell: HostShell | null = null;

  constructor(
    readonly sim: Simulation,
    private readonly hooks: ConsoleHubHooks,
  ) {
    this.store = new Xenstore(sim.io?.xenstored);
    const kind = sim.scenario.hypervisor;
    this.logName = kind === 'xen' ? 'xen' : kind === 'kvm' ? 'host' : null;
    const events: LibxlEvents = {
      created: (d) => {
        this.attach(d, true);
        this.hooks.domainsChanged();
        this.hooks.kick();
      },
      destroyed: (d, freed) => {
        // Xen's own pages for a domain: its paging structures (shadow pool, EPT tables) and its grant-table frames (gnttab.ts).
        const held = [d.mode === 'shadow' ? 'shadow pool' : d.mode === 'hap' ? 'EPT tables' : null, d.io ? 'grant table' : null].filter(Boolean).join(', ');
        // Under KVM those are the host kernel's: KVM's EPT or shadow pages, and qemu's page tables.
        const kvmHeld = [d.mode === 'shadow' ? 'shadow pages' : d.mode === 'hap' ? 'EPT tables' : null, 'qemu page tables'].filter(Boolean).join(', ');
        const whose = kind === 'kvm' ? `host kernel pages (${kvmHeld})` : `Xen pages${held ? ` (${held})` : ''}`;
        this.detach(d, `${freed.guestFrames} pages${freed.xenFrames > 0 ? ` and ${freed.xenFrames} ${whose}` : ''} returned to the heap`);
        this.hooks.domainsChanged();
      },
      paused: (d) => {
        this.log(`d${d.domid}: paused "${d.name}" (${d.mode}): its vCPUs are descheduled`);
        this.hooks.domainsChanged();
      },
      unpaused: (d) => {
        this.log(`d${d.domid}: unpaused "${d.name}" (${d.mode})`);
        this.hooks.domainsChanged();
        this.hooks.kick();
      },
      devicesChanged: (d, what, message) => {
        this.log(`d${d.domid}: ${what}: ${message}`);
        this.hooks.domainsChanged();
        // The kernels' xenbus work (probe, handshake, close) runs as the simulation steps.
        this.hooks.kick();
      },
    };
    this.libxl = new Libxl(sim, events);
    const kvm = sim.xen.kvm;
    if (kvm) {
      this.hostShell = new HostShell(
        {
          host: kvm,
          hostname: HOST_NAME,
          killed: (domid, pid, signal) => {
            const vm = this.sim.domains.find((d) => d.domid === domid);
            if (!vm) return;
            this.log(`kvm: ${vm.name}: qemu-system-x86_64 (pid ${pid}) killed by ${signal}: the guest ends with it`);
            this.libxl.destroy(vm);
          },
        },
        (data) => this.hooks.out('host', data),
      );
    }
    // The scenario's timeline acts on the simulation directly; the toolstack follows it exactly
    // as it follows `xl destroy` / `xl create` (the log line, xenstore, the consoles, the domain list).
    // A live migration's rounds, as libxl's migration sender reports them.
    sim.onMigrationLog = (line) => {
      if (this.booted) this.log(line);
    };
    sim.onTimeline = (r, vm, freed) => {
      if (!this.booted) return;
      const when = `${+r.firedAtMs.toFixed(3)} ms`;
      if (!r.ok || !vm) {
        this.log(`timeline: at ${when}: ${r.do} ${r.domain} did nothing: ${r.message}`);
        return;
      }
      this.log(`timeline: at ${when}: ${r.do} ${r.domain}`);
      if (r.do === 'destroy') events.destroyed(vm, freed ?? { guestFrames: 0, xenFrames: 0 });
      else if (r.do === 'create') events.created(vm);
      else if (r.do === 'pause') events.paused(vm);
      else if (r.do === 'unpause') events.unpaused(vm);
      else events.devicesChanged(vm, r.do, r.message);
    };
  }

  /** Console names: the hypervisor log first, then dom0, then guests by domid. */
  consoles(): string[] {
    const names = this.logName ? [this.logName] : [];
    // Before boot() the shells do not exist yet: the names are the domains'.
    if (!this.booted) return [...names, ...[...this.sim.domains].sort((a, b) => a.domid - b.domid).map((d) => this.consoleOf(d))];
    const ds = [...this.shells.entries()].sort((a, b) => a[0] - b[0]);
    return [...names, ...ds.map(([, s]) => s.console)];
  }

  /** The console name of a domain ('dom0' for dom0). */
  consoleOf(d: Vm): string {
    if (d.privileged) return 'dom0';
    return RESERVED.has(d.name) ? `${d.name}-${d.domid}` : d.name;
  }

  /** The shell on a console (tests and the session read its state). */
  shell(console: string): DomainShell | null {
    for (const s of this.shells.values()) if (s.console === console) return s.shell;
    return null;
  }

  /** Prints the hypervisor's boot log and every domain's boot log and prompt. */
  boot(): void {
    if (this.booted) return;
    this.booted = true;
    const kind = this.sim.scenario.hypervisor;
    // The hypervisor's own boot is not simulated: its log is stamped at time 0.
    if (kind === 'xen') for (const m of xenBootMessages(this.sim)) this.append(m, 0);
    if (kind === 'xen') for (const m of this.sim.xen.iommu?.takeLog() ?? []) this.append(m, 0);
    if (kind === 'kvm') for (const m of kvmHostMessages(this.sim)) this.append(m, 0);
    for (const d of this.sim.domains) this.attach(d, false);
    this.hostShell?.prompt();
  }

  /** The KVM host's shell (tests read it), or null under Xen and bare metal. */
  get host(): HostShell | null {
    return this.hostShell;
  }

  input(console: string, data: string): void {
    if (console === this.logName) {
      if (this.logName === 'xen') for (const ch of data) this.debugKey(ch);
      this.hostShell?.input(data);
      return;
    }
    this.shell(console)?.input(data);
  }

  /** After each batch of slices: follow domains changed behind the hub's back, and let shells report. */
  tick(): void {
    this.sync();
    // Xen's IOMMU driver printk()s (DMA faults, quarantine): into the hypervisor log.
    for (const line of this.sim.xen.iommu?.takeLog() ?? []) this.log(line);
    for (const { shell } of this.shells.values()) shell.tick();
  }

  /** A line for the hypervisor's log ("(XEN) [time] ..." under Xen; "[time] ..." on a KVM host). */
  log(line: string): void {
    this.append(line, cyclesToSeconds(this.sim.cycles, this.sim.xen.cpu.clockGHz));
  }

  private append(line: string, seconds: number): void {
    const body = line.replace(/^\(XEN\) /, '');
    const t = stamp(seconds);
    const text = this.logName === 'xen' ? `(XEN) ${t}${body}` : `${t}${body}`;
    this.logLines.push(text);
    // On the KVM host the log shares the console with its shell: printed above the line being typed.
    if (this.hostShell) this.hostShell.editor.interject(text + '\r\n');
    else if (this.logName) this.hooks.out(this.logName, text + '\r\n');
  }

  private xlContext(): XlContext {
    return {
      libxl: this.libxl,
      xenLog: () => this.logLines,
      clearXenLog: () => {
        this.logLines.length = 0;
      },
      switchConsole: (d) => {
        if (!this.hooks.switchConsole) return false;
        this.hooks.switchConsole(this.consoleOf(d));
        return true;
      },
      changed: () => {
        this.hooks.domainsChanged();
        this.hooks.kick();
      },
    };
  }

  private attach(d: Vm, announce: boolean): void {
    if (this.shells.has(d.domid)) return;
    const kind = this.sim.scenario.hypervisor;
    if (kind === 'xen') {
      if (announce || !d.privileged) this.log(domainCreatedMessage(d));
      this.store.addDomain(d, this.sim.scenario.seed, cyclesToSeconds(this.sim.cycles, this.sim.xen.cpu.clockGHz));
    } else if (kind === 'kvm') {
      const q = this.sim.xen.kvm?.vm(d.domid);
      this.log(`kvm: ${d.name}: ${q ? `${q.proc.cmdline} (pid ${q.proc.pid})` : `qemu-system-x86_64 -name ${d.name}`}: ${pagingSummary(d).replace('HAP/EPT', 'TDP (EPT)')}`);
    }
    const name = this.consoleOf(d);
    const env = { sim: this.sim, store: this.store, kick: () => this.hooks.kick() };
    const write = (data: string) => this.hooks.out(name, data);
    const shell = d.privileged ? new DomainShell(d, env, write, 'hyperlab', dom0Commands(this.xlContext())) : new DomainShell(d, env, write);
    this.shells.set(d.domid, { console: name, shell });
    shell.boot();
  }

  private detach(d: Vm, what: string): void {
    const s = this.shells.get(d.domid);
    if (!s) return;
    this.shells.delete(d.domid);
    this.hooks.out(s.console, `\r\n[domain ${d.name} (domid ${d.domid}) destroyed: console closed]\r\n`);
    if (this.sim.scenario.hypervisor === 'xen') {
      this.store.removeDomain(d, this.sim.scenario.seed);
      this.log(`d${d.domid}: destroyed "${d.name}" (${d.mode}): ${what}`);
    } else this.log(`kvm: ${d.name}: VM destroyed: ${what}`);
  }

  private sync(): void {
    const live = new Set(this.sim.domains);
    let changed = false;
    for (const [, s] of this.shells) {
      if (live.has(s.shell.d)) continue;
      this.detach(s.shell.d, 'its frames returned to the heap');
      changed = true;
    }
    for (const d of this.sim.domains) {
      if (this.shells.has(d.domid)) continue;
      this.attach(d, true);
      changed = true;
    }
    if (changed) this.hooks.domainsChanged();
  }

  /** Xen's debug keys on its serial console: h (help), q (domains), m (memory). */
  private debugKey(ch: string): void {
    switch (ch) {
      case 'h':
        this.log("'h' pressed -> showing installed handlers");
        this.log(" key 'h' (ascii '68') => show this message");
        this.log(" key 'm' (ascii '6d') => memory info");
        this.log(" key 'q' (ascii '71') => dump domain (and guest debug) info");
        return;
      case 'q':
        this.log("'q' pressed -> dumping domain info");
        for (const d of this.libxl.list()) {
          this.log(`General information for domain ${d.domid}: "${d.name}", ${d.state}`);
          this.log(`    nr_pages=${d.dom.nrPages} xen_pages=${d.dom.xenFrames.length + (d.dom.hap?.tableFrames.length ?? 0)} vcpus=${d.config.vcpus} on pCPU ${this.sim.xen.pcpus.indexOf(d.mmu)}`);
          this.log(`    paging: ${pagingSummary(d)}`);
        }
        return;
      case 'm':
        this.log("'m' pressed -> dumping memory info");
        this.log(`Physical memory information: ${this.sim.scenario.machine.memoryMiB * 256} pages, ${this.sim.freeFrames} free (${this.sim.freeMiB} MiB)`);
        return;
    }
  }
}

/**
 * `xl`, the toolstack on dom0's shell (after tools/xl): list, info, dmesg, create, destroy,
 * pause, unpause, console and help, against the live simulation, printing what real xl prints
 * where Hyperlab models the same thing; plus `ls` and `cat` over dom0's /etc/xen examples.
 */
import { parseDiskSpec, parsePciSpec, parseVifSpec, parseXlCfg, toXlCfg, xlKeyOfField } from '../api/xlcfg.js';
import type { HotplugAction } from '../vm/io/hotplug.js';
import type { Vm } from '../vm/vm.js';
import { DomainConfigError, relocationMessage } from '../sim/simulation.js';
import type { Word } from './argv.js';
import { cyclesToSeconds, HOST_NAME, LINUX_RELEASE, XEN_EXTRA, XEN_MAJOR, XEN_MINOR, XEN_VERSION } from './bootLog.js';
import { EXAMPLE_CONFIGS, XEN_CONFIG_DIR, findConfig } from './examples.js';
import type { DomainShell, ShellCommand } from './guestShell.js';
import { ERROR_INVAL, type Libxl } from './libxl.js';
import { xvdDevid as xvdDevidOf } from '../guest/io/xenbus.js';
import { VERSION } from '../api/version.js';

/** The name `xl migrate` knows the scenario's migrationTarget by. */
export const MIGRATION_TARGET_HOST = 'target';

export interface XlContext {
  readonly libxl: Libxl;
  /** The hypervisor's console log, "(XEN) ..." lines. */
  xenLog(): readonly string[];
  clearXenLog(): void;
  /** Asks the UI to show `d`'s console; false when it cannot. */
  switchConsole(d: Vm): boolean;
  /** A command changed a domain the UI shows and left work for it (mem-set): refresh and let the run go on. */
  changed?(): void;
}

interface Sub {
  usage: string;
  summary: string;
  options?: string[];
  run(args: string[], raw: Word[], out: (s: string) => void, x: XlContext): void;
}

/** Expands tabs to 8-column stops, as a terminal shows them. */
export function expandTabs(s: string): string {
  let out = '';
  for (const ch of s) out += ch === '\t' ? ' '.repeat(8 - (out.length % 8)) : ch;
  return out;
}

/** xl list's six state letters: running, blocked, paused, shutdown, crashed, dying. */
export function stateLetters(d: Vm, x: XlContext): string {
  const seen = x.libxl.sim.visibleState(d);
  const running = seen === 'running';
  const blocked = seen === 'blocked';
  return [running ? 'r' : '-', blocked ? 'b' : '-', d.state === 'paused' ? 'p' : '-', d.state === 'shutdown' ? 's' : '-', '-', d.state === 'dying' ? 'd' : '-'].join('');
}

export function listLines(domains: readonly Vm[], x: XlContext): string[] {
  // xl_info.c's header: "Name" and 40 spaces, so that ID, Mem and VCPUs end over their %5 columns.
  const out = [expandTabs(`${'Name'.padEnd(44)}ID   Mem VCPUs\tState\tTime(s)`)];
  for (const d of domains) {
    const time = cyclesToSeconds(d.dom.cpuCycles, d.dom.xen.cpu.clockGHz).toFixed(1);
    // Mem: current_memkb / 1024, from the frames the domain owns now (tot_pages): ballooning moves it.
    const mem = Math.floor(d.dom.xen.totPages(d.dom) / 256);
    out.push(`${d.name.padEnd(40)} ${String(d.domid).padStart(5)} ${String(mem).padStart(5)} ${String(d.config.vcpus).padStart(5)}     ${stateLetters(d, x)}  ${time.padStart(8)}`);
  }
  return out;
}

export function infoLines(x: XlContext): string[] {
  const sim = x.libxl.sim;
  const pcpus = sim.scenario.machine.pcpus;
  const dom0 = sim.domains.find((d) => d.privileged);
  const rows: [string, string | number][] = [
    ['host', HOST_NAME],
    ['release', LINUX_RELEASE],
    ['version', '#1 SMP PREEMPT_DYNAMIC'],
    ['machine', 'x86_64'],
    ['nr_cpus', pcpus],
    ['max_cpu_id', pcpus - 1],
    ['nr_nodes', 1],
    ['cores_per_socket', pcpus],
    ['threads_per_core', 1],
    ['cpu_mhz', (sim.xen.cpu.clockGHz * 1000).toFixed(3)],
    ['virt_caps', 'pv hvm hap shadow'],
    ['total_memory', sim.totalMiB],
    ['free_memory', sim.freeMiB],
    ['sharing_freed_memory', 0],
    ['sharing_used_memory', 0],
    ['outstanding_claims', 0],
    ['free_cpus', 0],
    ['xen_major', XEN_MAJOR],
    ['xen_minor', XEN_MINOR],
    ['xen_extra', XEN_EXTRA],
    ['xen_version', XEN_VERSION],
    ['xen_caps', 'xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64'],
    ['xen_scheduler', 'credit'],
    ['xen_pagesize', 4096],
    ['platform_params', 'virt_start=0xffff800000000000'],
    ['xen_changeset', `Hyperlab ${VERSION}`],
    ['xen_commandline', `dom0_mem=${dom0?.config.memoryMiB ?? 0}M,max:${dom0?.config.memoryMiB ?? 0}M console=com1`],
    ['cc_compiler', 'gcc (Hyperlab) 12.2.0'],
    ['xend_config_format', 4],
  ];
  return rows.map(([k, v]) => `${k.padEnd(23)}: ${v}`);
}

function invalid(ident: string): string {
  return `${ident} is an invalid domain identifier (rc=${ERROR_INVAL})`;
}

function oneDomain(args: string[], sub: string, out: (s: string) => void, x: XlContext): Vm | null {
  if (args.length !== 1 || args[0]!.startsWith('-')) {
    out(usageOf(sub));
    return null;
  }
  const d = x.libxl.find(args[0]!);
  if (!d) out(invalid(args[0]!));
  return d;
}

/** A `key=value` word as an xl.cfg line: bare words become strings (`name=g9` → `name="g9"`). */
function cfgLine(raw: string): string {
  const eq = raw.indexOf('=');
  const key = raw.slice(0, eq).trim();
  const value = raw.slice(eq + 1).trim();
  if (/^(["'[]|[-+]?\d|\.\d)/.test(value)) return `${key} = ${value}`;
  return `${key} = "${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function create(args: string[], raw: Word[], out: (s: string) => void, x: XlContext): void {
  let dryRun = false;
  let attach = false;
  let file: string | null = null;
  const overrides: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-n') dryRun = true;
    else if (a === '-c') attach = true;
    else if (a === '-q' || a === '-p') continue;
    else if (a.startsWith('-')) return out(usageOf('create'));
    else if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(a)) overrides.push(raw[i]!.raw);
    else if (file === null && overrides.length === 0) file = a;
    else if (overrides.length > 0) overrides[overrides.length - 1] += ' ' + raw[i]!.raw;
    else return out(usageOf('create'));
  }
  if (file === null && overrides.length === 0) return out(usageOf('create'));
  let text = '';
  let fileLines = 0;
  let source = '(command line)';
  if (file !== null) {
    const found = findConfig(file);
    if (!found) return out(`Failed to read config file: ${file}: No such file or directory`);
    text = found.text.endsWith('\n') ? found.text : found.text + '\n';
    fileLines = text.split('\n').length - 1;
    source = found.path;
  }
  const lines = overrides.map(cfgLine);
  out(`Parsing config from ${source}`);
  const parsed = parseXlCfg(text + lines.join('\n'));
  if (!parsed.ok) {
    for (const p of parsed.problems) {
      const where = p.line === 0 ? source : p.line <= fileLines ? `${source}:${p.line}` : `(command line) ${lines[p.line - fileLines - 1] ?? ''}`;
      out(`${where}: config parsing error near \`${p.path}': ${p.message}`);
    }
    return out('Failed to parse config: Invalid argument');
  }
  if (dryRun) return out(toXlCfg(parsed.domain).trimEnd());
  try {
    const d = x.libxl.create(parsed.domain);
    if (attach) x.switchConsole(d);
  } catch (e) {
    if (!(e instanceof DomainConfigError)) throw e;
    for (const p of e.problems) out(`libxl: error: libxl_create.c: domain "${e.domain}": ${xlKeyOfField(p.path.split('.')[0]!)}: ${p.message}`);
  }
}

/**
 * The hot-plug commands' common end: the action through libxl (the same code as the timeline's);
 * a refusal printed as libxl's error line and xl's "… failed." (xl_block.c, xl_nic.c, xl_pci.c).
 */
function hotplug(d: Vm, a: HotplugAction, out: (s: string) => void, x: XlContext, call?: string): void {
  const r = x.libxl.hotplug(d, a);
  if (r.ok) return;
  const [file, named] = HOTPLUG_LIBXL[a.do];
  const fn = call ?? named;
  out(`libxl: error: ${file}: domain ${d.domid}: ${r.message}`);
  out(`${fn} failed.`);
}

/** Where libxl reports each action's error, and the call xl names when it fails. */
const HOTPLUG_LIBXL: Record<HotplugAction['do'], [string, string]> = {
  'pci-attach': ['libxl_pci.c', 'libxl_device_pci_add'],
  'pci-detach': ['libxl_pci.c', 'libxl_device_pci_remove'],
  'block-attach': ['libxl_disk.c', 'libxl_device_disk_add'],
  'block-detach': ['libxl_device.c', 'libxl_device_disk_remove'],
  'network-attach': ['libxl_nic.c', 'libxl_device_nic_add'],
  'network-detach': ['libxl_device.c', 'libxl_device_nic_del'],
};

/**
 * `xl block-attach <Domain> <disk-spec-component(s)>` / `xl network-attach <Domain> [key=value …]`:
 * the words after the domain are one spec, comma-joined (parse_disk_config_multistring; each of
 * network-attach's words is one of parse_nic_config's key=value items).
 */
function specAttach(
  sub: 'block-attach' | 'network-attach',
  minArgs: number,
  noDomain: (ident: string) => string,
  parse: (spec: string) => { ok: true; action: HotplugAction } | { ok: false; message: string },
): Sub['run'] {
  return (args, raw, out, x) => {
    if (args.length < minArgs || args[0]!.startsWith('-')) return out(usageOf(sub));
    const d = x.libxl.find(args[0]!);
    if (!d) return out(noDomain(args[0]!));
    const r = parse(raw.slice(1).map((w) => w.text).join(','));
    if (!r.ok) return out(`xl: error: ${r.message}`);
    hotplug(d, r.action, out, x);
  };
}

/** `xl pci-attach <Domain> <BDF>` / `xl pci-detach [-f] <Domain> <BDF>`: the BDF (or the lab's device id). */
function pciCommand(sub: 'pci-attach' | 'pci-detach') {
  return (args: string[], _raw: Word[], out: (s: string) => void, x: XlContext): void => {
    const rest = sub === 'pci-detach' ? args.filter((a) => a !== '-f') : args;
    if (rest.length < 2 || rest.length > (sub === 'pci-attach' ? 3 : 2) || rest.some((a) => a.startsWith('-'))) return out(usageOf(sub));
    const d = x.libxl.find(rest[0]!);
    if (!d) return out(invalid(rest[0]!));
    const spec = parsePciSpec(rest[1]!);
    if (spec === null) return out(`${sub}: malformed BDF specification "${rest[1]}"`);
    hotplug(d, { do: sub, device: spec }, out, x);
  };
}

const SUBS: Record<string, Sub> = {
  create: {
    usage: '[options] [<ConfigFile>] [vars]',
    summary: 'Create a domain from config file <filename> and/or key=value settings',
    options: ['-h  Print this help.', '-n  Dry run: parse the configuration and print it; create nothing.', "-c  Connect to the console after creating the domain.", 'vars  key=value settings, as in the config file (e.g. name="g9" memory=256 type="hvm" hap=1).'],
    run: create,
  },
  list: {
    usage: '[options] [Domain]',
    summary: 'List information about all/some domains',
    options: ['-h  Print this help.'],
    run: (args, _raw, out, x) => {
      if (args.some((a) => a.startsWith('-'))) return out(usageOf('list'));
      const ds: Vm[] = [];
      for (const a of args) {
        const d = x.libxl.find(a);
        if (!d) return out(invalid(a));
        ds.push(d);
      }
      for (const l of listLines(args.length > 0 ? ds : x.libxl.list(), x)) out(l);
    },
  },
  destroy: {
    usage: '[options] <Domain>',
    summary: 'Terminate a domain immediately',
    options: ['-h  Print this help.', '-f  Permit destroying domain 0 (not in Hyperlab: it runs this shell).'],
    run: (args, _raw, out, x) => {
      const rest = args.filter((a) => a !== '-f');
      const d = oneDomain(rest, 'destroy', out, x);
      if (!d) return;
      if (d.privileged) return out(args.includes('-f') ? 'xl: domain 0 runs this shell and the toolstack; Hyperlab cannot destroy it' : 'Not destroying domain 0; use -f to force.');
      x.libxl.destroy(d);
    },
  },
  pause: {
    usage: '<Domain>',
    summary: 'Pause execution of a domain',
    run: (args, _raw, out, x) => {
      const d = oneDomain(args, 'pause', out, x);
      if (!d) return;
      if (d.privileged) return out('xl: pausing domain 0 would stop this shell; Hyperlab does not allow it');
      x.libxl.pause(d);
    },
  },
  unpause: {
    usage: '<Domain>',
    summary: 'Unpause a paused domain',
    run: (args, _raw, out, x) => {
      const d = oneDomain(args, 'unpause', out, x);
      if (d) x.libxl.unpause(d);
    },
  },
  console: {
    usage: '[options] <Domain>',
    summary: "Attach to domain's console",
    options: ['-h  Print this help.'],
    run: (args, _raw, out, x) => {
      const d = oneDomain(args, 'console', out, x);
      if (!d) return;
      if (x.switchConsole(d)) out(`xl: switching to the console of ${d.name} (domid ${d.domid})`);
      else out(`xl: this terminal cannot switch consoles; open the console of ${d.name}`);
    },
  },
  info: {
    usage: '',
    summary: 'Get information about Xen host',
    run: (args, _raw, out, x) => {
      if (args.length > 0) return out(usageOf('info'));
      for (const l of infoLines(x)) out(l);
    },
  },
  dmesg: {
    usage: '[-c]',
    summary: 'Read and/or clear dmesg buffer',
    options: ['-c  Clear dmesg buffer as well as printing it'],
    run: (args, _raw, out, x) => {
      if (args.some((a) => a !== '-c')) return out(usageOf('dmesg'));
      for (const l of x.xenLog()) out(l);
      if (args.includes('-c')) x.clearXenLog();
    },
  },
  'block-list': {
    usage: '<Domain(s)>',
    summary: 'List virtual block devices for a domain',
    run: (args, _raw, out, x) => {
      if (args.length === 0 || args.some((a) => a.startsWith('-'))) return out(usageOf('block-list'));
      for (const l of blockListLines(args, x)) out(l);
    },
  },
  'network-list': {
    usage: '<Domain(s)>',
    summary: 'List virtual network interfaces for a domain',
    run: (args, _raw, out, x) => {
      if (args.length === 0 || args.some((a) => a.startsWith('-'))) return out(usageOf('network-list'));
      for (const l of networkListLines(args, x)) out(l);
    },
  },
  'pci-list': {
    usage: '<Domain>',
    summary: 'List pass-through pci devices for a domain',
    run: (args, _raw, out, x) => {
      const d = oneDomain(args, 'pci-list', out, x);
      if (!d) return;
      const devs = x.libxl.pciList(d);
      if (devs.length === 0) return;
      out('Vdev Device');
      for (const p of devs) out(`${((p.vdevfn >> 3) & 0x1f).toString(16).padStart(2, '0')}.${(p.vdevfn & 7).toString(16)} ${p.bdf}`);
    },
  },
  'pci-assignable-list': {
    usage: '',
    summary: 'List all the assignable pci devices',
    run: (args, _raw, out, x) => {
      if (args.length > 0) return out(usageOf('pci-assignable-list'));
      for (const p of x.libxl.pciAssignable()) out(p.bdf);
    },
  },
  'debug-relocate': {
    usage: '[-c] <Domain> <Pages>',
    summary: "Ask Xen to move a domain's pages to other machine frames (a Hyperlab debug command)",
    options: [
      '-c  the guest cooperates: a PV guest moves its pages itself (increase_reservation, copy, mmu_update, MMU_MACHPHYS_UPDATE, decrease_reservation)',
      "An HVM guest's pages move unseen (Xen updates the p2m and the EPT or the shadows); a PV guest's are refused unless it cooperates.",
    ],
    run: (args, _raw, out, x) => {
      const coop = args.includes('-c');
      const rest = args.filter((a) => a !== '-c');
      if (rest.length !== 2 || rest.some((a) => a.startsWith('-'))) return out(usageOf('debug-relocate'));
      const d = x.libxl.find(rest[0]!);
      if (!d) return out(invalid(rest[0]!));
      const pages = Number(rest[1]);
      if (!(Number.isInteger(pages) && pages >= 1 && pages <= 1_048_576)) return out(`debug-relocate: pages ${rest[1]}: must be a whole number from 1 to 1048576`);
      if (d.mode === 'native') return out(`debug-relocate: ${d.name} runs on bare metal: no hypervisor moves its memory`);
      if (coop && d.mode !== 'pv') return out(`debug-relocate: -c is for PV guests; ${d.name} is ${d.mode === 'hap' ? 'HVM (HAP)' : 'HVM (shadow)'}, whose pages Xen moves by itself`);
      out(relocationMessage(d, x.libxl.sim.relocate(d, pages, coop)));
    },
  },
  migrate: {
    usage: '[options] <Domain> <host>',
    summary: 'Migrate a domain to another host',
    options: [
      `<host>  the scenario's migration target, "${MIGRATION_TARGET_HOST}" (its migrationTarget: memory, pCPUs and the link to it)`,
      'Pre-copy: the first round sends all memory, each next one the pages dirtied meanwhile (log-dirty); then the domain pauses for the last pages and its vCPU state, and resumes on the target. The rounds go to the log as they happen.',
    ],
    run: (args, _raw, out, x) => {
      if (args.length !== 2 || args.some((a) => a.startsWith('-'))) return out(usageOf('migrate'));
      const d = x.libxl.find(args[0]!);
      if (!d) return out(invalid(args[0]!));
      if (args[1] !== MIGRATION_TARGET_HOST) return out(`migrate: host "${args[1]}": unknown host (the lab's one migration target is "${MIGRATION_TARGET_HOST}")`);
      const r = x.libxl.sim.migrate(d);
      out(r.ok ? `migration sender: ${r.message}` : `migrate: ${r.message}`);
    },
  },
  'mem-set': {
    usage: "<Domain> <MemMB['b'[bytes]|'k'[KB]|'g'[GB]|'m'[MB]|'t'[TB]]>",
    summary: 'Set the current memory usage for a domain',
    options: ["The new target is written to the domain's memory/target; its balloon driver gives memory to Xen or takes it back, up to its maxmem (memory/static-max)."],
    run: (args, _raw, out, x) => memCommand('mem-set', args, out, x),
  },
  'mem-max': {
    usage: "<Domain> <MemMB['b'[bytes]|'k'[KB]|'g'[GB]|'m'[MB]|'t'[TB]]>",
    summary: 'Set the maximum amount reservation for a domain',
    options: ["Xen's max_pages for the domain (plus libxl's 1 MiB); not below its current target."],
    run: (args, _raw, out, x) => memCommand('mem-max', args, out, x),
  },
  'sched-credit': {
    usage: '[-d <Domain> [-w[=WEIGHT]|-c[=CAP]]]',
    summary: 'Get/set credit scheduler parameters',
    options: ['-d DOMAIN, --domain=DOMAIN  Domain to modify', '-w WEIGHT, --weight=WEIGHT  Weight (int)', '-c CAP, --cap=CAP  Cap (int)'],
    run: (args, _raw, out, x) => schedCredit(args, out, x),
  },
  'pci-attach': {
    usage: '<Domain> <BDF> [Virtual Slot]',
    summary: 'Insert a new pass-through pci device',
    options: ['<BDF>  the device\'s PCI address (0000:03:00.0 or 03:00.0) or its id in the lab (disk0); it must be assignable (xl pci-assignable-list).', '[Virtual Slot]  accepted; a PV domain\'s pcifront sees the real address.'],
    run: pciCommand('pci-attach'),
  },
  'pci-detach': {
    usage: '[options] <Domain> <BDF>',
    summary: "Remove a domain's pass-through pci device",
    options: ['-f  Force the removal (the lab\'s removal never waits on the domain).', 'The device is reset and becomes assignable; refused while a backend in the domain serves a frontend from it.'],
    run: pciCommand('pci-detach'),
  },
  'pci-assignable-add': {
    usage: '<BDF>',
    summary: 'Make a device assignable for pci-passthru',
    options: ["dom0's driver lets go of the device (xl pci-detach from dom0): it is reset and assignable."],
    run: (args, _raw, out, x) => {
      if (args.length !== 1 || args[0]!.startsWith('-')) return out(usageOf('pci-assignable-add'));
      const spec = parsePciSpec(args[0]!);
      if (spec === null) return out(`pci-assignable-add: malformed BDF specification "${args[0]}"`);
      const dom0 = x.libxl.list().find((d) => d.privileged);
      if (dom0) hotplug(dom0, { do: 'pci-detach', device: spec }, out, x, 'libxl_device_pci_assignable_add');
    },
  },
  'pci-assignable-remove': {
    usage: '[options] <BDF>',
    summary: 'Remove a device from being assignable',
    options: ["-r  Attempt to re-assign the device to the original driver (dom0's): the lab always does, so -r is required."],
    run: (args, _raw, out, x) => {
      const rest = args.filter((a) => a !== '-r');
      if (rest.length !== 1 || rest[0]!.startsWith('-')) return out(usageOf('pci-assignable-remove'));
      const spec = parsePciSpec(rest[0]!);
      if (spec === null) return out(`pci-assignable-remove: malformed BDF specification "${rest[0]}"`);
      if (!args.includes('-r')) return out('xl: without -r the device would be left with no driver at all, which the lab does not model; use -r to give it back to dom0');
      const dom0 = x.libxl.list().find((d) => d.privileged);
      if (dom0) hotplug(dom0, { do: 'pci-attach', device: spec }, out, x, 'libxl_device_pci_assignable_remove');
    },
  },
  'block-attach': {
    usage: '<Domain> <disk-spec-component(s)>...',
    summary: 'Create a new virtual block device',
    options: ['<disk-spec>  as in xl.cfg\'s disk (e.g. backend=blkdd, vdev=xvdb, target=disk0); components may be separate words.'],
    // xl_block.c looks the domain up with libxl_domain_qualifier_to_domid (no rc in its message).
    run: specAttach('block-attach', 2, (id) => `${id} is an invalid domain identifier`, (spec) => {
      const r = parseDiskSpec(spec);
      return r.ok ? { ok: true, action: { do: 'block-attach', disk: r.disk } } : { ok: false, message: `disk spec '${spec}': ${r.message}` };
    }),
  },
  'block-detach': {
    usage: '<Domain> <DevId>',
    summary: "Destroy a domain's virtual block device",
    options: ['<DevId>  the virtual device (xvdb) or its number (51728). The backend is asked to close; both xenstore directories go once it has.'],
    run: (args, _raw, out, x) => {
      if (args.length !== 2 || args.some((a) => a.startsWith('-'))) return out(usageOf('block-detach'));
      const d = x.libxl.find(args[0]!);
      if (!d) return out(invalid(args[0]!));
      if (!d.io?.disks.some((k) => k.vdev === args[1] || String(xvdDevidOf(k.vdev)) === args[1])) return out(`Error: Device ${args[1]} not connected.`);
      hotplug(d, { do: 'block-detach', vdev: args[1]! }, out, x);
    },
  },
  'network-attach': {
    usage: '<Domain> [type=<type>] [mac=<mac>] [bridge=<bridge>] [ip=<ip>] [script=<script>] [backend=<BackDomain>] [vifname=<name>] [rate=<rate>] [model=<model>]',
    summary: 'Create a new virtual network device',
    options: ['bridge=  the NIC whose bridge the vif joins (the lab names each bridge after its NIC: bridge=nic0); required.', 'backend=  the domain running netback (default dom0); mac=  the vif\'s address.'],
    run: specAttach('network-attach', 1, invalid, (spec) => {
      const r = parseVifSpec(spec);
      return r.ok ? { ok: true, action: { do: 'network-attach', vif: r.vif } } : { ok: false, message: `vif spec '${spec}': ${r.message}` };
    }),
  },
  'network-detach': {
    usage: '<Domain> <DevId|mac>',
    summary: "Destroy a domain's virtual network device",
    run: (args, _raw, out, x) => {
      if (args.length !== 2 || args.some((a) => a.startsWith('-'))) return out(usageOf('network-detach'));
      const d = x.libxl.find(args[0]!);
      if (!d) return out(invalid(args[0]!));
      const which = args[1]!;
      // xl: a word with ':' is a MAC, anything else a devid (atoi).
      const byMac = which.includes(':');
      const devid = byMac ? -1 : /^\d+$/.test(which) ? Number(which) : -1;
      const known = d.io?.vifs.some((v) => v.backend !== d.name && (byMac ? v.mac.every((b, i) => b === parseInt(which.split(':')[i] ?? '', 16)) : v.index === devid));
      if (!known) return out(`Unknown device ${which}.`);
      hotplug(d, { do: 'network-detach', ...(byMac ? { mac: which.toLowerCase() } : { devid }) }, out, x);
    },
  },
  help: {
    usage: '[subcommand]',
    summary: 'Print usage for the xl subcommands',
    run: (args, _raw, out) => out(args[0] && SUBS[args[0]] ? usageOf(args[0]) : fullUsage()),
  },
};

/**
 * `xl sched-credit` (tools/xl/xl_sched.c): with no -w/-c, the pool line and a
 * "%-33s %4s %6s %4s" table of Name, ID, Weight, Cap (every domain, or the one given); with -d and
 * -w or -c, sets them (libxl_domain_sched_params_set; weight 1–65535, cap 0–100 × vCPUs).
 */
function schedCredit(args: string[], out: (s: string) => void, x: XlContext): void {
  let dom: string | undefined;
  let weight: string | undefined;
  let cap: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const m = /^(-d|--domain|-w|--weight|-c|--cap)(?:=(.*))?$/.exec(a);
    if (!m) return out(usageOf('sched-credit'));
    const v = m[2] ?? args[++i];
    if (v === undefined) return out(usageOf('sched-credit'));
    if (m[1] === '-d' || m[1] === '--domain') dom = v;
    else if (m[1] === '-w' || m[1] === '--weight') weight = v;
    else cap = v;
  }
  if ((weight !== undefined || cap !== undefined) && dom === undefined) return out('Must specify a domain.');
  const ds = dom === undefined ? x.libxl.list() : [x.libxl.find(dom)].filter((d): d is Vm => d !== null);
  if (dom !== undefined && ds.length === 0) return out(invalid(dom));
  if (weight !== undefined || cap !== undefined) {
    const d = ds[0]!;
    const w = weight === undefined ? undefined : Number(weight);
    const c = cap === undefined ? undefined : Number(cap);
    if (w !== undefined && !(Number.isInteger(w) && w >= 1 && w <= 65535)) return out(`libxl: error: libxl_sched.c: weight ${weight}: must be a whole number from 1 to 65535`);
    if (c !== undefined && !(Number.isInteger(c) && c >= 0 && c <= 100 * d.config.vcpus)) return out(`libxl: error: libxl_sched.c: cap ${cap}: must be a whole number from 0 (no cap) to ${100 * d.config.vcpus}`);
    x.libxl.sim.sched.set(d.domid, w, c);
    return;
  }
  out('Cpupool Pool-0: tslice=30ms ratelimit=1000us migration-delay=0us');
  out(`${'Name'.padEnd(33)} ${'ID'.padStart(4)} ${'Weight'.padStart(6)} ${'Cap'.padStart(4)}`);
  for (const d of ds) {
    const p = x.libxl.sim.sched.params(d.domid) ?? { weight: 256, cap: 0 };
    out(`${d.name.padEnd(33)} ${String(d.domid).padStart(4)} ${String(p.weight).padStart(6)} ${String(p.cap).padStart(4)}`);
  }
}

/**
 * `xl block-list`'s table (tools/xl/xl_block.c): "%-5s %-3s %-6s %-5s %-6s %-8s %-30s" headings,
 * then per disk its devid, backend domid, handle (the frontend's domid), the frontend's xenbus
 * state, event channel and ring-ref (-1 where xenstore has none), and the backend's path. A name
 * that is no domain prints xl's error line and the rest go on.
 */
/**
 * `xl network-list`'s table (tools/xl/xl_nic.c): "%-3s %-2s %-17s %-6s %-5s %-6s %5s/%-5s %-30s"
 * headings; per vif "%-3d %-2d " then the MAC (LIBXL_MAC_FMT) then "%6d %5d %6d %5d/%-11d %-30s".
 */
export function networkListLines(idents: readonly string[], x: XlContext): string[] {
  const out = [`${'Idx'.padEnd(3)} ${'BE'.padEnd(2)} ${'Mac Addr.'.padEnd(17)} ${'handle'.padEnd(6)} ${'state'.padEnd(5)} ${'evt-ch'.padEnd(6)} ${'tx-'.padStart(5)}/${'rx-ring-ref'.padEnd(5)} ${'BE-path'.padEnd(30)}`];
  for (const ident of idents) {
    const d = x.libxl.find(ident);
    if (!d) {
      out.push(`${ident} is an invalid domain identifier`);
      continue;
    }
    for (const n of x.libxl.nicList(d)) {
      out.push(`${String(n.devid).padEnd(3)} ${String(n.backendId).padEnd(2)} ${n.mac}${String(n.devid).padStart(6)} ${String(n.state).padStart(5)} ${String(n.evtch).padStart(6)} ${String(n.rrefTx).padStart(5)}/${String(n.rrefRx).padEnd(11)} ${n.backend.padEnd(30)}`);
    }
  }
  return out;
}

export function blockListLines(idents: readonly string[], x: XlContext): string[] {
  const row = (cols: (string | number)[]) => {
    const w = [5, 3, 6, 5, 6, 8, 30];
    return cols.map((c, i) => String(c).padEnd(w[i]!)).join(' ');
  };
  const out = [row(['Vdev', 'BE', 'handle', 'state', 'evt-ch', 'ring-ref', 'BE-path'])];
  for (const ident of idents) {
    const d = x.libxl.find(ident);
    if (!d) {
      out.push(`${ident} is an invalid domain identifier`);
      continue;
    }
    for (const i of x.libxl.diskList(d)) out.push(row([i.devid, i.backendId, i.frontendId, i.state, i.evtch, i.rref, i.backend]));
  }
  return out;
}

/**
 * parse_mem_size_kb (xl_utils.c): a whole number with an optional unit letter, MiB when none;
 * -1 when it is not one.
 */
export function parseMemSizeKb(mem: string): number {
  const m = /^(\d+)([bkmgtBKMGT]?)$/.exec(mem);
  if (!m) return -1;
  const n = Number(m[1]);
  switch (m[2]!.toLowerCase()) {
    case 't':
      return n * 1024 ** 3;
    case 'g':
      return n * 1024 ** 2;
    case '':
    case 'm':
      return n * 1024;
    case 'k':
      return n;
    default:
      return Math.floor(n / 1024);
  }
}

/** xl mem-set / mem-max (xl_mem.c): the size parsed as xl does, then libxl's checks (Simulation.memSet, memMax). */
function memCommand(sub: 'mem-set' | 'mem-max', args: string[], out: (line: string) => void, x: XlContext): void {
  if (args.length !== 2 || args.some((a) => a.startsWith('-'))) return out(usageOf(sub));
  const d = x.libxl.find(args[0]!);
  if (!d) return out(invalid(args[0]!));
  const kb = parseMemSizeKb(args[1]!);
  if (kb < 0) return out(`invalid memory size: ${args[1]}`);
  // The lab's balloon moves whole MiB (its results, the timeline action); xl takes KiB.
  if (kb % 1024 !== 0 || kb === 0) return out(`invalid memory size: ${args[1]} (the lab takes a whole, positive number of MiB)`);
  const sim = x.libxl.sim;
  const refused = sub === 'mem-set' ? sim.memSet(d, kb / 1024) : sim.memMax(d, kb / 1024);
  if (refused === null) {
    x.changed?.();
    return;
  }
  // libxl logs why (libxl_mem.c); xl mem-max adds its own line.
  if (refused.startsWith('memory_')) out(`libxl: error: libxl_mem.c: Domain ${d.domid}:${refused}`);
  else out(`xl: ${refused}`);
  if (sub === 'mem-max') out(`cannot set domid ${d.domid} static max memory to : ${args[1]}`);
}

export function usageOf(sub: string): string {
  const s = SUBS[sub]!;
  const lines = [`Usage: xl [-v] ${sub}${s.usage ? ' ' + s.usage : ''}`, '', `${s.summary}.`];
  if (s.options) lines.push('', 'Options:', '', ...s.options);
  return lines.join('\n');
}

export function fullUsage(): string {
  const lines = ['Usage xl [-v] <subcommand> [args]', '', 'xl full list of subcommands:', ''];
  for (const [name, s] of Object.entries(SUBS)) lines.push(` ${name.padEnd(20)}${s.summary}`);
  return lines.join('\n');
}

/** Runs `xl args...` (words after `xl`). */
export function xlMain(words: Word[], out: (s: string) => void, x: XlContext): void {
  const args = words.map((w) => w.text);
  let i = 0;
  while (args[i] === '-v') i++;
  const sub = args[i];
  if (sub === undefined || sub === '-h' || sub === '--help') return out(fullUsage());
  const s = SUBS[sub];
  if (!s) return out(`command not implemented\n${fullUsage()}`);
  const rest = args.slice(i + 1);
  if (rest.includes('-h')) return out(usageOf(sub));
  s.run(rest, words.slice(i + 1), out, x);
}

/** The commands dom0's shell has beyond a guest's: xl, and ls / cat over /etc/xen. */
export function dom0Commands(x: XlContext): Map<string, ShellCommand> {
  const println = (sh: DomainShell) => (s: string) => sh.println(s);
  return new Map<string, ShellCommand>([
    ['xl', { usage: 'xl <subcommand> [args]', summary: "the Xen toolstack ('xl help')", run: (args, sh) => xlMain(args, println(sh), x) }],
    [
      'ls',
      {
        usage: 'ls [path]',
        summary: `list files (the examples are in ${XEN_CONFIG_DIR})`,
        run: (args, sh) => {
          const path = (args[0]?.text ?? '/root').replace(/\/+$/, '') || '/';
          if (path === XEN_CONFIG_DIR) return sh.println([...EXAMPLE_CONFIGS.keys()].map((p) => p.slice(XEN_CONFIG_DIR.length + 1)).join('  '));
          if (path === '/root') return;
          if (path === '/etc') return sh.println('xen');
          if (EXAMPLE_CONFIGS.has(path)) return sh.println(path);
          sh.println(`ls: cannot access '${args[0]?.text}': No such file or directory`);
        },
      },
    ],
    [
      'cat',
      {
        usage: 'cat <file>',
        summary: 'print a file',
        run: (args, sh) => {
          if (args.length === 0) return sh.println('Usage: cat <file>');
          for (const a of args) {
            const text = EXAMPLE_CONFIGS.get((a.text.startsWith('/') ? a.text : `/root/${a.text}`).replace(/\/+/g, '/'));
            if (text !== undefined) sh.println(text.trimEnd());
            else sh.println(`cat: ${a.text}: No such file or directory`);
          }
        },
      },
    ],
  ]);
}

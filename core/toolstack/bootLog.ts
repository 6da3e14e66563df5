/**
 * Boot logs, written from what the simulation actually built: the hypervisor's "(XEN) ..." log
 * (memory, pCPUs, HAP and shadow support, dom0's construction), a KVM host's log, and each
 * guest kernel's log in the style of Linux's (what the kernel found: native, Xen PV, Xen HVM or
 * KVM; its paging mode, page sizes and walk length; memory; vCPUs). Timestamps are simulated
 * time at the clock of the scenario's CPU profile (machine.cpu).
 */
import type { CpuFeatures } from '../machine/cpu.js';
import { XEN_RESERVED_MIB } from '../api/scenario.js';
import { VERSION } from '../api/version.js';
import { LEVELS_FOR_PAGE_SIZE } from '../base/types.js';
import type { Vm } from '../vm/vm.js';
import type { Simulation } from '../sim/simulation.js';

export const XEN_MAJOR = 4;
export const XEN_MINOR = 17;
export const XEN_EXTRA = '.0-hyperlab';
export const XEN_VERSION = `${XEN_MAJOR}.${XEN_MINOR}${XEN_EXTRA}`;
export const LINUX_RELEASE = '6.1.0-hyperlab';
/** The host's name (dom0's hostname; `xl info` host). */
export const HOST_NAME = 'hyperlab';

/** Linux's printk time prefix, `[    1.234567] `, for a time in seconds. */
export function stamp(seconds: number): string {
  const us = Math.max(0, Math.floor(seconds * 1e6));
  const s = Math.floor(us / 1e6);
  return `[${String(s).padStart(5)}.${String(us % 1e6).padStart(6, '0')}] `;
}

/** Simulated seconds of `cycles` at a clock of `clockGHz` (the run's CPU profile's: sim.xen.cpu). */
export function cyclesToSeconds(cycles: number, clockGHz: number): number {
  return cycles / (clockGHz * 1e9);
}

const hex16 = (n: number) => '0x' + n.toString(16).padStart(16, '0');
const hexN = (n: number) => '0x' + n.toString(16);

/** References a TLB miss costs in this domain's mode, before any cache helps (DESIGN.md §3). */
export function walkRefs(d: Vm): number {
  const g = LEVELS_FOR_PAGE_SIZE[d.config.guestPageSize];
  switch (d.mode) {
    case 'hap':
      return (g + 1) * (LEVELS_FOR_PAGE_SIZE[d.config.hostPageSize] + 1) - 1;
    case 'shadow':
      return 4; // guest superpages are splintered into 4 KiB shadow L1s
    case 'pv':
      return 4;
    case 'native':
      return g;
  }
}

/** One phrase for the paging mode, as the xen log and `xl list -v`-like lines show it. */
export function pagingSummary(d: Vm): string {
  const c = d.config;
  switch (d.mode) {
    case 'pv':
      return 'PV direct paging (guest tables hold mfns, validated by Xen), 4k pages';
    case 'shadow':
      return `shadow paging (pool ${d.dom.xenFrames.length} pages, out-of-sync L1s ${(c.shadowOutOfSync ?? true) ? 'on' : 'off'}${c.shadowEarlyUnshadow === false ? ', early unshadow off' : ''}), guest ${c.guestPageSize} pages`;
    case 'hap':
      return `HAP/EPT nested paging, guest ${c.guestPageSize} pages, host ${c.hostPageSize} pages, ${walkRefs(d)} refs per TLB miss`;
    case 'native':
      return `native paging, ${c.guestPageSize} pages`;
  }
}

function hvName(d: Vm): string {
  const kind = d.dom.xen.kind;
  if (kind === 'none') return 'bare metal';
  if (kind === 'kvm') return 'KVM';
  return d.mode === 'pv' ? 'Xen PV' : d.privileged ? 'Xen PVH' : 'Xen HVM';
}

/** The guest kernel's boot messages (no timestamps). */
export function guestBootMessages(d: Vm): string[] {
  const c = d.config;
  const k = d.kernel;
  const kind = d.dom.xen.kind;
  const bytes = d.dom.nrPages * 4096;
  const tty = d.mode === 'pv' || kind === 'xen' ? 'hvc0' : 'ttyS0';
  const out: string[] = [
    `Linux version ${LINUX_RELEASE} (root@${HOST_NAME}) (gcc (Hyperlab) 12.2.0) #1 SMP PREEMPT_DYNAMIC`,
    `Command line: root=/dev/${kind === 'xen' ? 'xvda1' : 'vda1'} ro console=${tty}`,
  ];
  if (kind === 'xen' && d.mode === 'pv') {
    out.push('Booting paravirtualized kernel on Xen', `Xen version: ${XEN_VERSION}${d.privileged ? ' (dom0)' : ''}`);
  } else if (kind === 'xen') {
    out.push(`Hypervisor detected: ${hvName(d)}`, `Xen version ${XEN_MAJOR}.${XEN_MINOR}.`);
  } else if (kind === 'kvm') {
    out.push('Hypervisor detected: KVM', 'kvm-clock: Using msrs 4b564d01 and 4b564d00');
  } else {
    out.push('DMI: Hyperlab emulated x86-64 machine, BIOS 0.1 (no hypervisor)');
  }
  out.push(d.mode === 'pv' ? 'Xen-provided physical RAM map:' : 'BIOS-provided physical RAM map:');
  out.push(`${d.mode === 'pv' ? 'Xen' : 'BIOS-e820'}: [mem ${hex16(0)}-${hex16(bytes - 1)}] usable`);
  out.push(...pagingMessages(d));
  out.push(`smpboot: Allowing ${c.vcpus} CPUs, 0 hotplug CPUs`);
  const kib = (pages: number) => `${pages * 4}K`;
  out.push(`Memory: ${kib(k.nrUsable)}/${kib(d.dom.nrPages)} available (${kib(d.dom.nrPages - k.nrUsable)} kernel code, page tables and reserved)`);
  out.push(`smp: Brought up 1 node, ${c.vcpus} CPU${c.vcpus === 1 ? '' : 's'}`);
  if (kind === 'xen') out.push(`xen:events: Using FIFO-based ABI`, `xen: domid ${d.domid}${d.privileged ? ', privileged (dom0): owns the hardware, runs the toolstack' : ''}`);
  if (d.privileged) out.push('xenstored: started; /local/domain/0 written');
  out.push('Run /sbin/init as init process');
  return out;
}

function pagingMessages(d: Vm): string[] {
  const c = d.config;
  const kind = d.dom.xen.kind;
  const refs = walkRefs(d);
  switch (d.mode) {
    case 'pv':
      return [
        'x86/mm: paging: Xen PV direct paging: the CPU walks this kernel\'s own 4-level tables, which hold machine frames (mfn)',
        'x86/mm: page tables are mapped read-only; every update is a hypercall Xen validates (mmu_update, mmuext_op, update_va_mapping)',
        `Xen: p2m: ${d.dom.nrPages} pfn->mfn entries (pfn 0 -> mfn ${hexN(d.dom.p2m[0]!)}); initial L4 at mfn ${hexN(d.dom.guestCr3)}, pinned`,
        `x86/mm: page sizes: 4K only (Xen PV: no superpages); ${refs} memory references per TLB miss`,
      ];
    case 'shadow': {
      const who = kind === 'kvm' ? 'KVM' : 'Xen';
      return [
        `x86/mm: paging: ${kind === 'kvm' ? 'KVM shadow MMU (no TDP)' : 'Xen HVM shadow paging'}: this kernel's tables are in guest-physical frames (gfn); ${who} write-protects them and the CPU walks ${who}'s shadow copies`,
        `x86/mm: page-table writes trap and are emulated; CR3 writes and INVLPG exit${(c.shadowOutOfSync ?? true) ? '; out-of-sync L1 shadows on' : '; out-of-sync L1 shadows off'}${c.shadowEarlyUnshadow === false ? '; early unshadow off (every write to a shadowed table traps)' : ''}`,
        `x86/mm: page sizes: guest ${c.guestPageSize.toUpperCase()}${c.guestPageSize === '4k' ? '' : ' (splintered into 4K shadow L1s)'}; ${refs} memory references per TLB miss`,
      ];
    }
    case 'hap': {
      const g = LEVELS_FOR_PAGE_SIZE[c.guestPageSize];
      const m = LEVELS_FOR_PAGE_SIZE[c.hostPageSize];
      return [
        `x86/mm: paging: ${kind === 'kvm' ? 'KVM TDP MMU (EPT)' : 'Xen HVM hardware-assisted paging (HAP, EPT)'}: this kernel's own tables in guest-physical frames; the CPU translates each through the nested table`,
        `x86/mm: 2D walk: guest ${g} levels x host ${m} levels = (${g}+1)(${m}+1)-1 = ${refs} memory references per TLB miss`,
        `x86/mm: page sizes: guest ${c.guestPageSize.toUpperCase()}, host (EPT) ${c.hostPageSize.toUpperCase()}; CR3 writes and INVLPG do not exit (VPID ${d.dom.ctx.vpid})`,
      ];
    }
    case 'native':
      return [
        'x86/mm: paging: native 4-level page tables, walked by the CPU; no hypervisor',
        `x86/mm: page sizes: ${c.guestPageSize.toUpperCase()}; ${refs} memory references per TLB miss`,
      ];
  }
}

/** A line per guest boot message, stamped across the cycles its boot took. */
export function stampedBoot(d: Vm): string[] {
  const msgs = guestBootMessages(d);
  const n = msgs.length;
  return msgs.map((m, i) => stamp(cyclesToSeconds((d.dom.bootCycles * i) / Math.max(1, n - 1), d.dom.xen.cpu.clockGHz)) + m);
}

/** The hypervisor's boot log, through dom0's construction (lines without the "(XEN) " prefix). */
export function xenBootMessages(sim: Simulation): string[] {
  const s = sim.scenario;
  const m = sim.xen.mmuConfig;
  const mib = s.machine.memoryMiB;
  const dom0 = sim.domains.find((d) => d.privileged);
  const out = [
    `Xen version ${XEN_VERSION} (root@${HOST_NAME}) (gcc (Hyperlab) 12.2.0) debug=n  Hyperlab ${VERSION}`,
    `Command line: dom0_mem=${dom0?.config.memoryMiB ?? 0}M,max:${dom0?.config.memoryMiB ?? 0}M console=com1`,
    `Xen-e820 RAM map:`,
    ` [${hex16(0)}, ${hex16(mib * 2 ** 20 - 1)}] (usable)`,
    `System RAM: ${mib}MB (${mib * 1024}kB)`,
    `Domain heap initialised; Xen keeps ${XEN_RESERVED_MIB}MB (frame table, its own page tables)`,
    `Detected ${(sim.xen.cpu.clockGHz * 1000).toFixed(3)} MHz processor.`,
    ...vmxMessages(sim.xen.cpu.features),
    'HVM: shadow paging available (out-of-sync L1 shadows)',
    `TLB: 4K ${m.tlb4k.entries} entries ${m.tlb4k.ways}-way, 2M ${m.tlb2m.entries}/${m.tlb2m.ways}, 1G ${m.tlb1g.entries}/${m.tlb1g.ways}; paging-structure caches ${m.psc.enabled ? 'on' : 'off'}; nested TLB ${m.nestedTlb.enabled ? 'on' : 'off'}`,
    `Brought up ${s.machine.pcpus} CPU${s.machine.pcpus === 1 ? '' : 's'}`,
  ];
  if (dom0) {
    out.push(
      '*** LOADING DOMAIN 0 ***',
      ` Xen  kernel: 64-bit, lsb`,
      ` Dom0 kernel: 64-bit, ${dom0.mode === 'pv' ? 'PV' : 'PVH'}, lsb`,
      ` Dom0 alloc.: ${dom0.dom.nrPages} pages (${dom0.config.memoryMiB} MiB), mfn ${hexN(dom0.dom.p2m[0]!)}-${hexN(dom0.dom.p2m[dom0.dom.nrPages - 1]!)}`,
      `Dom0 has maximum ${dom0.config.vcpus} VCPUs`,
      `d0: ${pagingSummary(dom0)}`,
      'Std. Loglevel: All',
      "*** Serial input to Xen (type 'h' for a list of debug keys)",
      'Freed 640kB init memory',
    );
  }
  return out;
}

/** What Xen's start_vmx() reports for the CPU's VT-x features (its lines, as xen/arch/x86/hvm/vmx/vmcs.c prints them). */
function vmxMessages(f: CpuFeatures): string[] {
  const adv = vmxFeatures(f);
  return [
    adv ? `VMX: Supported advanced features: ${adv}` : 'VMX: no advanced features (no EPT, no VPID: every VM exit flushes the TLB)',
    ...(f.vpid ? ['HVM: ASIDs enabled.'] : ['HVM: ASIDs disabled.']),
    'HVM: VMX enabled',
    ...(f.ept ? ['HVM: Hardware Assisted Paging (HAP) detected', `HVM: HAP page sizes: 4kB, 2MB${f.page1g ? ', 1GB' : ''}`] : ['HVM: Hardware Assisted Paging (HAP) not detected']),
  ];
}

/** "EPT, VPID", "EPT" … or "" for what the CPU's VT-x has. */
function vmxFeatures(f: CpuFeatures): string {
  return [f.ept ? 'EPT' : null, f.vpid ? 'VPID' : null].filter((x) => x !== null).join(', ');
}

/** A KVM host's log: the host kernel and kvm_intel. */
export function kvmHostMessages(sim: Simulation): string[] {
  const s = sim.scenario;
  return [
    `Linux version ${LINUX_RELEASE} (root@${HOST_NAME}) (gcc (Hyperlab) 12.2.0) #1 SMP PREEMPT_DYNAMIC  Hyperlab ${VERSION}`,
    `Memory: ${s.machine.memoryMiB * 1024}K total`,
    `smp: Brought up 1 node, ${s.machine.pcpus} CPU${s.machine.pcpus === 1 ? '' : 's'}`,
    `kvm_intel: VMX supported: ${vmxFeatures(sim.xen.cpu.features) || 'no EPT, no VPID'}`,
    sim.xen.cpu.features.ept ? 'kvm: TDP MMU (EPT) available; shadow MMU available (tdp_mmu=0)' : 'kvm: no EPT: shadow MMU only',
  ];
}

/** What the hypervisor logs when a domain is built. */
export function domainCreatedMessage(d: Vm): string {
  const type = d.mode === 'pv' ? 'PV' : d.mode === 'native' ? 'native' : d.privileged ? 'PVH' : 'HVM';
  return `d${d.domid}: created "${d.name}": ${d.config.memoryMiB} MiB (${d.dom.nrPages} pages), ${d.config.vcpus} vCPU${d.config.vcpus === 1 ? '' : 's'}, ${type}, ${pagingSummary(d)}`;
}

/**
 * A KVM host: one Linux kernel whose processes include a qemu-system-x86_64 per guest. A guest's
 * RAM is anonymous memory of its qemu process, registered with KVM as a memory slot; KVM resolves
 * a guest frame by gfn → hva (the slot) → pfn (the qemu process's page tables, faulting the page
 * in on first touch: hva_to_pfn → get_user_pages → handle_mm_fault, virt/kvm/kvm_main.c), both on
 * an EPT violation (TDP) and when its shadow MMU builds an entry (arch/x86/kvm/mmu/mmu.c,
 * kvm_faultin_pfn). The largest EPT leaf KVM installs is the level of the host's own mapping
 * (host_pfn_mapping_level), so a guest gets 2 MiB EPT pages only where qemu's memory is a
 * transparent huge page.
 */
import type { DomainConfig } from '../../api/scenario.js';
import type { KvmResults } from '../../api/results.js';
import type { CostTable } from '../../machine/cost.js';
import { C } from '../../machine/counters.js';
import type { Counters } from '../../machine/counters.js';
import type { MachineMemory } from '../../machine/memory.js';
import { EINVAL, EPERM, ESRCH } from '../../base/errno.js';
import { HostMm } from './hostMm.js';
import { gfnToHvaMemslot, searchMemslots, type KvmMemorySlot } from './memslot.js';

/**
 * Where qemu's guest RAM sits in its address space: 1 GiB aligned, as qemu aligns a RAM block to
 * the host's largest page size (qemu_ram_mmap's alignment), so that gfn and hva agree modulo a huge
 * page and KVM may map 2 MiB and 1 GiB leaves (kvm_alloc_memslot_metadata disallows large pages
 * where they do not).
 */
export const QEMU_RAM_HVA = 0x7f00_0000_0000;
/** The first pid the lab gives a qemu (the host's own daemons come first; any number would do). */
export const FIRST_QEMU_PID = 1201;
/** SIGKILL (asm-generic/signal.h) and SIGTERM: both end a qemu; the lab models no handler. */
export const SIGKILL = 9;
export const SIGTERM = 15;

/** What KVM did for one guest in the host: results' kvm faultins, hostPageFaults, hostWalkRefs, hostCycles. */
export type KvmVmStats = Pick<KvmResults, 'faultins' | 'hostPageFaults' | 'hostWalkRefs' | 'hostCycles'>;

/** The virtio path of one guest, on the host's side: results' kvm.io (core/api/results.ts says what each count is). */
export type KvmIoStats = KvmResults['io'];

const zeroIo = (): KvmIoStats => ({ notifies: 0, irqfdInjections: 0, hostInterrupts: 0, hostContextSwitches: 0, syscalls: 0, copies: 0, qemuPageFaults: 0, kvmCycles: 0, hostKernelCycles: 0, qemuCycles: 0 });

export interface HostProcess {
  readonly pid: number;
  /** The process name (task->comm, 15 characters at most). */
  readonly comm: string;
  readonly cmdline: string;
  /** A kernel thread ([kthreadd], vhost-<pid>) has no mm. */
  readonly mm: HostMm | null;
  /** The guest a qemu (or its vhost worker) serves. */
  readonly domid?: number;
}

export interface QemuVm {
  readonly proc: HostProcess & { readonly mm: HostMm };
  readonly slots: readonly KvmMemorySlot[];
  /** Since the guest's counters last restarted (resetStats, with them). */
  readonly stats: KvmVmStats;
  readonly io: KvmIoStats;
  resetStats(): void;
}

/** What KVM needs of the guest's domain: its counters and which frames back its RAM. */
export interface KvmGuest {
  readonly domid: number;
  readonly config: DomainConfig;
  readonly counters: Counters;
  /** The frames set aside for the guest's RAM (qemu's anonymous memory), gfn order. */
  readonly p2m: Int32Array;
}

export class KvmHost {
  private readonly procs: HostProcess[] = [
    { pid: 1, comm: 'systemd', cmdline: '/sbin/init', mm: null },
    { pid: 2, comm: 'kthreadd', cmdline: '[kthreadd]', mm: null },
  ];
  private readonly vms = new Map<number, QemuVm>();
  private nextPid = FIRST_QEMU_PID;

  constructor(
    private readonly mem: MachineMemory,
    private readonly costs: CostTable,
  ) {}

  /**
   * Starts `qemu-system-x86_64` for a guest: its RAM mmap'd anonymous (nothing resident yet),
   * KVM_CREATE_VM, and one memory slot covering the RAM (KVM_SET_USER_MEMORY_REGION, slot 0,
   * guest_phys_addr 0). A vif served by vhost-net gets the host's vhost worker thread, named
   * after qemu's pid as vhost_dev_set_owner names it. `allocTable` gives the host's page-table
   * frames (they are the host kernel's memory).
   */
  spawnQemu(g: KvmGuest, allocTable: () => number): QemuVm {
    const c = g.config;
    const pid = this.nextPid++;
    const mm = new HostMm(this.mem, allocTable);
    const pages = g.p2m.length;
    const maxLevel = c.hostPageSize === '1g' ? 3 : c.hostPageSize === '2m' ? 2 : 1;
    mm.mmapAnon({ start: QEMU_RAM_HVA, pages, maxLevel, backing: g.p2m, name: 'pc.ram' });
    const vhost = (c.vifs ?? []).some((v) => v.backend === 'vhost');
    const args = [`-name ${c.name}`, `-m ${c.memoryMiB}`, `-smp ${c.vcpus}`, '-machine pc,accel=kvm'];
    if (maxLevel === 3) args.push('-mem-path /dev/hugepages');
    (c.disks ?? []).forEach((dk, i) => args.push(`-drive file=/dev/${dk.device},if=virtio,cache=none,id=disk${i}`));
    (c.vifs ?? []).forEach((v, i) => args.push(`-netdev tap,id=net${i}${v.backend === 'vhost' ? ',vhost=on' : ''} -device virtio-net-pci,netdev=net${i}`));
    const proc = { pid, comm: 'qemu-system-x86', cmdline: `qemu-system-x86_64 ${args.join(' ')}`, mm, domid: g.domid };
    this.procs.push(proc);
    if (vhost) this.procs.push({ pid: this.nextPid++, comm: `vhost-${pid}`, cmdline: `[vhost-${pid}]`, mm: null, domid: g.domid });
    const vm: QemuVm = {
      proc,
      slots: [{ id: 0, baseGfn: 0, npages: pages, userspaceAddr: QEMU_RAM_HVA, flags: 0 }],
      stats: { faultins: 0, hostPageFaults: 0, hostWalkRefs: 0, hostCycles: 0 },
      io: zeroIo(),
      resetStats() {
        Object.assign(this.stats, { faultins: 0, hostPageFaults: 0, hostWalkRefs: 0, hostCycles: 0 });
        Object.assign(this.io, zeroIo());
      },
    };
    this.vms.set(g.domid, vm);
    return vm;
  }

  vm(domid: number): QemuVm | undefined {
    return this.vms.get(domid);
  }

  /** The host's processes, by pid (what ps lists). */
  processes(): readonly HostProcess[] {
    return [...this.procs].sort((a, b) => a.pid - b.pid);
  }

  process(pid: number): HostProcess | undefined {
    return this.procs.find((p) => p.pid === pid);
  }

  /**
   * kvm_faultin_pfn for `gfn` of guest `g`: the slot gives the hva, a GUP-fast walk of qemu's page
   * tables the frame; if the page is not resident, get_user_pages faults it in (handle_mm_fault,
   * which zeroes the new anonymous page or huge page). Returns the level of qemu's mapping of it
   * (1, 2 or 3: the largest leaf KVM may use), or 0 when the gfn is in no slot or its hva in no
   * mapping (KVM would exit to qemu with KVM_EXIT_MMIO, or fail with -EFAULT). Costs go to the
   * guest's hypervisor cycles (KVM runs in the host kernel on the guest's vCPU thread).
   */
  faultinPfn(g: KvmGuest, gfn: number): number {
    const vm = this.vms.get(g.domid);
    if (!vm) return 0;
    const slot = searchMemslots(vm.slots, gfn);
    if (!slot) return 0;
    const hva = gfnToHvaMemslot(slot, gfn);
    const st = vm.stats;
    const c = g.counters.c;
    st.faultins++;
    let w = vm.proc.mm.walk(hva);
    let cycles = w.refs * this.costs.walkRefCached;
    st.hostWalkRefs += w.refs;
    if (w.frame < 0) {
      const level = vm.proc.mm.handleMmFault(hva);
      if (level === 0) {
        c[C.CycHv] += cycles;
        st.hostCycles += cycles;
        return 0;
      }
      st.hostPageFaults++;
      cycles += this.costs.hostPageFault + 2 ** (9 * (level - 1)) * this.costs.zeroPage;
      // GUP's retry finds the new leaf: a second walk, whose leaf level bounds KVM's mapping.
      w = vm.proc.mm.walk(hva);
      cycles += w.refs * this.costs.walkRefCached;
      st.hostWalkRefs += w.refs;
    }
    c[C.CycHv] += cycles;
    st.hostCycles += cycles;
    return w.level;
  }

  /**
   * qemu's own load or store at guest-physical `gpa` (address_space_map on its RAM block): through
   * the memslot's hva and qemu's page tables, faulting the page in if the guest never touched it.
   * Returns the machine frame, or -1 outside guest RAM. No cycles: the caller charges qemu's work.
   */
  qemuAccess(domid: number, gpa: number): number {
    const vm = this.vms.get(domid);
    if (!vm) return -1;
    const gfn = Math.floor(gpa / 4096);
    const slot = searchMemslots(vm.slots, gfn);
    if (!slot) return -1;
    const hva = gfnToHvaMemslot(slot, gfn);
    let w = vm.proc.mm.walk(hva);
    if (w.frame < 0) {
      if (vm.proc.mm.handleMmFault(hva) === 0) return -1;
      vm.io.qemuPageFaults++;
      w = vm.proc.mm.walk(hva);
    }
    return w.frame;
  }

  /**
   * kill(pid, sig): SIGKILL or SIGTERM ends a qemu (its guest goes with it: the caller destroys
   * the domain) and its vhost thread. A vhost worker is a thread of qemu's thread group (vhost_task,
   * Linux 6.4 and later), so a fatal signal to it ends qemu as well. Returns the guest's domid, or a negative errno (base/errno.ts): -ESRCH
   * (no such process), -EINVAL (a signal the lab does not deliver), or -EPERM for the host's own
   * processes (the lab's shell is not root's shell over init).
   */
  kill(pid: number, sig = SIGTERM): number {
    if (sig !== SIGKILL && sig !== SIGTERM) return EINVAL;
    const p = this.procs.find((q) => q.pid === pid);
    if (!p) return ESRCH;
    if (p.domid === undefined) return EPERM;
    return p.domid;
  }

  /**
   * The guest's qemu has exited (killed, or the VM was destroyed): its processes go, its mm with
   * them. Returns the frames of qemu's page tables, for the caller to free.
   */
  reap(domid: number): number[] {
    const vm = this.vms.get(domid);
    this.vms.delete(domid);
    for (let i = this.procs.length - 1; i >= 0; i--) if (this.procs[i]!.domid === domid) this.procs.splice(i, 1);
    return vm ? vm.proc.mm.tableFrames.slice() : [];
  }
}

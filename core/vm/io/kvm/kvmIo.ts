/**
 * A guest's devices under KVM: virtio-pci functions emulated by its qemu, whose disk images are
 * the host's block devices, driven by the host kernel's own drivers (the machine's disks belong to
 * the host). The path of one virtio-blk request:
 *
 *   guest virtio_blk: descriptor chain + avail ring, OUT to the notify register
 *     → VM exit (IO_INSTRUCTION); KVM finds the ioeventfd registered on that port and signals it
 *     → qemu's I/O thread wakes (a host context switch), pops the chain through its mapping of
 *       guest RAM, and calls preadv/pwritev/fdatasync (a system call)
 *     → the host block layer and NVMe driver: a command, DMA straight into the guest's pages
 *       (O_DIRECT), an MSI on completion, the host's interrupt handler
 *     → qemu (woken again) writes the status byte and the used ring and signals the irqfd
 *     → KVM injects the interrupt at the guest's next VM entry; the guest's handler ends it.
 *
 * Host work runs on the guest's pCPU (its qemu threads share it with its vCPU thread) and is
 * charged to the guest's hypervisor cycles, split in results kvm.io into KVM, host kernel and qemu.
 */
import { C, Vx } from '../../../machine/counters.js';
import type { NvmeDisk } from '../../../machine/devices/disk.js';
import type { KvmIoStats } from '../../../hv/kvm/kvmHost.js';
import type { XenIoEnv } from '../../../guest/io/env.js';
import type { NvmeDriver } from '../../../guest/io/nvme.js';
import { bindNvme } from '../nvmeBind.js';
import { VirtioBlkFront } from '../../../guest/io/virtioBlk.js';
import type { Vm } from '../../vm.js';
import type { IoWorld, SnoopReport, VmIo } from '../ioWorld.js';
import { QemuVirtioBlk } from './qemuVirtioBlk.js';
import { VirtioNetBackend } from './virtioNetBackend.js';
import { VirtioNetFront } from '../../../guest/io/virtioNet.js';
import { Bridge, E1000Driver } from '../../../guest/io/e1000.js';
import type { E1000Nic } from '../../../machine/devices/nic.js';
import { macString, type VifDrops } from '../../../guest/io/netfront.js';
import { VIRTIO_NET_TX_QUEUE } from '../../../api/public/io/virtio.js';
import { vifMac } from '../ioWorld.js';
import { fnv1a32 } from '../../../guest/io/hash.js';

/**
 * Per-request costs of the virtio path, in cycles on the modern profile's core. Linux's and qemu's
 * paths have no published per-step breakdown the lab can cite; each is an estimate named after
 * the Xen step it matches (IO_PATH_COSTS), so the two paths are priced alike where they do alike:
 *  - guest request / completion: virtio_queue_rq and virtblk_done, as blkfront's (~1 µs each);
 *  - ioeventfd: kvm_io_bus_write finding the eventfd and eventfd_signal's wake-up (~0.2 µs);
 *  - qemu request: virtqueue_pop (the chain and address_space_map) and building the aio, as
 *    blkback's request (~2 µs); qemu completion: the status, virtqueue_push, as blkback's response;
 *  - host block submit / completion: the block layer under preadv/pwritev, as the native
 *    DirectBlock path's (~1 µs each; the system call itself is the cost table's `syscall`);
 *  - irqfd: irqfd_wakeup → kvm_set_irq and the injection at the next VM entry (~0.3 µs).
 * The VM exit, the host's interrupt entry (faultTrap), the guest's interrupt delivery (faultTrap)
 * and the context switches to qemu's thread and back (contextSwitch) come from the cost table.
 */
export const KVM_IO_COSTS = {
  guestRequest: 3000, // IO_PATH_COSTS.frontRequest
  guestComplete: 3000, // IO_PATH_COSTS.frontComplete
  ioeventfd: 600,
  qemuRequest: 6000, // IO_PATH_COSTS.backRequest
  qemuComplete: 1000, // IO_PATH_COSTS.backResponse
  hostSubmit: 3000, // DirectBlock's request (IO_PATH_COSTS.frontRequest)
  hostComplete: 3000, // DirectBlock's completion (IO_PATH_COSTS.frontComplete)
  irqfd: 1000,
  /** The host's NVMe driver, as a Xen backend's (IO_PATH_COSTS.nvmeCommand, nvmeInterrupt). */
  nvmeCommand: 1000,
  nvmeInterrupt: 3000,
  /** virtio-net in the guest: start_xmit, a received frame up, a transmit freed (NET_PATH_COSTS' netfront figures). */
  netXmit: 3000,
  netRxFrame: 4500,
  netTxComplete: 1000,
  /** qemu's virtio-net per frame (a chain popped and pushed), as netback's receive (NET_PATH_COSTS.backRxFrame). */
  qemuNetFrame: 3000,
  /** vhost-net's per frame in the host kernel: vhost_get_vq_desc and the used entry, a third of qemu's (no user-space dispatch), estimate. */
  vhostNetFrame: 1000,
  /** The tap device per frame (tun_get_user / tun_net_xmit, the socket queue), as a bridge forward (NET_PATH_COSTS.bridgeForward). */
  tap: 1500,
  /** The host's e1000 driver and bridge, as a Xen backend domain's (NET_PATH_COSTS). */
  e1000Interrupt: 3000,
  e1000RxFrame: 3000,
  e1000TxFrame: 1800,
  e1000TxClean: 600,
  bridgeForward: 1500,
} as const;

/** One of the machine's disks as the host kernel drives it, and the guests whose images are on it. */
interface HostDisk {
  readonly driver: NvmeDriver;
  readonly users: Vm[];
}

const hostDisks = new WeakMap<IoWorld, Map<string, HostDisk>>();

/** One of the machine's NICs as the host drives it: its driver, the bridge the guests' taps are on. */
interface HostNic {
  readonly driver: E1000Driver;
  readonly bridge: Bridge;
  readonly users: Vm[];
}

const hostNics = new WeakMap<IoWorld, Map<string, HostNic>>();
/** The guest whose host-side work is running (its cycles are charged to it). */
let current: { vm: Vm; io: KvmIoStats } | null = null;

function runFor(vm: Vm, io: KvmIoStats, fn: () => void): void {
  const prev = current;
  current = { vm, io };
  try {
    fn();
  } finally {
    current = prev;
  }
}

function chargeHost(vm: Vm, io: KvmIoStats, bucket: 'kvmCycles' | 'hostKernelCycles' | 'qemuCycles', cycles: number): void {
  vm.counters.c[C.CycHv] += cycles;
  io[bucket] += cycles;
}

/** The kernel environment a KVM guest's drivers get: its pages; nothing of Xen's. */
function guestEnv(world: IoWorld, vm: Vm): XenIoEnv {
  const mem = vm.dom.mem;
  const p2m = vm.dom.p2m;
  const noXen = (what: string) => (): never => {
    throw new Error(`${vm.name}: ${what} is Xen's; a KVM guest has none (its devices are virtio, emulated by qemu)`);
  };
  return {
    domid: vm.domid,
    home: '',
    autoTranslated: true,
    evtchn: { allocUnbound: noXen('an event channel'), bindInterdomain: noXen('an event channel'), bindPirq: noXen('a pirq'), send: noXen('an event channel'), close: noXen('an event channel'), onPort: noXen('an event channel') },
    grants: { grantForeignTransfer: noXen('a grant table'), endForeignTransfer: noXen('a grant table'), grantForeignAccess: noXen('a grant table'), endForeignAccess: noXen('a grant table'), freeRef: noXen('a grant table') },
    gnttab: { mapGrantRef: noXen('a grant table'), unmapGrantRef: noXen('a grant table'), copy: noXen('a grant table') },
    xs: { read: () => null, write: noXen('xenstore'), rm: noXen('xenstore'), watch: noXen('xenstore'), unwatch: noXen('xenstore') },
    flip: null,
    page: (pfn) => mem.bytes(p2m[pfn]!),
    mappedPage: noXen('a grant mapping'),
    grantPages: { alloc: noXen('a grant page'), free: noXen('a grant page') },
    hostPage: noXen('a grant host mapping'),
    busAddr: (pfn) => pfn * 4096,
    grantFrame: (pfn) => pfn,
    allocPage: () => vm.kernel.allocPage(true),
    freePage: (pfn) => vm.kernel.freePage(pfn),
    charge: (cycles) => {
      vm.counters.c[C.CycGuest] += cycles;
    },
    now: () => world.now(),
    log: (line) => {
      vm.kernel.log.push(line);
    },
  };
}

/** The host kernel's environment for its own drivers: its pages are machine frames (its direct map). */
function hostEnv(world: IoWorld): XenIoEnv {
  const base = guestEnvFree();
  const xen = world.hv;
  return {
    ...base,
    page: (pfn) => xen.mem.bytes(pfn),
    busAddr: (pfn) => pfn * 4096,
    allocPage: () => {
      const m = xen.allocXenFrame();
      xen.mem.scrub(m);
      return m;
    },
    freePage: (pfn) => xen.freeStolenPage(pfn),
    charge: (cycles) => {
      if (current) chargeHost(current.vm, current.io, 'hostKernelCycles', cycles);
    },
    now: () => world.now(),
    log: () => {},
  };
}

function guestEnvFree(): XenIoEnv {
  const no = (): never => {
    throw new Error('the KVM host kernel has no Xen interfaces');
  };
  return {
    domid: -1,
    home: '',
    autoTranslated: false,
    evtchn: { allocUnbound: no, bindInterdomain: no, bindPirq: no, send: no, close: no, onPort: no },
    grants: { grantForeignTransfer: no, endForeignTransfer: no, grantForeignAccess: no, endForeignAccess: no, freeRef: no },
    gnttab: { mapGrantRef: no, unmapGrantRef: no, copy: no },
    xs: { read: () => null, write: no, rm: no, watch: no, unwatch: no },
    flip: null,
    page: no,
    mappedPage: no,
    grantPages: { alloc: no, free: no },
    hostPage: no,
    busAddr: no,
    grantFrame: no,
    allocPage: no,
    freePage: no,
    charge: no,
    now: no,
    log: no,
  };
}

/**
 * The host takes a device's MSI itself (no hypervisor between): its handler runs on the pCPU of a
 * live guest using the device, charged to that guest (the host's work for it).
 */
function hostMsi(world: IoWorld, id: string, users: readonly Vm[], interrupt: () => void): void {
  const msi = world.deviceMsi(id);
  msi.program(0xfee00000, world.deviceVector(id));
  msi.handler = () => {
    const vm = users.find((u) => world.isLive(u));
    if (!vm) return;
    const q = vm.dom.xen.kvm!.vm(vm.domid)!;
    world.post(vm.domid, () =>
      runFor(vm, q.io, () => {
        q.io.hostInterrupts++;
        chargeHost(vm, q.io, 'hostKernelCycles', vm.dom.costs.faultTrap);
        interrupt();
      }),
    );
  };
}

/** The host's NVMe driver for `disk` (bound once, at the first guest whose image is on it), its MSI handled by the host. */
function hostDisk(world: IoWorld, disk: NvmeDisk): HostDisk {
  let m = hostDisks.get(world);
  if (!m) hostDisks.set(world, (m = new Map()));
  const have = m.get(disk.id);
  if (have) return have;
  const driver = bindNvme(hostEnv(world), disk, { command: KVM_IO_COSTS.nvmeCommand, interrupt: KVM_IO_COSTS.nvmeInterrupt });
  const hd: HostDisk = { driver, users: [] };
  hostMsi(world, disk.id, hd.users, driver.interrupt);
  m.set(disk.id, hd);
  return hd;
}

/** The host's e1000 driver and bridge (br0, the taps' bridge) for `nic`, bound once; its MSI handled by the host. */
function hostNic(world: IoWorld, nic: E1000Nic): HostNic {
  let m = hostNics.get(world);
  if (!m) hostNics.set(world, (m = new Map()));
  const have = m.get(nic.id);
  if (have) return have;
  nic.config.command |= 0x6; // Memory Space + Bus Master Enable
  const env = hostEnv(world);
  const C_ = KVM_IO_COSTS;
  const driver = new E1000Driver(env, { readReg: (o) => nic.readReg(o), writeReg: (o, v) => nic.writeReg(o, v) }, { interrupt: C_.e1000Interrupt, rxFrame: C_.e1000RxFrame, txFrame: C_.e1000TxFrame, txClean: C_.e1000TxClean });
  const bridge = new Bridge(env, driver, { forward: C_.bridgeForward });
  const hn: HostNic = { driver, bridge, users: [] };
  hostMsi(world, nic.id, hn.users, driver.interrupt);
  m.set(nic.id, hn);
  return hn;
}

/** A KVM guest's virtio-net vifs: the guest's driver, the backend (qemu or vhost-net) on the host's bridge. */
function attachKvmVifs(world: IoWorld, vm: Vm, io: VmIo): void {
  const xen = vm.dom.xen;
  const host = xen.kvm!;
  const q = host.vm(vm.domid)!;
  const costs = vm.dom.costs;
  const c = vm.counters.c;
  (vm.config.vifs ?? []).forEach((vf, index) => {
    const nic = world.nics.get(vf.device);
    if (!nic) return;
    const hn = hostNic(world, nic);
    hn.users.push(vm);
    const kind = vf.backend === 'vhost' ? 'vhost' : 'qemu';
    const mac = vifMac(vm.name, index, vf.mac);
    const drops: VifDrops = { dropped: 0 };
    let back: VirtioNetBackend | null = null;
    const front = new VirtioNetFront(
      {
        page: (pfn) => io.env.page(pfn),
        allocPage: () => io.env.allocPage(),
        charge: (cycles) => {
          c[C.CycGuest] += cycles;
        },
        notify: (queue) => {
          c[C.VmExits]++;
          vm.counters.vmexits[Vx.IoInstruction]++;
          vm.dom.vmTransition();
          q.io.notifies++;
          chargeHost(vm, q.io, 'kvmCycles', costs.vmexit + KVM_IO_COSTS.ioeventfd);
          if (queue === VIRTIO_NET_TX_QUEUE) back!.notifyTx();
        },
      },
      mac,
      drops,
      { xmit: KVM_IO_COSTS.netXmit, rxFrame: KVM_IO_COSTS.netRxFrame, txComplete: KVM_IO_COSTS.netTxComplete },
    );
    const ramPage = (gpa: number) => {
      const mfn = host.qemuAccess(vm.domid, gpa);
      if (mfn < 0) throw new Error(`${vm.name}: ${kind}: guest-physical 0x${gpa.toString(16)} is outside the guest's RAM`);
      return xen.mem.bytes(mfn);
    };
    const ram = { page: ramPage, maddr: (gpa: number) => host.qemuAccess(vm.domid, gpa) * 4096 + (gpa % 4096) };
    const backendBucket = kind === 'qemu' ? 'qemuCycles' : 'hostKernelCycles';
    back = new VirtioNetBackend(kind, mac, drops, ram, { rx: front.rxq.addrs, tx: front.txq.addrs }, hn.bridge, hostEnv(world), ramPage, {
      wake: (fn) =>
        world.post(vm.domid, () =>
          runFor(vm, q.io, () => {
            q.io.hostContextSwitches++;
            chargeHost(vm, q.io, 'hostKernelCycles', costs.contextSwitch);
            fn();
          }),
        ),
      charge: (cycles) => chargeHost(vm, q.io, backendBucket, cycles),
      chargeHost: (cycles) => chargeHost(vm, q.io, 'hostKernelCycles', cycles),
      syscall: () => {
        q.io.syscalls++;
        chargeHost(vm, q.io, 'hostKernelCycles', costs.syscall);
      },
      copy: (bytes) => {
        q.io.copies++;
        chargeHost(vm, q.io, backendBucket, (costs.copyPage * bytes) / 4096);
      },
      irqfd: () => {
        q.io.irqfdInjections++;
        chargeHost(vm, q.io, 'kvmCycles', KVM_IO_COSTS.irqfd);
        world.post(vm.domid, () => {
          c[C.CycGuest] += costs.faultTrap;
          front.interrupt();
        });
      },
    }, { frame: kind === 'qemu' ? KVM_IO_COSTS.qemuNetFrame : KVM_IO_COSTS.vhostNetFrame, tap: KVM_IO_COSTS.tap });
    hn.bridge.add(back);
    const peer = world.peers.get(nic.id)!;
    peer.register(mac, drops);
    io.vifs.push({ index, device: nic.id, backend: kind, mac, front, drops, peer, wake: () => world.post(vm.domid, () => {}) });
    vm.kernel.log.push(`virtio_net virtio${index + 1} eth${index}: ${macString(mac)}, served by ${kind === 'vhost' ? `vhost-net (the host's vhost-${q.proc.pid} thread)` : `qemu (pid ${q.proc.pid})`} on the host's bridge with ${nic.id}`);
  });
}

/** A KVM guest's I/O: its kernel environment, and a virtio-blk disk served by its qemu for each of its disks. */
export function attachKvmGuest(world: IoWorld, vm: Vm, io: VmIo): void {
  attachKvmVifs(world, vm, io);
  const xen = vm.dom.xen;
  const host = xen.kvm!;
  const q = host.vm(vm.domid)!;
  const costs = vm.dom.costs;
  const c = vm.counters.c;
  // backend-snoop: qemu maps all of its guest's RAM (the memslot), so it reads any page it likes.
  const qemuSnoop = (pfns: readonly number[], done: (r: SnoopReport) => void): void =>
    world.post(vm.domid, () =>
      runFor(vm, q.io, () => {
        const obtained = pfns.map((pfn) => {
          const m = host.qemuAccess(vm.domid, pfn * 4096);
          if (m < 0) return null;
          // A read of the page into qemu's own buffer: priced as a page copy.
          q.io.copies++;
          chargeHost(vm, q.io, 'qemuCycles', costs.copyPage);
          const v = xen.mem.bytes(m);
          return fnv1a32(new Uint8Array(v.buffer, v.byteOffset, 4096));
        });
        done({ backend: `qemu-system-x86_64 (pid ${q.proc.pid})`, attempts: pfns.length, refused: 0, byStatus: { read: pfns.length }, obtained });
      }),
    );
  for (const vd of vm.config.disks ?? []) {
    const disk = world.disks.get(vd.device);
    if (!disk) continue;
    const hd = hostDisk(world, disk);
    hd.users.push(vm);
    let qemu: QemuVirtioBlk | null = null;
    const front = new VirtioBlkFront(
      {
        page: (pfn) => io.env.page(pfn),
        allocPage: () => io.env.allocPage(),
        charge: (cycles) => {
          c[C.CycGuest] += cycles;
        },
        // The OUT exits; KVM's ioeventfd on the port turns it into a wake-up of qemu's I/O thread.
        notify: () => {
          c[C.VmExits]++;
          vm.counters.vmexits[Vx.IoInstruction]++;
          vm.dom.vmTransition();
          q.io.notifies++;
          chargeHost(vm, q.io, 'kvmCycles', costs.vmexit + KVM_IO_COSTS.ioeventfd);
          world.post(vm.domid, () =>
            runFor(vm, q.io, () => {
              q.io.hostContextSwitches++;
              chargeHost(vm, q.io, 'hostKernelCycles', costs.contextSwitch);
              qemu!.handleOutput();
            }),
          );
        },
      },
      hd.driver.sectors,
      { request: KVM_IO_COSTS.guestRequest, complete: KVM_IO_COSTS.guestComplete },
    );
    const ram = {
      page: (gpa: number) => {
        const m = host.qemuAccess(vm.domid, gpa);
        if (m < 0) throw new Error(`${vm.name}: qemu: guest-physical 0x${gpa.toString(16)} is outside the guest's RAM`);
        return xen.mem.bytes(m);
      },
      maddr: (gpa: number) => host.qemuAccess(vm.domid, gpa) * 4096 + (gpa % 4096),
    };
    qemu = new QemuVirtioBlk(ram, front.queue, hd.driver, { request: KVM_IO_COSTS.qemuRequest, complete: KVM_IO_COSTS.qemuComplete }, {
      charge: (cycles) => chargeHost(vm, q.io, 'qemuCycles', cycles),
      syscall: () => {
        q.io.syscalls++;
        chargeHost(vm, q.io, 'hostKernelCycles', costs.syscall + KVM_IO_COSTS.hostSubmit);
      },
      irqfd: () => {
        // Completion: the host block layer woke qemu (a switch to its thread) before this push.
        q.io.hostContextSwitches++;
        chargeHost(vm, q.io, 'hostKernelCycles', KVM_IO_COSTS.hostComplete + costs.contextSwitch);
        q.io.irqfdInjections++;
        chargeHost(vm, q.io, 'kvmCycles', KVM_IO_COSTS.irqfd);
        world.post(vm.domid, () => {
          // The injected interrupt's delivery in the guest, then virtio's handler.
          c[C.CycGuest] += costs.faultTrap;
          front.interrupt();
        });
      },
    });
    io.snoop ??= qemuSnoop;
    io.direct ??= front;
    io.stats.device ??= vd.device;
    vm.kernel.log.push(`virtio_blk virtio0: [vda] ${hd.driver.sectors} 512-byte logical blocks (${disk.sizeMiB} MiB), queue size ${front.queue.size}, image /dev/${vd.device} on the host`);
  }
  if (io.vifs.length > 0) io.snoop ??= qemuSnoop;
}

export { guestEnv as kvmGuestEnv };

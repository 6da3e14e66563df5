/**
 * Ready-to-run scenarios, one per claim of the seed that the engine can show (DESIGN.md §1), each
 * with one sentence on what it demonstrates. They are the examples/*.json scenarios with the
 * modes to compare side by side in one run and workloads sized to finish in a few seconds.
 */
import type { ScenarioInput } from './scenario.js';

export interface Preset {
  id: string;
  /** The seed claim it demonstrates (DESIGN.md §1): C1 … C9. */
  claim: string;
  title: string;
  /** One sentence: what the run shows and where to look. */
  sentence: string;
  scenario: ScenarioInput;
}

type Dom = ScenarioInput['domains'][number];

/** Cold walks of 4 KiB guest pages: enough for several seconds at the default pace (DEFAULT_PACE). */
const WALK_PAGES_4K = 12_288;
/**
 * 448 pages of 2 MiB fill most of a 1 GiB guest; walked 28 times over (12 544 walks of 15
 * references) the 2M/2M guest runs about as long as the 4K guests' 12 288 walks of 19 and 24, so its
 * line has as many points as theirs.
 */
const WALK_2M_ROUNDS = 28;
const walkDom = (name: string, mode: Dom['mode'], guestPageSize: Dom['guestPageSize'], hostPageSize: Dom['hostPageSize'], memoryMiB = 256, pages = WALK_PAGES_4K): Dom => ({
  name,
  mode,
  memoryMiB,
  vcpus: 1,
  guestPageSize,
  hostPageSize,
  workload: { kind: 'cold-walk', pages },
});

const uva = (rate: number) =>
  ({ kind: 'update-vs-access', workingSetMiB: 32, accesses: 40_000, updatesPerKiloAccess: rate, updateKind: 'mix' }) as const;
const uvaDom = (name: string, mode: Dom['mode'], rate: number): Dom => ({ name, mode, memoryMiB: 160, vcpus: 1, workload: uva(rate) });

const lmDom = (name: string, mode: Dom['mode'], workload: Dom['workload']): Dom => ({ name, mode, memoryMiB: 192, vcpus: 1, workload });

/** One pCPU and two 512 MiB disks: each guest of the I/O presets has its own (a disk backs one virtual disk). */
/** C3's rogue-DMA pair: an idle victim and a guest owning a disk it aims at the victim, IOMMU on or off. */
const rogueDmaMachine = (iommu: boolean): Pick<ScenarioInput, 'machine' | 'hypervisor' | 'domains'> => ({
  machine: { memoryMiB: 2048, pcpus: 1, iommu, devices: [{ id: 'disk0', kind: 'disk', sizeMiB: 64 }] },
  hypervisor: 'xen',
  domains: [
    { name: 'victim', mode: 'pv', memoryMiB: 256, vcpus: 1 },
    // 160 pages, one command at a time: a run long enough to watch at the default pace.
    { name: 'rogue', mode: 'pv', memoryMiB: 256, vcpus: 1, pci: ['disk0'], workload: { kind: 'rogue-dma', victim: 'victim', pages: 160 } },
  ],
});

const twoDiskMachine = (): ScenarioInput['machine'] => ({
  memoryMiB: 2048,
  pcpus: 1,
  devices: [
    { id: 'disk0', kind: 'disk', sizeMiB: 512 },
    { id: 'disk1', kind: 'disk', sizeMiB: 512 },
  ],
});

export const PRESETS: Preset[] = [
  {
    id: 'walk-4k',
    claim: 'C7',
    title: 'Walk lengths with 4 KiB pages',
    sentence:
      'A TLB miss walks 4 references with direct (PV) or shadow tables and (4+1)(4+1)−1 = 24 with nested paging: compare walk refs per miss across the three guests.',
    scenario: {
      name: 'seed-C7-walk-4k',
      description: 'C7: cold walks with 4 KiB guest and host pages: 4 references under PV and shadow, 24 under nested paging.',
      machine: { memoryMiB: 2048, pcpus: 1 },
      hypervisor: 'xen',
      domains: [walkDom('pv', 'pv', '4k', '4k'), walkDom('shadow', 'shadow', '4k', '4k'), walkDom('hap', 'hap', '4k', '4k')],
    },
  },
  {
    id: 'walk-2m',
    claim: 'C7',
    title: 'Walk lengths with 2 MiB pages',
    sentence:
      'Large pages shorten the 2D walk: 24 references with 4K/4K, (4+1)(3+1)−1 = 19 with 2 MiB host pages, (3+1)(3+1)−1 = 15 with 2 MiB pages on both sides.',
    scenario: {
      name: 'seed-C7-walk-2m-2m',
      description: 'C7: nested walks with 4K/4K, 4K/2M and 2M/2M guest/host pages.',
      machine: { memoryMiB: 4096, pcpus: 1 },
      hypervisor: 'xen',
      domains: [walkDom('hap-4k-4k', 'hap', '4k', '4k'), walkDom('hap-4k-2m', 'hap', '4k', '2m'), { ...walkDom('hap-2m-2m', 'hap', '2m', '2m', 1024, 448), workload: { kind: 'cold-walk', pages: 448, rounds: WALK_2M_ROUNDS } }],
    },
  },
  {
    id: 'walk-1g',
    claim: 'C7',
    title: 'Walk lengths with 1 GiB host pages',
    sentence:
      '1 GiB EPT leaves end the host walk at the PDPTE, so a nested walk with 4 KiB guest pages takes (4+1)(2+1)−1 = 14 references instead of 24.',
    scenario: {
      name: 'seed-C7-walk-1g',
      description: 'C7: 1 GiB host pages (EPT leaves at the PDPTE) against 4 KiB host pages, both with 4 KiB guest pages.',
      machine: { memoryMiB: 4096, pcpus: 1 },
      hypervisor: 'xen',
      domains: [walkDom('hap-4k-4k', 'hap', '4k', '4k', 1024), walkDom('hap-4k-1g', 'hap', '4k', '1g', 1024)],
    },
  },
  {
    id: 'update-vs-access',
    claim: 'C8',
    title: 'Page-table updates versus accesses',
    sentence:
      'With no updates direct paging (PV) beats nested because its TLB misses walk 4 references, not 24; with 300 updates per 1000 accesses nested wins, because PV pays a hypercall and validation per update batch.',
    scenario: {
      name: 'seed-C8-update-vs-access',
      description: 'C8: the same random accesses under PV, shadow and nested paging, with no page-table updates and with 300 per 1000 accesses.',
      machine: { memoryMiB: 2048, pcpus: 2 },
      hypervisor: 'xen',
      domains: [
        uvaDom('pv-0', 'pv', 0),
        uvaDom('shadow-0', 'shadow', 0),
        uvaDom('hap-0', 'hap', 0),
        uvaDom('pv-300', 'pv', 300),
        uvaDom('shadow-300', 'shadow', 300),
        uvaDom('hap-300', 'hap', 300),
      ],
    },
  },
  {
    id: 'lmbench',
    claim: 'C6',
    title: 'lmbench fork, exec and page fault: Xen PV versus HVM',
    sentence:
      'Xen validates every page-table update a PV guest makes and a PV page fault enters Xen twice, so fork, exec and page faults cost more per operation under PV than in an HVM guest with nested paging.',
    scenario: {
      name: 'seed-C6-lmbench',
      description: 'C6 / Xen SOSP 2003: lmbench-style fork, exec and page-fault latency in a PV and an HVM (hap) guest.',
      machine: { memoryMiB: 2048, pcpus: 2 },
      hypervisor: 'xen',
      domains: [
        lmDom('pv-fork', 'pv', { kind: 'fork-exit', forks: 512, residentMiB: 1 }),
        lmDom('hvm-fork', 'hap', { kind: 'fork-exit', forks: 512, residentMiB: 1 }),
        lmDom('pv-exec', 'pv', { kind: 'exec', execs: 96, imageMiB: 1 }),
        lmDom('hvm-exec', 'hap', { kind: 'exec', execs: 96, imageMiB: 1 }),
        lmDom('pv-fault', 'pv', { kind: 'page-fault', pages: 12288 }),
        lmDom('hvm-fault', 'hap', { kind: 'page-fault', pages: 12288 }),
      ],
    },
  },
  {
    id: 'shadow-oos',
    claim: 'C8',
    title: 'Out-of-sync shadows on and off',
    sentence:
      'Out-of-sync L1 shadows let runs of guest page-table writes go unemulated until the next resync: the guest with them on emulates fewer writes and spends fewer cycles per operation.',
    scenario: {
      name: 'seed-C8-shadow-oos',
      description: 'C8: the same update-heavy workload on two shadow guests, out-of-sync L1 shadows on and off.',
      machine: { memoryMiB: 2048, pcpus: 1 },
      hypervisor: 'xen',
      domains: [
        { name: 'oos-on', mode: 'shadow', memoryMiB: 320, vcpus: 1, shadowOutOfSync: true, workload: { kind: 'update-vs-access', workingSetMiB: 48, accesses: 30_000, updatesPerKiloAccess: 300, updateKind: 'protect' } },
        { name: 'oos-off', mode: 'shadow', memoryMiB: 320, vcpus: 1, shadowOutOfSync: false, workload: { kind: 'update-vs-access', workingSetMiB: 48, accesses: 30_000, updatesPerKiloAccess: 300, updateKind: 'protect' } },
      ],
    },
  },
  {
    id: 'c8-regimes',
    claim: 'C8',
    title: 'Where shadow and nested beat direct paging, and where they do not',
    sentence:
      'A fork of an 8 MiB process: PV validates every entry of the child’s tables while shadow builds few shadows and nested none, so both beat PV; demand faults cost shadow two exits each, so there PV beats shadow and only nested wins.',
    scenario: {
      name: 'seed-C8-regimes',
      description: 'C8: fork-heavy work (updates in bulk) and demand faults under PV, shadow and nested paging; compare entriesValidated, vmexits and hypercalls per operation.',
      machine: { memoryMiB: 4096, pcpus: 2 },
      hypervisor: 'xen',
      domains: [
        { name: 'pv-fork', mode: 'pv', memoryMiB: 192, vcpus: 1, workload: { kind: 'fork-exit', forks: 400, residentMiB: 8 } },
        { name: 'shadow-fork', mode: 'shadow', memoryMiB: 192, vcpus: 1, workload: { kind: 'fork-exit', forks: 400, residentMiB: 8 } },
        { name: 'hap-fork', mode: 'hap', memoryMiB: 192, vcpus: 1, workload: { kind: 'fork-exit', forks: 400, residentMiB: 8 } },
        { name: 'pv-faults', mode: 'pv', memoryMiB: 192, vcpus: 1, workload: { kind: 'update-vs-access', workingSetMiB: 32, accesses: 200_000, updatesPerKiloAccess: 50, updateKind: 'populate' } },
        { name: 'shadow-faults', mode: 'shadow', memoryMiB: 192, vcpus: 1, workload: { kind: 'update-vs-access', workingSetMiB: 32, accesses: 200_000, updatesPerKiloAccess: 50, updateKind: 'populate' } },
        { name: 'hap-faults', mode: 'hap', memoryMiB: 192, vcpus: 1, workload: { kind: 'update-vs-access', workingSetMiB: 32, accesses: 200_000, updatesPerKiloAccess: 50, updateKind: 'populate' } },
      ],
    },
  },
  {
    id: 'c1-dom0-backend',
    claim: 'C1',
    title: 'dom0 serves the guests’ disks',
    sentence:
      'dom0 owns the NVMe disk and its driver; each guest’s blkfront puts requests on a ring in a page it grants to dom0, whose blkback maps the pages for the disk to DMA into: watch dom0’s CPU time and the grant and event-channel counts grow with the guests’ I/O.',
    scenario: {
      name: 'seed-C1-dom0-backend',
      description: 'C1: dom0 has the hardware and its driver, and arbitrates the guests’ virtual disks (split drivers over shared rings, grants and event channels).',
      machine: twoDiskMachine(),
      hypervisor: 'xen',
      domains: [
        { name: 'pv-guest', mode: 'pv', memoryMiB: 256, vcpus: 1, disks: [{ device: 'disk0', vdev: 'xvda' }], workload: { kind: 'disk-io', ops: 3000, flushEvery: 16 } },
        { name: 'hvm-guest', mode: 'hap', memoryMiB: 256, vcpus: 1, disks: [{ device: 'disk1', vdev: 'xvda' }], workload: { kind: 'disk-io', ops: 3000, writeFraction: 0.5, flushEvery: 16 } },
      ],
    },
  },
  {
    id: 'c3-driver-domain',
    claim: 'C3',
    title: 'A driver domain serves the disk',
    sentence:
      'The disk belongs to blkdd, an unprivileged driver domain that runs the NVMe driver and blkback: the guests’ I/O costs blkdd’s CPU time, not dom0’s, and dom0 only ran the toolstack and xenstore.',
    scenario: {
      name: 'seed-C3-driver-domain',
      description: 'C3: drivers disaggregated into their own domain; the guests’ disks are served by blkdd, which owns the NVMe disk.',
      machine: twoDiskMachine(),
      hypervisor: 'xen',
      domains: [
        { name: 'blkdd', mode: 'pv', memoryMiB: 128, vcpus: 1, pci: ['disk0', 'disk1'] },
        { name: 'web', mode: 'pv', memoryMiB: 256, vcpus: 1, disks: [{ backend: 'blkdd', device: 'disk0', vdev: 'xvda' }], workload: { kind: 'disk-io', ops: 2000, writeFraction: 0.3, flushEvery: 16 } },
        { name: 'db', mode: 'hap', memoryMiB: 256, vcpus: 1, disks: [{ backend: 'blkdd', device: 'disk1', vdev: 'xvda' }], workload: { kind: 'disk-io', ops: 2000, flushEvery: 8 } },
      ],
    },
  },
  {
    id: 'c3-rogue-dma-iommu',
    claim: 'C3',
    title: 'Rogue DMA, IOMMU on',
    sentence:
      'rogue owns an NVMe disk and tells it to read a marked sector into 160 of victim’s free pages by machine address: VT-d translates each DMA through rogue’s own IOMMU table, which reaches only its own frames, so every write faults (xl dmesg shows each with the device and address) and victim’s memory is unchanged (integrity: 0 corrupted).',
    scenario: {
      name: 'seed-C3-rogue-dma-iommu',
      description: 'C3: VT-d confines a device to what its owner may touch; a rogue guest aims its disk at another domain and every write is blocked and logged.',
      ...rogueDmaMachine(true),
    },
  },
  {
    id: 'c3-rogue-dma-no-iommu',
    claim: 'C3',
    title: 'Rogue DMA, IOMMU off',
    sentence:
      'The same rogue guest and disk with machine.iommu false: the bus address is the machine address, every one of the 160 reads lands in victim’s memory (integrity: 160 corrupted), and the audit reports that rogue’s device can reach frames rogue does not own.',
    scenario: {
      name: 'seed-C3-rogue-dma-no-iommu',
      description: 'C3 without VT-d: a device owned by an unprivileged guest can write anywhere in memory.',
      ...rogueDmaMachine(false),
    },
  },
  {
    id: 'c4-kill-driver-domain',
    claim: 'C4',
    title: 'Kill the driver domain under load',
    sentence:
      'blkdd is destroyed at 20 ms while the guest writes with a flush every 8 writes, and created again at 30 ms: the guest’s blkfront sees its backend vanish, keeps its unanswered requests, reconnects to the new blkdd and re-issues them; after the run every acknowledged write is checked on the disk by content (lostWrites 0).',
    scenario: {
      name: 'seed-C4-kill-driver-domain',
      description: 'C4: a driver domain killed and restarted under load; the guest reconnects as it would after migration, and no acknowledged write is lost.',
      machine: { memoryMiB: 2048, pcpus: 1, devices: [{ id: 'disk0', kind: 'disk', sizeMiB: 512 }] },
      hypervisor: 'xen',
      domains: [
        { name: 'blkdd', mode: 'pv', memoryMiB: 128, vcpus: 1, pci: ['disk0'] },
        { name: 'guest', mode: 'pv', memoryMiB: 256, vcpus: 1, disks: [{ backend: 'blkdd', device: 'disk0', vdev: 'xvda' }], workload: { kind: 'disk-io', ops: 4000, flushEvery: 8 } },
      ],
      timeline: [
        { atMs: 20, do: 'destroy', domain: 'blkdd' },
        { atMs: 30, do: 'create', domain: 'blkdd' },
      ],
    },
  },
  {
    id: 'c5-kvm-qemu',
    claim: 'C5',
    title: 'KVM: a guest is a qemu process',
    sentence:
      'Under a KVM host each guest is a qemu-system-x86_64 process whose memory is the guest’s RAM (ps on the host console lists them; kill one and its guest ends): db’s virtio-blk requests exit into KVM, wake its qemu, and go through the host’s own NVMe driver (results kvm.io), while web’s qemu reads every page web never gave it (io.snoopedPages equals pages: nothing refuses a process its own memory).',
    scenario: {
      name: 'seed-C5-kvm-qemu',
      description: 'C5: KVM, where a guest is a qemu process on the host kernel and qemu provides its virtual devices through the host’s ordinary drivers.',
      machine: twoDiskMachine(),
      hypervisor: 'kvm',
      domains: [
        { name: 'db', mode: 'hap', memoryMiB: 256, vcpus: 1, disks: [{ device: 'disk0', vdev: 'xvda' }], workload: { kind: 'disk-io', ops: 3000, writeFraction: 0.5, flushEvery: 16 } },
        { name: 'web', mode: 'hap', memoryMiB: 256, vcpus: 1, disks: [{ device: 'disk1', vdev: 'xvda' }], workload: { kind: 'backend-snoop', pages: 4096 } },
      ],
    },
  },
  {
    id: 'c2-passthrough',
    claim: 'C2',
    title: 'A guest drives a passed-through disk',
    sentence:
      'disk0 is assigned to the unprivileged guest nvme-domu by PCI passthrough: its own NVMe driver programs the disk and the disk DMAs into its memory through its IOMMU table, so the device’s owner is nvme-domu and dom0 serves nothing.',
    scenario: {
      name: 'seed-C2-passthrough',
      description: 'C2: a domU given a PCI device drives it directly (here it also serves the disk to a second guest, app, whose writes show the device at work).',
      machine: { memoryMiB: 2048, pcpus: 1, iommu: true, devices: [{ id: 'disk0', kind: 'disk', sizeMiB: 64 }] },
      hypervisor: 'xen',
      domains: [
        { name: 'nvme-domu', mode: 'hap', memoryMiB: 256, vcpus: 1, pci: ['disk0'] },
        // 3000 writes: a run of about 25 simulated milliseconds (the live charts get 50 points or more).
        { name: 'app', mode: 'pv', memoryMiB: 256, vcpus: 1, disks: [{ backend: 'nvme-domu', device: 'disk0', vdev: 'xvda' }], workload: { kind: 'disk-io', ops: 3000, flushEvery: 16 } },
      ],
    },
  },
  {
    id: 'c5-kvm',
    claim: 'C5',
    title: 'KVM: shadow paging against EPT',
    sentence:
      'The same update-heavy workload on a KVM-style host, once with shadow page tables and once with EPT: a KVM guest makes no Xen hypercalls, and its page-table writes exit to the host under shadow paging but not under EPT.',
    scenario: {
      name: 'seed-C5-kvm',
      description: 'C5: a KVM-style host (the guest is a process of the host kernel) running one workload under shadow paging and under EPT.',
      machine: { memoryMiB: 2048, pcpus: 1 },
      hypervisor: 'kvm',
      domains: [
        { name: 'kvm-shadow', mode: 'shadow', memoryMiB: 160, vcpus: 1, workload: { kind: 'update-vs-access', workingSetMiB: 32, accesses: 40_000, updatesPerKiloAccess: 100, updateKind: 'mix' } },
        { name: 'kvm-ept', mode: 'hap', memoryMiB: 160, vcpus: 1, workload: { kind: 'update-vs-access', workingSetMiB: 32, accesses: 40_000, updatesPerKiloAccess: 100, updateKind: 'mix' } },
      ],
    },
  },
  {
    id: 'c9-relocate',
    claim: 'C9',
    title: 'Xen moves guest pages: HVM, PV, PV cooperating',
    sentence:
      'As the run starts Xen is asked to move 1,000 pages of each guest: the HVM guest’s move is done by Xen alone (p2m and EPT updated), the PV guest’s is refused because its own page tables hold machine frames, and the cooperating PV guest moves its pages itself.',
    scenario: {
      name: 'seed-C9-relocate',
      description: 'C9: relocation of an HVM guest’s pages (transparent), a PV guest’s (refused) and a cooperating PV guest’s (done by the guest).',
      machine: { memoryMiB: 2048, pcpus: 1 },
      hypervisor: 'xen',
      domains: [
        // 200 000 accesses over 16 MiB each: a run of about 20 simulated ms; the relocation fires at 0 ms, so it lands at the same point whatever the run's grain (test/sim/grain.test.ts).
        { name: 'hvm', mode: 'hap', memoryMiB: 256, vcpus: 1, workload: { kind: 'random-access', workingSetMiB: 16, accesses: 200_000 } },
        { name: 'pv', mode: 'pv', memoryMiB: 256, vcpus: 1, workload: { kind: 'random-access', workingSetMiB: 16, accesses: 200_000 } },
        { name: 'pv-coop', mode: 'pv', memoryMiB: 256, vcpus: 1, workload: { kind: 'random-access', workingSetMiB: 16, accesses: 200_000 } },
      ],
      timeline: [
        { atMs: 0, do: 'relocate', domain: 'hvm', pages: 1000 },
        { atMs: 0, do: 'relocate', domain: 'pv', pages: 1000 },
        { atMs: 0, do: 'relocate', domain: 'pv-coop', pages: 1000, cooperative: true },
      ],
    },
  },
  {
    id: 'multi-guest',
    claim: 'C1',
    title: 'dom0 and three guests sharing the machine',
    sentence:
      'The hypervisor multiplexes dom0 and three guests in three paging modes over two physical CPUs, each isolated in its own memory, with a clean audit at the end.',
    scenario: {
      name: 'seed-C1-multi-guest',
      description: 'C1: Xen with dom0 and three guests (PV, shadow, HAP) sharing two physical CPUs.',
      machine: { memoryMiB: 4096, pcpus: 2 },
      hypervisor: 'xen',
      domains: [
        { name: 'dom0', role: 'dom0', mode: 'pv', memoryMiB: 512, vcpus: 1, workload: { kind: 'idle' } },
        { name: 'web', mode: 'pv', memoryMiB: 512, vcpus: 1, workload: { kind: 'random-access', workingSetMiB: 32, accesses: 800_000 } },
        { name: 'build', mode: 'shadow', memoryMiB: 512, vcpus: 1, workload: { kind: 'kernel-build', jobs: 2 } },
        { name: 'db', mode: 'hap', memoryMiB: 512, vcpus: 1, workload: { kind: 'update-vs-access', workingSetMiB: 32, accesses: 400_000, updatesPerKiloAccess: 10 } },
      ],
    },
  },
  {
    id: 'c9-balloon',
    claim: 'C9',
    title: 'Ballooning: memory handed from one guest to another',
    sentence:
      'At 30 ms g1 (PV) is asked down from 384 to 160 MiB: its balloon driver gives 57,344 free pages back to Xen and free_memory rises by 224 MiB; at 60 ms g2 (HAP) is asked up from 256 to 448 MiB, its maxmem, more than the machine had free at boot: it grows into the memory g1 gave up, and both guests’ own `free` shows the change.',
    scenario: {
      name: 'seed-C9-balloon',
      description: 'C9: memory multiplexed across domains by ballooning (xl mem-set): one guest gives pages back with decrease_reservation, another takes them with populate_physmap, up to its maxmem.',
      // 1280 MiB: Xen 32, dom0 512, g1 384, g2 256 leave 96 MiB free, less than g2's 192 MiB of growth.
      machine: { memoryMiB: 1280, pcpus: 1 },
      hypervisor: 'xen',
      domains: [
        { name: 'g1', mode: 'pv', memoryMiB: 384, vcpus: 1, workload: { kind: 'random-access', workingSetMiB: 16, accesses: 4_000_000 } },
        { name: 'g2', mode: 'hap', memoryMiB: 256, maxMemoryMiB: 448, vcpus: 1, workload: { kind: 'random-access', workingSetMiB: 16, accesses: 4_000_000 } },
      ],
      // After both workloads' setup (their counters restart then), so the results count the balloons' hypercalls.
      timeline: [
        { atMs: 30, do: 'mem-set', domain: 'g1', memoryMiB: 160 },
        { atMs: 60, do: 'mem-set', domain: 'g2', memoryMiB: 448 },
      ],
    },
  },
];

/**
 * The parameters of each workload kind, read from the scenario schema itself (so a form built from
 * them cannot drift from what validation accepts), with a label, a unit and one line on what each
 * parameter is, and a starting value for each kind that runs in a few seconds.
 */
import { workloadSchema, WORKLOAD_KINDS, type Workload, type WorkloadKind } from './scenario.js';

export type WorkloadParam =
  | { key: string; type: 'number'; int: boolean; min: number; max: number; required: boolean }
  | { key: string; type: 'enum'; options: string[]; default?: string; required: boolean }
  /** A name (rogue-dma's victim domain). */
  | { key: string; type: 'text'; default?: string; required: boolean }
  /** Structured parameters (the attack lab's script) that a plain field cannot edit. */
  | { key: string; type: 'structured'; required: boolean };

export interface ParamDoc {
  label: string;
  unit?: string;
  help: string;
}

/** Shapes read off zod 4 schema objects: only what the introspection below needs. */
interface SchemaNode {
  def: { type: string; innerType?: SchemaNode; defaultValue?: unknown };
  minValue?: number | null;
  maxValue?: number | null;
  isInt?: boolean;
  options?: readonly string[];
  shape?: Record<string, SchemaNode>;
}

function describe(key: string, node: SchemaNode): WorkloadParam {
  let n = node;
  let required = true;
  let dflt: unknown;
  while (n.def.type === 'default' || n.def.type === 'optional') {
    if (n.def.type === 'default') dflt = n.def.defaultValue;
    required = false;
    n = n.def.innerType!;
  }
  if (n.def.type === 'number') {
    return { key, type: 'number', int: n.isInt === true, min: n.minValue ?? -Infinity, max: n.maxValue ?? Infinity, required };
  }
  if (n.def.type === 'enum') {
    return { key, type: 'enum', options: [...(n.options ?? [])], required, ...(typeof dflt === 'string' ? { default: dflt } : {}) };
  }
  if (n.def.type === 'string') return { key, type: 'text', required, ...(typeof dflt === 'string' ? { default: dflt } : {}) };
  return { key, type: 'structured', required };
}

const PARAMS: Record<string, WorkloadParam[]> = {};
for (const option of (workloadSchema as unknown as { options: SchemaNode[] }).options) {
  const shape = option.shape!;
  const kind = (shape.kind as unknown as { value: string }).value;
  PARAMS[kind] = Object.entries(shape)
    .filter(([k]) => k !== 'kind')
    .map(([k, node]) => describe(k, node));
}

/** The parameters of a workload kind, in the schema's order; [] for an unknown kind. */
export function workloadParams(kind: string): WorkloadParam[] {
  return PARAMS[kind] ?? [];
}

/** Label, unit and meaning of every parameter of every kind (README, "Workloads"). */
export const PARAM_DOCS: Record<string, ParamDoc> = {
  pages: { label: 'Pages', help: 'distinct 4 KiB pages touched (cold-walk, page-fault); named frames for a script (hypercalls); victim pages the device is told to write (rogue-dma); pages of the guest its backend goes after (backend-snoop)' },
  victim: { label: 'Victim', help: 'the domain whose memory the rogue device is aimed at (rogue-dma)' },
  rounds: { label: 'Rounds', help: 'times every page is walked, each time with every TLB and walk cache cold (cold-walk; default 1)' },
  workingSetMiB: { label: 'Working set', unit: 'MiB', help: 'memory the workload spreads its accesses over' },
  accesses: { label: 'Accesses', help: 'loads and stores (1 in 4 a store)' },
  passes: { label: 'Passes', help: 'sweeps over the working set, one load per 64-byte line' },
  updatesPerKiloAccess: { label: 'Updates per 1k accesses', help: 'page-table updates per 1000 accesses, in runs of 8 neighbouring pages' },
  updateKind: { label: 'Update kind', help: 'populate maps new pages, protect changes rights, unmap removes; mix does all three' },
  forks: { label: 'Forks', help: 'lmbench fork: fork, the child exits, the parent waits' },
  residentMiB: { label: 'Resident', unit: 'MiB', help: 'memory the parent has mapped, copied on write by each child' },
  execs: { label: 'Execs', help: 'lmbench exec: fork, exec an image from the page cache, run it, exit' },
  imageMiB: { label: 'Image', unit: 'MiB', help: 'size of the executed image' },
  maps: { label: 'Maps', help: 'mmap, touch pages, munmap' },
  pagesPerMap: { label: 'Pages per map', help: '4 KiB pages in each mapping' },
  switches: { label: 'Switches', help: 'context switches to the next process of a ring (lmbench lat_ctx)' },
  processes: { label: 'Processes', help: 'processes in the ring' },
  sizeKiB: { label: 'Size', unit: 'KiB', help: 'memory each process sums after it gets the token (lat_ctx -s)' },
  count: { label: 'Count', help: 'lmbench sh proc: fork, exec /bin/sh -c, the shell runs a small program' },
  faults: { label: 'Faults', help: 'lmbench prot fault: a store to a read-only page, refused with SIGSEGV' },
  sizeMiB: { label: 'Size', unit: 'MiB', help: 'size of each file mapping (lat_mmap touches one page per 16 KiB of its first tenth)' },
  calls: { label: 'Calls', help: 'lmbench null call: getppid()' },
  jobs: { label: 'Jobs', help: 'compiler jobs of a make: fork, exec cc1, compile (user-mode work), exit' },
  transactions: { label: 'Transactions', help: 'OLTP transactions: a client request, the server’s work over its buffer pool, a log write (oltp); request/response exchanges with the link partner (net-rr)' },
  profile: { label: 'Program', help: 'SPEC CPU2006 program characterized (gcc: fault-heavy; mcf: TLB-miss-heavy)' },
  instructionsM: { label: 'Instructions', unit: 'M', help: 'millions of user-mode instructions the program runs' },
  steps: { label: 'Steps', help: 'the script’s hypercalls and accesses, run in order' },
  ops: { label: 'Requests', help: 'disk requests the program completes (reads and writes)' },
  blockKiB: { label: 'Block', unit: 'KiB', help: 'bytes per request, whole 4 KiB pages (up to 44: 11 segments)' },
  writeFraction: { label: 'Writes', help: 'fraction of requests that are writes (0 to 1)' },
  flushEvery: { label: 'Flush every', help: 'a cache FLUSH after this many writes (0: never; writes may sit in the disk’s volatile cache)' },
  pattern: { label: 'Pattern', help: 'random or sequential blocks' },
  queueDepth: { label: 'Queue depth', help: 'requests kept in flight (blkfront’s ring holds 32)' },
  bytes: { label: 'Bytes', unit: 'B', help: 'bytes of frames moved through the first vif (net-stream)' },
  packetBytes: { label: 'Frame', unit: 'B', help: 'bytes per Ethernet frame without FCS, 60 to 1514' },
  direction: { label: 'Direction', help: 'rx: the link partner sends to the guest at the link’s rate; tx: the guest sends to the link partner' },
  ackEvery: { label: 'ACK every', help: 'rx: the receiver’s TCP sends a 60-byte ACK back every this many segments (2 as Linux does; 0: none)' },
  requestBytes: { label: 'Request', unit: 'B', help: 'bytes of each request frame the guest sends (60 to 1514)' },
  responseBytes: { label: 'Response', unit: 'B', help: 'bytes of each response frame the link partner sends back (60 to 1514)' },
};

/** What one operation of each kind is. */
export const WORKLOAD_DOCS: Record<WorkloadKind, string> = {
  idle: 'does nothing: the domain boots and waits',
  'cold-walk': 'one access to a distinct page with every TLB and walk cache cold: the architectural walk length',
  'random-access': 'one random load or store in a populated working set',
  sequential: 'one load per 64-byte line, in order',
  'update-vs-access': 'one random access, with page-table updates mixed in at the given rate',
  'fork-exit': 'lmbench lat_proc fork: fork, the child exits, the parent waits',
  exec: 'lmbench lat_proc exec: fork, the child execs a small program that runs and exits',
  'sh-proc': 'lmbench lat_proc shell: fork, exec /bin/sh -c, the shell runs a small program',
  'page-fault': 'lmbench lat_pagefault: one minor fault on a cached file page',
  'prot-fault': 'lmbench lat_sig prot: one store to a read-only page, refused with SIGSEGV',
  mmap: 'lmbench lat_mmap: mmap a file, touch one page per 16 KiB of its first tenth, munmap',
  'mmap-churn': 'mmap, touch every page, munmap',
  'null-syscall': 'lmbench lat_syscall null: one getppid()',
  'context-switch': 'lmbench lat_ctx: pass the token to the next process of a ring, which sums its array',
  'kernel-build': 'one compiler job of a make: fork, exec cc1, compile (user-mode work), exit',
  oltp: 'one OLTP transaction: the client’s request, the server’s work over its buffer pool, a log write',
  spec: 'one million user-mode instructions of a SPEC CPU2006 program (gcc or mcf)',
  hypercalls: 'one step of a script of PV page-table hypercalls (the attack lab; PV only)',
  'disk-io': 'one direct I/O to the first virtual disk (blkfront → blkback → the disk), queueDepth kept in flight',
  'net-stream': 'one Ethernet frame through the first vif (netfront ⇄ netback ⇄ bridge ⇄ NIC ⇄ link partner)',
  'net-rr': 'one request frame to the link partner and its response back (latency per transaction)',
  'rogue-dma': 'one DMA the guest’s own disk is told to make into a page of the victim (blocked by the IOMMU when it is on)',
  'backend-snoop': 'one page of the guest’s the backend was not given, tried by its backend (grant map and copy under Xen; qemu’s own mapping under KVM)',
};

/** A starting point for each kind, small enough to run in a few seconds. */
export const WORKLOAD_STARTERS: Record<WorkloadKind, Workload> = {
  idle: { kind: 'idle' },
  'cold-walk': { kind: 'cold-walk', pages: 64 },
  'random-access': { kind: 'random-access', workingSetMiB: 64, accesses: 100_000 },
  sequential: { kind: 'sequential', workingSetMiB: 16, passes: 2 },
  'update-vs-access': { kind: 'update-vs-access', updatesPerKiloAccess: 20, workingSetMiB: 64, accesses: 100_000, updateKind: 'mix' },
  'fork-exit': { kind: 'fork-exit', forks: 20, residentMiB: 8 },
  exec: { kind: 'exec', execs: 20, imageMiB: 4 },
  'sh-proc': { kind: 'sh-proc', count: 5 },
  'page-fault': { kind: 'page-fault', pages: 2048 },
  'prot-fault': { kind: 'prot-fault', faults: 2000 },
  mmap: { kind: 'mmap', maps: 50, sizeMiB: 8 },
  'mmap-churn': { kind: 'mmap-churn', maps: 200, pagesPerMap: 16 },
  'null-syscall': { kind: 'null-syscall', calls: 10_000 },
  'context-switch': { kind: 'context-switch', switches: 10_000, processes: 8, sizeKiB: 0 },
  'kernel-build': { kind: 'kernel-build', jobs: 4 },
  oltp: { kind: 'oltp', transactions: 200 },
  spec: { kind: 'spec', profile: 'gcc', instructionsM: 20 },
  hypercalls: {
    kind: 'hypercalls',
    pages: { d: {} },
    steps: [
      { op: 'map', frame: { page: 'd' }, va: '0x10000000', flags: ['P', 'RW', 'US', 'A', 'D'] },
      { op: 'access', va: '0x10000000', write: true },
    ],
  },
  'disk-io': { kind: 'disk-io', ops: 2000, blockKiB: 4, writeFraction: 1, flushEvery: 0, pattern: 'random', queueDepth: 32 },
  'net-stream': { kind: 'net-stream', bytes: 4 * 1024 * 1024, packetBytes: 1500, direction: 'rx' },
  'net-rr': { kind: 'net-rr', transactions: 1000, requestBytes: 64, responseBytes: 64 },
  'rogue-dma': { kind: 'rogue-dma', victim: 'Domain-0', pages: 16 },
  'backend-snoop': { kind: 'backend-snoop', pages: 16 },
};

export { WORKLOAD_KINDS };

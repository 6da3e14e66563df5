/**
 * The scenario format (DESIGN.md §6): one JSON document drives the CLI, the app and the tests.
 * Unknown fields and impossible combinations are errors, each reported with its field path and
 * what is allowed.
 */
import { z } from 'zod';
import { COST_KEYS } from '../machine/cost.js';
import { CPU_PROFILE_TABLE, CPU_PROFILES, type CpuProfileId } from '../machine/cpu.js';
import { frameRefs, hypercallsWorkloadSchema } from './hypercallScript.js';
import { describeJsonError } from './jsonWhere.js';
import { deviceSchema, ioProblems, timelineEntrySchema, vdiskSchema, vifSchema, type DeviceConfig, type TimelineEntry } from './ioScenario.js';

export const PAGING_MODES = ['native', 'pv', 'shadow', 'hap'] as const;
export type PagingMode = (typeof PAGING_MODES)[number];
export const PAGE_SIZES = ['4k', '2m', '1g'] as const;
export const HYPERVISORS = ['xen', 'kvm', 'none'] as const;
export const UPDATE_KINDS = ['populate', 'protect', 'unmap', 'mix'] as const;
export type UpdateKind = (typeof UPDATE_KINDS)[number];

const int = (min: number, max: number) => z.number().int().min(min).max(max);

const pageSize = z.enum(PAGE_SIZES);

export const WORKLOAD_KINDS = [
  'idle',
  'cold-walk',
  'random-access',
  'sequential',
  'update-vs-access',
  'fork-exit',
  'exec',
  'sh-proc',
  'page-fault',
  'prot-fault',
  'mmap',
  'mmap-churn',
  'null-syscall',
  'context-switch',
  'kernel-build',
  'oltp',
  'spec',
  'hypercalls',
  'disk-io',
  'net-stream',
  'net-rr',
  'rogue-dma',
  'backend-snoop',
] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

/** SPEC CPU2006 programs the `spec` workload characterizes (core/workloads/user.ts). */
export const SPEC_PROFILES = ['gcc', 'mcf'] as const;

// Every parameter of the lmbench and macro workloads has a default (core/workloads/ says why each
// default is what it is), so {"kind": "sh-proc"} alone is a workload.
export const workloadSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('idle') }),
  // rounds: each page walked again, cold, that many times (default 1): a walk-length run long
  // enough to watch when few pages fit (2 MiB guest pages take 2 MiB each).
  z.strictObject({ kind: z.literal('cold-walk'), pages: int(1, 100_000), rounds: int(1, 10_000).optional() }),
  z.strictObject({
    kind: z.literal('random-access'),
    workingSetMiB: int(1, 65536),
    accesses: int(1, 100_000_000),
  }),
  z.strictObject({ kind: z.literal('sequential'), workingSetMiB: int(1, 65536), passes: int(1, 1000) }),
  z.strictObject({
    kind: z.literal('update-vs-access'),
    updatesPerKiloAccess: z.number().min(0).max(1000),
    workingSetMiB: int(1, 65536),
    accesses: int(1, 100_000_000),
    updateKind: z.enum(UPDATE_KINDS).default('mix'),
  }),
  z.strictObject({ kind: z.literal('fork-exit'), forks: int(1, 100_000).default(100), residentMiB: int(1, 4096).default(1) }),
  z.strictObject({ kind: z.literal('exec'), execs: int(1, 100_000).default(20), imageMiB: int(1, 1024).default(1) }),
  z.strictObject({ kind: z.literal('sh-proc'), count: int(1, 10_000).default(5) }),
  z.strictObject({ kind: z.literal('page-fault'), pages: int(1, 10_000_000).default(2048) }),
  z.strictObject({ kind: z.literal('prot-fault'), faults: int(1, 10_000_000).default(2000) }),
  z.strictObject({ kind: z.literal('mmap'), maps: int(1, 100_000).default(50), sizeMiB: int(1, 1024).default(8) }),
  z.strictObject({ kind: z.literal('mmap-churn'), maps: int(1, 1_000_000), pagesPerMap: int(1, 4096) }),
  z.strictObject({ kind: z.literal('null-syscall'), calls: int(1, 100_000_000).default(10_000) }),
  z.strictObject({
    kind: z.literal('context-switch'),
    switches: int(1, 10_000_000).default(2000),
    processes: int(2, 256).default(2),
    sizeKiB: int(0, 65536).default(0),
  }),
  z.strictObject({ kind: z.literal('kernel-build'), jobs: int(1, 10_000).default(8) }),
  z.strictObject({ kind: z.literal('oltp'), transactions: int(1, 1_000_000).default(200) }),
  z.strictObject({ kind: z.literal('spec'), profile: z.enum(SPEC_PROFILES).default('gcc'), instructionsM: int(1, 100_000).default(20) }),
  hypercallsWorkloadSchema,
  // disk-io: a program doing direct I/O to its first virtual disk (core/workloads/io.ts).
  z.strictObject({
    kind: z.literal('disk-io'),
    ops: int(1, 10_000_000).default(2000),
    blockKiB: int(4, 44).refine((n) => n % 4 === 0, 'a multiple of 4 (whole 4 KiB pages, at most 11 segments)').default(4),
    writeFraction: z.number().min(0).max(1).default(1),
    /** A FLUSH after every N writes (0: never, so writes may sit in the disk's volatile cache). */
    flushEvery: int(0, 1_000_000).default(0),
    pattern: z.enum(['random', 'sequential']).default('random'),
    /** Requests the program keeps in flight (blkfront's ring holds 32). */
    queueDepth: int(1, 32).default(32),
  }),
  // net-stream: a bulk transfer through the first vif (core/workloads/net.ts): 'rx' the link
  // partner sends at the link's rate to the guest, 'tx' the guest sends to the link partner.
  z.strictObject({
    kind: z.literal('net-stream'),
    /** Bytes of frames to move; default 4 MiB, about 35 ms at 1 Gb/s. */
    bytes: int(60, 1 << 30).default(4 * 1024 * 1024),
    /** Bytes per Ethernet frame without FCS (60…1514). */
    packetBytes: int(60, 1514).default(1500),
    direction: z.enum(['rx', 'tx']).default('rx'),
    /**
     * rx only: the receiver's TCP answers every this many segments with a 60-byte ACK frame sent
     * back through its vif (RFC 1122 §4.2.3.2: an ACK for at least every second full-sized segment,
     * as Linux's __tcp_ack_snd_check does: 2). 0 (default): no reverse traffic, a UDP-like stream.
     */
    ackEvery: int(0, 64).optional(),
  }),
  // net-rr: request/response through the first vif: the guest sends a request frame, the link
  // partner answers each with a response frame (netperf TCP_RR without TCP).
  z.strictObject({
    kind: z.literal('net-rr'),
    transactions: int(1, 10_000_000).default(1000),
    requestBytes: int(60, 1514).default(64),
    responseBytes: int(60, 1514).default(64),
  }),
  // rogue-dma (C3): a guest that owns a disk programs it to write into frames of another domain
  // (core/workloads/rogue.ts); the IOMMU, when on, stops every write.
  z.strictObject({
    kind: z.literal('rogue-dma'),
    /** The domain whose memory the device is aimed at (default dom0, the usual prize). */
    victim: z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,31}$/, 'a domain name').default('Domain-0'),
    /** Victim pages the device is told to write, one 4 KiB DMA each. */
    pages: int(1, 4096).default(16),
  }),
  // backend-snoop (C5 against C1/C3): the domain's backend (blkback or netback in dom0 or a driver
  // domain; its qemu under KVM) tries to read `pages` of its pages it was never given for I/O.
  z.strictObject({
    kind: z.literal('backend-snoop'),
    pages: int(1, 4096).default(16),
  }),
]);
export type Workload = z.infer<typeof workloadSchema>;

export const domainSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,31}$/, 'a letter followed by up to 31 letters, digits, "_", "." or "-"'),
  role: z.enum(['dom0', 'guest']).default('guest'),
  mode: z.enum(PAGING_MODES),
  memoryMiB: int(16, 1_048_576),
  /**
   * xl.cfg `maxmem`: the most memory the domain may grow to by ballooning (`mem-set`), in MiB;
   * default memoryMiB. Memory above memoryMiB starts ballooned out (its pfns exist, no frames).
   */
  maxMemoryMiB: int(16, 1_048_576).optional(),
  vcpus: int(1, 64),
  guestPageSize: pageSize.default('4k'),
  hostPageSize: pageSize.default('4k'),
  shadowOutOfSync: z.boolean().optional(),
  /**
   * Xen's SHOPT_EARLY_UNSHADOW (shadow only, default true): a shadowed L1 that takes two zeroing
   * writes in a row is unshadowed (a process is exiting or the page is being reused). Off, every
   * store to a shadowed table traps until its shadow is evicted: how a VMM that traces every
   * shadowed table behaves (VMware's 2006 hardware VMM, Adams & Agesen, ASPLOS 2006).
   */
  shadowEarlyUnshadow: z.boolean().optional(),
  /**
   * Whose memory manager the guest kernel imitates where it matters to the hypervisor: "windows"
   * writes a transition PTE before the final one on a demand-zero fault (default "linux").
   */
  guestOs: z.enum(['linux', 'windows']).optional(),
  /** Shadow pool size in pages (Xen's shadow_memory); default scales with guest memory. */
  shadowPoolPages: int(16, 1_048_576).optional(),
  workload: workloadSchema.default({ kind: 'idle' }),
  /** The credit scheduler's weight (xl.cfg `weight`, credit.c: 1–65535, default 256): its share of a contended pCPU. */
  weight: int(1, 65535).optional(),
  /** The credit scheduler's cap (xl.cfg `cap`): at most this percent of one pCPU per vCPU, even when idle time is left; 0 or absent: none. */
  cap: int(0, 6400).optional(),
  /** Machine devices this domain owns and drives itself (by id or PCI address); dom0 owns the rest. */
  pci: z.array(z.string().min(1).max(32)).max(16).optional(),
  /** Virtual disks (blkfront), each served by a backend domain's blkback. */
  disks: z.array(vdiskSchema).max(26).optional(),
  /** Virtual network interfaces (netfront), each served by a backend domain's netback on the bridge of a NIC it owns. */
  vifs: z.array(vifSchema).max(8).optional(),
});
export type DomainConfig = z.infer<typeof domainSchema>;

const tlbShape = z.strictObject({ entries: int(1, 65536), ways: int(1, 64) });

export const mmuSchema = z.strictObject({
  tlb4k: tlbShape.optional(),
  tlb2m: tlbShape.optional(),
  tlb1g: tlbShape.optional(),
  psc: z
    .strictObject({
      enabled: z.boolean().optional(),
      pml4e: int(1, 1024).optional(),
      pdpte: int(1, 1024).optional(),
      pde: int(1, 1024).optional(),
    })
    .optional(),
  nestedTlb: z
    .strictObject({ enabled: z.boolean().optional(), entries: int(1, 65536).optional(), ways: int(1, 64).optional() })
    .optional(),
  dataCache: z.strictObject({ sizeKiB: int(1, 65536).optional(), ways: int(1, 64).optional() }).optional(),
});

const costShape = Object.fromEntries(COST_KEYS.map((k) => [k, z.number().min(0).max(1e9).optional()])) as Record<
  string,
  z.ZodOptional<z.ZodNumber>
>;

export const machineSchema = z.strictObject({
  memoryMiB: int(16, 1_048_576),
  pcpus: int(1, 64),
  /** CPU generation (core/machine/cpu.ts): clock, costs, TLB sizes and features; default "modern". */
  cpu: z.enum(CPU_PROFILES).optional(),
  mmu: mmuSchema.optional(),
  costs: z.strictObject(costShape).optional(),
  /** Devices on the PCI bus (issue 12). */
  devices: z.array(deviceSchema).max(32).optional(),
  /**
   * DMA remapping (VT-d) on, default true: under Xen every device DMAs through its owner's IOMMU
   * table (core/hv/passthrough/). false: DMA is by machine address (Xen's `iommu=0`).
   */
  iommu: z.boolean().optional(),
});

/**
 * The migration target's machine and the link to it. 10 Mbit/s to 100 Gbit/s spans the links
 * a lab run can use: Clark et al. (NSDI 2005) migrate over gigabit Ethernet.
 */
export const migrationTargetSchema = z.strictObject({
  memoryMiB: int(16, 1_048_576),
  pcpus: int(1, 64),
  linkMbps: z.number().min(10).max(100_000),
});
export type MigrationTarget = z.infer<typeof migrationTargetSchema>;

export const scenarioSchema = z.strictObject({
  name: z.string().min(1).max(128),
  description: z.string().max(4000).optional(),
  seed: int(0, 0xffffffff).default(1),
  machine: machineSchema,
  hypervisor: z.enum(HYPERVISORS),
  domains: z.array(domainSchema).min(1).max(64),
  /** Actions at simulated times: destroy or create a domain, pause or unpause it. */
  timeline: z.array(timelineEntrySchema).max(1000).optional(),
  /**
   * A second host for live migration (timeline `migrate`, `xl migrate`): its own machine (same CPU
   * profile), Xen and default dom0, joined to this one by a link of `linkMbps`. Storage is shared:
   * the target's backends serve the same disk images.
   */
  migrationTarget: migrationTargetSchema.optional(),
});
export type Scenario = z.infer<typeof scenarioSchema>;
/** What a user writes: defaults not yet applied. */
export type ScenarioInput = z.input<typeof scenarioSchema>;

export interface Problem {
  /** Field path, e.g. `domains[1].guestPageSize`. */
  path: string;
  message: string;
}

export type ValidationResult = { ok: true; scenario: Scenario } | { ok: false; problems: Problem[] };

/** Memory Xen keeps for itself (heap, frame table, its own page tables). */
export const XEN_RESERVED_MIB = 32;
/** dom0 created by default under Xen when the scenario lists none. */
export const DEFAULT_DOM0: DomainConfig = {
  name: 'Domain-0',
  role: 'dom0',
  mode: 'pv',
  memoryMiB: 512,
  vcpus: 1,
  guestPageSize: '4k',
  hostPageSize: '4k',
  workload: { kind: 'idle' },
};
/** Memory a guest kernel keeps for itself (text, page tables, slab); workloads get the rest. */
export const GUEST_KERNEL_RESERVED_MIB = 16;

function formatPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) {
    if (typeof p === 'number') s += `[${p}]`;
    else s += (s ? '.' : '') + String(p);
  }
  return s || '(scenario)';
}

// ---------------------------------------------------------------------------------------------
// Messages. Every zod issue is turned here into one sentence in the field's own terms: what the
// field allows (read from the schema at the issue's path, so the bounds are the schema's own) and
// what it got. Nothing outside this file sees zod's wording.

/** A schema as zod 4 exposes it at run time: its definition and, for numbers and strings, bounds. */
interface Sch {
  def: { type: string; [k: string]: unknown };
  minValue?: number | null;
  maxValue?: number | null;
  isInt?: boolean;
  minLength?: number | null;
  maxLength?: number | null;
  shape?: Record<string, Sch>;
}

const THIN = '\u2009';
/** A bound as the lab prints numbers: 1 048 576, with thin spaces. */
export function fmtBound(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const [i, f] = String(n).split('.');
  const neg = i!.startsWith('-');
  const g = (neg ? i!.slice(1) : i!).replace(/\B(?=(\d{3})+(?!\d))/g, THIN);
  return (neg ? '-' : '') + g + (f !== undefined ? `.${f}` : '');
}

const WRAPPERS = new Set(['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch', 'nonoptional']);
function unwrap(s: Sch): Sch {
  let cur = s;
  for (let n = 0; n < 10 && WRAPPERS.has(cur.def.type); n++) cur = cur.def.innerType as Sch;
  return cur;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The literal values an object schema's `key` must have (a discriminated union's option). */
function literalValues(s: Sch, key: string): unknown[] {
  const k = s.shape?.[key];
  if (!k) return [];
  const u = unwrap(k);
  if (u.def.type === 'literal') return u.def.values as unknown[];
  if (u.def.type === 'enum') return Object.values(u.def.entries as Record<string, unknown>);
  return [];
}

/** Picks the union option the value is meant for: by discriminator, else the only object option. */
function unionOption(s: Sch, value: unknown): Sch | undefined {
  const options = (s.def.options as Sch[]).map(unwrap);
  const disc = s.def.discriminator as string | undefined;
  if (disc && isObject(value)) return options.find((o) => literalValues(o, disc).includes(value[disc]));
  if (isObject(value)) {
    const objs = options.filter((o) => o.def.type === 'object');
    const keys = Object.keys(value);
    return objs.find((o) => keys.every((k) => o.shape && k in o.shape)) ?? (objs.length === 1 ? objs[0] : undefined);
  }
  return undefined;
}

/** The schema at a path of the input, following the input where a union has to be resolved. */
function schemaAt(root: Sch, input: unknown, path: readonly PropertyKey[]): Sch | undefined {
  let s: Sch | undefined = root;
  let v = input;
  for (const key of path) {
    s = unwrap(s);
    if (s.def.type === 'union') s = unionOption(s, v);
    if (!s) return undefined;
    s = unwrap(s);
    if (s.def.type === 'object' && typeof key === 'string') s = s.shape?.[key];
    else if (s.def.type === 'array') s = s.def.element as Sch;
    else if (s.def.type === 'record') s = s.def.valueType as Sch;
    else return undefined;
    v = isObject(v) || Array.isArray(v) ? (v as Record<PropertyKey, unknown>)[key as string] : undefined;
    if (!s) return undefined;
  }
  s = unwrap(s);
  if (s.def.type === 'union') return unionOption(s, v) ?? s;
  return s;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const key of path) v = isObject(v) || Array.isArray(v) ? (v as Record<PropertyKey, unknown>)[key as string] : undefined;
  return v;
}

/** The unit a number field counts in, from its name: memoryMiB → MiB. */
function unitOf(field: PropertyKey | undefined): string {
  const f = typeof field === 'string' ? field : '';
  if (/MiB$/.test(f)) return 'MiB';
  if (/KiB$/.test(f)) return 'KiB';
  if (/(^p|P)ages$/.test(f)) return 'pages';
  return '';
}

const quote = (x: unknown) => JSON.stringify(x);
const LIMIT = Number.MAX_SAFE_INTEGER;

/** "a whole number of MiB from 16 to 1 048 576", read from the schema. */
function allowed(s: Sch, field: PropertyKey | undefined): string {
  switch (s.def.type) {
    case 'number': {
      const unit = unitOf(field);
      const what = `${s.isInt ? 'a whole number' : 'a number'}${unit ? ` of ${unit}` : ''}`;
      const lo = s.minValue ?? -Infinity;
      const hi = s.maxValue ?? Infinity;
      const hasLo = Number.isFinite(lo) && Math.abs(lo) < LIMIT;
      const hasHi = Number.isFinite(hi) && Math.abs(hi) < LIMIT;
      if (hasLo && hasHi) return `${what} from ${fmtBound(lo)} to ${fmtBound(hi)}`;
      if (hasLo) return `${what} of at least ${fmtBound(lo)}`;
      if (hasHi) return `${what} of at most ${fmtBound(hi)}`;
      return what;
    }
    case 'string': {
      const lo = s.minLength ?? 0;
      const hi = s.maxLength ?? Infinity;
      if (lo > 0 && Number.isFinite(hi)) return `text of ${fmtBound(lo)} to ${fmtBound(hi)} characters`;
      if (Number.isFinite(hi)) return `text of at most ${fmtBound(hi)} characters`;
      if (lo > 0) return `text of at least ${fmtBound(lo)} character${lo === 1 ? '' : 's'}`;
      return 'text (in double quotes)';
    }
    case 'boolean':
      return 'true or false';
    case 'enum':
      return `one of ${Object.values(s.def.entries as Record<string, unknown>).map(quote).join(', ')}`;
    case 'literal': {
      const v = s.def.values as unknown[];
      return v.length === 1 ? quote(v[0]) : `one of ${v.map(quote).join(', ')}`;
    }
    case 'array': {
      let lo = 0;
      let hi = Infinity;
      for (const c of (s.def.checks as { _zod: { def: { check: string; minimum?: number; maximum?: number } } }[] | undefined) ?? []) {
        const d = c._zod.def;
        if (d.check === 'min_length') lo = d.minimum ?? 0;
        if (d.check === 'max_length') hi = d.maximum ?? Infinity;
      }
      const items = field === 'domains' ? 'domains' : typeof field === 'string' ? `${field} entries` : 'entries';
      if (lo > 0 && Number.isFinite(hi)) return `a list of ${fmtBound(lo)} to ${fmtBound(hi)} ${items}`;
      if (Number.isFinite(hi)) return `a list of at most ${fmtBound(hi)} ${items}`;
      if (lo > 0) return `a list of at least ${fmtBound(lo)} ${items}`;
      return 'a list [ … ]';
    }
    case 'object': {
      const keys = Object.keys(s.shape ?? {});
      return keys.length ? `an object with the fields ${keys.join(', ')}` : 'an object { }';
    }
    case 'record':
      return 'an object { "name": … }';
    case 'union': {
      const disc = s.def.discriminator as string | undefined;
      if (disc) {
        const vals = (s.def.options as Sch[]).flatMap((o) => literalValues(unwrap(o), disc));
        return `an object whose "${disc}" is one of ${vals.map(quote).join(', ')}`;
      }
      return (s.def.options as Sch[]).map((o) => allowed(unwrap(o), field)).join(', or ');
    }
    default:
      return `a valid ${String(field ?? 'value')}`;
  }
}

/** What the user wrote, briefly. */
function got(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return `a list of ${v.length} entr${v.length === 1 ? 'y' : 'ies'}`;
  if (isObject(v)) return 'an object';
  if (typeof v === 'number') return fmtBound(v);
  const s = quote(v);
  return s.length > 48 ? `${s.slice(0, 45)}…"` : s;
}

function issueMessage(issue: z.core.$ZodIssue, input: unknown): string {
  const field = issue.path[issue.path.length - 1];
  const s = schemaAt(scenarioSchema as unknown as Sch, input, issue.path);
  const v = valueAt(input, issue.path);
  const what = s ? allowed(s, field) : undefined;
  switch (issue.code) {
    case 'invalid_type':
    case 'too_small':
    case 'too_big':
    case 'not_multiple_of':
    case 'invalid_value':
      if (!what) break;
      if (v === undefined) return `missing: must be ${what}`;
      if (issue.code === 'too_small' && Array.isArray(v)) return `must be ${what}; got ${v.length === 0 ? 'an empty list' : got(v)}`;
      if (typeof v === 'string' && (issue.code === 'too_small' || issue.code === 'too_big')) return `must be ${what}; got ${fmtBound(v.length)} character${v.length === 1 ? '' : 's'}`;
      return `must be ${what}; got ${got(v)}`;
    case 'invalid_format':
      // The schema's own description of the format (a name, an address …).
      return `must be ${issue.message}; got ${got(v)}`;
    default:
      break;
  }
  return issue.message;
}

function zodProblems(err: z.ZodError, input: unknown): Problem[] {
  const out: Problem[] = [];
  for (const issue of err.issues) {
    const path = formatPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      const s = schemaAt(scenarioSchema as unknown as Sch, input, issue.path);
      const known = s?.def.type === 'object' ? Object.keys(s.shape ?? {}) : [];
      for (const k of issue.keys) {
        out.push({ path: path === '(scenario)' ? k : `${path}.${k}`, message: `unknown field${known.length ? `; the fields here are ${known.join(', ')}` : ''}` });
      }
    } else if (issue.code === 'invalid_union' && 'discriminator' in issue) {
      const key = String(issue.discriminator);
      const at = issue.path[issue.path.length - 1] === key ? path : `${path}.${key}`;
      const options = 'options' in issue && Array.isArray(issue.options) ? (issue.options as unknown[]).map(String) : [];
      const what = key === 'kind' ? 'workload kind' : key;
      const v = valueAt(input, issue.path[issue.path.length - 1] === key ? issue.path : [...issue.path, key]);
      const list = (key === 'kind' ? [...WORKLOAD_KINDS] : options).join(', ');
      out.push({ path: at, message: v === undefined ? `missing: the ${what}, one of ${list}` : `unknown ${what} ${got(v)}; allowed: ${list}` });
    } else {
      out.push({ path, message: issueMessage(issue, input) });
    }
  }
  return out;
}

function workloadMemoryMiB(w: Workload): number {
  switch (w.kind) {
    case 'random-access':
    case 'sequential':
    case 'update-vs-access':
      return w.workingSetMiB;
    case 'fork-exit':
      return w.residentMiB * 2;
    case 'exec':
      return w.imageMiB;
    case 'page-fault':
      return Math.ceil((w.pages * 4) / 1024);
    case 'mmap-churn':
      return Math.ceil((w.pagesPerMap * 4) / 1024);
    case 'mmap':
      return Math.ceil(w.sizeMiB / 10) + 1;
    case 'context-switch':
      return Math.ceil((w.processes * w.sizeKiB) / 1024);
    case 'sh-proc':
      return 4;
    case 'kernel-build':
      return 24;
    case 'oltp':
      return 68;
    case 'spec':
      return w.profile === 'mcf' ? 260 : 68;
    default:
      return 0;
  }
}

/**
 * What of a scenario is structurally valid, field by field: a field the schema refuses is absent
 * here (its problem is already reported), so the checks below run on everything else in the same
 * pass and a user sees every problem at once.
 */
type Part<T> = { [K in keyof T]?: T[K] };
interface PartialScenario {
  hypervisor?: Scenario['hypervisor'];
  machineMemoryMiB?: number;
  cpu?: CpuProfileId;
  tlbs: Partial<Record<'tlb4k' | 'tlb2m' | 'tlb1g', { entries: number; ways: number }>>;
  /** One entry per element of `domains` (an element that is not an object has no fields). */
  domains: Part<DomainConfig>[];
  devices: (DeviceConfig | undefined)[];
  timeline: (TimelineEntry | undefined)[];
  /** Present (possibly with a bad field) when the scenario has one. */
  migrationTarget?: Partial<MigrationTarget>;
}

function field<T>(schema: z.ZodType<T>, v: unknown): T | undefined {
  const r = schema.safeParse(v);
  return r.success ? r.data : undefined;
}

function salvage(input: unknown): PartialScenario {
  const root = isObject(input) ? input : {};
  const machine = isObject(root.machine) ? root.machine : {};
  const mmu = isObject(machine.mmu) ? machine.mmu : {};
  const tlbs: PartialScenario['tlbs'] = {};
  for (const key of ['tlb4k', 'tlb2m', 'tlb1g'] as const) {
    const t = field(tlbShape, mmu[key]);
    if (t) tlbs[key] = t;
  }
  const domains = (Array.isArray(root.domains) ? root.domains : []).map((d) => {
    const src = isObject(d) ? d : {};
    const out: Record<string, unknown> = {};
    if (!isObject(d)) return out as Part<DomainConfig>;
    for (const [k, sch] of Object.entries(domainSchema.shape)) {
      // vifs one by one (a bad one leaves a hole, so the rest keep their index and are still checked).
      if (k === 'vifs' && Array.isArray(src[k])) {
        out[k] = (src[k] as unknown[]).map((v) => field(vifSchema, v));
        continue;
      }
      const r = (sch as z.ZodType).safeParse(src[k]);
      if (r.success && r.data !== undefined) out[k] = r.data;
    }
    return out as Part<DomainConfig>;
  });
  return {
    hypervisor: field(scenarioSchema.shape.hypervisor, root.hypervisor),
    machineMemoryMiB: field(machineSchema.shape.memoryMiB, machine.memoryMiB),
    cpu: field(machineSchema.shape.cpu, machine.cpu),
    tlbs,
    domains,
    devices: (Array.isArray(machine.devices) ? machine.devices : []).map((d) => field(deviceSchema, d)),
    timeline: (Array.isArray(root.timeline) ? root.timeline : []).map((t) => field(timelineEntrySchema, t)),
    ...(isObject(root.migrationTarget)
      ? {
          migrationTarget: {
            memoryMiB: field(migrationTargetSchema.shape.memoryMiB, root.migrationTarget.memoryMiB),
            pcpus: field(migrationTargetSchema.shape.pcpus, root.migrationTarget.pcpus),
            linkMbps: field(migrationTargetSchema.shape.linkMbps, root.migrationTarget.linkMbps),
          },
        }
      : {}),
  };
}

const HV_NAME: Record<Scenario['hypervisor'], string> = { xen: 'Xen', kvm: 'KVM', none: 'bare metal' };

/** Checks the combinations a schema alone cannot express, on whatever parts are valid. */
function semanticProblems(s: PartialScenario): Problem[] {
  const out: Problem[] = [];
  const names = new Set<string>();
  let dom0s = 0;
  const hv = s.hypervisor;
  s.domains.forEach((d, i) => {
    const at = (f: string) => `domains[${i}].${f}`;
    if (d.name !== undefined) {
      if (names.has(d.name)) out.push({ path: at('name'), message: `duplicate domain name "${d.name}"` });
      names.add(d.name);
    }
    if (d.role === 'dom0') dom0s++;

    if (hv === 'none' && d.mode !== undefined && d.mode !== 'native') {
      out.push({ path: at('mode'), message: `hypervisor "none" runs one domain in mode "native", not "${d.mode}"` });
    }
    if (hv !== undefined && hv !== 'none' && d.mode === 'native') {
      out.push({ path: at('mode'), message: `mode "native" means no hypervisor: use hypervisor "none", or mode pv, shadow or hap` });
    }
    if (hv === 'kvm' && d.mode === 'pv') {
      out.push({ path: at('mode'), message: 'KVM has no PV direct paging: use shadow or hap' });
    }
    for (const k of ['weight', 'cap'] as const) {
      if (d[k] !== undefined && hv !== undefined && hv !== 'xen') out.push({ path: at(k), message: `${k} is Xen's credit scheduler's; ${HV_NAME[hv]} has none here: remove it` });
    }
    if (d.cap !== undefined && d.vcpus !== undefined && d.cap > 100 * d.vcpus) {
      out.push({ path: at('cap'), message: `a cap is a percent of one pCPU per vCPU: at most ${100 * d.vcpus} for ${d.vcpus} vCPU${d.vcpus > 1 ? 's' : ''} (0: no cap)` });
    }
    if (d.role === 'dom0' && hv !== undefined && hv !== 'xen') {
      out.push({ path: at('role'), message: 'only a Xen scenario has a dom0' });
    }
    if (d.role === 'dom0' && d.mode !== undefined && d.mode !== 'pv' && d.mode !== 'hap') {
      out.push({ path: at('mode'), message: 'dom0 runs PV (classic) or hap (PVH); shadow dom0 is not supported' });
    }
    if (d.mode === 'pv' && d.guestPageSize !== undefined && d.guestPageSize !== '4k') {
      out.push({
        path: at('guestPageSize'),
        message:
          hv === 'xen' || hv === undefined
            ? `PV guests get no superpages: Xen refuses PSE in a PV guest's L2/L3 entries, so guestPageSize must be "4k", not "${d.guestPageSize}"`
            : `PV direct paging (a Xen guest's) has no superpages, so with mode "pv" guestPageSize must be "4k", not "${d.guestPageSize}"; under ${HV_NAME[hv]} use mode ${hv === 'kvm' ? 'shadow or hap' : '"native"'} for ${d.guestPageSize} pages`,
      });
    }
    if (d.mode !== undefined && d.mode !== 'hap' && d.hostPageSize !== undefined && d.hostPageSize !== '4k') {
      out.push({
        path: at('hostPageSize'),
        message: `mode "${d.mode}" has no second (host) translation stage, so hostPageSize must be "4k"; only hap uses host pages of ${d.hostPageSize}`,
      });
    }
    if (d.shadowOutOfSync !== undefined && d.mode !== undefined && d.mode !== 'shadow') {
      out.push({ path: at('shadowOutOfSync'), message: `only a shadow domain has out-of-sync shadows (mode is "${d.mode}")` });
    }
    if (d.shadowEarlyUnshadow !== undefined && d.mode !== undefined && d.mode !== 'shadow') {
      out.push({ path: at('shadowEarlyUnshadow'), message: `only a shadow domain unshadows early (mode is "${d.mode}")` });
    }
    if (d.guestOs === 'windows' && d.mode === 'pv') {
      out.push({ path: at('guestOs'), message: 'Windows has no PV (direct paging) port: use shadow or hap for a Windows guest' });
    }
    if (d.shadowPoolPages !== undefined && d.mode !== undefined && d.mode !== 'shadow') {
      out.push({ path: at('shadowPoolPages'), message: `only a shadow domain has a shadow pool (mode is "${d.mode}")` });
    }
    if (d.mode === 'shadow' && d.guestPageSize === '1g') {
      out.push({
        path: at('guestPageSize'),
        message: 'shadow mode splinters guest superpages into 4 KiB shadow L1s ("fl1" shadows) for 2 MiB pages only; use "4k" or "2m"',
      });
    }
    if (s.cpu !== undefined) {
      const cpu = CPU_PROFILE_TABLE[s.cpu];
      if (d.mode === 'hap' && !cpu.features.ept) {
        out.push({
          path: at('mode'),
          message: `mode "hap" needs EPT, which cpu "${s.cpu}" (${cpu.label}) does not have: use shadow or pv, or cpu ${CPU_PROFILES.filter((c) => CPU_PROFILE_TABLE[c].features.ept).join(' or ')}`,
        });
      }
      for (const f of ['guestPageSize', 'hostPageSize'] as const) {
        if (d[f] === '1g' && !cpu.features.page1g) {
          out.push({ path: at(f), message: `cpu "${s.cpu}" (${cpu.label}) has no 1 GiB pages: use "4k" or "2m"` });
        }
      }
    }
    const mem = d.memoryMiB;
    if (mem !== undefined) {
      if (d.guestPageSize === '1g' && mem < 1024 + GUEST_KERNEL_RESERVED_MIB) {
        out.push({ path: at('guestPageSize'), message: `a 1 GiB guest page needs 1 GiB of guest memory beside the kernel's ${GUEST_KERNEL_RESERVED_MIB} MiB: memoryMiB at least ${1024 + GUEST_KERNEL_RESERVED_MIB} (it is ${mem})` });
      }
      if (d.guestPageSize === '2m' && mem % 2 !== 0) {
        out.push({ path: at('memoryMiB'), message: '2 MiB guest pages need memoryMiB to be a multiple of 2' });
      }
      if (d.hostPageSize === '1g' && mem % 1024 !== 0) {
        out.push({
          path: at('hostPageSize'),
          message: `a 1 GiB EPT leaf maps a whole GiB of the guest, so memoryMiB must be a multiple of 1024 (it is ${mem})`,
        });
      }
      if (d.hostPageSize === '2m' && mem % 2 !== 0) {
        out.push({ path: at('memoryMiB'), message: '2 MiB host pages need memoryMiB to be a multiple of 2' });
      }
      const max = d.maxMemoryMiB;
      if (max !== undefined && max < mem) {
        out.push({ path: at('maxMemoryMiB'), message: `maxMemoryMiB (xl.cfg maxmem) is the most the domain may balloon up to: at least memoryMiB (${mem}), not ${max}` });
      } else if (max !== undefined && max > mem && (d.mode === 'native' || d.role === 'dom0')) {
        out.push({ path: at('maxMemoryMiB'), message: d.mode === 'native' ? 'a native domain has no balloon driver: maxMemoryMiB above memoryMiB needs Xen (mode pv, shadow or hap)' : 'dom0 is built with all its memory (dom0_mem): maxMemoryMiB above memoryMiB is for guests' });
      }
      if (d.workload !== undefined) {
        const need = workloadMemoryMiB(d.workload);
        const avail = mem - GUEST_KERNEL_RESERVED_MIB;
        if (need > avail) {
          out.push({
            path: at('workload'),
            message: `the workload needs ${need} MiB but the guest has ${avail} MiB after its kernel's ${GUEST_KERNEL_RESERVED_MIB} MiB; raise memoryMiB or shrink the workload`,
          });
        }
      }
    }
    if (d.workload?.kind === 'hypercalls') {
      if (d.mode !== undefined && d.mode !== 'pv') {
        out.push({ path: at('workload.kind'), message: `the hypercalls workload drives a PV guest's page-table hypercalls; mode must be "pv", not "${d.mode}"` });
      }
      const w = d.workload;
      for (const { path, ref } of frameRefs(w.steps, at('workload.steps'))) {
        if ('page' in ref && !(ref.page in w.pages)) {
          out.push({ path: `${path}.page`, message: `unknown page "${ref.page}"; declared pages: ${Object.keys(w.pages).join(', ') || '(none)'}` });
        }
        if ('foreign' in ref) {
          const f = s.domains.find((x) => x.name === ref.foreign);
          const isDom0 = hv === 'xen' && ref.foreign === DEFAULT_DOM0.name && !s.domains.some((x) => x.role === 'dom0');
          const fMem = f ? f.memoryMiB : DEFAULT_DOM0.memoryMiB;
          if (!f && !isDom0) out.push({ path: `${path}.foreign`, message: `no domain named "${ref.foreign}"` });
          else if (fMem !== undefined && ref.pfn >= fMem * 256) {
            out.push({ path: `${path}.pfn`, message: `pfn ${ref.pfn} is beyond ${ref.foreign}'s ${fMem} MiB` });
          }
        }
      }
      w.steps.forEach((st, i) => {
        if (st.op !== 'mmuext_op') return;
        const needsFrame = st.cmd.startsWith('pin_') || st.cmd === 'unpin_table' || st.cmd === 'new_baseptr';
        const needsVa = st.cmd.startsWith('invlpg');
        if (needsFrame && !st.frame) out.push({ path: at(`workload.steps[${i}].frame`), message: `${st.cmd} needs a frame` });
        if (needsVa && !st.va) out.push({ path: at(`workload.steps[${i}].va`), message: `${st.cmd} needs a va` });
      });
    }
  });
  if (dom0s > 1) out.push({ path: 'domains', message: `at most one domain may have role "dom0" (found ${dom0s})` });
  if (hv === 'none' && s.domains.length > 1) {
    out.push({ path: 'domains', message: `hypervisor "none" runs exactly one domain (found ${s.domains.length})` });
  }
  // The memory sum needs every domain's memory and role; a domain missing either has its own problem.
  const sized = s.domains.every((d) => d.memoryMiB !== undefined && d.role !== undefined);
  if (hv !== undefined && s.machineMemoryMiB !== undefined && s.domains.length > 0 && sized) {
    const dom0Mib = hv === 'xen' && dom0s === 0 ? DEFAULT_DOM0.memoryMiB : 0;
    const xenMib = hv === 'none' ? 0 : XEN_RESERVED_MIB;
    const total = s.domains.reduce((a, d) => a + d.memoryMiB!, 0) + dom0Mib + xenMib;
    if (total > s.machineMemoryMiB) {
      out.push({
        path: 'machine.memoryMiB',
        message: `domains need ${total} MiB (${dom0Mib ? `default dom0 ${dom0Mib} MiB, ` : ''}${xenMib ? `hypervisor ${xenMib} MiB, ` : ''}guests ${total - dom0Mib - xenMib} MiB) but the machine has ${s.machineMemoryMiB} MiB`,
      });
    }
  }
  out.push(...migrationProblems(s));
  const dom0Name = s.domains.find((d) => d.role === 'dom0')?.name ?? DEFAULT_DOM0.name;
  out.push(
    ...ioProblems(
      hv,
      s.devices,
      s.domains.map((d) => ({ name: d.name, role: d.role, mode: d.mode, memoryMiB: d.memoryMiB, maxMemoryMiB: d.maxMemoryMiB, pci: d.pci, disks: d.disks, vifs: d.vifs, workloadKind: d.workload?.kind, victim: d.workload?.kind === 'rogue-dma' ? d.workload.victim : undefined })),
      s.timeline,
      dom0Name,
    ),
  );
  for (const key of ['tlb4k', 'tlb2m', 'tlb1g'] as const) {
    const t = s.tlbs[key];
    const why = t && tlbShapeProblem(t.entries, t.ways);
    if (why) out.push({ path: `machine.mmu.${key}`, message: why });
  }
  return out;
}

/**
 * Why a TLB of `entries` and `ways` cannot be built, or undefined: a set-associative TLB has
 * entries/ways sets, a whole power of two.
 */
export function tlbShapeProblem(entries: number, ways: number): string | undefined {
  if (entries % ways !== 0) return `ways must divide entries (sets = entries/ways), and ${ways} does not divide ${entries}`;
  if (!isPow2(entries / ways)) return `entries/ways (the number of sets) must be a power of two, got ${entries}/${ways} = ${entries / ways}`;
  return undefined;
}

function isPow2(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/** Validates a parsed JSON value as a scenario: every problem in one pass, structural ones first. */
export function validateScenario(input: unknown): ValidationResult {
  const parsed = scenarioSchema.safeParse(input);
  const structural = parsed.success ? [] : zodProblems(parsed.error, input);
  const problems = [...structural, ...semanticProblems(salvage(input))];
  if (!parsed.success || problems.length > 0) return { ok: false, problems };
  return { ok: true, scenario: parsed.data };
}

/** Parses JSON text and validates it; a syntax error is one problem at `(file)`, with its line and column. */
export function parseScenarioText(text: string): ValidationResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, problems: [{ path: '(file)', message: describeJsonError(text, e as Error) }] };
  }
  return validateScenario(json);
}

/**
 * Live migration's checks: a migrate action needs a migrationTarget under Xen, names a guest, and
 * the target must hold its dom0 (the default, 512 MiB), Xen's own memory and every guest migrated
 * to it (libxl refuses a domain that does not fit in the target's free memory).
 */
function migrationProblems(s: PartialScenario): Problem[] {
  const out: Problem[] = [];
  const mt = s.migrationTarget;
  const migrates = s.timeline.map((t, i) => ({ t, i })).filter((x) => x.t?.do === 'migrate');
  if (mt && s.hypervisor !== undefined && s.hypervisor !== 'xen') {
    out.push({ path: 'migrationTarget', message: `live migration here is Xen's (xl migrate): hypervisor "${s.hypervisor}" is not Xen` });
  }
  const moved = new Set<string>();
  for (const { t, i } of migrates) {
    const at = `timeline[${i}]`;
    if (!mt) {
      out.push({ path: `${at}.do`, message: 'migrate needs a "migrationTarget": {"memoryMiB", "pcpus", "linkMbps"} (the second host and the link to it)' });
      continue;
    }
    const d = s.domains.find((x) => x.name === t!.domain);
    const defaultDom0 = !s.domains.some((x) => x.role === 'dom0') && t!.domain === DEFAULT_DOM0.name;
    if (!d && !defaultDom0) continue; // ioProblems names the unknown domain
    if (defaultDom0 || d?.role === 'dom0') {
      out.push({ path: `${at}.domain`, message: `"${t!.domain}" is dom0: it runs the toolstack and the backends of its host and does not migrate` });
      continue;
    }
    if (moved.has(t!.domain)) {
      out.push({ path: `${at}.domain`, message: `"${t!.domain}" already migrates earlier in the timeline: the lab has one target host, and no way back` });
      continue;
    }
    moved.add(t!.domain);
  }
  if (mt?.memoryMiB !== undefined && moved.size > 0) {
    const guests = s.domains.filter((d) => d.name !== undefined && moved.has(d.name));
    if (guests.every((d) => d.memoryMiB !== undefined)) {
      const need = DEFAULT_DOM0.memoryMiB + XEN_RESERVED_MIB + guests.reduce((a, d) => a + d.memoryMiB!, 0);
      if (need > mt.memoryMiB) {
        out.push({
          path: 'migrationTarget.memoryMiB',
          message: `the target needs ${need} MiB (dom0 ${DEFAULT_DOM0.memoryMiB} MiB, hypervisor ${XEN_RESERVED_MIB} MiB, migrated guests ${need - DEFAULT_DOM0.memoryMiB - XEN_RESERVED_MIB} MiB) but has ${mt.memoryMiB} MiB`,
        });
      }
    }
  }
  return out;
}

/**
 * The scenario format (DESIGN.md §6): one JSON document drives the CLI, the app and the tests.
 * Unknown fields and impossible combinations are errors, each reported with its field path and
 * what is allowed.
 */
import { z } from 'zod';
import { COST_KEYS } from '../machine/cost.js';
import { frameRefs, hypercallsWorkloadSchema } from './hypercallScript.js';

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
  'page-fault',
  'mmap-churn',
  'context-switch',
  'kernel-build',
  'hypercalls',
] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

export const workloadSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('idle') }),
  z.strictObject({ kind: z.literal('cold-walk'), pages: int(1, 100_000) }),
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
  z.strictObject({ kind: z.literal('fork-exit'), forks: int(1, 100_000), residentMiB: int(1, 4096) }),
  z.strictObject({ kind: z.literal('exec'), execs: int(1, 100_000), imageMiB: int(1, 1024) }),
  z.strictObject({ kind: z.literal('page-fault'), pages: int(1, 10_000_000) }),
  z.strictObject({ kind: z.literal('mmap-churn'), maps: int(1, 1_000_000), pagesPerMap: int(1, 4096) }),
  z.strictObject({
    kind: z.literal('context-switch'),
    switches: int(1, 10_000_000),
    processes: int(2, 256),
  }),
  z.strictObject({ kind: z.literal('kernel-build'), jobs: int(1, 10_000) }),
  hypercallsWorkloadSchema,
]);
export type Workload = z.infer<typeof workloadSchema>;

export const domainSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,31}$/, 'a letter, then up to 31 letters, digits, "_", "." or "-"'),
  role: z.enum(['dom0', 'guest']).default('guest'),
  mode: z.enum(PAGING_MODES),
  memoryMiB: int(16, 1_048_576),
  vcpus: int(1, 64),
  guestPageSize: pageSize.default('4k'),
  hostPageSize: pageSize.default('4k'),
  shadowOutOfSync: z.boolean().optional(),
  /** Shadow pool size in pages (Xen's shadow_memory); default scales with guest memory. */
  shadowPoolPages: int(16, 1_048_576).optional(),
  workload: workloadSchema.default({ kind: 'idle' }),
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
  mmu: mmuSchema.optional(),
  costs: z.strictObject(costShape).optional(),
});

export const scenarioSchema = z.strictObject({
  name: z.string().min(1).max(128),
  description: z.string().max(4000).optional(),
  seed: int(0, 0xffffffff).default(1),
  machine: machineSchema,
  hypervisor: z.enum(HYPERVISORS),
  domains: z.array(domainSchema).min(1).max(64),
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

function zodProblems(err: z.ZodError): Problem[] {
  const out: Problem[] = [];
  for (const issue of err.issues) {
    const path = formatPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) {
        out.push({ path: path === '(scenario)' ? k : `${path}.${k}`, message: 'unknown field' });
      }
    } else if (issue.code === 'invalid_union' && 'discriminator' in issue) {
      const key = String(issue.discriminator);
      const at = issue.path[issue.path.length - 1] === key ? path : `${path}.${key}`;
      const options = 'options' in issue && Array.isArray(issue.options) ? (issue.options as unknown[]).map(String) : [];
      const what = key === 'kind' ? 'workload kind' : key;
      out.push({ path: at, message: `unknown ${what}; allowed: ${(key === 'kind' ? [...WORKLOAD_KINDS] : options).join(', ')}` });
    } else {
      out.push({ path, message: issue.message });
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
    default:
      return 0;
  }
}

/** Checks the combinations a schema alone cannot express. */
function semanticProblems(s: Scenario): Problem[] {
  const out: Problem[] = [];
  const names = new Set<string>();
  let dom0s = 0;
  s.domains.forEach((d, i) => {
    const at = (f: string) => `domains[${i}].${f}`;
    if (names.has(d.name)) out.push({ path: at('name'), message: `duplicate domain name "${d.name}"` });
    names.add(d.name);
    if (d.role === 'dom0') dom0s++;

    if (s.hypervisor === 'none' && d.mode !== 'native') {
      out.push({ path: at('mode'), message: `hypervisor "none" runs one domain in mode "native", not "${d.mode}"` });
    }
    if (s.hypervisor !== 'none' && d.mode === 'native') {
      out.push({ path: at('mode'), message: `mode "native" means no hypervisor: use hypervisor "none", or mode pv, shadow or hap` });
    }
    if (s.hypervisor === 'kvm' && d.mode === 'pv') {
      out.push({ path: at('mode'), message: 'KVM has no PV direct paging: use shadow or hap' });
    }
    if (d.role === 'dom0' && s.hypervisor !== 'xen') {
      out.push({ path: at('role'), message: 'only a Xen scenario has a dom0' });
    }
    if (d.role === 'dom0' && d.mode !== 'pv' && d.mode !== 'hap') {
      out.push({ path: at('mode'), message: 'dom0 runs PV (classic) or hap (PVH); shadow dom0 is not supported' });
    }
    if (d.mode === 'pv' && d.guestPageSize !== '4k') {
      out.push({
        path: at('guestPageSize'),
        message: `PV guests get no superpages: Xen refuses PSE in a PV guest's L2/L3 entries, so guestPageSize must be "4k", not "${d.guestPageSize}"`,
      });
    }
    if (d.mode !== 'hap' && d.hostPageSize !== '4k') {
      out.push({
        path: at('hostPageSize'),
        message: `mode "${d.mode}" has no second (host) translation stage, so hostPageSize must be "4k"; only hap uses host pages of ${d.hostPageSize}`,
      });
    }
    if (d.shadowOutOfSync !== undefined && d.mode !== 'shadow') {
      out.push({ path: at('shadowOutOfSync'), message: `only a shadow domain has out-of-sync shadows (mode is "${d.mode}")` });
    }
    if (d.shadowPoolPages !== undefined && d.mode !== 'shadow') {
      out.push({ path: at('shadowPoolPages'), message: `only a shadow domain has a shadow pool (mode is "${d.mode}")` });
    }
    if (d.mode === 'shadow' && d.guestPageSize === '1g') {
      out.push({
        path: at('guestPageSize'),
        message: 'shadow mode splinters guest superpages into 4 KiB shadow L1s ("fl1" shadows) for 2 MiB pages only; use "4k" or "2m"',
      });
    }
    if (d.guestPageSize === '1g' && d.memoryMiB < 1024 + GUEST_KERNEL_RESERVED_MIB) {
      out.push({ path: at('guestPageSize'), message: `a 1 GiB guest page needs 1 GiB of guest memory beside the kernel's ${GUEST_KERNEL_RESERVED_MIB} MiB: memoryMiB at least ${1024 + GUEST_KERNEL_RESERVED_MIB} (it is ${d.memoryMiB})` });
    }
    if (d.guestPageSize === '2m' && d.memoryMiB % 2 !== 0) {
      out.push({ path: at('memoryMiB'), message: '2 MiB guest pages need memoryMiB to be a multiple of 2' });
    }
    if (d.hostPageSize === '1g' && d.memoryMiB % 1024 !== 0) {
      out.push({
        path: at('hostPageSize'),
        message: `a 1 GiB EPT leaf maps a whole GiB of the guest, so memoryMiB must be a multiple of 1024 (it is ${d.memoryMiB})`,
      });
    }
    if (d.hostPageSize === '2m' && d.memoryMiB % 2 !== 0) {
      out.push({ path: at('memoryMiB'), message: '2 MiB host pages need memoryMiB to be a multiple of 2' });
    }
    const need = workloadMemoryMiB(d.workload);
    const avail = d.memoryMiB - GUEST_KERNEL_RESERVED_MIB;
    if (need > avail) {
      out.push({
        path: at('workload'),
        message: `the workload needs ${need} MiB but the guest has ${avail} MiB after its kernel's ${GUEST_KERNEL_RESERVED_MIB} MiB; raise memoryMiB or shrink the workload`,
      });
    }
    if (d.workload.kind === 'hypercalls') {
      if (d.mode !== 'pv') {
        out.push({ path: at('workload.kind'), message: `the hypercalls workload drives a PV guest's page-table hypercalls; mode must be "pv", not "${d.mode}"` });
      }
      const w = d.workload;
      for (const { path, ref } of frameRefs(w.steps, at('workload.steps'))) {
        if ('page' in ref && !(ref.page in w.pages)) {
          out.push({ path: `${path}.page`, message: `unknown page "${ref.page}"; declared pages: ${Object.keys(w.pages).join(', ') || '(none)'}` });
        }
        if ('foreign' in ref) {
          const f = s.domains.find((x) => x.name === ref.foreign);
          const isDom0 = s.hypervisor === 'xen' && ref.foreign === DEFAULT_DOM0.name && !s.domains.some((x) => x.role === 'dom0');
          if (!f && !isDom0) out.push({ path: `${path}.foreign`, message: `no domain named "${ref.foreign}"` });
          else if (ref.pfn >= (f?.memoryMiB ?? DEFAULT_DOM0.memoryMiB) * 256) {
            out.push({ path: `${path}.pfn`, message: `pfn ${ref.pfn} is beyond ${ref.foreign}'s ${f?.memoryMiB ?? DEFAULT_DOM0.memoryMiB} MiB` });
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
  if (s.hypervisor === 'none' && s.domains.length !== 1) {
    out.push({ path: 'domains', message: `hypervisor "none" runs exactly one domain (found ${s.domains.length})` });
  }
  const dom0Mib = s.hypervisor === 'xen' && dom0s === 0 ? DEFAULT_DOM0.memoryMiB : 0;
  const xenMib = s.hypervisor === 'none' ? 0 : XEN_RESERVED_MIB;
  const total = s.domains.reduce((a, d) => a + d.memoryMiB, 0) + dom0Mib + xenMib;
  if (total > s.machine.memoryMiB) {
    out.push({
      path: 'machine.memoryMiB',
      message: `domains need ${total} MiB (${dom0Mib ? `default dom0 ${dom0Mib} MiB, ` : ''}${xenMib ? `hypervisor ${xenMib} MiB, ` : ''}guests ${total - dom0Mib - xenMib} MiB) but the machine has ${s.machine.memoryMiB} MiB`,
    });
  }
  const mmu = s.machine.mmu;
  if (mmu) {
    for (const key of ['tlb4k', 'tlb2m', 'tlb1g'] as const) {
      const t = mmu[key];
      if (t && (t.entries % t.ways !== 0 || !isPow2(t.entries / t.ways))) {
        out.push({ path: `machine.mmu.${key}`, message: `entries/ways must be a power of two (sets), got ${t.entries}/${t.ways}` });
      }
    }
  }
  return out;
}

function isPow2(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/** Validates a parsed JSON value as a scenario. */
export function validateScenario(input: unknown): ValidationResult {
  const parsed = scenarioSchema.safeParse(input);
  if (!parsed.success) return { ok: false, problems: zodProblems(parsed.error) };
  const problems = semanticProblems(parsed.data);
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, scenario: parsed.data };
}

/** Parses JSON text and validates it; a syntax error is one problem at `(file)`. */
export function parseScenarioText(text: string): ValidationResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, problems: [{ path: '(file)', message: `not valid JSON: ${(e as Error).message}` }] };
  }
  return validateScenario(json);
}

/**
 * The attack-lab script format: a workload `hypercalls` that runs a list of steps in a PV guest
 * that has booted with a live address space (issue #3 fixes this contract).
 */
import { z } from 'zod';

const hexAddr = z.string().regex(/^0x[0-9a-fA-F]{1,12}$/, 'a virtual address "0x…" below 2^48');

export const FLAG_NAMES = ['P', 'RW', 'US', 'PWT', 'PCD', 'A', 'D', 'PS', 'G', 'NX'] as const;
export type FlagName = (typeof FLAG_NAMES)[number];

export const frameRefSchema = z.union([
  z.strictObject({ page: z.string().min(1) }),
  z.strictObject({ foreign: z.string().min(1), pfn: z.number().int().min(0).max(2 ** 31 - 1) }),
  z.strictObject({ self: z.literal('l4') }),
  z.strictObject({ self: z.enum(['l1', 'l2', 'l3']), va: hexAddr }),
]);
export type FrameRef = z.infer<typeof frameRefSchema>;

export const entrySchema = z.union([
  z.literal(0),
  z.strictObject({ frame: frameRefSchema, flags: z.array(z.enum(FLAG_NAMES)) }),
  z.strictObject({ raw: z.string().regex(/^0x[0-9a-fA-F]{1,16}$/, 'a 64-bit entry "0x…"') }),
]);
export type EntryValue = z.infer<typeof entrySchema>;

export const MMUEXT_CMDS = [
  'pin_l1_table',
  'pin_l2_table',
  'pin_l3_table',
  'pin_l4_table',
  'unpin_table',
  'new_baseptr',
  'tlb_flush_local',
  'invlpg_local',
  'tlb_flush_multi',
  'invlpg_multi',
  'tlb_flush_all',
  'invlpg_all',
] as const;
export type MmuextCmdName = (typeof MMUEXT_CMDS)[number];

const index = z.number().int().min(0).max(511);

const mapStep = z.strictObject({ op: z.literal('map'), frame: frameRefSchema, va: hexAddr, flags: z.array(z.enum(FLAG_NAMES)) });
const mmuUpdateStep = z.strictObject({
  op: z.literal('mmu_update'),
  reqs: z
    .array(
      z.union([
        z.strictObject({ table: frameRefSchema, index, val: entrySchema }),
        z.strictObject({ cmd: z.literal('machphys'), frame: frameRefSchema, pfn: z.number().int().min(0).max(2 ** 31 - 1) }),
      ]),
    )
    .min(1)
    .max(512),
});
const mmuextStep = z.strictObject({
  op: z.literal('mmuext_op'),
  cmd: z.enum(MMUEXT_CMDS),
  frame: frameRefSchema.optional(),
  va: hexAddr.optional(),
});
const uvmStep = z.strictObject({
  op: z.literal('update_va_mapping'),
  va: hexAddr,
  val: entrySchema,
  flags: z.enum(['none', 'tlb_flush', 'invlpg']).default('none'),
});
const iretStep = z.strictObject({ op: z.literal('iret') });
const writeStep = z.strictObject({ op: z.literal('write'), frame: frameRefSchema, index, val: entrySchema });
const accessStep = z.strictObject({ op: z.literal('access'), va: hexAddr, write: z.boolean().default(false) });

/** Steps that may stand inside a multicall. */
export const callSchema = z.discriminatedUnion('op', [mmuUpdateStep, mmuextStep, uvmStep, iretStep]);
export type Call = z.infer<typeof callSchema>;

export const stepSchema = z.discriminatedUnion('op', [
  mapStep,
  mmuUpdateStep,
  mmuextStep,
  uvmStep,
  iretStep,
  writeStep,
  accessStep,
  z.strictObject({ op: z.literal('multicall'), calls: z.array(callSchema).min(1).max(64) }),
]);
export type Step = z.infer<typeof stepSchema>;

export const hypercallsWorkloadSchema = z.strictObject({
  kind: z.literal('hypercalls'),
  pages: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,31}$/, 'a page name: a letter or _, then letters, digits, _'), z.strictObject({})).default({}),
  steps: z.array(stepSchema).min(1).max(10_000),
});

/** Every frame reference in a script, with its field path (for the semantic checks). */
export function frameRefs(steps: readonly Step[], base: string): { path: string; ref: FrameRef }[] {
  const out: { path: string; ref: FrameRef }[] = [];
  const entry = (v: EntryValue, path: string) => {
    if (typeof v === 'object' && 'frame' in v) out.push({ path: `${path}.frame`, ref: v.frame });
  };
  const visit = (s: Step | Call, path: string) => {
    switch (s.op) {
      case 'map':
        out.push({ path: `${path}.frame`, ref: s.frame });
        break;
      case 'mmu_update':
        s.reqs.forEach((r, i) => {
          if ('table' in r) {
            out.push({ path: `${path}.reqs[${i}].table`, ref: r.table });
            entry(r.val, `${path}.reqs[${i}].val`);
          } else out.push({ path: `${path}.reqs[${i}].frame`, ref: r.frame });
        });
        break;
      case 'mmuext_op':
        if (s.frame) out.push({ path: `${path}.frame`, ref: s.frame });
        break;
      case 'update_va_mapping':
        entry(s.val, `${path}.val`);
        break;
      case 'write':
        out.push({ path: `${path}.frame`, ref: s.frame });
        entry(s.val, `${path}.val`);
        break;
      case 'multicall':
        s.calls.forEach((c, i) => visit(c, `${path}.calls[${i}]`));
        break;
      default:
        break;
    }
  };
  steps.forEach((s, i) => visit(s, `${base}[${i}]`));
  return out;
}

/**
 * What other layers (the CLI, the worker, the Electron host, the renderer) import from core/:
 * contracts only — the scenario and results schemas, the host API, the worker protocol, the cost
 * table's defaults and docs, presets and the xl.cfg syntax. Running a scenario is core/sim's.
 */
export * from './scenario.js';
export type * from './results.js';
export * from './reproduction.js';
export { DEFAULT_COSTS, COST_KEYS, type CostTable } from '../machine/cost.js';
export { DEFAULT_MMU_CONFIG, type MmuConfig } from '../machine/mmu/types.js';
export { CPU_PROFILES, CPU_PROFILE_TABLE, DEFAULT_CPU, cpuProfile, type CpuProfile, type CpuProfileId, type CpuFeatures } from '../machine/cpu.js';
export { VERSION } from './version.js';
export * from './host.js';
export * from './worker.js';
export * from './ioPaths.js';
export { parseXlCfg, toXlCfg, xlKeyOfField, XLCFG_KEYS, type XlCfgResult, type XlProblem } from './xlcfg.js';
export {
  parseWorkloadArgs,
  formatWorkload,
  workloadShape,
  workloadShapes,
  workloadUsage,
  type WorkloadShape,
  type WorkloadArgsResult,
} from './workloadSpec.js';
export { describeJsonError, findJsonSyntaxError, lineColumn, type JsonSyntaxError } from './jsonWhere.js';

/**
 * What other layers (the CLI, the worker, the Electron host, the renderer) import from core/.
 * Types plus a few entry points; nothing here touches a runtime.
 */
export * from './scenario.js';
export type * from './results.js';
export { runScenario, type RunOptions, type Progress } from '../sim/run.js';
export { compareModes, modeVariant, type CompareOptions } from '../sim/compare.js';
export { DEFAULT_COSTS, COST_KEYS, type CostTable } from '../machine/cost.js';
export { DEFAULT_MMU_CONFIG, type MmuConfig } from '../machine/mmu/types.js';
export { VERSION } from './version.js';
export * from './host.js';
export * from './worker.js';
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

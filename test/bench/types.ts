/** One line of a benchmark report: a measured rate beside a baseline measured in the same run. */
export interface BenchResult {
  name: string;
  opsPerSec: number;
  baselineOpsPerSec: number;
  /** opsPerSec / baselineOpsPerSec: what the machines here can compare (DESIGN.md §8). */
  ratio: number;
  note: string;
}

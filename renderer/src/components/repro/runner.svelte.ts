/**
 * Runs reproductions in the simulation worker, one at a time (Run all queues every valid file), and
 * keeps their results by file name for the page. Lives as long as the view (it is hidden, not
 * destroyed, when another view is shown), so results survive switching views.
 */
import type { ReproResult } from '../../../../core/api/index.js';
import type { SimWorker } from '../../lib/simWorker.svelte.js';
import type { ReproFile } from './files.js';

export class ReproRunner {
  /** Results by file name. */
  results = $state.raw<Record<string, ReproResult>>({});
  /** Why a run failed (the worker's message), by file name. */
  errors = $state.raw<Record<string, string>>({});
  /** The file running now, and the ones waiting after it. */
  running = $state<string | null>(null);
  queue = $state.raw<string[]>([]);

  constructor(
    private readonly sim: SimWorker,
    private readonly files: readonly ReproFile[],
  ) {}

  get progress(): { done: number; total: number; label: string } | null {
    return this.running ? this.sim.reproBusy : null;
  }

  /** Queues one file (or several); runs start at once when nothing runs. */
  run(...names: string[]): void {
    const add = names.filter((n) => n !== this.running && !this.queue.includes(n) && this.files.some((f) => f.name === n && f.ok));
    if (add.length === 0) return;
    this.queue = [...this.queue, ...add];
    if (this.running === null) void this.drain();
  }

  runAll(): void {
    this.run(...this.files.filter((f) => f.ok).map((f) => f.name));
  }

  /** Files queued or running. */
  busy(name: string): boolean {
    return this.running === name || this.queue.includes(name);
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const [name, ...rest] = this.queue;
      this.queue = rest;
      this.running = name!;
      const f = this.files.find((x) => x.name === name);
      try {
        const result = await this.sim.reproduce(f!.json);
        this.results = { ...this.results, [name!]: result };
        const { [name!]: _gone, ...others } = this.errors;
        this.errors = others;
      } catch (e) {
        this.errors = { ...this.errors, [name!]: (e as Error).message };
      }
    }
    this.running = null;
  }
}

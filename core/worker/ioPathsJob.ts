/**
 * The worker's I/O path comparisons ('io-paths' requests): one path per scheduled turn (each a
 * whole run, a few hundred ms at the default sizes), so the live session and a cancel are heard
 * between paths. At most one runs; a new request replaces it and the old one's answers stop.
 */
import type { IoPathRow } from '../api/ioPaths.js';
import type { Workload } from '../api/scenario.js';
import type { WorkerEvent } from '../api/worker.js';
import { ioPathsFor, runIoPath } from '../sim/ioPaths.js';

export class IoPathsJobs {
  private current: { id: number } | null = null;

  constructor(private readonly rt: { post: (e: WorkerEvent) => void; schedule: (fn: () => void) => void }) {}

  /** The id of the comparison running, or null. */
  get running(): number | null {
    return this.current?.id ?? null;
  }

  start(id: number, workload: Workload): void {
    const mine = { id };
    this.current = mine;
    const { post, schedule } = this.rt;
    let paths: ReturnType<typeof ioPathsFor>;
    try {
      paths = ioPathsFor(workload.kind);
    } catch (err) {
      this.current = null;
      post({ type: 'error', id, where: 'io-paths', message: firstLine(err) });
      return;
    }
    const rows: IoPathRow[] = [];
    post({ type: 'io-paths-progress', id, done: 0, total: paths.length, label: '' });
    const turn = (): void => {
      if (this.current !== mine) return;
      try {
        const path = paths[rows.length]!;
        rows.push(runIoPath(path, workload));
        post({ type: 'io-paths-progress', id, done: rows.length, total: paths.length, label: path });
        if (rows.length < paths.length) schedule(turn);
        else {
          this.current = null;
          post({ type: 'io-paths-result', id, workload, rows });
        }
      } catch (err) {
        this.current = null;
        post({ type: 'error', id, where: 'io-paths', message: firstLine(err) });
      }
    };
    schedule(turn);
  }

  /** Cancels the comparison `id`; one already ended or replaced is left alone (a late cancel never ends the next). */
  cancel(id: number): void {
    if (this.current?.id !== id) return;
    this.current = null;
    this.rt.post({ type: 'error', id, where: 'io-paths', message: 'io-paths cancelled' });
  }
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}

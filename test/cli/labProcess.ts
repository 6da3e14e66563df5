/**
 * The `lab` CLI run as a user runs it, in a child process, and a scratch directory for the files
 * a test hands it. Shared by the CLI's tests.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TSX = join(process.cwd(), 'node_modules', '.bin', 'tsx');

/** `lab …args` to the end: its exit status, stdout and stderr. */
export function labRunner(timeout: number): (...args: string[]) => SpawnSyncReturns<string> {
  return (...args) => spawnSync(TSX, ['core/cli/lab.ts', ...args], { encoding: 'utf8', timeout });
}

/** A fresh directory, and `write(name, value)` that puts a file in it (JSON unless a string) and returns its path. */
export function scratch(prefix: string): { dir: string; write: (name: string, value: unknown) => string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    write: (name, value) => {
      const f = join(dir, name);
      writeFileSync(f, typeof value === 'string' ? value : JSON.stringify(value));
      return f;
    },
  };
}

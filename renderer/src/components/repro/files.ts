/// <reference types="vite/client" />
/**
 * The reproductions the app ships: every examples/reproductions/*.json, bundled at build time
 * (as the presets are), in file-name order. Each is checked here with the file's own rules (fields,
 * paper figures, its scenario); the worker checks every run's scenario again when it runs one.
 */
import { validateReproduction, type Problem, type Reproduction } from '../../../../core/api/index.js';

const RAW = import.meta.glob<unknown>('../../../../examples/reproductions/*.json', { eager: true, import: 'default' });

export type ReproFile = { name: string; json: unknown } & ({ ok: true; file: Reproduction } | { ok: false; problems: Problem[] });

/** "walk-length.json" from a glob key. */
const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1);

/** Checks bundled (or given) files: valid ones parsed, the others with their problems. */
export function reproFiles(raw: Record<string, unknown> = RAW): ReproFile[] {
  return Object.keys(raw)
    .sort((a, b) => baseName(a).localeCompare(baseName(b)))
    .map((path) => {
      const json = raw[path];
      const v = validateReproduction(json);
      return v.ok ? { name: baseName(path), json, ok: true, file: v.file } : { name: baseName(path), json, ok: false, problems: v.problems };
    });
}

export const REPRO_FILES: readonly ReproFile[] = reproFiles();

/**
 * Which open-source licences ship with the app. The list of npm packages is read from the
 * node_modules the installer actually bundled (so it can never go stale); what is compiled into
 * the bundles or the runtime, and so has no package folder in the app, is listed here by hand.
 */
// Looked up at call time: inside app.asar these are Electron's patched versions (see protocol.ts).
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';

export interface LicenceEntry {
  name: string;
  version?: string;
  licence: string;
  note?: string;
}

/** Parts that have no package.json in the shipped node_modules. */
export const BUILT_IN_COMPONENTS: readonly LicenceEntry[] = [
  { name: 'Electron', licence: 'MIT', note: 'with Chromium (BSD-3-Clause and others, see LICENSES.chromium.html next to the program) and Node.js (MIT)' },
  { name: 'SQLite', licence: 'Public domain', note: 'compiled into better-sqlite3' },
  { name: 'Svelte', licence: 'MIT', note: 'runtime compiled into the user interface' },
];

function licenceOf(pkg: { license?: unknown; licenses?: unknown }): string {
  if (typeof pkg.license === 'string') return pkg.license;
  if (pkg.license && typeof pkg.license === 'object' && 'type' in pkg.license) return String((pkg.license as { type: unknown }).type);
  if (Array.isArray(pkg.licenses)) return pkg.licenses.map((l: { type?: unknown }) => String(l?.type ?? '?')).join(' OR ');
  return 'see package';
}

async function readPackage(dir: string): Promise<LicenceEntry | null> {
  try {
    const pkg = JSON.parse(await fsp.readFile(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown; license?: unknown };
    if (typeof pkg.name !== 'string') return null;
    return { name: pkg.name, ...(typeof pkg.version === 'string' ? { version: pkg.version } : {}), licence: licenceOf(pkg) };
  } catch {
    return null;
  }
}

/** Every package under `nodeModules` (scoped ones included, nested node_modules too), sorted by name. */
export async function collectPackageLicences(nodeModules: string): Promise<LicenceEntry[]> {
  const found = new Map<string, LicenceEntry>();
  const visit = async (root: string): Promise<void> => {
    let names: string[];
    try {
      names = await fsp.readdir(root);
    } catch {
      return;
    }
    for (const name of names.sort()) {
      if (name.startsWith('.')) continue;
      const dirs = name.startsWith('@') ? (await fsp.readdir(join(root, name)).catch(() => [] as string[])).map((n) => join(root, name, n)) : [join(root, name)];
      for (const dir of dirs) {
        const entry = await readPackage(dir);
        if (entry) found.set(`${entry.name}@${entry.version ?? ''}`, entry);
        await visit(join(dir, 'node_modules'));
      }
    }
  };
  await visit(nodeModules);
  return [...found.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** Compact text for a dialog: one paragraph per licence, names comma-separated. */
export function licenceText(packages: readonly LicenceEntry[]): string {
  const lines = BUILT_IN_COMPONENTS.map((c) => `${c.name} — ${c.licence}${c.note ? ` (${c.note})` : ''}`);
  const byLicence = new Map<string, string[]>();
  for (const p of packages) byLicence.set(p.licence, [...(byLicence.get(p.licence) ?? []), p.version ? `${p.name} ${p.version}` : p.name]);
  const groups = [...byLicence].sort(([a], [b]) => a.localeCompare(b)).map(([licence, names]) => `${licence}: ${names.join(', ')}`);
  return [...lines, '', 'Packages bundled with the app:', ...groups].join('\n');
}

/**
 * Packaging: electron-builder with build/electron-builder.yml, for real, offline. Electron's
 * binary cannot be downloaded here, so the test hands electron-builder a stub distribution
 * (electronDist) — an "electron" file carrying the fuse wire the real binary has, its version
 * and licence files — and packs the Linux `dir` target without rebuilding native modules. What
 * it checks is what lands in app.asar, and that the configured fuses were flipped.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.mock('electron', () => ({}));

const require = createRequire(import.meta.url);
const asar = require('@electron/asar') as { listPackage(a: string): string[]; extractFile(a: string, f: string): Buffer };
const fuses = require('@electron/fuses') as { getCurrentFuseWire(p: string): Promise<Record<string, number | string>> };

const ROOT = process.cwd();
// @electron/fuses finds the wire after this marker: version 1, length, then one byte per fuse.
const FUSE_SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
const ON = 0x31;
const OFF = 0x30;

function bin(pkg: string, name: string): string {
  const pkgJson = require.resolve(`${pkg}/package.json`);
  const b = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { bin: string | Record<string, string> }).bin;
  return join(pkgJson, '..', typeof b === 'string' ? b : b[name]!);
}

function stubElectronDist(dir: string, version: string): void {
  mkdirSync(join(dir, 'resources'), { recursive: true });
  // Electron's defaults: RunAsNode on, cookie encryption off, NODE_OPTIONS on, --inspect on,
  // asar integrity off, only-app.asar off, browser V8 snapshot off, file:// privileges on.
  const wire = Buffer.from([1, 8, ON, OFF, ON, ON, OFF, OFF, OFF, ON]);
  writeFileSync(join(dir, 'electron'), Buffer.concat([Buffer.from(`#!/bin/sh\n# stub Electron ${version} for packaging tests: `), Buffer.from(FUSE_SENTINEL), wire, Buffer.from('\nexit 1\n')]));
  chmodSync(join(dir, 'electron'), 0o755);
  writeFileSync(join(dir, 'version'), version);
  copyFileSync(join(ROOT, 'node_modules/electron/LICENSE'), join(dir, 'LICENSE'));
  writeFileSync(join(dir, 'LICENSES.chromium.html'), '<!doctype html><title>Chromium licences (stub)</title>');
}

let work: string;
let appDir: string;
let files: string[];
let builderLog = '';

beforeAll(() => {
  const needBuild = ['out/main/index.js', 'out/main/hostWorker.js', 'out/preload/index.cjs', 'out/renderer/index.html'].some((f) => !existsSync(join(ROOT, f)));
  if (needBuild) {
    const b = spawnSync(process.execPath, [bin('electron-vite', 'electron-vite'), 'build'], { cwd: ROOT, encoding: 'utf8' });
    if (b.status !== 0) throw new Error(`electron-vite build failed:\n${b.stdout}\n${b.stderr}`);
  }
  work = mkdtempSync(join(tmpdir(), 'hyperlab-pack-'));
  const version = (JSON.parse(readFileSync(join(ROOT, 'node_modules/electron/package.json'), 'utf8')) as { version: string }).version;
  stubElectronDist(join(work, 'electron-dist'), version);
  const r = spawnSync(
    process.execPath,
    [
      bin('electron-builder', 'electron-builder'),
      '--config', 'build/electron-builder.yml',
      '--linux', 'dir',
      `-c.electronDist=${join(work, 'electron-dist')}`,
      '-c.npmRebuild=false',
      `-c.directories.output=${join(work, 'dist')}`,
    ],
    // NO_UPDATE_NOTIFIER: electron-builder's CLI would otherwise ask the npm registry whether it
    // is outdated. With electronDist set it downloads nothing else for a Linux dir target.
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_UPDATE_NOTIFIER: '1', CI: '1' }, timeout: 170_000 },
  );
  builderLog = `${r.stdout}\n${r.stderr}`;
  if (r.status !== 0) throw new Error(`electron-builder failed (${r.status}):\n${builderLog}`);
  appDir = join(work, 'dist', 'linux-unpacked');
  files = asar.listPackage(join(appDir, 'resources', 'app.asar')).map((f) => f.replaceAll('\\', '/'));
}, 180_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('packaged app (electron-builder --linux dir)', () => {
  it('names the executable and keeps Electron\'s licence files', () => {
    expect(existsSync(join(appDir, 'hyperlab'))).toBe(true);
    expect(existsSync(join(appDir, 'LICENSES.chromium.html'))).toBe(true);
    expect(builderLog).not.toMatch(/downloading/i);
  });

  it('puts main, the host worker beside it, preload, renderer and package.json in app.asar', () => {
    for (const f of ['/out/main/index.js', '/out/main/hostWorker.js', '/out/preload/index.cjs', '/out/renderer/index.html', '/package.json']) expect(files, f).toContain(f);
    expect(files.some((f) => /^\/out\/renderer\/assets\/[^/]+\.js$/.test(f))).toBe(true);
    const pkg = JSON.parse(asar.extractFile(join(appDir, 'resources/app.asar'), 'package.json').toString('utf8')) as { main: string };
    expect(pkg.main).toBe('out/main/index.js');
  });

  it('ships no sources: nothing from test/, electron/, core/, renderer/src, scripts/ or build/, no .ts anywhere', () => {
    const sources = files.filter((f) => /^\/(test|electron|core|renderer|scripts|build|examples|\.ci)(\/|$)/.test(f));
    expect(sources).toEqual([]);
    expect(files.filter((f) => /\.(ts|mts|cts|svelte)$/.test(f))).toEqual([]);
    expect(files.filter((f) => /\.map$/.test(f))).toEqual([]);
  });

  it('ships the production dependencies, with the SQLite native module unpacked beside the archive', () => {
    expect(files).toContain('/node_modules/zod/package.json');
    expect(files).toContain('/node_modules/better-sqlite3/lib/index.js');
    expect(existsSync(join(appDir, 'resources/app.asar.unpacked/node_modules/better-sqlite3/build/Release/better_sqlite3.node'))).toBe(true);
    // Build-only parts of better-sqlite3 (SQLite's 10 MB amalgamation, C++ sources) stay out.
    expect(files.filter((f) => f.startsWith('/node_modules/better-sqlite3/deps') || f.startsWith('/node_modules/better-sqlite3/src'))).toEqual([]);
    // Dev tooling never ships.
    for (const dev of ['electron', 'electron-builder', 'vite', 'vitest', 'svelte', 'typescript']) expect(files, dev).not.toContain(`/node_modules/${dev}/package.json`);
  });

  it('flips the fuses: no run-as-node, NODE_OPTIONS or --inspect; code only from app.asar; no file:// privileges', async () => {
    const wire = await fuses.getCurrentFuseWire(join(appDir, 'hyperlab'));
    expect(wire).toMatchObject({ 0: OFF, 1: ON, 2: OFF, 3: OFF, 4: ON, 5: ON, 7: OFF });
  });

  it('bundles a preload that needs only electron and carries no zod', () => {
    const preload = asar.extractFile(join(appDir, 'resources/app.asar'), 'out/preload/index.cjs').toString('utf8');
    const requires = [...preload.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
    expect(new Set(requires)).toEqual(new Set(['electron']));
    // (The word "zod" appears in a comment; zod's code would bring these.)
    expect(preload).not.toMatch(/ZodError|safeParse|\$ZodType/);
    expect(preload.length).toBeLessThan(10_000);
    expect(preload).toContain('exposeInMainWorld("hyperlab"');
  });
});

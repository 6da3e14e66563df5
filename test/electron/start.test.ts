/**
 * `npm start`'s decisions (scripts/electronSetup.mjs) on fake node_modules trees, and the script
 * itself on this machine, where Electron's binary was never downloaded.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  cachedBinding,
  copyForRebuild,
  electronStatus,
  launchEnv,
  planStart,
  sqliteCache,
  writeStamp,
} from '../../scripts/electronSetup.mjs';

vi.mock('electron', () => ({}));

let root: string;
const put = (rel: string, content = '') => {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), content);
};
const NO_ENV = {};

/** A project with electron 45.4.1 (package only, no binary), better-sqlite3 with a Node build, node-gyp. */
function fakeProject(): void {
  put('node_modules/electron/package.json', JSON.stringify({ name: 'electron', version: '45.4.1' }));
  put('node_modules/electron/index.js', 'throw new Error("must not be required")');
  put('node_modules/better-sqlite3/package.json', JSON.stringify({ name: 'better-sqlite3', version: '12.11.1' }));
  put('node_modules/better-sqlite3/binding.gyp', '{}');
  put('node_modules/better-sqlite3/src/better_sqlite3.cpp', '// sources');
  put('node_modules/better-sqlite3/deps/sqlite3/sqlite3.c', '/* amalgamation */');
  put('node_modules/better-sqlite3/build/Release/better_sqlite3.node', 'NODE-ABI-BUILD');
  put('node_modules/node-gyp/bin/node-gyp.js', '');
}
const installBinary = () => {
  put('node_modules/electron/path.txt', 'electron');
  put('node_modules/electron/dist/electron', '#!/bin/sh\n');
};

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'hyperlab-start-'));
  fakeProject();
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('electronStatus', () => {
  it('reports a never-downloaded binary (no path.txt) without requiring electron/index.js', () => {
    const s = electronStatus(root, NO_ENV);
    expect(s).toMatchObject({ ok: false, version: '45.4.1' });
    expect((s as { why: string }).why).toContain('path.txt is missing');
  });

  it('reports a path.txt whose binary is not there', () => {
    put('node_modules/electron/path.txt', 'electron');
    expect(electronStatus(root, NO_ENV)).toMatchObject({ ok: false, why: expect.stringContaining('dist/electron does not exist') });
  });

  it('finds an installed binary, and honours ELECTRON_OVERRIDE_DIST_PATH like electron/index.js', () => {
    installBinary();
    expect(electronStatus(root, NO_ENV)).toEqual({ ok: true, version: '45.4.1', path: join(root, 'node_modules/electron/dist/electron') });
    put('elsewhere/electron', '');
    expect(electronStatus(root, { ELECTRON_OVERRIDE_DIST_PATH: join(root, 'elsewhere') })).toMatchObject({ ok: true, path: join(root, 'elsewhere/electron') });
  });

  it('says to run npm ci when electron is not installed at all', () => {
    rmSync(join(root, 'node_modules/electron'), { recursive: true });
    expect(electronStatus(root, NO_ENV)).toMatchObject({ ok: false, version: null, why: expect.stringContaining('npm ci') });
  });
});

describe('planStart', () => {
  it('without the binary: stop with a message saying why and what to do', () => {
    const plan = planStart(root, NO_ENV);
    expect(plan.action).toBe('no-electron');
    const msg = (plan as { message: string }).message;
    expect(msg).toContain("Electron's binary is not installed");
    expect(msg).toContain('network');
    expect(msg).toContain('node node_modules/electron/install.js');
    expect(msg).toContain('npm run serve');
  });

  it('with the binary and no cached build: rebuild in the cache for Electron, against its headers', () => {
    installBinary();
    const plan = planStart(root, NO_ENV);
    expect(plan.action).toBe('rebuild');
    if (plan.action !== 'rebuild') return;
    expect(plan.rebuild.cwd).toBe(join(root, 'node_modules/.cache/hyperlab-electron-sqlite/45.4.1/better-sqlite3'));
    expect(plan.rebuild.args).toEqual([
      join(root, 'node_modules/node-gyp/bin/node-gyp.js'),
      'rebuild',
      '--release',
      '--runtime=electron',
      '--target=45.4.1',
      '--dist-url=https://electronjs.org/headers',
      `--devdir=${join(homedir(), '.electron-gyp')}`,
    ]);
    expect(plan.binding).toBe(join(plan.rebuild.cwd, 'build/Release/better_sqlite3.node'));
  });

  it('with a cached build for this Electron and this better-sqlite3: launch with it, no rebuild', () => {
    installBinary();
    const c = sqliteCache(root, '45.4.1');
    put(c.binding.slice(root.length + 1), 'ELECTRON-ABI-BUILD');
    writeStamp(root, '45.4.1');
    expect(planStart(root, NO_ENV)).toMatchObject({ action: 'launch', binding: c.binding });
  });

  it('rebuilds when better-sqlite3 was upgraded since the cached build', () => {
    installBinary();
    const c = sqliteCache(root, '45.4.1');
    put(c.binding.slice(root.length + 1), 'ELECTRON-ABI-BUILD');
    writeStamp(root, '45.4.1');
    put('node_modules/better-sqlite3/package.json', JSON.stringify({ name: 'better-sqlite3', version: '12.12.0' }));
    expect(cachedBinding(root, '45.4.1')).toBeNull();
    expect(planStart(root, NO_ENV).action).toBe('rebuild');
  });

  it('stops when there is no node-gyp anywhere', () => {
    installBinary();
    rmSync(join(root, 'node_modules/node-gyp'), { recursive: true });
    expect(planStart(root, NO_ENV).action).toBe('no-node-gyp');
    put('npm/node-gyp.js', '');
    expect(planStart(root, { npm_config_node_gyp: join(root, 'npm/node-gyp.js') }).action).toBe('rebuild');
  });
});

describe('the rebuild copy', () => {
  it('copies sources and gyp files but not build/, and leaves the Node build in place', () => {
    const dir = copyForRebuild(root, '45.4.1');
    expect(existsSync(join(dir, 'binding.gyp'))).toBe(true);
    expect(existsSync(join(dir, 'deps/sqlite3/sqlite3.c'))).toBe(true);
    expect(existsSync(join(dir, 'build'))).toBe(false);
    expect(readFileSync(join(root, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'), 'utf8')).toBe('NODE-ABI-BUILD');
  });

  it('launches Electron with the binding in HYPERLAB_SQLITE_BINDING and never as plain Node', () => {
    const env = launchEnv({ PATH: '/bin', ELECTRON_RUN_AS_NODE: '1' }, '/c/better_sqlite3.node');
    expect(env).toEqual({ PATH: '/bin', HYPERLAB_SQLITE_BINDING: '/c/better_sqlite3.node' });
  });
});

describe('scripts/start.mjs on this machine', () => {
  const here = electronStatus(process.cwd());
  it.skipIf(here.ok)('exits 1 with the explanation when the Electron binary was never downloaded', () => {
    const r = spawnSync(process.execPath, ['scripts/start.mjs', '--no-build'], { cwd: process.cwd(), encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("Electron's binary is not installed");
    expect(r.stderr).toContain('npm run serve');
    expect(r.stdout).not.toContain('Downloading Electron');
  });
});

// Decisions behind `npm start` (scripts/start.mjs), as small functions of a project folder so a
// test can run them against a fake node_modules tree:
//   - is Electron's binary installed?            electronStatus
//   - is better-sqlite3 built for its ABI yet?   sqliteCache, cachedBinding
//   - how to build it without touching the Node build that `npm test` uses?
//                                                findNodeGyp, copyForRebuild, rebuildCommand
//   - what to do next?                           planStart
// Plain Node ESM, no TypeScript, so `npm start` needs no compile step of its own.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';

/** Where Electron's own headers come from (node-gyp downloads them once into its dev dir). */
export const ELECTRON_HEADERS_URL = 'https://electronjs.org/headers';
export const BINDING_ENV = 'HYPERLAB_SQLITE_BINDING';
const STAMP = '.hyperlab-electron-build.json';

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Where Electron's executable is, the way node_modules/electron/index.js finds it, but without
 * its side effect: when path.txt or the binary is missing, index.js spawns install.js, which
 * tries to download Electron. Here "missing" is an answer, not a download.
 *
 * @returns {{ ok: true, version: string, path: string } | { ok: false, version: string | null, why: string }}
 */
export function electronStatus(root, env = process.env) {
  const pkgDir = join(root, 'node_modules', 'electron');
  const pkg = readJson(join(pkgDir, 'package.json'));
  if (!pkg || typeof pkg.version !== 'string') {
    return { ok: false, version: null, why: 'node_modules/electron is missing: the dependencies are not installed (run `npm ci`).' };
  }
  const pathFile = join(pkgDir, 'path.txt');
  const exe = existsSync(pathFile) ? readFileSync(pathFile, 'utf8') : '';
  if (env.ELECTRON_OVERRIDE_DIST_PATH) {
    const p = join(env.ELECTRON_OVERRIDE_DIST_PATH, exe || 'electron');
    return existsSync(p) ? { ok: true, version: pkg.version, path: p } : { ok: false, version: pkg.version, why: `ELECTRON_OVERRIDE_DIST_PATH is set but ${p} does not exist.` };
  }
  if (!exe) {
    return { ok: false, version: pkg.version, why: 'node_modules/electron/path.txt is missing: Electron\'s install script never downloaded the binary.' };
  }
  const p = join(pkgDir, 'dist', exe);
  if (!existsSync(p)) return { ok: false, version: pkg.version, why: `${relative(root, p)} does not exist: the binary download did not complete.` };
  return { ok: true, version: pkg.version, path: p };
}

/** The message `npm start` prints when Electron cannot run; it says why and what to do. */
export function missingElectronMessage(status) {
  return [
    "Hyperlab: Electron's binary is not installed, so the desktop app cannot start.",
    '',
    `  Why: ${status.why}`,
    "  The electron npm package downloads its binary (about 100 MB) from the network the first",
    '  time; on a machine without network access that never happened.',
    '',
    '  What to do:',
    '    - when online, download it once:   node node_modules/electron/install.js   then  npm start',
    '    - or, offline, use browser mode:     npm run serve   and open the printed URL in a browser',
    '      (the same renderer and the same run database, served from 127.0.0.1).',
    '',
  ].join('\n');
}

/** The private copy of better-sqlite3 that gets built for one Electron version. */
export function sqliteCache(root, electronVersion) {
  const dir = join(root, 'node_modules', '.cache', 'hyperlab-electron-sqlite', electronVersion, 'better-sqlite3');
  return { dir, binding: join(dir, 'build', 'Release', 'better_sqlite3.node'), stamp: join(dir, STAMP) };
}

function sqliteVersion(root) {
  const pkg = readJson(join(root, 'node_modules', 'better-sqlite3', 'package.json'));
  return pkg && typeof pkg.version === 'string' ? pkg.version : null;
}

/** The cached Electron build of better_sqlite3.node, or null if it must be (re)built. */
export function cachedBinding(root, electronVersion) {
  const c = sqliteCache(root, electronVersion);
  const stamp = readJson(c.stamp);
  const ok = existsSync(c.binding) && stamp && stamp.electron === electronVersion && stamp.betterSqlite3 === sqliteVersion(root);
  return ok ? c.binding : null;
}

/**
 * node-gyp, from the first place that has it: the project's node_modules (a dependency of
 * @electron/rebuild, itself a dependency of electron-builder), or the copy npm ships with (npm
 * tells scripts where, in npm_config_node_gyp).
 */
export function findNodeGyp(root, env = process.env) {
  const candidates = [
    join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(root, 'node_modules', '@electron', 'rebuild', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    env.npm_config_node_gyp,
  ];
  return candidates.find((p) => p && existsSync(p)) ?? null;
}

/**
 * Copies node_modules/better-sqlite3 (sources, SQLite amalgamation, gyp files) into the cache,
 * leaving out its build/ folder: the Node build stays where `npm test` loads it from, untouched.
 */
export function copyForRebuild(root, electronVersion) {
  const src = join(root, 'node_modules', 'better-sqlite3');
  const { dir } = sqliteCache(root, electronVersion);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dirname(dir), { recursive: true });
  const skip = [join(src, 'build'), join(src, 'node_modules')];
  cpSync(src, dir, { recursive: true, filter: (p) => !skip.some((s) => p === s || p.startsWith(s + sep)) });
  return dir;
}

/**
 * The node-gyp invocation that builds the cached copy against Electron's headers. The headers go
 * to ~/.electron-gyp, the folder @electron/rebuild (electron-builder's rebuild) uses too, so they
 * are downloaded once for both and never mixed with Node's in ~/.cache/node-gyp.
 */
export function rebuildCommand(root, electronVersion, nodeGyp, execPath = process.execPath, devDir = join(homedir(), '.electron-gyp')) {
  const { dir } = sqliteCache(root, electronVersion);
  return {
    cwd: dir,
    command: execPath,
    args: [
      nodeGyp,
      'rebuild',
      '--release',
      '--runtime=electron',
      `--target=${electronVersion}`,
      `--dist-url=${ELECTRON_HEADERS_URL}`,
      `--devdir=${devDir}`,
    ],
  };
}

export function writeStamp(root, electronVersion) {
  const c = sqliteCache(root, electronVersion);
  writeFileSync(c.stamp, JSON.stringify({ electron: electronVersion, betterSqlite3: sqliteVersion(root), builtAt: new Date().toISOString() }) + '\n');
}

/** The environment Electron is launched with. */
export function launchEnv(env, binding) {
  const out = { ...env, [BINDING_ENV]: binding };
  // Would make the Electron binary behave as plain Node and ignore the app.
  delete out.ELECTRON_RUN_AS_NODE;
  return out;
}

/**
 * What `npm start` does next, after the build:
 *   no-electron  print missingElectronMessage, exit 1
 *   no-node-gyp  cannot build the SQLite module, exit 1
 *   rebuild      build better-sqlite3 for Electron in the cache, then launch
 *   launch       start Electron with the cached binding
 */
export function planStart(root, env = process.env) {
  const electron = electronStatus(root, env);
  if (!electron.ok) return { action: 'no-electron', electron, message: missingElectronMessage(electron) };
  const binding = cachedBinding(root, electron.version);
  if (binding) return { action: 'launch', electron, binding };
  const nodeGyp = findNodeGyp(root, env);
  if (!nodeGyp) {
    return {
      action: 'no-node-gyp',
      electron,
      message: 'Hyperlab: node-gyp was not found (neither in node_modules nor with npm), so better-sqlite3 cannot be built for Electron. Run `npm ci` and try again.\n',
    };
  }
  return { action: 'rebuild', electron, binding: sqliteCache(root, electron.version).binding, rebuild: rebuildCommand(root, electron.version, nodeGyp) };
}

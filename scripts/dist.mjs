// `npm run dist [-- <electron-builder args>]`: build, package with electron-builder
// (build/electron-builder.yml), then put the Node build of better-sqlite3 back.
//
// electron-builder's npmRebuild rebuilds better-sqlite3 for Electron's ABI in place, in
// node_modules; afterwards `npm test` (plain Node) could no longer load it. So this script always
// ends with `npm rebuild better-sqlite3`, whether packaging worked or not. Both rebuilds fetch
// headers (Electron's, Node's) from the network the first time.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));

function binOf(pkg, name) {
  const pkgJson = require.resolve(`${pkg}/package.json`);
  const bin = require(pkgJson).bin;
  return join(dirname(pkgJson), typeof bin === 'string' ? bin : bin[name]);
}

function run(command, args, extra = {}) {
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...extra });
  if (r.error) console.error(`dist: ${command} ${args.join(' ')}: ${r.error.message}`);
  return r.status ?? 1;
}

const built = run(process.execPath, [binOf('electron-vite', 'electron-vite'), 'build']);
if (built !== 0) process.exit(built);

const packaged = run(process.execPath, [binOf('electron-builder', 'electron-builder'), '--config', 'build/electron-builder.yml', ...process.argv.slice(2)]);

console.log('dist: restoring the Node build of better-sqlite3 (npm rebuild better-sqlite3) …');
// npm sets npm_execpath for scripts; outside npm fall back to the npm on PATH.
const npmCli = process.env.npm_execpath;
const restored = npmCli
  ? run(process.execPath, [npmCli, 'rebuild', 'better-sqlite3'])
  : run(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['rebuild', 'better-sqlite3'], { shell: process.platform === 'win32' });
if (restored !== 0) console.error('dist: `npm rebuild better-sqlite3` failed; run it yourself before `npm test`.');

process.exit(packaged !== 0 ? packaged : restored);

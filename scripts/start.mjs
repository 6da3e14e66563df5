// `npm start`: build, make sure Electron can run, build the SQLite module for Electron's ABI (once
// per Electron version, in a cache, never over the Node build), then launch the app.
//
//   npm start [-- --no-build] [-- <electron args>]
//
// The first SQLite build for a given Electron version needs the network: node-gyp downloads
// Electron's headers from https://electronjs.org/headers. On a machine that cannot download
// Electron's binary at all, this script stops before that, with a message saying what to do.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { copyForRebuild, launchEnv, planStart, writeStamp } from './electronSetup.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const skipBuild = argv.includes('--no-build');
const electronArgs = argv.filter((a) => a !== '--no-build');

function run(command, args, options) {
  const r = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

// 1. Build main, preload and renderer into out/ (electron.vite.config.ts).
if (!skipBuild) {
  const require = createRequire(join(root, 'package.json'));
  const pkgJson = require.resolve('electron-vite/package.json');
  const bin = join(dirname(pkgJson), require(pkgJson).bin['electron-vite']);
  const status = run(process.execPath, [bin, 'build'], { cwd: root });
  if (status !== 0) {
    console.error('npm start: the electron-vite build failed (see above).');
    process.exit(status);
  }
}

// 2. Electron present? SQLite module built for it?
const plan = planStart(root);
if (plan.action === 'no-electron' || plan.action === 'no-node-gyp') {
  process.stderr.write(plan.message);
  process.exit(1);
}

if (plan.action === 'rebuild') {
  const v = plan.electron.version;
  console.log(`npm start: building better-sqlite3 for Electron ${v} in ${relative(root, plan.rebuild.cwd)} (once per Electron version) …`);
  copyForRebuild(root, v);
  const status = run(plan.rebuild.command, plan.rebuild.args, { cwd: plan.rebuild.cwd });
  if (status !== 0) {
    console.error(
      [
        `npm start: building better-sqlite3 for Electron ${v} failed (see above).`,
        "  The first build downloads Electron's headers from https://electronjs.org/headers and needs",
        '  a C/C++ toolchain (python3, make, g++ / MSVC / Xcode). Without network access use browser',
        '  mode instead: npm run serve',
        '',
      ].join('\n'),
    );
    process.exit(1);
  }
  writeStamp(root, v);
}

// 3. Launch. The env var tells main where the Electron build of the SQLite module is
//    (electron/main/index.ts passes it to openStore as nativeBinding; ignored once packaged).
const child = spawn(plan.electron.path, ['.', ...electronArgs], { cwd: root, stdio: 'inherit', env: launchEnv(process.env, plan.binding) });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('error', (e) => {
  console.error(`npm start: could not start Electron (${plan.electron.path}): ${e.message}`);
  process.exit(1);
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

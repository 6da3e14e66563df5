/**
 * `npm run serve`: browser mode. Serves the built renderer (out/renderer) and the host API on
 * 127.0.0.1 only, and prints the URL (with this launch's token) to open in a browser.
 *
 *   npm run serve -- [--port N] [--data-dir DIR]
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { serve } from '../electron/host/server.js';

/**
 * A "browser" folder inside the one Electron's app.getPath('userData') gives for "Hyperlab": its
 * own database, because a host that opens a store marks the runs it finds still running as
 * interrupted, and the desktop app may be running at the same time.
 */
function defaultDataDir(): string {
  const home = homedir();
  const base =
    process.platform === 'win32'
      ? join(process.env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'Hyperlab')
      : process.platform === 'darwin'
        ? join(home, 'Library', 'Application Support', 'Hyperlab')
        : join(process.env.XDG_CONFIG_HOME ?? join(home, '.config'), 'Hyperlab');
  return join(base, 'browser');
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const rendererDir = resolve('out/renderer');
if (!existsSync(join(rendererDir, 'index.html'))) {
  console.error('serve: out/renderer/index.html is missing; run `npm run build` first (`npm run serve` does).');
  process.exit(1);
}
const portArg = arg('--port');
const port = portArg === undefined ? 5480 : Number(portArg);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`serve: --port takes 0..65535 (0 picks a free port), not "${portArg}"`);
  process.exit(2);
}
const dataDir = resolve(arg('--data-dir') ?? defaultDataDir());
try {
  const s = await serve({ rendererDir, dataDir, port });
  console.log(`Hyperlab (browser mode) on ${s.url}`);
  console.log(`data: ${dataDir}  ·  listening on 127.0.0.1 only  ·  Ctrl+C to stop`);
  const stop = () => void s.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (e) {
  const err = e as NodeJS.ErrnoException;
  console.error(err.code === 'EADDRINUSE' ? `serve: port ${port} is in use; pick another with --port N (0 = any free port)` : `serve: ${err.message}`);
  process.exit(1);
}

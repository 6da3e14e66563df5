/**
 * Installers, as far as this machine allows: build/electron-builder.yml validated by
 * electron-builder's own schema (app-builder-lib's validateConfiguration, what `electron-builder`
 * runs first), and checked for what each target needs — AppImage and deb (Linux icons at 256 and
 * 512, a freedesktop category, a deb maintainer "Name <email>" and a description), nsis (an .ico
 * with a 256×256 image, an installer that asks where to install), dmg (an .icns with a 512×512
 * image, the app and a link to /Applications in the window). Then a launch smoke test that runs
 * only where Electron's binary was downloaded (node_modules/electron/path.txt) and the app is
 * built; elsewhere it is SKIPPED, with the reason printed (a skip is not a pass: .ci/run counts
 * vitest's numPassedTests, which leaves skipped tests out).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';

vi.mock('electron', () => ({}));

const require = createRequire(import.meta.url);
const yaml = require('js-yaml') as { load(s: string): unknown };
const { validateConfiguration } = require('app-builder-lib/out/util/config/config.js') as {
  validateConfiguration(config: unknown, debug: { isEnabled: boolean; add(k: string, v: unknown): void }): Promise<void>;
};
const NO_DEBUG = { isEnabled: false, add: () => undefined };

const ROOT = process.cwd();
interface Config {
  appId: string;
  productName: string;
  linux: { target: string[]; category: string; icon: string; maintainer: string; executableName: string };
  win: { target: string; icon: string };
  nsis: { oneClick: boolean; perMachine: boolean; allowToChangeInstallationDirectory: boolean };
  mac: { target: string; category: string; icon: string };
  dmg: { window: { width: number; height: number }; contents: { x: number; y: number; type?: string; path?: string }[] };
}
const config = yaml.load(readFileSync(join(ROOT, 'build/electron-builder.yml'), 'utf8')) as Config;
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { productName: string; description: string; version: string; author: { name: string; email: string } };

function pngSize(b: Buffer): { width: number; height: number } {
  expect(b.subarray(1, 4).toString('ascii')).toBe('PNG');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

/** ICONDIR: reserved 0, type 1, count; then 16-byte entries whose width byte 0 means 256. */
function icoSizes(b: Buffer): number[] {
  expect([b.readUInt16LE(0), b.readUInt16LE(2)]).toEqual([0, 1]);
  return Array.from({ length: b.readUInt16LE(4) }, (_, i) => b[6 + 16 * i]! || 256);
}

/** icns: 'icns', total length, then (type, length) chunks; ic08 is 256×256, ic09 512×512, ic10 1024 (512@2x). */
function icnsTypes(b: Buffer): string[] {
  expect(b.toString('ascii', 0, 4)).toBe('icns');
  expect(b.readUInt32BE(4)).toBe(b.length);
  const types: string[] = [];
  for (let i = 8; i < b.length; i += b.readUInt32BE(i + 4)) types.push(b.toString('ascii', i, i + 4));
  return types;
}

// freedesktop.org Desktop Menu Specification, "Main Categories".
const FREEDESKTOP_MAIN = ['AudioVideo', 'Audio', 'Video', 'Development', 'Education', 'Game', 'Graphics', 'Network', 'Office', 'Science', 'Settings', 'System', 'Utility'];

describe('electron-builder configuration (AppImage, deb, nsis, dmg)', () => {
  it('passes electron-builder\'s own schema validation', async () => {
    await expect(validateConfiguration(structuredClone(config), NO_DEBUG)).resolves.toBeUndefined();
  });

  it('the schema validation is real: a wrong type is refused with the option named', async () => {
    await expect(validateConfiguration({ ...structuredClone(config), nsis: { oneClick: 'yes' } }, NO_DEBUG)).rejects.toThrow(/nsis\.oneClick should be a boolean/);
  });

  it('names the app: a reverse-DNS appId and the productName of package.json', () => {
    expect(config.appId).toMatch(/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*){2,}$/);
    expect(config.productName).toBe(pkg.productName);
    expect(pkg.description.length).toBeGreaterThan(0); // deb's Description and the AppImage's comment
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('AppImage and deb: Linux icons at 256 and 512, a freedesktop main category, a deb maintainer', () => {
    expect(config.linux.target).toEqual(expect.arrayContaining(['AppImage', 'deb']));
    for (const n of [256, 512]) expect(pngSize(readFileSync(join(ROOT, config.linux.icon, `${n}x${n}.png`)))).toEqual({ width: n, height: n });
    expect(FREEDESKTOP_MAIN).toContain(config.linux.category);
    expect(config.linux.maintainer).toMatch(/^[^<>]+ <[^@\s<>]+@[^@\s<>]+\.[a-z]+>$/);
    expect(config.linux.executableName).toMatch(/^[a-z0-9][a-z0-9.+-]*$/); // a Debian-safe lower-case name
  });

  it('nsis: an .ico with a 256×256 image, an assisted installer that asks where to install, per user', () => {
    expect(config.win.target).toBe('nsis');
    const sizes = icoSizes(readFileSync(join(ROOT, config.win.icon)));
    expect(sizes).toContain(256);
    // electron-builder allows choosing the directory only in the assisted (not one-click) installer.
    expect(config.nsis).toEqual({ oneClick: false, perMachine: false, allowToChangeInstallationDirectory: true });
  });

  it('dmg: an .icns with 512×512, an App Store category, the app and a link to /Applications in the window', () => {
    expect(config.mac.target).toBe('dmg');
    expect(config.mac.category).toMatch(/^public\.app-category\.[a-z-]+$/);
    expect(icnsTypes(readFileSync(join(ROOT, config.mac.icon)))).toEqual(expect.arrayContaining(['ic08', 'ic09']));
    const { window: w, contents } = config.dmg;
    expect(contents.filter((c) => c.type === 'file')).toHaveLength(1);
    expect(contents.filter((c) => c.type === 'link' && c.path === '/Applications')).toHaveLength(1);
    for (const c of contents) {
      expect(c.x).toBeGreaterThan(0);
      expect(c.x).toBeLessThan(w.width);
      expect(c.y).toBeGreaterThan(0);
      expect(c.y).toBeLessThan(w.height);
    }
  });
});

/** Electron's binary, when `npm install` downloaded it (node_modules/electron/path.txt names it). */
function electronBinary(): string | null {
  const pathTxt = join(ROOT, 'node_modules/electron/path.txt');
  if (!existsSync(pathTxt)) return null;
  const bin = join(ROOT, 'node_modules/electron/dist', readFileSync(pathTxt, 'utf8').trim());
  return existsSync(bin) ? bin : null;
}
const BINARY = electronBinary();
const BUILT = existsSync(join(ROOT, 'out/main/index.js')) && existsSync(join(ROOT, 'out/renderer/index.html'));
const SKIP_REASON = !BINARY
  ? 'SKIPPED launch smoke test: no Electron binary (node_modules/electron/path.txt is missing: Electron\'s download was not run on this machine)'
  : !BUILT
    ? 'SKIPPED launch smoke test: the app is not built (out/main/index.js); run npm run build'
    : null;
if (SKIP_REASON) console.log(SKIP_REASON);

describe('launch smoke test', () => {
  it.skipIf(SKIP_REASON !== null)('the built app starts under Electron and is still running after 10 s', async () => {
    // Headless (Ozone's headless platform): no display needed. Alive after 10 s means the main
    // process, the host worker and the window came up without a crash.
    const child = spawn(BINARY!, ['.', '--no-sandbox', '--ozone-platform=headless', '--disable-gpu'], { cwd: ROOT, env: { ...process.env, ELECTRON_ENABLE_LOGGING: '1' } });
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
    const outcome = await Promise.race([exited.then((code) => ({ exited: true, code })), new Promise<{ exited: false }>((ok) => setTimeout(() => ok({ exited: false }), 10_000))]);
    child.kill();
    await exited;
    expect(outcome, `Electron exited early:\n${log}`).toEqual({ exited: false });
  }, 30_000);
});

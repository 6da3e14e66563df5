/**
 * The application menu and Help › Licences.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { MenuItemConstructorOptions } from 'electron';
import { MENU_CHANNEL } from '../../core/api/host.js';
import { collectPackageLicences, licenceText } from '../../electron/main/licences.js';
import { menuTemplate, sendToFocused, type MenuDeps } from '../../electron/main/menu.js';

vi.mock('electron', () => ({}));

function deps(over: Partial<MenuDeps> = {}): MenuDeps {
  return { platform: 'linux', allowReload: false, allowDevTools: false, send: vi.fn(), showAbout: vi.fn(), showLicences: vi.fn(), ...over };
}
const sub = (t: MenuItemConstructorOptions[], label: string) => (t.find((m) => m.label === label)?.submenu ?? []) as MenuItemConstructorOptions[];
const item = (items: MenuItemConstructorOptions[], label: string) => items.find((m) => m.label === label);
const click = (m: MenuItemConstructorOptions | undefined) => (m!.click as () => void)();
const roles = (items: MenuItemConstructorOptions[]) => items.map((m) => m.role).filter(Boolean);

describe('application menu', () => {
  it('File sends the matching MenuCommand for each scenario and run item, and ends with Quit', () => {
    const d = deps();
    const file = sub(menuTemplate(d), 'File');
    const expected: [string, string][] = [
      ['New scenario', 'new-scenario'],
      ['Open scenario…', 'open-scenario'],
      ['Save scenario…', 'save-scenario'],
      ['Export run…', 'export-run'],
    ];
    for (const [label, cmd] of expected) {
      click(item(file, label));
      expect(d.send).toHaveBeenLastCalledWith(cmd);
    }
    expect(d.send).toHaveBeenCalledTimes(4);
    expect(file.at(-1)?.role).toBe('quit');
    expect(item(file, 'Save scenario…')?.accelerator).toBe('CmdOrCtrl+S');
  });

  it('Edit has the standard roles so text fields and consoles get copy and paste', () => {
    expect(roles(sub(menuTemplate(deps()), 'Edit'))).toEqual(expect.arrayContaining(['undo', 'redo', 'cut', 'copy', 'paste', 'selectAll']));
  });

  it('View offers zoom and full screen always, reload and dev tools only from the source tree', () => {
    const packaged = roles(sub(menuTemplate(deps()), 'View'));
    expect(packaged).toEqual(expect.arrayContaining(['resetZoom', 'zoomIn', 'zoomOut', 'togglefullscreen']));
    expect(packaged).not.toContain('reload');
    expect(packaged).not.toContain('forceReload');
    expect(packaged).not.toContain('toggleDevTools');
    const dev = roles(sub(menuTemplate(deps({ allowReload: true, allowDevTools: true })), 'View'));
    expect(dev).toEqual(expect.arrayContaining(['reload', 'toggleDevTools']));
  });

  it('Help shows About (with the version, in main) and the licences', () => {
    const d = deps();
    const help = sub(menuTemplate(d), 'Help');
    click(item(help, 'About Hyperlab'));
    click(item(help, 'Licences…'));
    expect(d.showAbout).toHaveBeenCalledTimes(1);
    expect(d.showLicences).toHaveBeenCalledTimes(1);
    expect(d.send).not.toHaveBeenCalled();
  });

  it('on macOS puts About and Quit in the application menu and Close in File', () => {
    const t = menuTemplate(deps({ platform: 'darwin' }));
    expect(t[0]?.label).toBe('Hyperlab');
    expect(roles(sub(t, 'Hyperlab'))).toContain('quit');
    expect(item(sub(t, 'Hyperlab'), 'About Hyperlab')).toBeDefined();
    expect(sub(t, 'File').at(-1)?.role).toBe('close');
  });

  it('sends the command on MENU_CHANNEL to the focused window only', () => {
    const contents = { isDestroyed: () => false, send: vi.fn() };
    sendToFocused(() => ({ webContents: contents }))('export-run');
    expect(contents.send).toHaveBeenCalledWith(MENU_CHANNEL, 'export-run');
    expect(() => sendToFocused(() => null)('export-run')).not.toThrow();
    const gone = { isDestroyed: () => true, send: vi.fn() };
    sendToFocused(() => ({ webContents: gone }))('new-scenario');
    expect(gone.send).not.toHaveBeenCalled();
  });
});

describe('licences', () => {
  it('lists every package in a node_modules tree, scoped and nested ones too, with its licence', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hyperlab-lic-'));
    try {
      const pkg = (p: string, json: object) => {
        mkdirSync(join(dir, p), { recursive: true });
        writeFileSync(join(dir, p, 'package.json'), JSON.stringify(json));
      };
      pkg('zod', { name: 'zod', version: '4.0.0', license: 'MIT' });
      pkg('@xterm/xterm', { name: '@xterm/xterm', version: '6.0.0', license: 'MIT' });
      pkg('better-sqlite3/node_modules/bindings', { name: 'bindings', version: '1.5.0', license: 'MIT' });
      pkg('old', { name: 'old', version: '1.0.0', licenses: [{ type: 'BSD-2-Clause' }] });
      mkdirSync(join(dir, '.cache'));
      const found = await collectPackageLicences(dir);
      expect(found.map((f) => `${f.name} ${f.licence}`)).toEqual(['@xterm/xterm MIT', 'bindings MIT', 'old BSD-2-Clause', 'zod MIT']);
      const text = licenceText(found);
      expect(text).toContain('MIT: @xterm/xterm 6.0.0, bindings 1.5.0, zod 4.0.0');
      expect(text).toContain('BSD-2-Clause: old 1.0.0');
      expect(text).toMatch(/^Electron — MIT/);
      expect(text).toContain('SQLite — Public domain');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("finds every production dependency in this project's node_modules", async () => {
    const deps = Object.keys((JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> }).dependencies);
    const found = new Set((await collectPackageLicences('node_modules')).map((f) => f.name));
    for (const d of deps) expect(found.has(d), d).toBe(true);
  });
});

/**
 * The application menu. Menu items that act on the lab (scenarios, runs) only tell the renderer
 * which command was chosen, on MENU_CHANNEL: the renderer owns the state and the forms; main
 * never reaches into the page.
 */
import type { MenuItemConstructorOptions } from 'electron';
import { MENU_CHANNEL, type MenuCommand } from '../../core/api/host.js';

export interface MenuDeps {
  platform: NodeJS.Platform;
  /** Reload is for working on the renderer; a user would lose an unsaved scenario with it. */
  allowReload: boolean;
  /** Developer tools only when running from the source tree, never in a packaged build. */
  allowDevTools: boolean;
  send(cmd: MenuCommand): void;
  showAbout(): void;
  showLicences(): void;
}

interface WebContentsLike {
  isDestroyed(): boolean;
  send(channel: string, ...args: unknown[]): void;
}

/** Sends a command to the focused window (the one the user chose the menu item in), if any. */
export function sendToFocused(focused: () => { webContents: WebContentsLike } | null): (cmd: MenuCommand) => void {
  return (cmd) => {
    const contents = focused()?.webContents;
    if (contents && !contents.isDestroyed()) contents.send(MENU_CHANNEL, cmd);
  };
}

export function menuTemplate(d: MenuDeps): MenuItemConstructorOptions[] {
  const mac = d.platform === 'darwin';
  const command = (label: string, cmd: MenuCommand, accelerator: string): MenuItemConstructorOptions => ({
    label,
    accelerator,
    click: () => d.send(cmd),
  });
  const about: MenuItemConstructorOptions = { label: 'About Hyperlab', click: () => d.showAbout() };
  const licences: MenuItemConstructorOptions = { label: 'Licences…', click: () => d.showLicences() };

  const file: MenuItemConstructorOptions = {
    label: 'File',
    submenu: [
      command('New scenario', 'new-scenario', 'CmdOrCtrl+N'),
      command('Open scenario…', 'open-scenario', 'CmdOrCtrl+O'),
      command('Save scenario…', 'save-scenario', 'CmdOrCtrl+S'),
      { type: 'separator' },
      command('Export run…', 'export-run', 'CmdOrCtrl+E'),
      { type: 'separator' },
      // macOS keeps Quit in the application menu and Close in File, as its users expect.
      mac ? { role: 'close' } : { role: 'quit', label: 'Quit' },
    ],
  };
  const edit: MenuItemConstructorOptions = {
    label: 'Edit',
    submenu: [
      { role: 'undo' },
      { role: 'redo' },
      { type: 'separator' },
      { role: 'cut' },
      { role: 'copy' },
      { role: 'paste' },
      { role: 'delete' },
      { type: 'separator' },
      { role: 'selectAll' },
    ],
  };
  const view: MenuItemConstructorOptions = {
    label: 'View',
    submenu: [
      ...(d.allowReload ? ([{ role: 'reload' }, { role: 'forceReload' }] as MenuItemConstructorOptions[]) : []),
      ...(d.allowDevTools ? ([{ role: 'toggleDevTools' }] as MenuItemConstructorOptions[]) : []),
      ...(d.allowReload || d.allowDevTools ? ([{ type: 'separator' }] as MenuItemConstructorOptions[]) : []),
      { role: 'resetZoom' },
      { role: 'zoomIn' },
      { role: 'zoomOut' },
      { type: 'separator' },
      { role: 'togglefullscreen' },
    ],
  };
  const help: MenuItemConstructorOptions = {
    role: 'help',
    label: 'Help',
    submenu: mac ? [licences] : [about, licences],
  };
  const appMenu: MenuItemConstructorOptions = {
    label: 'Hyperlab',
    submenu: [about, { type: 'separator' }, { role: 'services' }, { type: 'separator' }, { role: 'hide' }, { role: 'hideOthers' }, { role: 'unhide' }, { type: 'separator' }, { role: 'quit' }],
  };
  return [...(mac ? [appMenu] : []), file, edit, view, ...(mac ? [{ role: 'windowMenu' } as MenuItemConstructorOptions] : []), help];
}

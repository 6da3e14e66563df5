/**
 * Help › About and Help › Licences, as native message boxes: no extra page, window or preload to
 * secure, and they work even if the renderer failed to load.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { MessageBoxOptions } from 'electron';
import { collectPackageLicences, licenceText } from './licences.js';

export interface AboutDeps {
  version: string;
  /** app.getAppPath(): the project folder, or resources/app.asar once packaged. */
  appPath: string;
  showMessageBox(options: MessageBoxOptions): Promise<{ response: number }>;
  openPath(path: string): Promise<string>;
}

export async function showLicences(d: AboutDeps): Promise<void> {
  const packages = await collectPackageLicences(join(d.appPath, 'node_modules'));
  // Electron's distribution puts the full Chromium licence texts beside the executable.
  const chromium = join(dirname(process.execPath), 'LICENSES.chromium.html');
  const canOpen = existsSync(chromium);
  const { response } = await d.showMessageBox({
    type: 'info',
    title: 'Licences',
    message: 'Hyperlab is MIT-licensed and is built from these open-source parts',
    detail: licenceText(packages),
    buttons: canOpen ? ['OK', 'Open Chromium licences'] : ['OK'],
    defaultId: 0,
    noLink: true,
  });
  if (canOpen && response === 1) await d.openPath(chromium);
}

export async function showAbout(d: AboutDeps): Promise<void> {
  const v = process.versions as NodeJS.ProcessVersions & { electron?: string; chrome?: string };
  const { response } = await d.showMessageBox({
    type: 'info',
    title: 'About Hyperlab',
    message: `Hyperlab ${d.version}`,
    detail: [
      'An offline lab for memory virtualization: an emulated x86-64 MMU, a Xen-style hypervisor, and PV, shadow, nested and native paging measured side by side.',
      '',
      `Electron ${v.electron ?? '?'} · Chromium ${v.chrome ?? '?'} · Node ${v.node}`,
      'Licence: MIT',
    ].join('\n'),
    buttons: ['OK', 'Licences…'],
    defaultId: 0,
    noLink: true,
  });
  if (response === 1) await showLicences(d);
}

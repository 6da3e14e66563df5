// Types for scripts/electronSetup.mjs (plain ESM, so npm start runs without a compile step),
// for the test that drives it with a fake node_modules tree.
export const ELECTRON_HEADERS_URL: string;
export const BINDING_ENV: 'HYPERLAB_SQLITE_BINDING';

type Env = Record<string, string | undefined>;
export type ElectronStatus = { ok: true; version: string; path: string } | { ok: false; version: string | null; why: string };
export interface RebuildCommand {
  cwd: string;
  command: string;
  args: string[];
}
export type StartPlan =
  | { action: 'no-electron'; electron: ElectronStatus & { ok: false }; message: string }
  | { action: 'no-node-gyp'; electron: ElectronStatus & { ok: true }; message: string }
  | { action: 'rebuild'; electron: ElectronStatus & { ok: true }; binding: string; rebuild: RebuildCommand }
  | { action: 'launch'; electron: ElectronStatus & { ok: true }; binding: string };

export function electronStatus(root: string, env?: Env): ElectronStatus;
export function missingElectronMessage(status: { why: string }): string;
export function sqliteCache(root: string, electronVersion: string): { dir: string; binding: string; stamp: string };
export function cachedBinding(root: string, electronVersion: string): string | null;
export function findNodeGyp(root: string, env?: Env): string | null;
export function copyForRebuild(root: string, electronVersion: string): string;
export function rebuildCommand(root: string, electronVersion: string, nodeGyp: string, execPath?: string, devDir?: string): RebuildCommand;
export function writeStamp(root: string, electronVersion: string): void;
export function launchEnv(env: Env, binding: string): Env;
export function planStart(root: string, env?: Env): StartPlan;

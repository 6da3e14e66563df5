// Lint, with the layering rule that keeps the architecture true (STYLE.md, "Layout shows the
// architecture"): core/ is pure TypeScript; renderer/ and electron/ reach core only through
// core/api; only electron/ may import electron.
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import svelteConfig from './svelte.config.js';

const NODE_BUILTINS = [
  'assert', 'buffer', 'child_process', 'cluster', 'crypto', 'dgram', 'dns', 'events', 'fs', 'fs/promises', 'http',
  'http2', 'https', 'module', 'net', 'os', 'path', 'perf_hooks', 'process', 'readline', 'stream', 'timers', 'tls',
  'url', 'util', 'v8', 'vm', 'worker_threads', 'zlib',
];

const noElectron = { name: 'electron', message: 'Only electron/ may import electron.' };

/** core/'s folders by layer: a folder imports only folders of a lower rank. */
export const CORE_LAYERS = [
  { name: 'base', rank: 0 },
  { name: 'machine', rank: 1 },
  { name: 'api', rank: 2 },
  { name: 'hv', rank: 3 },
  { name: 'guest', rank: 3 },
  { name: 'vm', rank: 4 },
  { name: 'workloads', rank: 5 },
  { name: 'sim', rank: 6 },
  { name: 'toolstack', rank: 7 },
  { name: 'worker', rank: 8 },
  { name: 'cli', rank: 8 },
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'out/**', 'dist/**', 'test-results/**', 'build/**/*.js'] },
  ...tseslint.configs.recommended,
  ...svelte.configs.recommended,
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'], svelteConfig } },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  // core/'s layers point one way (DESIGN.md §2), as Xen is split into hypervisor, guest kernel
  // and toolstack: base ← machine ← api ← {hv, guest} ← vm ← workloads ← sim ← toolstack ←
  // {worker, cli}. A folder may import only folders of a lower rank; hv and guest never import
  // each other (vm/ is the one place that sees both), nor do worker and cli.
  ...CORE_LAYERS.map((layer, _i, all) => ({
    files: [`core/${layer.name}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: layer.name === 'cli' ? [noElectron] : [noElectron, ...NODE_BUILTINS.map((name) => ({ name, message: 'core/ is pure TypeScript: no Node built-ins.' }))],
          patterns: [
            ...(layer.name === 'cli' ? [] : [{ group: ['node:*'], message: 'core/ is pure TypeScript: no node:* imports.' }]),
            { group: ['**/renderer/**', '**/electron/**'], message: 'core/ never imports renderer/ or electron/.' },
            ...all
              .filter((other) => other.name !== layer.name && other.rank >= layer.rank)
              .map((other) => ({
                group: [`**/${other.name}/**`, `../${other.name}/**`],
                message: `core/${layer.name} (layer ${layer.rank}) must not import core/${other.name} (layer ${other.rank}): core's layers point one way, base ← machine ← api ← {hv, guest} ← vm ← workloads ← sim ← toolstack ← {worker, cli}.`,
              })),
          ],
        },
      ],
    },
  })),
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.svelte'],
    rules: { 'no-restricted-imports': ['error', { paths: [noElectron], patterns: [
            {
              group: ['**/core/*', '**/core/*/**', '!**/core/api', '!**/core/api/**'],
              message: 'renderer/ and electron/ import core only through core/api.',
            },
          ] }] },
  },
  {
    files: ['electron/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [
            {
              group: ['**/core/*', '**/core/*/**', '!**/core/api', '!**/core/api/**'],
              message: 'renderer/ and electron/ import core only through core/api.',
            },
          ] }] },
  },
  {
    // Host services run in the browser-mode server too: they must not need Electron.
    files: ['electron/host/**/*.ts', 'scripts/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [{ name: 'electron', message: 'electron/host/ is Electron-free (the browser-mode server uses it).' }], patterns: [
            {
              group: ['**/core/*', '**/core/*/**', '!**/core/api', '!**/core/api/**'],
              message: 'renderer/ and electron/ import core only through core/api.',
            },
          ] }] },
  },
);

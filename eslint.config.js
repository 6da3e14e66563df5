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
  {
    files: ['core/**/*.ts'],
    ignores: ['core/cli/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [noElectron, ...NODE_BUILTINS.map((name) => ({ name, message: 'core/ is pure TypeScript: no Node built-ins.' }))],
          patterns: [
            { group: ['node:*'], message: 'core/ is pure TypeScript: no node:* imports.' },
            { group: ['**/renderer/**', '**/electron/**'], message: 'core/ never imports renderer/ or electron/.' },
          ],
        },
      ],
    },
  },
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

// Builds the three parts of the app: the main process (electron/main, and the host worker it
// starts, electron/host/hostWorker.ts, as a second entry: out/main/hostWorker.js beside
// out/main/index.js, where main looks for it), the one preload
// (electron/preload, CommonJS because sandboxed preloads cannot be ES modules) and the renderer
// (renderer/, Svelte 5). `npm run build` writes them to out/; `npm run serve` and electron-builder
// use the same output.
import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      externalizeDeps: true,
      rollupOptions: { input: { index: resolve('electron/main/index.ts'), hostWorker: resolve('electron/host/hostWorker.ts') } },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      externalizeDeps: false,
      rollupOptions: { input: { index: resolve('electron/preload/index.ts') }, output: { format: 'cjs', entryFileNames: '[name].cjs' } },
    },
  },
  renderer: {
    root: resolve('renderer'),
    plugins: [svelte({ configFile: resolve('svelte.config.js') })],
    worker: { format: 'es' },
    build: {
      outDir: resolve('out/renderer'),
      emptyOutDir: true,
      rollupOptions: { input: { index: resolve('renderer/index.html') } },
    },
  },
});

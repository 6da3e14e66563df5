import { mount } from 'svelte';
import App from './App.svelte';
import { Lab } from './lib/lab.svelte.js';
import { connectHost } from './lib/host.js';
import { comparePoolSize } from './lib/comparePool.js';
import './app.css';

// A compare or sweep runs on a small pool of workers, one per core up to MAX_COMPARE_WORKERS.
const lab = new Lab(connectHost(), () => new Worker(new URL('../../core/worker/entry.ts', import.meta.url), { type: 'module' }), {
  compareWorkers: comparePoolSize(navigator.hardwareConcurrency),
});
const target = document.getElementById('app')!;
target.replaceChildren(); // the boot placeholder of index.html
mount(App, { target, props: { lab } });
// Test-only: an end-to-end test that defined `__hyperlabTestHooks` before the page loaded (with an
// init script; the CSP allows no inline script, and nothing in the app defines it) gets the Lab,
// to put requests in flight back to back. See test/e2e/harness.ts.
const testHooks = (window as { __hyperlabTestHooks?: { lab?: Lab } }).__hyperlabTestHooks;
if (testHooks) testHooks.lab = lab;
void lab.init();

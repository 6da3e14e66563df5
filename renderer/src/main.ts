import { mount } from 'svelte';
import App from './App.svelte';
import { Lab } from './lib/lab.svelte.js';
import { connectHost } from './lib/host.js';
import './app.css';

const lab = new Lab(connectHost(), () => new Worker(new URL('../../core/worker/entry.ts', import.meta.url), { type: 'module' }));
mount(App, { target: document.getElementById('app')!, props: { lab } });
void lab.init();

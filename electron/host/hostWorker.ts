/**
 * The host worker's entry: a worker_threads Worker that owns the run store, so SQLite and the
 * parsing of imports (up to 256 MB of JSON) never run on Electron's main thread or the
 * browser-mode server's event loop. Built as its own file beside out/main/index.js
 * (electron.vite.config.ts); run from sources through tsx in browser mode (hostClient.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { serveHostWorker, type HostWorkerData } from './hostProtocol.js';
import { openStore } from './store.js';

if (!parentPort) throw new Error('hostWorker.ts runs as a worker thread (see hostClient.ts), not as a program');
serveHostWorker(parentPort, workerData as HostWorkerData, openStore);

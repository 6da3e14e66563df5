/**
 * A worker thread of the `lab` pool (pool.ts): it is sent runs one at a time ({index, scenario}),
 * runs each exactly as a serial `lab` would (runScenario) and answers with the results as JSON, or
 * the error's message.
 */
import { parentPort } from 'node:worker_threads';
import type { Scenario } from '../api/index.js';
import { runScenario } from '../sim/run.js';

export interface ThreadRequest {
  index: number;
  scenario: Scenario;
}

export type ThreadAnswer = { index: number; ok: true; json: string } | { index: number; ok: false; message: string };

const port = parentPort;
if (port) {
  port.on('message', (req: ThreadRequest) => {
    let answer: ThreadAnswer;
    try {
      answer = { index: req.index, ok: true, json: JSON.stringify(runScenario(req.scenario, { now: () => performance.now() })) };
    } catch (e) {
      answer = { index: req.index, ok: false, message: (e as Error).message };
    }
    port.postMessage(answer);
  });
}

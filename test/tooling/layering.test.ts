/**
 * The layering rule must keep firing: lint small snippets as if they lived in each layer.
 */
import { readdirSync } from 'node:fs';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd() });

async function messages(filePath: string, code: string): Promise<string[]> {
  const [r] = await eslint.lintText(code, { filePath });
  return r.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layering lint rule', () => {
  it('forbids Node built-ins in core/', async () => {
    expect(await messages('core/machine/x.ts', "import { readFileSync } from 'node:fs';\nexport const f = readFileSync;\n")).toHaveLength(1);
    expect(await messages('core/hv/x.ts', "import path from 'path';\nexport const p = path;\n")).toHaveLength(1);
  });

  it('allows Node in the CLI entry point', async () => {
    expect(await messages('core/cli/x.ts', "import { readFileSync } from 'node:fs';\nexport const f = readFileSync;\n")).toHaveLength(0);
  });

  it('forbids core/ reaching into renderer/ or electron/', async () => {
    expect(await messages('core/sim/x.ts', "import { a } from '../../renderer/state.js';\nexport const b = a;\n")).toHaveLength(1);
  });

  it('lets renderer/ and electron/ import core/api only', async () => {
    expect(await messages('renderer/x.ts', "import { a } from '../core/machine/memory.js';\nexport const b = a;\n")).toHaveLength(1);
    expect(await messages('electron/x.ts', "import { a } from '../core/hv/hypervisor.js';\nexport const b = a;\n")).toHaveLength(1);
    expect(await messages('renderer/x.ts', "import { a } from '../core/api/index.js';\nexport const b = a;\n")).toHaveLength(0);
  });

  it('keeps electron out of the renderer', async () => {
    expect(await messages('renderer/x.ts', "import { ipcRenderer } from 'electron';\nexport const i = ipcRenderer;\n")).toHaveLength(1);
  });
});

/**
 * Every arrow of DESIGN.md §2 (`base ← machine ← api ← {hv, guest} ← vm ← workloads ← sim ←
 * toolstack ← {worker, cli}`), written out here rather than read back from the config: the
 * importing folder, then the folder it may import.
 */
const ARROWS: [string, string][] = [
  ['machine', 'base'],
  ['api', 'machine'],
  ['hv', 'api'],
  ['guest', 'api'],
  ['vm', 'hv'],
  ['vm', 'guest'],
  ['workloads', 'vm'],
  ['sim', 'workloads'],
  ['toolstack', 'sim'],
  ['worker', 'toolstack'],
  ['cli', 'toolstack'],
];

const importOf = (from: string, to: string) => [`core/${from}/sub/x.ts`, `import { a } from '../../${to}/y.js';\nexport const b = a;\n`] as const;

describe("core/'s layers point one way", () => {
  for (const [from, to] of ARROWS) {
    it(`core/${from} may import core/${to}`, async () => {
      expect(await messages(...importOf(from, to))).toEqual([]);
    });
    it(`core/${to} may not import core/${from} (the arrow reversed)`, async () => {
      const m = await messages(...importOf(to, from));
      expect(m).toHaveLength(1);
      expect(m[0]).toContain(`core/${to}`);
      expect(m[0]).toContain(`must not import core/${from}`);
    });
  }

  it('keeps the hypervisor and the guest kernel apart, both ways', async () => {
    expect(await messages(...importOf('hv', 'guest'))).toHaveLength(1);
    expect(await messages(...importOf('guest', 'hv'))).toHaveLength(1);
  });

  it('forbids skipping back over several layers (machine importing the simulation)', async () => {
    expect(await messages('core/machine/mmu/x.ts', "import { a } from '../../sim/run.js';\nexport const b = a;\n")).toHaveLength(1);
  });

  it('allows imports within a folder and from lower layers far below', async () => {
    expect(await messages('core/toolstack/x.ts', "import { a } from './consoleHub.js';\nimport { b } from '../base/rng.js';\nexport const c = [a, b];\n")).toEqual([]);
  });

  it('places every folder of core/ on an arrow (a new folder needs its layer here and in the rule)', () => {
    const folders = readdirSync('core', { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    expect(folders).toEqual([...new Set(ARROWS.flat())].sort());
  });
});

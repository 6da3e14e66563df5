/**
 * The layering rule must keep firing: lint small snippets as if they lived in each layer.
 */
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

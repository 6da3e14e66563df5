/**
 * The host API as the renderer sees it: Electron's preload (window.hyperlab) when there is one,
 * otherwise the browser-mode client over HTTP, which does file dialogs itself (a download, a file
 * picker). Both implement the same HostApi from core/api.
 */
import type { HostApi, HostOp, MenuCommand, OpenFileArgs, SaveFileArgs } from '../../../core/api/index.js';

declare global {
  interface Window {
    hyperlab?: HostApi;
  }
}

const TOKEN_KEY = 'hyperlab-token';

function launchToken(): string {
  const m = /(?:^#|&)token=([A-Za-z0-9_-]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(TOKEN_KEY, m[1]!);
    // Keep the token out of the address bar (and out of screenshots and history).
    history.replaceState(null, '', location.pathname + location.search);
    return m[1]!;
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

export class HostCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function download(name: string, content: string): void {
  const type = name.endsWith('.json') ? 'application/json' : name.endsWith('.csv') ? 'text/csv' : name.endsWith('.svg') ? 'image/svg+xml' : 'application/octet-stream';
  const url = content.startsWith('data:') ? content : URL.createObjectURL(new Blob([content], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  if (!content.startsWith('data:')) setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function pickFile(args: OpenFileArgs): Promise<{ name: string; content: string } | null> {
  return new Promise((resolve) => {
    const input = document.createElement('input');
    input.type = 'file';
    const exts = (args.filters ?? []).flatMap((f) => f.extensions.map((e) => `.${e}`));
    if (exts.length) input.accept = exts.join(',');
    input.addEventListener('change', () => {
      const f = input.files?.[0];
      if (!f) return resolve(null);
      f.text().then((content) => resolve({ name: f.name, content }), () => resolve(null));
    });
    input.addEventListener('cancel', () => resolve(null));
    input.click();
  });
}

export function browserHost(): HostApi {
  const token = launchToken();
  const call = async (op: HostOp, args: unknown[]): Promise<unknown> => {
    let res: Response;
    try {
      res = await fetch(`/api/${op}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hyperlab-token': token },
        body: JSON.stringify({ args }),
      });
    } catch (e) {
      throw new HostCallError('offline', `the Hyperlab server is not reachable (${(e as Error).message}); is \`npm run serve\` still running?`);
    }
    const reply = (await res.json().catch(() => null)) as { ok: boolean; value?: unknown; error?: { code: string; message: string } } | null;
    if (!reply) throw new HostCallError('internal', `${op}: the server answered ${res.status} without a reply`);
    if (!reply.ok) throw new HostCallError(reply.error?.code ?? 'internal', reply.error?.message ?? `${op} failed`);
    return reply.value;
  };
  const op =
    <T>(name: HostOp) =>
    (...args: unknown[]) =>
      call(name, args) as Promise<T>;
  return {
    info: op('info'),
    listRuns: op('listRuns'),
    getRun: op('getRun'),
    beginRun: op('beginRun'),
    renewLease: op('renewLease'),
    appendSeries: op('appendSeries'),
    appendConsole: op('appendConsole'),
    finishRun: op('finishRun'),
    setNote: op('setNote'),
    deleteRun: op('deleteRun'),
    saveCompare: op('saveCompare'),
    listScenarios: op('listScenarios'),
    saveScenario: op('saveScenario'),
    deleteScenario: op('deleteScenario'),
    exportRun: op('exportRun'),
    importRun: op('importRun'),
    listLabStudents: op('listLabStudents'),
    getLabProgress: op('getLabProgress'),
    saveLabProgress: op('saveLabProgress'),
    saveFile: async (args: SaveFileArgs) => {
      download(args.suggestedName, args.content);
      return { saved: true };
    },
    openFile: pickFile,
    onMenu: (_cb: (cmd: MenuCommand) => void) => () => {},
  } as HostApi;
}

export function connectHost(): HostApi {
  return window.hyperlab ?? browserHost();
}

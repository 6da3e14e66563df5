import { validateScenario, type ScenarioInput } from '../../core/api/index.js';
import { Simulation } from '../../core/sim/simulation.js';
import { ConsoleHub } from '../../core/toolstack/consoleHub.js';

export function scenario(input: Omit<ScenarioInput, 'name'> & { name?: string }) {
  const v = validateScenario({ name: 'toolstack', ...input });
  if (!v.ok) throw new Error(v.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return v.scenario;
}

/** dom0 + g1 (pv 256) + g2 (hap 512, host 2m) + g3 (shadow 256) on 2 GiB, 2 pCPUs. */
export function threeGuests() {
  return scenario({
    machine: { memoryMiB: 2048, pcpus: 2 },
    hypervisor: 'xen',
    domains: [
      { name: 'g1', mode: 'pv', memoryMiB: 256, vcpus: 1 },
      { name: 'g2', mode: 'hap', memoryMiB: 512, vcpus: 2, hostPageSize: '2m' },
      { name: 'g3', mode: 'shadow', memoryMiB: 256, vcpus: 1 },
    ],
  });
}

export interface Booted {
  sim: Simulation;
  hub: ConsoleHub;
  /** Everything each console printed, '\r\n' as sent. */
  raw: Record<string, string>;
  kicks: number;
  changes: number;
  switched: string[];
  /** Types `line` + Enter into `console`; returns what the command printed (no echo, no prompt), '\n' line ends. */
  cmd(console: string, line: string): string;
  /** Raw keystrokes; returns the raw output they caused. */
  keys(console: string, data: string): string;
  /** Steps until no runnable job is left (or `max` rounds), ticking the hub as a session does. */
  runToEnd(max?: number): void;
}

export function boot(s: ReturnType<typeof scenario>, opts: { stepFirst?: boolean; switchHook?: boolean } = {}): Booted {
  const sim = new Simulation(s);
  const raw: Record<string, string> = {};
  const b: Booted = {
    sim,
    hub: undefined as unknown as ConsoleHub,
    raw,
    kicks: 0,
    changes: 0,
    switched: [],
    cmd(console, line) {
      const before = (raw[console] ?? '').length;
      b.hub.input(console, line + '\r');
      let out = (raw[console] ?? '').slice(before);
      const echo = line + '\r\n';
      if (!out.startsWith(echo)) throw new Error(`no echo of ${JSON.stringify(line)}: ${JSON.stringify(out.slice(0, 80))}`);
      out = out.slice(echo.length);
      const prompt = b.hub.shell(console)?.prompt ?? '';
      if (prompt && out.endsWith(prompt)) out = out.slice(0, -prompt.length);
      return out.replace(/\r\n/g, '\n');
    },
    keys(console, data) {
      const before = (raw[console] ?? '').length;
      b.hub.input(console, data);
      return (raw[console] ?? '').slice(before);
    },
    runToEnd(max = 100_000) {
      for (let i = 0; i < max && sim.step(8); i++) b.hub.tick();
      b.hub.tick();
    },
  };
  b.hub = new ConsoleHub(sim, {
    out: (c, d) => {
      raw[c] = (raw[c] ?? '') + d;
    },
    domainsChanged: () => {
      b.changes++;
    },
    kick: () => {
      b.kicks++;
    },
    ...(opts.switchHook === false ? {} : { switchConsole: (n: string) => void b.switched.push(n) }),
  });
  // Two rounds: every idle job ends, so xl list shows blocked (b) for domains with nothing to run.
  if (opts.stepFirst !== false) sim.step(2);
  b.hub.boot();
  return b;
}

/** Lines of a command's output, without the final empty one. */
export function lines(out: string): string[] {
  const l = out.split('\n');
  if (l[l.length - 1] === '') l.pop();
  return l;
}

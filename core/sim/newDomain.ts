/**
 * The checks `xl create` gets before a domain is built on a running machine: the config is a
 * valid domain, every scenario rule holds with it beside the live domains, its name is free, and
 * its memory plus what Xen needs for its paging fits in the free frames.
 */
import type { z } from 'zod';
import type { DomainConfig, Problem, Scenario } from '../api/scenario.js';
import { domainSchema, validateScenario } from '../api/scenario.js';
import type { Vm } from '../vm/vm.js';
import type { Hypervisor } from '../hv/hypervisor.js';

/** A domain as a user writes it (defaults not yet applied). */
export type DomainInput = z.input<typeof domainSchema>;

/** A domain that cannot be created: each problem names the field and says what to do. */
export class DomainConfigError extends Error {
  constructor(
    readonly domain: string,
    readonly problems: Problem[],
  ) {
    super(`cannot create domain "${domain}": ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  }
}

/**
 * `ownedPci` gives each live domain's devices as they are now (pci-attach and pci-detach move
 * them), in place of its config's pci, for the ownership rules.
 */
export function checkNewDomain(input: DomainInput, s: Scenario, domains: readonly Vm[], xen: Hypervisor, ownedPci?: (d: Vm) => string[]): DomainConfig {
  const name = typeof input?.name === 'string' ? input.name : '(unnamed)';
  const fail = (problems: Problem[]): never => {
    throw new DomainConfigError(name, problems);
  };
  const parsed = domainSchema.safeParse(input);
  if (!parsed.success) {
    const v = validateScenario({ name: 'x', machine: { memoryMiB: 16, pcpus: 1 }, hypervisor: 'xen', domains: [input] });
    fail(v.ok ? [{ path: '(domain)', message: 'invalid domain' }] : v.problems.filter((p) => p.path.startsWith('domains[0]')).map(unprefix));
  }
  const cfg = (parsed as { data: DomainConfig }).data;
  if (s.hypervisor === 'none') fail([{ path: 'mode', message: 'hypervisor "none" runs exactly one native domain; there is no toolstack to create another' }]);
  const clash = domains.find((d) => d.name === cfg.name);
  if (clash) fail([{ path: 'name', message: `domain name "${cfg.name}" is already in use by domain ${clash.domid}; choose another name` }]);
  // Every rule of a scenario applies, checked against the live domains (memory is checked below, in frames).
  const all = [...domains.map((d) => (ownedPci ? { ...d.config, pci: ownedPci(d) } : d.config)), cfg];
  const at = `domains[${all.length - 1}]`;
  const v = validateScenario({ name: s.name, seed: s.seed, machine: { memoryMiB: s.machine.memoryMiB, pcpus: s.machine.pcpus, ...(s.machine.devices ? { devices: s.machine.devices } : {}) }, hypervisor: s.hypervisor, domains: all });
  if (!v.ok) {
    const mine = v.problems.filter((p) => p.path === at || p.path.startsWith(`${at}.`) || p.path === 'domains');
    if (mine.length > 0) fail(mine.map((p) => (p.path === 'domains' ? { path: 'role', message: p.message } : unprefix(p))));
  }
  const need = cfg.memoryMiB * 256;
  const extra = xen.overheadFrames(cfg);
  const free = xen.freeFrames;
  if (need + extra > free) {
    const what = extra > 0 ? ` plus ${extra} for its ${cfg.mode === 'shadow' ? 'shadow pool' : 'EPT tables'}` : '';
    fail([
      {
        path: 'memoryMiB',
        message: `${cfg.name} needs ${need} frames (${cfg.memoryMiB} MiB)${what} but only ${free} frames (${Math.floor(free / 256)} MiB) are free; lower its memory or destroy a domain`,
      },
    ]);
  }
  return cfg;
}

function unprefix(p: Problem): Problem {
  return { path: p.path.replace(/^domains\[\d+\]\.?/, '') || '(domain)', message: p.message };
}

/**
 * Fuzzing the IOMMU (issue 13): malicious guests that own a passthrough disk — evil (PV: its
 * device is programmed with machine addresses) and evilh (HAP: guest-physical ones) — beside a
 * victim (web, PV, running disk-io on a disk dom0 serves) that grants evil one page writable and
 * one read-only. Between simulation steps the campaign programs the devices at random bus
 * addresses (own frames, the victim's, dom0's, Xen's IOMMU tables, the granted frames, anything
 * on the machine, beyond the 48-bit address width), reads and writes of random lengths that may
 * cross pages; maps and unmaps the victim's grants for the device; and detaches and re-attaches
 * the devices, also with a transfer in flight.
 *
 * What must hold, from Xen's model rather than the lab's bookkeeping:
 *  - a transfer by a device whose owner is a PV domain succeeds only onto frames that domain owns or
 *    holds a device mapping of (writable for a write) (Xen's strict PV IOMMU tables: dfn = mfn of
 *    frames owned with a writable type, plus grant maps: gnttab_need_iommu_mapping);
 *  - no frame outside the owner's own and granted set changes, whatever the transfer returned (each
 *    candidate frame compared byte for byte before and after);
 *  - a quarantined device (pci-detach: XSA-302's dom_io) reaches nothing;
 *  - GNTMAP_device_map by a translated domain fails with GNTST_general_error ("No device mapping in
 *    HVM domain", grant_table.c map_grant_ref); a read-only grant mapped writable fails with
 *    GNTST_general_error; an unmap of a handle not in use gives GNTST_bad_handle;
 *  - the machine audit (IOMMU tables against ownership, types and grants) holds after every step.
 *
 * Deterministic per seed; a failure names the seed, the step and the operation.
 */
import { GNTMAP_device_map, GNTMAP_readonly, GNTST_bad_handle, GNTST_general_error, GNTST_okay, PAGE_SIZE } from '../../core/api/public/grant_table.js';
import { validateScenario } from '../../core/api/scenario.js';
import { Rng } from '../../core/base/rng.js';
import { DOMID_IO } from '../../core/hv/passthrough/iommu.js';
import { Simulation } from '../../core/sim/simulation.js';
import { auditMachine, machineAuditor } from '../../core/vm/audit.js';
import type { Vm } from '../../core/vm/vm.js';

export interface IommuFuzzReport {
  seed: number;
  steps: number;
  ops: Record<string, number>;
  /** Transfers the IOMMU refused, and those that went through (onto the owner's own or granted frames). */
  refused: number;
  allowed: number;
  /** Transfers attempted while the device was quarantined (all refused). */
  quarantined: number;
  /** Remapping faults the unit took (recorded or overflowed). */
  faults: number;
  web: { requests: number; errors: number; lostWrites: number };
}

export class IommuFuzzFailure extends Error {
  constructor(seed: number, step: number, op: string, detail: string) {
    super(`iommu fuzz failed (seed ${seed}, step ${step}, op ${op}): ${detail}`);
    this.name = 'IommuFuzzFailure';
  }
}

function scenario(webOps: number) {
  const v = validateScenario({
    name: 'iommu-fuzz',
    machine: {
      memoryMiB: 512,
      pcpus: 1,
      devices: [
        { id: 'disk0', kind: 'disk', sizeMiB: 16 },
        { id: 'disk1', kind: 'disk', sizeMiB: 16 },
        { id: 'disk2', kind: 'disk', sizeMiB: 16 },
      ],
    },
    hypervisor: 'xen',
    domains: [
      { name: 'Domain-0', role: 'dom0', mode: 'pv', memoryMiB: 64, vcpus: 1 },
      { name: 'web', mode: 'pv', memoryMiB: 64, vcpus: 1, disks: [{ device: 'disk2', vdev: 'xvda' }], workload: { kind: 'disk-io', ops: webOps, writeFraction: 0.5, flushEvery: 8, queueDepth: 2 } },
      { name: 'evil', mode: 'pv', memoryMiB: 32, vcpus: 1, pci: ['disk0'] },
      { name: 'evilh', mode: 'hap', memoryMiB: 32, vcpus: 1, pci: ['disk1'] },
    ],
  });
  if (!v.ok) throw new Error('iommu fuzz scenario invalid: ' + JSON.stringify(v.problems));
  return v.scenario;
}

class Check extends Error {}

export function runIommuFuzz(opts: { seed: number; steps: number }): IommuFuzzReport {
  const { seed, steps } = opts;
  const rng = new Rng(seed);
  let step = 0;
  let opName = 'setup';
  const fail = (detail: string): never => {
    throw new IommuFuzzFailure(seed, step, opName, detail);
  };
  const sim = new Simulation(scenario(Math.max(100, steps)));
  sim.setGrain(1);
  const xen = sim.xen;
  const iommu = xen.iommu!;
  const io = sim.io!;
  const byName = (n: string): Vm => sim.domains.find((d) => d.name === n)!;
  const [dom0, web, evil, evilh] = ['Domain-0', 'web', 'evil', 'evilh'].map(byName) as [Vm, Vm, Vm, Vm];
  for (let i = 0; i < 200 && !web.io!.disks[0]!.front.connected; i++) sim.step(1);
  if (!web.io!.disks[0]!.front.connected) fail("web's disk did not connect");
  const pick = <T>(xs: readonly T[]): T => xs[rng.below(xs.length)]!;

  // web grants evil one page writable and one read-only (as a frontend grants its backend).
  const grantPage = (readonly: boolean) => {
    const pfn = web.kernel.allocPage();
    const mfn = web.dom.p2m[pfn]!;
    const ref = web.io!.env.grants.grantForeignAccess(evil.domid, web.io!.env.grantFrame(pfn), readonly);
    return { mfn, ref, readonly };
  };
  const grants = [grantPage(false), grantPage(true)];

  /** The model: who owns each device (a domain, or null for quarantine), and evil's device mappings. */
  const owner = new Map<string, Vm | null>([
    ['disk0', evil],
    ['disk1', evilh],
  ]);
  const held: { handle: number; mfn: number; readonly: boolean; devBusAddr: number }[] = [];
  const machineFrames = xen.mem.nrFrames;

  /** Frames a PV owner's device may reach: its own, and those it holds device mappings of (writable ones for a write). */
  const insidePv = (d: Vm, mfn: number, write: boolean) =>
    xen.ft.owner(mfn) === d.domid || held.some((h) => d === evil && h.mfn === mfn && (!write || !h.readonly));
  /** The set a translated owner's device may reach: frames it owns (its p2m maps nothing else but grants, which evilh never maps). */
  const insideHap = (d: Vm, mfn: number) => xen.ft.owner(mfn) === d.domid;

  const snapshot = (mfns: number[]) => mfns.map((m) => xen.mem.bytes(m)).map((v) => new Uint8Array(v.buffer, v.byteOffset, PAGE_SIZE).slice());
  const same = (a: Uint8Array, m: number) => {
    const v = xen.mem.bytes(m);
    const b = new Uint8Array(v.buffer, v.byteOffset, PAGE_SIZE);
    for (let i = 0; i < PAGE_SIZE; i++) if (a[i] !== b[i]) return false;
    return true;
  };

  const ownFrames = (d: Vm) => [...xen.ft.ownedFrames(d.domid)];
  const iommuTables = () => [...iommu.domains.values()].flatMap((t) => t.tables);

  /** A bus address to aim at, and the machine frames it could touch whichever way it is translated. */
  const aim = (dev: string): { bus: number; kind: string } => {
    const o = owner.get(dev);
    switch (rng.below(8)) {
      case 0: {
        if (!o) return { bus: rng.below(machineFrames) * PAGE_SIZE, kind: 'any' };
        // Its own memory as its kernel would program it: machine address (PV) or guest-physical (HAP).
        const pfn = rng.below(o.kernel.nrUsable);
        return { bus: (o.dom.mode === 'pv' ? o.dom.p2m[pfn]! : pfn) * PAGE_SIZE, kind: 'own' };
      }
      case 1:
        return { bus: web.dom.p2m[rng.below(web.kernel.nrUsable)]! * PAGE_SIZE, kind: 'victim' };
      case 2:
        return { bus: pick(ownFrames(dom0)) * PAGE_SIZE, kind: 'dom0' };
      case 3:
        return { bus: pick(iommuTables()) * PAGE_SIZE, kind: 'iommu-table' };
      case 4:
        return { bus: pick(grants).mfn * PAGE_SIZE, kind: 'granted' };
      case 5:
        return { bus: 2 ** 48 + rng.below(1 << 20) * PAGE_SIZE, kind: 'beyond-48-bits' };
      default:
        return { bus: rng.below(machineFrames) * PAGE_SIZE, kind: 'any' };
    }
  };

  const counts: Record<string, number> = {};
  let refused = 0;
  let allowed = 0;
  let quarantined = 0;

  const transfer = (write: boolean) => {
    const dev = pick(['disk0', 'disk1']);
    const o = owner.get(dev) ?? null;
    const { bus: base, kind } = aim(dev);
    const off = rng.below(PAGE_SIZE);
    const len = 1 + rng.below(rng.below(4) === 0 ? 2 * PAGE_SIZE : 256);
    const bus = base + off;
    const port = io.devicePort(dev);
    // Candidate frames: what identity would hit, and for a HAP owner what its p2m would.
    const first = Math.floor(bus / PAGE_SIZE);
    const last = Math.floor((bus + len - 1) / PAGE_SIZE);
    const cand = new Set<number>();
    for (let f = first; f <= last; f++) {
      if (f < machineFrames) cand.add(f);
      if (o && o.dom.mode !== 'pv' && f < o.kernel.nrUsable && o.dom.p2m[f]! >= 0) cand.add(o.dom.p2m[f]!);
    }
    const outside = [...cand].filter((m) => !o || (o.dom.mode === 'pv' ? !insidePv(o, m, write) : !insideHap(o, m)));
    const before = snapshot(outside);
    const buf = new Uint8Array(len);
    if (write) for (let i = 0; i < len; i++) buf[i] = rng.below(256);
    const faultsBefore = iommu.hw.counters.faults;
    const ok = write ? port.write(bus, buf) : port.read(bus, buf);
    if (ok) allowed++;
    else refused++;
    // A refused transfer is a remapping fault the unit took (VT-d faults every blocked request).
    if (!ok && iommu.hw.counters.faults === faultsBefore) fail(`${dev}: a ${write ? 'write' : 'read'} at 0x${bus.toString(16)} (${kind}) was refused without a fault`);
    outside.forEach((m, i) => {
      if (!same(before[i]!, m)) fail(`${dev} (${o?.name ?? 'quarantined'}) ${write ? 'wrote' : 'read'} ${len} bytes at 0x${bus.toString(16)} (${kind}): frame ${m}, owned by ${xen.ft.owner(m)}, changed`);
    });
    if (!o) {
      quarantined++;
      if (ok) fail(`quarantined ${dev} ${write ? 'wrote' : 'read'} at 0x${bus.toString(16)} (${kind})`);
      return;
    }
    // A PV owner's device programs machine addresses: every page it touches must be inside its set.
    if (o.dom.mode === 'pv' && ok) {
      for (let f = first; f <= last; f++) if (!insidePv(o, f, write)) fail(`${dev} (${o.name}) ${write ? 'wrote' : 'read'} frame ${f} (${kind}, owner ${xen.ft.owner(f)}) outside its own and granted frames`);
    }
    // A writable device mapping of the granted page: the write lands (the entry Xen added on map).
    if (o === evil && write && last === first && held.some((h) => h.mfn === first && !h.readonly) && !ok) {
      fail(`${dev}: a write to frame ${first}, which evil holds a writable device mapping of, faulted`);
    }
  };

  const ops: { name: string; weight: number; run: () => void }[] = [
    { name: 'dma-write', weight: 6, run: () => transfer(true) },
    { name: 'dma-read', weight: 3, run: () => transfer(false) },
    {
      name: 'grant-map',
      weight: 2,
      run: () => {
        const g = pick(grants);
        const ro = rng.below(2) === 0;
        const who = rng.below(4) === 0 ? evilh : evil;
        const m = who.io!.env.gnttab.mapGrantRef({ dom: web.domid, ref: g.ref, flags: GNTMAP_device_map | (ro ? GNTMAP_readonly : 0) });
        const want = who === evilh ? GNTST_general_error : g.readonly && !ro ? GNTST_general_error : GNTST_okay;
        if (m.status !== want) throw new Check(`${who.name} device-mapping web's ${g.readonly ? 'read-only' : 'writable'} grant ${ro ? 'read-only' : 'writable'}: GNTST ${m.status}, Xen gives ${want}`);
        if (m.status === GNTST_okay) held.push({ handle: m.handle, mfn: g.mfn, readonly: ro, devBusAddr: m.devBusAddr });
      },
    },
    {
      name: 'grant-unmap',
      weight: 2,
      run: () => {
        if (held.length === 0 || rng.below(5) === 0) {
          const rc = evil.io!.env.gnttab.unmapGrantRef({ handle: 1000 + rng.below(1000), devBusAddr: 0 });
          if (rc !== GNTST_bad_handle) throw new Check(`unmap of a handle not in use: GNTST ${rc}, Xen gives ${GNTST_bad_handle}`);
          return;
        }
        const h = held.splice(rng.below(held.length), 1)[0]!;
        const rc = evil.io!.env.gnttab.unmapGrantRef({ handle: h.handle, devBusAddr: h.devBusAddr });
        if (rc !== GNTST_okay) throw new Check(`unmap of held handle ${h.handle}: GNTST ${rc}`);
      },
    },
    {
      name: 'pci-detach',
      weight: 1,
      run: () => {
        const dev = pick(['disk0', 'disk1']);
        const o = owner.get(dev);
        if (!o) return;
        // Half the time with a transfer in flight: the disk reads sector 0 into a victim frame.
        if (rng.below(2) === 0) {
          const driver = o.io!.drivers.get(dev);
          driver?.submit({ op: 'read', sector: 0, segments: [{ busAddr: web.dom.p2m[rng.below(web.kernel.nrUsable)]! * PAGE_SIZE, bytes: PAGE_SIZE }], done: () => {} });
        }
        const r = sim.hotplugAct(o, { do: 'pci-detach', device: dev });
        if (!r.ok) throw new Check(`pci-detach ${dev} from ${o.name} refused: ${r.message}`);
        owner.set(dev, null);
        if (iommu.ownerOf(io.deviceBdf(dev)) !== DOMID_IO) throw new Check(`${dev} detached but its context does not point at dom_io`);
      },
    },
    {
      name: 'pci-attach',
      weight: 1,
      run: () => {
        const dev = pick(['disk0', 'disk1']);
        if (owner.get(dev)) return;
        const to = pick([evil, evilh]);
        const r = sim.hotplugAct(to, { do: 'pci-attach', device: dev });
        if (!r.ok) throw new Check(`pci-attach ${dev} to ${to.name} refused: ${r.message}`);
        owner.set(dev, to);
        if (iommu.ownerOf(io.deviceBdf(dev)) !== to.domid) throw new Check(`${dev} attached to ${to.name} but its context points at ${iommu.ownerOf(io.deviceBdf(dev))}`);
      },
    },
  ];
  const total = ops.reduce((a, o) => a + o.weight, 0);
  const auditor = machineAuditor(xen, sim.domains);
  const checkAudit = (full: boolean) => {
    const a = full ? auditMachine(xen, sim.domains) : auditor.audit();
    if (!a.ok) fail(`audit: ${a.violations.slice(0, 5).join('; ')}`);
  };
  checkAudit(true);
  for (step = 0; step < steps; step++) {
    let r = rng.below(total);
    const op = ops.find((o) => (r -= o.weight) < 0)!;
    opName = op.name;
    counts[op.name] = (counts[op.name] ?? 0) + 1;
    try {
      op.run();
    } catch (e) {
      if (e instanceof Check) fail(e.message);
      throw e;
    }
    sim.step(1);
    checkAudit(false);
  }
  opName = 'end';
  for (const h of held.splice(0)) evil.io!.env.gnttab.unmapGrantRef({ handle: h.handle, devBusAddr: h.devBusAddr });
  while (sim.step(100));
  checkAudit(true);
  const w = sim.results().domains.find((d) => d.name === 'web') as unknown as { io: { requests: number; errors: number; lostWrites: number } };
  return { seed, steps, ops: counts, refused, allowed, quarantined, faults: iommu.hw.counters.faults, web: { requests: w.io.requests, errors: w.io.errors, lostWrites: w.io.lostWrites } };
}

import { describe, expect, it } from 'vitest';
import { validateScenario, type Scenario } from '../../core/api/scenario.js';
import { Simulation } from '../../core/sim/simulation.js';
import { MAXMEM_HEADROOM_PAGES } from '../../core/hv/hypervisor.js';
import { topologyOf } from '../../core/sim/topology.js';

type Io = { requests: number; bytes: number; packetsDropped: number; grantOps: { map: number; unmap: number; copy: number } };

const GUEST_MAC = [0x00, 0x16, 0x3e, 0x0a, 0x0b, 0x0c];
const PEER_MAC = [0x02, 0, 0, 0, 0, 0x01];

function scenario(rx: 'copy' | 'flip', over: { frames?: number; guestMode?: string; timeline?: unknown[] } = {}): Scenario {
  const frames = over.frames ?? 600;
  const v = validateScenario({
    name: 'flip',
    machine: { memoryMiB: 2048, pcpus: 2, devices: [{ id: 'nic0', kind: 'nic' }] },
    hypervisor: 'xen',
    domains: [
      { name: 'netdd', mode: 'pv', memoryMiB: 128, vcpus: 1, pci: ['nic0'] },
      {
        name: 'guest',
        mode: over.guestMode ?? 'pv',
        memoryMiB: 256,
        vcpus: 1,
        vifs: [{ backend: 'netdd', device: 'nic0', mac: '00:16:3e:0a:0b:0c', rx }],
        workload: { kind: 'net-stream', bytes: 1500 * frames, packetBytes: 1500, direction: 'rx' },
      },
    ],
    timeline: over.timeline ?? [],
  });
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return v.scenario;
}

/** The lab's frame k (the link partner's pattern), built byte by byte. */
function expectedFrame(k: number, len: number): number[] {
  const f = [...GUEST_MAC, ...PEER_MAC, 0x88, 0xb5, (k >>> 24) & 0xff, (k >>> 16) & 0xff, (k >>> 8) & 0xff, k & 0xff, 0];
  for (let i = 19; i < len; i++) f.push((k + i) & 0xff);
  return f;
}

function run(sim: Simulation) {
  while (sim.step(1));
  return sim.results();
}

const io = (r: ReturnType<Simulation['results']>, n: string) => (r.domains.find((d) => d.name === n) as unknown as { io: Io }).io;
const dom = (r: ReturnType<Simulation['results']>, n: string) => r.domains.find((d) => d.name === n)!;

describe('page flipping on receive (GNTTABOP_transfer)', () => {
  it('every frame arrives byte for byte in a frame the guest took over, with no copy', () => {
    const sim = new Simulation(scenario('flip'));
    const guest = sim.domains.find((d) => d.name === 'guest')!;
    const guestFramesBefore = sim.xen.totPages(guest.dom);
    const got: number[][] = [];
    const frames: number[] = [];
    const front = guest.io!.vifs[0]!.front;
    front.taps.push((f) => {
      got.push(Array.from(f));
      // The page's frame now, as the guest's p2m says: it must be the guest's own.
      const bufs = (front as unknown as { rxBufs: { pfn: number }[] }).rxBufs;
      for (const b of bufs) {
        const m = guest.dom.p2m[b.pfn]!;
        if (m < 0) continue;
        const v = sim.xen.mem.bytes(m);
        if (v.buffer === f.buffer && v.byteOffset === f.byteOffset) frames.push(sim.xen.ft.owner(m));
      }
    });
    const r = run(sim);
    expect(got).toHaveLength(600);
    for (const k of [0, 1, 299, 599]) expect(got[k]).toEqual(expectedFrame(k, 1500));
    // Each frame was found in a page of the guest's, behind a frame the guest owned when it arrived.
    expect(frames).toHaveLength(600);
    for (const owner of frames) expect(owner).toBe(guest.domid);
    expect(io(r, 'guest').packetsDropped).toBe(0);
    // Nothing was copied: one transfer per frame from the driver domain, no grant copy on receive.
    expect(dom(r, 'netdd').counters.grantTransfers).toBe(600);
    expect(io(r, 'netdd').grantOps.copy).toBe(0);
    expect(dom(r, 'netdd').counters.grantCopyBytes ?? 0).toBe(0);
    // The page-table work that replaces the copy, in both kernels (the counters that show why):
    // the driver domain remaps each page it gave away (update_va_mapping) and takes fresh frames
    // (memory_op); the guest remaps each page it received, and gives frames back when it reposts.
    const ndd = dom(r, 'netdd').hypercalls.byOp;
    const g = dom(r, 'guest').hypercalls.byOp;
    expect(ndd.update_va_mapping).toBe(600);
    expect(ndd.memory_op).toBeGreaterThanOrEqual(Math.ceil(600 / 64));
    expect(g.update_va_mapping).toBeGreaterThanOrEqual(2 * 600); // one remap on receive, one zap on repost
    expect(g.memory_op).toBeGreaterThan(0);
    expect(dom(r, 'guest').counters.tlbFlushes).toBeGreaterThan(0);
    expect(r.audit.ok).toBe(true);
    // Reservation accounting: at the end every one of the 256 rx buffers is posted again, its frame
    // given back to Xen; each frame received replaced one given, so the guest owns 256 frames fewer.
    expect(sim.xen.totPages(guest.dom)).toBe(guestFramesBefore - 256);
    expect(sim.xen.maxPages(guest.dom)).toBe(guest.dom.p2m.length + MAXMEM_HEADROOM_PAGES);
  });

  it('the xenstore keys say which way: request-rx-copy 0 and feature-rx-flip 1; the Topology shows it', () => {
    const sim = new Simulation(scenario('flip', { frames: 10 }));
    run(sim);
    expect(topologyOf(sim).vifs).toEqual([
      expect.objectContaining({ frontend: 'guest', devid: 0, mac: '00:16:3e:0a:0b:0c', backend: 'netdd', device: 'nic0', frontStateName: 'Connected', backStateName: 'Connected', rx: 'flip', txRingSize: 256, dropped: 0 }),
    ]);
    const guest = sim.domains.find((d) => d.name === 'guest')!;
    const netdd = sim.domains.find((d) => d.name === 'netdd')!;
    const xs = sim.io!.xenstored.socketConnection(0);
    expect(xs.read(`/local/domain/${guest.domid}/device/vif/0/request-rx-copy`)).toBe('0');
    expect(xs.read(`/local/domain/${netdd.domid}/backend/vif/${guest.domid}/0/feature-rx-flip`)).toBe('1');
    const copy = new Simulation(scenario('copy', { frames: 10 }));
    run(copy);
    const g2 = copy.domains.find((d) => d.name === 'guest')!;
    expect(copy.io!.xenstored.socketConnection(0).read(`/local/domain/${g2.domid}/device/vif/0/request-rx-copy`)).toBe('1');
  });

  it('flipping costs the guest page-table hypercalls that copying does not', () => {
    const flip = run(new Simulation(scenario('flip')));
    const copy = run(new Simulation(scenario('copy')));
    expect(dom(copy, 'guest').hypercalls.byOp.update_va_mapping ?? 0).toBe(0);
    expect(dom(flip, 'guest').hypercalls.total).toBeGreaterThan(dom(copy, 'guest').hypercalls.total);
    // Each received frame in copy mode is a grant copy of its bytes, made by the driver domain.
    expect(dom(copy, 'netdd').counters.grantCopyBytes).toBe(1500 * 600);
  });

  it('a driver domain killed mid-stream: frames lost are counted, the guest reconnects and flips again', () => {
    const sim = new Simulation(scenario('flip', { frames: 3000, timeline: [{ atMs: 5, do: 'destroy', domain: 'netdd' }, { atMs: 8, do: 'create', domain: 'netdd' }] }));
    const guest = sim.domains.find((d) => d.name === 'guest')!;
    let n = 0;
    guest.io!.vifs[0]!.front.taps.push(() => n++);
    const r = run(sim);
    const g = io(r, 'guest') as Io & { reconnects: number };
    expect(g.reconnects).toBe(1);
    expect(n + g.packetsDropped).toBeGreaterThanOrEqual(3000 - 256); // what the peer sent either arrived or was counted
    expect(dom(r, 'netdd').counters.grantTransfers).toBeGreaterThan(0);
    expect(r.audit.ok).toBe(true);
  });

  it('a non-PV guest cannot flip: refused at the field', () => {
    const v = validateScenario({
      name: 'x',
      machine: { memoryMiB: 2048, pcpus: 1, devices: [{ id: 'nic0', kind: 'nic' }] },
      hypervisor: 'xen',
      domains: [{ name: 'g', mode: 'hap', memoryMiB: 256, vcpus: 1, vifs: [{ device: 'nic0', rx: 'flip' }], workload: { kind: 'net-stream', direction: 'rx' } }],
    });
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.problems.find((p) => p.path === 'domains[0].vifs[0].rx')?.message).toMatch(/PV guest/);
  });
});

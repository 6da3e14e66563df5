import { describe, expect, it } from 'vitest';
import { validateScenario, type Scenario } from '../../core/api/scenario.js';
import { runScenario } from '../../core/sim/run.js';
import { Simulation } from '../../core/sim/simulation.js';

type Io = { requests: number; bytes: number; throughputMBps: number; packetsDropped: number; reconnects: number; reconnectMs: number[]; served: number; grantOps: { map: number; unmap: number; copy: number }; latencyUs: { p50: number; p99: number; max: number } };

const GUEST_MAC = [0x00, 0x16, 0x3e, 0x0a, 0x0b, 0x0c];
const PEER_MAC = [0x02, 0, 0, 0, 0, 0x01];

function scenario(over: { workload?: unknown; timeline?: unknown[]; pcpus?: number } = {}): Scenario {
  const v = validateScenario({
    name: 'net',
    machine: { memoryMiB: 2048, pcpus: over.pcpus ?? 2, devices: [{ id: 'nic0', kind: 'nic' }] },
    hypervisor: 'xen',
    domains: [
      { name: 'netdd', mode: 'pv', memoryMiB: 128, vcpus: 1, pci: ['nic0'] },
      {
        name: 'guest',
        mode: 'pv',
        memoryMiB: 256,
        vcpus: 1,
        vifs: [{ backend: 'netdd', device: 'nic0', mac: '00:16:3e:0a:0b:0c' }],
        workload: over.workload ?? { kind: 'net-stream', bytes: 1500 * 1000, packetBytes: 1500, direction: 'rx' },
      },
    ],
    timeline: over.timeline ?? [],
  });
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return v.scenario;
}

const ioOf = (r: ReturnType<typeof runScenario>, name: string) => (r.domains.find((d) => d.name === name) as unknown as { io: Io }).io;

/** The lab's frame k as the brief documents it, built here byte by byte. */
function expectedFrame(dst: number[], src: number[], k: number, len: number): number[] {
  const f = [...dst, ...src, 0x88, 0xb5, (k >>> 24) & 0xff, (k >>> 16) & 0xff, (k >>> 8) & 0xff, k & 0xff, 0];
  for (let i = 19; i < len; i++) f.push((k + i) & 0xff);
  return f;
}

function run(sim: Simulation) {
  while (sim.step(1));
  return sim.results();
}

describe('split network drivers: receive', () => {
  it('every frame the link partner sent lands byte for byte in a page of the guest', () => {
    const sim = new Simulation(scenario());
    const guest = sim.domains.find((d) => d.name === 'guest')!;
    const got: number[][] = [];
    guest.io!.vifs[0]!.front.taps.push((f) => got.push(Array.from(f)));
    const r = run(sim);
    expect(got).toHaveLength(1000);
    for (const k of [0, 1, 500, 999]) expect(got[k]).toEqual(expectedFrame(GUEST_MAC, PEER_MAC, k, 1500));
    const io = ioOf(r, 'guest');
    expect(io.requests).toBe(1000);
    expect(io.bytes).toBe(1500 * 1000);
    expect(io.packetsDropped).toBe(0);
    // The wire's rate bounds it: a 1500-byte frame takes (1500 + 4 FCS + 8 preamble + 12 gap) × 8 =
    // 12192 bits, 12.192 µs at 1000 Mb/s, so 1000 frames span at least 999 × 12.192 µs:
    // 1.5 MB / 12.18 ms = 123.15 MB/s at most. With a pCPU each, the path keeps up: above 95% of
    // the wire's 1500 B / 12.192 µs = 123.03 MB/s.
    expect(io.throughputMBps).toBeLessThanOrEqual(1.5e6 / (999 * 12.192e-6) / 1e6);
    expect(io.throughputMBps).toBeGreaterThan(0.95 * 123.03);
    // One grant copy per frame, made by the driver domain; the guest only grants.
    expect(ioOf(r, 'netdd').grantOps.copy).toBe(1000);
    expect(ioOf(r, 'netdd').served).toBe(1000);
    expect(r.domains.find((d) => d.name === 'guest')!.hypercalls.byOp.grant_table_op ?? 0).toBe(0);
    expect(r.audit.ok).toBe(true);
  });
});

describe('split network drivers: transmit', () => {
  it('the link partner receives, byte for byte, every frame the guest sent; the copy is the driver domain’s', () => {
    const sim = new Simulation(scenario({ workload: { kind: 'net-stream', bytes: 1000 * 600, packetBytes: 1000, direction: 'tx' } }));
    const peer = sim.io!.peers.get('nic0')!;
    const got: number[][] = [];
    peer.listen(Uint8Array.from(GUEST_MAC), (f) => got.push(Array.from(f)));
    const r = run(sim);
    expect(got).toHaveLength(600);
    for (const k of [0, 299, 599]) expect(got[k]).toEqual(expectedFrame(PEER_MAC, GUEST_MAC, k, 1000));
    expect(ioOf(r, 'guest').requests).toBe(600);
    expect(ioOf(r, 'guest').packetsDropped).toBe(0);
    expect(ioOf(r, 'netdd').grantOps.copy).toBe(600);
    const dom0 = r.domains.find((d) => d.role === 'dom0')!;
    expect(dom0.hypercalls.byOp.grant_table_op ?? 0).toBe(0);
    // The NIC puts frames on the wire no faster than the link: 1000-byte frames, 8192 bits each at 1000 Mb/s.
    // (1000 + 24) × 8 = 8192 bits each: 600 frames span at least 599 × 8.192 µs for 0.6 MB.
    expect(ioOf(r, 'guest').throughputMBps).toBeLessThanOrEqual(0.6e6 / (599 * 8.192e-6) / 1e6);
  });
});

describe('net-rr', () => {
  it('each transaction waits for its response; a round trip costs at least both frames’ wire time', () => {
    const sim = new Simulation(scenario({ workload: { kind: 'net-rr', transactions: 200, requestBytes: 64, responseBytes: 128 } }));
    const r = run(sim);
    const io = ioOf(r, 'guest');
    expect(io.requests).toBe(200);
    expect(io.bytes).toBe(200 * (64 + 128));
    expect(sim.io!.peers.get('nic0')!.responses).toBe(200);
    // Wire bits: (64 + 4 + 8 + 12) × 8 = 704 and (128 + 4 + 8 + 12) × 8 = 1216, at 1000 Mb/s: 1.92 µs.
    expect(io.latencyUs.p50).toBeGreaterThan(1.92);
  });
});

describe('a driver domain owning the NIC destroyed and re-created mid-stream', () => {
  const timeline = [
    { atMs: 4, do: 'destroy', domain: 'netdd' },
    { atMs: 9, do: 'create', domain: 'netdd' },
  ];

  it('rx: the guest reconnects; every frame the partner sent was received or counted dropped', () => {
    const sim = new Simulation(scenario({ workload: { kind: 'net-stream', bytes: 1500 * 2000 }, timeline }));
    const r = run(sim);
    const io = ioOf(r, 'guest');
    const sent = sim.io!.peers.get('nic0')!.partner.sent;
    expect(sent).toBe(2000);
    expect(io.reconnects).toBe(1);
    expect(io.packetsDropped).toBeGreaterThan(0);
    expect(io.packetsDropped).toBe(sent - io.requests);
    // Dead from 4 ms to 9 ms, then the new domain's handshake.
    expect(io.reconnectMs[0]).toBeGreaterThanOrEqual(5);
    expect(io.reconnectMs[0]).toBeLessThan(6);
    expect((r as unknown as { timeline: { do: string; ok: boolean }[] }).timeline.map((t) => [t.do, t.ok])).toEqual([['destroy', true], ['create', true]]);
    expect(r.audit.ok).toBe(true);
  });

  it('tx: every frame the guest sent reached the wire or is counted dropped', () => {
    const sim = new Simulation(scenario({ workload: { kind: 'net-stream', bytes: 1500 * 2000, direction: 'tx' }, timeline }));
    const r = run(sim);
    const io = ioOf(r, 'guest');
    const onWire = sim.io!.nics.get('nic0')!.stats.txFrames;
    expect(io.reconnects).toBe(1);
    expect(io.packetsDropped).toBeGreaterThan(0);
    expect(onWire + io.packetsDropped).toBe(2000);
    expect(sim.io!.peers.get('nic0')!.receivedFrom(Uint8Array.from(GUEST_MAC))).toBe(onWire);
  });

  it('net-rr: a request lost with the driver domain is sent again after the reconnection; every transaction completes', () => {
    const sim = new Simulation(scenario({ workload: { kind: 'net-rr', transactions: 400 }, timeline: [{ atMs: 1, do: 'destroy', domain: 'netdd' }, { atMs: 4, do: 'create', domain: 'netdd' }] }));
    const r = run(sim);
    const io = ioOf(r, 'guest');
    expect(io.requests).toBe(400);
    expect(io.reconnects).toBe(1);
    // The transaction that spanned the outage waited at least the 3 ms the driver domain was gone.
    expect(io.latencyUs.max).toBeGreaterThanOrEqual(3000);
  });

  it('a guest destroyed and created again gets a fresh vif: its old netback left the bridge', () => {
    const v = validateScenario({
      name: 'again',
      machine: { memoryMiB: 2048, pcpus: 2, devices: [{ id: 'nic0', kind: 'nic' }] },
      hypervisor: 'xen',
      domains: [{ name: 'g', mode: 'pv', memoryMiB: 256, vcpus: 1, vifs: [{ device: 'nic0' }], workload: { kind: 'net-rr', transactions: 300 } }],
      timeline: [{ atMs: 1, do: 'destroy', domain: 'g' }, { atMs: 2, do: 'create', domain: 'g' }],
    });
    if (!v.ok) throw new Error(JSON.stringify(v.problems));
    const sim = new Simulation(v.scenario);
    const r = run(sim);
    // The new guest's responses reach it (same MAC), not the dead guest's disconnected netback.
    expect(ioOf(r, 'g').requests).toBe(300);
    expect(sim.domains.find((d) => d.privileged)!.io!.netbacks).toHaveLength(1);
  });

  it('a backend that never comes back: the guest stalls and the lab says so', () => {
    const r = runScenario(scenario({ workload: { kind: 'net-stream', bytes: 1500 * 2000 }, timeline: [{ atMs: 4, do: 'destroy', domain: 'netdd' }] }));
    const tl = (r as unknown as { timeline: { do: string; domain: string }[] }).timeline;
    expect(tl[tl.length - 1]).toMatchObject({ do: 'stall', domain: 'guest' });
    const io = ioOf(r, 'guest');
    expect(io.requests).toBeLessThan(2000);
    expect(io.requests + io.packetsDropped).toBe(2000);
  });
});

describe('bare metal: the native baseline of the split network path', () => {
  const native = (workload: unknown) => {
    const v = validateScenario({
      name: 'native',
      machine: { memoryMiB: 1024, pcpus: 1, devices: [{ id: 'nic0', kind: 'nic' }] },
      hypervisor: 'none',
      domains: [{ name: 'linux', mode: 'native', memoryMiB: 512, vcpus: 1, pci: ['nic0'], workload }],
    });
    if (!v.ok) throw new Error(JSON.stringify(v.problems));
    return v.scenario;
  };

  it('the kernel drives the NIC itself: frames arrive byte for byte, with no grant copy or event channel', () => {
    const sim = new Simulation(native({ kind: 'net-stream', bytes: 1500 * 500 }));
    const vm = sim.domains[0]!;
    const vif = vm.io!.vifs[0]!;
    const got: number[][] = [];
    vif.front.taps.push((f) => got.push(Array.from(f)));
    const r = run(sim);
    expect(got).toHaveLength(500);
    expect(got[499]).toEqual(expectedFrame(Array.from(vif.mac), PEER_MAC, 499, 1500));
    const io = ioOf(r, 'linux');
    expect(io.requests).toBe(500);
    expect(io.grantOps.copy).toBe(0);
    expect(r.domains[0]!.hypercalls.total).toBe(0);
  });

  it('receiving through a driver domain costs more CPU per frame than natively, summed over both domains', () => {
    const nat = runScenario(native({ kind: 'net-stream', bytes: 1500 * 500 }));
    const split = runScenario(scenario({ workload: { kind: 'net-stream', bytes: 1500 * 500 } }));
    const per = (r: ReturnType<typeof runScenario>, names: string[]) => r.domains.filter((d) => names.includes(d.name)).reduce((a, d) => a + d.cycles.total, 0) / 500;
    expect(per(split, ['guest', 'netdd'])).toBeGreaterThan(per(nat, ['linux']));
  });
});

describe('dom0 receiving on its own bridge', () => {
  it('dom0 owns the NIC and receives itself: no grant copy; a guest behind it costs more CPU per frame, summed over both', () => {
    const dom0 = (workload: unknown, guest = false) => {
      const v = validateScenario({
        name: 'dom0',
        machine: { memoryMiB: 2048, pcpus: 1, devices: [{ id: 'nic0', kind: 'nic' }] },
        hypervisor: 'xen',
        domains: [
          { name: 'Domain-0', role: 'dom0', mode: 'pv', memoryMiB: 512, vcpus: 1, ...(guest ? {} : { workload }) },
          ...(guest ? [{ name: 'guest', mode: 'pv', memoryMiB: 256, vcpus: 1, vifs: [{ device: 'nic0' }], workload }] : []),
        ],
      });
      if (!v.ok) throw new Error(JSON.stringify(v.problems));
      return runScenario(v.scenario);
    };
    const w = { kind: 'net-stream', bytes: 1500 * 500 };
    const alone = dom0(w);
    const io = ioOf(alone, 'Domain-0');
    expect(io.requests).toBe(500);
    expect(io.grantOps.copy).toBe(0);
    const behind = dom0(w, true);
    expect(ioOf(behind, 'guest').requests).toBe(500);
    const cyc = (r: ReturnType<typeof runScenario>) => r.domains.reduce((a, d) => a + d.cycles.total, 0) / 500;
    expect(cyc(behind)).toBeGreaterThan(cyc(alone));
  });
});

describe('network scenarios: bad input refused at the field', () => {
  const base = () => ({
    name: 'x',
    machine: { memoryMiB: 2048, pcpus: 1, devices: [{ id: 'nic0', kind: 'nic' }, { id: 'disk0', kind: 'disk' }] as Record<string, unknown>[] },
    hypervisor: 'xen',
    domains: [
      { name: 'dd', mode: 'pv', memoryMiB: 128, vcpus: 1, pci: ['nic0'] as string[] },
      { name: 'g', mode: 'pv', memoryMiB: 128, vcpus: 1, vifs: [{ backend: 'dd', device: 'nic0' }] as Record<string, unknown>[], workload: { kind: 'net-stream' } as Record<string, unknown> },
    ] as Record<string, unknown>[],
  });
  const problems = (s: unknown) => {
    const v = validateScenario(s);
    return v.ok ? [] : v.problems;
  };
  const vif = (s: ReturnType<typeof base>) => (s.domains[1]!.vifs as Record<string, unknown>[])[0]!;

  it('accepts the base scenario', () => {
    expect(problems(base())).toEqual([]);
  });
  it('a vif on a device that does not exist, or is not a NIC', () => {
    const s = base();
    vif(s).device = 'nic9';
    expect(problems(s)).toEqual([expect.objectContaining({ path: 'domains[1].vifs[0].device', message: expect.stringContaining('no nic device "nic9"') })]);
    vif(s).device = 'disk0';
    expect(problems(s)).toEqual([expect.objectContaining({ path: 'domains[1].vifs[0].device', message: expect.stringContaining('nics: nic0') })]);
  });
  it('a backend that does not exist, does not own the NIC, or is not PV', () => {
    const s = base();
    vif(s).backend = 'nobody';
    expect(problems(s)).toEqual([expect.objectContaining({ path: 'domains[1].vifs[0].backend', message: expect.stringContaining('no domain named "nobody"') })]);
    vif(s).backend = 'dd';
    s.domains[0]!.pci = [];
    expect(problems(s)).toEqual([expect.objectContaining({ path: 'domains[1].vifs[0].backend', message: expect.stringContaining('does not own device "nic0"') })]);
    s.domains[0]!.pci = ['nic0'];
    s.domains[0]!.mode = 'hap';
    expect(problems(s)).toEqual([expect.objectContaining({ path: 'domains[1].vifs[0].backend', message: expect.stringContaining('mode "pv"') })]);
  });
  it('a multicast or malformed MAC, and one used twice', () => {
    const s = base();
    vif(s).mac = '01:16:3e:00:00:01';
    expect(problems(s).map((p) => p.path)).toEqual(['domains[1].vifs[0].mac']);
    s.domains[1]!.vifs = [{ backend: 'dd', device: 'nic0', mac: '00:16:3e:00:00:01' }, { backend: 'dd', device: 'nic0', mac: '00:16:3E:00:00:01' }];
    expect(problems(s)).toEqual([expect.objectContaining({ path: 'domains[1].vifs[1].mac', message: expect.stringContaining('already') })]);
  });
  it('net workloads without a vif', () => {
    const s = base();
    s.domains[1]!.vifs = [];
    expect(problems(s)).toEqual([expect.objectContaining({ path: 'domains[1].workload', message: expect.stringContaining('needs a vif') })]);
    s.domains[1]!.workload = { kind: 'net-rr' };
    expect(problems(s)).toEqual([expect.objectContaining({ path: 'domains[1].workload', message: expect.stringContaining('net-rr workload needs a vif') })]);
  });
  it('device fields of the other kind, a frame size outside Ethernet’s, a direction that is not rx or tx', () => {
    const s = base();
    s.machine.devices = [{ id: 'nic0', kind: 'nic', sizeMiB: 64 }, { id: 'disk0', kind: 'disk', linkMbps: 100 }];
    expect(problems(s).map((p) => p.path).sort()).toEqual(['machine.devices[0].sizeMiB', 'machine.devices[1].linkMbps']);
    const t = base();
    t.domains[1]!.workload = { kind: 'net-stream', packetBytes: 9000, direction: 'up' };
    expect(problems(t).map((p) => p.path).sort()).toEqual(['domains[1].workload.direction', 'domains[1].workload.packetBytes']);
  });
  it('vifs on bare metal are refused (it has no split drivers); a native net workload needs a NIC it owns', () => {
    const s = base();
    s.hypervisor = 'none';
    s.domains = [{ name: 'linux', mode: 'native', memoryMiB: 256, vcpus: 1, vifs: [{ device: 'nic0' }], workload: { kind: 'net-stream' } }];
    expect(problems(s)).toEqual([expect.objectContaining({ path: 'domains[0].vifs', message: expect.stringContaining('bare metal has no split drivers') })]);
    s.domains = [{ name: 'linux', mode: 'native', memoryMiB: 256, vcpus: 1, workload: { kind: 'net-rr' } }];
    expect(problems(s)).toEqual([expect.objectContaining({ path: 'domains[0].workload', message: expect.stringContaining('list a nic device in this domain\'s pci') })]);
  });
  it('a virtual disk on a NIC is refused', () => {
    const s = base();
    s.domains[0]!.pci = ['nic0', 'disk0'];
    s.domains[1]!.disks = [{ backend: 'dd', device: 'nic0' }];
    expect(problems(s)).toEqual([expect.objectContaining({ path: 'domains[1].disks[0].device', message: expect.stringContaining('no disk device "nic0"') })]);
  });
});

describe('net-stream rx with TCP-like ACKs', () => {
  it('the receiver answers every second segment with a 60-byte ACK through its vif; the partner receives them', () => {
    const sim = new Simulation(scenario({ workload: { kind: 'net-stream', bytes: 1500 * 600, packetBytes: 1500, direction: 'rx', ackEvery: 2 } }));
    const peer = sim.io!.peers.get('nic0')!;
    const acks: number[] = [];
    peer.listen(Uint8Array.from(GUEST_MAC), (f) => acks.push(f.length));
    const r = run(sim);
    expect(ioOf(r, 'guest').requests).toBe(600);
    // One per two segments, unless an ACK found its buffers busy (then the next one covers it).
    expect(acks.length).toBeLessThanOrEqual(300);
    expect(acks.length).toBeGreaterThan(0.9 * 300);
    expect(new Set(acks)).toEqual(new Set([60]));
    // Each ACK is a transmit through netback: one more grant copy in the driver domain.
    expect(ioOf(r, 'netdd').grantOps.copy).toBe(600 + acks.length);
    expect(r.audit.ok).toBe(true);
  });
});

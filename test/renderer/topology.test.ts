// The Topology view's layout and counts, and the I/O results reader
// (issue 12), on hand-built snapshots whose expected values are worked out here.
import { describe, expect, it } from 'vitest';
import type { Results } from '../../core/api/index.js';
import type { TopologySnapshot } from '../../core/api/topology.js';
import { BOX_H, BOX_W, layoutTopology, pairCounts, rememberOwners, ringArc, ROW_BACK_Y, ROW_GUEST_Y, stableOrder, ioPresets, XENBUS_CONNECTED } from '../../renderer/src/lib/topology.js';
import { ioRows, timelineOf } from '../../renderer/src/lib/ioResults.js';

/** C3's shape: dom0 (0), blkdd (1) owning disk0 and serving web (2) and db (3). */
function c3(over: Partial<TopologySnapshot> = {}): TopologySnapshot {
  const dom = (domid: number, name: string, mode: string, role: 'dom0' | 'guest', backend = false) => ({ domid, name, mode, role, state: 'running' as const, backend, cpuMs: 1 });
  const vbd = (frontend: string, frontendDomid: number) => ({
    frontend,
    frontendDomid,
    vdev: 'xvda',
    backend: 'blkdd',
    backendDomid: 1,
    device: 'disk0',
    frontState: 4,
    frontStateName: 'Connected',
    backState: 4,
    backStateName: 'Connected',
    ringInFlight: 8,
    ringSize: 32,
    queued: 0,
    reconnects: 0,
  });
  const ic = (domid: number, port: number, remoteDomid: number, remotePort: number) => ({ domid, port, kind: 'interdomain', remoteDomid, remotePort, pending: false, masked: false });
  return {
    atMs: 5,
    domains: [dom(0, 'Domain-0', 'pv', 'dom0'), dom(1, 'blkdd', 'pv', 'guest', true), dom(2, 'web', 'pv', 'guest'), dom(3, 'db', 'hap', 'guest')],
    devices: [{ id: 'disk0', kind: 'disk', bdf: '0000:03:00.0', owner: 'blkdd', outstanding: 3, stats: {} }],
    vbds: [vbd('web', 2), vbd('db', 3)],
    vifs: [],
    // web↔blkdd and db↔blkdd: one ring channel each, seen from both ends; blkdd's pirq for the disk.
    evtchns: [ic(1, 5, 2, 3), ic(2, 3, 1, 5), ic(1, 6, 3, 3), ic(3, 3, 1, 6), { domid: 1, port: 4, kind: 'pirq', pirq: 48, pending: false, masked: false }],
    grants: [
      { granter: 2, mapper: 1, mappings: 9, readonly: 4 },
      { granter: 3, mapper: 1, mappings: 2, readonly: 0 },
    ],
    timeline: [],
    ...over,
  };
}

describe('topology layout', () => {
  it('puts guests on top, dom0 and the driver domain below, each vbd ring between its frontend and backend', () => {
    const l = layoutTopology(c3());
    const y = Object.fromEntries(l.domains.map((d) => [d.name, d.y]));
    expect(y).toEqual({ 'Domain-0': ROW_BACK_Y, blkdd: ROW_BACK_Y, web: ROW_GUEST_Y, db: ROW_GUEST_Y });
    expect(l.domains.find((d) => d.name === 'blkdd')!.roleLabel).toBe('driver domain');
    expect(l.domains.find((d) => d.name === 'Domain-0')!.roleLabel).toBe('dom0 · toolstack');
    for (const v of l.vbds) {
      // The ring hangs below its frontend's box and above its backend's.
      expect(v.from.y).toBe(ROW_GUEST_Y + BOX_H);
      expect(v.to!.y).toBe(ROW_BACK_Y);
      expect(v.cy).toBeGreaterThan(v.from.y);
      expect(v.cy).toBeLessThan(v.to!.y);
      expect(v.connected).toBe(true);
    }
    // blkdd's ports: two interdomain ring channels and the disk's pirq.
    expect(l.domains.find((d) => d.name === 'blkdd')!.ports).toEqual({ interdomain: 2, pirq: 1, virq: 0, other: 0 });
    // disk0 sits under its owner and points at it.
    const blkdd = l.domains.find((d) => d.name === 'blkdd')!;
    expect(l.devices[0]!.ownerAt).toEqual({ x: blkdd.x + 176 / 2, y: ROW_BACK_Y + BOX_H });
  });

  it('counts each bound channel once and grants by direction', () => {
    const byPair = Object.fromEntries(pairCounts(c3()).map((p) => [`${p.a}|${p.b}`, p]));
    // Names sort 'blkdd' < 'db' < 'web': blkdd is `a` in both pairs, and the guests granted to it.
    expect(byPair['blkdd|web']).toMatchObject({ evtchns: 1, grantsAtoB: 0, grantsBtoA: 9, readonly: 4 });
    expect(byPair['blkdd|db']).toMatchObject({ evtchns: 1, grantsAtoB: 0, grantsBtoA: 2, readonly: 0 });
    expect(Object.keys(byPair).sort()).toEqual(['blkdd|db', 'blkdd|web']);
  });

  it('draws a destroyed driver domain in its place, its disk ownerless and the vbds not connected', () => {
    const live = c3();
    const order = stableOrder([], live);
    const owners = rememberOwners(new Map(), live);
    const before = layoutTopology(live, order, owners);
    const dead = c3({
      // The destroyed domain is listed last (core/sim/topology.ts), with domid -1; its ends of the channels are gone.
      domains: [...live.domains.filter((d) => d.name !== 'blkdd'), { domid: -1, name: 'blkdd', mode: 'pv', role: 'guest', state: 'destroyed', backend: true, cpuMs: 0 }],
      devices: [{ ...live.devices[0]!, owner: null }],
      vbds: live.vbds.map((v) => ({ ...v, backendDomid: null, frontState: 6, frontStateName: 'Closed', backState: 0, backStateName: 'Unknown' })),
      evtchns: [],
      grants: [],
    });
    const after = layoutTopology(dead, stableOrder(order, dead), rememberOwners(owners, dead));
    const pos = (l: typeof before, n: string) => l.domains.find((d) => d.name === n)!;
    // Same place, same order.
    expect(after.domains.map((d) => d.name)).toEqual(before.domains.map((d) => d.name));
    expect([pos(after, 'blkdd').x, pos(after, 'blkdd').y]).toEqual([pos(before, 'blkdd').x, pos(before, 'blkdd').y]);
    expect(pos(after, 'blkdd').state).toBe('destroyed');
    expect(after.devices[0]!.x).toBe(before.devices[0]!.x);
    expect(after.devices[0]!.ownerAt).toBeNull();
    expect(after.vbds.every((v) => !v.connected)).toBe(true);
    expect(after.edges).toEqual([]);
    expect(XENBUS_CONNECTED).toBe(4);
  });

  it('draws a vif as a ring of its tx ring beside the frontend’s vbds, towards its netback', () => {
    const snap = c3({
      vifs: [{ frontend: 'web', frontendDomid: 2, devid: 0, mac: '00:16:3e:0a:0b:0c', backend: 'Domain-0', backendDomid: 0, device: 'nic0', frontState: 4, frontStateName: 'Connected', backState: 4, backStateName: 'Connected', txInFlight: 64, txRingSize: 256, rx: 'flip', dropped: 3, reconnects: 0 }],
    });
    const l = layoutTopology(snap);
    const rings = l.vbds.filter((v) => v.frontend === 'web');
    expect(rings.map((v) => [v.kind, v.vdev])).toEqual([['vbd', 'xvda'], ['vif', 'vif0']]);
    const vif = rings[1]!;
    // Beside web's vbd (one column step to the right), pointing at dom0, its fill 64 of 256.
    expect(vif.cx - rings[0]!.cx).toBe(60);
    const dom0 = l.domains.find((d) => d.name === 'Domain-0')!;
    expect(vif.to).toEqual({ x: dom0.x + BOX_W / 2, y: ROW_BACK_Y });
    expect([vif.ringInFlight, vif.ringSize, vif.queued]).toEqual([64, 256, 3]);
    expect(vif.connected).toBe(true);
  });

  it('draws the ring’s fill as a pie of n/size', () => {
    expect(ringArc(0, 0, 10, 0, 32)).toBe('');
    // A quarter: from 12 o'clock to 3 o'clock, the small arc.
    expect(ringArc(0, 0, 10, 8, 32)).toBe('M 0 0 L 0 -10 A 10 10 0 0 1 10.00 0.00 Z');
    // Three quarters: to 9 o'clock, the large arc.
    expect(ringArc(0, 0, 10, 24, 32)).toBe('M 0 0 L 0 -10 A 10 10 0 1 1 -10.00 0.00 Z');
    expect(ringArc(0, 0, 10, 32, 32)).toMatch(/^M 0 -10 A 10 10 0 1 1 /);
  });

  it('names the presets with I/O for the empty state', () => {
    expect(ioPresets().map((p) => p.id)).toEqual(expect.arrayContaining(['c1-dom0-backend', 'c3-driver-domain', 'c4-kill-driver-domain']));
    expect(ioPresets().map((p) => p.id)).not.toContain('walk-4k');
  });
});

describe('I/O results', () => {
  const base = { name: 'g', mode: 'pv' } as unknown as Results['domains'][number];
  const io = {
    requests: 4000,
    bytes: 4000 * 4096,
    throughputMBps: 300,
    latencyUs: { p50: 40, p99: 90, max: 120 },
    acknowledgedWrites: 3500,
    lostWrites: 0,
    volatileWrites: 0,
    errors: 0,
    flushes: 500,
    packetsDropped: 0,
    reconnects: 1,
    reconnectMs: [10.5],
    reissued: 30,
    grantOps: { map: 0, unmap: 0, copy: 0 },
    evtchnSends: 4500,
    served: 0,
  };
  it('reads the per-domain io objects and the timeline when present, nothing otherwise', () => {
    const r = { domains: [{ ...base, io }, { ...base, name: 'Domain-0' }], timeline: [{ atMs: 20, firedAtMs: 20.01, do: 'destroy', domain: 'blkdd', ok: true, message: 'destroyed' }, { bogus: 1 }] } as unknown as Results;
    expect(ioRows(r)).toEqual([{ name: 'g', mode: 'pv', io }]);
    expect(timelineOf(r).map((t) => `${t.do} ${t.domain}`)).toEqual(['destroy blkdd']);
    const old = { domains: [{ ...base, io: { requests: 'x' } }] } as unknown as Results;
    expect(ioRows(old)).toEqual([]);
    expect(timelineOf(old)).toEqual([]);
  });
});

/**
 * The Topology view's drawing, as data: where each domain, device and split-driver ring goes, and
 * the event-channel and grant edges between domains, from one TopologySnapshot (core/api/topology.ts).
 * Pure functions, so the layout is tested without a DOM.
 *
 * The picture is layered as the split-driver model is: guests (the frontends) on top, the domains
 * that serve them (dom0, driver domains) in the middle, the PCI bus with its devices at the bottom.
 * A vbd's ring sits on the line from its frontend down to its backend.
 */
import type { TopologyDevice, TopologyDomain, TopologySnapshot, TopologyVbd } from '../../../core/api/topology.js';
import { PRESETS, type Preset } from '../../../core/api/presets.js';

export const BOX_W = 176;
export const BOX_H = 72;
export const GAP_X = 56;
export const MARGIN = 16;
/** Rows: guests, the ring lane between, backends, the bus. */
export const ROW_GUEST_Y = 16;
/** Below the guests: a lane for the edges' counts, then the rings. */
export const RING_Y = ROW_GUEST_Y + BOX_H + 76;
export const ROW_BACK_Y = RING_Y + 62;
export const BUS_Y = ROW_BACK_Y + BOX_H + 44;
export const DEV_W = 170;
export const DEV_H = 48;
/** Room under the devices for one line (a device's blocked-DMA count). */
export const HEIGHT = BUS_Y + DEV_H + 30;

export interface PlacedDomain extends TopologyDomain {
  x: number;
  y: number;
  /** What it does, in a word or two: 'dom0', 'driver domain', 'guest'. */
  roleLabel: string;
  /** Its event channels by kind, for the box's last line. */
  ports: { interdomain: number; pirq: number; virq: number; other: number };
}

export interface PlacedVbd extends TopologyVbd {
  /** A virtual disk (blkif ring) or a virtual NIC (its netif tx ring; `vdev` is "vif<devid>"). */
  kind: 'vbd' | 'vif';
  /** The ring's centre; the frontend's bottom and the backend's top (null: the backend is not drawn). */
  cx: number;
  cy: number;
  from: { x: number; y: number };
  to: { x: number; y: number } | null;
  /** The frontend is connected to its backend (io/xenbus.h XenbusStateConnected = 4, both ends). */
  connected: boolean;
}

export interface PlacedDevice extends TopologyDevice {
  x: number;
  y: number;
  /** Where its owner's box is, for the ownership edge and shading (null: no owner). */
  ownerAt: { x: number; y: number } | null;
}

/** Event channels and grant mappings between two domains (by name), counted. */
export interface PairEdge {
  a: string;
  b: string;
  /** Interdomain channels bound between them (each counted once, not once per end). */
  evtchns: number;
  /** Grant mappings: pages a granted and b mapped, and the reverse. */
  grantsAtoB: number;
  grantsBtoA: number;
  readonly: number;
  path: string;
  /** Where the counts go: beside the curve near its upper end. */
  label: { x: number; y: number; anchor: 'start' | 'end' | 'middle' };
}

export interface TopologyLayout {
  width: number;
  height: number;
  domains: PlacedDomain[];
  vbds: PlacedVbd[];
  devices: PlacedDevice[];
  edges: PairEdge[];
  bus: { x1: number; x2: number; y: number };
}

/** io/xenbus.h: XenbusStateConnected. */
export const XENBUS_CONNECTED = 4;

/** The ring's segments in use as an SVG arc path (a pie of `n` of `size` around cx, cy, radius r). */
export function ringArc(cx: number, cy: number, r: number, n: number, size: number): string {
  if (n <= 0 || size <= 0) return '';
  const f = Math.min(1, n / size);
  if (f >= 1) return `M ${cx} ${cy - r} A ${r} ${r} 0 1 1 ${cx - 0.001} ${cy - r} Z`;
  const a = f * 2 * Math.PI;
  const x = cx + r * Math.sin(a);
  const y = cy - r * Math.cos(a);
  const n2 = (v: number) => (Math.abs(v) < 0.005 ? 0 : v).toFixed(2);
  return `M ${cx} ${cy} L ${cx} ${cy - r} A ${r} ${r} 0 ${f > 0.5 ? 1 : 0} 1 ${n2(x)} ${n2(y)} Z`;
}

/**
 * A stable order of domain names: those of `prev` first in their order, new ones after (so a
 * domain destroyed and created again keeps its place in the drawing).
 */
export function stableOrder(prev: readonly string[], snap: TopologySnapshot): string[] {
  const out = prev.filter((n) => snap.domains.some((d) => d.name === n));
  for (const d of snap.domains) if (!out.includes(d.name)) out.push(d.name);
  return out;
}

/** Devices keep the column of the domain that last owned them while they have no owner. */
export function rememberOwners(prev: ReadonlyMap<string, string>, snap: TopologySnapshot): Map<string, string> {
  const m = new Map(prev);
  for (const d of snap.devices) if (d.owner !== null) m.set(d.id, d.owner);
  return m;
}

/** The interdomain channels and grant mappings between each pair of domains. */
export function pairCounts(snap: TopologySnapshot): Omit<PairEdge, 'path' | 'label'>[] {
  const nameOf = new Map<number, string>();
  for (const d of snap.domains) if (d.state !== 'destroyed') nameOf.set(d.domid, d.name);
  const pairs = new Map<string, Omit<PairEdge, 'path' | 'label'>>();
  const pair = (x: string, y: string) => {
    const [a, b] = x < y ? [x, y] : [y, x];
    const k = `${a}\u0000${b}`;
    let p = pairs.get(k);
    if (!p) pairs.set(k, (p = { a, b, evtchns: 0, grantsAtoB: 0, grantsBtoA: 0, readonly: 0 }));
    return p;
  };
  for (const e of snap.evtchns) {
    if (e.kind !== 'interdomain' || e.remoteDomid === undefined) continue;
    const me = nameOf.get(e.domid);
    const other = nameOf.get(e.remoteDomid);
    if (me === undefined || other === undefined || me === other) continue;
    // Each bound channel has two ends, one in each domain: count it at the end with the lower domid.
    if (e.domid > e.remoteDomid) continue;
    pair(me, other).evtchns++;
  }
  for (const g of snap.grants) {
    const granter = nameOf.get(g.granter);
    const mapper = nameOf.get(g.mapper);
    if (granter === undefined || mapper === undefined) continue;
    const p = pair(granter, mapper);
    if (granter === p.a) p.grantsAtoB += g.mappings;
    else p.grantsBtoA += g.mappings;
    p.readonly += g.readonly;
  }
  return [...pairs.values()];
}

/** The presets that run I/O (their machine has devices): the empty state names them. */
export function ioPresets(): Preset[] {
  return PRESETS.filter((p) => {
    const s = p.scenario as { machine?: { devices?: unknown[] }; domains?: { disks?: unknown[] }[] };
    return (s.machine?.devices?.length ?? 0) > 0 || (s.domains ?? []).some((d) => (d.disks?.length ?? 0) > 0);
  });
}

function roleLabel(d: TopologyDomain, ownsDevice: boolean): string {
  if (d.role === 'dom0') return d.backend ? 'dom0 · backend' : 'dom0 · toolstack';
  if (d.backend) return 'driver domain';
  // A domain with a device of its own and no frontend to serve (bare metal's kernel, a passthrough guest).
  return ownsDevice ? 'drives its own device' : 'guest';
}

/** Places everything of `snap`; `order` (stableOrder) and `owners` (rememberOwners) keep it steady over time. */
export function layoutTopology(snap: TopologySnapshot, order: readonly string[] = [], owners: ReadonlyMap<string, string> = new Map()): TopologyLayout {
  const names = stableOrder(order, snap);
  const byName = new Map(snap.domains.map((d) => [d.name, d]));
  const sorted = names.map((n) => byName.get(n)!).filter(Boolean);
  // Middle row: dom0 and the domains that serve devices (or own a PCI device); top row: the rest.
  const ownsDevice = new Set<string>([...snap.devices.map((d) => d.owner ?? ''), ...owners.values()]);
  const back = sorted.filter((d) => d.role === 'dom0' || d.backend || ownsDevice.has(d.name));
  const front = sorted.filter((d) => !back.includes(d));
  const cols = Math.max(1, back.length, front.length);
  const width = MARGIN * 2 + cols * BOX_W + (cols - 1) * GAP_X;
  const rowX = (n: number, i: number) => {
    // A shorter row is centred under the longer one.
    const rowW = n * BOX_W + (n - 1) * GAP_X;
    return (width - rowW) / 2 + i * (BOX_W + GAP_X);
  };
  const ports = (d: TopologyDomain) => {
    const p = { interdomain: 0, pirq: 0, virq: 0, other: 0 };
    if (d.state === 'destroyed') return p;
    for (const e of snap.evtchns) {
      if (e.domid !== d.domid) continue;
      if (e.kind === 'interdomain' || e.kind === 'pirq' || e.kind === 'virq') p[e.kind]++;
      else p.other++;
    }
    return p;
  };
  const placed = new Map<string, PlacedDomain>();
  back.forEach((d, i) => placed.set(d.name, { ...d, x: rowX(back.length, i), y: ROW_BACK_Y, roleLabel: roleLabel(d, ownsDevice.has(d.name)), ports: ports(d) }));
  front.forEach((d, i) => placed.set(d.name, { ...d, x: rowX(front.length, i), y: ROW_GUEST_Y, roleLabel: roleLabel(d, false), ports: ports(d) }));
  const domains = sorted.map((d) => placed.get(d.name)!);

  // Rings: under their frontend, towards the backend; two vbds of one frontend side by side.
  const perFront = new Map<string, number>();
  // A vif is drawn as a ring too: its tx ring's fill (the rx ring is kept full of posted buffers).
  const rings: (TopologyVbd & { kind: 'vbd' | 'vif' })[] = [
    ...snap.vbds.map((v) => ({ ...v, kind: 'vbd' as const })),
    ...snap.vifs.map((v) => ({
      kind: 'vif' as const,
      frontend: v.frontend,
      frontendDomid: v.frontendDomid,
      vdev: `vif${v.devid}`,
      backend: v.backend,
      backendDomid: v.backendDomid,
      device: v.device,
      frontState: v.frontState,
      frontStateName: v.frontStateName,
      backState: v.backState,
      backStateName: v.backStateName,
      ringInFlight: v.txInFlight,
      ringSize: v.txRingSize,
      queued: v.dropped,
      reconnects: v.reconnects,
    })),
  ];
  const vbds: PlacedVbd[] = rings.map((v) => {
    const f = placed.get(v.frontend);
    const b = placed.get(v.backend);
    const k = perFront.get(v.frontend) ?? 0;
    perFront.set(v.frontend, k + 1);
    const fx = f ? f.x + BOX_W / 2 : MARGIN + BOX_W / 2;
    const bx = b ? b.x + BOX_W / 2 : fx;
    // Directly under the frontend (columns are a box and a gap apart, room for the ring's labels).
    const cx = fx + k * 60;
    return {
      ...v,
      cx,
      cy: RING_Y,
      from: { x: fx, y: (f?.y ?? ROW_GUEST_Y) + BOX_H },
      to: b ? { x: bx, y: b.y } : null,
      connected: v.frontState === XENBUS_CONNECTED && v.backState === XENBUS_CONNECTED,
    };
  });

  // Devices on the bus, under the domain that owns them (or last did).
  const usedX: number[] = [];
  const devices: PlacedDevice[] = snap.devices.map((d, i) => {
    const ownerName = d.owner ?? owners.get(d.id) ?? null;
    const o = ownerName !== null ? placed.get(ownerName) : undefined;
    let x = o ? o.x + (BOX_W - DEV_W) / 2 : MARGIN + i * (DEV_W + GAP_X);
    while (usedX.some((u) => Math.abs(u - x) < DEV_W + 8)) x += DEV_W + 16;
    usedX.push(x);
    const owner = d.owner !== null ? placed.get(d.owner) : undefined;
    return { ...d, x, y: BUS_Y, ownerAt: owner && owner.state !== 'destroyed' ? { x: owner.x + BOX_W / 2, y: owner.y + BOX_H } : null };
  });
  const right = Math.max(width, ...devices.map((d) => d.x + DEV_W + MARGIN));

  // Edges: a curve between the two boxes' facing sides (left of the ring line); between two boxes
  // of one row, an arch over them. A domain's edges leave it side by side.
  const edges: PairEdge[] = [];
  const used = new Map<string, number>();
  const labels = new Map<string, number>();
  const slot = (name: string) => {
    const k = used.get(name) ?? 0;
    used.set(name, k + 1);
    return 18 + 26 * k;
  };
  for (const p of pairCounts(snap)) {
    const a = placed.get(p.a);
    const b = placed.get(p.b);
    if (!a || !b) continue;
    const [top, bottom] = a.y <= b.y ? [a, b] : [b, a];
    const x1 = top.x + slot(top.name);
    const x2 = bottom.x + slot(bottom.name);
    let y1: number, y2: number, mx: number, my: number;
    const arch = top.y === bottom.y;
    if (arch) {
      y1 = y2 = top.y;
      mx = (x1 + x2) / 2;
      my = top.y - 48;
    } else {
      y1 = top.y + BOX_H;
      y2 = bottom.y;
      mx = (x1 + x2) / 2 - 40;
      my = (y1 + y2) / 2;
    }
    // The label sits at the curve's middle (a quadratic's point at t = 1/2).
    // The counts go in a lane of their own, from where the curve leaves its upper box: below the
    // guests (between rows) or just above the backends (an arch within their row); one line per
    // edge of that box.
    const k = labels.get(top.name) ?? 0;
    labels.set(top.name, k + 1);
    const ly = arch ? top.y - 8 - 13 * k : top.y + BOX_H + 16 + 13 * k;
    edges.push({ ...p, path: `M ${x1} ${y1} Q ${mx} ${my} ${x2} ${y2}`, label: { x: x1 + 6, y: ly, anchor: 'start' } });
  }
  return { width: right, height: HEIGHT, domains, vbds, devices, edges, bus: { x1: MARGIN, x2: right - MARGIN, y: BUS_Y - 14 } };
}

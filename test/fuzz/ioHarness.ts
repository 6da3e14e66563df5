/**
 * Adversarial I/O fuzzing (issue 12 item 10): a machine where a driver domain (blkdd) owns the
 * NVMe disk and serves the virtual disks of two victims running disk-io (web: PV, db: HAP) and of
 * a hostile PV guest (evil). Between simulation steps evil does random hostile operations against
 * grant tables, event channels, xenstore and its own blkif ring; each operation's outcome is
 * asserted where Xen's is deterministic (GNTST_*, -errno, xenstore errno, BLKIF_RSP_*), the
 * machine audit (grant tables included) runs after every step, and at the end the victims' I/O
 * must be whole: every request answered, no error response, no acknowledged write lost.
 *
 * Expected outcomes come from Xen's code, not from the lab's:
 *  - xen/common/grant_table.c map_grant_ref: no GNTMAP_host_map / GNTMAP_device_map →
 *    GNTST_bad_gntref ("Bad flags"); unknown domain → GNTST_bad_domain; ref ≥ nr_grant_entries →
 *    GNTST_bad_gntref; pinned by another domain → GNTST_general_error ("Bad domain"); not
 *    GTF_permit_access for the caller, or a write pin of a GTF_readonly entry → GNTST_general_error
 *    (_set_status_v1).
 *  - unmap_common: a maptrack handle not in use → GNTST_bad_handle; a dev_bus_addr that is not the
 *    frame's → GNTST_bad_dev_addr.
 *  - gnttab_copy_one: a frame named for another domain without GNTCOPY_*_gref →
 *    GNTST_permission_denied; a frame not owned → GNTST_bad_page (get_paged_frame); a write to a
 *    read-only grant → GNTST_general_error; beyond the page → GNTST_bad_copy_arg.
 *  - gnttab_transfer: a frame the caller does not own, or one steal_page refuses (still mapped or
 *    typed) → GNTST_bad_page, checked before the target domain; nothing changes hands.
 *  - xen/common/event_channel.c: a port outside the domain's space, free or reserved, or of a kind
 *    that cannot be sent on → -EINVAL (evtchn_send, evtchn_close); an unbound port drops the send
 *    (returns 0); bind_interdomain to a port not ECS_UNBOUND for the caller → -EINVAL; an unknown
 *    domain → -ESRCH; alloc_unbound and status on another domain without privilege → -EPERM
 *    (xsm_evtchn_unbound / xsm_evtchn_status, XSM_TARGET in the dummy policy).
 *  - tools/xenstored: a node the caller may not read or write → EACCES (also for a missing node
 *    whose nearest ancestor it may not access, errno_from_parents); watches are allowed on any path
 *    but an event reaches a watcher only if it may read the node (watch_permitted), the first
 *    event (the watched path itself, "fire once up front") aside.
 *  - Linux xen-blkback dispatch_rw_block_io / xen_blkbk_map: a request with no or too many
 *    segments, a sector range outside a page or the disk, or a grant it cannot map (out of range,
 *    not granted, read-only for a read, a frame the granter does not own) is answered
 *    BLKIF_RSP_ERROR and nothing reaches the disk; an operation it has no dispatcher for is
 *    answered BLKIF_RSP_EOPNOTSUPP (dispatch_other_io).
 *
 * Rerun a failure with HYPERLAB_IO_FUZZ_SEED=<seed> (ioFuzz.test.ts) or
 * `npm run fuzz -- --mode io --seed <seed> --steps <n>`.
 */
import {
  DOMID_SELF,
  ECS_FREE,
  ECS_INTERDOMAIN,
  ECS_RESERVED,
  ECS_UNBOUND,
  EVTCHN_2L_NR_CHANNELS,
} from '../../core/api/public/event_channel.js';
import {
  GNTCOPY_dest_gref,
  GNTCOPY_source_gref,
  GNTMAP_device_map,
  GNTMAP_host_map,
  GNTMAP_readonly,
  GNTST_bad_copy_arg,
  GNTST_bad_dev_addr,
  GNTST_bad_domain,
  GNTST_bad_gntref,
  GNTST_bad_handle,
  GNTST_bad_page,
  GNTST_general_error,
  GNTST_okay,
  GNTST_permission_denied,
  GRANT_ENTRIES_PER_FRAME,
  GTF_permit_access,
  GTF_readonly,
  GTF_reading,
  GTF_writing,
  PAGE_SIZE,
} from '../../core/api/public/grant_table.js';
import {
  BLKIF_MAX_SEGMENTS_PER_REQUEST,
  BLKIF_OP_READ,
  BLKIF_OP_WRITE,
  BLKIF_RSP_EOPNOTSUPP,
  BLKIF_RSP_ERROR,
  BLKIF_SLOT_BYTES,
  SECTORS_PER_PAGE,
  readBlkifResponse,
  writeBlkifRequest,
} from '../../core/api/public/io/blkif.js';
import { ringSlots, SRING_HEADER_BYTES } from '../../core/api/public/io/ring.js';
import { validateScenario, type Scenario } from '../../core/api/scenario.js';
import { EINVAL, EPERM, ESRCH } from '../../core/base/errno.js';
import { Rng } from '../../core/base/rng.js';
import { XsError, type XsClient } from '../../core/guest/xenstore/client.js';
import { xsPerms } from '../../core/guest/xenstore/tree.js';
import { Simulation } from '../../core/sim/simulation.js';
import { auditMachine, machineAuditor } from '../../core/vm/audit.js';
import type { Vm } from '../../core/vm/vm.js';

/** The machine: blkdd owns three disks and serves web's, db's and evil's xvda on one each. */
export function ioFuzzScenario(victimOps: number): Scenario {
  const v = validateScenario({
    name: 'fuzz-io',
    // One disk each: two guests on one whole disk would overwrite each other's blocks.
    machine: { memoryMiB: 512, pcpus: 1, devices: ['disk0', 'disk1', 'disk2'].map((id) => ({ id, kind: 'disk', sizeMiB: 32 })) },
    hypervisor: 'xen',
    domains: [
      { name: 'Domain-0', role: 'dom0', mode: 'pv', memoryMiB: 64, vcpus: 1 },
      { name: 'blkdd', mode: 'pv', memoryMiB: 64, vcpus: 1, pci: ['disk0', 'disk1', 'disk2'] },
      { name: 'web', mode: 'pv', memoryMiB: 64, vcpus: 1, disks: [{ backend: 'blkdd', device: 'disk0', vdev: 'xvda' }], workload: { kind: 'disk-io', ops: victimOps, writeFraction: 0.5, flushEvery: 8, queueDepth: 2 } },
      { name: 'db', mode: 'hap', memoryMiB: 64, vcpus: 1, disks: [{ backend: 'blkdd', device: 'disk1', vdev: 'xvda' }], workload: { kind: 'disk-io', ops: victimOps, flushEvery: 4, queueDepth: 2 } },
      { name: 'evil', mode: 'pv', memoryMiB: 64, vcpus: 1, disks: [{ backend: 'blkdd', device: 'disk2', vdev: 'xvda' }] },
    ],
    timeline: [],
  });
  if (!v.ok) throw new Error('io fuzz scenario invalid: ' + JSON.stringify(v.problems));
  return v.scenario;
}

export interface IoFuzzOptions {
  seed: number;
  /** Hostile operations, each followed by a simulation step and the audit. */
  steps: number;
  /** disk-io ops per victim (default: as many as steps); the run goes on until they finish. */
  victimOps?: number;
  /** Audit after every step (default); false audits only at the end (for quick local runs). */
  auditEveryStep?: boolean;
}

export interface IoFuzzReport {
  seed: number;
  steps: number;
  /** How often each operation ran. */
  ops: Record<string, number>;
  /** Bad blkif requests put on evil's ring, and how many blkback answered (all BLKIF_RSP_ERROR). */
  injected: number;
  answered: number;
  /** Watch events evil received (none for a node it may not read). */
  watchEvents: number;
  /** Connections of evil's ring that blkdd mapped (more than 1: it reconnected after garbage). */
  connections: number;
  /** The step after which both victims' workloads had ended (-1: after the hostile steps). */
  victimsDoneAt: number;
  victims: { name: string; requests: number; responses: number; errors: number; lostWrites: number; acknowledgedWrites: number; ops: number; planned: number }[];
}

/** A failure names the seed, the step and the operation, so the run can be repeated exactly. */
export class IoFuzzFailure extends Error {
  constructor(
    readonly seed: number,
    readonly step: number,
    readonly op: string,
    detail: string,
  ) {
    super(`io fuzz failed (seed ${seed}, step ${step}, op ${op}): ${detail}`);
    this.name = 'IoFuzzFailure';
  }
}

class Check extends Error {}

function expectEq(what: string, got: unknown, want: unknown): void {
  if (got !== want) throw new Check(`${what}: got ${String(got)}, Xen gives ${String(want)}`);
}

const u32 = (x: number) => x >>> 0;

interface Held {
  handle: number;
  flags: number;
  mfn: number;
}

interface Injected {
  id: number;
  kind: string;
  want: number;
}

type Op = { name: string; weight: number; run: () => void };

export interface IoMachine {
  sim: Simulation;
  xen: Simulation['xen'];
  io: NonNullable<Simulation['io']>;
  dom0: Vm;
  dd: Vm;
  web: Vm;
  db: Vm;
  evil: Vm;
}

/** Boots the machine and runs it until every virtual disk is connected. */
export function bootIoMachine(victimOps: number): IoMachine {
  const sim = new Simulation(ioFuzzScenario(victimOps));
  // Short slices: the victims pause every op, so hostile steps land all through their run.
  sim.setGrain(1);
  const byName = (n: string): Vm => sim.domains.find((d) => d.name === n)!;
  const m: IoMachine = { sim, xen: sim.xen, io: sim.io!, dom0: sim.domains.find((d) => d.privileged)!, dd: byName('blkdd'), web: byName('web'), db: byName('db'), evil: byName('evil') };
  const connected = () => [m.web, m.db, m.evil].every((v) => v.io!.disks[0]!.front.connected);
  // The handshakes run as posted kernel work.
  for (let i = 0; i < 200 && !connected(); i++) sim.step(1);
  if (!connected()) throw new Error('the virtual disks did not connect');
  return m;
}

/**
 * Runs the campaign; returns what it did, or throws an IoFuzzFailure naming the seed and step.
 */
export function runIoFuzz(opts: IoFuzzOptions): IoFuzzReport {
  const { seed, steps } = opts;
  // About 1.2 simulation steps per disk-io op: as many ops as hostile steps keeps the victims busy
  // until the last hostile step.
  const victimOps = opts.victimOps ?? Math.max(100, steps);
  const rng = new Rng(seed);
  let step = 0;
  let opName = 'setup';
  const fail = (detail: string): never => {
    throw new IoFuzzFailure(seed, step, opName, detail);
  };
  let m: IoMachine;
  try {
    m = bootIoMachine(victimOps);
  } catch (e) {
    return fail(String(e));
  }
  const { sim, xen, io, dom0, dd, web, db, evil } = m;
  const victims = [web, db];
  const E = evil.domid;
  const B = dd.domid;
  const pick = <T>(xs: readonly T[]): T => xs[rng.below(xs.length)]!;

  // Nodes evil must not touch: the victims' homes, frontends and their backend directories.
  const dom0Xs = io.xenstored.socketConnection(0);
  const victimNodes: string[] = [];
  const collect = (p: string) => {
    victimNodes.push(p);
    for (const c of dom0Xs.directory(p)) collect(`${p}/${c}`);
  };
  for (const v of victims) {
    collect(`/local/domain/${v.domid}`);
    collect(`/local/domain/${B}/backend/vbd/${v.domid}`);
  }
  // A leak is an event for a node evil may read neither itself nor through its parent
  // (watch_permitted): below a victim's home (the home's parent, /local/domain, is readable), or
  // blkdd's directory for a victim's disk.
  const isVictimPath = (p: string) =>
    victims.some((v) => p.startsWith(`/local/domain/${v.domid}/`) || p === `/local/domain/${B}/backend/vbd/${v.domid}` || p.startsWith(`/local/domain/${B}/backend/vbd/${v.domid}/`));
  const evilFront = evil.io!.disks[0]!.front.dir;
  const evilRingRef = dom0Xs.read(`${evilFront}/ring-ref`);
  const evilPort = dom0Xs.read(`${evilFront}/event-channel`);

  // web shares one page read-only with evil (as a frontend shares with its backend): the one grant
  // evil may legitimately map, and only read-only.
  const webPfn = web.kernel.allocPage();
  const webPage = xen.mem.bytes(web.dom.p2m[webPfn]!);
  for (let i = 0; i < PAGE_SIZE; i += 4) webPage.setUint32(i, (0x9e3779b1 * (i + 1)) >>> 0, true);
  const webShared = web.io!.env.grants.grantForeignAccess(E, web.io!.env.grantFrame(webPfn), true);
  const webSharedBytes = new Uint8Array(webPage.buffer, webPage.byteOffset, PAGE_SIZE).slice();

  // evil's own pages: a scratch page for copies, and two pages granted to blkdd (one read-only) for
  // blkif requests that are wrong only in their other fields.
  const evilPage = (fill: number) => {
    const pfn = evil.kernel.allocPage();
    const mfn = evil.dom.p2m[pfn]!;
    const v = xen.mem.bytes(mfn);
    for (let i = 0; i < PAGE_SIZE; i += 4) v.setUint32(i, (fill ^ Math.imul(i, 0x01000193)) >>> 0, true);
    return { pfn, mfn, v };
  };
  const scratch = evilPage(0x5c5c5c5c);
  const rw = evilPage(0xa5a5a5a5);
  const ro = evilPage(0x3c3c3c3c);
  const evilGrants = evil.io!.env.grants;
  const rwRef = evilGrants.grantForeignAccess(B, rw.mfn, false);
  const roRef = evilGrants.grantForeignAccess(B, ro.mfn, true);
  // A forged grant: evil grants blkdd a frame it does not own (web's shared page), writable.
  const forgedRef = evilGrants.grantForeignAccess(B, web.dom.p2m[webPfn]!, false);
  const rwBytes = new Uint8Array(rw.v.buffer, rw.v.byteOffset, PAGE_SIZE).slice();
  const roBytes = new Uint8Array(ro.v.buffer, ro.v.byteOffset, PAGE_SIZE).slice();

  // evil's xenstore connection for its hostile requests (its kernel's own keeps serving its disk).
  const evilXs: XsClient = io.xenstored.socketConnection(E);
  const watches = new Map<string, { path: string; first: boolean }>();
  let watchEvents = 0;
  let nextToken = 0;
  evilXs.onWatch = (path, token) => {
    watchEvents++;
    const w = watches.get(token);
    if (w && !w.first && path === w.path) {
      w.first = true; // "fire once up front": the path evil gave, nothing read from the store
      return;
    }
    if (isVictimPath(path)) fail(`watch ${token} leaked an event for ${path}, which evil may not read`);
  };

  const held: Held[] = [];
  const ownPorts = new Set<number>();
  const counts: Record<string, number> = {};
  let injected = 0;
  let answered = 0;
  let victimsDoneAt = -1;
  let connections = 0;

  const nrEntries = (domid: number) => xen.gnttab.tableFrames(domid).length * GRANT_ENTRIES_PER_FRAME;
  const flagsOf = (domid: number, ref: number) => (ref < nrEntries(domid) ? xen.mem.readLo(xen.gnttab.tableFrames(domid)[(ref / GRANT_ENTRIES_PER_FRAME) | 0]!, ref % GRANT_ENTRIES_PER_FRAME) & 0xffff : 0);
  const victimRefsToB = (v: Vm) => xen.gnttab.mappings().filter((m) => m.granter === v.domid && m.mapper === B).map((m) => m.ref);
  const victimPortNumbers = () => [...victims, dd, dom0].flatMap((v) => xen.evtchn.ports(v.domid).map((s) => s.port));
  const portState = (domid: number, port: number) => xen.evtchn.ports(domid).find((s) => s.port === port)?.state ?? (port === 0 ? ECS_RESERVED : ECS_FREE);
  const snapshotPorts = () => JSON.stringify([...victims, dd, dom0].map((v) => xen.evtchn.ports(v.domid)));
  const xsErr = (f: () => unknown): string => {
    try {
      f();
      return 'OK';
    } catch (e) {
      if (e instanceof XsError) return e.errno;
      throw e;
    }
  };

  // --- grant tables ---------------------------------------------------------------------------

  const randomFlags = () => rng.below(8); // any mix of device_map, host_map, readonly
  const mapVictimRef: Op = {
    name: 'map a victim grant not granted to evil',
    weight: 4,
    run: () => {
      const v = pick(victims);
      const n = nrEntries(v.domid);
      const refs = victimRefsToB(v);
      const r = rng.below(10);
      const ref = r < 5 && refs.length ? pick(refs) : r < 8 ? rng.below(n) : n + rng.below(2 ** 31);
      if (v === web && ref === webShared) return;
      const flags = randomFlags();
      const before = flagsOf(v.domid, ref);
      const m = xen.gnttab.mapGrantRef(E, { dom: v.domid, ref, flags });
      const want = !(flags & (GNTMAP_host_map | GNTMAP_device_map)) || ref >= n ? GNTST_bad_gntref : GNTST_general_error;
      expectEq(`map d${v.domid} ref ${ref} flags ${flags}`, m.status, want);
      expectEq(`d${v.domid} ref ${ref} flags after a refused map`, flagsOf(v.domid, ref), before);
    },
  };
  const mapBadDomain: Op = {
    name: 'map from a domain that does not exist',
    weight: 1,
    run: () => {
      const dom = pick([DOMID_SELF, 0x7ff1, 0x7fff, 200 + rng.below(1000)]);
      const m = xen.gnttab.mapGrantRef(E, { dom, ref: rng.below(64), flags: GNTMAP_host_map });
      expectEq(`map from d${dom}`, m.status, GNTST_bad_domain);
    },
  };
  const mapShared: Op = {
    name: "map web's read-only grant",
    weight: 3,
    run: () => {
      const device = rng.below(2) === 0;
      const base = device ? GNTMAP_device_map : GNTMAP_host_map;
      if (rng.below(2) === 0 || held.length >= 6) {
        const m = xen.gnttab.mapGrantRef(E, { dom: web.domid, ref: webShared, flags: base });
        expectEq('writable map of a read-only grant', m.status, GNTST_general_error);
        return;
      }
      const m = xen.gnttab.mapGrantRef(E, { dom: web.domid, ref: webShared, flags: base | GNTMAP_readonly });
      expectEq('read-only map of a read-only grant', m.status, GNTST_okay);
      expectEq('the mapped frame', m.mfn, web.dom.p2m[webPfn]);
      held.push({ handle: m.handle, flags: base | GNTMAP_readonly, mfn: m.mfn });
    },
  };
  const unmap: Op = {
    name: 'unmap',
    weight: 3,
    run: () => {
      const r = rng.below(10);
      if (r < 5 && held.length) {
        const i = rng.below(held.length);
        const h = held[i]!;
        const dev = h.flags & GNTMAP_device_map;
        if (dev && rng.below(4) === 0) {
          const bad = (h.mfn + 1 + rng.below(1000)) * PAGE_SIZE;
          expectEq('unmap with a wrong dev_bus_addr', xen.gnttab.unmapGrantRef(E, { handle: h.handle, devBusAddr: bad }), GNTST_bad_dev_addr);
          return;
        }
        expectEq(`unmap of held handle ${h.handle}`, xen.gnttab.unmapGrantRef(E, { handle: h.handle, ...(dev ? { devBusAddr: h.mfn * PAGE_SIZE } : {}) }), GNTST_okay);
        held.splice(i, 1);
        return;
      }
      // A handle evil does not hold: blkdd's (they are blkdd's maptrack's), or any number.
      const theirs = xen.gnttab.mappings().filter((m) => m.mapper === B).map((m) => m.handle);
      const handle = r < 8 && theirs.length ? pick(theirs) : pick([rng.below(64), rng.below(2 ** 32), 2 ** 32 + 5, -1, 0.5]);
      if (held.some((h) => h.handle === handle)) return;
      expectEq(`unmap of handle ${handle} evil does not hold`, xen.gnttab.unmapGrantRef(E, { handle, devBusAddr: rng.below(2 ** 20) * PAGE_SIZE }), GNTST_bad_handle);
    },
  };
  const endWhileMapped: Op = {
    name: 'the victim ends a grant evil has mapped',
    weight: 1,
    run: () => {
      if (held.length === 0) {
        expectEq('GTF_reading/GTF_writing of an unmapped grant', flagsOf(web.domid, webShared) & (GTF_reading | GTF_writing), 0);
        return;
      }
      // gnttab_end_foreign_access_ref_v1 refuses while Xen holds the entry pinned (GTF_reading).
      expectEq('ending a mapped grant', web.io!.env.grants.endForeignAccess(webShared), false);
      expectEq('the mapped grant still permits access, read-only, pinned', flagsOf(web.domid, webShared), GTF_permit_access | GTF_readonly | GTF_reading);
    },
  };
  const copy: Op = {
    name: 'grant copy',
    weight: 3,
    run: () => {
      const self = (frame: number, offset = 0) => ({ domid: DOMID_SELF, ref: frame, offset });
      const gref = (domid: number, ref: number, offset = 0) => ({ domid, ref, offset });
      const len = 1 + rng.below(PAGE_SIZE);
      const k = rng.below(7);
      const v = pick(victims);
      const refs = victimRefsToB(v);
      let op;
      let want: number;
      let what: string;
      switch (k) {
        case 0:
          what = "copy into web's read-only grant";
          op = { source: self(scratch.mfn), dest: gref(web.domid, webShared), len, flags: GNTCOPY_dest_gref };
          want = GNTST_general_error;
          break;
        case 1:
          what = "copy out of web's read-only grant";
          op = { source: gref(web.domid, webShared), dest: self(scratch.mfn), len, flags: GNTCOPY_source_gref };
          want = GNTST_okay;
          break;
        case 2:
          if (!refs.length) return;
          what = `copy out of d${v.domid}'s grant to blkdd`;
          op = { source: gref(v.domid, pick(refs)), dest: self(scratch.mfn), len, flags: GNTCOPY_source_gref };
          want = GNTST_general_error;
          break;
        case 3:
          what = "copy from a victim's frame named as evil's own";
          op = { source: self(v.dom.p2m[rng.below(16)]!), dest: self(scratch.mfn), len, flags: 0 };
          want = GNTST_bad_page;
          break;
        case 4:
          what = "copy from a victim's frame without a grant";
          op = { source: { domid: v.domid, ref: v.dom.p2m[rng.below(16)]!, offset: 0 }, dest: self(scratch.mfn), len, flags: 0 };
          want = GNTST_permission_denied;
          break;
        case 5: {
          what = 'copy beyond the page';
          const off = PAGE_SIZE - rng.below(len);
          op = { source: gref(web.domid, webShared, off), dest: self(scratch.mfn), len, flags: GNTCOPY_source_gref };
          want = off + len > PAGE_SIZE ? GNTST_bad_copy_arg : GNTST_okay;
          break;
        }
        default:
          what = 'copy into a domain that does not exist';
          op = { source: self(scratch.mfn), dest: gref(300 + rng.below(1000), 8), len, flags: GNTCOPY_dest_gref };
          want = GNTST_bad_domain;
      }
      const [rc] = xen.gnttab.copy(E, [op]);
      expectEq(what, rc, want);
      const now = new Uint8Array(webPage.buffer, webPage.byteOffset, PAGE_SIZE);
      for (let i = 0; i < PAGE_SIZE; i++) if (now[i] !== webSharedBytes[i]) fail(`${what}: web's read-only page changed at byte ${i}`);
      if (k === 1 && rc === GNTST_okay) {
        const s = new Uint8Array(scratch.v.buffer, scratch.v.byteOffset, PAGE_SIZE);
        for (let i = 0; i < len; i++) if (s[i] !== webSharedBytes[i]) fail(`${what}: byte ${i} not copied`);
      }
    },
  };

  const transfer: Op = {
    name: 'transfer a frame evil may not give away',
    weight: 1,
    run: () => {
      // A victim's frame, a Xen frame (its grant table), or evil's own scratch page (still in its
      // direct map, so steal_page refuses it); to a victim, to nobody, to a random ref.
      const k = rng.below(3);
      const v = pick(victims);
      const mfn = k === 0 ? v.dom.p2m[rng.below(v.dom.p2m.length)]! : k === 1 ? xen.gnttab.tableFrames(E)[0]! : scratch.mfn;
      const to = pick([web.domid, db.domid, B, 300 + rng.below(1000)]);
      const owner = xen.ft.owner(mfn);
      const [rc] = xen.gnttab.transfer(E, [{ mfn, domid: to, ref: rng.below(64) }]);
      expectEq(`transfer of mfn ${mfn} (${k === 0 ? `d${v.domid}'s` : k === 1 ? "Xen's" : 'evil’s mapped'}) to d${to}`, rc, GNTST_bad_page);
      expectEq(`owner of mfn ${mfn} after a refused transfer`, xen.ft.owner(mfn), owner);
    },
  };

  const scribble: Op = {
    name: 'evil scribbles over its own grant entries',
    weight: 2,
    run: () => {
      // A guest's grant table is its own memory: it may write any entry, mapped or not. The
      // entries its disk's data requests rely on (rwRef, roRef, forgedRef) are left alone.
      const ringRef = Number(dom0Xs.read(`${evilFront}/ring-ref`));
      const n = nrEntries(E);
      let ref: number;
      do ref = rng.below(8) === 0 && Number.isInteger(ringRef) && ringRef < n ? ringRef : 8 + rng.below(n - 8);
      while (ref === rwRef || ref === roRef || ref === forgedRef);
      const frames = xen.gnttab.tableFrames(E);
      const [mfn, slot] = [frames[(ref / GRANT_ENTRIES_PER_FRAME) | 0]!, ref % GRANT_ENTRIES_PER_FRAME];
      const flags = pick([0, GTF_permit_access, GTF_permit_access | GTF_readonly, GTF_permit_access | GTF_reading, GTF_reading | GTF_writing, rng.below(0x10000)]);
      const domid = pick([B, E, web.domid, db.domid, rng.below(0x10000)]);
      const frame = pick([scratch.mfn, web.dom.p2m[rng.below(16)]!, rng.below(2 ** 32)]);
      const mapsBefore = JSON.stringify(xen.gnttab.mappings());
      xen.mem.write(mfn, slot, ((domid << 16) | flags) >>> 0, frame >>> 0);
      if (JSON.stringify(xen.gnttab.mappings()) !== mapsBefore) fail('a guest write to its own grant table changed a mapping');
    },
  };

  // --- event channels -------------------------------------------------------------------------

  const send: Op = {
    name: 'send on a port evil does not own, or an unbound one',
    weight: 3,
    run: () => {
      const r = rng.below(8);
      const port =
        r === 0 ? pick([-1, EVTCHN_2L_NR_CHANNELS, EVTCHN_2L_NR_CHANNELS + rng.below(1e6), 1.5])
        : r === 1 && ownPorts.size ? pick([...ownPorts]) // unbound: Xen drops the send
        : r < 4 ? rng.below(EVTCHN_2L_NR_CHANNELS)
        : pick(victimPortNumbers());
      const valid = Number.isInteger(port) && port >= 0 && port < EVTCHN_2L_NR_CHANNELS;
      const state = valid ? portState(E, port) : -1;
      // Sending on its own interdomain port is legitimate (its xenstore and disk channels); skip.
      if (state === ECS_INTERDOMAIN) return;
      const before = snapshotPorts();
      const rc = xen.evtchn.send(E, port);
      expectEq(`send on evil's port ${port} (state ${state})`, rc, state === ECS_UNBOUND ? 0 : EINVAL);
      if (snapshotPorts() !== before) fail(`a send on evil's port ${port} changed another domain's ports`);
    },
  };
  const close: Op = {
    name: "close a victim's port number",
    weight: 2,
    run: () => {
      const mine = [...ownPorts];
      const port = mine.length && rng.below(3) === 0 ? pick(mine) : pick(victimPortNumbers());
      const state = portState(E, port);
      if (!ownPorts.has(port) && state !== ECS_FREE && state !== ECS_RESERVED) return; // evil's kernel's own port
      const before = snapshotPorts();
      const rc = xen.evtchn.close(E, port);
      expectEq(`close of evil's port ${port}`, rc, ownPorts.has(port) ? 0 : EINVAL);
      ownPorts.delete(port);
      if (snapshotPorts() !== before) fail(`closing evil's port ${port} changed another domain's ports`);
    },
  };
  const bind: Op = {
    name: 'bind_interdomain to a port not offered to evil',
    weight: 2,
    run: () => {
      const target = pick([...victims, dd, dom0]);
      const ports = xen.evtchn.ports(target.domid).map((s) => s.port);
      const r = rng.below(6);
      const dom = r === 0 ? 400 + rng.below(1000) : target.domid;
      const port = r === 1 ? pick([-1, EVTCHN_2L_NR_CHANNELS, 2 ** 32]) : ports.length && r > 2 ? pick(ports) : rng.below(EVTCHN_2L_NR_CHANNELS);
      if (dom === target.domid && Number.isInteger(port) && port >= 0 && port < EVTCHN_2L_NR_CHANNELS) {
        const s = xen.evtchn.ports(dom).find((p) => p.port === port);
        if (s && s.state === ECS_UNBOUND && s.remoteDom === E) return; // offered to evil (never happens)
      }
      const before = snapshotPorts();
      const rc = xen.evtchn.bindInterdomain(E, dom, port);
      expectEq(`bind_interdomain to d${dom} port ${port}`, rc, dom === target.domid ? EINVAL : ESRCH);
      if (snapshotPorts() !== before) fail(`a refused bind_interdomain changed another domain's ports`);
    },
  };
  const allocStatus: Op = {
    name: "alloc_unbound and status in a victim's port space",
    weight: 1,
    run: () => {
      const v = pick([...victims, dd, dom0]);
      const before = snapshotPorts();
      expectEq(`alloc_unbound in d${v.domid}`, xen.evtchn.allocUnbound(E, v.domid, E), EPERM);
      expectEq(`status of d${v.domid}'s port`, xen.evtchn.status(E, v.domid, pick(xen.evtchn.ports(v.domid)).port), EPERM);
      if (snapshotPorts() !== before) fail('a refused alloc_unbound changed another domain');
      // A port of its own offered to the victim: legitimate, and the victim never binds it.
      if (ownPorts.size < 8) {
        const p = xen.evtchn.allocUnbound(E, DOMID_SELF, v.domid);
        if (p <= 0) fail(`alloc_unbound in evil's own space failed (${p})`);
        ownPorts.add(p);
      }
    },
  };

  // --- xenstore -------------------------------------------------------------------------------

  const xsVictim: Op = {
    name: "xenstore access to a victim's nodes",
    weight: 4,
    run: () => {
      const path = rng.below(6) === 0 ? `${pick(victimNodes)}/no-such-node` : pick(victimNodes);
      const exists = victimNodes.includes(path);
      const before = exists ? dom0Xs.read(path) : null;
      const k = rng.below(6);
      const what = ['read', 'write', 'rm', 'directory', 'get_perms', 'set_perms'][k]!;
      const rc = xsErr(() => {
        if (k === 0) evilXs.read(path);
        else if (k === 1) evilXs.write(path, pick(['1', '6', 'garbage', '']));
        else if (k === 2) evilXs.rm(path);
        else if (k === 3) evilXs.directory(path);
        else if (k === 4) evilXs.getPerms(path);
        else evilXs.setPerms(path, xsPerms(E, 'b'));
      });
      expectEq(`${what} ${path}`, rc, 'EACCES');
      if (exists && dom0Xs.read(path) !== before) fail(`${path} changed after a refused ${what}`);
      if (exists && dom0Xs.getPerms(path).owner === E) fail(`${path} changed owner`);
    },
  };
  const xsTransaction: Op = {
    name: "a transaction touching a victim's nodes",
    weight: 1,
    run: () => {
      const path = pick(victimNodes);
      const before = dom0Xs.read(path);
      const tx = evilXs.transactionStart();
      expectEq(`read ${path} in a transaction`, xsErr(() => evilXs.read(path, tx)), 'EACCES');
      expectEq(`write ${path} in a transaction`, xsErr(() => evilXs.write(path, 'x', tx)), 'EACCES');
      expectEq('commit', xsErr(() => evilXs.transactionEnd(tx, true)), 'OK');
      if (dom0Xs.read(path) !== before) fail(`${path} changed by a transaction`);
    },
  };
  const xsWatch: Op = {
    name: "watch a victim's nodes",
    weight: 2,
    run: () => {
      if (watches.size >= 8 || rng.below(4) === 0) {
        const [token, w] = pick([...watches.entries()].concat([['none', { path: '/nowhere', first: true }]]));
        expectEq(`unwatch ${w.path}`, xsErr(() => evilXs.unwatch(w.path, token)), token === 'none' ? 'ENOENT' : 'OK');
        watches.delete(token);
        return;
      }
      const v = pick(victims);
      const path = pick([`/local/domain/${v.domid}`, `/local/domain/${v.domid}/device/vbd`, pick(victimNodes), `/local/domain/${B}/backend/vbd/${v.domid}`, '/local/domain', `/local/domain/${B}`]);
      const token = `t${nextToken++}`;
      watches.set(token, { path, first: false });
      expectEq(`watch ${path}`, xsErr(() => evilXs.watch(path, token)), 'OK');
    },
  };
  const xsOwnFrontend: Op = {
    name: "garbage in evil's own frontend",
    weight: 1,
    run: () => {
      const node = pick(['state', 'state', 'ring-ref', 'event-channel']);
      const garbage: Record<string, string[]> = {
        state: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '-1', 'abc', '', '4294967299', '3.5', ' 4'],
        'ring-ref': ['-1', '0', '7', 'abc', '', '4294967296', String(nrEntries(E)), String(roRef), String(rwRef), String(webShared), '1e3'],
        'event-channel': ['0', '-1', 'abc', '', String(EVTCHN_2L_NR_CHANNELS), '1', '2', '3', '4'],
      };
      const value = pick(garbage[node]!);
      expectEq(`write ${evilFront}/${node}`, xsErr(() => evilXs.write(`${evilFront}/${node}`, value)), 'OK');
    },
  };

  const xsReconnect: Op = {
    name: "evil's frontend asks blkdd to connect again",
    weight: 1,
    run: () => {
      // What a frontend writes to (re)connect: its ring-ref and port, then Connected.
      for (const [node, value] of [['ring-ref', evilRingRef], ['event-channel', evilPort], ['state', '4']] as const) {
        expectEq(`write ${evilFront}/${node}`, xsErr(() => evilXs.write(`${evilFront}/${node}`, value)), 'OK');
      }
    },
  };

  // --- evil's blkif ring: requests blkback must refuse -----------------------------------------

  const slots = ringSlots(BLKIF_SLOT_BYTES);
  let ringMfn = -1;
  let harvested = 0;
  const pending = new Map<number, Injected>();
  let nextId = 0x40000000;
  /** The ring page blkdd has mapped from evil, and evil's end of its event channel. */
  const evilRing = (): { mfn: number; port: number } | null => {
    const m = xen.gnttab.mappings().find((g) => g.mapper === B && g.granter === E && g.flags & GNTMAP_host_map);
    const p = xen.evtchn.ports(E).find((s) => s.state === ECS_INTERDOMAIN && s.remoteDom === B);
    return m && p ? { mfn: m.mfn, port: p.port } : null;
  };
  /** Reads blkback's answers to injected requests (before their slots are used again). */
  const harvest = () => {
    const r = evilRing();
    if (!r || r.mfn !== ringMfn) {
      // A new connection (or none): what the old one did not answer is gone with it.
      pending.clear();
      if (r) connections++;
      ringMfn = r ? r.mfn : -1;
      harvested = r ? xen.mem.bytes(r.mfn).getUint32(8, true) : 0;
      return;
    }
    const page = xen.mem.bytes(r.mfn);
    const rspProd = page.getUint32(8, true);
    // Responses are produced in order and never taken back (ring.h): rsp_prod only moves on.
    if (u32(rspProd - harvested) > slots) fail(`blkback's rsp_prod went from ${harvested} to ${rspProd} on the same ring`);
    for (; u32(rspProd - harvested) > 0 && u32(rspProd - harvested) <= slots; harvested = u32(harvested + 1)) {
      const inj = pending.get(harvested);
      if (!inj) continue;
      pending.delete(harvested);
      const rsp = readBlkifResponse(page, SRING_HEADER_BYTES + (harvested & (slots - 1)) * BLKIF_SLOT_BYTES);
      answered++;
      expectEq(`blkback's answer to a request with ${inj.kind} (id)`, rsp.id, inj.id);
      expectEq(`blkback's answer to a request with ${inj.kind}`, rsp.status, inj.want);
    }
  };
  const ring: Op = {
    name: 'a bad blkif request on its own ring',
    weight: 4,
    run: () => {
      harvest();
      const r = evilRing();
      if (!r) return;
      const page = xen.mem.bytes(r.mfn);
      const reqProd = page.getUint32(0, true);
      if (u32(reqProd - harvested) >= slots - 1) return; // wait for answers before reusing slots
      const n = nrEntries(E);
      const ungranted = () => {
        for (;;) {
          const g = 8 + rng.below(n - 8);
          if (flagsOf(E, g) === 0) return g;
        }
      };
      const good = (k: number) => Array.from({ length: k }, () => ({ gref: rwRef, firstSect: 0, lastSect: SECTORS_PER_PAGE - 1 }));
      const kinds = ['gref out of range', 'gref not granted', 'read into a read-only grant', "a grant of another domain's frame", 'first_sect > last_sect', 'last_sect beyond the page', 'no segments', 'too many segments', 'sectors beyond the disk', 'unknown operation', 'a bad gref after good ones'];
      const kind = pick(kinds);
      let operation = rng.below(2) ? BLKIF_OP_READ : BLKIF_OP_WRITE;
      let sector = rng.below(1000) * SECTORS_PER_PAGE;
      let segs = good(1);
      let nrSegs: number | null = null;
      switch (kind) {
        case 'gref out of range':
          segs = [{ gref: n + rng.below(2 ** 31), firstSect: 0, lastSect: 7 }];
          break;
        case 'gref not granted':
          segs = [{ gref: ungranted(), firstSect: 0, lastSect: 7 }];
          break;
        case 'read into a read-only grant':
          operation = BLKIF_OP_READ;
          segs = [{ gref: roRef, firstSect: 0, lastSect: 7 }];
          break;
        case "a grant of another domain's frame":
          // get_paged_frame: the granter does not own the frame, GNTST_bad_page.
          segs = [{ gref: forgedRef, firstSect: 0, lastSect: 7 }];
          break;
        case 'first_sect > last_sect': {
          const f = 1 + rng.below(SECTORS_PER_PAGE - 1);
          segs = [{ gref: rwRef, firstSect: f, lastSect: rng.below(f) }];
          break;
        }
        case 'last_sect beyond the page':
          segs = [{ gref: rwRef, firstSect: rng.below(SECTORS_PER_PAGE), lastSect: SECTORS_PER_PAGE + rng.below(248) }];
          break;
        case 'no segments':
          nrSegs = 0;
          break;
        case 'too many segments':
          segs = good(BLKIF_MAX_SEGMENTS_PER_REQUEST);
          nrSegs = BLKIF_MAX_SEGMENTS_PER_REQUEST + 1 + rng.below(255 - BLKIF_MAX_SEGMENTS_PER_REQUEST);
          break;
        case 'sectors beyond the disk': {
          const sectors = dd.io!.drivers.get('disk2')!.sectors;
          sector = pick([sectors - rng.below(SECTORS_PER_PAGE), sectors + rng.below(1e6), 2 ** 40]);
          if (sector + SECTORS_PER_PAGE <= sectors) sector = sectors;
          break;
        }
        case 'unknown operation':
          // Not 5 (DISCARD) nor 6 (INDIRECT), which Linux dispatches elsewhere: the rest go to
          // dispatch_other_io, BLKIF_RSP_EOPNOTSUPP.
          operation = pick([4, 7, 8, 100, 255]);
          break;
        default:
          segs = [...good(1 + rng.below(3)), { gref: pick([ungranted(), n + 3, roRef]), firstSect: 0, lastSect: 7 }];
          operation = BLKIF_OP_READ;
      }
      const id = nextId++;
      const off = SRING_HEADER_BYTES + (reqProd & (slots - 1)) * BLKIF_SLOT_BYTES;
      writeBlkifRequest(page, off, { operation, handle: 0, id, sector, segs });
      if (nrSegs !== null) page.setUint8(off + 1, nrSegs);
      page.setUint32(0, u32(reqProd + 1), true);
      pending.set(reqProd, { id, kind, want: kind === 'unknown operation' ? BLKIF_RSP_EOPNOTSUPP : BLKIF_RSP_ERROR });
      injected++;
      expectEq('notify blkdd', xen.evtchn.send(E, r.port), 0);
    },
  };

  const ops: Op[] = [mapVictimRef, mapBadDomain, mapShared, unmap, endWhileMapped, copy, transfer, scribble, send, close, bind, allocStatus, xsVictim, xsTransaction, xsWatch, xsOwnFrontend, xsReconnect, ring];
  // The first half leaves evil's own xenbus nodes alone, so its ring stays connected and the bad
  // requests reach blkback; the second half adds the garbage and the reconnections.
  const quiet = new Set<Op>([xsOwnFrontend, xsReconnect]);
  const choose = (): Op => {
    const now = step < steps / 2 ? ops.filter((o) => !quiet.has(o)) : ops;
    let x = rng.below(now.reduce((s, o) => s + o.weight, 0));
    for (const o of now) if ((x -= o.weight) < 0) return o;
    return now[now.length - 1]!;
  };

  // Nothing evil does may leave one of its pages, or the victims' disks, touched by the device.
  const checkEvilPages = () => {
    const same = (v: DataView, want: Uint8Array, what: string) => {
      const b = new Uint8Array(v.buffer, v.byteOffset, PAGE_SIZE);
      for (let i = 0; i < PAGE_SIZE; i++) if (b[i] !== want[i]) fail(`${what} changed at byte ${i}: a refused request reached the disk`);
    };
    same(rw.v, rwBytes, "evil's writable page granted to blkdd");
    same(ro.v, roBytes, "evil's read-only page granted to blkdd");
    same(webPage, webSharedBytes, "web's page evil granted to blkdd as its own");
    const stray = xen.gnttab.mappings().filter((m) => m.mapper === B && m.granter === E && m.flags & GNTMAP_device_map);
    if (stray.length) fail(`blkdd still maps evil's grants for the device after refusing: ${JSON.stringify(stray)}`);
  };

  const auditor = opts.auditEveryStep === false ? null : machineAuditor(xen, sim.domains);
  const audit = () => {
    if (!auditor) return;
    const r = auditor.audit();
    if (!r.ok) fail(`audit: ${r.violations.slice(0, 3).join('; ')}`);
  };

  try {
    for (step = 0; step < steps; step++) {
      const op = choose();
      opName = op.name;
      counts[op.name] = (counts[op.name] ?? 0) + 1;
      sim.onVcpu(evil, op.run);
      opName = `${op.name} (then a simulation step)`;
      sim.step(1);
      if (victimsDoneAt < 0 && victims.every((v) => sim.jobs.some((j) => j.d === v && j.done))) victimsDoneAt = step;
      harvest();
      checkEvilPages();
      audit();
    }
    opName = 'the victims finishing';
    // Evil lets go of what it holds; the victims run to the end.
    for (const h of held.splice(0)) xen.gnttab.unmapGrantRef(E, { handle: h.handle, ...(h.flags & GNTMAP_device_map ? { devBusAddr: h.mfn * PAGE_SIZE } : {}) });
    expectEq('ending web\'s shared grant once unmapped', web.io!.env.grants.endForeignAccess(webShared), true);
    let guard = 0;
    while (sim.step(1)) if (++guard > 1_000_000) fail('the victims never finished');
    harvest();
    checkEvilPages();
  } catch (e) {
    if (e instanceof IoFuzzFailure) throw e;
    if (e instanceof Check) throw new IoFuzzFailure(seed, step, opName, e.message);
    throw new IoFuzzFailure(seed, step, opName, `crashed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }
  const full = auditMachine(xen, sim.domains);
  if (!full.ok) fail(`final audit: ${full.violations.slice(0, 3).join('; ')}`);

  const results = sim.results();
  const report: IoFuzzReport = { seed, steps, ops: counts, injected, answered, watchEvents, victimsDoneAt, connections, victims: [] };
  for (const v of victims) {
    const r = results.domains.find((d) => d.name === v.name) as unknown as { io: { requests: number; errors: number; lostWrites: number; acknowledgedWrites: number }; ops: number };
    const front = v.io!.disks[0]!.front;
    const job = sim.jobs.find((j) => j.d === v);
    report.victims.push({
      name: v.name,
      requests: front.stats.requests,
      responses: front.stats.responses,
      errors: r.io.errors + front.stats.errors,
      lostWrites: r.io.lostWrites,
      acknowledgedWrites: r.io.acknowledgedWrites,
      ops: r.ops,
      planned: job?.planned ?? victimOps,
    });
  }
  return report;
}

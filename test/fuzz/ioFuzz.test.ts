/**
 * Adversarial I/O (issue 12 item 10): a hostile guest attacks grant tables, event channels,
 * xenstore and its blkif ring while a driver domain serves two victims' disks under disk-io; every
 * refused operation gets Xen's exact code, the machine audit holds after every step, and the
 * victims' I/O is whole at the end. Deterministic per seed; a failure names the seed and step
 * (rerun one with HYPERLAB_IO_FUZZ_SEED=<seed>).
 */
import { describe, expect, it } from 'vitest';
import { GNTMAP_host_map } from '../../core/api/public/grant_table.js';
import { BLK_RING_SIZE } from '../../core/api/public/io/blkif.js';
import { XenbusStateClosing, XenbusStateConnected, XenbusStateInitWait } from '../../core/api/public/io/xenbus.js';
import { bootIoMachine, runIoFuzz } from './ioHarness.js';

const steps = Number(process.env.HYPERLAB_IO_FUZZ_STEPS ?? 1200);
const seeds = process.env.HYPERLAB_IO_FUZZ_SEED ? [Number(process.env.HYPERLAB_IO_FUZZ_SEED)] : [1, 2];

describe('a hostile guest beside a driver domain serving two victims', () => {
  for (const seed of seeds) {
    it(`seed ${seed}: every hostile operation is refused as Xen refuses it and the victims' I/O is whole`, () => {
      const r = runIoFuzz({ seed, steps });
      // Every kind of operation ran.
      expect(Object.keys(r.ops).length).toBe(18);
      // Bad requests reached blkback and each was answered with an error (checked inside).
      expect(r.injected).toBeGreaterThan(0);
      expect(r.answered).toBeGreaterThan(0);
      // The victims were still running when the last hostile step ended.
      expect(r.victimsDoneAt).toBe(-1);
      for (const v of r.victims) {
        expect(v.ops, `${v.name} ran its workload to the end`).toBe(v.planned);
        expect(v.responses, `${v.name}: every request answered`).toBe(v.requests);
        expect(v.errors, `${v.name}: no error responses`).toBe(0);
        expect(v.lostWrites, `${v.name}: no acknowledged write lost`).toBe(0);
        expect(v.acknowledgedWrites).toBeGreaterThan(0);
      }
    }, 120_000);
  }
});

describe('blkback and a hostile frontend reusing its ring (found by the fuzzer)', () => {
  /** evil's ring as blkdd maps it, the backend serving it, and evil's hostile xenstore connection. */
  function setup() {
    const m = bootIoMachine(50);
    const back = m.dd.io!.backends.find((b) => b.frontendId === m.evil.domid)!;
    const ring = () => m.xen.gnttab.mappings().find((g) => g.mapper === m.dd.domid && g.granter === m.evil.domid && g.flags & GNTMAP_host_map);
    const xs = m.io.xenstored.socketConnection(m.evil.domid);
    const dir = m.evil.io!.disks[0]!.front.dir;
    const settle = () => {
      for (let i = 0; i < 20; i++) m.sim.step(1);
    };
    return { m, back, ring, xs, dir, settle };
  }

  it('a frontend reconnecting on the same ring page: what was answered is not run again (BACK_RING_ATTACH at rsp_prod)', () => {
    const { back, ring, xs, dir, settle, m } = setup();
    const page = m.xen.mem.bytes(ring()!.mfn);
    xs.write(`${dir}/state`, String(XenbusStateClosing));
    settle();
    expect(ring()).toBeUndefined(); // blkback let go of the ring
    expect(back.state).toBe(XenbusStateInitWait);
    // As after 40 requests, all answered: the slots hold old responses, not requests.
    page.setUint32(0, 40, true); // req_prod
    page.setUint32(8, 40, true); // rsp_prod
    const before = back.stats.requests;
    xs.write(`${dir}/state`, String(XenbusStateConnected));
    settle();
    expect(back.state).toBe(XenbusStateConnected);
    expect(back.stats.requests).toBe(before);
    expect(page.getUint32(8, true)).toBe(40);
  });

  it('a ring claiming more unanswered requests than its 32 slots is refused (-EIO in xen_blkif_map)', () => {
    const { back, ring, xs, dir, settle, m } = setup();
    const page = m.xen.mem.bytes(ring()!.mfn);
    xs.write(`${dir}/state`, String(XenbusStateClosing));
    settle();
    page.setUint32(0, 1000, true);
    page.setUint32(8, 1000 - (BLK_RING_SIZE + 1), true);
    const before = back.stats.requests;
    xs.write(`${dir}/state`, String(XenbusStateConnected));
    settle();
    // Refused: Closing (the frontend then closes and blkback waits again), the ring not mapped,
    // nothing run from it.
    expect(m.dd.kernel.log.some((l) => l.includes('more requests than slots'))).toBe(true);
    expect(back.state).not.toBe(XenbusStateConnected);
    expect(ring()).toBeUndefined();
    expect(back.stats.requests).toBe(before);
  });
});

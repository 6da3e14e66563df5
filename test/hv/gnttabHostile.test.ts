/**
 * Grant tables against a granter that writes its own entries behind Xen's back (its table is its
 * own memory; found by the I/O fuzzer, test/fuzz/ioFuzz.test.ts). Values from
 * xen/include/public/grant_table.h (GTF_permit_access 1, GTF_readonly 4, GTF_reading 8,
 * GTF_writing 16; GNTMAP_host_map 2; GNTST_okay 0, GNTST_bad_page -9) and the behaviour of
 * xen/common/grant_table.c: a failed map clears GTF_writing / GTF_reading (unlock_out_clear,
 * reduce_status_for_pin) instead of putting back the flags it found; a pinned entry's mapping
 * does not depend on the entry afterwards.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { GrantTableFrontend } from '../../core/guest/gnttab.js';
import { ioMachine, type IoMachine } from './ioMachine.js';

const OKAY = 0;
const BAD_PAGE = -9;
const GTF_permit_access = 1;
const GTF_reading = 8;
const GTF_writing = 16;
const GNTMAP_host_map = 2;
const ENTRIES_PER_FRAME = 512; // 4096 / sizeof(struct grant_entry_v1)

describe('a granter writing its own grant entries', () => {
  let m: IoMachine;
  let fe: GrantTableFrontend;
  let frames: number[];
  beforeEach(() => {
    m = ioMachine();
    frames = m.xen.gnttab.setupTable(m.a.domid, 1).frames;
    fe = new GrantTableFrontend(m.xen.mem, frames, m.a.domid);
  });
  /** The guest's own store to entry `ref` (flags | domid << 16, frame). */
  const scribble = (ref: number, flags: number, domid: number, frame: number) =>
    m.xen.mem.write(frames[(ref / ENTRIES_PER_FRAME) | 0]!, ref % ENTRIES_PER_FRAME, ((domid << 16) | flags) >>> 0, frame >>> 0);

  it('a map that fails clears the GTF_reading and GTF_writing the guest set, rather than restoring them', () => {
    // A grant of a frame a does not own (b's): the map fails with GNTST_bad_page after the pin
    // was marked, and Xen's clean-up clears both bits.
    const ref = fe.grantForeignAccess(m.b.domid, m.b.p2m[3]!, false);
    scribble(ref, GTF_permit_access | GTF_reading | GTF_writing, m.b.domid, m.b.p2m[3]!);
    expect(m.xen.gnttab.mapGrantRef(m.b.domid, { dom: m.a.domid, ref, flags: GNTMAP_host_map }).status).toBe(BAD_PAGE);
    expect(fe.entry(ref).flags).toBe(GTF_permit_access);
    expect(m.xen.gnttab.audit()).toEqual([]);
  });

  it('ending or rewriting a mapped entry behind Xen’s back changes no mapping and is no violation', () => {
    const ref = fe.grantForeignAccess(m.b.domid, m.a.p2m[10]!, false);
    const r = m.xen.gnttab.mapGrantRef(m.b.domid, { dom: m.a.domid, ref, flags: GNTMAP_host_map });
    expect(r.status).toBe(OKAY);
    scribble(ref, 0, 0xffff, 12345);
    expect(m.xen.gnttab.mappings()).toEqual([expect.objectContaining({ granter: m.a.domid, ref, mfn: m.a.p2m[10], mapper: m.b.domid })]);
    expect(m.xen.gnttab.audit()).toEqual([]);
    // Unmapping clears the pin's bits from whatever is there now; the entry is then Xen's again.
    expect(m.xen.gnttab.unmapGrantRef(m.b.domid, { handle: r.handle })).toBe(OKAY);
    expect(fe.entry(ref).flags & (GTF_reading | GTF_writing)).toBe(0);
    expect(m.xen.gnttab.audit()).toEqual([]);
  });

  it('GTF_reading set by the guest on an entry nobody pins is its own business', () => {
    const ref = fe.grantForeignAccess(m.b.domid, m.a.p2m[11]!, false);
    scribble(ref, GTF_permit_access | GTF_reading | GTF_writing, m.b.domid, m.a.p2m[11]!);
    expect(m.xen.gnttab.audit()).toEqual([]);
  });

  it('what Xen itself wrote is still audited: a pin lost behind its back is reported', () => {
    const ref = fe.grantForeignAccess(m.b.domid, m.a.p2m[12]!, false);
    expect(m.xen.gnttab.mapGrantRef(m.b.domid, { dom: m.a.domid, ref, flags: GNTMAP_host_map }).status).toBe(OKAY);
    // The mapper's maptrack and the active entry dropped without the unpin (a bug in Xen would).
    const tables = (m.xen.gnttab as unknown as { tables: Map<number, { active: Map<number, unknown>; maptrack: unknown[] }> }).tables;
    tables.get(m.a.domid)!.active.delete(ref);
    tables.get(m.b.domid)!.maptrack.fill(null);
    expect(m.xen.gnttab.audit()).toEqual([`d${m.a.domid} ref ${ref}: GTF_reading/GTF_writing set with no pin`]);
  });
});

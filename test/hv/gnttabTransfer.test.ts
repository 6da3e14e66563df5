/**
 * GNTTABOP_transfer and XENMEM_{increase,decrease}_reservation against Xen's gnttab_transfer and
 * memory_op: status codes from xen/include/public/grant_table.h (okay 0, general_error -1,
 * bad_domain -2, bad_page -9), flags GTF_accept_transfer 2, GTF_transfer_committed 4,
 * GTF_transfer_completed 8; max_pages = memory + LIBXL_MAXMEM_CONSTANT (1024 KiB = 256 pages).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { GrantTableFrontend } from '../../core/guest/gnttab.js';
import { DOMID_FREE } from '../../core/hv/mm/frameTable.js';
import { ioMachine, type IoMachine } from './ioMachine.js';

const OKAY = 0;
const GENERAL_ERROR = -1;
const BAD_DOMAIN = -2;
const BAD_PAGE = -9;
const GTF_accept_transfer = 2;
const GTF_transfer_committed = 4;
const GTF_transfer_completed = 8;

describe('GNTTABOP_transfer (page flipping)', () => {
  let m: IoMachine;
  /** b's grant entries (b accepts transfers from a). */
  let fe: GrantTableFrontend;
  beforeEach(() => {
    m = ioMachine();
    const { frames } = m.xen.gnttab.setupTable(m.b.domid, 1);
    fe = new GrantTableFrontend(m.xen.mem, frames, m.b.domid);
  });
  const transfer = (mfn: number, domid: number, ref: number) => m.xen.gnttab.transfer(m.a.domid, [{ mfn, domid, ref }])[0];

  it('moves an unreferenced frame to the grantee, writes its frame into the entry and marks it committed and completed', () => {
    const mfn = m.a.p2m[20]!;
    const ref = fe.grantForeignTransfer(m.a.domid, 7);
    expect(fe.entry(ref)).toEqual({ flags: GTF_accept_transfer, domid: m.a.domid, frame: 7 });
    const aBefore = m.xen.totPages(m.a);
    const bBefore = m.xen.totPages(m.b);
    expect(transfer(mfn, m.b.domid, ref)).toBe(OKAY);
    expect(m.xen.ft.owner(mfn)).toBe(m.b.domid);
    expect(fe.entry(ref)).toEqual({ flags: GTF_accept_transfer | GTF_transfer_committed | GTF_transfer_completed, domid: m.a.domid, frame: mfn });
    expect(m.xen.totPages(m.a)).toBe(aBefore - 1);
    expect(m.xen.totPages(m.b)).toBe(bBefore + 1);
    expect(fe.endForeignTransfer(ref)).toBe(mfn);
  });

  it('refuses a frame that is not the caller\u2019s, or one still referenced, with GNTST_bad_page', () => {
    const ref = fe.grantForeignTransfer(m.a.domid, 7);
    expect(transfer(m.b.p2m[3]!, m.b.domid, ref)).toBe(BAD_PAGE);
    const mfn = m.a.p2m[21]!;
    m.xen.ft.setCount(mfn, 1); // a mapping holds it (steal_page fails)
    expect(transfer(mfn, m.b.domid, ref)).toBe(BAD_PAGE);
    expect(m.xen.ft.owner(mfn)).toBe(m.a.domid);
    // The entry was left untouched: a later transfer can still use it.
    expect(fe.entry(ref).flags).toBe(GTF_accept_transfer);
  });

  it('an unknown target is GNTST_bad_domain and the stolen frame goes back to the heap', () => {
    const mfn = m.a.p2m[22]!;
    const free = m.xen.freeFrames;
    expect(transfer(mfn, 999, 0)).toBe(BAD_DOMAIN);
    expect(m.xen.ft.owner(mfn)).toBe(DOMID_FREE);
    expect(m.xen.freeFrames).toBe(free + 1);
  });

  it('an entry not accepting from the caller, or already committed, is GNTST_general_error (frame freed)', () => {
    const wrongDom = fe.grantForeignTransfer(m.dom0.domid, 7);
    expect(transfer(m.a.p2m[23]!, m.b.domid, wrongDom)).toBe(GENERAL_ERROR);
    expect(m.xen.ft.owner(m.a.p2m[23]!)).toBe(DOMID_FREE);
    const access = fe.grantForeignAccess(m.a.domid, m.b.p2m[1]!, false);
    expect(transfer(m.a.p2m[24]!, m.b.domid, access)).toBe(GENERAL_ERROR);
    const ok = fe.grantForeignTransfer(m.a.domid, 8);
    expect(transfer(m.a.p2m[25]!, m.b.domid, ok)).toBe(OKAY);
    expect(transfer(m.a.p2m[26]!, m.b.domid, ok)).toBe(GENERAL_ERROR);
  });

  it('a grantee at max_pages is GNTST_general_error; giving frames back makes room', () => {
    const head = m.xen.maxPages(m.b) - m.xen.totPages(m.b);
    expect(head).toBe(256); // LIBXL_MAXMEM_CONSTANT
    const more = m.xen.increaseReservation(m.b, 1000);
    expect(more).toHaveLength(256); // no further than max_pages
    const ref = fe.grantForeignTransfer(m.a.domid, 7);
    expect(transfer(m.a.p2m[27]!, m.b.domid, ref)).toBe(GENERAL_ERROR);
    expect(m.xen.decreaseReservation(m.b, more.slice(0, 2))).toBe(2);
    const ref2 = fe.grantForeignTransfer(m.a.domid, 9);
    expect(transfer(m.a.p2m[28]!, m.b.domid, ref2)).toBe(OKAY);
  });

  it('decrease_reservation stops at a frame that is not the caller\u2019s or is still referenced', () => {
    const own = [m.a.p2m[30]!, m.a.p2m[31]!];
    m.xen.ft.setCount(own[1]!, 1);
    expect(m.xen.decreaseReservation(m.a, [own[0]!, own[1]!, m.a.p2m[32]!])).toBe(1);
    expect(m.xen.ft.owner(own[0]!)).toBe(DOMID_FREE);
    expect(m.xen.ft.owner(own[1]!)).toBe(m.a.domid);
    expect(m.xen.decreaseReservation(m.a, [m.b.p2m[0]!])).toBe(0);
  });

  it('each call is one hypercall entry, counted as grant_table_op or memory_op', () => {
    const before = m.a.counters.hypercalls.slice();
    m.xen.increaseReservation(m.a, 4);
    m.xen.gnttab.transfer(m.a.domid, [{ mfn: m.a.p2m[40]!, domid: m.b.domid, ref: fe.grantForeignTransfer(m.a.domid, 1) }, { mfn: m.a.p2m[41]!, domid: m.b.domid, ref: fe.grantForeignTransfer(m.a.domid, 2) }]);
    const diff = Array.from(m.a.counters.hypercalls, (v, i) => v - before[i]!);
    expect(diff.reduce((x, y) => x + y, 0)).toBe(2);
  });
});

/**
 * Grant tables v1 against Xen's rules: each status is the GNTST_* code xen/common/grant_table.c
 * returns on that path (values from xen/include/public/grant_table.h: okay 0, general_error -1,
 * bad_domain -2, bad_gntref -3, bad_handle -4, bad_virt_addr -5, bad_dev_addr -6,
 * permission_denied -8, bad_page -9, bad_copy_arg -10), and the entry layout is struct
 * grant_entry_v1 (flags u16, domid u16, frame u32).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { GrantTableFrontend } from '../../core/guest/gnttab.js';
import type { HostMapper } from '../../core/hv/gnttab/gnttab.js';
import { readBytes } from '../../core/hv/gnttab/bytes.js';
import { C, Hc } from '../../core/machine/counters.js';
import { Rng } from '../../core/base/rng.js';
import { ioMachine, type IoMachine } from './ioMachine.js';

const OKAY = 0;
const GENERAL_ERROR = -1;
const BAD_DOMAIN = -2;
const BAD_GNTREF = -3;
const BAD_HANDLE = -4;
const BAD_VIRT_ADDR = -5;
const BAD_DEV_ADDR = -6;
const PERMISSION_DENIED = -8;
const BAD_PAGE = -9;
const BAD_COPY_ARG = -10;
// grant_table.h flags
const GTF_permit_access = 1;
const GTF_readonly = 4;
const GTF_reading = 8;
const GTF_writing = 16;
const GNTMAP_device_map = 1;
const GNTMAP_host_map = 2;
const GNTMAP_readonly = 4;
const GNTCOPY_source_gref = 1;
const GNTCOPY_dest_gref = 2;
const DOMID_SELF = 0x7ff0;
const DOMID_XEN = 0x7ff2;

describe('grant tables v1', () => {
  let m: IoMachine;
  let fe: GrantTableFrontend;
  /** An mfn of the granter a (PV: the frame field is an mfn). */
  let page: number;
  beforeEach(() => {
    m = ioMachine();
    const { status, frames } = m.xen.gnttab.setupTable(m.a.domid, 1);
    expect(status).toBe(OKAY);
    fe = new GrantTableFrontend(m.xen.mem, frames, m.a.domid);
    page = m.a.p2m[10]!;
  });
  const gt = () => m.xen.gnttab;
  const map = (mapper: number, ref: number, flags = GNTMAP_host_map, dom = m.a.domid, hostAddr?: number) =>
    gt().mapGrantRef(mapper, { dom, ref, flags, ...(hostAddr !== undefined ? { hostAddr } : {}) });

  it('setup_table gives Xen frames, grows without moving them, and refuses more than max_grant_frames (64)', () => {
    const first = gt().tableFrames(m.a.domid);
    expect(first).toHaveLength(1);
    expect(m.xen.ft.owner(first[0]!)).toBe(DOMID_XEN);
    expect(m.a.xenFrames).toContain(first[0]);
    const grown = gt().setupTable(m.a.domid, 2);
    expect(grown.status).toBe(OKAY);
    expect(grown.frames[0]).toBe(first[0]);
    expect(grown.frames).toHaveLength(2);
    expect(gt().setupTable(m.a.domid, 65).status).toBe(GENERAL_ERROR);
    expect(gt().setupTable(99, 1).status).toBe(BAD_DOMAIN);
  });

  it('the frontend hands out refs from 8 (0..7 are reserved) and writes grant_entry_v1: flags | domid << 16, then frame', () => {
    const ref = fe.grantForeignAccess(m.b.domid, page, true);
    expect(ref).toBe(8);
    const frame0 = gt().tableFrames(m.a.domid)[0]!;
    // Entry 8 is the 8-byte slot 8 of the first frame.
    expect(m.xen.mem.readLo(frame0, 8)).toBe(((m.b.domid << 16) | GTF_permit_access | GTF_readonly) >>> 0);
    expect(m.xen.mem.readHi(frame0, 8)).toBe(page);
    expect(fe.entry(ref)).toEqual({ flags: GTF_permit_access | GTF_readonly, domid: m.b.domid, frame: page });
    expect(fe.inUse).toBe(1);
    // One frame holds 512 entries: 504 usable refs, then the table is full.
    for (let i = 0; i < 503; i++) expect(fe.grantForeignAccess(m.b.domid, page, true)).toBe(9 + i);
    expect(fe.grantForeignAccess(m.b.domid, page, true)).toBe(-1);
    fe.addFrames(gt().setupTable(m.a.domid, 2).frames.slice(1));
    expect(fe.grantForeignAccess(m.b.domid, page, true)).toBe(512);
  });

  it('maps a granted page: handle, mfn, bus address; GTF_reading|GTF_writing set while mapped', () => {
    const ref = fe.grantForeignAccess(m.b.domid, page, false);
    const r = map(m.b.domid, ref, GNTMAP_host_map | GNTMAP_device_map);
    expect(r).toEqual({ status: OKAY, handle: 0, mfn: page, devBusAddr: page * 4096 });
    expect(fe.entry(ref).flags).toBe(GTF_permit_access | GTF_reading | GTF_writing);
    expect(gt().mappings()).toEqual([{ granter: m.a.domid, ref, mfn: page, mapper: m.b.domid, handle: 0, readonly: false, flags: GNTMAP_host_map | GNTMAP_device_map }]);
    expect(gt().audit()).toEqual([]);
  });

  it('refuses an ungranted ref, a ref beyond the table, bad flags and an unknown domain', () => {
    expect(map(m.b.domid, 20).status).toBe(GENERAL_ERROR); // entry is GTF_invalid: _set_status_v1
    expect(map(m.b.domid, 512).status).toBe(BAD_GNTREF); // one frame = refs 0..511
    const ref = fe.grantForeignAccess(m.b.domid, page, false);
    expect(map(m.b.domid, ref, 0).status).toBe(BAD_GNTREF); // neither host_map nor device_map
    expect(map(m.b.domid, ref, GNTMAP_host_map, 99).status).toBe(BAD_DOMAIN);
    expect(map(m.b.domid, ref, GNTMAP_host_map, DOMID_SELF).status).toBe(BAD_DOMAIN); // map takes no DOMID_SELF
    // Failed maps used no handle.
    expect(map(m.b.domid, ref).handle).toBe(0);
    expect(gt().audit()).toEqual([]);
  });

  it('a readonly grant maps only readonly; a grant for b is refused to dom0', () => {
    const ro = fe.grantForeignAccess(m.b.domid, page, true);
    expect(map(m.b.domid, ro, GNTMAP_host_map).status).toBe(GENERAL_ERROR);
    expect(fe.entry(ro).flags).toBe(GTF_permit_access | GTF_readonly);
    expect(map(m.b.domid, ro, GNTMAP_host_map | GNTMAP_readonly).status).toBe(OKAY);
    expect(fe.entry(ro).flags).toBe(GTF_permit_access | GTF_readonly | GTF_reading);
    // Pinned readonly: a writable map is still refused.
    expect(map(m.b.domid, ro, GNTMAP_host_map).status).toBe(GENERAL_ERROR);
    expect(map(m.dom0.domid, ro, GNTMAP_host_map | GNTMAP_readonly).status).toBe(GENERAL_ERROR);
    const rw = fe.grantForeignAccess(m.b.domid, page, false);
    expect(map(m.dom0.domid, rw).status).toBe(GENERAL_ERROR);
    expect(gt().audit()).toEqual([]);
  });

  it('a grant of a frame the granter does not own is GNTST_bad_page, and leaves the entry as it was', () => {
    const ref = fe.grantForeignAccess(m.b.domid, m.b.p2m[0]!, false);
    expect(map(m.b.domid, ref).status).toBe(BAD_PAGE);
    expect(fe.entry(ref).flags).toBe(GTF_permit_access);
    const beyond = fe.grantForeignAccess(m.b.domid, 0x7fffffff, false);
    expect(map(m.b.domid, beyond).status).toBe(BAD_PAGE);
    expect(gt().audit()).toEqual([]);
  });

  it('an HVM granter grants gfns (translated through its p2m); an HVM mapper cannot device-map', () => {
    const h = ioMachine('hap', 'hap');
    const frames = h.xen.gnttab.setupTable(h.a.domid, 1).frames;
    const hfe = new GrantTableFrontend(h.xen.mem, frames, h.a.domid);
    const ref = hfe.grantForeignAccess(h.b.domid, 10, false);
    const r = h.xen.gnttab.mapGrantRef(h.b.domid, { dom: h.a.domid, ref, flags: GNTMAP_host_map });
    expect(r.status).toBe(OKAY);
    expect(r.mfn).toBe(h.a.p2m[10]);
    expect(h.xen.gnttab.mapGrantRef(h.b.domid, { dom: h.a.domid, ref, flags: GNTMAP_device_map }).status).toBe(GENERAL_ERROR);
    const outside = hfe.grantForeignAccess(h.b.domid, h.a.p2m.length, false);
    expect(h.xen.gnttab.mapGrantRef(h.b.domid, { dom: h.a.domid, ref: outside, flags: GNTMAP_host_map }).status).toBe(BAD_PAGE);
    expect(h.xen.gnttab.audit()).toEqual([]);
  });

  it('unmap: bad handles, a wrong bus address; a good unmap clears GTF_reading/GTF_writing', () => {
    const ref = fe.grantForeignAccess(m.b.domid, page, false);
    expect(gt().unmapGrantRef(m.b.domid, { handle: 5 })).toBe(BAD_HANDLE);
    const r = map(m.b.domid, ref, GNTMAP_host_map | GNTMAP_device_map, m.a.domid, 0x10000);
    expect(gt().unmapGrantRef(m.b.domid, { handle: r.handle, hostAddr: 0x10000, devBusAddr: r.devBusAddr + 4096 })).toBe(BAD_DEV_ADDR);
    expect(gt().unmapGrantRef(m.b.domid, { handle: r.handle, hostAddr: 0x20000 })).toBe(GENERAL_ERROR); // no mapping at that address
    // dom0 cannot use b's handle: handles are per mapper.
    expect(gt().unmapGrantRef(m.dom0.domid, { handle: r.handle })).toBe(BAD_HANDLE);
    // Naming neither address undoes nothing (host_addr and dev_bus_addr 0 mean "none" in Xen).
    expect(gt().unmapGrantRef(m.b.domid, { handle: r.handle })).toBe(OKAY);
    expect(gt().mappings()).toHaveLength(1);
    // The host part alone: the device mapping (and the pin) remain.
    expect(gt().unmapGrantRef(m.b.domid, { handle: r.handle, hostAddr: 0x10000 })).toBe(OKAY);
    expect(fe.entry(ref).flags).toBe(GTF_permit_access | GTF_reading | GTF_writing);
    expect(gt().audit()).toEqual([]);
    expect(gt().unmapGrantRef(m.b.domid, { handle: r.handle, devBusAddr: r.devBusAddr })).toBe(OKAY);
    expect(fe.entry(ref).flags).toBe(GTF_permit_access);
    expect(gt().unmapGrantRef(m.b.domid, { handle: r.handle, devBusAddr: r.devBusAddr })).toBe(BAD_HANDLE);
    expect(gt().mappings()).toEqual([]);
    expect(gt().audit()).toEqual([]);
  });

  it('GTF_writing stays while a writable pin remains, GTF_reading while any pin remains', () => {
    const ref = fe.grantForeignAccess(m.b.domid, page, false);
    const rw = map(m.b.domid, ref);
    const ro = map(m.b.domid, ref, GNTMAP_host_map | GNTMAP_readonly);
    expect(ro.handle).toBe(rw.handle + 1);
    gt().unmapGrantRef(m.b.domid, { handle: rw.handle });
    expect(fe.entry(ref).flags).toBe(GTF_permit_access | GTF_reading);
    expect(gt().audit()).toEqual([]);
    gt().unmapGrantRef(m.b.domid, { handle: ro.handle });
    expect(fe.entry(ref).flags).toBe(GTF_permit_access);
  });

  it('the granter cannot end access while the grant is mapped', () => {
    const ref = fe.grantForeignAccess(m.b.domid, page, false);
    const r = map(m.b.domid, ref);
    expect(fe.endForeignAccess(ref)).toBe(false);
    expect(fe.entry(ref).flags).toBe(GTF_permit_access | GTF_reading | GTF_writing);
    expect(() => fe.freeRef(ref)).toThrow(/still grants access/);
    gt().unmapGrantRef(m.b.domid, { handle: r.handle });
    expect(fe.endForeignAccess(ref)).toBe(true);
    expect(fe.entry(ref)).toEqual({ flags: 0, domid: m.b.domid, frame: page });
    fe.freeRef(ref);
    expect(fe.inUse).toBe(0);
    // An ended grant cannot be mapped.
    expect(map(m.b.domid, ref).status).toBe(GENERAL_ERROR);
  });

  it('a writable grant of a page-table frame is refused (get_page_type(PGT_writable_page) fails)', () => {
    m.xen.ft.setType(page, 1); // PGT_l1_page_table
    m.xen.ft.setTypeCount(page, 1);
    const ref = fe.grantForeignAccess(m.b.domid, page, false);
    expect(map(m.b.domid, ref).status).toBe(GENERAL_ERROR);
    expect(fe.entry(ref).flags).toBe(GTF_permit_access);
    expect(map(m.b.domid, ref, GNTMAP_host_map | GNTMAP_readonly).status).toBe(OKAY);
  });

  it('the host mapper installs and removes the PTE; its failure is the map’s status, with the entry restored', () => {
    const calls: string[] = [];
    let fail = false;
    const hm: HostMapper = {
      map: (mapper, va, mfn, ro) => {
        calls.push(`map d${mapper} ${va.toString(16)} ${mfn} ${ro}`);
        return fail ? BAD_VIRT_ADDR : OKAY;
      },
      unmap: (mapper, va, mfn) => {
        calls.push(`unmap d${mapper} ${va.toString(16)} ${mfn}`);
        return va === 0x5000 ? OKAY : GENERAL_ERROR;
      },
    };
    gt().hostMapper = hm;
    const ref = fe.grantForeignAccess(m.b.domid, page, false);
    const r = map(m.b.domid, ref, GNTMAP_host_map, m.a.domid, 0x5000);
    expect(r.status).toBe(OKAY);
    expect(gt().unmapGrantRef(m.b.domid, { handle: r.handle, hostAddr: 0x6000 })).toBe(GENERAL_ERROR);
    expect(gt().unmapGrantRef(m.b.domid, { handle: r.handle, hostAddr: 0x5000 })).toBe(OKAY);
    fail = true;
    expect(map(m.b.domid, ref, GNTMAP_host_map, m.a.domid, 0x7000).status).toBe(BAD_VIRT_ADDR);
    expect(fe.entry(ref).flags).toBe(GTF_permit_access);
    expect(calls).toEqual([`map d${m.b.domid} 5000 ${page} false`, `unmap d${m.b.domid} 6000 ${page}`, `unmap d${m.b.domid} 5000 ${page}`, `map d${m.b.domid} 7000 ${page} false`]);
    expect(gt().audit()).toEqual([]);
  });

  describe('copy', () => {
    let src: number;
    beforeEach(() => {
      src = m.b.p2m[3]!;
      m.xen.mem.write(src, 0, 0x04030201, 0x08070605);
    });

    it('copies bytes from the caller’s own frame into a granted page', () => {
      const ref = fe.grantForeignAccess(m.b.domid, page, false);
      const rc = gt().copy(m.b.domid, [
        { source: { ref: m.b.p2m[3]!, domid: DOMID_SELF, offset: 1 }, dest: { ref, domid: m.a.domid, offset: 3 }, len: 6, flags: GNTCOPY_dest_gref },
      ]);
      expect(rc).toEqual([OKAY]);
      // Bytes 02..07 land at offsets 3..8 of the granted page.
      expect(m.xen.mem.readLo(page, 0)).toBe(0x02000000);
      expect(m.xen.mem.readHi(page, 0)).toBe(0x06050403);
      expect(m.xen.mem.readLo(page, 1)).toBe(0x07);
      expect([...readBytes(m.xen.mem, page, 3, 6)]).toEqual([2, 3, 4, 5, 6, 7]);
      // The copy leaves no pin behind.
      expect(fe.entry(ref).flags).toBe(GTF_permit_access);
      expect(m.b.counters.c[C.GrantCopies]).toBe(1);
      expect(m.b.counters.c[C.GrantCopyBytes]).toBe(6);
    });

    it('refuses a readonly destination, a page crossing, a foreign frame, a bad ref and a frame not owned', () => {
      const ro = fe.grantForeignAccess(m.b.domid, page, true);
      const rw = fe.grantForeignAccess(m.b.domid, page, false);
      const self = (offset = 0) => ({ ref: src, domid: DOMID_SELF, offset });
      const rc = gt().copy(m.b.domid, [
        { source: self(), dest: { ref: ro, domid: m.a.domid, offset: 0 }, len: 8, flags: GNTCOPY_dest_gref },
        { source: self(), dest: { ref: rw, domid: m.a.domid, offset: 4000 }, len: 200, flags: GNTCOPY_dest_gref },
        { source: self(), dest: { ref: page, domid: m.a.domid, offset: 0 }, len: 8, flags: 0 },
        { source: self(), dest: { ref: 600, domid: m.a.domid, offset: 0 }, len: 8, flags: GNTCOPY_dest_gref },
        { source: { ref: page, domid: DOMID_SELF, offset: 0 }, dest: { ref: rw, domid: m.a.domid, offset: 0 }, len: 8, flags: GNTCOPY_dest_gref },
        { source: self(), dest: { ref: rw, domid: 99, offset: 0 }, len: 8, flags: GNTCOPY_dest_gref },
        { source: { ref: ro, domid: m.a.domid, offset: 0 }, dest: self(8), len: 8, flags: GNTCOPY_source_gref },
      ]);
      expect(rc).toEqual([GENERAL_ERROR, BAD_COPY_ARG, PERMISSION_DENIED, BAD_GNTREF, BAD_PAGE, BAD_DOMAIN, OKAY]);
      expect(m.xen.mem.readLo(page, 0)).toBe(0);
      expect(m.b.counters.c[C.GrantCopies]).toBe(1);
      expect(gt().audit()).toEqual([]);
    });
  });

  it('a dying mapper releases its mappings: the granter’s entries are unpinned and can be ended', () => {
    const ref = fe.grantForeignAccess(m.b.domid, page, false);
    const ref2 = fe.grantForeignAccess(m.b.domid, m.a.p2m[11]!, true);
    map(m.b.domid, ref);
    map(m.b.domid, ref2, GNTMAP_host_map | GNTMAP_readonly);
    m.xen.destroyDomain(m.b);
    expect(gt().mappings()).toEqual([]);
    expect(fe.entry(ref).flags).toBe(GTF_permit_access);
    expect(fe.entry(ref2).flags).toBe(GTF_permit_access | GTF_readonly);
    expect(fe.endForeignAccess(ref)).toBe(true);
    expect(gt().audit()).toEqual([]);
  });

  it('a dying granter’s entries are kept while another domain maps them; the mapper can still unmap', () => {
    const ref = fe.grantForeignAccess(m.b.domid, page, false);
    const r = map(m.b.domid, ref);
    m.xen.destroyDomain(m.a);
    expect(gt().mappings()).toHaveLength(1);
    expect(gt().audit()).toEqual([]);
    expect(map(m.b.domid, ref).status).toBe(BAD_DOMAIN);
    expect(gt().unmapGrantRef(m.b.domid, { handle: r.handle })).toBe(OKAY);
    expect(gt().mappings()).toEqual([]);
    expect(gt().audit()).toEqual([]);
  });

  it('charges the mapper: a hypercall plus grantMap / grantUnmap / grantCopyBase + bytes, counted by op', () => {
    const c = m.b.counters;
    const ref = fe.grantForeignAccess(m.b.domid, page, false);
    let hv = c.c[C.CycHv]!;
    const r = map(m.b.domid, ref);
    expect(c.c[C.CycHv]! - hv).toBe(1000 + 600); // modern: hypercall + grantMap
    expect(c.c[C.GrantMaps]).toBe(1);
    hv = c.c[C.CycHv]!;
    gt().unmapGrantRef(m.b.domid, { handle: r.handle });
    expect(c.c[C.CycHv]! - hv).toBe(1000 + 600); // hypercall + grantUnmap
    expect(c.c[C.GrantUnmaps]).toBe(1);
    hv = c.c[C.CycHv]!;
    gt().copy(m.b.domid, [
      { source: { ref: m.b.p2m[3]!, domid: DOMID_SELF, offset: 0 }, dest: { ref, domid: m.a.domid, offset: 0 }, len: 2048, flags: GNTCOPY_dest_gref },
    ]);
    expect(c.c[C.CycHv]! - hv).toBe(1000 + 800 + 2 * 256); // hypercall + grantCopyBase + 2 KiB × grantCopyPerKiB
    expect(c.hypercalls[Hc.GrantTableOp]).toBe(3);
    expect(m.a.counters.c[C.GrantMaps]).toBe(0);
  });
});

describe('grant tables under two hostile domains', () => {
  it('keeps its invariants (audit empty) after every step of random operations', () => {
    const seen = new Set<string>();
    for (const seed of [1, 2, 3]) {
      const m = ioMachine(seed === 2 ? 'hap' : 'pv', 'pv');
      const gt = m.xen.gnttab;
      const rng = new Rng(seed);
      const doms = [m.a, m.b];
      const fes = doms.map((d) => new GrantTableFrontend(m.xen.mem, gt.setupTable(d.domid, 1).frames, d.domid));
      const handles: number[][] = [[], []];
      const pick = <T,>(xs: T[]): T | undefined => (xs.length ? xs[rng.below(xs.length)] : undefined);
      for (let step = 0; step < 1500; step++) {
        const i = rng.below(2);
        const me = doms[i]!;
        const other = doms[1 - i]!;
        const fe = fes[i]!;
        const ref = rng.below(4) === 0 ? rng.below(600) : 8 + rng.below(12);
        switch (rng.below(7)) {
          case 0: {
            // Grant one of its own frames, another domain's frame, or a gfn, to the other or to anyone.
            const frame = rng.below(3) === 0 ? other.p2m[rng.below(8)]! : me.mode === 'hap' ? rng.below(8) : me.p2m[rng.below(8)]!;
            fe.grantForeignAccess(rng.below(4) === 0 ? m.dom0.domid : other.domid, frame, rng.below(2) === 0);
            break;
          }
          case 1: {
            const flags = [GNTMAP_host_map, GNTMAP_host_map | GNTMAP_readonly, GNTMAP_device_map, 0, GNTMAP_device_map | GNTMAP_host_map][rng.below(5)]!;
            const r = gt.mapGrantRef(me.domid, { dom: rng.below(5) === 0 ? me.domid : other.domid, ref, flags });
            if (r.status === OKAY) handles[i]!.push(r.handle);
            seen.add(`map ${r.status}`);
            break;
          }
          case 2: {
            const h = rng.below(3) === 0 ? rng.below(40) : pick(handles[i]!);
            if (h === undefined) break;
            const mapping = gt.mappings().find((x) => x.mapper === me.domid && x.handle === h);
            const rc = gt.unmapGrantRef(me.domid, { handle: h, devBusAddr: mapping ? mapping.mfn * 4096 : rng.below(1 << 20) });
            seen.add(`unmap ${rc}`);
            if (rc === OKAY && !gt.mappings().some((x) => x.mapper === me.domid && x.handle === h)) handles[i] = handles[i]!.filter((x) => x !== h);
            break;
          }
          case 3:
            seen.add(`end ${fe.endForeignAccess(ref)}`);
            break;
          case 4: {
            const flags = rng.below(4);
            const [rc] = gt.copy(me.domid, [
              {
                source: { ref: flags & GNTCOPY_source_gref ? ref : me.p2m[rng.below(8)]!, domid: flags & GNTCOPY_source_gref ? other.domid : DOMID_SELF, offset: rng.below(4096) },
                dest: { ref: flags & GNTCOPY_dest_gref ? 8 + rng.below(12) : me.p2m[rng.below(8)]!, domid: flags & GNTCOPY_dest_gref ? other.domid : DOMID_SELF, offset: rng.below(4096) },
                len: rng.below(200),
                flags,
              },
            ]);
            seen.add(`copy ${rc}`);
            break;
          }
          case 5:
            // Grow the table now and then (setup_table), past the refs others probe.
            if (rng.below(50) === 0) fe.addFrames(gt.setupTable(me.domid, 2).frames.slice(fe.capacity / 512));
            break;
          default:
            gt.mapGrantRef(me.domid, { dom: 99, ref, flags: GNTMAP_host_map });
        }
        const problems = gt.audit();
        if (problems.length) throw new Error(`seed ${seed} step ${step}: ${problems.join('; ')}`);
      }
    }
    // The random walk reached the paths that matter, not only refusals.
    for (const s of ['map 0', 'map -1', 'map -3', 'map -9', 'unmap 0', 'unmap -4', 'copy 0', 'copy -10', 'end true', 'end false']) expect(seen, s).toContain(s);
  });

  it('a grant entry ended under a live mapping by its own guest is no violation (its memory; Xen keeps the pin)', () => {
    const m = ioMachine();
    const gt = m.xen.gnttab;
    const frames = gt.setupTable(m.a.domid, 1).frames;
    const fe = new GrantTableFrontend(m.xen.mem, frames, m.a.domid);
    const ref = fe.grantForeignAccess(m.b.domid, m.a.p2m[4]!, false);
    gt.mapGrantRef(m.b.domid, { dom: m.a.domid, ref, flags: GNTMAP_host_map });
    // A guest that ignores GTF_reading and zeroes its entry behind Xen's back: only its own
    // memory changed; the mapping stands until the mapper unmaps (gnttabHostile.test.ts has more).
    m.xen.mem.write(frames[0]!, ref, 0, 0);
    expect(gt.audit()).toEqual([]);
    expect(gt.mappings()).toHaveLength(1);
  });
});

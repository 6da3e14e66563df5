/**
 * Xen's IOMMU driver (core/hv/passthrough/iommu.ts) against Xen's rules:
 *  - a strict PV domain's device reaches the frames it owns while they are writable-typed
 *    (xen/arch/x86/mm.c _get_page_type maps/unmaps on the PGT_writable_page transition) and
 *    frames granted to it (grant_table.c: gnttab_need_iommu_mapping), nothing else;
 *  - the hardware domain (dom0, relaxed) reaches all RAM but Xen's own frames (arch_iommu_hwdom_init);
 *  - a deassigned device is quarantined (XSA-302): its DMA lands nowhere;
 *  - faults print as vtd/iommu.c prints them: "[VT-D]DMAR:[DMA Write] Request device [ssss:bb:dd.f]
 *    fault addr …" then "[VT-D]DMAR: reason 05 - PTE Write access is not set".
 * Frames of Xen's reserved region: XEN_RESERVED_MIB (32) × 256 = the first 8192 mfns.
 */
import { describe, expect, it } from 'vitest';
import { validateScenario } from '../../core/api/index.js';
import { Hypervisor } from '../../core/hv/hypervisor.js';
import { audit } from '../../core/hv/audit.js';
import { GrantTableFrontend } from '../../core/guest/gnttab.js';
import { DOMID_IO } from '../../core/hv/passthrough/iommu.js';
import { PGT_l1_page_table, PGT_writable_page } from '../../core/hv/mm/frameTable.js';
import { C } from '../../core/machine/counters.js';
import { costsOf, mmuConfigOf } from '../../core/sim/run.js';
import type { Domain } from '../../core/hv/domain.js';
import { ioMachine } from './ioMachine.js';

const NIC = { seg: 0, bus: 3, dev: 0, fn: 0 };
const DISK = { seg: 0, bus: 3, dev: 1, fn: 0 };
const GNTMAP_device_map = 1;
const GNTMAP_readonly = 4;
const XEN_FRAMES = 32 * 256;
const bytes = (...b: number[]) => Uint8Array.from(b);
const firstByte = (xen: Hypervisor, mfn: number) => xen.mem.readLo(mfn, 0) & 0xff;

function setup() {
  const m = ioMachine();
  const iommu = m.xen.iommu!;
  expect(iommu.assignDevice(m.a, NIC)).toBe(0);
  const port = iommu.hw.port(NIC);
  return { ...m, iommu, port };
}

describe("Xen's IOMMU driver", () => {
  it('a PV driver domain\'s device writes its own writable page, not a page table, not another domain\'s page', () => {
    const { xen, a, b, iommu, port } = setup();
    const own = a.p2m[10]!;
    expect(port.write(own * 4096, bytes(0x11))).toBe(true);
    expect(firstByte(xen, own)).toBe(0x11);

    // The page becomes an L1 table: Xen unmaps it, the device cannot rewrite it.
    const table = a.p2m[11]!;
    expect(xen.pvMm.getPageType(table, PGT_l1_page_table, a)).toBe(0);
    expect(port.write(table * 4096, bytes(0x22))).toBe(false);
    expect(xen.mem.isZero(table)).toBe(true);
    // Type count back to 0, the type stays L1 (as Xen keeps it): still unmapped; writable again: mapped.
    xen.pvMm.putPageType(table, a);
    expect(port.write(table * 4096, bytes(0x22))).toBe(false);
    expect(xen.pvMm.getPageType(table, PGT_writable_page, a)).toBe(0);
    expect(port.write(table * 4096, bytes(0x22))).toBe(true);

    // Another domain's frame: refused, logged with the requester and the address, nothing written.
    iommu.takeLog();
    const theirs = b.p2m[10]!;
    const faults = iommu.faults;
    expect(port.write(theirs * 4096 + 0x40, bytes(0x33))).toBe(false);
    expect(xen.mem.isZero(theirs)).toBe(true);
    expect(iommu.faults).toBe(faults + 1);
    expect(iommu.faultLog.at(-1)).toEqual({
      reason: 5,
      reasonText: 'PTE Write access is not set',
      bdf: '0000:03:00.0',
      sourceId: 0x0300,
      addr: theirs * 4096,
      write: true,
      domid: a.domid,
    });
    expect(iommu.takeLog()).toEqual([
      `[VT-D]DMAR:[DMA Write] Request device [0000:03:00.0] fault addr ${(theirs * 4096).toString(16)}`,
      '[VT-D]DMAR: reason 05 - PTE Write access is not set',
    ]);
    // A read of it is refused with reason 6.
    expect(port.read(theirs * 4096, new Uint8Array(8))).toBe(false);
    expect(iommu.faultLog.at(-1)!.reason).toBe(6);
    expect(audit(xen).violations.filter((v) => v.startsWith('iommu:'))).toEqual([]);
  });

  it('a grant map adds the granted frame (read-only for a read-only grant), and the unmap removes it with an IOTLB flush', () => {
    const { xen, a, b, iommu, port } = setup();
    const { frames } = xen.gnttab.setupTable(b.domid, 1);
    const fe = new GrantTableFrontend(xen.mem, frames, b.domid);
    const page = b.p2m[20]!;
    const rw = fe.grantForeignAccess(a.domid, page, false);
    const before = a.counters.c[C.CycHv];
    const m = xen.gnttab.mapGrantRef(a.domid, { dom: b.domid, ref: rw, flags: GNTMAP_device_map });
    expect(m.status).toBe(0);
    // Xen's cycles for the op: the hypercall, map_grant_ref, and one IOMMU entry written for a.
    const k = xen.costs;
    expect(a.counters.c[C.CycHv] - before).toBe(k.hypercall + k.grantMap + k.iommuMap);
    expect(iommu.domains.get(a.domid)!.maps).toBeGreaterThan(0);
    expect(port.write(m.devBusAddr, bytes(0x44))).toBe(true);
    expect(firstByte(xen, page)).toBe(0x44);
    expect(audit(xen).violations.filter((v) => v.startsWith('iommu:'))).toEqual([]);

    const flushes = iommu.iotlbFlushes;
    const cyc = a.counters.c[C.CycHv];
    expect(xen.gnttab.unmapGrantRef(a.domid, { handle: m.handle, devBusAddr: m.devBusAddr })).toBe(0);
    expect(iommu.iotlbFlushes).toBe(flushes + 1);
    // The unmap adds the entry's removal and a page-selective IOTLB invalidation.
    expect(a.counters.c[C.CycHv] - cyc).toBe(k.hypercall + k.grantUnmap + k.iommuUnmap + k.iotlbFlush);
    // The IOTLB entry the write above cached is gone with the flush: the next write faults.
    expect(port.write(m.devBusAddr, bytes(0x55))).toBe(false);
    expect(firstByte(xen, page)).toBe(0x44);

    const ro = fe.grantForeignAccess(a.domid, page, true);
    const r = xen.gnttab.mapGrantRef(a.domid, { dom: b.domid, ref: ro, flags: GNTMAP_device_map | GNTMAP_readonly });
    expect(r.status).toBe(0);
    const dst = new Uint8Array(1);
    expect(port.read(r.devBusAddr, dst)).toBe(true);
    expect(dst[0]).toBe(0x44);
    expect(port.write(r.devBusAddr, bytes(0x66))).toBe(false);
    expect(iommu.faultLog.at(-1)!.reason).toBe(5);
  });

  it("dom0's device (relaxed hardware domain) reaches every domain's RAM but none of Xen's own frames", () => {
    const { xen, dom0, a, b, iommu } = setup();
    expect(iommu.assignDevice(dom0, DISK)).toBe(0);
    const port = iommu.hw.port(DISK);
    expect(port.write(a.p2m[3]! * 4096, bytes(1))).toBe(true);
    expect(port.write(b.p2m[3]! * 4096, bytes(2))).toBe(true);
    expect(port.write(dom0.p2m[3]! * 4096, bytes(3))).toBe(true);
    for (const mfn of [0, 100, XEN_FRAMES - 1]) {
      expect(port.write(mfn * 4096, bytes(9))).toBe(false);
      expect(xen.mem.isZero(mfn)).toBe(true);
    }
    // The last frame of the machine is RAM, and dom0 reaches it.
    expect(port.write((xen.mem.nrFrames - 1) * 4096, bytes(4))).toBe(true);
    expect(audit(xen).violations.filter((v) => v.startsWith('iommu:'))).toEqual([]);
  });

  it('a deassigned device is quarantined: its late DMA reaches neither the old owner, dom0 nor the next owner', () => {
    const { xen, dom0, a, b, iommu, port } = setup();
    expect(port.write(a.p2m[5]! * 4096, bytes(1))).toBe(true);
    expect(iommu.deassignDevice(a, NIC)).toBe(0);
    expect(iommu.ownerOf(NIC)).toBe(DOMID_IO);
    expect(iommu.deassignDevice(a, NIC)).toBe(-22); // -EINVAL: a no longer has it
    for (const d of [a, dom0, b]) {
      expect(port.write(d.p2m[6]! * 4096, bytes(7))).toBe(false);
      expect(xen.mem.isZero(d.p2m[6]!)).toBe(true);
    }
    expect(iommu.faultLog.at(-1)!.domid).toBe(DOMID_IO);
    // The next owner: its own pages only.
    expect(iommu.assignDevice(b, NIC)).toBe(0);
    expect(port.write(b.p2m[6]! * 4096, bytes(8))).toBe(true);
    expect(port.write(a.p2m[6]! * 4096, bytes(8))).toBe(false);
  });

  it('a device of a destroyed domain goes to quarantine, and another domain cannot take a device a live one has (-EBUSY)', () => {
    const { xen, a, b, iommu, port } = setup();
    expect(iommu.assignDevice(b, NIC)).toBe(-16);
    const mfn = a.p2m[5]!;
    xen.destroyDomain(a);
    expect(iommu.ownerOf(NIC)).toBe(DOMID_IO);
    expect(port.write(mfn * 4096, bytes(1))).toBe(false);
    expect(audit(xen).violations.filter((v) => v.startsWith('iommu:'))).toEqual([]);
  });

  it('frames leaving a PV domain (decrease_reservation) leave its DMA table; fresh ones (increase_reservation) join it', () => {
    const { xen, a, port } = setup();
    const gone = a.p2m[30]!;
    expect(xen.decreaseReservation(a, [gone])).toBe(1);
    expect(port.write(gone * 4096, bytes(1))).toBe(false);
    const [fresh] = xen.increaseReservation(a, 1);
    expect(port.write(fresh! * 4096, bytes(1))).toBe(true);
    expect(audit(xen).violations.filter((v) => v.startsWith('iommu:'))).toEqual([]);
  });

  it("a translated (HAP) domain's device DMAs by gfn: the IOMMU table is its p2m", () => {
    const m = ioMachine('hap');
    const iommu = m.xen.iommu!;
    expect(iommu.assignDevice(m.a, NIC)).toBe(0);
    const port = iommu.hw.port(NIC);
    expect(port.write(10 * 4096 + 3, bytes(0x5a))).toBe(true);
    expect(m.xen.mem.readLo(m.a.p2m[10]!, 0) >>> 24).toBe(0x5a);
    // A gfn past its 16 MiB (4096 gfns) faults; b's frames all lie above Xen's 8192, so their
    // machine addresses are such gfns: a device cannot name them.
    expect(port.write(4096 * 4096, bytes(1))).toBe(false);
    expect(port.write(m.b.p2m[0]! * 4096, bytes(1))).toBe(false);
    expect(m.xen.mem.isZero(m.b.p2m[0]!)).toBe(true);
    expect(audit(m.xen).violations.filter((v) => v.startsWith('iommu:'))).toEqual([]);
  });

  it('the auditor checks the tables against ownership, types and the grant tables, not against the driver\'s own bookkeeping', () => {
    const { xen, a, b, iommu } = setup();
    const iommuFindings = () => audit(xen).violations.filter((v) => v.startsWith('iommu:'));
    expect(iommuFindings()).toEqual([]);
    // An entry for b's frame with no grant behind it (the driver's tally says granted; the grant table does not).
    const theirs = b.p2m[12]!;
    iommu.grantMapped(a, theirs, false);
    expect(iommuFindings()).toEqual([`iommu: a: reaches mfn ${theirs}, owned by ${b.domid}, not granted`]);
    iommu.grantUnmapped(a, theirs, false);
    expect(iommuFindings()).toEqual([]);
    // A frame of a's that became an L1 table behind the driver's back (its type changed without the hook).
    const table = a.p2m[13]!;
    const hook = xen.pvMm.onWritableChange;
    xen.pvMm.onWritableChange = null;
    expect(xen.pvMm.getPageType(table, PGT_l1_page_table, a)).toBe(0);
    xen.pvMm.onWritableChange = hook;
    expect(iommuFindings()).toEqual([`iommu: a: reaches mfn ${table} of type ${PGT_l1_page_table} (not writable: a device could rewrite a page table)`]);
  });

  it('machine.iommu false: DMA is identity, and the auditor reports what the device owner can reach', () => {
    const v = validateScenario({
      name: 'off',
      machine: { memoryMiB: 512, pcpus: 1, iommu: false },
      hypervisor: 'xen',
      domains: [
        { name: 'dom0', role: 'dom0', mode: 'pv', memoryMiB: 32, vcpus: 1 },
        { name: 'a', mode: 'pv', memoryMiB: 16, vcpus: 1 },
        { name: 'b', mode: 'pv', memoryMiB: 16, vcpus: 1 },
      ],
    });
    if (!v.ok) throw new Error(JSON.stringify(v.problems));
    const xen = new Hypervisor(v.scenario, costsOf(v.scenario), mmuConfigOf(v.scenario));
    const [, a, b] = v.scenario.domains.map((c) => {
      const d = xen.createDomain(c);
      xen.populatePhysmap(d, 0);
      return d;
    }) as [Domain, Domain, Domain];
    const iommu = xen.iommu!;
    expect(iommu.enabled).toBe(false);
    expect(iommu.assignDevice(a, NIC)).toBe(0);
    const port = iommu.hw.port(NIC);
    expect(port.write(b.p2m[4]! * 4096, bytes(0xee))).toBe(true);
    expect(firstByte(xen, b.p2m[4]!)).toBe(0xee);
    expect(port.write(7 * 4096, bytes(0xee))).toBe(true); // Xen's own frame
    expect(iommu.summary()).toEqual({ enabled: false, faults: 0, iotlbFlushes: 0 });
    const found = audit(xen).violations.filter((x) => x.startsWith('iommu:'));
    expect(found).toHaveLength(1);
    expect(found[0]).toContain('a owns device 0000:03:00.0 and the IOMMU is off');
    expect(found[0]).toContain(`${xen.mem.nrFrames - 16 * 256} of them not its own`);
  });

  it('a bad machine.iommu is refused at the field', () => {
    const v = validateScenario({
      name: 'bad',
      machine: { memoryMiB: 1024, pcpus: 1, iommu: 'on' },
      hypervisor: 'xen',
      domains: [{ name: 'g', mode: 'pv', memoryMiB: 64, vcpus: 1, workload: { kind: 'idle' } }],
    });
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.problems.map((p) => p.path)).toEqual(['machine.iommu']);
  });
});

/**
 * DMA faults in the hypervisor log, as Xen's VT-d driver prints them (xen/drivers/passthrough/
 * vtd/iommu.c, iommu_fault_do_one, VTDPREFIX "[VT-D]"): `xl dmesg` shows the requester, the
 * address and the reason.
 */
import { describe, expect, it } from 'vitest';
import { boot, scenario } from './toolstackHelpers.js';

describe('xl dmesg and the IOMMU', () => {
  it('a device of a driver domain writing into dom0 is blocked and logged with its BDF, address and reason', () => {
    const b = boot(
      scenario({
        machine: { memoryMiB: 1024, pcpus: 1, devices: [{ id: 'nic0', kind: 'nic', bdf: '04:02.0' }] },
        hypervisor: 'xen',
        domains: [{ name: 'netdd', mode: 'pv', memoryMiB: 64, vcpus: 1, pci: ['nic0'], workload: { kind: 'idle' } }],
      }),
    );
    const dom0 = b.sim.domains.find((d) => d.privileged)!;
    const target = dom0.dom.p2m[42]!;
    // The NIC's requests carry its source id (bus 4, device 2, function 0).
    const nic = b.sim.io!.devicePort('nic0');
    const before = b.sim.xen.mem.readLo(target, 2);
    expect(nic.write(target * 4096 + 0x10, Uint8Array.of(0xde, 0xad))).toBe(false);
    expect(b.sim.xen.mem.readLo(target, 2)).toBe(before);
    b.hub.tick();
    const log = b.cmd('dom0', 'xl dmesg');
    expect(log).toMatch(new RegExp(`\\(XEN\\) \\[[ 0-9.]+\\] \\[VT-D\\]DMAR:\\[DMA Write\\] Request device \\[0000:04:02\\.0\\] fault addr ${(target * 4096).toString(16)}\\n`));
    expect(log).toMatch(/\[VT-D\]DMAR: reason 05 - PTE Write access is not set/);
    expect(b.sim.results().iommu).toMatchObject({ enabled: true, faults: 1 });
  });
});

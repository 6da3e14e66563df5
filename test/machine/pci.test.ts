/**
 * PCI addresses, config space, the bus, MSI and DMA. Expected values come from the PCI spec's
 * field widths and register bits (Command bit 1 Memory Space, bit 2 Bus Master) and from
 * hand-computed byte positions in machine memory (8-byte little-endian entries).
 */
import { describe, expect, it } from 'vitest';
import { DirectDma } from '../../core/machine/devices/dma.js';
import { Msi } from '../../core/machine/devices/msi.js';
import { type Bdf, formatBdf, parseBdf, PciBus, PciConfigSpace, type PciFunction } from '../../core/machine/devices/pci.js';
import { MachineMemory } from '../../core/machine/memory.js';

describe('parseBdf / formatBdf', () => {
  it('reads the full form and xl\'s short form (segment 0)', () => {
    expect(parseBdf('0000:03:00.0')).toEqual({ seg: 0, bus: 3, dev: 0, fn: 0 });
    expect(parseBdf('03:00.0')).toEqual({ seg: 0, bus: 3, dev: 0, fn: 0 });
    expect(parseBdf('0001:ff:1f.7')).toEqual({ seg: 1, bus: 255, dev: 31, fn: 7 });
    expect(parseBdf('00:1A.3')).toEqual({ seg: 0, bus: 0, dev: 26, fn: 3 });
  });

  it('formats as lspci -D does and round-trips', () => {
    expect(formatBdf({ seg: 0, bus: 3, dev: 0, fn: 0 })).toBe('0000:03:00.0');
    expect(formatBdf({ seg: 0x10, bus: 0xab, dev: 0x1f, fn: 7 })).toBe('0010:ab:1f.7');
    expect(formatBdf(parseBdf('03:1c.2'))).toBe('0000:03:1c.2');
  });

  it('refuses a device past 1f, a function past 7 and garbage, naming the text', () => {
    for (const bad of ['03:20.0', '03:00.8', '3.0', 'nic0', '0000:03:00', '', '00000:03:00.0']) {
      expect(() => parseBdf(bad)).toThrow(new RegExp(`invalid PCI address "${bad.replace('.', '\\.')}"`));
    }
  });
});

describe('PciConfigSpace', () => {
  const cfg = () => new PciConfigSpace({ vendorId: 0x8086, deviceId: 0x100e, classCode: 0x020000, revision: 3 });

  it('identifies the function through the type 0 header', () => {
    const c = cfg();
    expect(c.read(0x00, 2)).toBe(0x8086);
    expect(c.read(0x02, 2)).toBe(0x100e);
    expect(c.read(0x00, 4)).toBe(0x100e8086);
    expect(c.read(0x08, 1)).toBe(3);
    expect(c.read(0x09, 1)).toBe(0x00); // prog-if
    expect(c.read(0x0b, 1)).toBe(0x02); // base class: network controller
  });

  it('keeps Memory Space in command bit 1 and Bus Master Enable in bit 2, both off at reset', () => {
    const c = cfg();
    expect(c.busMaster).toBe(false);
    c.setBusMaster(true);
    expect(c.command).toBe(0b100);
    c.setMemorySpace(true);
    expect(c.command).toBe(0b110);
    expect(c.read(0x04, 2)).toBe(0b110);
    c.msi.program(0xfee00000, 0x41);
    c.reset();
    expect(c.command).toBe(0);
    expect(c.busMaster).toBe(false);
    expect(c.msi.enabled).toBe(false);
  });
});

describe('Msi', () => {
  it('delivers the vector (data bits 7:0) only when enabled and listened to', () => {
    const m = new Msi();
    const got: number[] = [];
    expect(m.raise()).toBe(false);
    m.handler = (v) => got.push(v);
    expect(m.raise()).toBe(false);
    m.program(0xfee00000, 0x4133);
    expect(m.raise()).toBe(true);
    expect(got).toEqual([0x33]);
    expect(m.delivered).toBe(1);
    expect(m.suppressed).toBe(2);
  });
});

describe('PciBus', () => {
  const fn = (id: string, bdf: Bdf): PciFunction => ({
    id, kind: 'test', bdf, config: new PciConfigSpace({ vendorId: 1, deviceId: 2, classCode: 0 }), reset() {},
  });

  it('finds a function by bdf, by id and by address text, and lists in address order', () => {
    const bus = new PciBus();
    bus.add(fn('disk0', parseBdf('04:00.0')));
    bus.add(fn('nic0', parseBdf('03:00.0')));
    bus.add(fn('nic1', parseBdf('03:00.1')));
    expect(bus.get('nic0')?.id).toBe('nic0');
    expect(bus.get('0000:04:00.0')?.id).toBe('disk0');
    expect(bus.get('03:00.1')?.id).toBe('nic1');
    expect(bus.get({ seg: 0, bus: 3, dev: 0, fn: 0 })?.id).toBe('nic0');
    expect(bus.get('05:00.0')).toBeUndefined();
    expect(bus.get('nope')).toBeUndefined();
    expect(bus.list().map((f) => f.id)).toEqual(['nic0', 'nic1', 'disk0']);
  });

  it('refuses a bdf used twice and an id used twice', () => {
    const bus = new PciBus();
    bus.add(fn('nic0', parseBdf('03:00.0')));
    expect(() => bus.add(fn('nic9', parseBdf('0000:03:00.0')))).toThrow(/0000:03:00\.0 is already used by nic0/);
    expect(() => bus.add(fn('nic0', parseBdf('03:00.1')))).toThrow(/"nic0" is already on the bus/);
    expect(bus.list()).toHaveLength(1);
  });
});

describe('DirectDma', () => {
  it('writes and reads bytes across a page boundary at machine address = mfn·4096 + offset', () => {
    const mem = new MachineMemory(8);
    const dma = new DirectDma(mem);
    const src = Uint8Array.from({ length: 12 }, (_, i) => 0xa0 + i);
    // 2·4096 + 4090: six bytes at the end of frame 2, six at the start of frame 3.
    expect(dma.write(2 * 4096 + 4090, src)).toBe(true);
    // Frame 2, byte 4090 is entry 511 (bytes 4088–4095), byte 2 of its low half.
    expect(mem.readLo(2, 511)).toBe(((0xa1 << 24) | (0xa0 << 16)) >>> 0);
    expect(mem.readHi(2, 511)).toBe(((0xa5 << 24) | (0xa4 << 16) | (0xa3 << 8) | 0xa2) >>> 0);
    expect(mem.readLo(3, 0)).toBe(((0xa9 << 24) | (0xa8 << 16) | (0xa7 << 8) | 0xa6) >>> 0);
    expect(mem.readHi(3, 0)).toBe((0xab << 8) | 0xaa);
    const back = new Uint8Array(12);
    expect(dma.read(2 * 4096 + 4090, back)).toBe(true);
    expect([...back]).toEqual([...src]);
  });

  it('keeps the neighbouring bytes of a partial entry', () => {
    const mem = new MachineMemory(2);
    mem.write(1, 0, 0x11223344, 0x55667788);
    new DirectDma(mem).write(4096 + 1, Uint8Array.of(0xee));
    expect(mem.readLo(1, 0)).toBe(0x1122ee44);
    expect(mem.readHi(1, 0)).toBe(0x55667788);
  });

  it('refuses a transfer past the machine end and moves nothing', () => {
    const mem = new MachineMemory(4);
    const dma = new DirectDma(mem);
    expect(dma.write(4 * 4096 - 4, new Uint8Array(8).fill(1))).toBe(false);
    expect(mem.readLo(3, 511)).toBe(0);
    expect(mem.readHi(3, 511)).toBe(0);
    expect(dma.read(-8, new Uint8Array(4))).toBe(false);
    expect(dma.faults).toBe(2);
  });

  it('asks the translate hook per page and faults the whole transfer on -1', () => {
    const mem = new MachineMemory(16);
    const dma = new DirectDma(mem);
    const asked: number[] = [];
    // Bus page 1 → machine frame 9; bus page 2 → not mapped.
    dma.translate = (bus) => {
      asked.push(bus);
      const page = Math.floor(bus / 4096);
      return page === 1 ? 9 * 4096 + (bus % 4096) : -1;
    };
    expect(dma.write(4096 + 8, Uint8Array.of(1, 2, 3, 4))).toBe(true);
    // Bus byte 4096+8 is byte 8 of frame 9: entry 1, low half.
    expect(mem.readLo(9, 1)).toBe(0x04030201);
    expect(dma.write(4096 + 4092, new Uint8Array(8).fill(7))).toBe(false);
    expect(mem.readHi(9, 511)).toBe(0);
    expect(asked).toEqual([4096 + 8, 4096 + 4092, 2 * 4096]);
  });

  it('marks DMA-written frames in the log-dirty set', () => {
    const mem = new MachineMemory(8);
    mem.startDirtyLog();
    new DirectDma(mem).write(5 * 4096 + 100, new Uint8Array(4096));
    expect([...mem.dirty!].sort()).toEqual([5, 6]);
  });
});

/**
 * PCI: addresses, the part of config space that identifies and owns a function, and the bus.
 *
 * An address is segment:bus:device.function, written as Linux and xl write it ("0000:03:00.0";
 * xl's `pci = [ '03:00.0' ]` leaves out segment 0, docs/man/xl.cfg.5.pod.in "PCI_SPEC_STRING").
 * Field widths are PCI's: bus 8 bits, device 5 bits (0–1f), function 3 bits (0–7); the segment
 * (PCI Express's "PCI segment group") is 16 bits.
 */
import { Msi } from './msi.js';

export interface Bdf {
  seg: number;
  bus: number;
  dev: number;
  fn: number;
}

/** Config space offsets of the type 0 header (PCI Local Bus 3.0 §6.1; Linux's pci_regs.h names). */
export const PCI_VENDOR_ID = 0x00;
export const PCI_DEVICE_ID = 0x02;
export const PCI_COMMAND = 0x04;
export const PCI_CLASS_REVISION = 0x08;
/** Command register bit 1: the function answers memory-space accesses (its BARs). */
export const PCI_COMMAND_MEMORY = 0x0002;
/** Command register bit 2: Bus Master Enable — without it the function issues no memory requests (no DMA, no MSI). */
export const PCI_COMMAND_MASTER = 0x0004;

const BDF_RE = /^(?:([0-9a-fA-F]{1,4}):)?([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})\.([0-7])$/;

/** Parses "SSSS:BB:DD.F" or xl's short "BB:DD.F" (hex); throws an Error naming the text otherwise. */
export function parseBdf(s: string): Bdf {
  const m = typeof s === 'string' ? BDF_RE.exec(s.trim()) : null;
  const dev = m ? parseInt(m[3]!, 16) : -1;
  if (m === null || dev > 0x1f) {
    throw new Error(
      `invalid PCI address ${JSON.stringify(s)}: expected [segment:]bus:device.function in hex, ` +
        `device 00–1f and function 0–7, e.g. "0000:03:00.0" or "03:00.0"`,
    );
  }
  return { seg: m[1] === undefined ? 0 : parseInt(m[1], 16), bus: parseInt(m[2]!, 16), dev, fn: parseInt(m[4]!, 10) };
}

const hex = (n: number, w: number): string => n.toString(16).padStart(w, '0');

/** "0000:03:00.0", as lspci -D and xl pci-list print it. */
export function formatBdf(b: Bdf): string {
  return `${hex(b.seg, 4)}:${hex(b.bus, 2)}:${hex(b.dev, 2)}.${b.fn}`;
}

export function sameBdf(a: Bdf, b: Bdf): boolean {
  return a.seg === b.seg && a.bus === b.bus && a.dev === b.dev && a.fn === b.fn;
}

/** The identifying and owning part of a function's config space, plus its MSI capability. */
export class PciConfigSpace {
  readonly vendorId: number;
  readonly deviceId: number;
  /** Class code, 24 bits: base class, sub-class, programming interface (PCI Code and ID Assignment spec). */
  readonly classCode: number;
  readonly revision: number;
  /** The Command register (16 bits). Zero at reset: memory decoding and bus mastering off. */
  command = 0;
  /** The MSI capability (PCI_CAP_ID_MSI). */
  readonly msi: Msi;

  constructor(o: { vendorId: number; deviceId: number; classCode: number; revision?: number; msi?: Msi }) {
    this.vendorId = o.vendorId & 0xffff;
    this.deviceId = o.deviceId & 0xffff;
    this.classCode = o.classCode & 0xffffff;
    this.revision = (o.revision ?? 0) & 0xff;
    this.msi = o.msi ?? new Msi();
  }

  get memorySpace(): boolean {
    return (this.command & PCI_COMMAND_MEMORY) !== 0;
  }

  get busMaster(): boolean {
    return (this.command & PCI_COMMAND_MASTER) !== 0;
  }

  setBusMaster(on: boolean): void {
    this.command = on ? this.command | PCI_COMMAND_MASTER : this.command & ~PCI_COMMAND_MASTER;
  }

  setMemorySpace(on: boolean): void {
    this.command = on ? this.command | PCI_COMMAND_MEMORY : this.command & ~PCI_COMMAND_MEMORY;
  }

  /** A naturally aligned read of the type 0 header's identity and command fields (others read 0). */
  read(offset: number, size: 1 | 2 | 4): number {
    const dw = [
      (this.deviceId << 16) | this.vendorId,
      this.command,
      (this.classCode << 8) | this.revision,
    ][offset >> 2];
    if (dw === undefined) return 0;
    const shift = (offset & 3) * 8;
    const mask = size === 4 ? 0xffffffff : (1 << (size * 8)) - 1;
    return ((dw >>> shift) & mask) >>> 0;
  }

  /** What a Function Level Reset does to these registers: command cleared, MSI disabled. */
  reset(): void {
    this.command = 0;
    this.msi.reset();
  }
}

export interface PciFunction {
  readonly id: string;
  readonly kind: string;
  readonly bdf: Bdf;
  readonly config: PciConfigSpace;
  /** Function Level Reset (PCIe Base §6.6.2): queues dropped, Bus Master Enable off, MSI off. */
  reset(): void;
}

export class PciBus {
  private fns: PciFunction[] = [];

  /** Plugs a function in; refuses a second function at the same address or with the same id. */
  add(fn: PciFunction): void {
    const clash = this.fns.find((f) => sameBdf(f.bdf, fn.bdf));
    if (clash) {
      throw new Error(`PCI address ${formatBdf(fn.bdf)} is already used by ${clash.id}; give ${fn.id} another bdf`);
    }
    if (this.fns.some((f) => f.id === fn.id)) {
      throw new Error(`a PCI function with id ${JSON.stringify(fn.id)} is already on the bus`);
    }
    this.fns.push(fn);
  }

  /** By address, by id, or by an address written as text ("03:00.0"); undefined if absent. */
  get(key: Bdf | string): PciFunction | undefined {
    if (typeof key === 'string') {
      const byId = this.fns.find((f) => f.id === key);
      if (byId) return byId;
      if (!BDF_RE.test(key.trim())) return undefined;
      let b: Bdf;
      try {
        b = parseBdf(key);
      } catch {
        return undefined;
      }
      return this.fns.find((f) => sameBdf(f.bdf, b));
    }
    return this.fns.find((f) => sameBdf(f.bdf, key));
  }

  /** Every function, in address order (as lspci lists them). */
  list(): PciFunction[] {
    const k = (b: Bdf): number => ((b.seg * 256 + b.bus) * 32 + b.dev) * 8 + b.fn;
    return [...this.fns].sort((a, b) => k(a.bdf) - k(b.bdf));
  }
}

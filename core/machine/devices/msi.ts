/**
 * A device's MSI capability and the line it signals on. Message Signalled Interrupts (PCI Local
 * Bus 3.0 §6.8): the function writes `data` to `address`; on x86 the address is in the
 * 0xFEExxxxx window and data bits 7:0 are the vector (Intel SDM Vol. 3 §11.11, "Message
 * Signalled Interrupts"). The capability's registers live in the function's config space (see
 * PciConfigSpace.msi); the platform listens through `handler` — under Xen the hypervisor takes
 * the interrupt as a physical IRQ and sends it on the event channel bound to that pirq.
 *
 * An MSI is itself a memory write, so a function with Bus Master Enable clear cannot send one;
 * the device checks that before calling raise().
 */

/** PCI capability ID of MSI (PCI Local Bus 3.0 §6.8.1; Linux's PCI_CAP_ID_MSI). */
export const PCI_CAP_ID_MSI = 0x05;
/** Message Control bit 0, MSI Enable (PCI Local Bus 3.0 §6.8.1.3; Linux's PCI_MSI_FLAGS_ENABLE). */
export const PCI_MSI_FLAGS_ENABLE = 0x0001;
/** x86 MSI address window base (Intel SDM Vol. 3 §11.11.1): bits 31:20 are 0xFEE. */
export const MSI_ADDR_BASE = 0xfee00000;

export class Msi {
  /** Message Address (low 32 bits are enough on x86). */
  address = 0;
  /** Message Data; bits 7:0 are the vector on x86. */
  data = 0;
  /** Message Control's MSI Enable. Off after reset (PCI Local Bus 3.0 §6.8.1.3). */
  enabled = false;
  /** Set by the platform: receives the vector of each message. */
  handler: ((vector: number) => void) | null = null;
  /** Messages delivered to the handler. */
  delivered = 0;
  /** raise() calls that sent nothing because MSI was disabled or nobody listened. */
  suppressed = 0;

  /** Sends one message; returns whether it reached a handler. */
  raise(): boolean {
    if (!this.enabled || this.handler === null) {
      this.suppressed++;
      return false;
    }
    this.delivered++;
    this.handler(this.data & 0xff);
    return true;
  }

  /** Programs and enables the capability (what a driver or Xen's msi.c does). */
  program(address: number, data: number): void {
    this.address = address >>> 0;
    this.data = data & 0xffff;
    this.enabled = true;
  }

  reset(): void {
    this.enabled = false;
    this.address = 0;
    this.data = 0;
  }
}

/**
 * What the guest kernel cannot recover from: a hypercall it relied on refused (Linux BUG()s on a
 * failed mmu_update), or state it cannot make sense of (a panic or oops).
 */
/** A hypercall the guest kernel relied on was refused (a correct kernel never sees this). */
export class XenRefusal extends Error {
  constructor(
    readonly rc: number,
    message: string,
  ) {
    super(message);
  }
}

/** The guest kernel met state it cannot handle (a Linux kernel would panic or oops). */
export class GuestPanic extends Error {}

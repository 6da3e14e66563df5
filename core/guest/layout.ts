/**
 * The guest kernel's virtual address layout (Linux x86-64, Documentation/arch/x86/x86_64/mm.rst).
 */
/** Start of the PV guest kernel's direct map of all its memory (0xffff880000000000). */
export const DIRECTMAP_BASE = 0x880000000000;

/**
 * XENMEM_* (xen/include/public/memory.h): the memory_op sub-commands a guest uses to give frames
 * back to Xen and take fresh ones (the balloon driver; netback and netfront when they flip pages).
 */
export const XENMEM_increase_reservation = 0;
export const XENMEM_decrease_reservation = 1;
export const XENMEM_populate_physmap = 6;

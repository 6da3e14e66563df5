/**
 * Xen's error codes as the hypercall ABI returns them (xen/include/public/errno.h): negative
 * values; names are what the lab shows ("-EBUSY").
 */
export const EPERM = -1;
export const ENOENT = -2;
export const ESRCH = -3;
export const ENOMEM = -12;
export const EFAULT = -14;
export const EBUSY = -16;
export const ENODEV = -19;
export const EEXIST = -17;
export const EINVAL = -22;
export const ENOSPC = -28;
export const ENOSYS = -38;

const NAMES: Record<number, string> = {
  [EPERM]: '-EPERM',
  [ENOENT]: '-ENOENT',
  [ESRCH]: '-ESRCH',
  [ENOMEM]: '-ENOMEM',
  [EFAULT]: '-EFAULT',
  [EBUSY]: '-EBUSY',
  [ENODEV]: '-ENODEV',
  [EEXIST]: '-EEXIST',
  [EINVAL]: '-EINVAL',
  [ENOSPC]: '-ENOSPC',
  [ENOSYS]: '-ENOSYS',
};

export function errnoName(rc: number): string {
  return rc === 0 ? '0' : (NAMES[rc] ?? String(rc));
}

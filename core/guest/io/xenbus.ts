/**
 * xenbus helpers shared by frontends and backends (Linux drivers/xen/xenbus/xenbus_client.c):
 * switching one's own state node, reading the other end's, and the device ids Linux gives xvdX.
 */
import { XENBUS_STATE_NAMES, parseXenbusState, type XenbusState } from '../../api/public/io/xenbus.js';
import type { XenbusStore } from './env.js';

/** xenbus_switch_state: publish our state in <dir>/state. */
export function switchState(xs: XenbusStore, dir: string, state: XenbusState): void {
  xs.write(`${dir}/state`, String(state));
}

/** xenbus_read_driver_state: the other end's state, Unknown when its node is gone. */
export function readState(xs: XenbusStore, dir: string): XenbusState {
  return parseXenbusState(xs.read(`${dir}/state`));
}

export function stateName(s: XenbusState): string {
  return XENBUS_STATE_NAMES[s];
}

/** Linux's xen-blkfront device number for xvdX: major 202, 16 minors per disk (xvda = 51712). */
export function xvdDevid(vdev: string): number {
  const letter = vdev.charCodeAt(3) - 97;
  return (202 << 8) | (letter << 4);
}

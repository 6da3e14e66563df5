/** The xenbus connection states each end publishes in xenstore (xen/include/public/io/xenbus.h). */
export const XenbusStateUnknown = 0;
export const XenbusStateInitialising = 1;
/** Finished early initialisation, waiting for information from the peer or hotplug scripts. */
export const XenbusStateInitWait = 2;
/** Initialised and waiting for a connection from the peer. */
export const XenbusStateInitialised = 3;
export const XenbusStateConnected = 4;
/** Being closed because of an error or an unplug. */
export const XenbusStateClosing = 5;
export const XenbusStateClosed = 6;
export const XenbusStateReconfiguring = 7;
export const XenbusStateReconfigured = 8;

export type XenbusState = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

export const XENBUS_STATE_NAMES = ['Unknown', 'Initialising', 'InitWait', 'Initialised', 'Connected', 'Closing', 'Closed', 'Reconfiguring', 'Reconfigured'] as const;

/** xenbus_read_driver_state: a missing or unparsable node reads as Unknown. */
export function parseXenbusState(v: string | null): XenbusState {
  const n = v === null ? NaN : Number(v);
  return Number.isInteger(n) && n >= 0 && n <= 8 ? (n as XenbusState) : XenbusStateUnknown;
}

/**
 * Paths and arguments as xenstored reads them (tools/xenstored/core.c: onearg, valid_chars,
 * canonicalize; watch.c: is_child).
 */
import { fail, ok } from './tree.js';
import type { XsResult } from './tree.js';
import { XENSTORE_ABS_PATH_MAX, XENSTORE_REL_PATH_MAX, splitStrings } from './wire.js';

/** The message's single NUL-terminated argument (core.c onearg); null when malformed. */
export function oneArg(p: Uint8Array): string | null {
  const a = splitStrings(p);
  return a && a.length === 1 ? a[0]! : null;
}

export function parseDecimal(s: string): number | null {
  return /^-?\d{1,10}$/.test(s) ? Number(s) : null;
}

/** core.c is_valid_nodename: absolute, no doubled or trailing slash, only [A-Za-z0-9-/_@]. */
export function isValidNodename(p: string): boolean {
  return p === '/' || /^(\/[A-Za-z0-9_@-]+)+$/.test(p);
}

/** xenstore.txt: `child` is a child of `parent` if identical, if parent is /, or if parent/ prefixes it. */
export function isChild(child: string, parent: string): boolean {
  return child === parent || parent === '/' || child.startsWith(parent + '/');
}

export function relative(abs: string, domid: number): string {
  const home = `/local/domain/${domid}/`;
  return abs.startsWith(home) ? abs.slice(home.length) : abs;
}


/**
 * A request's path made absolute: a relative one is taken from /local/domain/<domid>
 * (xenstore.txt); EINVAL for a special (@) name, a bad character, a doubled or trailing slash, or
 * a path past XENSTORE_REL_PATH_MAX / XENSTORE_ABS_PATH_MAX.
 */
export function canonicalize(domid: number, p: string): XsResult<string> {
  if (p.startsWith('@')) return fail('EINVAL');
  const abs = p.startsWith('/') ? p : `/local/domain/${domid}/${p}`;
  if (!p.startsWith('/') && p.length > XENSTORE_REL_PATH_MAX) return fail('EINVAL');
  if (abs.length > XENSTORE_ABS_PATH_MAX || !isValidNodename(abs)) return fail('EINVAL');
  return ok(abs);
}

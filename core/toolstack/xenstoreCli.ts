/**
 * The xenstore command-line tools (tools/xenstore/xenstore_client.c): xenstore-ls, -read,
 * -write, -list and -rm, run as a given domain so that xenstore's permissions apply.
 */
import type { Xenstore, XsError } from './xenstore.js';

/** glibc's strerror for each errno xenstored can answer (xs_wire.h's xsd_errors). */
const STRERROR: Record<XsError, string> = {
  EINVAL: 'Invalid argument',
  EACCES: 'Permission denied',
  EEXIST: 'File exists',
  EISDIR: 'Is a directory',
  ENOENT: 'No such file or directory',
  ENOMEM: 'Cannot allocate memory',
  ENOSPC: 'No space left on device',
  EIO: 'Input/output error',
  ENOTEMPTY: 'Directory not empty',
  ENOSYS: 'Function not implemented',
  EROFS: 'Read-only file system',
  EBUSY: 'Device or resource busy',
  EAGAIN: 'Resource temporarily unavailable',
  EISCONN: 'Transport endpoint is already connected',
  E2BIG: 'Argument list too long',
  EPERM: 'Operation not permitted',
};

export const XENSTORE_USAGE: Record<string, string> = {
  'xenstore-ls': 'Usage: xenstore-ls [-h] [path]',
  'xenstore-read': 'Usage: xenstore-read [-h] key [...]',
  'xenstore-write': 'Usage: xenstore-write [-h] key value [...]',
  'xenstore-list': 'Usage: xenstore-list [-h] key [...]',
  'xenstore-rm': 'Usage: xenstore-rm [-h] key [...]',
};

export const XENSTORE_COMMANDS = Object.keys(XENSTORE_USAGE);

/** Runs one xenstore tool as domain `caller`; returns its output lines. */
export function xenstoreTool(store: Xenstore, caller: number, tool: string, args: readonly string[]): string[] {
  const usage = XENSTORE_USAGE[tool];
  if (!usage) return [`-bash: ${tool}: command not found`];
  if (args.includes('-h')) return [usage];
  const bad = args.find((a) => a.startsWith('-'));
  if (bad) return [`${tool}: invalid option -- '${bad.slice(1, 2)}'`, usage];
  const out: string[] = [];
  switch (tool) {
    case 'xenstore-ls': {
      if (args.length > 1) return [usage];
      const path = args[0] ?? '/';
      const r = store.ls(path, caller);
      if (!r.ok) return [`xenstore-ls: xs_directory (${path}): ${STRERROR[r.errno]}`];
      return r.value;
    }
    case 'xenstore-read':
      if (args.length === 0) return [usage];
      for (const p of args) {
        const r = store.read(p, caller);
        if (!r.ok) return [...out, `xenstore-read: couldn't read path ${p}`];
        out.push(r.value);
      }
      return out;
    case 'xenstore-list':
      if (args.length === 0) return [usage];
      for (const p of args) {
        const r = store.directory(p, caller);
        if (!r.ok) return [...out, `xenstore-list: xs_directory (${p}): ${STRERROR[r.errno]}`];
        out.push(...r.value);
      }
      return out;
    case 'xenstore-write':
      if (args.length === 0 || args.length % 2 !== 0) return [usage];
      for (let i = 0; i < args.length; i += 2) {
        const r = store.write(args[i]!, args[i + 1]!, caller);
        if (!r.ok) return [`xenstore-write: could not write path ${args[i]}: ${STRERROR[r.errno]}`];
      }
      return out;
    case 'xenstore-rm':
      if (args.length === 0) return [usage];
      for (const p of args) {
        const r = store.rm(p, caller);
        if (!r.ok) return [`xenstore-rm: could not remove path ${p}: ${STRERROR[r.errno]}`];
      }
      return out;
  }
  return [usage];
}

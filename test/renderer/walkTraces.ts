/**
 * Hand-built walk traces for the walk view's tests, in the order the reference walk makes its
 * references (core/machine/mmu/referenceWalk.ts): nested, row by row — for each guest level the
 * EPT reads of the guest table's address (host levels high to low), then the guest entry itself
 * (host level 0) — then the final gPA's EPT reads (guest level 0); one-dimensional, one entry per
 * guest level. Addresses and entries are made up but distinct, so a test can tell cells apart.
 */
import type { PagingMode, WalkRefServer, WalkTrace, WalkTraceRef } from '../../core/api/index.js';

const LEVELS = { '4k': [4, 3, 2, 1], '2m': [4, 3, 2], '1g': [4, 3] } as const;
type Size = keyof typeof LEVELS;

function ref(n: number, guestLevel: number, hostLevel: number, servedBy: WalkRefServer): WalkTraceRef {
  return {
    n,
    guestLevel,
    hostLevel,
    maddr: `0x${(0x42000000 + n * 0x1008).toString(16)}`,
    entry: `0x${(0x10000007 + n * 0x1000).toString(16).padStart(16, '0')}`,
    decoded: hostLevel > 0 ? `R W X frame 0x${(0x10000 + n).toString(16)}` : `P RW US A frame 0x${(0x10000 + n).toString(16)}`,
    servedBy,
  };
}

export function nestedTrace(guest: Size, host: Size, opts: { servedBy?: (n: number) => WalkRefServer; stopAfter?: number } = {}): WalkTrace {
  const served = opts.servedBy ?? ((n: number) => (n <= 5 || n % 5 === 0 ? 'memory' : 'data-cache'));
  const refs: WalkTraceRef[] = [];
  const push = (g: number, h: number) => refs.push(ref(refs.length + 1, g, h, served(refs.length + 1)));
  for (const g of LEVELS[guest]) {
    for (const h of LEVELS[host]) push(g, h);
    push(g, 0);
  }
  for (const h of LEVELS[host]) push(0, h);
  const n = LEVELS[guest].length;
  const m = LEVELS[host].length;
  const cut = opts.stopAfter !== undefined;
  return {
    domain: 'g2',
    mode: 'hap',
    va: '0x7effff800000',
    kind: 'nested',
    guestLevels: n,
    hostLevels: m,
    ok: !cut,
    maddr: cut ? null : '0x30ffa000',
    pageSize: cut ? 0 : Math.min(guest === '4k' ? 4096 : 2 ** 21, host === '4k' ? 4096 : 2 ** 21),
    fault: cut ? '#PF at L4: not present (user read, error code 0x4)' : null,
    refs: cut ? refs.slice(0, opts.stopAfter) : refs,
    expectedRefs: (n + 1) * (m + 1) - 1,
  };
}

export function onedTrace(mode: PagingMode, size: Size = '4k'): WalkTrace {
  const refs = LEVELS[size].map((g, i) => ref(i + 1, g, 0, i < 3 ? 'memory' : 'data-cache'));
  return {
    domain: 'g1',
    mode,
    va: '0x7effff800000',
    kind: 'oned',
    guestLevels: refs.length,
    hostLevels: 0,
    ok: true,
    maddr: '0x30ffb000',
    pageSize: size === '4k' ? 4096 : 2 ** 21,
    fault: null,
    refs,
    expectedRefs: refs.length,
  };
}

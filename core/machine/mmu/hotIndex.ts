/**
 * The counter indices and kinds the MMU's hot paths use, as plain numbers.
 *
 * Why: under esbuild (tsx, Vite, vitest transform each file alone), an imported const enum was
 * compiled to a real, reverse-mapped object in dictionary mode, and every `c[C.TlbHits]++` was a
 * hash lookup measured at ~6 ns — more than the rest of a TLB hit. `C` is now a frozen object
 * (counters.ts); plain module constants, read once here, still keep the hot path free of any
 * property load.
 */
import { C } from '../counters.js';
import { FaultKind, PagingKind } from './types.js';

export const CTR_TLB_LOOKUPS: number = C.TlbLookups;
export const CTR_TLB_HITS: number = C.TlbHits;
export const CTR_TLB_MISSES: number = C.TlbMisses;
export const CTR_WALKS: number = C.Walks;
export const CTR_WALK_REFS: number = C.WalkRefs;
export const CTR_WALK_REFS_CACHED: number = C.WalkRefsCached;
export const CTR_WALK_REFS_MEMORY: number = C.WalkRefsMemory;
export const CTR_CYC_WALK: number = C.CycWalk;
export const CTR_CYC_GUEST: number = C.CycGuest;
export const CTR_PSC_HITS: number = C.PscHits;
export const CTR_NTLB_HITS: number = C.NtlbHits;

export const KIND_NESTED: number = PagingKind.Nested;
export const FAULT_PAGE: FaultKind = FaultKind.PageFault;
export const FAULT_EPT: FaultKind = FaultKind.EptViolation;

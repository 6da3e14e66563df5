/**
 * The fast path (TLBs, paging-structure caches, nested TLB, data cache) against the reference
 * walk, over long random sequences of what an OS and a hypervisor do: map, unmap and protect
 * pages of every size (followed by the invalidation the OS would issue), unlink tables, switch
 * address spaces with and without a flush, change EPT (with INVEPT), and access memory. Every
 * access must give exactly the reference's result; every walk must make exactly the references
 * the reference trace says are not skipped, cached and uncached alike.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { Rng } from '../../core/base/rng.js';
import type { PageSize } from '../../core/base/types.js';
import { C } from '../../core/machine/counters.js';
import { EPT_R, EPT_W, EPT_X, PTE_G, PTE_NX, PTE_RW, PTE_US } from '../../core/machine/pte.js';
import { MapChange, TableBuilder } from '../../core/machine/mmu/tableBuilder.js';
import { FaultKind, PagingKind, type MmuConfig } from '../../core/machine/mmu/types.js';
import { config, GiB1, GUEST_BASE_MFN, KiB4, Machine, MiB2 } from './helpers.js';

const OPS_PER_RUN = 2500;
const KERNEL_L4 = 256;
const DATA_1D = 2 ** 18;

type Mode = '1d' | 'nested';

const VARIANTS: Record<string, () => MmuConfig> = {
  default: () => config(),
  tiny: () =>
    config({
      tlb4k: { entries: 8, ways: 2 },
      tlb2m: { entries: 4, ways: 2 },
      tlb1g: { entries: 2, ways: 1 },
      psc: { enabled: true, pml4e: 1, pdpte: 2, pde: 2 },
      nestedTlb: { enabled: true, entries: 4, ways: 2 },
    }),
  noPsc: () => config({ psc: { enabled: false, pml4e: 4, pdpte: 16, pde: 32 } }),
  noNtlb: () => config({ nestedTlb: { enabled: false, entries: 64, ways: 4 } }),
};

interface Space {
  root: number;
  pcid: number;
}

class World {
  readonly m: Machine;
  readonly tables: TableBuilder;
  readonly spaces: Space[] = [];
  cur = 0;
  readonly vpid = 1;
  private nextTableGfn = 1;
  /** Recently mapped pages per space (index 3: the shared kernel half), so most accesses find something. */
  readonly mapped: { va: number; size: number }[][] = [[], [], [], []];
  readonly log: string[] = [];
  private lastVa = -1;

  constructor(
    readonly mode: Mode,
    readonly rng: Rng,
    cfg: MmuConfig,
  ) {
    this.m = new Machine(cfg);
    const m = this.m;
    m.ctx.vpid = this.vpid;
    if (mode === 'nested') {
      const eptRoot = m.ept.newRoot();
      m.ctx.kind = PagingKind.Nested;
      m.ctx.eptRoot = eptRoot;
      // Host pages of every size: 4 KiB below gfn 512 (the guest's tables live there), 2 MiB up to
      // 128 MiB, one 1 GiB page at 1 GiB; the rest of guest-physical space is unmapped.
      for (let gfn = 0; gfn < 512; gfn++) m.ept.map(eptRoot, gfn * KiB4, GUEST_BASE_MFN + gfn, '4k', EPT_R | EPT_W | EPT_X);
      for (let gfn = 512; gfn < 512 * 64; gfn += 512) m.ept.map(eptRoot, gfn * KiB4, GUEST_BASE_MFN + gfn, '2m', EPT_R | EPT_W | EPT_X);
      m.ept.map(m.ctx.eptRoot, GiB1, GUEST_BASE_MFN + 2 ** 18, '1g', EPT_R | EPT_W | EPT_X);
      this.tables = new TableBuilder(m.mem, 'x86', () => this.nextTableGfn++, (gfn) => GUEST_BASE_MFN + gfn);
    } else {
      this.tables = m.x86;
    }
    for (let i = 0; i < 3; i++) this.spaces.push({ root: this.tables.newRoot(), pcid: i + 1 });
    // A kernel half shared by every address space, as kernels share their upper tables.
    const kva = KERNEL_L4 * 2 ** 39;
    this.tables.map(this.spaces[0]!.root, kva, this.dataFrame('4k'), '4k', PTE_RW | PTE_G);
    const l3 = this.tables.entry(this.spaces[0]!.root, kva, 4)!;
    for (const s of this.spaces.slice(1)) this.tables.link(s.root, kva, 4, l3.lo >>> 12);
    this.use(0);
  }

  use(i: number): void {
    this.cur = i;
    this.m.ctx.cr3 = this.spaces[i]!.root;
    this.m.ctx.pcid = this.spaces[i]!.pcid;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.rng.below(xs.length)]!;
  }

  /** A frame for a data page of `size`: machine frames for 1D, gfns (over every host page size) when nested. */
  dataFrame(size: PageSize): number {
    const r = this.rng;
    if (this.mode === '1d') {
      if (size === '4k') return DATA_1D + r.below(4096);
      if (size === '2m') return DATA_1D + 512 * r.below(8);
      return DATA_1D + 2 ** 18 * r.below(2);
    }
    if (size === '4k') return this.pick([r.below(512), 512 * 3 + r.below(1024), 2 ** 18 + r.below(2048)]);
    if (size === '2m') return this.pick([0, 512 * (4 + r.below(4)), 2 ** 18 + 512 * r.below(4)]);
    return this.pick([0, 2 ** 18]);
  }

  /** An address in a recently mapped page (most of the time), else anywhere in the test's range. */
  accessVa(): number {
    const r = this.rng;
    // Locality: often the page just touched again (TLB hits, and their permission checks).
    if (this.lastVa >= 0 && r.below(10) < 4) return this.lastVa - (this.lastVa % KiB4) + r.below(KiB4);
    const mine = this.mapped[r.below(4) === 0 ? 3 : this.cur]!;
    if (mine.length > 0 && r.below(10) < 8) {
      const p = this.pick(mine);
      // Within 8 MiB of the page start: a 1 GiB page is mostly backed by 2 MiB host pages there.
      return p.va + r.below(Math.min(p.size, 8 * MiB2));
    }
    return this.randomVa();
  }

  randomVa(size: PageSize = '4k'): number {
    const r = this.rng;
    const l4 = this.pick([0, 1, KERNEL_L4]);
    // 1 GiB pages go to their own slots, so that they do not wipe out every smaller mapping.
    const l3 = size === '1g' ? 2 + r.below(2) : r.below(3);
    const l2 = size === '1g' ? 0 : this.pick([0, 1, 2, 70]);
    const l1 = size === '4k' ? r.below(10) : 0;
    const off = size === '4k' ? r.below(4096) : 0;
    return l4 * 2 ** 39 + l3 * GiB1 + l2 * MiB2 + l1 * KiB4 + off;
  }

  randomFlags(kernel: boolean): number {
    const r = this.rng;
    let f = 0;
    if (r.below(10) < 7) f |= PTE_RW;
    if (!kernel && r.below(10) < 8) f |= PTE_US;
    if (r.below(10) < 2) f |= PTE_NX;
    if (kernel) f |= PTE_G;
    return f;
  }

  /** The invalidation an OS issues after changing the tables of space `s` at `va`. */
  invalidate(s: number, va: number, change: MapChange): void {
    if (change === MapChange.None) return;
    const mmu = this.m.mmu;
    const kernel = Math.floor(va / 2 ** 39) === KERNEL_L4;
    if (kernel) {
      // Shared by every PCID: 1D kernel entries are global, so INVLPG drops them everywhere;
      // nested entries are per PCID (G applies to 1D only), so the whole VPID goes.
      if (change === MapChange.Leaf && this.mode === '1d') mmu.invlpg(va);
      else mmu.flushVpid(this.vpid);
    } else if (change === MapChange.Leaf && s === this.cur) {
      mmu.invlpg(va);
    } else {
      mmu.flushPcid(this.vpid, this.spaces[s]!.pcid);
    }
  }

  step(): void {
    const r = this.rng;
    const m = this.m;
    const roll = r.below(100);
    if (roll < 75) return this.access();
    const s = r.below(10) < 7 ? this.cur : r.below(3);
    const root = this.spaces[s]!.root;
    if (roll < 83) {
      const roll2 = r.below(20);
      const size: PageSize = roll2 < 16 ? '4k' : roll2 < 19 ? '2m' : '1g';
      const va = this.randomVa(size);
      const kernel = Math.floor(va / 2 ** 39) === KERNEL_L4;
      const change = this.tables.map(root, va, this.dataFrame(size), size, this.randomFlags(kernel));
      this.log.push(`map s${s} ${va.toString(16)} ${size} -> ${change}`);
      const list = this.mapped[kernel ? 3 : s]!;
      const bytes = size === '4k' ? KiB4 : size === '2m' ? MiB2 : GiB1;
      list.push({ va: va - (va % bytes), size: bytes });
      if (list.length > 32) list.shift();
      this.invalidate(s, va, change);
    } else if (roll < 86) {
      const va = this.accessVa();
      this.log.push(`unmap s${s} ${va.toString(16)}`);
      this.invalidate(s, va, this.tables.unmap(root, va));
    } else if (roll < 90) {
      const va = this.accessVa();
      const kernel = Math.floor(va / 2 ** 39) === KERNEL_L4;
      this.log.push(`protect s${s} ${va.toString(16)}`);
      if (this.tables.protect(root, va, this.randomFlags(kernel))) this.invalidate(s, va, MapChange.Leaf);
    } else if (roll < 91) {
      const va = this.randomVa();
      const level = 2 + r.below(2);
      if (Math.floor(va / 2 ** 39) === KERNEL_L4) return;
      this.log.push(`clear s${s} ${va.toString(16)} L${level}`);
      this.invalidate(s, va, this.tables.clear(root, va, level) === MapChange.None ? MapChange.None : MapChange.Structure);
    } else if (roll < 95) {
      const next = r.below(3);
      const flush = r.below(2) === 0;
      this.log.push(`cr3 -> s${next}${flush ? '' : ' (no flush)'}`);
      this.use(next);
      if (flush) m.mmu.flushPcid(this.vpid, this.spaces[next]!.pcid);
    } else if (roll < 96) {
      const k = r.below(5);
      this.log.push(`flush #${k}`);
      if (k === 0) m.mmu.flushAll();
      else if (k === 1) m.mmu.coldFlush();
      else if (k === 2) m.mmu.flushPsc();
      else if (k === 3) m.mmu.flushDataCache();
      else m.mmu.flushNestedTlb();
    } else if (this.mode === 'nested') {
      this.eptChange();
    }
  }

  /** The hypervisor changes one EPT leaf and issues INVEPT. */
  eptChange(): void {
    const r = this.rng;
    const m = this.m;
    const gfn = this.dataFrame(this.pick<PageSize>(['4k', '4k', '2m'])) + (r.below(2) ? 0 : r.below(512));
    const gpa = gfn * KiB4;
    const leaf = m.ept.leaf(m.ctx.eptRoot, gpa);
    const k = r.below(3);
    if (k === 0 && leaf) {
      m.ept.protect(m.ctx.eptRoot, gpa, this.pick([EPT_R, EPT_R | EPT_W, EPT_R | EPT_X, EPT_X, EPT_R | EPT_W | EPT_X]));
    } else if (k === 1 && leaf) {
      m.ept.unmap(m.ctx.eptRoot, gpa);
    } else {
      // Restore the original mapping of the host page holding gfn.
      const size: PageSize = gfn < 512 ? '4k' : gfn < 512 * 64 ? '2m' : gfn >= 2 ** 18 && gfn < 2 ** 19 ? '1g' : '4k';
      if (size === '4k' && gfn >= 512) return;
      const pages = size === '4k' ? 1 : size === '2m' ? 512 : 2 ** 18;
      const base = gfn - (gfn % pages);
      m.ept.map(m.ctx.eptRoot, base * KiB4, GUEST_BASE_MFN + base, size, EPT_R | EPT_W | EPT_X);
    }
    this.log.push(`ept ${k} gfn ${gfn.toString(16)}`);
    m.mmu.flushNestedTlb();
  }

  access(): void {
    const r = this.rng;
    const m = this.m;
    const va = this.accessVa();
    this.lastVa = va;
    const kind = r.below(10);
    const fetch = kind === 0;
    const write = !fetch && kind < 4;
    // Mostly user accesses to user pages and kernel accesses to kernel pages, as programs do.
    const kernel = Math.floor(va / 2 ** 39) === KERNEL_L4;
    const user = r.below(10) < 8 ? !kernel : kernel;
    const ref = m.mmu.referenceTranslate(m.ctx, va, write, user, true, fetch);
    const c = m.c;
    const before = [c[C.Walks]!, c[C.WalkRefs]!, c[C.WalkRefsCached]!, c[C.WalkRefsMemory]!];
    const got = fetch ? m.mmu.translateFetch(va, user) : m.mmu.translate(va, write, user);
    const what = `${fetch ? 'fetch' : write ? 'write' : 'read'}${user ? ' user' : ''} ${va.toString(16)} in s${this.cur}`;
    this.log.push(what);
    const fail = (msg: string) => {
      throw new Error(`${msg}\n  at ${what}\n  last ops:\n    ${this.log.slice(-25).join('\n    ')}`);
    };
    if (ref.ok) {
      if (got !== ref.maddr) fail(`fast path gave ${got}, reference ${ref.maddr}`);
    } else {
      const f = m.mmu.fault;
      if (got !== -1) fail(`fast path translated to ${got}, reference faults (${ref.faultKind})`);
      const a = [f.kind, f.errorCode, f.level, f.gpa, f.duringGuestWalk].join();
      const b = [ref.faultKind, ref.faultErrorCode, ref.faultLevel, ref.faultKind === FaultKind.EptViolation ? ref.faultGpa : 0, ref.faultDuringGuestWalk].join();
      if (a !== b) fail(`fault ${a} != reference ${b}`);
    }
    const walks = c[C.Walks]! - before[0]!;
    if (walks === 0) {
      if (!ref.ok) fail('a TLB hit for an address the tables do not allow');
      return;
    }
    if (walks !== 1) fail(`${walks} walks for one access`);
    const made = ref.trace.filter((x) => x.source === 'memory' || x.source === 'data-cache');
    const cached = made.filter((x) => x.source === 'data-cache').length;
    const refs = c[C.WalkRefs]! - before[1]!;
    if (refs !== made.length) fail(`walk made ${refs} references, trace says ${made.length}`);
    if (c[C.WalkRefsCached]! - before[2]! !== cached) fail(`walk had ${c[C.WalkRefsCached]! - before[2]!} cached references, trace says ${cached}`);
    if (c[C.WalkRefsMemory]! - before[3]! !== made.length - cached) fail('memory references differ from the trace');
    if (ref.ok) {
      // The TLB entry is in the TLB of the translation's size (unless EPT made it execute-only).
      const t = ref.pageSize === KiB4 ? m.mmu.tlb4k : ref.pageSize === MiB2 ? m.mmu.tlb2m : m.mmu.tlb1g;
      const vpid = m.ctx.vpid;
      const found = t.peek(Math.floor(va / ref.pageSize), (vpid << 12) | m.ctx.pcid, ~vpid) >= 0;
      const execOnly = this.mode === 'nested' && !ref.writable && ref.nx === false && !found;
      if (!found && !execOnly) fail(`no ${ref.pageSize}-byte TLB entry after the walk`);
    }
  }
}

function run(mode: Mode, seed: number, variant: string): void {
  const w = new World(mode, new Rng(seed), VARIANTS[variant]!());
  for (let i = 0; i < OPS_PER_RUN; i++) w.step();
  const c = w.m.c;
  if (c[C.TlbLookups] !== c[C.TlbHits]! + c[C.TlbMisses]!) throw new Error('lookups != hits + misses');
  for (const t of [w.m.mmu.tlb4k, w.m.mmu.tlb2m, w.m.mmu.tlb1g]) {
    if (t.live !== t.count()) throw new Error(`the ${t.pageSize}-byte TLB thinks it holds ${t.live} entries, it holds ${t.count()}`);
  }
}

describe('translate() equals referenceTranslate() over long random sequences', () => {
  for (const mode of ['1d', 'nested'] as Mode[]) {
    it(`${mode}: ${OPS_PER_RUN} ops per run, every TLB/PSC/nested-TLB geometry`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 0x7fffffff }), fc.constantFrom(...Object.keys(VARIANTS)), (seed, variant) => {
          run(mode, seed, variant);
        }),
        { numRuns: Number(process.env.MMU_PROPERTY_RUNS ?? 24) },
      );
    });
  }
});

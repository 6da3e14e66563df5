/**
 * Processes' address spaces as wholes (Linux's kernel/fork.c, kernel/exit.c, fs/exec.c): a
 * copy-on-write fork, exit tearing an address space down, and execve building a fresh one.
 */
import { C } from '../machine/counters.js';
import { PTE_RW } from '../machine/pte.js';
import type { GuestKernel } from './kernel.js';
import { Process, type FileImage, type Mm } from './mm.js';
import { leafLevelOf } from './pgtable.js';

/** Copy-on-write fork (copy_page_range): the child shares every page read-only. */
export function fork(k: GuestKernel, parent: Process, name = parent.name): Process {
  k.ops.syscall();
  k.c[C.CycGuest] += k.plat.costs.forkBase;
  const pageRef = k.plat.costs.pageRef;
  const child = new Process(k.nextPid++, k.newMm(), name);
  k.procs.set(child.pid, child);
  const pm = parent.mm;
  const cm = child.mm;
  cm.mmapBase = pm.mmapBase;
  let wrprotected = 0;
  k.ops.lazyBegin();
  for (const v of pm.vmas) {
    // hugetlb mappings are not inherited here (the lab's hugetlb pool is per process).
    if (v.hugePfns) continue;
    cm.vmas.push({ ...v });
    const leaf = leafLevelOf(v);
    k.forEachPte(pm, v.start, v.end, leaf, (t, i, va, flags, pfn) => {
      let cf = flags;
      if (v.write && !v.hugePfns && flags & PTE_RW) {
        cf = flags & ~PTE_RW;
        k.ops.setPte(t, leaf, i, pfn, cf);
        wrprotected++;
      }
      const ct = k.tableFor(cm, va, leaf, true);
      k.ops.setPte(ct, leaf, i, pfn, cf);
      k.c[C.CycGuest] += pageRef;
      if (!v.hugePfns) k.mapcount[pfn]++;
    });
  }
  k.ops.lazyEnd();
  if (wrprotected > 0 && k.current === parent) k.ops.flushTlb();
  return child;
}

/** Tears down an address space entirely (exit_mmap), from the kernel's own mm. */
function destroyMm(k: GuestKernel, mm: Mm): void {
  if (k.current?.mm === mm) {
    k.ops.switchRoot(k.initRoot, 0);
    k.current = null;
  }
  const tables = [...mm.tables.entries()].map(([pfn, t]) => ({ pfn, level: t.level }));
  k.ops.unpinMm(mm.root, tables);
  for (const v of mm.vmas) {
    k.zap(mm, v, v.start, v.end, false);
    if (v.hugePfns) {
      const n = 2 ** (v.pageShift - 12);
      for (const base of v.hugePfns) for (let i = 0; i < n; i++) k.freePage(base + i);
    }
  }
  mm.vmas.length = 0;
  // free_pgtables, bottom-up: clear the entry pointing at each table, then free it.
  const byLevel = [...mm.tables.entries()].sort((a, b) => a[1].level - b[1].level);
  k.ops.lazyBegin();
  for (const [pfn, t] of byLevel) {
    k.ops.setPte(t.parent, t.level + 1, t.index, 0, 0);
    k.ops.releasePt(pfn, t.level);
    k.freePage(pfn);
  }
  k.ops.lazyEnd();
  mm.tables.clear();
  k.ops.releasePt(mm.root, 4);
  k.freePage(mm.root);
}

export function exit(k: GuestKernel, p: Process): void {
  k.ops.syscall();
  destroyMm(k, p.mm);
  k.procs.delete(p.pid);
  if (k.current === p) k.current = null;
}

/** execve: a fresh mm mapping the image (text read-only, data private writable) and a stack. */
export function exec(k: GuestKernel, p: Process, image: FileImage): void {
  k.ops.syscall();
  k.c[C.CycGuest] += k.plat.costs.execBase;
  const old = p.mm;
  const wasCurrent = k.current === p;
  p.mm = k.newMm();
  if (wasCurrent) {
    k.current = null;
    k.switchTo(p);
  }
  destroyMmDetached(k, old);
  const pages = image.pages.length;
  const textPages = Math.max(1, Math.floor(pages * 0.75));
  const mm = p.mm;
  const text = k.mmap(mm, textPages * 4096, { write: false, exec: true, file: image, at: 0x400000 });
  const data = k.mmap(mm, (pages - textPages) * 4096, { write: true, file: image, at: text.end });
  data.filePage = textPages;
  k.mmap(mm, 16 * 4096, { write: true, at: 0x7ffffff00000 });
}

/** Tear down an mm that is not loaded on the vCPU. */
function destroyMmDetached(k: GuestKernel, mm: Mm): void {
  const cur = k.current;
  if (cur && cur.mm === mm) k.current = null;
  destroyMm(k, mm);
  if (cur && cur.mm !== mm && k.current === null) {
    // destroyMm may have switched to init_mm; switch back to the running process.
    k.current = null;
    k.switchTo(cur);
  }
}

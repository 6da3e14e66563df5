/**
 * The guest's grant-table frontend (Linux drivers/xen/grant-table.c, v1) on its own: refs, the
 * entry layout of struct grant_entry_v1 (xen/include/public/grant_table.h: flags u16 at byte 0,
 * domid u16 at byte 2, frame u32 at byte 4, 8 bytes an entry, 512 a frame) and ending access.
 */
import { describe, expect, it } from 'vitest';
import { GrantTableFrontend } from '../../core/guest/gnttab.js';
import { MachineMemory } from '../../core/machine/memory.js';

const GTF_permit_access = 1;
const GTF_readonly = 4;
const GTF_reading = 8;
const GTF_writing = 16;

function frontend(nrFrames = 1) {
  const mem = new MachineMemory(64);
  const frames = Array.from({ length: nrFrames }, (_, i) => 10 + i);
  return { mem, frames, fe: new GrantTableFrontend(mem, frames, 3) };
}

describe('GrantTableFrontend', () => {
  it('skips the 8 reserved refs and reuses freed refs lowest first', () => {
    const { fe } = frontend();
    expect([0, 1, 2].map(() => fe.grantForeignAccess(0, 100, false))).toEqual([8, 9, 10]);
    expect(fe.endForeignAccess(9)).toBe(true);
    fe.freeRef(9);
    expect(fe.endForeignAccess(8)).toBe(true);
    fe.freeRef(8);
    expect(fe.inUse).toBe(1);
    expect(fe.grantForeignAccess(0, 100, false)).toBe(8);
    expect(fe.grantForeignAccess(0, 100, false)).toBe(9);
    expect(fe.grantForeignAccess(0, 100, false)).toBe(11);
  });

  it('lays entries out as grant_entry_v1: ref 513 is slot 1 of the second frame', () => {
    const { mem, fe } = frontend(2);
    let ref = -1;
    for (let i = 0; i < 506; i++) ref = fe.grantForeignAccess(7, 0xabcdef, true);
    expect(ref).toBe(513);
    // flags (permit_access | readonly = 0x5) in bits 0..15, domid 7 in bits 16..31, frame in the next word.
    expect(mem.readLo(11, 1)).toBe(0x00070005);
    expect(mem.readHi(11, 1)).toBe(0xabcdef);
    expect(fe.entry(513)).toEqual({ flags: GTF_permit_access | GTF_readonly, domid: 7, frame: 0xabcdef });
  });

  it('keeps an entry Xen has pinned (GTF_reading or GTF_writing) and clears it otherwise', () => {
    const { mem, frames, fe } = frontend();
    const ref = fe.grantForeignAccess(5, 42, false);
    for (const pin of [GTF_reading, GTF_reading | GTF_writing]) {
      mem.write(frames[0]!, ref, (5 << 16) | GTF_permit_access | pin, 42); // what Xen's map does
      expect(fe.endForeignAccess(ref)).toBe(false);
      expect(fe.entry(ref).flags).toBe(GTF_permit_access | pin);
    }
    mem.write(frames[0]!, ref, (5 << 16) | GTF_permit_access, 42); // what Xen's unmap leaves
    expect(fe.endForeignAccess(ref)).toBe(true);
    expect(fe.entry(ref)).toEqual({ flags: 0, domid: 5, frame: 42 });
  });

  it('returns -1 when full and reports driver mistakes clearly', () => {
    const { fe } = frontend();
    for (let i = 0; i < 504; i++) fe.grantForeignAccess(1, i, false);
    expect(fe.grantForeignAccess(1, 0, false)).toBe(-1);
    expect(fe.inUse).toBe(504);
    expect(() => fe.freeRef(3)).toThrow(/not in use/);
    expect(() => fe.freeRef(8)).toThrow(/still grants access/);
    expect(() => fe.entry(512)).toThrow(/outside/);
    expect(fe.endForeignAccess(9999)).toBe(false);
  });
});

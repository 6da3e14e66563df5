/**
 * Adversarial I/O (issue 12 item 10): a hostile guest attacks grant tables, event channels,
 * xenstore and its blkif ring while a driver domain serves two victims' disks under disk-io; every
 * refused operation gets Xen's exact code, the machine audit holds after every step, and the
 * victims' I/O is whole at the end. Deterministic per seed; a failure names the seed and step
 * (rerun one with HYPERLAB_IO_FUZZ_SEED=<seed>).
 */
import { describe, expect, it } from 'vitest';
import { runIoFuzz } from './ioHarness.js';

const steps = Number(process.env.HYPERLAB_IO_FUZZ_STEPS ?? 1500);
const seeds = process.env.HYPERLAB_IO_FUZZ_SEED ? [Number(process.env.HYPERLAB_IO_FUZZ_SEED)] : [1, 2];

describe('a hostile guest beside a driver domain serving two victims', () => {
  for (const seed of seeds) {
    it(`seed ${seed}: every hostile operation is refused as Xen refuses it and the victims' I/O is whole`, () => {
      const r = runIoFuzz({ seed, steps });
      // Every kind of operation ran.
      expect(Object.keys(r.ops).length).toBe(14);
      // Bad requests reached blkback and each was answered with an error (checked inside).
      expect(r.injected).toBeGreaterThan(0);
      expect(r.answered).toBeGreaterThan(0);
      for (const v of r.victims) {
        expect(v.ops, `${v.name} ran its workload to the end`).toBe(v.planned);
        expect(v.responses, `${v.name}: every request answered`).toBe(v.requests);
        expect(v.errors, `${v.name}: no error responses`).toBe(0);
        expect(v.lostWrites, `${v.name}: no acknowledged write lost`).toBe(0);
        expect(v.acknowledgedWrites).toBeGreaterThan(0);
      }
    }, 120_000);
  }
});

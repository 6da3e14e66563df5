/**
 * Fuzzing the IOMMU with malicious device owners (see iommuHarness.ts for what must hold and
 * where each expected outcome comes from). A bounded number of seeds; rerun one with
 * HYPERLAB_IOMMU_FUZZ_SEED=<seed> (and HYPERLAB_IOMMU_FUZZ_STEPS=<n>).
 */
import { describe, expect, it } from 'vitest';
import { runIommuFuzz } from './iommuHarness.js';

const steps = Number(process.env.HYPERLAB_IOMMU_FUZZ_STEPS ?? 300);
const seeds = process.env.HYPERLAB_IOMMU_FUZZ_SEED ? [Number(process.env.HYPERLAB_IOMMU_FUZZ_SEED)] : [1, 2, 3];

describe('malicious guests that own a passthrough disk, with the IOMMU on', () => {
  for (const seed of seeds) {
    it(`seed ${seed}: no frame outside the owner's own and granted set changes, and the audit holds after every step`, () => {
      const r = runIommuFuzz({ seed, steps });
      // Every kind of operation ran, transfers were refused and some went through.
      expect(Object.keys(r.ops).sort()).toEqual(['dma-read', 'dma-write', 'grant-map', 'grant-unmap', 'pci-attach', 'pci-detach']);
      expect(r.refused).toBeGreaterThan(0);
      expect(r.allowed).toBeGreaterThan(0);
      // Each refused transfer was a fault Xen took from the unit (plus the in-flight ones cut off by detach).
      expect(r.faults).toBeGreaterThanOrEqual(r.refused);
      // The victim's own I/O, through dom0, is whole.
      expect(r.web.errors).toBe(0);
      expect(r.web.lostWrites).toBe(0);
      expect(r.web.requests).toBeGreaterThan(0);
    }, 180_000);
  }
});

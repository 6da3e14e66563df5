/**
 * A disk the kernel drives itself (bare metal, or a domain that owns the disk): the block layer
 * hands each I/O straight to the disk's driver, with no ring, grant or event channel between. The
 * native baseline of the split driver path, charged the same block-layer costs on either side.
 */
import { BLKIF_RSP_ERROR, BLKIF_RSP_OKAY } from '../../api/public/io/blkif.js';
import type { BlockDriver } from './blkback.js';
import type { BlkIo } from './blkfront.js';
import type { XenIoEnv } from './env.js';

export interface DirectBlockCosts {
  /** Submitting one I/O through the block layer (as blkfront's request, less the ring). */
  request: number;
  /** Completing one I/O. */
  complete: number;
}

export class DirectBlock {
  readonly connected = true;
  readonly sectors: number;
  inFlight = 0;

  constructor(
    private readonly env: XenIoEnv,
    readonly driver: BlockDriver,
    private readonly costs: DirectBlockCosts,
  ) {
    this.sectors = driver.sectors;
  }

  submit(io: BlkIo): void {
    this.env.charge(this.costs.request);
    this.inFlight++;
    this.driver.submit({
      op: io.op,
      sector: io.sector,
      segments: io.pfns.map((pfn) => ({ busAddr: this.env.busAddr(pfn), bytes: 4096 })),
      done: (ok) => {
        this.inFlight--;
        this.env.charge(this.costs.complete);
        io.done(ok ? BLKIF_RSP_OKAY : BLKIF_RSP_ERROR);
      },
    });
  }
}

/**
 * NVM Express facts the disk model follows: queue entry layouts, opcodes, status codes, and the
 * device's timing. Section numbers are those of the NVM Express Base Specification 1.4 (2019);
 * the same layouts are in 1.0 (2011), which the modelled drive implements.
 *
 * Submission Queue Entry, 64 bytes (§4.2, "Submission Queue Entry – Command Format"):
 *   CDW0  bits 7:0 opcode, 9:8 FUSE, 15:14 PSDT (00b = PRPs), 31:16 command identifier (CID)
 *   DW1   NSID
 *   DW6–7 PRP entry 1, DW8–9 PRP entry 2
 *   CDW10–11 starting LBA; CDW12 bits 15:0 number of logical blocks (0's based), bit 30 FUA,
 *   bit 31 Limited Retry (the Read and Write commands of the NVM command set, §6).
 * Completion Queue Entry, 16 bytes (§4.6, "Completion Queue Entry"):
 *   DW0 command specific, DW1 reserved, DW2 bits 15:0 SQ head pointer, 31:16 SQ identifier,
 *   DW3 bits 15:0 CID, bit 16 phase tag, bits 31:17 status field (§4.6.1: SC 7:0, SCT 10:8,
 *   CRD 12:11, M 13, DNR 14 of the 15-bit field).
 */
import { PAGE_SIZE, TWO32 } from './dma.js';

export const NVME_SQE_SIZE = 64;
export const NVME_CQE_SIZE = 16;

/** NVM command set opcodes (§6, "Opcodes for NVM Commands"). */
export const NVME_CMD_FLUSH = 0x00;
export const NVME_CMD_WRITE = 0x01;
export const NVME_CMD_READ = 0x02;

/** CDW12 bit 30: Force Unit Access — complete only once the data is on non-volatile media. */
export const NVME_RW_FUA = 1 << 30;

/** Status Code Types (§4.6.1.1). */
export const NVME_SCT_GENERIC = 0x0;
export const NVME_SCT_CMD_SPECIFIC = 0x1;

/** Generic Command Status values (§4.6.1.2.1), SCT 0. Names as Linux's include/linux/nvme.h. */
export const NVME_SC_SUCCESS = 0x00;
export const NVME_SC_INVALID_OPCODE = 0x01;
export const NVME_SC_INVALID_FIELD = 0x02;
export const NVME_SC_DATA_XFER_ERROR = 0x04;
export const NVME_SC_INVALID_NS = 0x0b;
export const NVME_SC_PRP_INVALID_OFFSET = 0x13;
/** Generic status specific to the NVM command set (§4.6.1.2.1, values 80h–BFh). */
export const NVME_SC_LBA_RANGE = 0x80;
/** Command Specific status of the Create I/O Completion/Submission Queue commands (§5.3, §5.4), SCT 1. */
export const NVME_SC_QID_INVALID = 0x01;
export const NVME_SC_QUEUE_SIZE = 0x02;

/** The 15-bit status field's Do Not Retry bit (§4.6.1): set when the same command would fail again. */
export const NVME_STATUS_DNR = 1 << 14;

/** Builds the 15-bit status field from a type, a code and DNR. */
export function nvmeStatus(sct: number, sc: number, dnr = false): number {
  return (sc & 0xff) | ((sct & 7) << 8) | (dnr ? NVME_STATUS_DNR : 0);
}

/** The status field's Status Code and Status Code Type. */
export function statusCode(status: number): { sct: number; sc: number; dnr: boolean } {
  return { sc: status & 0xff, sct: (status >> 8) & 7, dnr: (status & NVME_STATUS_DNR) !== 0 };
}

/** Logical block size: LBA format with LBADS = 12 (Identify Namespace LBA Format, §5.15), 4 KiB. */
export const NVME_BLOCK_SIZE = PAGE_SIZE;
/**
 * Maximum Data Transfer Size as a power of two of the 4 KiB page (Identify Controller MDTS,
 * §5.15): 5 → 128 KiB. A larger command is aborted with Invalid Field in Command, as that
 * field's definition requires. Chosen, not measured: 32 pages fit one PRP list, and the
 * lab's blkif requests (11 segments of 4 KiB, io/blkif.h) stay well inside it.
 */
export const NVME_MDTS = 5;
export const NVME_MAX_XFER = PAGE_SIZE << NVME_MDTS;
/** Largest I/O queue the controller supports (CAP.MQES + 1, §3.1.1); entries beyond one page must be contiguous. */
export const NVME_MAX_QUEUE_ENTRIES = 1024;
/** The one I/O queue pair's identifier (QID 0 is the admin queue, §4.1). */
export const NVME_IO_QID = 1;
/** The one namespace. NSID FFFFFFFFh ("all namespaces") is accepted by Flush (§6, Flush command). */
export const NVME_NSID = 1;
export const NVME_NSID_ALL = 0xffffffff;

/**
 * Service times of the modelled drive, in µs. Device class: a 2014 datacenter NVMe SSD, Intel
 * SSD DC P3700 (NVMe 1.0, PCIe 3.0 x4, 20 nm MLC NAND; PCI id 8086:0953). Sources:
 *  [P] Intel SSD DC P3700 Series Product Specification, order no. 330566: sequential latency
 *      (typ) read/write 20/20 µs; sequential read/write up to 2800/2000 MB/s; random 4 KiB
 *      read/write up to 460K/175K IOPS.
 *  [A] AnandTech, "Intel SSD DC P3700 Review" (2014), random 4 KiB read at queue depth 1:
 *      36.5 MB/s, i.e. 4096 B / 36.5 MB/s = 112 µs per read.
 * The P3700 protects its DRAM with power-loss capacitors; the lab models the common volatile
 * cache instead (Identify Controller VWC = 1), which is what makes FLUSH and FUA matter.
 */
export interface NvmeTiming {
  /** First 4 KiB block of a read: [A] 112 µs (media read through the controller). */
  readUs: number;
  /** Each further block of the same read at the sequential rate: [P] 4096 B / 2800 MB/s = 1.463 µs. */
  readPerExtraBlockUs: number;
  /** A write landing in the volatile cache: [P] typical write latency 20 µs. */
  cacheWriteUs: number;
  /** Each further block of the same write at the sequential rate: [P] 4096 B / 2000 MB/s = 2.048 µs. */
  writePerExtraBlockUs: number;
  /**
   * Committing one block to NAND: [P] 175K random 4 KiB write IOPS is the steady-state rate at
   * which the drive empties its cache to media, 10^6 / 175,000 = 5.714 µs a block.
   */
  programPerBlockUs: number;
  /** A flush's own round trip through the controller, like any command: [P] 20 µs. */
  flushBaseUs: number;
  /**
   * Commands the controller serves at once (its NAND channels and dies working in parallel):
   * [P] 460K random read IOPS at [A]'s 112 µs a read needs 460,000 × 112e-6 ≈ 52 reads in flight.
   * A FLUSH is a barrier: it waits for the commands before it and holds those after it.
   */
  parallelUnits: number;
}

export const P3700_TIMING: Readonly<NvmeTiming> = Object.freeze({
  readUs: 4096 / 36.5,
  readPerExtraBlockUs: 4096 / 2800,
  cacheWriteUs: 20,
  writePerExtraBlockUs: 4096 / 2000,
  programPerBlockUs: 1e6 / 175_000,
  flushBaseUs: 20,
  parallelUnits: Math.round((460_000 * 4096) / 36.5 / 1e6),
});

/**
 * The service time of one command, in µs (the documented formula; up to parallelUnits at once):
 *   read of n blocks            readUs + (n−1)·readPerExtraBlockUs
 *   write of n blocks to cache  cacheWriteUs + (n−1)·writePerExtraBlockUs
 *   write with FUA, or no cache the same + n·programPerBlockUs
 *   flush with d dirty blocks   flushBaseUs + d·programPerBlockUs
 *   a command refused at decode 0 (the decode is negligible next to the media times above)
 * The simulated completion time is start + round(µs · cyclesPerUs).
 */
export function nvmeServiceUs(
  t: NvmeTiming,
  op: 'read' | 'write' | 'writeMedia' | 'flush' | 'refused',
  blocks: number,
): number {
  switch (op) {
    case 'read':
      return t.readUs + (blocks - 1) * t.readPerExtraBlockUs;
    case 'write':
      return t.cacheWriteUs + (blocks - 1) * t.writePerExtraBlockUs;
    case 'writeMedia':
      return t.cacheWriteUs + (blocks - 1) * t.writePerExtraBlockUs + blocks * t.programPerBlockUs;
    case 'flush':
      return t.flushBaseUs + blocks * t.programPerBlockUs;
    case 'refused':
      return 0;
  }
}

/** Fields of a Submission Queue Entry, for drivers (and tests) that build commands. */
export interface NvmeSqe {
  opcode: number;
  cid: number;
  nsid: number;
  prp1: number;
  prp2: number;
  slba?: number;
  /** Number of logical blocks, 0's based (0 = one block). */
  nlb?: number;
  fua?: boolean;
}

/** Encodes an SQE as the 64 little-endian bytes of §4.2. */
export function encodeSqe(s: NvmeSqe): Uint8Array {
  const b = new Uint8Array(NVME_SQE_SIZE);
  const v = new DataView(b.buffer);
  v.setUint32(0, ((s.opcode & 0xff) | ((s.cid & 0xffff) << 16)) >>> 0, true);
  v.setUint32(4, s.nsid >>> 0, true);
  v.setUint32(24, s.prp1 % TWO32, true);
  v.setUint32(28, Math.floor(s.prp1 / TWO32), true);
  v.setUint32(32, s.prp2 % TWO32, true);
  v.setUint32(36, Math.floor(s.prp2 / TWO32), true);
  const slba = s.slba ?? 0;
  v.setUint32(40, slba % TWO32, true);
  v.setUint32(44, Math.floor(slba / TWO32), true);
  v.setUint32(48, (((s.nlb ?? 0) & 0xffff) | (s.fua ? NVME_RW_FUA : 0)) >>> 0, true);
  return b;
}

export interface NvmeCqe {
  dw0: number;
  sqHead: number;
  sqId: number;
  cid: number;
  phase: 0 | 1;
  /** The 15-bit status field; 0 is success. */
  status: number;
}

/** Decodes the 16 bytes of a Completion Queue Entry (§4.6). */
export function decodeCqe(b: Uint8Array): NvmeCqe {
  const v = new DataView(b.buffer, b.byteOffset, NVME_CQE_SIZE);
  const dw2 = v.getUint32(8, true);
  const dw3 = v.getUint32(12, true);
  return {
    dw0: v.getUint32(0, true),
    sqHead: dw2 & 0xffff,
    sqId: dw2 >>> 16,
    cid: dw3 & 0xffff,
    phase: ((dw3 >>> 16) & 1) as 0 | 1,
    status: dw3 >>> 17,
  };
}

/** FNV-1a, 32-bit (offset basis 2166136261, prime 16777619; Fowler–Noll–Vo, IETF draft-eastlake-fnv). */
export function fnv1a32(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The virtio split virtqueue and the virtio-blk request, as the OASIS Virtual I/O Device (VIRTIO)
 * Version 1.1 specification lays them out (§2.6 Split Virtqueues, §5.2 Block Device; the same
 * as Linux's include/uapi/linux/virtio_ring.h and virtio_blk.h). All fields little-endian.
 *
 *  struct virtq_desc  { le64 addr @0; le32 len @8; le16 flags @12; le16 next @14; }  → 16 bytes
 *  struct virtq_avail { le16 flags @0; le16 idx @2; le16 ring[N] @4; le16 used_event @4+2N; }
 *  struct virtq_used_elem { le32 id @0; le32 len @4; }  → 8 bytes
 *  struct virtq_used  { le16 flags @0; le16 idx @2; virtq_used_elem ring[N] @4; le16 avail_event @4+8N; }
 *  struct virtio_blk_outhdr (the request's header) { le32 type @0; le32 reserved @4; le64 sector @8; } → 16 bytes
 *  then the data buffers, then one status byte the device writes.
 *
 * Alignment (§2.6): descriptor table 16 bytes, available ring 2, used ring 4. The driver here
 * puts each of the three parts in its own guest page, which the 1.x transport allows
 * (queue_desc, queue_driver, queue_device are separate addresses).
 */

/** §2.6.5: this descriptor continues via the next field. */
export const VIRTQ_DESC_F_NEXT = 1;
/** §2.6.5: the buffer is device write-only (otherwise device read-only). */
export const VIRTQ_DESC_F_WRITE = 2;
/** §2.6.5.3: the buffer holds a table of indirect descriptors. */
export const VIRTQ_DESC_F_INDIRECT = 4;
/** §2.6.6: the driver asks the device not to interrupt it. */
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
/** §2.6.8: the device asks the driver not to notify it. */
export const VIRTQ_USED_F_NO_NOTIFY = 1;

export const VIRTQ_DESC_BYTES = 16;
export const VIRTQ_USED_ELEM_BYTES = 8;
/** Byte offset of avail.ring[i]. */
export const availRingOffset = (i: number): number => 4 + 2 * i;
/** Byte offset of used.ring[i]. */
export const usedRingOffset = (i: number): number => 4 + VIRTQ_USED_ELEM_BYTES * i;
/** Bytes of each part for a queue of `n` entries (with the event-index fields at the end). */
export const virtqSizes = (n: number): { desc: number; avail: number; used: number } => ({ desc: VIRTQ_DESC_BYTES * n, avail: 6 + 2 * n, used: 6 + VIRTQ_USED_ELEM_BYTES * n });

/** §5.2.6: request types. */
export const VIRTIO_BLK_T_IN = 0;
export const VIRTIO_BLK_T_OUT = 1;
export const VIRTIO_BLK_T_FLUSH = 4;
export const VIRTIO_BLK_T_GET_ID = 8;
/** §5.2.6: status values. */
export const VIRTIO_BLK_S_OK = 0;
export const VIRTIO_BLK_S_IOERR = 1;
export const VIRTIO_BLK_S_UNSUPP = 2;
export const VIRTIO_BLK_OUTHDR_BYTES = 16;

/**
 * The legacy virtio-pci I/O BAR (§4.1.4.8, "Legacy Interfaces: A Note on PCI Device Layout"):
 * the driver notifies a queue by writing its index to offset 16, an OUT instruction that exits
 * (EXIT_REASON_IO_INSTRUCTION) unless KVM has an ioeventfd on it, which it then signals in the
 * kernel without a trip to qemu.
 */
export const VIRTIO_PCI_QUEUE_NOTIFY = 16;
/** The queue size the lab's devices offer (qemu's virtio-blk default queue-size is 256; 64 keeps rings in one page each). */
export const VIRTQ_SIZE = 64;

/**
 * §5.1.6: struct virtio_net_hdr { u8 flags; u8 gso_type; le16 hdr_len; le16 gso_size;
 * le16 csum_start; le16 csum_offset; le16 num_buffers; } — 12 bytes with VIRTIO_F_VERSION_1,
 * in front of every frame in both directions. Queue 0 receives, queue 1 transmits (§5.1.2).
 */
export const VIRTIO_NET_HDR_BYTES = 12;
export const VIRTIO_NET_RX_QUEUE = 0;
export const VIRTIO_NET_TX_QUEUE = 1;

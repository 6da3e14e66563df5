/**
 * Xen's grant-table ABI, version 1 (xen/include/public/grant_table.h, xen/include/public/xen.h):
 * what a granting guest, a mapping guest and the hypervisor agree on. Both sides import it.
 */

/** Hypercall number (xen/include/public/xen.h: __HYPERVISOR_grant_table_op). */
export const __HYPERVISOR_grant_table_op = 20;

/** GNTTABOP_* sub-commands (grant_table.h). */
export const GNTTABOP_map_grant_ref = 0;
export const GNTTABOP_unmap_grant_ref = 1;
export const GNTTABOP_setup_table = 2;
export const GNTTABOP_dump_table = 3;
export const GNTTABOP_transfer = 4;
export const GNTTABOP_copy = 5;
export const GNTTABOP_query_size = 6;
export const GNTTABOP_unmap_and_replace = 7;
export const GNTTABOP_set_version = 8;
export const GNTTABOP_get_status_frames = 9;
export const GNTTABOP_get_version = 10;

/**
 * struct grant_entry_v1 (grant_table.h): `uint16_t flags; domid_t domid; uint32_t frame;`, 8 bytes,
 * little-endian. In the lab's machine memory (64-bit slots of two 32-bit words) entry `ref` of a
 * table frame is slot `ref % GRANT_ENTRIES_PER_FRAME`: low word = flags | domid << 16, high word =
 * frame.
 */
export const GRANT_ENTRY_V1_SIZE = 8;
export const GRANT_ENTRY_V1_FLAGS_OFFSET = 0;
export const GRANT_ENTRY_V1_DOMID_OFFSET = 2;
export const GRANT_ENTRY_V1_FRAME_OFFSET = 4;
export const PAGE_SIZE = 4096;
/** 4096 / 8 entries per grant-table frame (GRANT_PER_PAGE for v1, xen/common/grant_table.c). */
export const GRANT_ENTRIES_PER_FRAME = PAGE_SIZE / GRANT_ENTRY_V1_SIZE;
/** Refs 0..7 are reserved for the toolstack (console, xenstore rings) (grant_table.h). */
export const GNTTAB_NR_RESERVED_ENTRIES = 8;
export const GNTTAB_RESERVED_CONSOLE = 0;
export const GNTTAB_RESERVED_XENSTORE = 1;

/** GTF_* flags of a grant entry (grant_table.h). */
export const GTF_invalid = 0;
export const GTF_permit_access = 1 << 0;
export const GTF_accept_transfer = 2 << 0;
export const GTF_transitive = 3 << 0;
export const GTF_type_mask = 3 << 0;
export const GTF_readonly = 1 << 2;
export const GTF_reading = 1 << 3;
export const GTF_writing = 1 << 4;
export const GTF_PWT = 1 << 5;
export const GTF_PCD = 1 << 6;
export const GTF_PAT = 1 << 7;
export const GTF_sub_page = 1 << 8;
/** An accept-transfer entry: Xen has committed to transferring a frame into it (_GTF_transfer_committed). */
export const GTF_transfer_committed = 1 << 2;
/** An accept-transfer entry: the transfer is done and `frame` holds the new frame (_GTF_transfer_completed). */
export const GTF_transfer_completed = 1 << 3;

/** GNTMAP_* flags of a map request (grant_table.h). */
export const GNTMAP_device_map = 1 << 0;
export const GNTMAP_host_map = 1 << 1;
export const GNTMAP_readonly = 1 << 2;
export const GNTMAP_application_map = 1 << 3;
export const GNTMAP_contains_pte = 1 << 4;

/** GNTCOPY_* flags of a copy op (grant_table.h). */
export const GNTCOPY_source_gref = 1 << 0;
export const GNTCOPY_dest_gref = 1 << 1;

/** GNTST_* status codes (grant_table.h). */
export const GNTST_okay = 0;
export const GNTST_general_error = -1;
export const GNTST_bad_domain = -2;
export const GNTST_bad_gntref = -3;
export const GNTST_bad_handle = -4;
export const GNTST_bad_virt_addr = -5;
export const GNTST_bad_dev_addr = -6;
export const GNTST_no_device_space = -7;
export const GNTST_permission_denied = -8;
export const GNTST_bad_page = -9;
export const GNTST_bad_copy_arg = -10;
export const GNTST_address_too_big = -11;
export const GNTST_eagain = -12;
export const GNTST_no_space = -13;

/** GNTTABOP_error_msgs (grant_table.h), indexed by -status. */
export const GNTST_MESSAGES = [
  'okay',
  'undefined error',
  'unrecognised domain id',
  'invalid grant reference',
  'invalid mapping handle',
  'invalid virtual address',
  'invalid device address',
  'no spare translation slot in the I/O MMU',
  'permission denied',
  'bad page',
  'copy arguments cross page boundary',
  'page address size too large',
  'operation not done; try again',
  'out of space',
] as const;

/** The GNTST_* name of a status ("GNTST_bad_gntref"), for logs and the lab's errors. */
export function gntstName(status: number): string {
  const names = [
    'GNTST_okay',
    'GNTST_general_error',
    'GNTST_bad_domain',
    'GNTST_bad_gntref',
    'GNTST_bad_handle',
    'GNTST_bad_virt_addr',
    'GNTST_bad_dev_addr',
    'GNTST_no_device_space',
    'GNTST_permission_denied',
    'GNTST_bad_page',
    'GNTST_bad_copy_arg',
    'GNTST_address_too_big',
    'GNTST_eagain',
    'GNTST_no_space',
  ];
  return names[-status] ?? `GNTST(${status})`;
}

/** One end of a GNTTABOP_copy (struct gnttab_copy's source/dest): a grant ref, or a gmfn of DOMID_SELF. */
export interface GnttabCopyPtr {
  /** A grant ref when the op's flags say so (GNTCOPY_source_gref / GNTCOPY_dest_gref), else a gmfn. */
  ref: number;
  domid: number;
  offset: number;
}

/** struct gnttab_copy (grant_table.h), less the status, which the call returns per op. */
export interface GnttabCopyOp {
  source: GnttabCopyPtr;
  dest: GnttabCopyPtr;
  len: number;
  flags: number;
}

/** Default limits: opt_max_grant_frames = 64, opt_max_maptrack_frames = 1024 (xen/common/grant_table.c). */
export const DEFAULT_MAX_GRANT_FRAMES = 64;
export const DEFAULT_MAX_MAPTRACK_FRAMES = 1024;
/** PAGE_SIZE / sizeof(struct grant_mapping) (16 bytes) (xen/common/grant_table.c: MAPTRACK_PER_PAGE). */
export const MAPTRACK_PER_PAGE = PAGE_SIZE / 16;

/** One GNTTABOP_transfer op (struct gnttab_transfer): give frame `mfn` to `domid`, into its accept-transfer entry `ref`. */
export interface GnttabTransferOp {
  mfn: number;
  domid: number;
  ref: number;
}

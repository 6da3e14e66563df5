/**
 * dom0's /etc/xen: example domain configs for `xl create`, in the spirit of the xlexample.*
 * files Xen installs, written with the keys Hyperlab models.
 */

export const XEN_CONFIG_DIR = '/etc/xen';

const HEADER = `# =====================================================================
# Example config for xl create (see xl.cfg(5)). Hyperlab models the keys
# below; vif, disk and pci lines are read but not modelled yet.
# =====================================================================
`;

export const EXAMPLE_CONFIGS: ReadonlyMap<string, string> = new Map([
  [
    `${XEN_CONFIG_DIR}/xlexample.hvm`,
    `${HEADER}
# An HVM guest: hardware-assisted paging (EPT). hap = 0 gives shadow paging.
type = "hvm"
name = "example.hvm"
memory = 256
vcpus = 1
hap = 1
guest_page_size = "4k"
host_page_size = "2m"
# Hyperlab: the workload the guest's init starts (or use "run" on its console).
workload = "random-access workingSetMiB=64 accesses=200000"
`,
  ],
  [
    `${XEN_CONFIG_DIR}/xlexample.pvlinux`,
    `${HEADER}
# A PV guest: direct paging, every page-table update validated by Xen.
type = "pv"
name = "example.pv"
memory = 256
vcpus = 1
workload = "fork-exit forks=200 residentMiB=8"
`,
  ],
  [
    `${XEN_CONFIG_DIR}/xlexample.pvhlinux`,
    `${HEADER}
# A PVH guest: a PV-style boot on HVM hardware paging (always HAP).
type = "pvh"
name = "example.pvh"
memory = 256
vcpus = 1
workload = "idle"
`,
  ],
  [
    `${XEN_CONFIG_DIR}/xlexample.shadow`,
    `${HEADER}
# An HVM guest on shadow paging, out-of-sync L1 shadows on (Xen's default).
type = "hvm"
name = "example.shadow"
memory = 256
vcpus = 1
hap = 0
shadow_out_of_sync = 1
workload = "update-vs-access updatesPerKiloAccess=20 workingSetMiB=32 accesses=200000"
`,
  ],
]);

/** The config at `path`, looked up as xl does: as given, then in /etc/xen. */
export function findConfig(path: string, cwd = '/root'): { path: string; text: string } | null {
  const abs = path.startsWith('/') ? path : `${cwd}/${path}`;
  for (const p of [abs, `${XEN_CONFIG_DIR}/${path}`]) {
    const text = EXAMPLE_CONFIGS.get(p.replace(/\/+/g, '/'));
    if (text !== undefined) return { path: p, text };
  }
  return null;
}

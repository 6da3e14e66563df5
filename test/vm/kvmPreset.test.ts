/** The C5 preset shows what its sentence says. */
import { describe, expect, it } from 'vitest';
import { validateScenario } from '../../core/api/index.js';
import { PRESETS } from '../../core/api/presets.js';
import { runScenario } from '../../core/sim/run.js';

describe('c5-kvm-qemu', () => {
  it('db’s virtio-blk writes are durable and went through qemu and the host; web’s qemu read every page it was told to try', () => {
    const p = PRESETS.find((x) => x.id === 'c5-kvm-qemu')!;
    const v = validateScenario(p.scenario);
    if (!v.ok) throw new Error(JSON.stringify(v.problems));
    const r = runScenario(v.scenario);
    const db = r.domains.find((d) => d.name === 'db')!;
    const web = r.domains.find((d) => d.name === 'web')!;
    expect(db.io!.requests).toBe(3000);
    expect(db.io!.lostWrites).toBe(0);
    expect(db.kvm!.io.notifies).toBe(db.vmexits.byReason.IO_INSTRUCTION);
    expect(db.kvm!.io.syscalls).toBeGreaterThanOrEqual(3000);
    const w = p.scenario.domains.find((d) => d.name === 'web')!.workload as { pages: number };
    expect(web.io!.snoopedPages).toBe(w.pages);
    expect(web.io!.refused).toBe(0);
    expect(db.kvm!.qemuPid).not.toBe(web.kvm!.qemuPid);
    expect(r.audit.ok).toBe(true);
  });
});

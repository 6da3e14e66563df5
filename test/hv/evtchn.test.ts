/**
 * Event channels, 2-level ABI, checked against Xen's own rules: the error codes come from
 * xen/common/event_channel.c (values from xen/include/public/errno.h: EPERM 1, ENOENT 2, ESRCH 3,
 * EBUSY 16, EEXIST 17, EINVAL 22, ENOSPC 28), the states from event_channel.h, the delivery from
 * event_2l.c and Linux's evtchn_2l_handle_events.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { C, Hc, Vx } from '../../core/machine/counters.js';
import { DEFAULT_COSTS } from '../../core/machine/cost.js';
import type { EvtchnStatus } from '../../core/hv/evtchn/evtchn.js';
import { ioMachine, type IoMachine } from './ioMachine.js';

const EPERM = -1;
const ENOENT = -2;
const ESRCH = -3;
const EBUSY = -16;
const EEXIST = -17;
const EINVAL = -22;
const ENOSPC = -28;
const DOMID_SELF = 0x7ff0;
// EVTCHNSTAT_* (event_channel.h)
const CLOSED = 0;
const UNBOUND = 1;
const INTERDOMAIN = 2;
const PIRQ = 3;
const VIRQ = 4;
const VIRQ_TIMER = 0;
const VIRQ_CONSOLE = 2;

const st = (s: EvtchnStatus | number) => {
  if (typeof s === 'number') throw new Error(`status failed: ${s}`);
  return s;
};

describe('event channels', () => {
  let m: IoMachine;
  let upcalls: number[];
  beforeEach(() => {
    m = ioMachine();
    upcalls = [];
    m.xen.evtchn.onUpcall = (domid) => upcalls.push(domid);
  });
  const ev = () => m.xen.evtchn;

  /** a offers a port to b, b binds it: [a's port, b's port]; b's bind-time notification taken. */
  function connect(): [number, number] {
    const pa = ev().allocUnbound(m.a.domid, DOMID_SELF, m.b.domid);
    const pb = ev().bindInterdomain(m.b.domid, m.a.domid, pa);
    ev().takePending(m.b.domid);
    upcalls.length = 0;
    return [pa, pb];
  }

  it('alloc_unbound gives port 1 first (port 0 is reserved) and only the named remote may bind it', () => {
    const pa = ev().allocUnbound(m.a.domid, DOMID_SELF, m.b.domid);
    expect(pa).toBe(1);
    expect(st(ev().status(m.a.domid, DOMID_SELF, pa))).toMatchObject({ status: UNBOUND, remoteDom: m.b.domid });
    expect(st(ev().status(m.a.domid, DOMID_SELF, 0)).status).toBe(CLOSED);
    // dom0 is not the remote this port was offered to.
    expect(ev().bindInterdomain(m.dom0.domid, m.a.domid, pa)).toBe(EINVAL);
    const pb = ev().bindInterdomain(m.b.domid, m.a.domid, pa);
    expect(pb).toBe(1);
    expect(st(ev().status(m.a.domid, DOMID_SELF, pa))).toMatchObject({ status: INTERDOMAIN, remoteDom: m.b.domid, remotePort: pb });
    expect(st(ev().status(m.b.domid, DOMID_SELF, pb))).toMatchObject({ status: INTERDOMAIN, remoteDom: m.a.domid, remotePort: pa });
    // A port already bound is no longer offered.
    expect(ev().bindInterdomain(m.b.domid, m.a.domid, pa)).toBe(EINVAL);
    // Beyond the 2-level port space (64 × 64), and a domain that does not exist.
    expect(ev().bindInterdomain(m.b.domid, m.a.domid, 4096)).toBe(EINVAL);
    expect(ev().bindInterdomain(m.b.domid, 99, 1)).toBe(ESRCH);
  });

  it('a guest may not allocate in, or ask the status of, another domain; dom0 (privileged) may', () => {
    expect(ev().allocUnbound(m.a.domid, m.b.domid, m.a.domid)).toBe(EPERM);
    expect(ev().status(m.a.domid, m.b.domid, 0)).toBe(EPERM);
    const p = ev().allocUnbound(m.dom0.domid, m.b.domid, m.a.domid);
    expect(p).toBe(1);
    expect(st(ev().status(m.dom0.domid, m.b.domid, p))).toMatchObject({ status: UNBOUND, remoteDom: m.a.domid });
    expect(ev().allocUnbound(m.a.domid, 99, m.b.domid)).toBe(ESRCH);
    expect(ev().status(m.a.domid, DOMID_SELF, 5000)).toBe(EINVAL);
  });

  it('binding marks the binder’s new port pending (notifications sent to the unbound port may be lost)', () => {
    const pa = ev().allocUnbound(m.a.domid, DOMID_SELF, m.b.domid);
    const pb = ev().bindInterdomain(m.b.domid, m.a.domid, pa);
    expect(ev().isPending(m.b.domid, pb)).toBe(true);
    expect(upcalls).toEqual([m.b.domid]);
  });

  it('send marks the remote port pending and raises one upcall until the guest takes its events', () => {
    const [pa, pb] = connect();
    expect(ev().send(m.b.domid, pb)).toBe(0);
    expect(ev().isPending(m.a.domid, pa)).toBe(true);
    expect(ev().isPending(m.b.domid, pb)).toBe(false);
    expect(upcalls).toEqual([m.a.domid]);
    expect(ev().send(m.b.domid, pb)).toBe(0);
    expect(upcalls).toEqual([m.a.domid]);
    expect(ev().takePending(m.a.domid)).toEqual([pa]);
    expect(ev().isPending(m.a.domid, pa)).toBe(false);
    expect(ev().takePending(m.a.domid)).toEqual([]);
    ev().send(m.b.domid, pb);
    expect(upcalls).toEqual([m.a.domid, m.a.domid]);
    // The other direction.
    ev().send(m.a.domid, pa);
    expect(ev().takePending(m.b.domid)).toEqual([pb]);
  });

  it('takePending returns ports lowest first, across selector words', () => {
    // a offers ports 1..70 to b; b binds 70 then 3.
    let last = 0;
    for (let i = 0; i < 70; i++) last = ev().allocUnbound(m.a.domid, DOMID_SELF, m.b.domid);
    expect(last).toBe(70);
    const to70 = ev().bindInterdomain(m.b.domid, m.a.domid, 70);
    const to3 = ev().bindInterdomain(m.b.domid, m.a.domid, 3);
    ev().send(m.b.domid, to70);
    ev().send(m.b.domid, to3);
    expect(ev().takePending(m.a.domid)).toEqual([3, 70]);
  });

  it('a loopback channel (bound to DOMID_SELF) notifies the other end in the same domain', () => {
    const p1 = ev().allocUnbound(m.a.domid, DOMID_SELF, DOMID_SELF);
    const p2 = ev().bindInterdomain(m.a.domid, DOMID_SELF, p1);
    ev().takePending(m.a.domid);
    ev().send(m.a.domid, p2);
    expect(ev().takePending(m.a.domid)).toEqual([p1]);
  });

  it('a masked port stays pending without an upcall; unmask delivers it', () => {
    const [pa, pb] = connect();
    ev().setMasked(m.a.domid, pa, true);
    ev().send(m.b.domid, pb);
    expect(ev().isPending(m.a.domid, pa)).toBe(true);
    expect(upcalls).toEqual([]);
    expect(ev().takePending(m.a.domid)).toEqual([]);
    expect(ev().unmask(m.a.domid, pa)).toBe(0);
    expect(upcalls).toEqual([m.a.domid]);
    expect(ev().takePending(m.a.domid)).toEqual([pa]);
    expect(ev().unmask(m.a.domid, 4096)).toBe(EINVAL);
  });

  it('closing one end makes the peer unbound (remote = the closer); sends on it are dropped silently', () => {
    const [pa, pb] = connect();
    expect(ev().close(m.a.domid, pa)).toBe(0);
    expect(st(ev().status(m.a.domid, DOMID_SELF, pa)).status).toBe(CLOSED);
    expect(st(ev().status(m.b.domid, DOMID_SELF, pb))).toMatchObject({ status: UNBOUND, remoteDom: m.a.domid });
    expect(ev().send(m.b.domid, pb)).toBe(0);
    expect(upcalls).toEqual([]);
    // The closed port, a never-bound one, port 0, and a second close.
    expect(ev().send(m.a.domid, pa)).toBe(EINVAL);
    expect(ev().send(m.a.domid, 77)).toBe(EINVAL);
    expect(ev().send(m.a.domid, 0)).toBe(EINVAL);
    expect(ev().close(m.a.domid, pa)).toBe(EINVAL);
    expect(ev().close(m.a.domid, 0)).toBe(EINVAL);
    // The closer may reconnect to the port it left.
    const again = ev().bindInterdomain(m.a.domid, m.b.domid, pb);
    expect(again).toBe(pa);
    expect(st(ev().status(m.b.domid, DOMID_SELF, pb))).toMatchObject({ status: INTERDOMAIN, remotePort: again });
  });

  it('bind_virq: range, per-vCPU and global rules, one port per virq; raiseVirq delivers', () => {
    expect(ev().bindVirq(m.a.domid, 24)).toBe(EINVAL);
    expect(ev().bindVirq(m.a.domid, -1)).toBe(EINVAL);
    expect(ev().bindVirq(m.a.domid, VIRQ_TIMER, 1)).toBe(ENOENT); // a per-vCPU virq on a vCPU the domain lacks
    expect(ev().bindVirq(m.dom0.domid, VIRQ_CONSOLE, 1)).toBe(EINVAL); // a global virq on vCPU ≠ 0
    expect(ev().bindVirq(m.a.domid, VIRQ_CONSOLE)).toBe(EBUSY); // its handler is the hardware domain
    const p = ev().bindVirq(m.a.domid, VIRQ_TIMER);
    expect(p).toBe(1);
    expect(ev().bindVirq(m.a.domid, VIRQ_TIMER)).toBe(EEXIST);
    expect(st(ev().status(m.a.domid, DOMID_SELF, p))).toMatchObject({ status: VIRQ, virq: VIRQ_TIMER });
    expect(ev().bindVirq(m.dom0.domid, VIRQ_CONSOLE)).toBe(1);
    ev().raiseVirq(m.a.domid, VIRQ_TIMER);
    expect(upcalls).toEqual([m.a.domid]);
    expect(ev().takePending(m.a.domid)).toEqual([p]);
    // Sending on a virq port is not allowed; after close the virq can be bound again.
    expect(ev().send(m.a.domid, p)).toBe(EINVAL);
    expect(ev().close(m.a.domid, p)).toBe(0);
    expect(ev().bindVirq(m.a.domid, VIRQ_TIMER)).toBe(p);
  });

  it('bind_pirq needs the permission; the device interrupt reaches the domain that bound it', () => {
    expect(ev().bindPirq(m.a.domid, 40)).toBe(EPERM);
    expect(ev().bindPirq(m.a.domid, 256)).toBe(EINVAL);
    expect(ev().raisePirq(40)).toBe(false);
    ev().permitPirq(m.a.domid, 40, true);
    const p = ev().bindPirq(m.a.domid, 40);
    expect(p).toBe(1);
    expect(ev().bindPirq(m.a.domid, 40)).toBe(EEXIST);
    expect(st(ev().status(m.a.domid, DOMID_SELF, p))).toMatchObject({ status: PIRQ, pirq: 40 });
    ev().permitPirq(m.b.domid, 40, true);
    expect(ev().bindPirq(m.b.domid, 40)).toBe(EBUSY);
    expect(ev().raisePirq(40)).toBe(true);
    expect(ev().takePending(m.a.domid)).toEqual([p]);
    expect(ev().close(m.a.domid, p)).toBe(0);
    expect(ev().raisePirq(40)).toBe(false);
    // Permission withdrawn: no new bind.
    ev().permitPirq(m.a.domid, 40, false);
    expect(ev().bindPirq(m.a.domid, 40)).toBe(EPERM);
  });

  it('a domain has 4095 usable ports (4096 in the 2-level ABI, less the reserved port 0), then -ENOSPC', () => {
    for (let i = 1; i <= 4095; i++) expect(ev().allocUnbound(m.a.domid, DOMID_SELF, m.b.domid)).toBe(i);
    expect(ev().allocUnbound(m.a.domid, DOMID_SELF, m.b.domid)).toBe(ENOSPC);
    expect(ev().ports(m.a.domid)).toHaveLength(4095);
  });

  it('killing a domain closes its ports: its peers become unbound with the dead domain as remote', () => {
    const [, pb] = connect();
    const virqPort = ev().bindVirq(m.a.domid, VIRQ_TIMER);
    expect(virqPort).toBeGreaterThan(0);
    m.xen.destroyDomain(m.a);
    expect(st(ev().status(m.b.domid, DOMID_SELF, pb))).toMatchObject({ status: UNBOUND, remoteDom: m.a.domid });
    expect(ev().ports(m.a.domid)).toEqual([]);
    expect(ev().status(m.dom0.domid, m.a.domid, 1)).toBe(ESRCH);
    expect(ev().send(m.b.domid, pb)).toBe(0);
  });
});

describe('event-channel costs and counters', () => {
  it('a PV send charges the sender a hypercall plus evtchnSend; the upcall is charged to the receiver when it takes its events', () => {
    const m = ioMachine('pv', 'pv');
    const ev = m.xen.evtchn;
    const pa = ev.allocUnbound(m.a.domid, DOMID_SELF, m.b.domid);
    const pb = ev.bindInterdomain(m.b.domid, m.a.domid, pa);
    ev.takePending(m.b.domid);
    const sender = m.b.counters;
    const receiver = m.a.counters;
    const before = { hv: sender.c[C.CycHv]!, hc: sender.c[C.Hypercalls]!, op: sender.hypercalls[Hc.EventChannelOp]! };
    const rBefore = receiver.c[C.CycHv]!;
    ev.send(m.b.domid, pb);
    // Modern profile defaults (core/machine/cost.ts): hypercall 1000 + evtchnSend 250.
    expect(sender.c[C.CycHv]! - before.hv).toBe(1000 + 250);
    expect(sender.c[C.Hypercalls]! - before.hc).toBe(1);
    expect(sender.hypercalls[Hc.EventChannelOp]! - before.op).toBe(1);
    expect(sender.c[C.EvtchnSends]).toBe(1);
    expect(receiver.c[C.CycHv]).toBe(rBefore);
    expect(receiver.c[C.Upcalls]).toBe(0);
    ev.takePending(m.a.domid);
    expect(receiver.c[C.Upcalls]).toBe(1);
    expect(receiver.c[C.CycHv]! - rBefore).toBe(DEFAULT_COSTS.upcall);
    // A failed send is a hypercall but not a send.
    ev.send(m.b.domid, 99);
    expect(sender.c[C.EvtchnSends]).toBe(1);
    expect(sender.hypercalls[Hc.EventChannelOp]! - before.op).toBe(2);
  });

  it('on the P4 profile a send costs that CPU’s hypercall (0.45 µs at 2.4 GHz = 1,080 cycles) plus its evtchnSend (750)', () => {
    const m = ioMachine('pv', 'pv', 'p4-2003');
    const ev = m.xen.evtchn;
    const pa = ev.allocUnbound(m.a.domid, DOMID_SELF, m.b.domid);
    const pb = ev.bindInterdomain(m.b.domid, m.a.domid, pa);
    const hv = m.b.counters.c[C.CycHv]!;
    ev.send(m.b.domid, pb);
    expect(m.b.counters.c[C.CycHv]! - hv).toBe(1080 + 750);
  });

  it('an HVM sender reaches Xen with VMCALL: a VM exit plus evtchnSend', () => {
    const m = ioMachine('hap', 'pv');
    const ev = m.xen.evtchn;
    const pb = ev.allocUnbound(m.b.domid, DOMID_SELF, m.a.domid);
    const pa = ev.bindInterdomain(m.a.domid, m.b.domid, pb);
    const c = m.a.counters;
    const hv = c.c[C.CycHv]!;
    const exits = c.vmexits[Vx.Vmcall]!;
    expect(ev.send(m.a.domid, pa)).toBe(0);
    expect(c.c[C.CycHv]! - hv).toBe(1200 + 250); // vmexit 1200 + evtchnSend 250
    expect(c.vmexits[Vx.Vmcall]! - exits).toBe(1);
    expect(c.hypercalls[Hc.EventChannelOp]).toBe(2);
  });
});

/**
 * Event channels, 2-level ABI (xen/common/event_channel.c, xen/common/event_2l.c): per-domain
 * ports with Xen's states (ECS_*), the checks and error codes of each EVTCHNOP, and the bits a
 * guest shares with Xen: shared_info's evtchn_pending and evtchn_mask (one bit per port) and
 * vcpu_info's evtchn_pending_sel (one bit per 64-port word) and evtchn_upcall_pending.
 *
 * Each domain has one vCPU (vCPU 0), as everywhere in the lab. A send marks the remote port pending;
 * if it was not pending and is not masked, its word's selector bit and then upcall_pending are set,
 * and only the 0 → 1 edge of upcall_pending calls `onUpcall` (Xen's vcpu_kick). The guest's upcall
 * handler is `takePending`, which is where the upcall's cost is charged.
 */
import { EEXIST, EBUSY, EINVAL, ENOENT, ENOSPC, EPERM, ESRCH } from '../../base/errno.js';
import {
  BITS_PER_EVTCHN_WORD,
  DOMID_SELF,
  ECS_FREE,
  ECS_INTERDOMAIN,
  ECS_IPI,
  ECS_PIRQ,
  ECS_RESERVED,
  ECS_UNBOUND,
  ECS_VIRQ,
  EVTCHN_2L_NR_CHANNELS,
  EVTCHNSTAT_closed,
  EVTCHNSTAT_interdomain,
  EVTCHNSTAT_ipi,
  EVTCHNSTAT_pirq,
  EVTCHNSTAT_unbound,
  EVTCHNSTAT_virq,
  NR_VIRQS,
  VIRQ_ARGO,
  VIRQ_DEBUG,
  VIRQ_TIMER,
  VIRQ_XENOPROF,
  VIRQ_XENPMU,
  type EcsState,
  type EvtchnStat,
} from '../../api/public/event_channel.js';
import type { CostTable } from '../../machine/cost.js';
import { C, Hc } from '../../machine/counters.js';
import type { Domain } from '../domain.js';
import { chargeHypercall } from './hypercallCharge.js';

/** What the event channels need from the hypervisor (Hypervisor satisfies it). */
export interface EvtchnHost {
  domain(domid: number): Domain | undefined;
  readonly costs: CostTable;
}

/** One port as EVTCHNOP_status reports it, plus the 2-level bits (for the Topology view and `xl`). */
export interface EvtchnStatus {
  domid: number;
  port: number;
  /** EVTCHNSTAT_* (what EVTCHNOP_status returns). */
  status: EvtchnStat;
  /** ECS_* (Xen's internal state: tells a free port from the reserved port 0). */
  state: EcsState;
  vcpu: number;
  /** unbound: the domain allowed to bind; interdomain: the peer. */
  remoteDom?: number;
  remotePort?: number;
  virq?: number;
  pirq?: number;
  pending: boolean;
  masked: boolean;
}

/**
 * Pirqs a domain may bind: Xen sizes d->nr_pirqs from the platform's GSIs plus extra_guest_irqs
 * (xen/common/domain.c); the lab's devices use MSIs numbered below this, so one fixed bound stands
 * in for that computation.
 */
export const NR_PIRQS = 256;

/** A domain's event-channel state: struct evtchn per port and the 2-level shared bits. */
class DomainEvtchn {
  readonly state = new Uint8Array(EVTCHN_2L_NR_CHANNELS);
  /** ECS_UNBOUND: remote_domid; ECS_INTERDOMAIN: remote_dom. */
  readonly remoteDom = new Int32Array(EVTCHN_2L_NR_CHANNELS);
  readonly remotePort = new Int32Array(EVTCHN_2L_NR_CHANNELS);
  /** ECS_VIRQ: the virq; ECS_PIRQ: the pirq. */
  readonly irq = new Int32Array(EVTCHN_2L_NR_CHANNELS);
  /** shared_info.evtchn_pending / evtchn_mask, one byte per bit. */
  readonly pending = new Uint8Array(EVTCHN_2L_NR_CHANNELS);
  readonly mask = new Uint8Array(EVTCHN_2L_NR_CHANNELS);
  /** vcpu_info.evtchn_pending_sel: one bit per 64-port word. */
  readonly pendingSel = new Uint8Array(EVTCHN_2L_NR_CHANNELS / BITS_PER_EVTCHN_WORD);
  /** vcpu_info.evtchn_upcall_pending. */
  upcallPending = false;
  /** v->virq_to_evtchn. */
  readonly virqToPort = new Int32Array(NR_VIRQS);
  /** pirq → port (pirq_to_evtchn). */
  readonly pirqToPort = new Map<number, number>();
  /** irq_access_permitted: pirqs the toolstack gave this domain. */
  readonly permittedPirqs = new Set<number>();

  constructor() {
    // evtchn_init: port 0 is reserved, so the first port handed out is 1.
    this.state[0] = ECS_RESERVED;
  }
}

const STAT_OF: Record<EcsState, EvtchnStat> = {
  [ECS_FREE]: EVTCHNSTAT_closed,
  [ECS_RESERVED]: EVTCHNSTAT_closed,
  [ECS_UNBOUND]: EVTCHNSTAT_unbound,
  [ECS_INTERDOMAIN]: EVTCHNSTAT_interdomain,
  [ECS_PIRQ]: EVTCHNSTAT_pirq,
  [ECS_VIRQ]: EVTCHNSTAT_virq,
  [ECS_IPI]: EVTCHNSTAT_ipi,
};

/** get_virq_type: per-vCPU, per-domain or global (xen/common/event_channel.c). */
function virqType(virq: number): 'vcpu' | 'domain' | 'global' {
  if (virq === VIRQ_TIMER || virq === VIRQ_DEBUG || virq === VIRQ_XENOPROF || virq === VIRQ_XENPMU) return 'vcpu';
  if (virq === VIRQ_ARGO) return 'domain';
  return 'global';
}

const isInt = (n: number) => Number.isInteger(n);

export class EventChannels {
  private readonly doms = new Map<number, DomainEvtchn>();
  /** Called when a send or raise sets a domain's upcall_pending (0 → 1): the simulation wakes it. */
  onUpcall: ((domid: number) => void) | null = null;

  constructor(private readonly host: EvtchnHost) {}

  addDomain(domid: number): void {
    if (!this.doms.has(domid)) this.doms.set(domid, new DomainEvtchn());
  }

  /** evtchn_destroy at domain_kill: every port closed as evtchn_close does, then the state dropped. */
  removeDomain(domid: number): void {
    const e = this.doms.get(domid);
    if (!e) return;
    for (let port = 1; port < EVTCHN_2L_NR_CHANNELS; port++) if (e.state[port] !== ECS_FREE) this.closePort(domid, e, port);
    this.doms.delete(domid);
  }

  /** DOMID_SELF → the caller (rcu_lock_domain_by_any_id); undefined if no such domain has event channels. */
  private resolve(caller: number, dom: number): number | undefined {
    const id = dom === DOMID_SELF ? caller : dom;
    return this.doms.has(id) ? id : undefined;
  }

  /** The XSM_TARGET check of the dummy policy: the caller itself, or a privileged (control) domain. */
  private mayTarget(caller: number, target: number): boolean {
    return caller === target || this.host.domain(caller)?.privileged === true;
  }

  /** get_free_port: the lowest free port, or -ENOSPC. */
  private freePort(e: DomainEvtchn): number {
    for (let port = 1; port < EVTCHN_2L_NR_CHANNELS; port++) if (e.state[port] === ECS_FREE) return port;
    return ENOSPC;
  }

  /** _evtchn_from_port: a port number inside the domain's port space. */
  private validPort(port: number): boolean {
    return isInt(port) && port >= 0 && port < EVTCHN_2L_NR_CHANNELS;
  }

  private charge(caller: number): Domain | undefined {
    const d = this.host.domain(caller);
    if (d) chargeHypercall(d, this.host.costs, Hc.EventChannelOp);
    return d;
  }

  /** EVTCHNOP_alloc_unbound: a port in `dom` that `remoteDom` may bind to. */
  allocUnbound(caller: number, dom: number, remoteDom: number): number {
    this.charge(caller);
    const id = this.resolve(caller, dom);
    if (id === undefined) return ESRCH;
    const e = this.doms.get(id)!;
    const port = this.freePort(e);
    if (port < 0) return port;
    if (!this.mayTarget(caller, id)) return EPERM; // xsm_evtchn_unbound(XSM_TARGET)
    e.state[port] = ECS_UNBOUND;
    e.remoteDom[port] = remoteDom === DOMID_SELF ? caller : remoteDom;
    this.resetBits(e, port);
    return port;
  }

  /** EVTCHNOP_bind_interdomain: connects a new local port to `remoteDom`'s unbound port offered to the caller. */
  bindInterdomain(caller: number, remoteDom: number, remotePort: number): number {
    this.charge(caller);
    const le = this.doms.get(caller);
    const rid = this.resolve(caller, remoteDom);
    if (!le || rid === undefined) return ESRCH;
    const re = this.doms.get(rid)!;
    const lport = this.freePort(le);
    if (lport < 0) return lport;
    if (!this.validPort(remotePort)) return EINVAL;
    if (re.state[remotePort] !== ECS_UNBOUND || re.remoteDom[remotePort] !== caller) return EINVAL;
    le.state[lport] = ECS_INTERDOMAIN;
    le.remoteDom[lport] = rid;
    le.remotePort[lport] = remotePort;
    this.resetBits(le, lport);
    re.state[remotePort] = ECS_INTERDOMAIN;
    re.remoteDom[remotePort] = caller;
    re.remotePort[remotePort] = lport;
    // evtchn_bind_interdomain: "the remote end may have pending events": mark the local end pending.
    this.setPending(caller, le, lport);
    return lport;
  }

  /** EVTCHNOP_bind_virq on vCPU `vcpu` (the lab's domains have only vCPU 0). */
  bindVirq(caller: number, virq: number, vcpu = 0): number {
    const d = this.charge(caller);
    const e = this.doms.get(caller);
    if (!e || !d) return ESRCH;
    if (!isInt(virq) || virq < 0 || virq >= NR_VIRQS) return EINVAL;
    const type = virqType(virq);
    if (type !== 'vcpu' && vcpu !== 0) return EINVAL;
    if (vcpu !== 0) return ENOENT; // domain_vcpu: no such vCPU
    // get_global_virq_handler: a global virq goes to the hardware domain unless re-routed.
    if (type === 'global' && !d.privileged) return EBUSY;
    if (e.virqToPort[virq] !== 0) return EEXIST;
    const port = this.freePort(e);
    if (port < 0) return port;
    e.state[port] = ECS_VIRQ;
    e.irq[port] = virq;
    e.virqToPort[virq] = port;
    this.resetBits(e, port);
    return port;
  }

  /** The toolstack's irq permission (XEN_DOMCTL_irq_permission) for a device's pirq. */
  permitPirq(domid: number, pirq: number, allow: boolean): void {
    const e = this.doms.get(domid);
    if (!e) return;
    if (allow) e.permittedPirqs.add(pirq);
    else e.permittedPirqs.delete(pirq);
  }

  /**
   * EVTCHNOP_bind_pirq. Xen checks pirq_access_permitted for PV here and at PHYSDEVOP_map_pirq for
   * HVM; the lab has no map_pirq, so it checks every domain here. A pirq another domain has bound
   * is refused with -EBUSY, as pirq_guest_bind refuses a non-shared IRQ (xen/arch/x86/irq.c).
   */
  bindPirq(caller: number, pirq: number): number {
    this.charge(caller);
    const e = this.doms.get(caller);
    if (!e) return ESRCH;
    if (!isInt(pirq) || pirq < 0 || pirq >= NR_PIRQS) return EINVAL;
    if (!e.permittedPirqs.has(pirq)) return EPERM;
    if (e.pirqToPort.has(pirq)) return EEXIST;
    if (this.pirqOwner(pirq) !== undefined) return EBUSY;
    const port = this.freePort(e);
    if (port < 0) return port;
    e.state[port] = ECS_PIRQ;
    e.irq[port] = pirq;
    e.pirqToPort.set(pirq, port);
    this.resetBits(e, port);
    return port;
  }

  private pirqOwner(pirq: number): number | undefined {
    for (const [domid, e] of this.doms) if (e.pirqToPort.has(pirq)) return domid;
    return undefined;
  }

  /** EVTCHNOP_send: 0 or -errno. An unbound port drops the notification silently, as Xen does. */
  send(caller: number, port: number): number {
    const d = this.charge(caller);
    const e = this.doms.get(caller);
    if (!e || !d) return ESRCH;
    if (!this.validPort(port)) return EINVAL;
    let rc = 0;
    switch (e.state[port]) {
      case ECS_INTERDOMAIN: {
        const rid = e.remoteDom[port]!;
        const re = this.doms.get(rid);
        if (re) this.setPending(rid, re, e.remotePort[port]!);
        break;
      }
      case ECS_IPI:
        this.setPending(caller, e, port);
        break;
      case ECS_UNBOUND:
        break;
      default:
        rc = EINVAL;
    }
    if (rc === 0) {
      d.counters.c[C.EvtchnSends]++;
      d.counters.c[C.CycHv] += this.host.costs.evtchnSend;
    }
    return rc;
  }

  /** EVTCHNOP_close: frees the port; an interdomain peer goes back to ECS_UNBOUND for the caller. */
  close(caller: number, port: number): number {
    this.charge(caller);
    const e = this.doms.get(caller);
    if (!e) return ESRCH;
    if (!this.validPort(port)) return EINVAL;
    return this.closePort(caller, e, port);
  }

  private closePort(domid: number, e: DomainEvtchn, port: number): number {
    switch (e.state[port]) {
      case ECS_FREE:
      case ECS_RESERVED:
        return EINVAL;
      case ECS_PIRQ:
        e.pirqToPort.delete(e.irq[port]!);
        break;
      case ECS_VIRQ:
        e.virqToPort[e.irq[port]!] = 0;
        break;
      case ECS_INTERDOMAIN: {
        const re = this.doms.get(e.remoteDom[port]!);
        const rport = e.remotePort[port]!;
        if (re) {
          re.state[rport] = ECS_UNBOUND;
          re.remoteDom[rport] = domid;
        }
        break;
      }
    }
    // evtchn_free: the port is free again, its pending bit cleared (evtchn_port_clear_pending).
    e.state[port] = ECS_FREE;
    e.pending[port] = 0;
    e.remoteDom[port] = 0;
    e.remotePort[port] = 0;
    e.irq[port] = 0;
    return 0;
  }

  /** EVTCHNOP_unmask: clears the mask and, if the port is pending, delivers it (evtchn_2l_unmask). */
  unmask(caller: number, port: number): number {
    this.charge(caller);
    const e = this.doms.get(caller);
    if (!e) return ESRCH;
    if (!this.validPort(port)) return EINVAL;
    const wasMasked = e.mask[port] === 1;
    e.mask[port] = 0;
    if (wasMasked && e.pending[port]) this.markSel(caller, e, port);
    return 0;
  }

  /** EVTCHNOP_status: the port's state, or -errno (another domain's ports need privilege: XSM_TARGET). */
  status(caller: number, dom: number, port: number): EvtchnStatus | number {
    this.charge(caller);
    const id = this.resolve(caller, dom);
    if (id === undefined) return ESRCH;
    if (!this.validPort(port)) return EINVAL;
    if (!this.mayTarget(caller, id)) return EPERM;
    return this.statusOf(id, this.doms.get(id)!, port);
  }

  private statusOf(domid: number, e: DomainEvtchn, port: number): EvtchnStatus {
    const state = e.state[port]! as EcsState;
    const s: EvtchnStatus = {
      domid,
      port,
      status: STAT_OF[state],
      state,
      vcpu: 0,
      pending: e.pending[port] === 1,
      masked: e.mask[port] === 1,
    };
    if (state === ECS_UNBOUND) s.remoteDom = e.remoteDom[port];
    if (state === ECS_INTERDOMAIN) {
      s.remoteDom = e.remoteDom[port];
      s.remotePort = e.remotePort[port];
    }
    if (state === ECS_VIRQ) s.virq = e.irq[port];
    if (state === ECS_PIRQ) s.pirq = e.irq[port];
    return s;
  }

  /** send_guest_vcpu_virq / send_guest_global_virq: marks the domain's port for `virq` pending, if bound. */
  raiseVirq(domid: number, virq: number): void {
    const e = this.doms.get(domid);
    if (!e || !isInt(virq) || virq < 0 || virq >= NR_VIRQS) return;
    const port = e.virqToPort[virq]!;
    if (port !== 0) this.setPending(domid, e, port);
  }

  /** A device's interrupt for `pirq` (send_guest_pirq): pending on the bound port; false if none is bound. */
  raisePirq(pirq: number): boolean {
    for (const [domid, e] of this.doms) {
      const port = e.pirqToPort.get(pirq);
      if (port !== undefined) {
        this.setPending(domid, e, port);
        return true;
      }
    }
    return false;
  }

  /**
   * The guest's upcall handler (Linux evtchn_2l_handle_events): clears upcall_pending, takes and
   * clears pending_sel, and returns the ports of each selected word that are pending and not masked,
   * lowest first, clearing their pending bits. Charged to the domain (costs.upcall, C.Upcalls)
   * when an upcall was pending; a call with nothing pending costs nothing and returns [].
   */
  takePending(domid: number): number[] {
    const e = this.doms.get(domid);
    if (!e || !e.upcallPending) return [];
    e.upcallPending = false;
    const d = this.host.domain(domid);
    if (d) {
      d.counters.c[C.Upcalls]++;
      d.counters.c[C.CycHv] += this.host.costs.upcall;
    }
    const out: number[] = [];
    for (let w = 0; w < e.pendingSel.length; w++) {
      if (!e.pendingSel[w]) continue;
      e.pendingSel[w] = 0;
      const base = w * BITS_PER_EVTCHN_WORD;
      for (let port = base; port < base + BITS_PER_EVTCHN_WORD; port++) {
        if (e.pending[port] && !e.mask[port]) {
          e.pending[port] = 0;
          out.push(port);
        }
      }
    }
    return out;
  }

  /** The guest writing its mask bit in shared_info (mask_evtchn / a local unmask without delivery). */
  setMasked(domid: number, port: number, masked: boolean): void {
    const e = this.doms.get(domid);
    if (e && this.validPort(port)) e.mask[port] = masked ? 1 : 0;
  }

  isPending(domid: number, port: number): boolean {
    const e = this.doms.get(domid);
    return !!e && this.validPort(port) && e.pending[port] === 1;
  }

  /** Whether the domain's vcpu_info.evtchn_upcall_pending is set. */
  upcallPending(domid: number): boolean {
    return this.doms.get(domid)?.upcallPending ?? false;
  }

  /** The domain's ports in use (not free, not the reserved port 0), lowest first. */
  ports(domid: number): EvtchnStatus[] {
    const e = this.doms.get(domid);
    if (!e) return [];
    const out: EvtchnStatus[] = [];
    for (let port = 1; port < EVTCHN_2L_NR_CHANNELS; port++) if (e.state[port] !== ECS_FREE) out.push(this.statusOf(domid, e, port));
    return out;
  }

  /** evtchn_port_init: a newly bound port starts neither pending nor masked. */
  private resetBits(e: DomainEvtchn, port: number): void {
    e.pending[port] = 0;
    e.mask[port] = 0;
  }

  /** evtchn_2l_set_pending: an already pending port does nothing more; a masked one stays pending only. */
  private setPending(domid: number, e: DomainEvtchn, port: number): void {
    if (e.pending[port]) return;
    e.pending[port] = 1;
    if (!e.mask[port]) this.markSel(domid, e, port);
  }

  /** Sets the word's pending_sel bit and, on its 0 → 1 edge, upcall_pending (vcpu_mark_events_pending). */
  private markSel(domid: number, e: DomainEvtchn, port: number): void {
    const w = (port / BITS_PER_EVTCHN_WORD) | 0;
    if (e.pendingSel[w]) return;
    e.pendingSel[w] = 1;
    if (e.upcallPending) return;
    e.upcallPending = true;
    this.onUpcall?.(domid);
  }
}

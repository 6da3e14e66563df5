/**
 * Xen's event-channel ABI (xen/include/public/event_channel.h, xen/include/public/xen.h): what a
 * guest kernel and the hypervisor agree on. Both sides import it; neither owns it.
 */

/** Hypercall number (xen/include/public/xen.h: __HYPERVISOR_event_channel_op). */
export const __HYPERVISOR_event_channel_op = 32;

/** EVTCHNOP_* sub-commands (xen/include/public/event_channel.h). */
export const EVTCHNOP_bind_interdomain = 0;
export const EVTCHNOP_bind_virq = 1;
export const EVTCHNOP_bind_pirq = 2;
export const EVTCHNOP_close = 3;
export const EVTCHNOP_send = 4;
export const EVTCHNOP_status = 5;
export const EVTCHNOP_alloc_unbound = 6;
export const EVTCHNOP_bind_ipi = 7;
export const EVTCHNOP_bind_vcpu = 8;
export const EVTCHNOP_unmask = 9;
export const EVTCHNOP_reset = 10;
export const EVTCHNOP_init_control = 11;
export const EVTCHNOP_expand_array = 12;
export const EVTCHNOP_set_priority = 13;
export const EVTCHNOP_reset_cont = 14;

/** EVTCHNSTAT_*: the status EVTCHNOP_status reports (xen/include/public/event_channel.h). */
export const EVTCHNSTAT_closed = 0;
export const EVTCHNSTAT_unbound = 1;
export const EVTCHNSTAT_interdomain = 2;
export const EVTCHNSTAT_pirq = 3;
export const EVTCHNSTAT_virq = 4;
export const EVTCHNSTAT_ipi = 5;
export type EvtchnStat = 0 | 1 | 2 | 3 | 4 | 5;
export const EVTCHNSTAT_NAMES = ['closed', 'unbound', 'interdomain', 'pirq', 'virq', 'ipi'] as const;

/**
 * ECS_*: a channel's state inside Xen (xen/include/xen/sched.h, struct evtchn). Not ABI, but the
 * names Xen's own code and its 'e' debug-key dump use. Port 0 is ECS_RESERVED in every domain
 * (evtchn_init, xen/common/event_channel.c), so the first port a domain gets is 1.
 */
export const ECS_FREE = 0;
export const ECS_RESERVED = 1;
export const ECS_UNBOUND = 2;
export const ECS_INTERDOMAIN = 3;
export const ECS_PIRQ = 4;
export const ECS_VIRQ = 5;
export const ECS_IPI = 6;
export type EcsState = 0 | 1 | 2 | 3 | 4 | 5 | 6;

/** VIRQ_* (xen/include/public/xen.h); V = per vCPU, G = global, D = per domain. */
export const VIRQ_TIMER = 0; // V
export const VIRQ_DEBUG = 1; // V
export const VIRQ_CONSOLE = 2; // G
export const VIRQ_DOM_EXC = 3; // G
export const VIRQ_TBUF = 4; // G
export const VIRQ_DEBUGGER = 6; // G
export const VIRQ_XENOPROF = 7; // V
export const VIRQ_CON_RING = 8; // G
export const VIRQ_PCPU_STATE = 9; // G
export const VIRQ_MEM_EVENT = 10; // G
export const VIRQ_ARGO = 11; // D
export const VIRQ_ENOMEM = 12; // G
export const VIRQ_XENPMU = 13; // V
export const NR_VIRQS = 24;

/** DOMID_SELF (xen/include/public/xen.h): "the calling domain" wherever a domid is expected. */
export const DOMID_SELF = 0x7ff0;

/**
 * The 2-level ABI's port space on a 64-bit guest: BITS_PER_EVTCHN_WORD² = 64 × 64
 * (xen/include/public/xen.h: NR_EVENT_CHANNELS, EVTCHN_2L_NR_CHANNELS).
 */
export const BITS_PER_EVTCHN_WORD = 64;
export const EVTCHN_2L_NR_CHANNELS = BITS_PER_EVTCHN_WORD * BITS_PER_EVTCHN_WORD;

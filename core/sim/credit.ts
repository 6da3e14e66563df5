/**
 * The credit scheduler (Xen's credit1, xen/common/sched/credit.c), reduced to what the lab's
 * slices need.
 *
 * Accounting: per pCPU, every accounting period (CSCHED_DEFAULT_TSLICE_MS = 30 ms, csched_acct)
 * hands out one period of CPU time as credit, split among the domains with work there in
 * proportion to their weights (CSCHED_DEFAULT_WEIGHT 256). Running burns credit. At each
 * accounting a vCPU's priority is set from its credit (csched_acct: credit < 0 is OVER, else
 * UNDER); between accountings it stays, as in credit1. A domain with a cap (percent of one pCPU)
 * is parked once it has used its cap's share of the period, and unparked at the next one, even if
 * the pCPU would otherwise idle.
 *
 * BOOST (csched_unit_wake): a vCPU woken from blocked while UNDER and not parked becomes BOOST
 * (CSCHED_PRI_TS_BOOST, above UNDER, above OVER) and may preempt a lower-priority running vCPU
 * (__runq_tickle). It loses BOOST at the first scheduler tick it is found running on
 * (csched_tick → csched_unit_acct, every CSCHED_DEFAULT_TSLICE_MS / CSCHED_TICKS_PER_TSLICE =
 * 10 ms) or at the next accounting (csched_acct resets every active vCPU to UNDER or OVER).
 *
 * The timeslice and the rate limit (who keeps the pCPU, and for how long) are the simulation's
 * (Simulation.pick, core/sim/simulation.ts), with the constants below.
 *
 * Simplifications, each stated: credit is kept in cycles rather than credit units
 * (CSCHED_CREDITS_PER_MSEC 10), debited exactly rather than sampled at ticks; the lab's domains
 * have one vCPU each pinned to their pCPU, so the accounting is per pCPU (credit1 balances across
 * pCPUs; its accounting period and ticks are global, the lab's count from the domains' boot on
 * each pCPU); a new domain starts UNDER with no credit (csched_alloc_udata); the credit a domain
 * may hold is bounded by one period either way (credit1's CSCHED_CREDITS_PER_ACCT on the way up;
 * the lab also bounds the debt, so a long slice cannot starve a domain for more than a period);
 * the cap parks a domain as soon as its period's use reaches the cap (credit1 parks at the
 * accounting once the credit is below -cap, so it can overrun within a period).
 */

/** CSCHED_DEFAULT_WEIGHT (credit.c). */
export const CSCHED_DEFAULT_WEIGHT = 256;
/** CSCHED_DEFAULT_TSLICE_MS (credit.c): the timeslice, and the accounting period (csched_acct's master ticker runs every tslice). */
export const CSCHED_DEFAULT_TSLICE_MS = 30;
/** The accounting period (kept for its users): one timeslice. */
export const CSCHED_ACCT_MS = CSCHED_DEFAULT_TSLICE_MS;
/** CSCHED_TICKS_PER_TSLICE (credit.c): csched_tick runs every tslice / 3 = 10 ms on each pCPU. */
export const CSCHED_TICKS_PER_TSLICE = 3;
/** SCHED_DEFAULT_RATELIMIT_US (xen/common/sched/private.h; sched_ratelimit_us in core.c): a vCPU that has run less than this keeps its pCPU. */
export const SCHED_DEFAULT_RATELIMIT_US = 1000;
/** XEN_SYSCTL_SCHED_RATELIMIT_MIN (public/sysctl.h), credit1's CSCHED_MIN_TIMER: no scheduler timer is set shorter than 100 µs. */
export const CSCHED_MIN_TIMER_US = 100;

/** A vCPU's priority: credit1's CSCHED_PRI_TS_BOOST / _UNDER / _OVER, or parked by its cap (CSCHED_FLAG_UNIT_PARKED: not runnable). */
export type CreditPri = 'boost' | 'under' | 'over' | 'parked';

/** credit.c's numeric priorities (higher runs first): CSCHED_PRI_TS_BOOST 0, CSCHED_PRI_TS_UNDER -1, CSCHED_PRI_TS_OVER -2; a parked vCPU does not run. */
export function priRank(p: CreditPri): number {
  return p === 'boost' ? 0 : p === 'under' ? -1 : p === 'over' ? -2 : -Infinity;
}

interface Entry {
  pcpu: number;
  weight: number;
  /** Percent of one pCPU; 0: no cap. */
  cap: number;
  credit: number;
  /** Cycles run since the current period began (for the cap). */
  used: number;
  /** True while the domain has a job that is not done (it takes part in the accounting). */
  active: boolean;
  /** svc->pri: set at the accounting, BOOST at a wake. */
  pri: 'boost' | 'under' | 'over';
}

export class CreditScheduler {
  private readonly entries = new Map<number, Entry>();
  /** Per pCPU, the clock at which the next accounting runs. */
  private readonly nextAcct: number[];
  readonly period: number;
  /** csched_tick's period in cycles (tslice / CSCHED_TICKS_PER_TSLICE). */
  readonly tickCycles: number;
  private readonly start: number;

  constructor(
    clockGHz: number,
    pcpus: number,
    start: number,
  ) {
    this.period = CSCHED_DEFAULT_TSLICE_MS * clockGHz * 1e6;
    this.tickCycles = this.period / CSCHED_TICKS_PER_TSLICE;
    this.start = start;
    this.nextAcct = new Array<number>(pcpus).fill(start + this.period);
  }

  /** A domain on `pcpu` with its weight and cap, no credit yet, and no work yet (setActive). */
  add(domid: number, pcpu: number, weight = CSCHED_DEFAULT_WEIGHT, cap = 0): void {
    this.entries.set(domid, { pcpu, weight, cap, credit: 0, used: 0, active: false, pri: 'under' });
  }

  remove(domid: number): void {
    this.entries.delete(domid);
  }

  /** `xl sched-credit -w/-c`: a new weight counts from the next accounting, a new cap at once (against the period's use so far). */
  set(domid: number, weight: number | undefined, cap: number | undefined): void {
    const e = this.entries.get(domid);
    if (!e) return;
    if (weight !== undefined) e.weight = weight;
    if (cap !== undefined) e.cap = cap;
  }

  params(domid: number): { weight: number; cap: number } | undefined {
    const e = this.entries.get(domid);
    return e ? { weight: e.weight, cap: e.cap } : undefined;
  }

  setActive(domid: number, active: boolean): void {
    const e = this.entries.get(domid);
    if (e) e.active = active;
  }

  /** A period's CPU time split by weight among the active domains of `e`'s pCPU. */
  private share(e: Entry): number {
    let sum = 0;
    for (const x of this.entries.values()) if (x.pcpu === e.pcpu && x.active) sum += x.weight;
    return sum > 0 ? (this.period * e.weight) / sum : 0;
  }

  /** Cycles `domid` ran: its credit burns. */
  burn(domid: number, cycles: number): void {
    const e = this.entries.get(domid);
    if (!e) return;
    e.credit -= cycles;
    e.used += cycles;
  }

  /**
   * `domid` ran on its pCPU from `from` to `to` (cycles): if a scheduler tick fell in that time,
   * csched_tick found it running and csched_unit_acct ended its BOOST.
   */
  ran(domid: number, from: number, to: number): void {
    const e = this.entries.get(domid);
    if (!e || e.pri !== 'boost' || to <= from) return;
    if (Math.floor((to - this.start) / this.tickCycles) > Math.floor((from - this.start) / this.tickCycles)) e.pri = 'under';
  }

  /**
   * csched_unit_wake: `domid`'s vCPU woke from blocked. UNDER and not parked, it becomes BOOST.
   * Returns its priority after the wake.
   */
  wake(domid: number): CreditPri {
    const e = this.entries.get(domid);
    if (!e) return 'under';
    if (e.pri === 'under' && !this.isParked(e)) e.pri = 'boost';
    return this.pri(domid);
  }

  /** csched_acct for every period `pcpu`'s clock has passed. */
  account(pcpu: number, clock: number): void {
    while (clock >= this.nextAcct[pcpu]!) {
      this.nextAcct[pcpu]! += this.period;
      for (const e of this.entries.values()) {
        if (e.pcpu !== pcpu) continue;
        e.used = 0;
        if (!e.active) continue;
        e.credit = Math.max(-this.period, Math.min(this.period, e.credit + this.share(e)));
        // Priority from credit (csched_acct): BOOST ends here too.
        e.pri = e.credit < 0 ? 'over' : 'under';
      }
    }
  }

  /** When `pcpu` next accounts (a parked domain's pCPU idles until then). */
  nextAccounting(pcpu: number): number {
    return this.nextAcct[pcpu]!;
  }

  private isParked(e: Entry): boolean {
    return e.cap > 0 && e.used >= (this.period * e.cap) / 100;
  }

  pri(domid: number): CreditPri {
    const e = this.entries.get(domid);
    if (!e) return 'under';
    if (this.isParked(e)) return 'parked';
    return e.pri;
  }

  /** Cycles `domid` may still run this period before its cap parks it (Infinity: no cap). */
  capLeft(domid: number): number {
    const e = this.entries.get(domid);
    if (!e || e.cap <= 0) return Infinity;
    return Math.max(0, (this.period * e.cap) / 100 - e.used);
  }

  /** Credit left, in cycles (negative: debt). */
  credit(domid: number): number {
    return this.entries.get(domid)?.credit ?? 0;
  }
}

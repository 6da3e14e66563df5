/**
 * The credit scheduler's accounting (Xen's credit1, xen/common/sched/credit.c), reduced to what
 * the lab's slices need: per pCPU, every accounting period (CSCHED_TICKS_PER_ACCT ×
 * CSCHED_MSECS_PER_TICK = 30 ms) hands out one period of CPU time as credit, split among the
 * domains with work there in proportion to their weights (CSCHED_DEFAULT_WEIGHT 256). Running
 * burns credit. A domain with credit left is UNDER and runs before any OVER one (which waits while
 * an UNDER one can run); a domain with a cap (percent of one pCPU) is parked once it has used its
 * cap's share of the period, and unparked at the next one, even if the pCPU would otherwise idle.
 *
 * Simplifications, each stated: credit is kept in cycles rather than credit units (100 per 10 ms
 * tick), debited exactly rather than sampled at ticks; the lab's domains have one vCPU each pinned
 * to their pCPU, so the accounting is per pCPU (credit1 balances across pCPUs); a new domain
 * starts with no credit (OVER), as in credit1, until the next accounting fills it, so runs shorter
 * than a period keep plain round-robin turns;
 * the credit a domain may hold is bounded by one period either way (credit1's
 * CSCHED_CREDITS_PER_ACCT on the way up; the lab also bounds the debt, so a long slice cannot
 * starve a domain for more than a period). Kernel work woken by an event (BOOST) is not held back
 * by credit.
 */

/** CSCHED_DEFAULT_WEIGHT (credit.c). */
export const CSCHED_DEFAULT_WEIGHT = 256;
/** The accounting period: CSCHED_TICKS_PER_ACCT (3) × CSCHED_MSECS_PER_TICK (10 ms). */
export const CSCHED_ACCT_MS = 30;

export type CreditPri = 'under' | 'over' | 'parked';

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
}

export class CreditScheduler {
  private readonly entries = new Map<number, Entry>();
  /** Per pCPU, the clock at which the next accounting runs. */
  private readonly nextAcct: number[];
  readonly period: number;

  constructor(
    clockGHz: number,
    pcpus: number,
    start: number,
  ) {
    this.period = CSCHED_ACCT_MS * clockGHz * 1e6;
    this.nextAcct = new Array<number>(pcpus).fill(start + this.period);
  }

  /** A domain on `pcpu` with its weight and cap, no credit yet, and no work yet (setActive). */
  add(domid: number, pcpu: number, weight = CSCHED_DEFAULT_WEIGHT, cap = 0): void {
    this.entries.set(domid, { pcpu, weight, cap, credit: 0, used: 0, active: false });
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

  /** csched_acct for every period `pcpu`'s clock has passed. */
  account(pcpu: number, clock: number): void {
    while (clock >= this.nextAcct[pcpu]!) {
      this.nextAcct[pcpu]! += this.period;
      for (const e of this.entries.values()) {
        if (e.pcpu !== pcpu) continue;
        e.used = 0;
        if (!e.active) continue;
        e.credit = Math.max(-this.period, Math.min(this.period, e.credit + this.share(e)));
      }
    }
  }

  /** When `pcpu` next accounts (a parked domain's pCPU idles until then). */
  nextAccounting(pcpu: number): number {
    return this.nextAcct[pcpu]!;
  }

  pri(domid: number): CreditPri {
    const e = this.entries.get(domid);
    if (!e) return 'under';
    if (e.cap > 0 && e.used >= (this.period * e.cap) / 100) return 'parked';
    return e.credit > 0 ? 'under' : 'over';
  }
}

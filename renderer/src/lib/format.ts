/** Numbers as the lab shows them: thin-space thousands separators, units, fixed precision. */
import { CLOCK_HZ } from '../../../core/api/index.js';

const THIN = '\u2009';

export function groupDigits(s: string): string {
  const [int, frac] = s.split('.');
  const neg = int!.startsWith('-');
  const digits = neg ? int!.slice(1) : int!;
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, THIN);
  return (neg ? '-' : '') + grouped + (frac !== undefined ? `.${frac}` : '');
}

/** An integer-ish count: 1 234 567. */
export function fmtInt(n: number): string {
  if (!Number.isFinite(n)) return '–';
  return groupDigits(Math.round(n).toString());
}

/** A value with `digits` decimals (grouped). */
export function fmtNum(n: number, digits = 1): string {
  if (!Number.isFinite(n)) return '–';
  return groupDigits(n.toFixed(digits));
}

export function fmtPct(fraction: number, digits = 1): string {
  if (!Number.isFinite(fraction)) return '–';
  return `${(fraction * 100).toFixed(digits)}${THIN}%`;
}

/** Compact: 12.3 k, 4.56 M, 7.8 G. */
export function fmtCompact(n: number): string {
  if (!Number.isFinite(n)) return '–';
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(2)}${THIN}G`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(2)}${THIN}M`;
  if (a >= 1e4) return `${(n / 1e3).toFixed(1)}${THIN}k`;
  return fmtNum(n, a >= 100 || Number.isInteger(n) ? 0 : 2);
}

export function fmtDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '–:––';
  const s = Math.max(0, Math.round(ms / 1000));
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, '0')}`;
}

export function fmtDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

export const MODE_LABEL: Record<string, string> = { native: 'native', pv: 'PV', shadow: 'shadow', hap: 'HAP', kvm: 'KVM' };

/** Simulated time from cycles at a clock (the run's CPU profile's; 3 GHz, the modern one, unless told): 850 ns, 12.5 µs, 3.40 ms, 1.20 s. */
export function fmtSimTime(cycles: number, hz = 3e9): string {
  if (!Number.isFinite(cycles)) return '–';
  const s = cycles / hz;
  if (s >= 1) return `${s.toFixed(2)}${THIN}s`;
  if (s >= 1e-3) return `${(s * 1e3).toFixed(s >= 0.1 ? 0 : 2)}${THIN}ms`;
  if (s >= 1e-6) return `${(s * 1e6).toFixed(s >= 1e-4 ? 0 : 1)}${THIN}µs`;
  return `${Math.round(s * 1e9)}${THIN}ns`;
}

/** Three significant digits, fixed-point and grouped: 0.0333, 1.92, 45.6, 2 310 (a dash when absent). */
function sig3(n: number | undefined | null, unit: string): string {
  if (n === undefined || n === null || !Number.isFinite(n)) return '–';
  const a = Math.abs(n);
  const digits = a === 0 ? 0 : Math.min(6, Math.max(0, 2 - Math.floor(Math.log10(a))));
  return `${groupDigits(n.toFixed(digits))}${THIN}${unit}`;
}

/**
 * Simulated microseconds, the one way the lab shows time per operation (`timeUs.perOp`): three
 * significant digits — 0.0333 µs, 1.92 µs, 45.6 µs, 2 310 µs. Absent (a run saved before results
 * had times) or not a number: a dash, never a guess.
 */
export function fmtUs(us: number | undefined | null): string {
  return sig3(us, 'µs');
}

/** Simulated milliseconds of a whole run (`simulatedMs`), the same way: 0.512 ms, 48.3 ms, 1 234 ms. */
export function fmtMs(ms: number | undefined | null): string {
  return sig3(ms, 'ms');
}

/**
 * The clock (Hz) of a run's CPU (`results.cpu` or the session's from 'booted'): the modern
 * profile's 3 GHz when there is none (a run saved before CPU profiles ran on that clock).
 */
export function clockHzOf(cpu: { clockGHz?: unknown } | null | undefined): number {
  return typeof cpu?.clockGHz === 'number' && cpu.clockGHz > 0 ? cpu.clockGHz * 1e9 : CLOCK_HZ;
}

/** The CPU a results document ran on, for headings: its label, or nothing for a run saved before CPU profiles. */
export function cpuLabel(r: { cpu?: { label?: unknown } } | null | undefined): string {
  return typeof r?.cpu?.label === 'string' ? r.cpu.label : '';
}

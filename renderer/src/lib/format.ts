/** Numbers as the lab shows them: thin-space thousands separators, units, fixed precision. */
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

/** Simulated time from cycles at the nominal clock (CLOCK_HZ = 3 GHz): 850 ns, 12.5 µs, 3.40 ms, 1.20 s. */
export function fmtSimTime(cycles: number, hz = 3e9): string {
  if (!Number.isFinite(cycles)) return '–';
  const s = cycles / hz;
  if (s >= 1) return `${s.toFixed(2)}${THIN}s`;
  if (s >= 1e-3) return `${(s * 1e3).toFixed(s >= 0.1 ? 0 : 2)}${THIN}ms`;
  if (s >= 1e-6) return `${(s * 1e6).toFixed(s >= 1e-4 ? 0 : 1)}${THIN}µs`;
  return `${Math.round(s * 1e9)}${THIN}ns`;
}

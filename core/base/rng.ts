/**
 * Seeded pseudo-random numbers (xorshift128+ folded to 32 bits is more than enough here; we use
 * sfc32, a small fast counter generator), so every workload is deterministic: the same scenario
 * and seed give the same counters bit for bit.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.nextU32();
  }

  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** out[0..n) = the next n nextU32() values (the state in locals: a workload's hot loop draws a slice at once). */
  fillU32(out: Uint32Array, n: number): void {
    let a = this.a;
    let b = this.b;
    let c = this.c;
    let d = this.d;
    for (let i = 0; i < n; i++) {
      const t = (((a + b) | 0) + d) | 0;
      d = (d + 1) | 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) | 0;
      c = (c << 21) | (c >>> 11);
      c = (c + t) | 0;
      out[i] = t;
    }
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
  }

  /** Uniform integer in [0, n). n must be <= 2^32. */
  below(n: number): number {
    return Math.floor((this.nextU32() / 4294967296) * n);
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /**
   * Up to `n` distinct elements of `xs` in a random order (a partial Fisher–Yates draw: each pick
   * takes the last element's place). Consumes `xs`.
   */
  sample<T>(xs: T[], n: number): T[] {
    const out: T[] = [];
    while (out.length < n && xs.length > 0) {
      const j = this.below(xs.length);
      out.push(xs[j]!);
      xs[j] = xs[xs.length - 1]!;
      xs.pop();
    }
    return out;
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const t = xs[i]!;
      xs[i] = xs[j]!;
      xs[j] = t;
    }
    return xs;
  }
}

/**
 * Measures a loop's rate: warm it up (so the JIT has optimized it), then run it in batches for a
 * fixed time. `body(n)` runs n operations and returns something derived from their results, which
 * is summed into a sink so the work cannot be optimized away.
 */
let sink = 0;

export function opsPerSecond(body: (n: number) => number, seconds = 1.5, warmupSeconds = 0.4): number {
  let n = 1024;
  const warmEnd = performance.now() + warmupSeconds * 1000;
  while (performance.now() < warmEnd) {
    const t = performance.now();
    sink += body(n);
    // Batches of ~20 ms: long enough that the clock is negligible, short enough to stop on time.
    if (performance.now() - t < 20) n *= 2;
  }
  let ops = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  let now = start;
  while (now < end) {
    sink += body(n);
    ops += n;
    now = performance.now();
  }
  return ops / ((now - start) / 1000);
}

/** Keeps the sink observable. */
export function sinkValue(): number {
  return sink;
}

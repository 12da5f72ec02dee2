/** Latency summaries and a seeded random source for the search benchmark (bench/search.ts). */

export interface Latency {
  /** Number of timed operations. */
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
  /** Operations per second when run one after another (n / total time). */
  perSecond: number;
}

/** Exact percentiles (nearest rank) over all samples, in ms. */
export function summarize(samples: number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  const total = sorted.reduce((sum, ms) => sum + ms, 0);
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p) - 1)] ?? Number.NaN;
  return {
    n: sorted.length,
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    mean: total / Math.max(1, sorted.length),
    perSecond: total > 0 ? (sorted.length * 1000) / total : Number.NaN,
  };
}

/** Runs `fn` and returns what it gave and how long it took, in ms. */
export async function timed<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** mulberry32: the same sequence on every run, so govshare and the baselines answer the same queries. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-');
export const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en') : '-');

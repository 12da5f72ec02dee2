/**
 * One load run with autocannon's programmatic API. Latencies are taken from autocannon's `response` event
 * (sub-millisecond floats) rather than its histogram, which keeps whole milliseconds only: "added p99 under
 * 5 ms" needs better resolution than that.
 *
 * The run's duration is measured up to its last response, not up to autocannon's callback: autocannon
 * notices the end of an `amount`-bound run only at its next one-second sample tick, so its wall time is
 * rounded up to whole seconds (a run of 11,136 responses that ended after 5.2 s would count as 6.0 s).
 */
import { performance } from 'node:perf_hooks';
import autocannon, { type RequestParams } from 'autocannon';

export interface LoadOptions {
  url: string;
  connections: number;
  /** Bound by count (pre-signed requests) … */
  amount?: number;
  /** … or by time, in seconds. */
  seconds?: number;
  /** The next request to send; called once per request. */
  next: () => RequestParams;
  /** Called with every `sampleEvery`-th response body, to check what is served. */
  inspect?: (status: number, body: string) => void;
  sampleEvery?: number;
}

export interface Measurement {
  connections: number;
  responses: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  errors: number;
  timeouts: number;
  /** Mean bytes received per response, status line and headers included (autocannon's count). */
  meanBytes: number;
}

export function runLoad(options: LoadOptions): Promise<Measurement> {
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  let non2xx = 0;
  let seen = 0;
  let bytes = 0;
  const sampleEvery = options.sampleEvery ?? 500;
  const started = performance.now();
  let lastResponseAt = started;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        ...(options.amount ? { amount: options.amount } : { duration: options.seconds ?? 5 }),
        timeout: 10,
        requests: [
          {
            setupRequest: (request) => ({ ...request, ...options.next() }),
            ...(options.inspect
              ? {
                  onResponse: (status: number, body: string) => {
                    if (seen++ % sampleEvery === 0) options.inspect!(status, body);
                  },
                }
              : {}),
          },
        ],
      },
      (err, result) => {
        if (err) return reject(err);
        const seconds = (lastResponseAt - started) / 1000;
        const sorted = Float64Array.from(latencies).sort();
        resolve({
          connections: options.connections,
          responses: sorted.length,
          seconds,
          rps: sorted.length / seconds,
          p50: percentile(sorted, 0.5),
          p99: percentile(sorted, 0.99),
          p999: percentile(sorted, 0.999),
          max: sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN,
          non2xx,
          statusCodes,
          errors: result.errors,
          timeouts: result.timeouts,
          meanBytes: sorted.length > 0 ? bytes / sorted.length : Number.NaN,
        });
      },
    );
    instance.on('response', (_client: unknown, status: number, received: number, ms: number) => {
      lastResponseAt = performance.now();
      latencies.push(ms);
      bytes += received;
      statusCodes[status] = (statusCodes[status] ?? 0) + 1;
      if (status < 200 || status > 299) non2xx++;
    });
  });
}

export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

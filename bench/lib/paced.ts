/**
 * Latency at a fixed offered rate, below saturation. autocannon's closed loop keeps every connection busy,
 * so its latency at N connections is mostly queueing (about N / throughput, by Little's law) and any
 * throughput gap shows up as added latency. Here requests are sent at evenly spaced instants over a pool
 * of keep-alive connections and each latency is counted from the instant the request was due, so that a
 * late send is not hidden (no coordinated omission).
 */
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { percentile } from './load.js';

export interface PacedOptions {
  url: string;
  connections: number;
  /** Requests per second offered. */
  rate: number;
  count: number;
  next: () => { method: 'GET' | 'POST'; path: string; headers?: Record<string, string>; body?: string };
}

export interface PacedMeasurement {
  rate: number;
  responses: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  non2xx: number;
  errors: number;
  /** Latency of each request in the order they were due (ms), for a timeline. */
  timeline: Float64Array;
  /**
   * How late the load generator itself handed each request to its connection pool (ms), in the same
   * order: a stall of the generator's own loop shows here, not in the target.
   */
  sendLag: Float64Array;
  /** The load generator's own garbage-collection pauses during the run: count, longest and total (ms). */
  generatorGc: { pauses: number; maxMs: number; totalMs: number; over5ms: number };
}

export async function runPaced(options: PacedOptions): Promise<PacedMeasurement> {
  const pool = new Pool(options.url, { connections: options.connections, pipelining: 1 });
  const latencies = new Float64Array(options.count);
  const sendLag = new Float64Array(options.count);
  let non2xx = 0;
  let errors = 0;
  const interval = 1000 / options.rate;
  const start = performance.now() + 10;
  const inFlight: Promise<void>[] = [];
  const generatorGc = { pauses: 0, maxMs: 0, totalMs: 0, over5ms: 0 };
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      generatorGc.pauses++;
      generatorGc.totalMs += entry.duration;
      generatorGc.maxMs = Math.max(generatorGc.maxMs, entry.duration);
      if (entry.duration > 5) generatorGc.over5ms++;
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  try {
    for (let i = 0; i < options.count; i++) {
      const due = start + i * interval;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const request = options.next();
      sendLag[i] = performance.now() - due;
      inFlight.push(
        pool.request(request).then(
          async (res) => {
            await res.body.dump();
            latencies[i] = performance.now() - due;
            if (res.statusCode < 200 || res.statusCode > 299) non2xx++;
          },
          () => {
            latencies[i] = performance.now() - due;
            errors++;
          },
        ),
      );
    }
    await Promise.all(inFlight);
  } finally {
    gcObserver.disconnect();
    await pool.close();
  }
  const timeline = latencies.slice();
  const sorted = latencies.sort();
  return {
    rate: options.rate,
    responses: options.count,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    non2xx,
    errors,
    timeline,
    sendLag,
    generatorGc,
  };
}

/**
 * Prometheus metrics (prom-client), one registry per gateway process. Step timings come from the data
 * path; gauges that describe shared state (circuits, audit chain, queues) are read when scraped.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { AuditWriter } from '../../audit/writer.js';
import type { ConnectorRegistry } from '../../connectors/registry.js';

const CIRCUIT_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;
const QUEUE_STATES = [
  'waiting',
  'delayed',
  'active',
  'prioritized',
  'paused',
  'completed',
  'failed',
] as const;

/** What the queue metric needs of a BullMQ Queue. */
export interface QueueCounts {
  readonly name: string;
  getJobCounts(...states: string[]): Promise<Record<string, number>>;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'method' | 'status' | 'code'>;
  readonly duration: Histogram<'route'>;
  readonly steps: Histogram<'step'>;
  private readonly extraCollectors: (() => Promise<void>)[] = [];

  constructor(deps: { connectors: ConnectorRegistry; audit: AuditWriter; now: () => number }) {
    const registry = this.registry;
    collectDefaultMetrics({ register: registry, prefix: 'govshare_process_' });
    this.requests = new Counter({
      name: 'govshare_requests_total',
      help: 'Requests by route, method, status and problem code (empty for successes)',
      labelNames: ['route', 'method', 'status', 'code'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'govshare_request_duration_seconds',
      help: 'Whole-request latency by route',
      labelNames: ['route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    this.steps = new Histogram({
      name: 'govshare_step_duration_seconds',
      help: 'Latency of data-path steps: signature, policy, connector, audit',
      labelNames: ['step'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    });
    new Gauge({
      name: 'govshare_connector_circuit_state',
      help: 'Circuit breaker per provider endpoint: 0 closed, 1 half-open, 2 open',
      labelNames: ['kind', 'endpoint'],
      registers: [registry],
      collect() {
        this.reset();
        for (const status of deps.connectors.status()) {
          if (status.circuit)
            this.set({ kind: status.kind, endpoint: status.endpoint }, CIRCUIT_VALUE[status.circuit.state]);
        }
      },
    });
    new Gauge({
      name: 'govshare_audit_chain_length',
      help: "Records in this instance's audit chain",
      registers: [registry],
      collect() {
        const head = deps.audit.chainHead();
        if (head) this.set(head.seq);
      },
    });
    new Gauge({
      name: 'govshare_audit_unshipped_records',
      help: "Records of this instance's audit stream not yet shipped to the PostgreSQL store (alert on growth)",
      registers: [registry],
      collect() {
        this.set(deps.audit.shipping().unshipped);
      },
    });
    new Gauge({
      name: 'govshare_audit_shipping_lag_seconds',
      help: 'Seconds since the last shipped audit record of this instance was written, while records wait',
      registers: [registry],
      collect() {
        this.set(deps.audit.shipping().lagSeconds);
      },
    });
    new Counter({
      name: 'govshare_audit_checkpoint_timestamps_total',
      help: 'Checkpoints sent to the RFC 3161 TSA: outcome stamped, or failed (stored signed only; alert on growth)',
      labelNames: ['outcome'],
      registers: [registry],
      collect() {
        const counts = deps.audit.timestamping();
        this.reset();
        this.inc({ outcome: 'stamped' }, counts.stamped);
        this.inc({ outcome: 'failed' }, counts.failed);
      },
    });
    new Gauge({
      name: 'govshare_audit_last_checkpoint_age_seconds',
      help: 'Seconds since this instance last signed an audit checkpoint (-1 before the first)',
      registers: [registry],
      collect() {
        const at = deps.audit.lastCheckpointAt();
        this.set(at ? (deps.now() - at) / 1000 : -1);
      },
    });
  }

  /** Lets other parts add metrics computed at scrape time. */
  addCollector(collect: (registry: Registry) => Promise<void>): void {
    this.extraCollectors.push(() => collect(this.registry));
  }

  /**
   * Jobs per BullMQ queue and state, read from Redis when scraped: the depth (waiting, delayed, active)
   * and the outcomes the queue still holds (completed, failed; BullMQ trims them by its retention).
   * A queue that cannot be read is left out of that scrape rather than failing it.
   */
  watchQueues(queues: readonly QueueCounts[]): void {
    const gauge = new Gauge({
      name: 'govshare_queue_jobs',
      help: 'BullMQ jobs per queue and state (waiting, delayed, active, prioritized, paused, completed, failed)',
      labelNames: ['queue', 'state'],
      registers: [this.registry],
    });
    this.extraCollectors.push(async () => {
      gauge.reset();
      await Promise.all(
        queues.map(async (queue) => {
          try {
            const counts = await queue.getJobCounts(...QUEUE_STATES);
            for (const state of QUEUE_STATES) gauge.set({ queue: queue.name, state }, counts[state] ?? 0);
          } catch {
            // Redis unreachable: /ready reports it; the other metrics are still worth serving.
          }
        }),
      );
    });
  }

  /** Days until the working-day calendar runs out (negative once it has), read when scraped. */
  watchCalendar(daysLeft: () => number): void {
    const gauge = new Gauge({
      name: 'govshare_calendar_days_left',
      help: 'Calendar days until the working-day calendar runs out; statutory deadlines beyond it cannot be computed',
      registers: [this.registry],
    });
    this.extraCollectors.push(async () => {
      gauge.set(daysLeft());
    });
  }

  async render(): Promise<string> {
    for (const collect of this.extraCollectors) await collect();
    return this.registry.metrics();
  }
}

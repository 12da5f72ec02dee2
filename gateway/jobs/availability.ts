/**
 * Provider availability ([HB-S] 26): a scheduled job probes the data service mounted to every active
 * published resource (the connector's `health()`, which never throws) and counts the results per
 * provider department and day for the statistics. A resource whose probes fail `outageAfter` times in a
 * row is an outage: escalated to the bureau and told to its provider (`provider.outage`, inbox and
 * webhooks) once, when the run of failures reaches the threshold ([HB-S] 26; [XY] 29).
 */
import { type Queue, Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { CatalogService } from '../../catalog/service.js';
import type { ConnectorRegistry } from '../../connectors/registry.js';
import type { RedisClient } from '../../platform/redis.js';
import { BUREAU_RECIPIENT, makeEvent } from '../../policies/applications/events.js';
import type { WorkflowEvent } from '../../policies/applications/schema.js';
import type { ProbeCounters, ProbeResult } from '../../policies/stats/counters.js';
import { QUEUE_NAMES } from './queues.js';

export interface ProbeDeps {
  catalog: CatalogService;
  connectors: ConnectorRegistry;
  probes: ProbeCounters;
  now: () => Date;
  /** Probes running at once. @defaultValue 8 */
  parallel?: number;
  /** Failed probes in a row that make an outage escalated to the bureau. @defaultValue 3 */
  outageAfter?: number;
  /** Commits events to the outbox and delivers them (Workflow.announce); without it nothing is escalated. */
  announce?: (events: WorkflowEvent[]) => Promise<void>;
}

export const AVAILABILITY_SCHEDULER_ID = 'availability-probes';
/** Failed probes in a row (15 minutes at the default 5-minute interval) that count as an outage. */
export const DEFAULT_OUTAGE_AFTER = 3;

/** Probes every mounted active resource once; returns the results recorded. */
export async function runAvailabilityProbes(deps: ProbeDeps): Promise<ProbeResult[]> {
  const codes = await deps.catalog.store.listCodes();
  const targets = [];
  for (const code of codes) {
    const published = await deps.catalog.publishedEntry(code);
    if (published?.status === 'active' && published.entry.service) targets.push(published.entry);
  }
  const results: ProbeResult[] = [];
  const outages: (ProbeResult & { failures: number })[] = [];
  const queue = [...targets];
  const worker = async () => {
    for (let entry = queue.shift(); entry; entry = queue.shift()) {
      let result: ProbeResult;
      try {
        const health = await deps.connectors.get(entry.service!).health();
        result = {
          providerDept: entry.provider.code,
          resource: entry.code,
          ok: health.ok,
          latencyMs: Math.round(health.latencyMs),
        };
        if (health.detail) result.detail = health.detail;
      } catch (err) {
        result = {
          providerDept: entry.provider.code,
          resource: entry.code,
          ok: false,
          latencyMs: 0,
          detail: (err as Error).message,
        };
      }
      const streak = await deps.probes.record(result, deps.now());
      // Escalated once per outage: when the run of failures reaches the threshold, not at every probe after.
      if (streak === (deps.outageAfter ?? DEFAULT_OUTAGE_AFTER))
        outages.push({ ...result, failures: streak });
      results.push(result);
    }
  };
  await Promise.all(Array.from({ length: Math.min(deps.parallel ?? 8, targets.length) }, worker));
  if (outages.length > 0 && deps.announce) {
    const at = deps.now();
    await deps.announce(
      outages.map((o) =>
        makeEvent('provider.outage', at, [BUREAU_RECIPIENT, o.providerDept], {
          providerDept: o.providerDept,
          resourceCode: o.resource,
          failures: o.failures,
          ...(o.detail ? { detail: o.detail } : {}),
        }),
      ),
    );
  }
  return results;
}

/** Schedules the probes every `everyMs` (idempotent: the scheduler id is fixed). */
export async function scheduleAvailabilityProbes(queue: Queue, everyMs: number): Promise<void> {
  await queue.upsertJobScheduler(
    AVAILABILITY_SCHEDULER_ID,
    { every: everyMs },
    {
      name: 'probe',
      data: {},
      opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
    },
  );
}

export function startAvailabilityWorker(
  deps: ProbeDeps,
  connection: RedisClient,
  prefix: string,
  log: Logger,
) {
  const worker = new Worker(
    QUEUE_NAMES.availability,
    async () => {
      const results = await runAvailabilityProbes(deps);
      return { probed: results.length, failed: results.filter((r) => !r.ok).length };
    },
    { connection, prefix, concurrency: 1 },
  );
  worker.on('error', (err) => log.error({ err }, 'availability worker error'));
  return worker;
}

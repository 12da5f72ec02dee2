/**
 * Data-quality re-checks as BullMQ jobs ([HB-S] 17: the platform checks quality and tells the provider to
 * correct what fails). One job name, `check` {code}, on the `quality` queue:
 * - scheduled per resource by its update cycle (job schedulers with a cron pattern in Asia/Shanghai,
 *   spread over 01:00–05:59 by resource so that checks do not all start at once);
 * - on demand by the bureau (`enqueueQualityCheck`); a check already waiting or running for the resource
 *   is not queued twice.
 * The processor streams the resource's rows page by page through its connector (a SQL source in one
 * COPY) into the check plan of
 * the published version, and stores the report (catalog/quality/store.ts), which opens or updates a
 * correction task below the threshold. A check is idempotent: its report id is the BullMQ job id, so a
 * retried job whose report was already stored ends at once. It is not resumable mid-scan (the uniqueness
 * set lives in memory): a check interrupted by a worker's death starts again on another worker.
 */
import { DelayedError, type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { hash64 } from '../../catalog/quality/key-set.js';
import type { ConsistencyRule } from '../../catalog/quality/plan.js';
import { qualityPlan } from '../../catalog/quality/plan.js';
import type { QualityReport } from '../../catalog/quality/report.js';
import { ColumnRows, type Inconsistency, runQualityCheck } from '../../catalog/quality/run.js';
import type { QualityStore, TaskAction } from '../../catalog/quality/store.js';
import type { DataService, ResourceEntry, UpdateCycle } from '../../catalog/schema.js';
import { serviceShape } from '../../connectors/registry.js';
import { readsCopyPages } from '../../connectors/sql/copy-pages.js';
import type { Connector, ServiceShape } from '../../connectors/types.js';
import type { RedisClient } from '../../platform/redis.js';
import { bullPrefix } from './queues.js';

export const QUALITY_QUEUE = 'quality';
export const QUALITY_TIME_ZONE = 'Asia/Shanghai';
const SCHEDULER_PREFIX = 'quality-';

export interface QualityJobData {
  code: string;
  trigger: 'schedule' | 'manual';
  sample?: { ratio: number; seed: string };
  /** Who asked for an on-demand check (for the record). */
  requestedBy?: string;
}

export interface QualityJobResult {
  runId: string;
  score: number;
  rowsChecked: number;
  taskAction: TaskAction;
  duplicate: boolean;
  /** Joint verifications of the run's cross-source inconsistencies (when the worker opens them). */
  jointVerifications?: { opened: number; deduplicated: number };
}

const JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 30_000 },
  removeOnComplete: { age: 7 * 86_400, count: 1000 },
  removeOnFail: { age: 30 * 86_400 },
} as const;

export function createQualityQueue(
  connection: RedisClient,
  redisPrefix: string,
): Queue<QualityJobData, QualityJobResult> {
  return new Queue<QualityJobData, QualityJobResult>(QUALITY_QUEUE, {
    connection,
    prefix: bullPrefix(redisPrefix),
  });
}

/** Days of the month/months per cycle; `other` (irregular) is not scheduled. */
const CYCLE_PATTERN: Record<UpdateCycle, ((minute: number, hour: number) => string) | undefined> = {
  realtime: (minute) => `${minute} * * * *`,
  daily: (minute, hour) => `${minute} ${hour} * * *`,
  weekly: (minute, hour) => `${minute} ${hour} * * 1`,
  monthly: (minute, hour) => `${minute} ${hour} 1 * *`,
  quarterly: (minute, hour) => `${minute} ${hour} 1 1,4,7,10 *`,
  halfyearly: (minute, hour) => `${minute} ${hour} 1 1,7 *`,
  yearly: (minute, hour) => `${minute} ${hour} 1 1 *`,
  other: undefined,
};

/**
 * When a resource is checked: once per update cycle (hourly for realtime), at a minute and hour
 * (01:00–05:59, China Standard Time) fixed by the resource code. Undefined for irregular cycles.
 */
export function qualitySchedule(
  code: string,
  cycle: UpdateCycle,
): { pattern: string; tz: string } | undefined {
  const pattern = CYCLE_PATTERN[cycle];
  if (!pattern) return undefined;
  const [spread] = hash64(`quality-schedule\u0000${code}`);
  return { pattern: pattern(spread % 60, 1 + (Math.floor(spread / 60) % 5)), tz: QUALITY_TIME_ZONE };
}

/**
 * Makes the job schedulers match `resources` (published, active, with a data service): upserts one per
 * resource with a regular cycle and removes those of resources no longer listed. Idempotent.
 */
export async function syncQualitySchedules(
  queue: Queue<QualityJobData, QualityJobResult>,
  resources: { code: string; updateCycle: UpdateCycle }[],
): Promise<{ scheduled: string[]; removed: string[] }> {
  const wanted = new Set<string>();
  for (const { code, updateCycle } of resources) {
    const schedule = qualitySchedule(code, updateCycle);
    if (!schedule) continue;
    wanted.add(`${SCHEDULER_PREFIX}${code}`);
    await queue.upsertJobScheduler(`${SCHEDULER_PREFIX}${code}`, schedule, {
      name: 'check',
      data: { code, trigger: 'schedule' },
      opts: JOB_OPTIONS,
    });
  }
  const removed: string[] = [];
  for (let start = 0; ; start += 500) {
    const batch = await queue.getJobSchedulers(start, start + 499, true);
    for (const scheduler of batch) {
      const id = scheduler.key;
      if (id.startsWith(SCHEDULER_PREFIX) && !wanted.has(id)) removed.push(id);
    }
    if (batch.length < 500) break;
  }
  for (const id of removed) await queue.removeJobScheduler(id);
  return {
    scheduled: [...wanted].map((id) => id.slice(SCHEDULER_PREFIX.length)),
    removed: removed.map((id) => id.slice(SCHEDULER_PREFIX.length)),
  };
}

/** The resources to schedule: published, active, with a data service mounted. */
export async function listQualityTargets(
  catalog: QualityCatalog & { store: { listCodes(): Promise<string[]> } },
) {
  const targets: { code: string; updateCycle: UpdateCycle }[] = [];
  for (const code of await catalog.store.listCodes()) {
    const published = await catalog.publishedEntry(code);
    if (published?.status === 'active' && published.entry.service) {
      targets.push({ code, updateCycle: published.entry.updateCycle as UpdateCycle });
    }
  }
  return targets;
}

/**
 * Queues a check of one resource now (the bureau's `POST /v1/quality/resources/{code}/runs`). While a
 * check of the resource waits or runs, the same job is returned (`deduplicated: true`).
 */
export async function enqueueQualityCheck(
  queue: Queue<QualityJobData, QualityJobResult>,
  code: string,
  options: { sample?: { ratio: number; seed: string }; requestedBy?: string } = {},
): Promise<{ jobId: string; deduplicated: boolean }> {
  const data: QualityJobData = { code, trigger: 'manual' };
  if (options.sample) data.sample = options.sample;
  if (options.requestedBy) data.requestedBy = options.requestedBy;
  const dedupId = `${SCHEDULER_PREFIX}manual-${code}`;
  const existing = await queue.getDeduplicationJobId(dedupId);
  const job = await queue.add('check', data, { ...JOB_OPTIONS, deduplication: { id: dedupId } });
  return { jobId: job.id!, deduplicated: existing !== null && existing === job.id };
}

/** What the processor needs from the catalog (CatalogService fits). */
export interface QualityCatalog {
  publishedEntry(
    code: string,
  ): Promise<{ version: number; status: 'active' | 'suspended' | 'withdrawn'; entry: ResourceEntry } | null>;
}

/** A slot per provider shared with other bulk readers (exchange/provider-limit.ts fits). */
export interface ProviderSlots {
  hold(providerCode: string, leaseId: string): Promise<{ release(): Promise<void> } | undefined>;
}

export interface QualityWorkerDeps {
  catalog: QualityCatalog;
  /** The connector registry (connectors/registry.ts). */
  connectors: { get(service: DataService, shape?: ServiceShape): Connector };
  store: QualityStore;
  /** Rows per connector page. @defaultValue 1000 */
  pageSize?: number;
  /** Clock in milliseconds. @defaultValue Date.now */
  now?: () => number;
  /** Cross-source consistency rules of a resource, when the platform defines any (quality-consistency.ts). */
  consistency?: (
    entry: ResourceEntry,
  ) => Omit<ConsistencyRule, 'rule'>[] | Promise<Omit<ConsistencyRule, 'rule'>[]>;
  /**
   * Told of the rows found inconsistent with another resource, before the report is stored (so that a
   * retried job tells again; the listener deduplicates): the joint verifications ([HB-S] 17).
   */
  onInconsistencies?: (
    report: QualityReport,
    found: Inconsistency[],
  ) => Promise<{ opened: number; deduplicated: number }>;
  /** Inconsistent rows kept for `onInconsistencies` per run. @defaultValue 10 000 */
  maxInconsistencies?: number;
  /** Bound of the uniqueness rule (see catalog/quality/key-set.ts). */
  maxUniqueKeys?: number;
  /** Limits concurrent bulk reads per provider; a check waits while its provider is full. */
  providerSlots?: ProviderSlots;
}

export interface QualityWorkerOptions {
  /** A connection with `maxRetriesPerRequest: null` (BullMQ blocks on it). */
  connection: RedisClient;
  redisPrefix: string;
  /** Checks this worker runs at once. @defaultValue 1 */
  concurrency?: number;
  /** Delay before a check whose provider is full tries again. @defaultValue 10 000 */
  providerBusyDelayMs?: number;
}

/**
 * Reads every row of the resource through its connector, page by page (yielded as pages): a SQL source in
 * one COPY of the entry's items (connectors/sql/copy-pages.ts), any other page by page.
 */
async function* connectorPages(
  connector: Connector,
  shape: ServiceShape,
  pageSize: number,
  onPage: (rowsRead: number, total?: number) => Promise<void>,
): AsyncGenerator<Record<string, unknown>[] | ColumnRows> {
  let rowsRead = 0;
  if (readsCopyPages(connector)) {
    for await (const page of connector.copyPages({ columns: shape.items, pageRows: pageSize })) {
      // Checked as arrays of column values: no object per row.
      yield new ColumnRows(page.columns, page.rows);
      rowsRead += page.rows.length;
      await onPage(rowsRead, page.total);
    }
    return;
  }
  let after: string | undefined;
  do {
    const page = await connector.page({ limit: pageSize, after });
    yield page.rows;
    rowsRead += page.rows.length;
    after = page.next;
    await onPage(rowsRead, page.total);
  } while (after);
}

/** Runs one check and stores its report. Exported for tests and for running a check without a queue. */
export async function runQualityJob(
  deps: QualityWorkerDeps,
  runId: string,
  data: QualityJobData,
  onProgress: (progress: { rowsRead: number; total?: number }) => Promise<void> = async () => undefined,
): Promise<QualityJobResult> {
  const latest = await deps.store.latest(data.code);
  if (latest?.id === runId) {
    return {
      runId,
      score: latest.score,
      rowsChecked: latest.rowsChecked,
      taskAction: 'none',
      duplicate: true,
    };
  }
  const published = await deps.catalog.publishedEntry(data.code);
  if (!published) throw new UnrecoverableError(`resource ${data.code} is not published`);
  const { entry, version } = published;
  if (!entry.service) throw new UnrecoverableError(`resource ${data.code} has no data service mounted`);
  let connector: Connector;
  try {
    connector = deps.connectors.get(entry.service, serviceShape(entry));
  } catch (error) {
    throw new UnrecoverableError(`resource ${data.code}: ${(error as Error).message}`);
  }
  const plan = qualityPlan(entry, version, { consistency: (await deps.consistency?.(entry)) ?? [] });
  const found: Inconsistency[] = [];
  const maxFound = deps.maxInconsistencies ?? 10_000;
  let lastProgress = 0;
  const shape = serviceShape(entry);
  const rows = connectorPages(connector, shape, deps.pageSize ?? 1000, async (rowsRead, total) => {
    if (Date.now() - lastProgress < 1000) return;
    lastProgress = Date.now();
    await onProgress(total === undefined ? { rowsRead } : { rowsRead, total });
  });
  let report: QualityReport;
  try {
    const missingKeys = hasMissingKeyCount(connector) ? await connector.missingKeys() : undefined;
    report = await runQualityCheck(plan, rows, {
      ...(missingKeys === undefined ? {} : { missingKeys }),
      id: runId,
      trigger: data.trigger,
      ...(data.sample ? { sample: data.sample } : {}),
      ...(deps.now ? { now: deps.now } : {}),
      ...(deps.maxUniqueKeys ? { maxUniqueKeys: deps.maxUniqueKeys } : {}),
      ...(deps.onInconsistencies
        ? {
            onInconsistency: (found1: Inconsistency) => {
              if (found.length < maxFound) found.push(found1);
            },
          }
        : {}),
    });
  } catch (error) {
    // A provider that refuses the read (table or column gone, bad configuration) will refuse it again.
    const code = (error as { code?: string }).code;
    if (code === 'UPSTREAM_REJECTED' || code === 'CONNECTOR_CONFIG_INVALID') {
      throw new UnrecoverableError(`resource ${data.code}: ${(error as Error).message}`);
    }
    throw error;
  }
  const joint =
    deps.onInconsistencies && found.length > 0 ? await deps.onInconsistencies(report, found) : undefined;
  const saved = await deps.store.save(report);
  return {
    runId,
    score: saved.report.score,
    rowsChecked: saved.report.rowsChecked,
    taskAction: saved.taskAction,
    duplicate: saved.duplicate,
    ...(joint ? { jointVerifications: joint } : {}),
  };
}

export function startQualityWorker(
  deps: QualityWorkerDeps,
  options: QualityWorkerOptions,
): Worker<QualityJobData, QualityJobResult> {
  const busyDelay = options.providerBusyDelayMs ?? 10_000;
  return new Worker<QualityJobData, QualityJobResult>(
    QUALITY_QUEUE,
    async (job: Job<QualityJobData, QualityJobResult>, token?: string) => {
      if (job.name !== 'check' || typeof job.data?.code !== 'string') {
        throw new UnrecoverableError(`not a quality check job: "${job.name}"`);
      }
      const progress = (p: { rowsRead: number; total?: number }) => job.updateProgress(p);
      if (!deps.providerSlots) return runQualityJob(deps, job.id!, job.data, progress);
      const published = await deps.catalog.publishedEntry(job.data.code);
      const provider = published?.entry.provider.code ?? 'unknown';
      const lease = await deps.providerSlots.hold(provider, `quality:${job.id}`);
      if (!lease) {
        await job.moveToDelayed(Date.now() + busyDelay, token);
        throw new DelayedError(`provider ${provider} is at its limit of concurrent bulk reads`);
      }
      try {
        return await runQualityJob(deps, job.id!, job.data, progress);
      } finally {
        await lease.release();
      }
    },
    {
      connection: options.connection,
      prefix: bullPrefix(options.redisPrefix),
      concurrency: options.concurrency ?? 1,
    },
  );
}

/** SQL sources count the rows their pages cannot read (a NULL key); other connectors do not. */
function hasMissingKeyCount(
  connector: Connector,
): connector is Connector & { missingKeys(): Promise<number> } {
  return typeof (connector as { missingKeys?: unknown }).missingKeys === 'function';
}

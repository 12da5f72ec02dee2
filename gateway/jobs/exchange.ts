/**
 * The bulk exchange queue and its worker (BullMQ). Three job names on one queue:
 * - `export` {jobId}: runs or resumes an exchange job (exchange/runner.ts);
 * - `subscription` {subscriptionId}: fired by a subscription's job scheduler (cron pattern + time zone),
 *   starts an incremental run;
 * - `cleanup`: fired every `cleanupEveryMs`, deletes expired files;
 * - `offline` {offlineId}: produces the package of an offline request the bureau ordered under a live
 *   approval (exchange/offline.ts), into the offline outbox ([HB-S] 16).
 *
 * Queue keys use the prefix `{<GOVSHARE_REDIS_PREFIX>bull}`: one hash tag, so every key of the queue is in
 * one Redis Cluster slot, as BullMQ requires on Cluster.
 *
 * Exports are idempotent (a completed job returns its result) and resumable: a worker killed mid-job stops
 * renewing its BullMQ lock, the stalled-job check of any other worker moves the job back to waiting, and
 * the next run continues from the stored checkpoint. Permanent failures (deny codes, an unusable
 * certificate, a bad request) are UnrecoverableError; anything else (provider down, disk, Redis) retries
 * with exponential backoff. Before running, a job takes a slot of its provider (provider-limit.ts); when
 * the provider is full it is delayed, which frees the worker for other providers' jobs.
 *
 * A job whose SQL source can be cut into parts (exchange/parts.ts) runs as a flow (BullMQ FlowProducer):
 * the `export` run stores the plan, then one `part` child {jobId, part} per part (each taking a provider
 * slot, so as many workers as slots read one job at once) and the parent `assemble` {jobId}, run when
 * every part is done, that signs the manifest. A part that fails for good fails its parent and the job.
 */
import { randomUUID } from 'node:crypto';
import { DelayedError, FlowProducer, type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { cleanupExpiredFiles } from '../../exchange/cleanup.js';
import type { ExchangeDeps, ExchangeQueuePort } from '../../exchange/deps.js';
import { settingsOf } from '../../exchange/deps.js';
import { errorSummary, isPermanentError } from '../../exchange/errors.js';
import { failOfflinePackage, type OfflineDeps, produceOfflinePackage } from '../../exchange/offline.js';
import { completeExportParts, runExportPart } from '../../exchange/parts.js';
import { isJobId, isSubscriptionId } from '../../exchange/paths.js';
import { ProviderLimiter } from '../../exchange/provider-limit.js';
import { failExportJob, runExportJob } from '../../exchange/runner.js';
import type { ExchangeJob, Subscription } from '../../exchange/schema.js';
import { ExchangeStore } from '../../exchange/store.js';
import { listAllSubscriptions, startSubscriptionRun } from '../../exchange/subscriptions.js';
import type { RedisClient } from '../../platform/redis.js';
import { bullPrefix } from './queues.js';

export const EXCHANGE_QUEUE = 'exchange';
const CLEANUP_SCHEDULER = 'exchange-cleanup';
const subscriptionScheduler = (id: string) => `subscription-${id}`;

export type ExchangeQueueData =
  | { jobId: string; part?: number }
  | { subscriptionId: string }
  | { offlineId: string }
  | Record<string, never>;

export interface ExchangeQueueOptions {
  /** Tries of an export before it is failed for good (transient errors). @defaultValue 5 */
  attempts?: number;
  /** First retry delay; doubles on each retry. @defaultValue 5000 */
  backoffMs?: number;
}

export interface ExchangeQueue {
  queue: Queue<ExchangeQueueData>;
  /** Adds the parts of a job cut into parts and their parent, at once. */
  addParts(jobId: string, parts: number): Promise<void>;
  /** What ExchangeDeps.queue needs. */
  port: ExchangeQueuePort;
  /** Queues the production of an ordered offline package (the request id is the BullMQ job id's key). */
  enqueueOffline(offlineId: string): Promise<void>;
  close(): Promise<void>;
}

export function createExchangeQueue(
  connection: RedisClient,
  redisPrefix: string,
  options: ExchangeQueueOptions = {},
): ExchangeQueue {
  const queue = new Queue<ExchangeQueueData>(EXCHANGE_QUEUE, { connection, prefix: bullPrefix(redisPrefix) });
  // Made when a worker first adds parts: a gateway process only enqueues and never needs it.
  let flows: FlowProducer | undefined;
  const attempts = options.attempts ?? 5;
  const backoffMs = options.backoffMs ?? 5000;
  const retried = {
    attempts,
    backoff: { type: 'exponential', delay: backoffMs },
    removeOnComplete: { age: 24 * 3600 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
  const addParts = async (jobId: string, parts: number) => {
    const parentId = assembleJobId(jobId);
    // Added once: a run of `export` that stopped after adding them finds them there.
    if (await queue.getJob(parentId)) return;
    flows ??= new FlowProducer({ connection, prefix: bullPrefix(redisPrefix) });
    await flows.add({
      name: 'assemble',
      queueName: EXCHANGE_QUEUE,
      data: { jobId },
      opts: { jobId: parentId, ...retried },
      children: Array.from({ length: parts }, (_, part) => ({
        name: 'part',
        queueName: EXCHANGE_QUEUE,
        data: { jobId, part },
        opts: { jobId: partJobId(jobId, part), ...retried, failParentOnFailure: true },
      })),
    });
  };
  const port: ExchangeQueuePort = {
    async enqueue(jobId) {
      // The exchange job id is the BullMQ job id: enqueueing twice adds it once.
      await queue.add(
        'export',
        { jobId },
        {
          jobId,
          attempts,
          backoff: { type: 'exponential', delay: backoffMs },
          removeOnComplete: { age: 24 * 3600 },
          removeOnFail: { age: 7 * 24 * 3600 },
        },
      );
    },
    async schedule(subscription: Subscription) {
      await queue.upsertJobScheduler(
        subscriptionScheduler(subscription.id),
        { pattern: subscription.schedule.pattern, tz: subscription.schedule.tz },
        {
          name: 'subscription',
          data: { subscriptionId: subscription.id },
          opts: {
            attempts: 3,
            backoff: { type: 'exponential', delay: backoffMs },
            removeOnComplete: 100,
            removeOnFail: 100,
          },
        },
      );
    },
    async unschedule(subscriptionId) {
      await queue.removeJobScheduler(subscriptionScheduler(subscriptionId));
    },
  };
  const enqueueOffline = async (offlineId: string) => {
    await queue.add('offline', { offlineId }, { jobId: `offline-${offlineId}`, ...retried });
  };
  return {
    queue,
    port,
    enqueueOffline,
    addParts,
    close: async () => {
      await flows?.close();
      await queue.close();
    },
  };
}

const assembleJobId = (jobId: string) => `${jobId}-assemble`;
const partJobId = (jobId: string, part: number) => `${jobId}-part-${part}`;

export interface ExchangeWorkerOptions {
  /** A connection with `maxRetriesPerRequest: null` (BullMQ blocks on it). */
  connection: RedisClient;
  /** The queue (for the cleanup schedule and re-registering subscription schedules). */
  queue: ExchangeQueue;
  /** Jobs this worker runs at once. @defaultValue 2 */
  concurrency?: number;
  /** BullMQ lock of a running job; a dead worker's jobs are taken over after about this. @defaultValue 30 000 */
  lockDuration?: number;
  /** How often this worker looks for stalled jobs. @defaultValue 30 000 */
  stalledInterval?: number;
  /** Stalls (worker deaths) a job survives before it fails. @defaultValue 3 */
  maxStalledCount?: number;
  /** Delay before a job whose provider is full tries again. @defaultValue 5000 */
  providerBusyDelayMs?: number;
  /** Period of the expired-file cleanup. @defaultValue 600 000 (10 minutes) */
  cleanupEveryMs?: number;
  /** Worker errors off the job path (Redis connection, stalled checks). @defaultValue process.emitWarning */
  onError?: (error: Error) => void;
  /** Offline exchange: without it an `offline` job fails (a gateway-only setup never queues one). */
  offline?: OfflineDeps;
}

export interface ExchangeWorker {
  worker: Worker<ExchangeQueueData>;
  /** Waits for running jobs to reach their next await, then stops (a stopped export resumes elsewhere). */
  close(force?: boolean): Promise<void>;
}

export interface ExportResult {
  jobId: string;
  state: ExchangeJob['state'];
  rows?: number;
  sha256?: string;
}

export async function startExchangeWorker(
  deps: ExchangeDeps,
  options: ExchangeWorkerOptions,
): Promise<ExchangeWorker> {
  const settings = settingsOf(deps);
  const limiter = new ProviderLimiter(deps.redis, deps.prefix, {
    limit: settings.providerConcurrency,
    leaseMs: settings.providerLeaseMs,
  });
  const busyDelay = options.providerBusyDelayMs ?? 5000;
  const worker = new Worker<ExchangeQueueData>(
    EXCHANGE_QUEUE,
    async (job, token, signal) => {
      switch (job.name) {
        case 'export':
          return processExport(deps, limiter, job, token, busyDelay, signal, options.queue);
        case 'part':
          return processPart(deps, limiter, job, token, busyDelay, signal);
        case 'assemble':
          return processAssemble(deps, job, signal);
        case 'subscription':
          return processSubscription(deps, job);
        case 'cleanup':
          return cleanupExpiredFiles(deps);
        case 'offline':
          return processOffline(options.offline, job);
        default:
          throw new UnrecoverableError(`unknown exchange job name "${job.name}"`);
      }
    },
    {
      connection: options.connection,
      prefix: bullPrefix(deps.prefix),
      concurrency: options.concurrency ?? 2,
      lockDuration: options.lockDuration ?? 30_000,
      stalledInterval: options.stalledInterval ?? 30_000,
      maxStalledCount: options.maxStalledCount ?? 3,
    },
  );
  const onError = options.onError ?? ((error: Error) => process.emitWarning(error));
  worker.on('error', onError);
  // BullMQ fails a job on its own when it stalled too often (its workers kept dying): the exchange job
  // must not stay "running" forever then.
  worker.on('failed', (job, error) => {
    // An offline package whose job BullMQ failed on its own (stalled too often): its request fails too,
    // rather than stay "producing" with a queue job that can no longer be added again.
    if (job?.finishedOn && job.name === 'offline' && options.offline && 'offlineId' in job.data) {
      void failOfflinePackage(options.offline, job.data.offlineId, error).catch(onError);
      return;
    }
    // finishedOn is set only when the job failed for good (not when it will be retried).
    if (
      !job?.finishedOn ||
      !['export', 'part', 'assemble'].includes(job.name) ||
      !('jobId' in job.data) ||
      !isJobId(job.data.jobId)
    )
      return;
    const id = job.data.jobId;
    const store = new ExchangeStore(deps.redis, deps.prefix);
    void store
      .ownerToken(id)
      .then((owner) => failExportJob(deps, id, owner, error, true))
      .catch(onError);
  });
  try {
    // Schedules are idempotent upserts: every worker re-registers them, so none is lost with a Redis restore.
    await options.queue.queue.upsertJobScheduler(
      CLEANUP_SCHEDULER,
      { every: options.cleanupEveryMs ?? 600_000 },
      { name: 'cleanup', data: {}, opts: { removeOnComplete: 10, removeOnFail: 10 } },
    );
    for (const subscription of await listAllSubscriptions(deps))
      await options.queue.port.schedule(subscription);
    await worker.waitUntilReady();
  } catch (error) {
    await worker.close(true);
    throw error;
  }
  return { worker, close: (force = false) => worker.close(force) };
}

async function processExport(
  deps: ExchangeDeps,
  limiter: ProviderLimiter,
  job: Job<ExchangeQueueData>,
  token: string | undefined,
  busyDelayMs: number,
  signal: AbortSignal | undefined,
  queue: ExchangeQueue,
): Promise<ExportResult> {
  const jobId = 'jobId' in job.data ? job.data.jobId : undefined;
  if (!isJobId(jobId)) throw new UnrecoverableError('an export job needs the id of an exchange job');
  const record = await new ExchangeStore(deps.redis, deps.prefix).get(jobId);
  if (!record) throw new UnrecoverableError(`exchange job ${jobId} does not exist`);
  if (record.state === 'completed' || record.state === 'failed' || record.state === 'expired')
    return resultOf(record);

  const runToken = randomUUID();
  const lease = await limiter.hold(record.providerCode, runToken);
  if (!lease) {
    await job.moveToDelayed(Date.now() + busyDelayMs, token);
    throw new DelayedError(`provider ${record.providerCode} is at its limit of concurrent exchange jobs`);
  }
  try {
    // The signal fires on worker.cancelJob(id): the run stops at its next page and resumes later.
    const ran = await runExportJob(deps, jobId, {
      token: runToken,
      split: true,
      ...(signal ? { signal } : {}),
    });
    if (ran.state === 'running' && ran.parts !== undefined) await queue.addParts(jobId, ran.parts);
    return resultOf(ran);
  } catch (error) {
    const permanent = isPermanentError(error);
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    await failExportJob(deps, jobId, runToken, error, permanent || lastAttempt);
    if (permanent) {
      const { code, message } = errorSummary(error);
      throw new UnrecoverableError(`${code}: ${message}`);
    }
    throw error;
  } finally {
    await lease.release();
  }
}

/** One part of a job cut into parts: a provider slot, then the part written (or resumed). */
async function processPart(
  deps: ExchangeDeps,
  limiter: ProviderLimiter,
  job: Job<ExchangeQueueData>,
  token: string | undefined,
  busyDelayMs: number,
  signal: AbortSignal | undefined,
): Promise<{ jobId: string; part: number; rows?: number }> {
  const data = job.data as { jobId?: unknown; part?: unknown };
  const jobId = data.jobId;
  const part = data.part;
  if (!isJobId(jobId) || typeof part !== 'number' || !Number.isInteger(part) || part < 0)
    throw new UnrecoverableError('a part job needs the id of an exchange job and a part number');
  const record = await new ExchangeStore(deps.redis, deps.prefix).get(jobId);
  if (!record) throw new UnrecoverableError(`exchange job ${jobId} does not exist`);
  if (record.state !== 'running' && record.state !== 'queued') return { jobId, part };
  const runToken = randomUUID();
  const lease = await limiter.hold(record.providerCode, runToken);
  if (!lease) {
    await job.moveToDelayed(Date.now() + busyDelayMs, token);
    throw new DelayedError(`provider ${record.providerCode} is at its limit of concurrent exchange jobs`);
  }
  try {
    const done = await runExportPart(deps, jobId, part, { token: runToken, ...(signal ? { signal } : {}) });
    return { jobId, part, ...(done?.done ? { rows: done.done.rows } : {}) };
  } catch (error) {
    await failedRun(deps, job, jobId, error);
    throw error;
  } finally {
    await lease.release();
  }
}

/** The parent of the parts: every part is done, the job is completed (exchange/parts.ts). */
async function processAssemble(
  deps: ExchangeDeps,
  job: Job<ExchangeQueueData>,
  signal: AbortSignal | undefined,
): Promise<ExportResult> {
  const jobId = 'jobId' in job.data ? job.data.jobId : undefined;
  if (!isJobId(jobId)) throw new UnrecoverableError('an assemble job needs the id of an exchange job');
  const runToken = randomUUID();
  try {
    return resultOf(
      await completeExportParts(deps, jobId, { token: runToken, ...(signal ? { signal } : {}) }),
    );
  } catch (error) {
    await failedRun(deps, job, jobId, error, runToken);
    throw error;
  }
}

/**
 * A part or the parent failed: a permanent error, or the last try, fails the exchange job (whoever owns
 * it); otherwise the BullMQ job is retried and the exchange job stays as it is.
 */
async function failedRun(
  deps: ExchangeDeps,
  job: Job<ExchangeQueueData>,
  jobId: string,
  error: unknown,
  runToken?: string,
): Promise<void> {
  const permanent = isPermanentError(error);
  const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  if (permanent || lastAttempt) {
    const owner = await new ExchangeStore(deps.redis, deps.prefix).ownerToken(jobId);
    await failExportJob(deps, jobId, owner, error, true);
  } else if (runToken) {
    await failExportJob(deps, jobId, runToken, error, false);
  }
  if (permanent) {
    const { code, message } = errorSummary(error);
    throw new UnrecoverableError(`${code}: ${message}`);
  }
}

/** An ordered offline package: produced (or resumed) through the runner; a final failure fails the request. */
async function processOffline(
  offline: OfflineDeps | undefined,
  job: Job<ExchangeQueueData>,
): Promise<{ offlineId: string; state: string }> {
  const offlineId = 'offlineId' in job.data ? job.data.offlineId : undefined;
  if (!offline || typeof offlineId !== 'string')
    throw new UnrecoverableError('an offline job needs an offline request id and a worker set up for it');
  try {
    const request = await produceOfflinePackage(offline, offlineId);
    return { offlineId, state: request.state };
  } catch (error) {
    const permanent =
      isPermanentError(error) || (error as { code?: string }).code === 'OFFLINE_REQUEST_NOT_FOUND';
    if (permanent || job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) {
      await failOfflinePackage(offline, offlineId, error);
    }
    if (permanent) {
      const { code, message } = errorSummary(error);
      throw new UnrecoverableError(`${code}: ${message}`);
    }
    throw error;
  }
}

async function processSubscription(
  deps: ExchangeDeps,
  job: Job<ExchangeQueueData>,
): Promise<{ jobId?: string }> {
  const subscriptionId = 'subscriptionId' in job.data ? job.data.subscriptionId : undefined;
  if (!isSubscriptionId(subscriptionId))
    throw new UnrecoverableError('a subscription job needs a subscription id');
  try {
    const started = await startSubscriptionRun(deps, subscriptionId);
    return started ? { jobId: started.id } : {};
  } catch (error) {
    if (isPermanentError(error)) {
      const { code, message } = errorSummary(error);
      throw new UnrecoverableError(`${code}: ${message}`);
    }
    throw error;
  }
}

function resultOf(job: ExchangeJob): ExportResult {
  return {
    jobId: job.id,
    state: job.state,
    ...(job.state === 'completed' ? { rows: job.progress.rows } : {}),
    ...(job.file ? { sha256: job.file.sha256 } : {}),
  };
}

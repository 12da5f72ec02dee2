/**
 * Data return (回流) on a schedule: one BullMQ job scheduler per return subscription (an interval, or a cron
 * pattern in China Standard Time), run by the worker into the front-end database GOVSHARE_RETURN_DATABASE_URL.
 * Each run is `runDataReturn` (gateway/app/data-return.ts): it pulls the changes since the watermark the
 * last run stored, audits, then advances the watermark, so runs deliver only new rows. One run at a time
 * per worker process; a failed run is retried with backoff and, failing, simply left to the next one.
 */
import { type Job, Queue, Worker } from 'bullmq';
import pg from 'pg';
import type { Logger } from 'pino';
import { PostgresReturnTable } from '../../federation/data-return.js';
import { type ReturnSubscription, ReturnSubscriptions } from '../../federation/return-schedule.js';
import type { RedisClient } from '../../platform/redis.js';
import type { GatewayContext } from '../app/context.js';
import { runDataReturn } from '../app/data-return.js';
import { bullPrefix, QUEUE_NAMES } from './queues.js';

export interface DataReturnJob {
  subscriptionId: string;
}

const SCHEDULER = (id: string) => `return:${id}`;

/** Creates or updates the job scheduler of one subscription (idempotent: the scheduler id is fixed). */
export async function scheduleDataReturn(queue: Queue<DataReturnJob>, subscription: ReturnSubscription) {
  await queue.upsertJobScheduler(
    SCHEDULER(subscription.id),
    subscription.cron
      ? { pattern: subscription.cron, tz: 'Asia/Shanghai' }
      : { every: subscription.everyMs! },
    {
      name: 'return',
      data: { subscriptionId: subscription.id },
      opts: {
        attempts: 3,
        backoff: { type: 'exponential', delay: 5000 },
        removeOnComplete: { count: 100 },
        removeOnFail: { count: 100 },
      },
    },
  );
}

/** Makes the schedulers match the subscriptions: each one scheduled, schedulers of removed ones dropped. */
export async function syncDataReturnSchedules(
  queue: Queue<DataReturnJob>,
  subscriptions: ReturnSubscription[],
): Promise<{ scheduled: string[]; removed: string[] }> {
  const wanted = new Set(subscriptions.map((s) => SCHEDULER(s.id)));
  for (const subscription of subscriptions) await scheduleDataReturn(queue, subscription);
  const removed: string[] = [];
  for (const scheduler of await queue.getJobSchedulers(0, -1)) {
    const id = scheduler.key ?? scheduler.id;
    if (id?.startsWith('return:') && !wanted.has(id)) {
      await queue.removeJobScheduler(id);
      removed.push(id);
    }
  }
  return { scheduled: [...wanted], removed };
}

export interface DataReturnDeps {
  context: GatewayContext;
  subscriptions: ReturnSubscriptions;
  /** The front-end database the returned tables live in. */
  pool: pg.Pool;
}

export function dataReturnProcessor(deps: DataReturnDeps) {
  const ensured = new Set<string>();
  return async (job: Job<DataReturnJob>): Promise<string> => {
    const subscription = await deps.subscriptions.get(job.data.subscriptionId);
    if (!subscription) return `subscription ${job.data.subscriptionId} was removed`;
    const table = new PostgresReturnTable(
      deps.pool,
      subscription.table,
      subscription.items,
      subscription.key,
    );
    const shape = `${subscription.table}:${subscription.items.join(',')}:${subscription.key}`;
    if (!ensured.has(shape)) {
      await table.ensure();
      ensured.add(shape);
    }
    const run = await runDataReturn(deps.context, {
      peer: subscription.peer,
      code: subscription.code,
      sink: table,
      purpose: subscription.purpose,
      ...(subscription.pageSize ? { pageSize: subscription.pageSize } : {}),
    });
    return `returned ${run.rows} rows in ${run.pages} page(s); watermark ${run.watermark ?? 'unchanged'} (${run.correlationId})`;
  };
}

export function startDataReturnWorker(
  deps: DataReturnDeps,
  connection: RedisClient,
  prefix: string,
  log: Logger,
): Worker<DataReturnJob, string> {
  const worker = new Worker<DataReturnJob, string>(QUEUE_NAMES.dataReturn, dataReturnProcessor(deps), {
    connection,
    prefix,
    concurrency: 1,
  });
  worker.on('failed', (job, err) =>
    log.warn(
      { job: job?.id, subscription: job?.data.subscriptionId, err: err.message },
      'data return run failed',
    ),
  );
  worker.on('error', (err) => log.error({ err }, 'data return worker error'));
  return worker;
}

/**
 * The worker's data returns: the queue, every subscription's scheduler brought in line with the stored
 * subscriptions, and the worker writing into `databaseUrl`.
 */
export async function startDataReturns(
  context: GatewayContext,
  databaseUrl: string,
  connection: RedisClient,
  log: Logger,
): Promise<{ worker: Worker<DataReturnJob, string>; scheduled: number; close(): Promise<void> }> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const subscriptions = new ReturnSubscriptions(context.redis, context.prefix);
  const queue = dataReturnQueue(context.redis, context.prefix);
  const { scheduled } = await syncDataReturnSchedules(queue, await subscriptions.list());
  const worker = startDataReturnWorker(
    { context, subscriptions, pool },
    connection,
    bullPrefix(context.prefix),
    log,
  );
  return {
    worker,
    scheduled: scheduled.length,
    async close() {
      await worker.close();
      await queue.close();
      await pool.end();
    },
  };
}

/** The data return queue of a platform (the CLI adds schedulers to it, the worker runs its jobs). */
export function dataReturnQueue(connection: RedisClient, redisPrefix: string): Queue<DataReturnJob> {
  return new Queue<DataReturnJob>(QUEUE_NAMES.dataReturn, { connection, prefix: bullPrefix(redisPrefix) });
}

/**
 * The webhooks worker: one delivery attempt per job run. A failed attempt throws, so BullMQ retries it
 * with exponential backoff until the job's attempts are used up; the delivery record shows every
 * attempt, and `failed` once the last one failed. A deleted endpoint fails the delivery for good.
 */
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { DeliveryJob, Notifier } from '../../notifications/notifier.js';
import type { RedisClient } from '../../platform/redis.js';
import { QUEUE_NAMES } from './queues.js';

export function webhookProcessor(notifier: Notifier) {
  return async (job: Job<DeliveryJob>): Promise<string> => {
    const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const outcome = await notifier.attempt(job.data.deliveryId, final);
    if (!outcome) return 'nothing to deliver';
    const { delivery, gaveUp } = outcome;
    if (delivery.status === 'delivered') return `delivered on attempt ${delivery.attempts}`;
    const message = `delivery ${delivery.id} to ${delivery.url} failed: ${delivery.lastError}`;
    throw gaveUp ? new UnrecoverableError(message) : new Error(message);
  };
}

export function startWebhookWorker(
  notifier: Notifier,
  connection: RedisClient,
  prefix: string,
  log: Logger,
  concurrency = 8,
) {
  const worker = new Worker<DeliveryJob, string>(QUEUE_NAMES.webhooks, webhookProcessor(notifier), {
    connection,
    prefix,
    concurrency,
  });
  worker.on('failed', (job, err) =>
    log.warn({ job: job?.id, attempts: job?.attemptsMade, err: err.message }, 'webhook attempt failed'),
  );
  worker.on('error', (err) => log.error({ err }, 'webhook worker error'));
  return worker;
}

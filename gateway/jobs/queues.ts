/**
 * The workflow's BullMQ queues: names and the key prefix. Every queue's keys start with
 * `{<GOVSHARE_REDIS_PREFIX>bull}`, one hash tag, so that all of them live in one Redis Cluster slot
 * (BullMQ's scripts touch several keys of a queue at once) and several platforms can share one Redis.
 */
export const QUEUE_NAMES = {
  /** Statutory clocks: stage reminders, overdue marks, escalations, scheduled resource status changes. */
  deadlines: 'deadlines',
  /** Webhook deliveries, retried with exponential backoff. */
  webhooks: 'webhooks',
  /** Scheduled health probes of mounted data services. */
  availability: 'availability',
  /** The monthly signed statistics report. */
  statsReports: 'stats-reports',
  /** Data return (回流) runs of each return subscription, on its schedule (jobs/data-return.ts). */
  dataReturn: 'data-return',
} as const;

export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

/** BullMQ's `prefix` option for a platform prefix such as `gs:` → `{gs:bull}`. */
export function bullPrefix(redisPrefix: string): string {
  return `{${redisPrefix.replaceAll(/[{}]/g, '')}bull}`;
}

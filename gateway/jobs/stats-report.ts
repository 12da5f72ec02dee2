/**
 * The monthly statistics report ([HB-S] 26; [XY] 29): a repeatable job at 00:05 on the 1st of every month
 * (China Standard Time) publishes last month's signed report and tells every registered department
 * (policies/stats/report.ts). Publishing is idempotent per period, so a job run twice — or a run after
 * the bureau already triggered the same month — builds nothing new and tells nobody twice. Each run's
 * audit record is written before the report is stored or anyone is told: a run whose record cannot be
 * written publishes nothing and is retried.
 */
import { type Queue, Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { RedisClient } from '../../platform/redis.js';
import { previousPeriod, type StatsReports } from '../../policies/stats/report.js';
import type { SystemAudit } from './deadlines.js';
import { QUEUE_NAMES } from './queues.js';

export const STATS_REPORT_SCHEDULER_ID = 'stats-report-monthly';
/** Cron pattern of the monthly run, in STATS_REPORT_TZ. */
export const STATS_REPORT_PATTERN = '5 0 1 * *';
export const STATS_REPORT_TZ = 'Asia/Shanghai';

export interface StatsReportJob {
  /** The month to report on; the month before the run (CST) when absent. */
  period?: string;
}

/** Schedules the monthly run (idempotent: the scheduler id is fixed). */
export async function scheduleStatsReports(queue: Queue<StatsReportJob>): Promise<void> {
  await queue.upsertJobScheduler(
    STATS_REPORT_SCHEDULER_ID,
    { pattern: STATS_REPORT_PATTERN, tz: STATS_REPORT_TZ },
    {
      name: 'monthly',
      data: {},
      opts: {
        attempts: 5,
        backoff: { type: 'exponential', delay: 60_000 },
        removeOnComplete: { count: 24 },
        removeOnFail: { count: 24 },
      },
    },
  );
}

export function startStatsReportWorker(
  reports: StatsReports,
  now: () => Date,
  connection: RedisClient,
  prefix: string,
  log: Logger,
  audit: SystemAudit,
) {
  const worker = new Worker<StatsReportJob>(
    QUEUE_NAMES.statsReports,
    async (job) => {
      const period = job.data.period ?? previousPeriod(now());
      const outcome = await reports.publish(period, {
        beforeCommit: ({ summary, created, recipients }) =>
          audit(
            'stats.report.publish',
            { period, digest: summary.digest, created, delivered: recipients.length, job: job.id },
            { requestId: `stats-report-${period}-${job.id}` },
          ),
      });
      log.info(
        { period, created: outcome.created, delivered: outcome.delivered.length },
        'statistics report published',
      );
      return { period, created: outcome.created, delivered: outcome.delivered };
    },
    { connection, prefix, concurrency: 1 },
  );
  worker.on('error', (err) => log.error({ err }, 'statistics report worker error'));
  return worker;
}

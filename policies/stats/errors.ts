/** Errors of the published statistics. Codes are stable; messages say what to change. */
import { createError } from '@fastify/error';

export const STATS_PERIOD_INVALID = createError('STATS_PERIOD_INVALID', '%s', 422);
export const STATS_FORBIDDEN = createError('STATS_FORBIDDEN', '%s', 403);

export const STATS_REPORT_PERIOD_INVALID = createError('STATS_REPORT_PERIOD_INVALID', '%s', 422);
export const STATS_REPORT_NOT_FOUND = createError('STATS_REPORT_NOT_FOUND', '%s', 404);

export const statsErrors = {
  STATS_PERIOD_INVALID,
  STATS_FORBIDDEN,
  STATS_REPORT_PERIOD_INVALID,
  STATS_REPORT_NOT_FOUND,
} as const;

export const statsErrorDocs: Record<keyof typeof statsErrors, string> = {
  STATS_PERIOD_INVALID:
    "The period is not two calendar dates 'YYYY-MM-DD' with from ≤ to, at most 366 days long.",
  STATS_FORBIDDEN: 'A department administrator sees the statistics of its own department only.',
  STATS_REPORT_PERIOD_INVALID:
    "A report's period is a month 'YYYY-MM' that has ended (China Standard Time), from 2000-01 on.",
  STATS_REPORT_NOT_FOUND: 'No statistics report has been published for this period.',
};

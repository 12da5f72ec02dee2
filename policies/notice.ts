/**
 * Advance notice of a change, suspension or withdrawal of a shared resource or of a grant ([XY] 13;
 * [JY] 19; [HC-R] 29: stopping a resource is filed in advance). A change takes effect no earlier than
 * the start (00:00 CST) of the `noticeWorkdays`-th working day after the day it is filed, counted with
 * the working-day calendar; earlier, down to at once, only with an emergency reason, which the caller
 * records and reports to the bureau. The consumers are told when it is filed, and a delayed job applies
 * it at its time.
 */
import { cstDate, cstStartOfDayNumber, dayNumber } from '../platform/plain-date.js';
import type { WorkdayCalendar } from './calendar/calendar.js';
import { NOTICE_TOO_SHORT } from './errors.js';

/** @defaultValue of the platform's notice period (GOVSHARE_NOTICE_WORKDAYS). */
export const DEFAULT_NOTICE_WORKDAYS = 5;

export interface NoticeDecision {
  /** When the change takes effect (never before `now`). */
  effectiveFrom: Date;
  /** Earlier than the notice period allows: applied on the stated emergency reason. */
  emergency: boolean;
  /** The earliest instant the notice period allows. */
  earliest: Date;
}

/** The earliest instant a change filed at `now` may take effect with `noticeWorkdays` of notice. */
export function earliestWithNotice(calendar: WorkdayCalendar, noticeWorkdays: number, now: Date): Date {
  const day = calendar.addWorkdays(cstDate(now), noticeWorkdays);
  return cstStartOfDayNumber(dayNumber(day));
}

/**
 * Checks the effective time of a change filed at `now` (absent: at once) against the notice period.
 * Throws NOTICE_TOO_SHORT, naming the earliest date, unless an emergency reason is given.
 */
export function checkNotice(
  calendar: WorkdayCalendar,
  noticeWorkdays: number,
  now: Date,
  requested: Date | undefined,
  emergencyReason: string | undefined,
  what: string,
): NoticeDecision {
  const earliest = earliestWithNotice(calendar, noticeWorkdays, now);
  const effectiveFrom = requested && requested.getTime() > now.getTime() ? requested : now;
  if (effectiveFrom.getTime() >= earliest.getTime()) return { effectiveFrom, emergency: false, earliest };
  if ((emergencyReason ?? '').trim() !== '') return { effectiveFrom, emergency: true, earliest };
  throw new NOTICE_TOO_SHORT(
    `${what} needs ${noticeWorkdays} working days of notice to its consumers: give effectiveFrom ${cstDate(earliest)} ` +
      'or later, or state an emergency reason (it is recorded and reported to the bureau) to act sooner',
  );
}

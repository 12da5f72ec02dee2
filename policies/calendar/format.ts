/** One-line human answers for the operator CLI (`govshare calendar …`). */

import { type PlainDate, weekdayName } from '../../platform/plain-date.js';
import type { DayInfo, WorkdayCalendar } from './calendar.js';

function reason(info: DayInfo): string {
  switch (info.kind) {
    case 'makeUp':
      return `make-up working day (调休) for ${info.name} of ${info.sourceText}`;
    case 'dayOff':
      return `${info.name}, day off of ${info.sourceText}`;
    case 'weekend':
      return 'weekend';
    default:
      return 'ordinary weekday';
  }
}

function dayText(info: DayInfo): string {
  return `${info.date} (${info.weekday})`;
}

/** e.g. "2026-02-14 (Saturday) is a working day: make-up working day (调休) for Spring Festival (春节) of the 2026 notice (…)". */
export function formatIsWorkday(calendar: WorkdayCalendar, date: PlainDate): string {
  const info = calendar.describe(date);
  return `${dayText(info)} is ${info.workday ? 'a working day' : 'not a working day'}: ${reason(info)}`;
}

/** e.g. "2 working days after 2026-02-13 (Friday), not counting that day, is 2026-02-24 (Tuesday): ordinary weekday". */
export function formatAddWorkdays(calendar: WorkdayCalendar, from: PlainDate, n: number): string {
  const due = calendar.describe(calendar.addWorkdays(from, n));
  const unit = n === 1 ? 'working day' : 'working days';
  return `${n} ${unit} after ${from} (${weekdayName(from)}), not counting that day, is ${dayText(due)}: ${reason(due)}`;
}

/**
 * `govshare calendar …`: the working-day calendar for operators checking a deadline by hand. Both read
 * the built-in holiday table and, with --calendar-file, the operator's override file.
 */
import {
  formatAddWorkdays,
  formatIsWorkday,
  loadCalendarOverrides,
  WorkdayCalendar,
} from '../../../policies/calendar/index.js';
import { type Command, parseFlags, required, UsageError } from '../command.js';

const CALENDAR_FLAGS = { 'calendar-file': { type: 'string' } } as const;

/** The calendar, with the override file when one is named. */
export async function calendarFrom(values: Record<string, unknown>): Promise<WorkdayCalendar> {
  const file = values['calendar-file'];
  if (typeof file !== 'string' || file === '') return new WorkdayCalendar();
  return new WorkdayCalendar({ overrides: await loadCalendarOverrides(file), overridesOrigin: file });
}

export const calendarIsWorkdayCommand: Command = {
  name: 'calendar is-workday',
  summary: 'Say whether a date is a working day (China Standard Time), and why',
  usage: 'calendar is-workday YYYY-MM-DD [--calendar-file FILE]',
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, CALENDAR_FLAGS);
    if (positionals.length !== 1) throw new UsageError('give exactly one date, e.g. 2026-02-14');
    io.out(formatIsWorkday(await calendarFrom(values), positionals[0]!));
    return 0;
  },
};

export const calendarAddWorkdaysCommand: Command = {
  name: 'calendar add-workdays',
  summary: 'The N-th working day after a date, the date itself not counted (as statutory deadlines count)',
  usage: 'calendar add-workdays --from YYYY-MM-DD --days N [--calendar-file FILE]',
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, {
      ...CALENDAR_FLAGS,
      from: { type: 'string' },
      days: { type: 'string' },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
    const from = required(values, 'from');
    const days = required(values, 'days');
    if (!/^\d{1,6}$/.test(days))
      throw new UsageError(`--days must be a whole number of working days (got ${days})`);
    io.out(formatAddWorkdays(await calendarFrom(values), from, Number(days)));
    return 0;
  },
};

/**
 * The working-day calendar: weekends and the State Council's public holidays are off, make-up working
 * days (调休) are on. Everything works on calendar dates in China Standard Time, whatever the host's
 * time zone. A year the table does not know is an error (CALENDAR_YEAR_UNKNOWN), never a guess: not even
 * in `deadline`, because a statutory deadline counted on Monday–Friday in a year with holidays and
 * make-up days could be wrong by a week. Callers keep such a clock pending (see `unknownYearsOf`) and
 * compute it once the year is loaded.
 */

import {
  cstDayNumber,
  cstStartOfDayNumber,
  dayNumber,
  fromDayNumber,
  isWeekend,
  type PlainDate,
  WEEKDAY_NAMES,
  weekdayOfDayNumber,
  yearOfDayNumber,
} from '../../platform/plain-date.js';
import { type CompiledCalendar, compileCalendar, describeSource, type RuleSource } from './compile.js';
import { CalendarInputInvalid, CalendarYearUnknown } from './errors.js';
import type { CalendarOverrides, HolidayYear, Notice } from './schema.js';
import { HOLIDAY_TABLE } from './table.js';

export interface WorkdayCalendarOptions {
  /** The operator's overrides (from loadCalendarOverrides). */
  overrides?: CalendarOverrides;
  /** Names the overrides in error messages, e.g. the override file's path. */
  overridesOrigin?: string;
  /** The built-in holiday table; replaced only in tests. */
  table?: readonly HolidayYear[];
}

/** Why a day is or is not a working day. */
export interface DayInfo {
  date: PlainDate;
  weekday: (typeof WEEKDAY_NAMES)[number];
  workday: boolean;
  /** weekday/weekend: the ordinary rule; dayOff/makeUp: set by a notice or an adjustment. */
  kind: 'weekday' | 'weekend' | 'dayOff' | 'makeUp';
  /** The holiday, for dayOff and makeUp. */
  name?: string;
  source?: RuleSource;
  /** e.g. "the 2026 notice (国办发明电〔2025〕7号)", for dayOff and makeUp. */
  sourceText?: string;
}

export interface Deadline {
  /** The last day of the limit: the `workdays`-th working day after the start date (CST). */
  dueDate: PlainDate;
  /** End of dueDate: 24:00 CST, i.e. 00:00 +08:00 of the next day. */
  dueAt: Date;
}

/** How soon the holiday table runs out: its last known day and the calendar days left until it. */
export interface TableEnd {
  lastKnownDate: PlainDate;
  daysLeft: number;
}

const MAX_WORKDAYS = 100_000;
const WARN_FROM_MONTH = 10;

function checkCount(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_WORKDAYS) {
    throw new CalendarInputInvalid(`${what} must be a whole number from 0 to ${MAX_WORKDAYS} (got ${n})`);
  }
}

export class WorkdayCalendar {
  readonly #compiled: CompiledCalendar;

  constructor(options: WorkdayCalendarOptions = {}) {
    this.#compiled = compileCalendar(
      options.table ?? HOLIDAY_TABLE,
      options.overrides,
      options.overridesOrigin,
    );
  }

  knows(year: number): boolean {
    return this.#compiled.years.has(year);
  }

  knownYears(): number[] {
    return [...this.#compiled.years.keys()].sort((a, b) => a - b);
  }

  /** The State Council notice a known year was taken from. */
  notice(year: number): Notice | undefined {
    return this.#compiled.years.get(year)?.entry.notice;
  }

  #unknownYear(year: number): Error {
    const known = this.knownYears();
    return new CalendarYearUnknown(
      `the working-day calendar does not know ${year} (it knows ${known.length ? known.join(', ') : 'no year'}). ` +
        `Add the State Council's holiday arrangement for ${year} to the calendar override file ` +
        '(a "years" entry with year, notice, daysOff and makeUpDays), or upgrade govshare to a release ' +
        'whose built-in table has it',
    );
  }

  /** Working day or not; `unknown` collects years counted on the Monday–Friday rule instead of failing. */
  #isWorkday(n: number, unknown?: Set<number>): boolean {
    const rule = this.#compiled.rules.get(n);
    if (rule) return rule.workday;
    const year = yearOfDayNumber(n);
    if (!this.#compiled.years.has(year)) {
      if (!unknown) throw this.#unknownYear(year);
      unknown.add(year);
    }
    return !isWeekend(n);
  }

  isWorkday(date: PlainDate): boolean {
    return this.#isWorkday(dayNumber(date));
  }

  /** Whether `date` is a working day, and the rule that decides it. */
  describe(date: PlainDate): DayInfo {
    const n = dayNumber(date);
    const workday = this.#isWorkday(n);
    const info: DayInfo = { date, weekday: WEEKDAY_NAMES[weekdayOfDayNumber(n)]!, workday, kind: 'weekday' };
    const rule = this.#compiled.rules.get(n);
    if (rule) {
      info.kind = rule.workday ? 'makeUp' : 'dayOff';
      info.name = rule.name;
      info.source = rule.source;
      info.sourceText = describeSource(rule.source);
    } else if (!workday) {
      info.kind = 'weekend';
    }
    return info;
  }

  #walk(from: number, workdays: number, unknown?: Set<number>): number {
    let n = from;
    for (let left = workdays; left > 0; ) {
      n++;
      if (this.#isWorkday(n, unknown)) left--;
    }
    return n;
  }

  /**
   * The `n`-th working day after `from`; `from` itself is not counted (Civil Code art. 201:
   * 开始的当日不计入), so n = 0 gives `from`. Throws CALENDAR_YEAR_UNKNOWN when it reaches an unknown year.
   */
  addWorkdays(from: PlainDate, n: number): PlainDate {
    checkCount(n, 'the number of working days');
    return fromDayNumber(this.#walk(dayNumber(from, 'from'), n));
  }

  /**
   * Working days after `a` up to and including `b` (so addWorkdays(a, k) = b gives k when b is a
   * working day); negative when b is before a. For statistics of handling time.
   */
  workdaysBetween(a: PlainDate, b: PlainDate): number {
    const start = dayNumber(a, 'a');
    const end = dayNumber(b, 'b');
    if (end < start) return -this.workdaysBetween(b, a);
    let count = 0;
    for (let n = start + 1; n <= end; n++) if (this.#isWorkday(n)) count++;
    return count;
  }

  /**
   * The statutory deadline `workdays` working days after the CST date of `startInstant`, due at 24:00
   * CST of that day. Throws CALENDAR_YEAR_UNKNOWN when the count reaches a year the table does not know:
   * the caller keeps the clock pending (stores start and limit) and computes it once the year is loaded.
   */
  deadline(startInstant: Date | number, workdays: number): Deadline {
    checkCount(workdays, 'workdays');
    const due = this.#walk(cstDayNumber(startInstant, 'startInstant'), workdays);
    return { dueDate: fromDayNumber(due), dueAt: cstStartOfDayNumber(due + 1) };
  }

  /**
   * The years the table lacks that counting `workdays` working days from `startInstant` would reach
   * (empty when `deadline` can answer). Only names them, so that a pending clock can say which State
   * Council notice is missing; no date is computed from them.
   */
  unknownYearsOf(startInstant: Date | number, workdays: number): number[] {
    checkCount(workdays, 'workdays');
    const unknown = new Set<number>();
    this.#walk(cstDayNumber(startInstant, 'startInstant'), workdays, unknown);
    return [...unknown].sort((a, b) => a - b);
  }

  /**
   * When the table runs out within `days` calendar days of `now` (CST): its last known day and the days
   * left (negative once it has run out). Undefined when it reaches further.
   */
  tableEndsWithin(now: Date | number, days: number): TableEnd | undefined {
    const today = cstDayNumber(now, 'now');
    const years = this.knownYears();
    const last = years.at(-1);
    const lastDay = last === undefined ? today - 1 : dayNumber(`${last}-12-31`);
    const daysLeft = lastDay - today;
    if (daysLeft > days) return undefined;
    return { lastKnownDate: fromDayNumber(lastDay), daysLeft };
  }

  /**
   * A warning for /ready and the logs when the table lacks the current year, or (from October 1 CST,
   * when the State Council usually publishes it) next year; undefined when all is well.
   */
  missingNextYearWarning(now: Date | number): string | undefined {
    const today = cstDayNumber(now, 'now');
    const year = yearOfDayNumber(today);
    const month = Number(fromDayNumber(today).slice(5, 7));
    const missing = !this.knows(year)
      ? year
      : month >= WARN_FROM_MONTH && !this.knows(year + 1)
        ? year + 1
        : 0;
    if (!missing) return undefined;
    return (
      `the working-day calendar does not know ${missing}: statutory deadlines reaching into ${missing} cannot be ` +
      'computed and their applications wait, flagged to the bureau. Add the State Council holiday arrangement for ' +
      `${missing} to the calendar override file once it is published, or upgrade govshare`
    );
  }
}

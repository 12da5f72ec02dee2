/**
 * Calendar dates as 'YYYY-MM-DD' strings, computed with integer day numbers (days since 1970-01-01).
 * Only Date.UTC and UTC getters are used, so nothing depends on the host's time zone. Instants are
 * mapped to dates in China Standard Time (UTC+8, no daylight saving time since 1991).
 */
import { CalendarInputInvalid } from './errors.js';

/** A calendar date 'YYYY-MM-DD' (no time, no zone). */
export type PlainDate = string;

const DAY_MS = 86_400_000;
const CST_OFFSET_MS = 8 * 3_600_000;
const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

export const WEEKDAY_NAMES = [
  'Sunday',
  'Monday',
  'Tuesday',
  'Wednesday',
  'Thursday',
  'Friday',
  'Saturday',
] as const;

/** Day number of a 'YYYY-MM-DD' date, or undefined when it is not a real calendar date. */
export function tryDayNumber(date: string): number | undefined {
  const match = DATE_PATTERN.exec(date);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const ms = Date.UTC(year, month - 1, day);
  const back = new Date(ms);
  // Date.UTC rolls 2026-02-30 over to March; a real date survives the round trip. Years below 100
  // are mapped to 1900+ by Date.UTC, which the round trip also rejects.
  if (back.getUTCFullYear() !== year || back.getUTCMonth() !== month - 1 || back.getUTCDate() !== day) {
    return undefined;
  }
  return ms / DAY_MS;
}

/** Day number of a date; throws CALENDAR_INPUT_INVALID naming the bad value. */
export function dayNumber(date: PlainDate, what = 'date'): number {
  const n = typeof date === 'string' ? tryDayNumber(date) : undefined;
  if (n === undefined) {
    throw new CalendarInputInvalid(
      `${what} must be a calendar date 'YYYY-MM-DD' (got ${JSON.stringify(date)})`,
    );
  }
  return n;
}

export function fromDayNumber(n: number): PlainDate {
  return new Date(n * DAY_MS).toISOString().slice(0, 10);
}

/** 0 = Sunday … 6 = Saturday. 1970-01-01 was a Thursday. */
export function weekdayOfDayNumber(n: number): number {
  return (((n + 4) % 7) + 7) % 7;
}

export function yearOfDayNumber(n: number): number {
  return new Date(n * DAY_MS).getUTCFullYear();
}

export function isWeekend(n: number): boolean {
  const weekday = weekdayOfDayNumber(n);
  return weekday === 0 || weekday === 6;
}

export function weekdayName(date: PlainDate): string {
  return WEEKDAY_NAMES[weekdayOfDayNumber(dayNumber(date))]!;
}

export function addDays(date: PlainDate, days: number): PlainDate {
  return fromDayNumber(dayNumber(date) + days);
}

function instantMs(instant: Date | number, what: string): number {
  const ms = typeof instant === 'number' ? instant : instant instanceof Date ? instant.getTime() : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new CalendarInputInvalid(
      `${what} must be a valid Date or epoch milliseconds (got ${String(instant)})`,
    );
  }
  return ms;
}

/** The calendar date in China Standard Time of an instant, whatever the host's time zone. */
export function cstDate(instant: Date | number): PlainDate {
  return fromDayNumber(cstDayNumber(instant));
}

export function cstDayNumber(instant: Date | number, what = 'instant'): number {
  return Math.floor((instantMs(instant, what) + CST_OFFSET_MS) / DAY_MS);
}

/** The instant 00:00 CST that starts day number `n`. */
export function cstStartOfDayNumber(n: number): Date {
  return new Date(n * DAY_MS - CST_OFFSET_MS);
}

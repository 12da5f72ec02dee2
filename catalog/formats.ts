/**
 * ajv-formats' `date` and `date-time` (RFC 3339 full-date and date-time with a zone), with a fast path for
 * the forms databases write. ajv-formats reads a date-time by splitting it on a regular expression and
 * matching both halves with two more, which made it the largest check of a quality scan. The fast paths
 * read the characters once and only ever answer true for a string ajv-formats accepts; anything they do
 * not recognize (a leap second, `+0800`, `+08`, a date-time split by another white space) goes to
 * ajv-formats' own function, so the answer is ajv-formats' on every input
 * (test/catalog/formats.test.ts compares them on generated and edge inputs).
 */
import { fullFormats } from 'ajv-formats/dist/formats.js';

type FormatFunction = (value: string) => boolean;

const ajvDate = (fullFormats.date as { validate: FormatFunction }).validate;
const ajvDateTime = (fullFormats['date-time'] as { validate: FormatFunction }).validate;

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The value of `count` ASCII digits at `from`, or -1 when one of them is not a digit. */
function digits(value: string, from: number, count: number): number {
  let v = 0;
  for (let i = from; i < from + count; i++) {
    const d = value.charCodeAt(i) - 48;
    if (!(d >= 0 && d <= 9)) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** `YYYY-MM-DD` at the start of `value`, a day the month has. */
function leadingDate(value: string): boolean {
  if (value.charCodeAt(4) !== 45 || value.charCodeAt(7) !== 45) return false;
  const year = digits(value, 0, 4);
  const month = digits(value, 5, 2);
  const day = digits(value, 8, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 && leap ? 29 : DAYS_IN_MONTH[month]!);
}

/**
 * True only for `YYYY-MM-DD`, `T`/`t`/space, `hh:mm:ss`, an optional fraction and `Z`/`z` or `±hh:mm`,
 * every field in range (seconds up to 59): a subset of what ajv-formats accepts.
 */
export function isCommonDateTime(value: string): boolean {
  const n = value.length;
  if (n < 20 || !leadingDate(value)) return false;
  const separator = value.charCodeAt(10);
  if (separator !== 84 && separator !== 116 && separator !== 32) return false;
  if (value.charCodeAt(13) !== 58 || value.charCodeAt(16) !== 58) return false;
  const hour = digits(value, 11, 2);
  const minute = digits(value, 14, 2);
  const second = digits(value, 17, 2);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return false;
  let at = 19;
  if (value.charCodeAt(at) === 46) {
    const start = ++at;
    while (at < n) {
      const d = value.charCodeAt(at) - 48;
      if (!(d >= 0 && d <= 9)) break;
      at++;
    }
    if (at === start) return false;
  }
  const zone = value.charCodeAt(at);
  if (zone === 90 || zone === 122) return at + 1 === n;
  if ((zone !== 43 && zone !== 45) || at + 6 !== n || value.charCodeAt(at + 3) !== 58) return false;
  const zoneHour = digits(value, at + 1, 2);
  const zoneMinute = digits(value, at + 4, 2);
  return zoneHour >= 0 && zoneHour <= 23 && zoneMinute >= 0 && zoneMinute <= 59;
}

/** True only for `YYYY-MM-DD` on a day the month has: exactly ajv-formats' `date`. */
export function isCommonDate(value: string): boolean {
  return value.length === 10 && leadingDate(value);
}

/** ajv-formats' `date-time` (a zone required). */
export function isDateTime(value: string): boolean {
  return isCommonDateTime(value) || ajvDateTime(value);
}

/** ajv-formats' `date`. */
export function isDate(value: string): boolean {
  return isCommonDate(value) || ajvDate(value);
}

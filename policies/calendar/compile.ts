/**
 * Compiles the holiday table and the operator's overrides into one map from day number to rule.
 * Checks what a schema cannot: dates are real and inside their entry's year, ranges run forward,
 * make-up working days fall on a Saturday or Sunday, no year is given twice, adjustments name a
 * known year, and no date is both a day off and a make-up working day. Errors name the field.
 */

import {
  fromDayNumber,
  isWeekend,
  tryDayNumber,
  weekdayName,
  yearOfDayNumber,
} from '../../platform/plain-date.js';
import { CalendarOverrideInvalid } from './errors.js';
import type { CalendarAdjustment, CalendarOverrides, DaysOff, HolidayYear, MakeUpDay } from './schema.js';

/** Where a day's rule comes from: a State Council notice of a year, or an operator's adjustment. */
export type RuleSource =
  | { kind: 'notice'; year: number; number: string; origin: 'built-in' | 'override' }
  | { kind: 'adjustment'; year: number; source: string };

export interface DayRule {
  workday: boolean;
  name: string;
  source: RuleSource;
}

export interface KnownYear {
  entry: HolidayYear;
  origin: 'built-in' | 'override';
}

export interface CompiledCalendar {
  years: Map<number, KnownYear>;
  rules: Map<number, DayRule>;
}

const MAX_RANGE_DAYS = 31;

export function describeSource(source: RuleSource): string {
  return source.kind === 'notice'
    ? `the ${source.year} notice (${source.number})`
    : `the ${source.year} adjustment "${source.source}"`;
}

class Compiler {
  readonly years = new Map<number, KnownYear>();
  readonly rules = new Map<number, DayRule>();

  constructor(readonly origin: string) {}

  fail(path: string, message: string): never {
    throw new CalendarOverrideInvalid(`${this.origin}: ${path}: ${message}`);
  }

  day(date: string, year: number, path: string): number {
    const n = tryDayNumber(date);
    if (n === undefined) this.fail(path, `${JSON.stringify(date)} is not a calendar date 'YYYY-MM-DD'`);
    if (yearOfDayNumber(n) !== year) this.fail(path, `${date} is not in ${year}, the year of this entry`);
    return n;
  }

  set(n: number, rule: DayRule, path: string): void {
    const existing = this.rules.get(n);
    if (!existing) {
      this.rules.set(n, rule);
      return;
    }
    // The same kind of day listed twice (a regional day off that is also a national one) is harmless.
    if (existing.workday === rule.workday) return;
    const what = existing.workday ? 'a make-up working day' : 'a day off';
    this.fail(
      path,
      `${fromDayNumber(n)} is already ${what} (${existing.name}, ${describeSource(existing.source)}); ` +
        'a date cannot be both a day off and a make-up working day',
    );
  }

  daysOff(list: readonly DaysOff[], year: number, source: RuleSource, path: string): void {
    list.forEach((range, i) => {
      const from = this.day(range.from, year, `${path}/${i}/from`);
      const to = range.to === undefined ? from : this.day(range.to, year, `${path}/${i}/to`);
      if (to < from) this.fail(`${path}/${i}/to`, `${range.to} is before from (${range.from})`);
      if (to - from >= MAX_RANGE_DAYS) {
        this.fail(`${path}/${i}/to`, `a range of days off is at most ${MAX_RANGE_DAYS} days long`);
      }
      for (let n = from; n <= to; n++)
        this.set(n, { workday: false, name: range.name, source }, `${path}/${i}`);
    });
  }

  makeUpDays(list: readonly MakeUpDay[], year: number, source: RuleSource, path: string): void {
    list.forEach((day, i) => {
      const n = this.day(day.date, year, `${path}/${i}/date`);
      if (!isWeekend(n)) {
        this.fail(
          `${path}/${i}/date`,
          `${day.date} is a ${weekdayName(day.date)}, already a working day; make-up working days are Saturdays or Sundays`,
        );
      }
      this.set(n, { workday: true, name: day.name, source }, `${path}/${i}/date`);
    });
  }

  year(entry: HolidayYear, origin: KnownYear['origin'], path: string): void {
    const known = this.years.get(entry.year);
    if (known) {
      this.fail(
        `${path}/year`,
        known.origin === 'built-in'
          ? `${entry.year} is already in govshare's built-in table (${known.entry.notice.number}); ` +
              'use "adjustments" to add regional days to it'
          : `${entry.year} is given twice`,
      );
    }
    if (tryDayNumber(entry.notice.published) === undefined) {
      this.fail(
        `${path}/notice/published`,
        `${JSON.stringify(entry.notice.published)} is not a calendar date`,
      );
    }
    this.years.set(entry.year, { entry, origin });
    const source: RuleSource = { kind: 'notice', year: entry.year, number: entry.notice.number, origin };
    this.daysOff(entry.daysOff, entry.year, source, `${path}/daysOff`);
    this.makeUpDays(entry.makeUpDays, entry.year, source, `${path}/makeUpDays`);
  }

  adjustment(adjustment: CalendarAdjustment, path: string): void {
    if (!this.years.has(adjustment.year)) {
      this.fail(
        `${path}/year`,
        `${adjustment.year} is not a known year; add its State Council notice under "years" first`,
      );
    }
    if (!adjustment.daysOff?.length && !adjustment.makeUpDays?.length) {
      this.fail(path, 'an adjustment lists at least one entry in daysOff or makeUpDays');
    }
    const source: RuleSource = { kind: 'adjustment', year: adjustment.year, source: adjustment.source };
    this.daysOff(adjustment.daysOff ?? [], adjustment.year, source, `${path}/daysOff`);
    this.makeUpDays(adjustment.makeUpDays ?? [], adjustment.year, source, `${path}/makeUpDays`);
  }
}

/**
 * Builds the day rules from the built-in `table` and the operator's `overrides`. `origin` names the
 * overrides in error messages (e.g. the override file's path).
 */
export function compileCalendar(
  table: readonly HolidayYear[],
  overrides: CalendarOverrides = {},
  origin = 'calendar overrides',
): CompiledCalendar {
  const builtIn = new Compiler('built-in holiday table');
  table.forEach((entry, i) => {
    builtIn.year(entry, 'built-in', `/${i}`);
  });
  const compiler = new Compiler(origin);
  for (const [year, known] of builtIn.years) compiler.years.set(year, known);
  for (const [n, rule] of builtIn.rules) compiler.rules.set(n, rule);
  overrides.years?.forEach((entry, i) => {
    compiler.year(entry, 'override', `/years/${i}`);
  });
  overrides.adjustments?.forEach((adjustment, i) => {
    compiler.adjustment(adjustment, `/adjustments/${i}`);
  });
  return { years: compiler.years, rules: compiler.rules };
}

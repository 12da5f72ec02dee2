/**
 * Errors of the working-day calendar. Codes are stable: the gateway lists them and maps them to problem
 * details. Every message says what to fix (which date, which year, which field of which file).
 */
import { createError } from '@fastify/error';
import { CalendarInputInvalid } from '../../platform/errors.js';

export { CalendarInputInvalid };

/** A date the calendar has no holiday arrangement for; the message names the year and how to add it. */
export const CalendarYearUnknown = createError('CALENDAR_YEAR_UNKNOWN', '%s', 422);
/** The operator's calendar override file cannot be read or fails validation; the message names the field. */
export const CalendarOverrideInvalid = createError('CALENDAR_OVERRIDE_INVALID', '%s', 500);
/** A region profile or limits override that is unknown or out of range. */
export const CalendarLimitsInvalid = createError('CALENDAR_LIMITS_INVALID', '%s', 500);

export const calendarErrors = {
  CalendarYearUnknown,
  CalendarInputInvalid,
  CalendarOverrideInvalid,
  CalendarLimitsInvalid,
};

export const calendarErrorDocs = {
  CALENDAR_YEAR_UNKNOWN:
    "The working-day calendar has no State Council holiday arrangement for the date's year; add it with the calendar override file",
  CALENDAR_INPUT_INVALID:
    "A date is not a real calendar date in the form 'YYYY-MM-DD', or a working-day count is not a non-negative whole number",
  CALENDAR_OVERRIDE_INVALID:
    'The calendar override file cannot be read, is not JSON, or a field fails validation (the message names the field)',
  CALENDAR_LIMITS_INVALID:
    'The region profile is unknown or a statutory limit override is not a whole number of working days',
} as const;

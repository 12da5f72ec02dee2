/**
 * Errors of the bottom floor's shared types. The code belongs to the calendar's area (policies/calendar
 * lists and documents it); it is defined here because plain dates are checked before any calendar exists.
 */
import { createError } from '@fastify/error';

/** A date that is not a real 'YYYY-MM-DD' calendar date, or a working-day count that is not a whole number. */
export const CalendarInputInvalid = createError('CALENDAR_INPUT_INVALID', '%s', 400);

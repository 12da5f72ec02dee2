/** The working-day calendar and statutory deadline arithmetic (no Fastify, no BullMQ). */

export { addDays, cstDate, type PlainDate, weekdayName } from '../../platform/plain-date.js';
export { type DayInfo, type Deadline, WorkdayCalendar, type WorkdayCalendarOptions } from './calendar.js';
export type { RuleSource } from './compile.js';
export * from './errors.js';
export { formatAddWorkdays, formatIsWorkday } from './format.js';
export * from './limits.js';
export { loadCalendarOverrides, parseCalendarOverrides } from './overrides.js';
export * from './schema.js';
export { HOLIDAY_TABLE } from './table.js';

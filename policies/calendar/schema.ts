/**
 * Shapes of the holiday table and of the operator's override file. One schema per shape: these TypeBox
 * objects validate the override file (ajv) and give the TypeScript types of the built-in table.
 * Rules across fields (dates inside the entry's year, make-up days on weekends, no date both off and
 * on) are checked when the calendar is compiled (compile.ts).
 */
import { type Static, Type } from '@sinclair/typebox';

export const DATE_PATTERN = '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$';

export const DateString = Type.String({ pattern: DATE_PATTERN, description: "A calendar date 'YYYY-MM-DD'" });

export const Year = Type.Integer({ minimum: 1990, maximum: 2999, description: 'Calendar year' });

export const Notice = Type.Object(
  {
    number: Type.String({
      minLength: 1,
      maxLength: 100,
      description: 'Document number (文号), e.g. 国办发明电〔2024〕12号',
    }),
    title: Type.String({ minLength: 1, maxLength: 200, description: 'Title of the notice' }),
    published: DateString,
    url: Type.Optional(
      Type.String({ pattern: '^https?://\\S+$', description: 'Where the notice is published' }),
    ),
  },
  {
    additionalProperties: false,
    description: "The State Council's notice on the year's holiday arrangement",
  },
);
export type Notice = Static<typeof Notice>;

export const DaysOff = Type.Object(
  {
    from: DateString,
    to: Type.Optional(
      Type.String({
        pattern: DATE_PATTERN,
        description: 'Last day off (inclusive); only `from` when omitted',
      }),
    ),
    name: Type.String({ minLength: 1, maxLength: 100, description: 'Holiday, e.g. Spring Festival (春节)' }),
  },
  {
    additionalProperties: false,
    description: 'Consecutive days off (放假), weekends inside the range included',
  },
);
export type DaysOff = Static<typeof DaysOff>;

export const MakeUpDay = Type.Object(
  {
    date: DateString,
    name: Type.String({ minLength: 1, maxLength: 100, description: 'Holiday it makes up for' }),
  },
  { additionalProperties: false, description: 'A Saturday or Sunday that is a working day (调休上班)' },
);
export type MakeUpDay = Static<typeof MakeUpDay>;

export const HolidayYear = Type.Object(
  {
    year: Year,
    notice: Notice,
    daysOff: Type.Array(DaysOff, { maxItems: 100 }),
    makeUpDays: Type.Array(MakeUpDay, { maxItems: 100 }),
  },
  { additionalProperties: false, description: "One year's holiday arrangement" },
);
export type HolidayYear = Static<typeof HolidayYear>;

export const CalendarAdjustment = Type.Object(
  {
    year: Year,
    source: Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'Who decided these days, e.g. the regional government notice and its number',
    }),
    daysOff: Type.Optional(Type.Array(DaysOff, { maxItems: 100 })),
    makeUpDays: Type.Optional(Type.Array(MakeUpDay, { maxItems: 100 })),
  },
  { additionalProperties: false, description: 'Regional days off or make-up days added to a known year' },
);
export type CalendarAdjustment = Static<typeof CalendarAdjustment>;

export const CalendarOverrides = Type.Object(
  {
    years: Type.Optional(
      Type.Array(HolidayYear, { maxItems: 50, description: 'Years the built-in table does not have yet' }),
    ),
    adjustments: Type.Optional(Type.Array(CalendarAdjustment, { maxItems: 200 })),
  },
  { additionalProperties: false, description: "The operator's calendar override file" },
);
export type CalendarOverrides = Static<typeof CalendarOverrides>;

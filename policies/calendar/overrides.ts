/**
 * The operator's calendar override file: JSON that adds a year the built-in table does not have yet
 * (with its State Council notice), or adds regional days off / make-up working days to a known year.
 *
 * ```json
 * {
 *   "years": [{ "year": 2027, "notice": { "number": "…", "title": "…", "published": "2026-11-03" },
 *               "daysOff": [{ "from": "2027-01-01", "name": "New Year's Day (元旦)" }],
 *               "makeUpDays": [{ "date": "2027-02-06", "name": "Spring Festival (春节)" }] }],
 *   "adjustments": [{ "year": 2026, "source": "regional government notice …",
 *                     "daysOff": [{ "from": "2026-03-09", "name": "regional holiday" }] }]
 * }
 * ```
 */
import { readFile } from 'node:fs/promises';
import { Ajv, type ErrorObject } from 'ajv';
import { compileCalendar } from './compile.js';
import { CalendarOverrideInvalid } from './errors.js';
import { CalendarOverrides, DATE_PATTERN, type HolidayYear } from './schema.js';
import { HOLIDAY_TABLE } from './table.js';

const ajv = new Ajv({ allErrors: false, strict: true, verbose: true });
const validate = ajv.compile<CalendarOverrides>(CalendarOverrides);

function describeSchemaError(error: ErrorObject): string {
  const path = error.instancePath || '/';
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `${error.instancePath}/${String(params.missingProperty)}: is required`;
    case 'additionalProperties':
      return `${error.instancePath}/${String(params.additionalProperty)}: is not a known field`;
    case 'pattern':
      return params.pattern === DATE_PATTERN
        ? `${path}: must be a calendar date 'YYYY-MM-DD' (got ${JSON.stringify(error.data)})`
        : `${path}: must match ${String(params.pattern)} (got ${JSON.stringify(error.data)})`;
    default:
      return `${path}: ${error.message ?? 'is invalid'}`;
  }
}

/**
 * Validates parsed override JSON and checks it against the built-in `table` (a year given twice, an
 * adjustment to an unknown year, a date both off and on). `origin` names the input in messages.
 */
export function parseCalendarOverrides(
  value: unknown,
  origin = 'calendar overrides',
  table: readonly HolidayYear[] = HOLIDAY_TABLE,
): CalendarOverrides {
  if (!validate(value)) {
    const error = validate.errors?.[0];
    throw new CalendarOverrideInvalid(`${origin}: ${error ? describeSchemaError(error) : 'is invalid'}`);
  }
  compileCalendar(table, value, origin);
  return value;
}

/** Reads and validates the operator's calendar override file (see the module comment for its shape). */
export async function loadCalendarOverrides(
  path: string,
  table: readonly HolidayYear[] = HOLIDAY_TABLE,
): Promise<CalendarOverrides> {
  const origin = `calendar override file ${path}`;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CalendarOverrideInvalid(`${origin}: cannot be read (${(err as Error).message})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CalendarOverrideInvalid(`${origin}: is not valid JSON (${(err as Error).message})`);
  }
  return parseCalendarOverrides(value, origin, table);
}

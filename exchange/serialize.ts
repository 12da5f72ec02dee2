/**
 * Rows to file text, one page at a time.
 *
 * jsonl: one JSON object per line (LF), properties in catalog order, items absent from a row left out.
 *
 * csv: RFC 4180 — a header row of item names, CRLF line ends, a field quoted when it holds a comma, a
 * double quote, CR or LF, quotes doubled inside. Absent and null values are empty fields; objects and
 * arrays are written as JSON. CSV injection: a text field starting with = + - @ (or tab / CR, which some
 * spreadsheets skip before a formula) is prefixed with an apostrophe, so a spreadsheet shows it as text
 * instead of running it as a formula (OWASP "CSV Injection"). Numbers and booleans are written as they
 * are (a negative number stays a number). A consumer loading the file into a database, not a
 * spreadsheet, strips a leading apostrophe from such fields.
 */
import type { ExchangeFormat } from './schema.js';

export interface Serializer {
  /** Text written once at the start of the file (the CSV header row). */
  readonly preamble: string;
  page(rows: readonly Record<string, unknown>[]): string;
}

export function serializerFor(format: ExchangeFormat, items: readonly string[]): Serializer {
  return format === 'csv' ? csvSerializer(items) : jsonlSerializer();
}

function jsonlSerializer(): Serializer {
  return {
    preamble: '',
    page(rows) {
      let text = '';
      for (const row of rows) text += `${JSON.stringify(row)}\n`;
      return text;
    },
  };
}

const NEEDS_QUOTES = /[",\r\n]/;
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvField(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  let text = typeof value === 'string' ? value : JSON.stringify(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csvSerializer(items: readonly string[]): Serializer {
  const names = [...items];
  return {
    preamble: `${names.map(csvField).join(',')}\r\n`,
    page(rows) {
      let text = '';
      for (const row of rows) {
        let line = '';
        for (let i = 0; i < names.length; i++) {
          if (i > 0) line += ',';
          const name = names[i]!;
          line += csvField(Object.hasOwn(row, name) ? row[name] : undefined);
        }
        text += `${line}\r\n`;
      }
      return text;
    },
  };
}

/**
 * The later of two watermark values: compared as instants when both are ISO date-times, as numbers when
 * both are numeric, otherwise as strings.
 */
export function laterWatermark(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  const [ta, tb] = [watermarkInstant(a), watermarkInstant(b)];
  if (!Number.isNaN(ta) && !Number.isNaN(tb)) {
    return tb > ta || (tb === ta && subMillisecond(b) > subMillisecond(a)) ? b : a;
  }
  const [na, nb] = [Number(a), Number(b)];
  if (NUMERIC.test(a) && NUMERIC.test(b)) return nb > na ? b : a;
  return b > a ? b : a;
}

/**
 * The digits of a date-time's fraction of a second beyond the millisecond, six of them ('000000' when
 * none): Date.parse stops at the millisecond, so .1234 and .12345 would tie and the later be lost.
 */
export function subMillisecond(value: string): string {
  const fraction = /:\d\d\.(\d+)/.exec(value)?.[1] ?? '';
  return fraction.slice(3, 9).padEnd(6, '0');
}

/** Epoch ms of an ISO date or date-time watermark value; NaN for anything else. */
export function watermarkInstant(value: string): number {
  return ISO_LIKE.test(value) ? Date.parse(value) : Number.NaN;
}

const ISO_LIKE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.]+(Z|[+-][0-9:]+)?)?$/;
const NUMERIC = /^-?[0-9]+(\.[0-9]+)?$/;

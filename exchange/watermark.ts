/**
 * The largest watermark value an export has read, value by value, as `laterWatermark` picks it: instants
 * when both values are ISO date-times, numbers when both are numeric, otherwise strings; on a tie the
 * value already held stays.
 *
 * A bulk export compares one value per row, so the usual case skips the parsing: two ISO date-times (or
 * dates) written alike — same length, digits at the same places, the same separators and the same UTC
 * offset, which is how a database column writes every value — are in the same order as strings as in
 * time. (laterWatermark itself falls back to string order when either does not parse, so the string
 * comparison agrees with it then too.)
 */
import { laterWatermark, subMillisecond, watermarkInstant } from './serialize.js';

/** Dates, and date-times with an explicit offset (a local time could repeat across a DST change). */
const COMPARABLE = /^\d{4}-\d\d-\d\d(?:T\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:\d\d))?$/;

const isDigit = (c: number) => c >= 48 && c <= 57;

export class WatermarkMax {
  #max: string | undefined;
  /** Epoch ms of #max, parsed when first needed (NaN: not a date-time). */
  #maxMs: number | undefined;
  /** #max when it is COMPARABLE: the pattern other values are checked against. */
  #template: string | undefined;
  /** The template's UTC offset ("+08:00" or "Z"); '' for a date. */
  #offset = '';

  constructor(current: string | undefined) {
    this.#set(current, undefined);
  }

  get value(): string | undefined {
    return this.#max;
  }

  /** Takes one row's value (null and undefined are no value; a Date is taken as its ISO form). */
  add(raw: unknown): void {
    if (raw === undefined || raw === null) return;
    const value = raw instanceof Date ? raw.toISOString() : String(raw);
    const template = this.#template;
    if (template !== undefined && sameFrame(value, template, this.#offset)) {
      // Not later as a string: not later in time either, or not a date-time (then strings decide).
      if (value <= template) return;
      if (sameShape(value, template)) {
        this.#set(value, undefined);
        return;
      }
    }
    const max = this.#max;
    if (max === undefined) {
      this.#set(value, undefined);
      return;
    }
    if (this.#maxMs === undefined) this.#maxMs = watermarkInstant(max);
    const ms = watermarkInstant(value);
    if (!Number.isNaN(ms) && !Number.isNaN(this.#maxMs)) {
      if (ms > this.#maxMs || (ms === this.#maxMs && subMillisecond(value) > subMillisecond(max))) {
        this.#set(value, ms);
      }
    } else if (laterWatermark(max, value) !== max) {
      this.#set(value, ms);
    }
  }

  #set(value: string | undefined, ms: number | undefined): void {
    this.#max = value;
    this.#maxMs = ms;
    this.#template = value !== undefined && COMPARABLE.test(value) ? value : undefined;
    const n = value?.length ?? 0;
    this.#offset =
      this.#template === undefined || n === 10 ? '' : value!.slice(value!.endsWith('Z') ? n - 1 : n - 6);
  }
}

/**
 * `value` is laid out like `template` (a COMPARABLE value): the same length, the same offset and the same
 * separators in the date and the hour. A value so laid out that is not later as a string is not later
 * at all: if it parses, it is the same kind of date-time; if not, laterWatermark compares strings.
 */
function sameFrame(value: string, template: string, offset: string): boolean {
  const n = template.length;
  return (
    value.length === n &&
    value.charCodeAt(4) === 45 &&
    value.charCodeAt(7) === 45 &&
    (n === 10 || (value.charCodeAt(10) === 84 && value.charCodeAt(13) === 58)) &&
    (offset === '' || value.endsWith(offset))
  );
}

/**
 * `value` (framed like `template`) has digits exactly where `template` has digits and its other
 * characters elsewhere. Hour 24 is left to the parser (24:00 is the next day's 00:00).
 */
function sameShape(value: string, template: string): boolean {
  const n = template.length;
  for (let i = 0; i < n; i++) {
    const t = template.charCodeAt(i);
    const v = value.charCodeAt(i);
    if (isDigit(t) ? !isDigit(v) : v !== t) return false;
  }
  return n === 10 || value.charCodeAt(11) !== 50 || value.charCodeAt(12) !== 52;
}

/**
 * Runs a check plan over a stream of rows and writes the report. Memory stays flat whatever the number of
 * rows: counters, at most five examples per rule, the key hash set (bounded, see key-set.ts) and one
 * batch of keys per consistency rule.
 *
 * Sampling is deterministic: a row is checked when the hash of (seed, key) falls under the ratio, so the
 * same seed picks the same rows on every run and every copy of a duplicated key is picked together.
 * Freshness looks at every row read, sampled or not.
 */
import { randomUUID } from 'node:crypto';
import type { RowError, RowValidation } from '../item-schema.js';
import { hash64, KeyHashSet } from './key-set.js';
import type { ConsistencyRule, QualityPlan } from './plan.js';
import { safeReason } from './reasons.js';
import type {
  Freshness,
  QualityExample,
  QualityReport,
  QualityRuleKind,
  QualityRuleResult,
} from './report.js';

export type Row = Record<string, unknown>;

/**
 * Rows as arrays of the values of `columns`, as a SQL source's COPY reader yields them: checked without an
 * object per row (a row is built as an object only to report a schema violation or to sample a row
 * without a key). Every value of a row is at its column's index; a missing value is `undefined`.
 */
export class ColumnRows {
  constructor(
    readonly columns: readonly string[],
    readonly rows: readonly (readonly unknown[])[],
  ) {}
}

export interface RunQualityOptions {
  /** Check only a deterministic part of the rows. `ratio` in (0, 1]. */
  sample?: { ratio: number; seed: string };
  /** Clock in milliseconds: start, end and the reference of freshness and birth dates. @defaultValue Date.now */
  now?: () => number;
  /** @defaultValue a random UUID */
  id?: string;
  trigger?: 'schedule' | 'manual';
  /** Bound of the uniqueness rule. @defaultValue 4,194,304 keys (≤ 64 MiB) */
  maxUniqueKeys?: number;
  /** Keys per consistency fetch. @defaultValue 500 */
  consistencyBatch?: number;
  /**
   * Rows the source holds without a key (SQL sources count them: pages cannot read them). Each is a
   * violation of rule `key:missing` and counts as a row read and checked.
   */
  missingKeys?: number;
  signal?: AbortSignal;
  /**
   * Told of every row a consistency rule finds in disagreement (the counts and examples are bounded;
   * what the listener keeps is its own bound). Its key is the clear key: hash it before storing it.
   */
  onInconsistency?: (inconsistency: Inconsistency) => void;
}

/** One row on which a consistency rule found the other resource disagreeing. */
export interface Inconsistency {
  rule: ConsistencyRule;
  /** The key value in clear, as the rule's fetch received it. */
  key: string;
  /** The key as reports show it (masked like its item). */
  shownKey: string;
  value: unknown;
  otherValue: unknown;
}

const MAX_EXAMPLES = 5;
/** Watermarks up to this far ahead of the clock are taken as clock skew, not as future rows. */
const CLOCK_SKEW_MS = 5 * 60_000;
const STALE_PENALTY = 20;

class Tally {
  violations = 0;
  readonly examples: QualityExample[] = [];
  constructor(
    readonly rule: string,
    readonly kind: QualityRuleKind,
    readonly item?: string,
  ) {}

  add(example: () => QualityExample): void {
    this.violations++;
    if (this.examples.length < MAX_EXAMPLES) this.examples.push(example());
  }

  result(extra: Partial<QualityRuleResult> = {}): QualityRuleResult {
    const result: QualityRuleResult = {
      rule: this.rule,
      kind: this.kind,
      violations: this.violations,
      examples: this.examples,
    };
    if (this.item !== undefined) result.item = this.item;
    return { ...result, ...extra };
  }
}

interface RowState {
  counted: boolean;
}

interface Pending {
  key: string;
  shownKey: string;
  value: unknown;
  state: RowState;
}

/** Where a page's rows hold what the rules read: column indexes (-1: not a column), resolved once per page shape. */
interface Layout {
  columns: readonly string[];
  watermark: number;
  key: number[];
  identifiers: number[];
  consistency: number[];
  /** The index an object of the row would take the item's value from (the last column of that name). */
  indexOf(name: string): number;
  objectOf(values: readonly unknown[]): Row;
  validate(values: readonly unknown[]): RowValidation;
}

function layoutOf(plan: QualityPlan, columns: readonly string[]): Layout {
  const indexOf = (name: string) => columns.lastIndexOf(name);
  const validate = plan.validateColumns(columns);
  return {
    columns,
    watermark: plan.watermark === undefined ? -1 : indexOf(plan.watermark),
    key: plan.key.map(indexOf),
    identifiers: plan.identifiers.map((r) => indexOf(r.item)),
    consistency: plan.consistency.map((c) => indexOf(c.item)),
    indexOf,
    objectOf(values) {
      const row: Row = {};
      for (let i = 0; i < columns.length; i++) row[columns[i]!] = values[i];
      return row;
    },
    validate,
  };
}

function sameColumns(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * `rows` yields rows, or pages of rows (arrays of objects, or `ColumnRows`), which saves an asynchronous
 * step per row: a connector's pages can be passed as they come.
 */
export async function runQualityCheck(
  plan: QualityPlan,
  rows: AsyncIterable<Row | readonly Row[] | ColumnRows> | Iterable<Row | readonly Row[] | ColumnRows>,
  options: RunQualityOptions = {},
): Promise<QualityReport> {
  const now = options.now ?? Date.now;
  const startedMs = now();
  const today = new Date(startedMs);
  const sample = options.sample;
  if (sample && !(sample.ratio > 0 && sample.ratio <= 1))
    throw new RangeError('sample ratio must be in (0, 1]');
  const threshold = sample ? sample.ratio * 2 ** 32 : 0;
  const batchSize = options.consistencyBatch ?? 500;

  const schema = new Map<string, Tally>();
  for (const name of plan.items.keys()) schema.set(name, new Tally(`schema:${name}`, 'schema', name));
  const schemaRow = new Tally('schema:row', 'schema');
  const identifiers = plan.identifiers.map((r) => ({ ...r, tally: new Tally(r.rule, 'identifier', r.item) }));
  const dates = new Map(plan.dates.map((d) => [d.item, new Tally(d.rule, 'date', d.item)]));
  const unique = new Tally('unique:key', 'unique');
  const keys = new KeyHashSet(options.maxUniqueKeys);
  const consistency = plan.consistency.map((c) => ({
    rule: c,
    tally: new Tally(c.rule, 'consistency', c.item),
    pending: [] as Pending[],
    unmatched: 0,
    unread: 0,
    error: undefined as string | undefined,
  }));

  let rowsRead = 0;
  let rowsChecked = 0;
  let rowsWithViolations = 0;
  let newestMs = Number.NEGATIVE_INFINITY;
  let newest: string | undefined;
  let futureRows = 0;
  const latestAcceptable = startedMs + CLOCK_SKEW_MS;

  const shownKeyOf = (values: readonly unknown[], layout: Layout) =>
    layout.key.map((at, k) => plan.showValue(plan.key[k]!, values[at]) ?? '∅').join(' | ');

  /** One row: `values` in the layout's columns; `object`, the row itself when it came as an object. */
  const checkRow = (values: readonly unknown[], layout: Layout, object: Row | undefined): void => {
    rowsRead++;
    if ((rowsRead & 1023) === 0) options.signal?.throwIfAborted();
    if (layout.watermark >= 0) {
      const value = values[layout.watermark];
      const ms = typeof value === 'string' ? watermarkMs(value) : Number.NaN;
      if (ms > latestAcceptable) futureRows++;
      else if (ms > newestMs) {
        newestMs = ms;
        newest = value as string;
      }
    }
    const key = keyOf(values, layout.key);
    if (sample) {
      const text = key ?? JSON.stringify(object ?? layout.objectOf(values));
      if (hash64(`${sample.seed}\u0000${text}`)[0] >= threshold) return;
    }
    rowsChecked++;
    let bad = false;

    const validation = object ? plan.validateRow(object) : layout.validate(values);
    if (!validation.valid) {
      const itemValue = (item: string) => (object ? object[item] : values[layout.indexOf(item)]);
      const seen = new Set<Tally>();
      for (const error of validation.errors) {
        const tally = schemaTally(error, itemValue(error.item), schema, dates, schemaRow);
        if (seen.has(tally)) continue;
        seen.add(tally);
        tally.add(() =>
          example(
            shownKeyOf(values, layout),
            error.item,
            plan.items.has(error.item) ? plan.showValue(error.item, itemValue(error.item)) : undefined,
            error.message,
          ),
        );
      }
      bad = true;
    }
    for (let i = 0; i < identifiers.length; i++) {
      const value = values[layout.identifiers[i]!];
      if (typeof value !== 'string' || value === '') continue;
      const id = identifiers[i]!;
      const result = id.check(value, today);
      if (result.ok) continue;
      id.tally.add(() =>
        example(
          shownKeyOf(values, layout),
          id.item,
          plan.showValue(id.item, value),
          safeReason(id.kind, result),
        ),
      );
      bad = true;
    }
    if (key !== undefined) {
      if (!keys.addText(key)) {
        unique.add(() => ({ key: shownKeyOf(values, layout), reason: 'the key appears more than once' }));
        bad = true;
      }
    }
    if (bad) rowsWithViolations++;
    if (consistency.length > 0 && key !== undefined) {
      const state: RowState = { counted: bad };
      for (let i = 0; i < consistency.length; i++) {
        const value = values[layout.consistency[i]!];
        if (value === null || value === undefined) continue;
        consistency[i]!.pending.push({ key, shownKey: shownKeyOf(values, layout), value, state });
      }
    }
  };
  /** Fetches the batches of the consistency rules that are full. */
  const settleFull = async () => {
    for (const c of consistency)
      if (c.pending.length >= batchSize) rowsWithViolations += await settle(c, plan, options.onInconsistency);
  };

  const objectLayout = layoutOf(plan, [...plan.items.keys()]);
  let columnLayout: Layout | undefined;
  for await (const item of rows) {
    if (item instanceof ColumnRows) {
      if (columnLayout === undefined || !sameColumns(columnLayout.columns, item.columns))
        columnLayout = layoutOf(plan, item.columns);
      for (const values of item.rows) {
        checkRow(values, columnLayout, undefined);
        if (consistency.length > 0) await settleFull();
      }
      continue;
    }
    const page: readonly Row[] = Array.isArray(item) ? item : [item as Row];
    for (const row of page) {
      checkRow(
        objectLayout.columns.map((name) => row[name]),
        objectLayout,
        row,
      );
      if (consistency.length > 0) await settleFull();
    }
  }
  for (const c of consistency) rowsWithViolations += await settle(c, plan, options.onInconsistency);
  const missingKeys = options.missingKeys ?? 0;
  rowsRead += missingKeys;
  // A sample checks its share of the keyless rows too, or they would weigh ratio⁻¹ times too much.
  const missingChecked = sample ? Math.round(missingKeys * sample.ratio) : missingKeys;
  rowsChecked += missingChecked;
  rowsWithViolations += missingChecked;

  const finishedMs = now();
  const freshness = freshnessOf(plan, newest, newestMs, futureRows, finishedMs);
  const rowPart = rowsChecked === 0 ? 100 : (100 * (rowsChecked - rowsWithViolations)) / rowsChecked;
  const score = Math.max(0, Math.floor((rowPart - (freshness.stale ? STALE_PENALTY : 0)) * 100) / 100);

  const rules: QualityRuleResult[] = [
    ...[...schema.values()].map((t) => t.result()),
    schemaRow.result(),
    ...identifiers.map((i) => i.tally.result()),
    ...[...dates.values()].map((t) => t.result()),
  ];
  if (options.missingKeys !== undefined && plan.key.length > 0) {
    rules.push({
      rule: 'key:missing',
      kind: 'schema',
      item: plan.key.join(', '),
      violations: missingKeys,
      examples: [],
      ...(missingKeys > 0
        ? { note: 'rows without a key value cannot be looked up, paged or exported; they are not shown' }
        : {}),
    });
  }
  if (plan.key.length > 0) {
    rules.push(
      unique.result(
        keys.partial
          ? { partial: true, note: `only the first ${keys.maxKeys} distinct keys were remembered` }
          : {},
      ),
    );
  }
  for (const c of consistency) {
    const notes = [
      ...(c.unmatched > 0 ? [`${c.unmatched} keys not found in ${c.rule.otherResource}`] : []),
      ...(c.unread > 0
        ? [`${c.unread} keys not compared: ${c.rule.otherResource} could not be read (${c.error})`]
        : []),
    ];
    rules.push(
      c.tally.result({
        ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
        ...(c.unread > 0 ? { partial: true } : {}),
      }),
    );
  }
  if (freshness.checked) {
    const result: QualityRuleResult = {
      rule: 'freshness',
      kind: 'freshness',
      violations: freshness.stale ? 1 : 0,
      examples: [],
    };
    if (plan.watermark) result.item = plan.watermark;
    if (freshness.reason) result.note = freshness.reason;
    rules.push(result);
  }

  const report: QualityReport = {
    id: options.id ?? randomUUID(),
    resource: plan.resource,
    version: plan.version,
    startedAt: new Date(startedMs).toISOString(),
    finishedAt: new Date(finishedMs).toISOString(),
    rowsRead,
    rowsChecked,
    rowsWithViolations,
    score,
    rules,
    freshness,
  };
  if (options.trigger) report.trigger = options.trigger;
  if (sample) report.sample = { ratio: sample.ratio, seed: sample.seed };
  return report;
}

/** The key as one string (JSON of the values for a composite key); undefined when a key item has no value. */
function keyOf(values: readonly unknown[], key: readonly number[]): string | undefined {
  if (key.length === 1) {
    const value = values[key[0]!];
    return value === null || value === undefined ? undefined : String(value);
  }
  const keyValues = key.map((at) => values[at]);
  return keyValues.some((v) => v === null || v === undefined) ? undefined : JSON.stringify(keyValues);
}

function schemaTally(
  error: RowError,
  value: unknown,
  schema: Map<string, Tally>,
  dates: Map<string, Tally>,
  schemaRow: Tally,
): Tally {
  // A D or T item holding a string fails only on its format: that is the date rule.
  const date = dates.get(error.item);
  if (date && typeof value === 'string') return date;
  return schema.get(error.item) ?? schemaRow;
}

function example(key: string, item: string, value: string | undefined, reason: string): QualityExample {
  const result: QualityExample = { key, item, reason };
  if (value !== undefined) result.value = value;
  return result;
}

const normalise = (value: unknown) => (typeof value === 'string' ? value.trim() : JSON.stringify(value));

/** Fetches the other resource's values for the pending keys and counts disagreements; returns rows newly in violation. */
async function settle(
  c: {
    rule: ConsistencyRule;
    tally: Tally;
    pending: Pending[];
    unmatched: number;
    unread: number;
    error: string | undefined;
  },
  plan: QualityPlan,
  onInconsistency: RunQualityOptions['onInconsistency'],
): Promise<number> {
  if (c.pending.length === 0) return 0;
  const batch = c.pending.splice(0);
  let others: Map<string, unknown>;
  try {
    others = await c.rule.fetch([...new Set(batch.map((p) => p.key))]);
  } catch (error) {
    // The other resource is another provider's: its outage leaves these keys uncompared, the rest of
    // the check stands (the rule is marked partial).
    c.unread += batch.length;
    // Its code only: a message could quote a key value.
    const code = (error as { code?: unknown }).code;
    c.error ??= typeof code === 'string' ? code : 'lookup failed';
    return 0;
  }
  let newlyBad = 0;
  for (const p of batch) {
    if (!others.has(p.key)) {
      c.unmatched++;
      continue;
    }
    const other = others.get(p.key);
    if (other === null || other === undefined || normalise(other) === normalise(p.value)) continue;
    onInconsistency?.({ rule: c.rule, key: p.key, shownKey: p.shownKey, value: p.value, otherValue: other });
    c.tally.add(() =>
      example(
        p.shownKey,
        c.rule.item,
        plan.showValue(c.rule.item, p.value),
        `differs from ${c.rule.otherItem} in ${c.rule.otherResource}`,
      ),
    );
    if (!p.state.counted) {
      p.state.counted = true;
      newlyBad++;
    }
  }
  return newlyBad;
}

function freshnessOf(
  plan: QualityPlan,
  newest: string | undefined,
  newestMs: number,
  futureRows: number,
  nowMs: number,
): Freshness {
  if (plan.watermark === undefined)
    return { checked: false, stale: false, reason: 'the resource has no watermark item' };
  const base: Freshness = { checked: plan.maxAgeMs !== undefined, stale: false, watermark: plan.watermark };
  if (newest !== undefined) {
    base.newest = newest;
    base.ageSeconds = Math.max(0, Math.floor((nowMs - newestMs) / 1000));
  }
  if (futureRows > 0) base.futureRows = futureRows;
  if (plan.maxAgeMs === undefined)
    return { ...base, reason: `update cycle "${plan.updateCycle}" sets no limit` };
  base.maxAgeSeconds = plan.maxAgeMs / 1000;
  if (newest === undefined) return { ...base, stale: true, reason: 'no row has a watermark value' };
  if (nowMs - newestMs > plan.maxAgeMs) {
    return {
      ...base,
      stale: true,
      reason: `newest row is older than the "${plan.updateCycle}" update cycle allows`,
    };
  }
  return base;
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const HAS_ZONE = /(?:Z|[+-]\d{2}:?\d{2})$/;

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Epoch ms of an RFC 3339 date-time with a zone, as the COPY reader writes timestamptz values
 * (`2025-03-01T09:30:00.123456+00:00`), read from its characters: what `Date.parse` gives for it (the
 * fraction cut to milliseconds), without the parse per row. NaN for anything else, also a value
 * `Date.parse` would read (a day the month does not have, hour 24, a year before 1000): the caller then
 * falls back to it, so the result is always `Date.parse`'s.
 */
export function isoInstantMs(value: string): number {
  const n = value.length;
  if (n < 20 || value.charCodeAt(4) !== 45 || value.charCodeAt(7) !== 45) return Number.NaN;
  if (value.charCodeAt(10) !== 84 || value.charCodeAt(13) !== 58 || value.charCodeAt(16) !== 58)
    return Number.NaN;
  const year = digits(value, 0, 4);
  const month = digits(value, 5, 2);
  const day = digits(value, 8, 2);
  const hour = digits(value, 11, 2);
  const minute = digits(value, 14, 2);
  const second = digits(value, 17, 2);
  if (year < 1000 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23) return Number.NaN;
  if (minute < 0 || minute > 59 || second < 0 || second > 59) return Number.NaN;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && leap ? 29 : DAYS_IN_MONTH[month]!)) return Number.NaN;
  let at = 19;
  let ms = 0;
  if (value.charCodeAt(at) === 46) {
    at++;
    const start = at;
    while (at < n) {
      const d = value.charCodeAt(at) - 48;
      if (!(d >= 0 && d <= 9)) break;
      if (at - start < 3) ms = ms * 10 + d;
      at++;
    }
    const count = at - start;
    if (count === 0) return Number.NaN;
    if (count === 1) ms *= 100;
    else if (count === 2) ms *= 10;
  }
  let offset = 0;
  const zone = value.charCodeAt(at);
  if (zone === 90 && at + 1 === n) offset = 0;
  else if ((zone === 43 || zone === 45) && at + 6 === n && value.charCodeAt(at + 3) === 58) {
    const oh = digits(value, at + 1, 2);
    const om = digits(value, at + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return Number.NaN;
    offset = (zone === 45 ? -1 : 1) * (oh * 60 + om) * 60_000;
  } else return Number.NaN;
  return (
    daysFromCivil(year, month, day) * 86_400_000 + ((hour * 60 + minute) * 60 + second) * 1000 + ms - offset
  );
}

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

/**
 * Days from 1970-01-01 to a proleptic Gregorian date (what `Date.UTC` counts), in integer arithmetic
 * (H. Hinnant's days_from_civil), for years from 1000.
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/**
 * Epoch ms of a watermark value. A date, or a date-time without a zone, is a China Standard Time value
 * (the providers' clocks): read as UTC, a row dated the day of an early-morning check would be "future".
 */
function watermarkMs(value: string): number {
  const fast = isoInstantMs(value);
  if (!Number.isNaN(fast)) return fast;
  if (DATE_ONLY.test(value)) return Date.parse(`${value}T00:00:00+08:00`);
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(value) && !HAS_ZONE.test(value)) {
    return Date.parse(`${value.replace(' ', 'T')}+08:00`);
  }
  return Date.parse(value);
}

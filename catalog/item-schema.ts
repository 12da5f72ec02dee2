/**
 * The items of an entry as a JSON Schema for one data row, and a validator compiled from it once per
 * resource version (rows of a version are checked many times: bulk exchange, quality re-checks).
 * Key and required items must hold a value; every other item may be null or absent.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import { isCommonDate, isCommonDateTime } from './formats.js';
import type { Item, ResourceEntry } from './schema.js';
import { allErrorsAjv } from './validation.js';

export interface RowError {
  /** The item the error is about ('' for the row as a whole). */
  item: string;
  message: string;
}

export interface RowValidation {
  valid: boolean;
  errors: RowError[];
}

export type RowValidator = (row: unknown) => RowValidation;

/** Validates a row given as the values of a fixed list of columns (see `columnsValidator`). */
export type ValuesValidator = (values: readonly unknown[]) => RowValidation;

export interface RowJsonSchema {
  type: 'object';
  title: string;
  properties: Record<string, Record<string, unknown>>;
  required: string[];
  additionalProperties: false;
}

const JSON_TYPE: Record<string, 'string' | 'number' | 'integer' | 'boolean'> = {
  C: 'string',
  M: 'string',
  G: 'string',
  D: 'string',
  T: 'string',
  N: 'number',
  Y: 'number',
  B: 'number',
  F: 'number',
  I: 'integer',
  L: 'boolean',
};

const KIND_TEXT: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
  date: 'a date (YYYY-MM-DD)',
  'date-time': 'a date-time with zone (e.g. 2025-03-01T09:30:00+08:00)',
};

const mustHaveValue = (item: Item) => item.key === true || item.required === true;

function itemSchema(item: Item): Record<string, unknown> {
  const type = JSON_TYPE[item.dataType]!;
  const schema: Record<string, unknown> = {
    type: mustHaveValue(item) ? type : [type, 'null'],
    title: item.label,
  };
  if (item.dataType === 'D') schema.format = 'date';
  else if (item.dataType === 'T') schema.format = 'date-time';
  else if (type === 'string' && item.length !== undefined) schema.maxLength = item.length;
  return schema;
}

/** The JSON Schema of one data row of the entry. */
export function rowJsonSchema(entry: ResourceEntry): RowJsonSchema {
  return {
    type: 'object',
    title: `${entry.code} ${entry.name}`,
    properties: Object.fromEntries(entry.items.map((item) => [item.name, itemSchema(item)])),
    required: entry.items.filter(mustHaveValue).map((item) => item.name),
    additionalProperties: false,
  };
}

interface Compiled {
  schema: RowJsonSchema;
  validate: ValidateFunction;
  items: Map<string, Item>;
  /** One validator per item's own schema, compiled when a column validator first needs it. */
  itemValidators?: Map<string, ValidateFunction>;
}

const MAX_CACHED = 1000;
const cache = new Map<string, Compiled>();

function compiled(entry: ResourceEntry, version: number): Compiled {
  const key = `${entry.code}@${version}`;
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const schema = rowJsonSchema(entry);
  const result = {
    schema,
    validate: allErrorsAjv.compile(schema),
    items: new Map(entry.items.map((item) => [item.name, item])),
  };
  cache.set(key, result);
  if (cache.size > MAX_CACHED) {
    const [oldestKey, oldest] = cache.entries().next().value!;
    cache.delete(oldestKey);
    allErrorsAjv.removeSchema(oldest.schema);
    for (const name of oldest.itemValidators?.keys() ?? [])
      allErrorsAjv.removeSchema(oldest.schema.properties[name]!);
  }
  return result;
}

/**
 * A validator of data rows for one version of an entry, compiled once and cached by code and version
 * (a version's items never change once saved for publication).
 */
export function rowValidator(entry: ResourceEntry, version: number): RowValidator {
  const { validate, items } = compiled(entry, version);
  return (row) => {
    if (validate(row)) return { valid: true, errors: [] };
    return { valid: false, errors: (validate.errors ?? []).map((e) => rowError(e, items, entry.code)) };
  };
}

const VALID: RowValidation = Object.freeze({
  valid: true,
  errors: Object.freeze([]) as unknown as RowError[],
});

/**
 * A sound shortcut of an item's schema: true only for values the schema accepts, and for the values rows
 * usually hold. Strings within `maxLength` UTF-16 code units are within it in code points (what ajv
 * counts); dates and date-times in their common forms are read from their characters (./formats.ts).
 */
function fastAccept(item: Item): (value: unknown) => boolean {
  const nullable = !mustHaveValue(item);
  const type = JSON_TYPE[item.dataType]!;
  let accept: (value: unknown) => boolean;
  if (item.dataType === 'D') accept = (v) => typeof v === 'string' && isCommonDate(v);
  else if (item.dataType === 'T') accept = (v) => typeof v === 'string' && isCommonDateTime(v);
  else if (type === 'string') {
    const max = item.length;
    accept =
      max === undefined ? (v) => typeof v === 'string' : (v) => typeof v === 'string' && v.length <= max;
  } else if (type === 'boolean') accept = (v) => typeof v === 'boolean';
  else if (type === 'integer') accept = (v) => Number.isSafeInteger(v);
  else accept = (v) => typeof v === 'number' && Number.isFinite(v);
  return nullable ? (v) => v === null || accept(v) : accept;
}

/**
 * A validator of rows given as arrays of the values of `columns` (what a SQL source's COPY reader yields),
 * with the answer `rowValidator` gives for the object of those columns, but no object per row: each value
 * is checked on its own against its item's schema (a shortcut first, then the item's compiled ajv
 * validator), and only a row that fails is built as an object and validated whole, for ajv's exact errors.
 * Columns that are not items, a column named twice or a key or required item without a column make every
 * row go the whole way (such rows fail anyway).
 */
export function columnsValidator(
  entry: ResourceEntry,
  version: number,
  columns: readonly string[],
): ValuesValidator {
  const whole = compiled(entry, version);
  const validateRow = rowValidator(entry, version);
  const objectOf = (values: readonly unknown[]) => {
    const row: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) row[columns[i]!] = values[i];
    return row;
  };
  const complete =
    new Set(columns).size === columns.length &&
    columns.every((name) => whole.items.has(name)) &&
    entry.items.every((item) => !mustHaveValue(item) || columns.includes(item.name));
  if (!complete) return (values) => validateRow(objectOf(values));
  whole.itemValidators ??= new Map();
  const validators = whole.itemValidators;
  const checks = columns.map((name) => {
    let validate = validators.get(name);
    if (!validate) {
      validate = allErrorsAjv.compile(whole.schema.properties[name]!);
      validators.set(name, validate);
    }
    return { fast: fastAccept(whole.items.get(name)!), validate };
  });
  const count = checks.length;
  return (values) => {
    for (let i = 0; i < count; i++) {
      const check = checks[i]!;
      const value = values[i];
      if (!check.fast(value) && !check.validate(value)) return validateRow(objectOf(values));
    }
    return VALID;
  };
}

function rowError(error: ErrorObject, items: Map<string, Item>, code: string): RowError {
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'required') {
    const name = String(params.missingProperty);
    return {
      item: name,
      message: items.get(name)?.key ? 'is a key item and must have a value' : 'must have a value',
    };
  }
  if (error.keyword === 'additionalProperties') {
    return { item: String(params.additionalProperty), message: `is not an item of resource ${code}` };
  }
  const name = error.instancePath.slice(1).replace(/~1/g, '/').replace(/~0/g, '~');
  const item = items.get(name);
  if (!item)
    return { item: name, message: name === '' ? 'a row must be a JSON object' : (error.message ?? '') };
  const nullable = !mustHaveValue(item) ? ' or null' : '';
  switch (error.keyword) {
    case 'type':
      return { item: name, message: `must be ${KIND_TEXT[JSON_TYPE[item.dataType]!]}${nullable}` };
    case 'format':
      return {
        item: name,
        message: `must be ${KIND_TEXT[String(params.format)] ?? error.message}${nullable}`,
      };
    case 'maxLength':
      return { item: name, message: `must be at most ${item.length} characters long` };
    default:
      return { item: name, message: error.message ?? 'is invalid' };
  }
}

/**
 * The items of an entry as a JSON Schema for one data row, and a validator compiled from it once per
 * resource version (rows of a version are checked many times: bulk exchange, quality re-checks).
 * Key and required items must hold a value; every other item may be null or absent.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
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

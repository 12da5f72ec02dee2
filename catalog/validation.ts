/**
 * The catalog's ajv instances and the wording of their errors. TypeBox unions of literals compile to
 * `anyOf` of `const`, whose raw ajv errors ("must be equal to constant") do not say what is allowed;
 * `describeFirstError` folds them into "must be one of …".
 */
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS with a `default` property; under NodeNext the default import is the module.
const addFormats = addFormatsModule.default;

/** Stops at the first error: for entries and files, where one precise message is wanted. */
export const firstErrorAjv = addFormats(new Ajv({ allErrors: false, strict: true }));

/** Reports every error: for data rows, where a provider wants the whole list at once. */
export const allErrorsAjv = addFormats(new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }));

/** "<pointer> <message>" for the first error of a failed validation. */
export function describeFirstError(errors: ErrorObject[] | null | undefined): string {
  const first = errors?.[0];
  if (!first) return '/ is invalid';
  return `${first.instancePath || '/'} ${describeError(first, errors!)}`;
}

/** The message of one error, with allowed values and property names spelled out. */
export function describeError(error: ErrorObject, all: ErrorObject[]): string {
  if (error.keyword === 'const' || error.keyword === 'anyOf') {
    const allowed = all
      .filter((e) => e.keyword === 'const' && e.instancePath === error.instancePath)
      .map((e) => JSON.stringify((e.params as { allowedValue: unknown }).allowedValue));
    if (allowed.length === 1) return `must be ${allowed[0]}`;
    if (allowed.length > 1) return `must be one of ${allowed.join(', ')}`;
  }
  if (error.keyword === 'additionalProperties') {
    const name = (error.params as { additionalProperty: string }).additionalProperty;
    return `must not have the property "${name}"`;
  }
  return error.message ?? 'is invalid';
}

/**
 * Names that end up in SQL text. Catalog item names and table names are validated by the catalog schema
 * already; they are checked again here, at the one place where they become SQL, and then always quoted
 * by the dialect (a reserved word such as `order` is a valid item name). Anything else is refused, never
 * escaped: a name with a quote, a space or a non-ASCII letter is a configuration error, not data.
 */
import { connectorErrors } from '../errors.js';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export interface TableRef {
  schema?: string;
  name: string;
}

export function isSqlIdentifier(name: unknown): name is string {
  return typeof name === 'string' && IDENTIFIER.test(name);
}

/** The name itself when it is a plain identifier (letters, digits, underscore; at most 63). */
export function checkIdentifier(name: unknown, what: string): string {
  if (isSqlIdentifier(name)) return name;
  throw new connectorErrors.CONNECTOR_CONFIG_INVALID(
    `${what} must be a plain SQL identifier (a letter or _, then letters, digits or _; at most 63 characters)`,
  );
}

/** `table` or `schema.table`, each part a plain identifier. */
export function parseTableRef(table: unknown): TableRef {
  if (typeof table !== 'string') {
    throw new connectorErrors.CONNECTOR_CONFIG_INVALID('a sql data service needs a table (or view) name');
  }
  const parts = table.split('.');
  if (parts.length === 1) return { name: checkIdentifier(parts[0], 'the table name') };
  if (parts.length === 2) {
    return {
      schema: checkIdentifier(parts[0], 'the schema of the table'),
      name: checkIdentifier(parts[1], 'the table name'),
    };
  }
  throw new connectorErrors.CONNECTOR_CONFIG_INVALID('the table must be "table" or "schema.table"');
}

/**
 * PostgreSQL SQL text. Keysets use row comparison, `(a, b) > ($1, $2)`, which PostgreSQL evaluates as
 * one lexicographic comparison and can answer from a b-tree index on (a, b); the ORDER BY lists the same
 * columns in the same order, so the page order and the cursor condition always agree (same collation).
 */
import type { CopyQuery, PageQuery, ReadShape, SqlDialect, SqlStatement } from './dialect.js';
import { checkIdentifier } from './identifiers.js';

function quote(name: string): string {
  // Names are plain identifiers (checked again here), so quoting never needs escaping.
  return `"${checkIdentifier(name, 'a column or table name')}"`;
}

function from(shape: ReadShape): string {
  return shape.table.schema
    ? `${quote(shape.table.schema)}.${quote(shape.table.name)}`
    : quote(shape.table.name);
}

function select(shape: ReadShape): string {
  return `SELECT ${shape.columns.map(quote).join(', ')} FROM ${from(shape)}`;
}

/** Rows a keyset can address: every key column holds a value (a NULL compares as unknown). */
function keyed(shape: ReadShape): string[] {
  return shape.key.map((k) => `${quote(k)} IS NOT NULL`);
}

/**
 * The SELECT of a read, ordered, without its LIMIT: each value is written by `bind` (a `$n` parameter for
 * a page, an escaped literal for COPY, which takes no parameters). `equals` adds text comparisons.
 */
function readText(shape: ReadShape, query: CopyQuery, bind: (value: unknown) => string): string {
  const order = [...(query.incremental ? [query.incremental.watermark] : []), ...shape.key];
  const where = keyed(shape);
  if (query.incremental)
    where.push(`${quote(query.incremental.watermark)} > ${bind(query.incremental.since)}`);
  if (query.after) {
    const position = [...(query.incremental ? [query.after.watermark] : []), ...query.after.key];
    where.push(`(${order.map(quote).join(', ')}) > (${position.map(bind).join(', ')})`);
  }
  if (query.until) {
    const position = [...(query.incremental ? [query.until.watermark] : []), ...query.until.key];
    where.push(`(${order.map(quote).join(', ')}) <= (${position.map(bind).join(', ')})`);
  }
  for (const { column, value } of query.equals ?? []) where.push(`${quote(column)}::text = ${bind(value)}`);
  return (
    `${select(shape)}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}` +
    ` ORDER BY ${order.map(quote).join(', ')}`
  );
}

export const postgresDialect: SqlDialect = {
  name: 'postgres',
  quoteIdentifier: quote,

  lookup(shape, keyColumn, values) {
    // One array parameter whatever the number of values: one statement text, one plan.
    return { text: `${select(shape)} WHERE ${quote(keyColumn)} = ANY($1)`, values: [values] };
  },

  page(shape: ReadShape, query: PageQuery): SqlStatement {
    const values: unknown[] = [];
    const text = readText(shape, query, (value) => {
      values.push(value);
      return `$${values.length}`;
    });
    values.push(query.limit);
    return { text: `${text} LIMIT $${values.length}`, values };
  },

  copySelect(shape: ReadShape, query: CopyQuery, literal: (value: unknown) => string): string {
    return readText(shape, query, literal);
  },

  rowsAt(shape, columns, values, limit) {
    const params = values.map((_, i) => `$${i + 1}`);
    return {
      text:
        `${select(shape)} WHERE (${columns.map(quote).join(', ')}) = (${params.join(', ')})` +
        ` ORDER BY ${columns.map(quote).join(', ')} LIMIT $${values.length + 1}`,
      values: [...values, limit],
    };
  },

  count(shape, incremental, equals = []) {
    const values: unknown[] = [];
    const param = (value: unknown) => {
      values.push(value);
      return `$${values.length}`;
    };
    const where = keyed(shape);
    if (incremental) where.push(`${quote(incremental.watermark)} > ${param(incremental.since)}`);
    for (const { column, value } of equals) where.push(`${quote(column)}::text = ${param(value)}`);
    const condition = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
    return { text: `SELECT count(*) AS n FROM ${from(shape)}${condition}`, values };
  },

  splitPoints(shape, incremental, every) {
    const order = [...(incremental ? [incremental.watermark] : []), ...shape.key].map(quote);
    const where = keyed(shape);
    if (incremental) where.push(`${quote(incremental.watermark)} > $1`);
    const values: unknown[] = incremental ? [incremental.since] : [];
    values.push(every);
    // n numbers the rows in one streaming pass; a point in the last position would end an empty last
    // part, so a point needs a later position, found by one index probe per point (counting the
    // positions, max(dense_rank()) OVER (), held the whole read in a tuplestore: 2.3 times slower).
    const cols = order.join(', ');
    const numbered = order.map((c) => `numbered.${c}`).join(', ');
    const text =
      `SELECT ${cols} FROM (SELECT ${cols}, row_number() OVER w AS n FROM ${from(shape)}` +
      ` WHERE ${where.join(' AND ')} WINDOW w AS (ORDER BY ${cols})) AS numbered` +
      ` WHERE n % $${values.length} = 0 AND EXISTS (SELECT 1 FROM ${from(shape)} AS later` +
      ` WHERE ${where.join(' AND ')} AND (${cols}) > (${numbered})) ORDER BY ${cols}`;
    return { text, values };
  },

  missingKeys(shape) {
    if (shape.key.length === 0) return { text: 'SELECT 0 AS n', values: [] };
    const anyNull = shape.key.map((k) => `${quote(k)} IS NULL`).join(' OR ');
    return { text: `SELECT count(*) AS n FROM ${from(shape)} WHERE ${anyNull}`, values: [] };
  },

  statementTimeout(ms) {
    return { text: "SELECT set_config('statement_timeout', $1, false)", values: [`${Math.floor(ms)}ms`] };
  },
};

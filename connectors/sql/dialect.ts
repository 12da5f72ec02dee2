/**
 * What differs between database products, so that the connector itself is product-agnostic:
 * - a dialect writes the SQL text (identifier quoting, placeholders, keyset and watermark conditions,
 *   the statement timeout setting), always with the values as parameters, never in the text;
 * - a driver runs statements on a pool of connections to one source and turns the product's failures
 *   into the connectors' errors.
 * PostgreSQL is implemented (postgres-dialect.ts, postgres-driver.ts). MySQL follows the same interfaces:
 * backtick quoting, `?` placeholders, `IN (?, …)` instead of `= ANY($1)`, row comparison for keysets
 * (supported since 5.7), `SET SESSION max_execution_time` for the timeout, and `rowsAsArray` (mysql2) for
 * `queryArrays`.
 */
import type { Row } from '../types.js';
import type { TableRef } from './identifiers.js';

export type SqlDialectName = 'postgres';

/** A table or view as the connector reads it; every name already checked by identifiers.ts. */
export interface ReadShape {
  table: TableRef;
  /** Columns selected, in catalog item order. */
  columns: readonly string[];
  /** Columns of the key, in catalog order: the order of a full read and the tie-breaker of an incremental one. */
  key: readonly string[];
}

export interface SqlStatement {
  text: string;
  values: unknown[];
}

export interface PageQuery {
  /** Most rows to fetch. */
  limit: number;
  /** Incremental read: only rows whose `watermark` column is later than `since`; ordered by (watermark, key). */
  incremental?: { watermark: string; since: unknown };
  /** Keyset position of the last row already returned: the key values, and its watermark when incremental. */
  after?: { key: readonly unknown[]; watermark?: unknown };
  /** Last keyset position to read, inclusive (the end of a part of a read; see `splitPoints`). */
  until?: { key: readonly unknown[]; watermark?: unknown };
}

/** A whole read streamed by COPY: the conditions of a page without its limit, and text equalities. */
export interface CopyQuery extends Omit<PageQuery, 'limit'> {
  /** Rows whose column, as text, equals the value (a pre-filter: see connector.ts `copyPages`). */
  equals?: readonly { column: string; value: string }[];
}

export interface SqlDialect {
  readonly name: SqlDialectName;
  quoteIdentifier(name: string): string;
  /** Rows whose `keyColumn` equals one of `values`. */
  lookup(shape: ReadShape, keyColumn: string, values: readonly string[]): SqlStatement;
  /** One keyset page (full read ordered by the key, or incremental ordered by watermark then key). */
  page(shape: ReadShape, query: PageQuery): SqlStatement;
  /**
   * The ordered SELECT of a whole read (a page's conditions, no limit) for `COPY (…) TO STDOUT`, which
   * takes no parameters: each value is written by `literal`, the driver's escaping.
   */
  copySelect(shape: ReadShape, query: CopyQuery, literal: (value: unknown) => string): string;
  /** Rows whose `columns` equal `values` (a group of rows sharing one keyset position), at most `limit`. */
  rowsAt(
    shape: ReadShape,
    columns: readonly string[],
    values: readonly unknown[],
    limit: number,
  ): SqlStatement;
  /** Number of rows a read would return in all (the conditions of `page` without the keyset part, and `equals`). */
  count(
    shape: ReadShape,
    incremental?: { watermark: string; since: unknown },
    equals?: CopyQuery['equals'],
  ): SqlStatement;
  /**
   * The order positions (watermark and key values) of every `every`-th row of a read, last row excepted:
   * the ends of its parts when it is cut into parts of `every` rows. A part ends after the whole group of
   * rows sharing its end position, so a group is never split.
   */
  splitPoints(
    shape: ReadShape,
    incremental: { watermark: string; since: unknown } | undefined,
    every: number,
  ): SqlStatement;
  /** Number of rows with a NULL in a key column: pages cannot address them, so they are never read. */
  missingKeys(shape: ReadShape): SqlStatement;
  /** Sets the session's statement timeout; the driver runs it when a connection's setting differs. */
  statementTimeout(ms: number): SqlStatement;
}

export interface QueryOptions {
  /** Statement timeout for this query, enforced by the server (and by the driver as a guard). */
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * A pool of connections to one source. `query` throws the connectors' provider errors
 * (UPSTREAM_UNAVAILABLE, UPSTREAM_TIMEOUT, UPSTREAM_REJECTED, UPSTREAM_BAD_RESPONSE) or
 * SQL_PARAMETER_INVALID, with messages that carry neither the password nor any value.
 */
export interface SqlDriver {
  readonly dialect: SqlDialect;
  /** host:port of the source, named in errors. */
  readonly host: string;
  query(statement: SqlStatement, options: QueryOptions): Promise<Row[]>;
  /** As `query`, each row an array of its values in the statement's column order (no object per row). */
  queryArrays(statement: SqlStatement, options: QueryOptions): Promise<unknown[][]>;
  /** The type (OID) of each column `statement` returns; run like `query` (it should select no row). */
  describe(statement: SqlStatement, options: QueryOptions): Promise<number[]>;
  /**
   * Streams `COPY (select) TO STDOUT` on one connection, without a statement timeout: batches of rows as
   * arrays, typed by `types` exactly as `queryArrays` types them. A pause of the consumer pauses the
   * server; the server staying silent for `options.timeoutMs` while rows are awaited is UPSTREAM_TIMEOUT.
   * Stopping the iteration early closes the connection.
   */
  copyArrays(select: string, types: readonly number[], options: QueryOptions): AsyncGenerator<unknown[][]>;
  /** `value` as a SQL literal by the driver's escaping rules; refuses what no literal can hold (NUL). */
  literal(value: unknown): string;
  close(): Promise<void>;
}

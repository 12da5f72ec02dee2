/**
 * Connector to a provider's front-end database (前置库) over SQL. A data service names a configured source
 * (`endpoint`) and a table or view (`table`, optionally `schema.table`); the entry's items are its columns
 * (same names) and its key items the key columns. Reads:
 * - lookup: rows whose key column equals one of the values (one array parameter);
 * - full read: keyset pages ordered by the key columns; the cursor is the last row's key;
 * - incremental read (`since`): rows whose watermark column is later than the value, ordered by
 *   (watermark, key) with the key as tie-breaker, so rows sharing a timestamp are neither skipped nor
 *   repeated across pages; the cursor carries the last row's watermark and key.
 * Key columns must hold a value in every row: rows with a NULL key cannot be addressed by a keyset, so
 * no page reads them (every page query says so), and `missingKeys` counts them for the quality check. Repeated keys are read exactly once all the same: a page never ends inside a group
 * of rows sharing one position. Product specifics live in the dialect and the driver (dialect.ts).
 * Rows are read as arrays (array-pages.ts); `page` makes the objects, `arrayPage` leaves them arrays.
 */
import type { DataService } from '../../catalog/schema.js';
import { CircuitBreaker, type CircuitBreakerOptions, type CircuitSnapshot } from '../circuit-breaker.js';
import { connectorErrors, isProviderError, providerError } from '../errors.js';
import type {
  Connector,
  ConnectorFactory,
  HealthReport,
  LookupOptions,
  Page,
  PageOptions,
  Row,
  ServiceShape,
} from '../types.js';
import { MAX_LOOKUP_VALUES, MAX_PAGE_LIMIT } from '../wire.js';
import { type ArrayPage, type ArrayPageReader, rowObjects } from './array-pages.js';
import { type CopyPageReader, type CopyReadOptions, copyPages } from './copy-pages.js';
import { type CursorValue, decodeCursor, encodeCursor } from './cursor.js';
import type { PageQuery, QueryOptions, ReadShape, SqlDriver, SqlStatement } from './dialect.js';
import { sqlConnectorErrors } from './errors.js';
import { checkIdentifier, isSqlIdentifier, parseTableRef } from './identifiers.js';
import { PostgresDriver } from './postgres-driver.js';
import { type ResolvedSqlSource, SQL_SOURCE_NAME_PATTERN } from './sources.js';

/** Most rows sharing one keyset position that a page may hold (see `#wholeGroups`). */
const MAX_GROUP_ROWS = 100_000;

export interface SqlConnectorOptions {
  /** Breaker settings, one breaker per source. */
  breaker?: CircuitBreakerOptions;
  /** Makes the driver of a source (by its dialect); injectable so that another product can be added. */
  createDriver?: (source: ResolvedSqlSource) => SqlDriver;
  /** Told about failures of idle pooled connections (SQLSTATE or system code only). */
  onIdleError?: (source: string, message: string) => void;
}

/** Makes SQL connectors; owns one driver (connection pool) and one circuit breaker per source. */
export class SqlConnectorFactory implements ConnectorFactory {
  readonly #sources: Map<string, ResolvedSqlSource>;
  readonly #options: SqlConnectorOptions;
  readonly #drivers = new Map<string, SqlDriver>();
  readonly #breakers = new Map<string, CircuitBreaker>();

  constructor(sources: Map<string, ResolvedSqlSource>, options: SqlConnectorOptions = {}) {
    this.#sources = sources;
    this.#options = options;
  }

  create(service: DataService, shape?: ServiceShape): Connector {
    const invalid = (message: string) => new connectorErrors.CONNECTOR_CONFIG_INVALID(message);
    if (service.connector !== 'sql')
      throw invalid(`the SQL connector cannot serve a "${service.connector}" data service`);
    const source = this.#sources.get(service.endpoint);
    if (!source) {
      // The endpoint might be a connection string pasted by mistake: only a plain name is repeated.
      const named = new RegExp(SQL_SOURCE_NAME_PATTERN).test(service.endpoint)
        ? ` "${service.endpoint}"`
        : '';
      throw invalid(`the sql data service endpoint${named} is not the name of a configured database`);
    }
    if (!shape)
      throw invalid('a sql data service needs the items of its catalog entry (its columns and key)');
    const columns = shape.items.map((item) => checkIdentifier(item, 'an item name'));
    const key = shape.key.map((item) => checkIdentifier(item, 'a key item name'));
    if (key.length === 0 || !key.every((k) => columns.includes(k))) {
      throw invalid('a sql data service needs at least one key item among its items');
    }
    if (
      service.watermark !== undefined &&
      !columns.includes(checkIdentifier(service.watermark, 'the watermark'))
    ) {
      throw invalid('the watermark of a sql data service must be one of its items');
    }
    const read: ReadShape = { table: parseTableRef(service.table), columns, key };
    let driver = this.#drivers.get(source.name);
    if (!driver) {
      driver = this.#options.createDriver
        ? this.#options.createDriver(source)
        : new PostgresDriver(source, { onIdleError: (m) => this.#options.onIdleError?.(source.name, m) });
      this.#drivers.set(source.name, driver);
    }
    let breaker = this.#breakers.get(source.name);
    if (!breaker) {
      breaker = new CircuitBreaker(this.#options.breaker);
      this.#breakers.set(source.name, breaker);
    }
    return new SqlConnector(source, read, driver, breaker, service.timeoutMs ?? source.statementTimeoutMs);
  }

  async close(): Promise<void> {
    const drivers = [...this.#drivers.values()];
    this.#drivers.clear();
    await Promise.allSettled(drivers.map((d) => d.close()));
  }
}

/** The message of SQL_PARAMETER_INVALID for a read's watermark value or cursor. */
function misfitOf(watermark: string | undefined): string {
  return watermark === undefined
    ? 'the cursor does not fit the type of the key columns'
    : `the watermark value or the cursor does not fit the type of column "${watermark}" or of the key`;
}

class SqlConnector implements Connector, ArrayPageReader, CopyPageReader {
  readonly kind = 'sql' as const;
  readonly endpoint: string;
  readonly #source: ResolvedSqlSource;
  readonly #read: ReadShape;
  readonly #driver: SqlDriver;
  readonly #breaker: CircuitBreaker;
  readonly #timeoutMs: number;

  constructor(
    source: ResolvedSqlSource,
    read: ReadShape,
    driver: SqlDriver,
    breaker: CircuitBreaker,
    timeoutMs: number,
  ) {
    this.endpoint = source.name;
    this.#source = source;
    this.#read = read;
    this.#driver = driver;
    this.#breaker = breaker;
    this.#timeoutMs = timeoutMs;
  }

  async lookup(keyItem: string, values: string[], opts: LookupOptions = {}): Promise<Row[]> {
    if (values.length === 0) return [];
    const column = this.#column(keyItem, 'lookup item');
    if (values.length > MAX_LOOKUP_VALUES) {
      throw new sqlConnectorErrors.SQL_PARAMETER_INVALID(
        `at most ${MAX_LOOKUP_VALUES} key values per lookup`,
      );
    }
    if (!values.every((v) => typeof v === 'string')) {
      throw new sqlConnectorErrors.SQL_PARAMETER_INVALID('key values must be strings');
    }
    const statement = this.#driver.dialect.lookup(this.#read, column, values);
    return this.#call(statement, opts, `a key value does not fit the type of column "${column}"`);
  }

  async page(opts: PageOptions): Promise<Page> {
    const { columns, rows, next, total } = await this.arrayPage(opts);
    const page: Page = { rows: rowObjects(columns, rows) };
    if (next !== undefined) page.next = next;
    if (total !== undefined) page.total = total;
    return page;
  }

  async arrayPage(opts: PageOptions): Promise<ArrayPage> {
    if (!Number.isInteger(opts.limit) || opts.limit < 1 || opts.limit > MAX_PAGE_LIMIT) {
      throw new RangeError(`page limit must be an integer from 1 to ${MAX_PAGE_LIMIT}`);
    }
    const { incremental, cursor, total, misfit } = await this.#start(opts);
    const query: PageQuery = { limit: opts.limit + 1 };
    if (incremental) query.incremental = incremental;
    if (cursor) query.after = { key: cursor.key, watermark: cursor.watermark };
    const columns = this.#read.columns;
    let rows = await this.#callArrays(this.#driver.dialect.page(this.#read, query), opts, misfit);
    const page: ArrayPage = { columns, rows };
    if (rows.length > opts.limit) {
      const order = incremental ? [incremental.watermark, ...this.#read.key] : this.#read.key;
      rows = await this.#wholeGroups(rows, opts.limit, order, opts);
      const last = rows[rows.length - 1]!;
      page.rows = rows;
      page.next = encodeCursor({
        key: this.#read.key.map((k) => this.#positionValue(last, k)),
        ...(incremental ? { watermark: this.#positionValue(last, incremental.watermark) } : {}),
        ...(total !== undefined ? { total } : {}),
      });
    }
    if (total !== undefined) page.total = total;
    return page;
  }

  /** The whole read (from `after` on) in one COPY, as array pages: see copy-pages.ts. */
  copyPages(opts: CopyReadOptions): AsyncGenerator<ArrayPage> {
    return copyPages(
      {
        read: this.#read,
        driver: this.#driver,
        timeoutMs: this.#timeoutMs,
        maxGroupRows: MAX_GROUP_ROWS,
        start: async (o) => {
          const { incremental, cursor } = await this.#start(o, false);
          const query: Omit<PageQuery, 'limit'> = {};
          if (incremental) query.incremental = incremental;
          if (cursor) query.after = { key: cursor.key, watermark: cursor.watermark };
          if (o.until !== undefined) {
            const end = decodeCursor(o.until, this.#read.key.length, !!incremental);
            query.until = { key: end.key, watermark: end.watermark };
          }
          return { query, total: cursor?.total };
        },
        count: async (o, query, equals) => {
          if (query.after || query.until || !this.#source.countTotal) return undefined;
          const statement = this.#driver.dialect.count(this.#read, query.incremental, equals);
          const [counted] = await this.#call(statement, o, misfitOf(o.since?.watermark));
          return Number(counted?.n);
        },
        guarded: (o, run) => this.#guarded(o, misfitOf(o.since?.watermark), run),
        position: (row, at, column) => this.#scalar(row[at], column),
        streamed: (error) => {
          if (error === undefined) this.#breaker.onSuccess(false);
          else if (opts.signal?.aborted && error === opts.signal.reason) this.#breaker.onNeutral(false);
          else if (isProviderError(error) && error.code !== 'UPSTREAM_REJECTED')
            this.#breaker.onFailure(false);
        },
      },
      opts,
    );
  }

  /**
   * Cursors that cut the read (`since` as for pages) into parts of about `every` rows: part i is read by
   * `copyPages` with `after` the cursor before it (none for the first) and `until` its own (none for the
   * last). A part ends on a whole group of rows sharing a position, so the parts hold every row once.
   */
  async splitPoints(opts: {
    every: number;
    since?: PageOptions['since'];
    signal?: AbortSignal;
  }): Promise<string[]> {
    if (!Number.isSafeInteger(opts.every) || opts.every < 1) {
      throw new RangeError('every must be a positive integer');
    }
    const { incremental, misfit } = await this.#start(
      { ...(opts.since ? { since: opts.since } : {}) },
      false,
    );
    const order = [...(incremental ? [incremental.watermark] : []), ...this.#read.key];
    const rows = await this.#callArrays(
      this.#driver.dialect.splitPoints(this.#read, incremental, opts.every),
      opts,
      misfit,
    );
    const cursors: string[] = [];
    for (const row of rows) {
      const values = order.map((column, i) => this.#scalar(row[i], column));
      const cursor = encodeCursor(
        incremental ? { watermark: values[0]!, key: values.slice(1) } : { key: values },
      );
      // A group longer than `every` rows yields its position more than once: one part ends after it.
      if (cursor !== cursors[cursors.length - 1]) cursors.push(cursor);
    }
    return cursors;
  }

  /** The checked incremental condition, decoded cursor and total of a read (counted at its start). */
  async #start(opts: Pick<PageOptions, 'since' | 'after' | 'signal' | 'requestId'>, count = true) {
    let incremental: PageQuery['incremental'];
    if (opts.since) {
      if (typeof opts.since.value !== 'string') {
        throw new sqlConnectorErrors.SQL_PARAMETER_INVALID('the watermark value must be a string');
      }
      incremental = {
        watermark: this.#column(opts.since.watermark, 'watermark item'),
        since: opts.since.value,
      };
    }
    const cursor =
      opts.after === undefined ? undefined : decodeCursor(opts.after, this.#read.key.length, !!incremental);
    const misfit = misfitOf(incremental?.watermark);
    let total = cursor?.total;
    if (count && !cursor && this.#source.countTotal) {
      const [counted] = await this.#call(this.#driver.dialect.count(this.#read, incremental), opts, misfit);
      total = Number(counted?.n);
    }
    return { incremental, cursor, total, misfit };
  }

  /**
   * The page's rows (`fetched` holds one row more than `limit`) ending on a whole group of rows that share
   * an order position. Keys should be unique, but a front-end table may repeat one (the quality check
   * reports it): a cursor taken in the middle of such a group would skip the rest of it. The page then
   * ends before the group, or, when the group fills the page, is the whole group.
   */
  async #wholeGroups(
    fetched: unknown[][],
    limit: number,
    order: readonly string[],
    opts: LookupOptions,
  ): Promise<unknown[][]> {
    const at = order.map((c) => this.#read.columns.indexOf(c));
    const same = (a: unknown[], b: unknown[]) => at.every((i) => a[i] === b[i]);
    const boundary = fetched[limit]!;
    if (!same(fetched[limit - 1]!, boundary)) return fetched.slice(0, limit);
    let start = limit - 1;
    while (start > 0 && same(fetched[start - 1]!, boundary)) start--;
    if (start > 0) return fetched.slice(0, start);
    const values = order.map((c) => this.#positionValue(boundary, c));
    const group = await this.#callArrays(
      this.#driver.dialect.rowsAt(this.#read, order, values, MAX_GROUP_ROWS + 1),
      opts,
      'unexpected parameter',
    );
    // Deleted between the two reads: nothing of the group is left to split.
    if (group.length === 0) return fetched.slice(0, limit);
    if (group.length > MAX_GROUP_ROWS) {
      throw providerError(
        'UPSTREAM_BAD_RESPONSE',
        this.#driver.host,
        `more than ${MAX_GROUP_ROWS} rows share one key; the key columns do not identify rows`,
      );
    }
    return group;
  }

  /** Rows with a NULL in a key column, which pages never read (see the top of this file). */
  async missingKeys(opts: LookupOptions = {}): Promise<number> {
    const [counted] = await this.#call(
      this.#driver.dialect.missingKeys(this.#read),
      opts,
      'unexpected parameter',
    );
    return Number(counted?.n ?? 0);
  }

  async health(): Promise<HealthReport> {
    const started = performance.now();
    try {
      // Selecting every column with LIMIT 0 checks that the table, its columns and the grant still exist.
      await this.#call(this.#driver.dialect.page(this.#read, { limit: 0 }), {}, 'unexpected parameter');
      const circuit = this.#breaker.state;
      const report: HealthReport = { ok: true, latencyMs: performance.now() - started };
      if (circuit !== 'closed') report.detail = `circuit ${circuit}`;
      return report;
    } catch (error) {
      const detail = error instanceof Error ? error.message : 'failed';
      return { ok: false, latencyMs: performance.now() - started, detail };
    }
  }

  circuit(): CircuitSnapshot {
    return this.#breaker.snapshot();
  }

  /** Pools and breakers belong to the factory and outlive any one connector. */
  async close(): Promise<void> {}

  #column(item: string, what: string): string {
    if (isSqlIdentifier(item) && this.#read.columns.includes(item)) return item;
    const named = isSqlIdentifier(item) ? ` "${item}"` : '';
    throw new sqlConnectorErrors.SQL_PARAMETER_INVALID(`${what}${named} is not an item of this data service`);
  }

  #positionValue(row: readonly unknown[], column: string): CursorValue {
    return this.#scalar(row[this.#read.columns.indexOf(column)], column);
  }

  #scalar(value: unknown, column: string): CursorValue {
    if (
      typeof value === 'string' ||
      typeof value === 'boolean' ||
      (typeof value === 'number' && Number.isFinite(value))
    ) {
      return value;
    }
    throw providerError(
      'UPSTREAM_BAD_RESPONSE',
      this.#driver.host,
      `a row has ${value === null || value === undefined ? 'no value' : 'a non-scalar value'} in column "${column}", which orders the pages`,
    );
  }

  /** Breaker → query → outcome. Failures of the provider count against the breaker; the caller's do not. */
  #call(statement: SqlStatement, opts: LookupOptions, misfit: string): Promise<Row[]> {
    return this.#guarded(opts, misfit, (options) => this.#driver.query(statement, options));
  }

  #callArrays(statement: SqlStatement, opts: LookupOptions, misfit: string): Promise<unknown[][]> {
    return this.#guarded(opts, misfit, (options) => this.#driver.queryArrays(statement, options));
  }

  async #guarded<T>(
    opts: LookupOptions,
    misfit: string,
    run: (options: QueryOptions) => Promise<T>,
  ): Promise<T> {
    opts.signal?.throwIfAborted();
    const permit = this.#breaker.tryAcquire();
    if (!permit.allowed) {
      throw providerError(
        'UPSTREAM_CIRCUIT_OPEN',
        this.#driver.host,
        'circuit open after repeated failures',
        {
          retryAfterSeconds: Math.max(1, Math.ceil(permit.retryAfterMs / 1000)),
        },
      );
    }
    try {
      const result = await run({ timeoutMs: this.#timeoutMs, signal: opts.signal });
      this.#breaker.onSuccess(permit.probe);
      return result;
    } catch (error) {
      if (opts.signal?.aborted && error === opts.signal.reason) {
        this.#breaker.onNeutral(permit.probe);
        throw error;
      }
      if (error instanceof sqlConnectorErrors.SQL_PARAMETER_INVALID) {
        this.#breaker.onSuccess(permit.probe);
        throw Object.assign(new sqlConnectorErrors.SQL_PARAMETER_INVALID(misfit), {
          sqlState: (error as { sqlState?: string }).sqlState,
        });
      }
      if (isProviderError(error) && error.code === 'UPSTREAM_REJECTED') this.#breaker.onSuccess(permit.probe);
      else this.#breaker.onFailure(permit.probe);
      throw error;
    }
  }
}

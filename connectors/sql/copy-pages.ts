/**
 * A whole read in one `COPY (SELECT …) TO STDOUT`, cut into array pages: the rows, order, cursors and
 * totals of `arrayPage` read page by page, without a query per page. Only the columns asked for (and the
 * key and watermark, which order the read) are selected, so an item the job may not see is never read.
 *
 * COPY takes no bind parameters. The watermark, the cursor position and the pre-filters are written as
 * literals by the driver's escaping (`pg.escapeLiteral`), not through a prepared temporary view: a view
 * needs the CREATE TEMP privilege, which a read-only front-end database account rarely has, and a round
 * trip more per read. Before the COPY the very same conditions run once as a parameterized `LIMIT 0`
 * query, which types every column for the parser and refuses a value that does not fit its column as the
 * page reads do (SQL_PARAMETER_INVALID); a literal is untyped text that PostgreSQL reads as the column's
 * type, as it reads an untyped parameter. A NUL, which no literal can hold, is refused.
 *
 * A page ends on a whole group of rows sharing an order position (as `arrayPage` pages do), so the cursor
 * of its last row resumes exactly after it.
 */
import { providerError } from '../errors.js';
import type { ArrayPage } from './array-pages.js';
import { encodeCursor } from './cursor.js';
import type { CopyQuery, PageQuery, QueryOptions, ReadShape, SqlDriver } from './dialect.js';

/** Column types whose text output `String()` of the parsed value repeats: an equality filter can run in SQL. */
const TEXT_EQUAL_TYPES = new Set([21, 23, 25, 1043]);

export interface CopyReadOptions {
  /** Items the rows must hold; names that are not items of the service are absent from every row. */
  columns: readonly string[];
  /** Rows per page (a page may hold more to end on a whole group). */
  pageRows: number;
  /** Cursor of a page already read (from a page read or a COPY read of the same kind). */
  after?: string;
  /** Cursor of the last row to read, inclusive: the end of a part (`splitPoints`). */
  until?: string;
  since?: { watermark: string; value: string };
  /**
   * Rows that pass must have `String(value) === value` for each of these (row filters). Where the column's
   * type makes SQL text equality the same test it runs in the database; the caller still checks every row.
   */
  equals?: readonly { item: string; value: string }[];
  signal?: AbortSignal;
  requestId?: string;
}

export interface CopyPageReader {
  copyPages(opts: CopyReadOptions): AsyncGenerator<ArrayPage>;
}

export function readsCopyPages<C>(connector: C): connector is C & CopyPageReader {
  return typeof (connector as Partial<CopyPageReader>).copyPages === 'function';
}

/** What copyPages needs of its connector (connector.ts). */
export interface CopyContext {
  read: ReadShape;
  driver: SqlDriver;
  timeoutMs: number;
  /** Most rows sharing one order position. */
  maxGroupRows: number;
  /** The checked read: incremental condition, decoded cursor and the total the cursor carries. */
  start(opts: CopyReadOptions): Promise<{ query: Omit<PageQuery, 'limit'>; total: number | undefined }>;
  /** Rows of the whole read with its pre-filters, when the source counts and the read starts at its top. */
  count(
    opts: CopyReadOptions,
    query: Omit<PageQuery, 'limit'>,
    equals: CopyQuery['equals'],
  ): Promise<number | undefined>;
  /** Runs `run` behind the connector's breaker, its failures classified as a page read's. */
  guarded<T>(opts: CopyReadOptions, run: (options: QueryOptions) => Promise<T>): Promise<T>;
  /** A row's value of an order column, checked to be a scalar. */
  position(row: readonly unknown[], at: number, column: string): string | number | boolean;
  /** Reports the outcome of a stream to the breaker. */
  streamed(error: unknown): void;
}

export async function* copyPages(ctx: CopyContext, opts: CopyReadOptions): AsyncGenerator<ArrayPage> {
  const { read } = ctx;
  if (!Number.isInteger(opts.pageRows) || opts.pageRows < 1) {
    throw new RangeError('pageRows must be a positive integer');
  }
  const { query, total: carried } = await ctx.start(opts);
  const watermark = query.incremental?.watermark;
  const wanted = new Set(opts.columns.filter((c) => read.columns.includes(c)));
  for (const k of read.key) wanted.add(k);
  if (watermark) wanted.add(watermark);
  // Catalog order, as pages have it.
  const columns = read.columns.filter((c) => wanted.has(c));
  const shape: ReadShape = { ...read, columns };
  const types = await ctx.guarded(opts, (options) =>
    ctx.driver.describe(ctx.driver.dialect.page(shape, { ...query, limit: 0 }), options),
  );
  const equals: { column: string; value: string }[] = [];
  for (const { item, value } of opts.equals ?? []) {
    ctx.driver.literal(value); // refuses what no literal can hold before anything runs with it
    const at = columns.indexOf(item);
    if (at !== -1 && TEXT_EQUAL_TYPES.has(types[at]!)) equals.push({ column: item, value });
  }
  // Counted with the pre-filters, so that progress reaches the total; a resumed read keeps its cursor's.
  const total = carried ?? (await ctx.count(opts, query, equals));
  const literal = (value: unknown) => ctx.driver.literal(value);
  const select = ctx.driver.dialect.copySelect(shape, { ...query, equals }, literal);

  const order = [...(watermark ? [watermark] : []), ...read.key];
  const at = order.map((c) => columns.indexOf(c));
  const same = (a: readonly unknown[], b: readonly unknown[]) => at.every((i) => a[i] === b[i]);
  const cursorOf = (row: readonly unknown[]) => {
    const key = read.key.map((k) => ctx.position(row, columns.indexOf(k), k));
    return encodeCursor({
      key,
      ...(watermark ? { watermark: ctx.position(row, columns.indexOf(watermark), watermark) } : {}),
      ...(total !== undefined ? { total } : {}),
    });
  };
  const page = (rows: unknown[][], next?: string): ArrayPage => ({
    columns,
    rows,
    ...(next === undefined ? {} : { next }),
    ...(total !== undefined ? { total } : {}),
  });

  let pending: unknown[][] = [];
  const options: QueryOptions = { timeoutMs: ctx.timeoutMs, ...(opts.signal ? { signal: opts.signal } : {}) };
  try {
    for await (const batch of ctx.driver.copyArrays(select, types, options)) {
      for (let i = 0; i < batch.length; i++) pending.push(batch[i]!);
      while (pending.length > opts.pageRows) {
        // End the page before the group of its boundary row, or after that group when it fills the page.
        let cut = opts.pageRows;
        while (cut > 0 && same(pending[cut - 1]!, pending[cut]!)) cut--;
        if (cut === 0) {
          cut = opts.pageRows;
          while (cut < pending.length && same(pending[cut - 1]!, pending[cut]!)) cut++;
          if (cut > ctx.maxGroupRows) {
            throw providerError(
              'UPSTREAM_BAD_RESPONSE',
              ctx.driver.host,
              `more than ${ctx.maxGroupRows} rows share one key; the key columns do not identify rows`,
            );
          }
          if (cut === pending.length) break; // the group may go on in the next batch
        }
        const rows = pending.slice(0, cut);
        pending = pending.slice(cut);
        yield page(rows, cursorOf(rows[rows.length - 1]!));
      }
    }
    ctx.streamed(undefined);
  } catch (error) {
    ctx.streamed(error);
    throw error;
  }
  yield page(pending);
}

/** A reader that cuts a read into parts of about `every` rows (connector.ts `splitPoints`). */
export interface SplitReader {
  splitPoints(opts: {
    every: number;
    since?: { watermark: string; value: string };
    signal?: AbortSignal;
  }): Promise<string[]>;
}

export function splitsReads<C>(connector: C): connector is C & SplitReader {
  return typeof (connector as Partial<SplitReader>).splitPoints === 'function';
}

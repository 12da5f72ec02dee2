/**
 * A pool of connections (`pg.Pool`) to one PostgreSQL source, and the translation of its failures.
 *
 * - Values come back as JSON-ready values in the catalog's shapes: `date` as YYYY-MM-DD, `timestamptz` as
 *   ISO 8601 with offset (sessions run in UTC), `timestamp` (local time) with the source's offset, bigint
 *   and numeric as numbers (bigint beyond 2^53 stays a string). Timestamps keep their microseconds, so a
 *   watermark taken from a row compares exactly when it is passed back.
 * - Each connection starts with the source's statement_timeout; a query with another timeout sets it on
 *   its connection first (one extra round trip only when it differs). A client-side guard destroys a
 *   connection whose server stops answering altogether.
 * - A whole read streams through `COPY (…) TO STDOUT` (pg-copy-streams) with no statement timeout, parsed
 *   from COPY text by the same type parsers (copy-text.ts), so its values are those of a query.
 * - Errors never carry the server's message (it may quote a value, e.g. "invalid input syntax for type
 *   integer: <ID number>"), only the SQLSTATE code, and never the password.
 */
import { addAbortSignal } from 'node:stream';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { connectorErrors, type ProviderError, providerError } from '../errors.js';
import type { Row } from '../types.js';
import { CopyFormatError, CopyTextParser, type TextParser } from './copy-text.js';
import type { QueryOptions, SqlDriver, SqlStatement } from './dialect.js';
import { sqlConnectorErrors } from './errors.js';
import { postgresDialect } from './postgres-dialect.js';
import type { ResolvedSqlSource } from './sources.js';

/** Extra time the client waits beyond the statement timeout before it gives up on the connection. */
const GUARD_MS = 2_000;

/** Types whose text needs no parser: the text is the value. */
const TEXT_TYPES = new Set([19, 25, 1042, 1043]);

const OID = { int8: 20, numeric: 1700, date: 1082, timestamp: 1114, timestamptz: 1184 } as const;
const TIMESTAMP = /^(\d{4,}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)(?:([+-]\d\d)(?::(\d\d))?(?::\d\d)?)?$/;

/** A timestamp as PostgreSQL writes it (text format), in ISO 8601; exported for tests. */
export function isoTimestamp(text: string, offsetWhenLocal?: string): string {
  // Fast path for the shape a UTC session writes for every timestamptz of years 1000-9999:
  // "YYYY-MM-DD HH:MM:SS[.ffffff]+00" (one value per row of a bulk read: the regex costs more).
  const n = text.length;
  if (
    offsetWhenLocal === undefined &&
    n >= 22 &&
    text.charCodeAt(4) === 45 &&
    text.charCodeAt(10) === 32 &&
    text.charCodeAt(13) === 58 &&
    text.charCodeAt(16) === 58 &&
    text.charCodeAt(n - 3) === 43 &&
    text.charCodeAt(n - 2) === 48 &&
    text.charCodeAt(n - 1) === 48
  ) {
    return `${text.slice(0, 10)}T${text.slice(11)}:00`;
  }
  const m = TIMESTAMP.exec(text);
  if (!m) return text; // infinity, BC dates: left as the database wrote them
  const offset = m[3] ? `${m[3]}:${m[4] ?? '00'}` : (offsetWhenLocal ?? '');
  return `${m[1]}T${m[2]}${offset}`;
}

/** A decimal as String(Number) writes it: without trailing fraction zeros, a bare point or -0. */
function trimDecimal(text: string): string {
  const trimmed = text.includes('.') ? text.replace(/\.?0+$/, '') : text;
  return trimmed === '-0' ? '0' : trimmed;
}

function typeParsers(localOffset: string): pg.CustomTypesConfig {
  const parsers = new Map<number, (text: string) => unknown>([
    [OID.date, (text) => text],
    [OID.timestamptz, (text) => isoTimestamp(text)],
    [OID.timestamp, (text) => isoTimestamp(text, localOffset)],
    [
      OID.int8,
      (text) => {
        const n = Number(text);
        return Number.isSafeInteger(n) ? n : text;
      },
    ],
    [
      OID.numeric,
      (text) => {
        // A number only when it is the same decimal: 12.50 → 12.5, but 12345678901234567890 or
        // 0.1000000000000000055 stay text, as bigint beyond 2^53 does (rounded, they were wrong values and
        // keys that matched no row).
        const n = Number(text);
        return Number.isFinite(n) && String(n) === trimDecimal(text) ? n : text;
      },
    ],
  ]);
  return {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      parsers.get(oid) ?? pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
  };
}

export interface PostgresDriverOptions {
  /** Told about errors of idle connections (e.g. the server restarted); they are otherwise dropped. */
  onIdleError?: (message: string) => void;
}

export class PostgresDriver implements SqlDriver {
  readonly dialect = postgresDialect;
  readonly host: string;
  readonly #source: ResolvedSqlSource;
  readonly #pool: pg.Pool;
  /** The statement_timeout each open connection has now. */
  readonly #timeouts = new WeakMap<pg.PoolClient, number>();
  readonly #types: pg.CustomTypesConfig;

  constructor(source: ResolvedSqlSource, options: PostgresDriverOptions = {}) {
    this.#source = source;
    this.host = `${source.host}:${source.port}`;
    this.#types = typeParsers(source.localTimeOffset);
    this.#pool = new pg.Pool({
      host: source.host,
      port: source.port,
      database: source.database,
      user: source.user,
      password: async () => source.password(),
      max: source.poolSize,
      connectionTimeoutMillis: source.connectTimeoutMs,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      application_name: 'govshare',
      options: `-c TimeZone=UTC -c statement_timeout=${source.statementTimeoutMs}`,
      types: this.#types,
    });
    this.#pool.on('connect', (client) => this.#timeouts.set(client, source.statementTimeoutMs));
    // Without a listener an idle connection's error would crash the process.
    this.#pool.on('error', (error) => options.onIdleError?.(describe(error)));
  }

  async query(statement: SqlStatement, options: QueryOptions): Promise<Row[]> {
    return (await this.#query(statement, options, false)).rows as Row[];
  }

  async queryArrays(statement: SqlStatement, options: QueryOptions): Promise<unknown[][]> {
    return (await this.#query(statement, options, true)).rows as unknown[][];
  }

  async describe(statement: SqlStatement, options: QueryOptions): Promise<number[]> {
    return (await this.#query(statement, options, true)).fields.map((f) => f.dataTypeID);
  }

  literal(value: unknown): string {
    const text = String(value);
    if (text.includes('\0')) {
      throw new sqlConnectorErrors.SQL_PARAMETER_INVALID(
        'a value passed to the database holds a NUL character',
      );
    }
    // pg's escapeLiteral doubles quotes, and backslashes behind E'…': right whatever standard_conforming_strings.
    return pg.escapeLiteral(text);
  }

  async *copyArrays(
    select: string,
    types: readonly number[],
    options: QueryOptions,
  ): AsyncGenerator<unknown[][]> {
    const parsers: TextParser[] = types.map((oid) =>
      TEXT_TYPES.has(oid) ? undefined : (this.#types.getTypeParser(oid, 'text') as TextParser),
    );
    const parser = new CopyTextParser(parsers);
    const client = await this.#connect(options);
    let done = false;
    let destroy = true;
    try {
      try {
        await this.#timeout(client, 0, options);
      } catch (error) {
        destroy = !(error instanceof pg.DatabaseError);
        throw error;
      }
      const stream = client.query(copyTo(`COPY (${select}) TO STDOUT`));
      if (options.signal) addAbortSignal(options.signal, stream);
      const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      try {
        for (;;) {
          const next = await this.#silence(chunks.next(), options.timeoutMs);
          if (next.done) break;
          const rows = parser.push(next.value);
          if (rows.length > 0) yield rows;
        }
        parser.end();
        done = true;
      } finally {
        if (!done) stream.destroy();
      }
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (error instanceof CopyFormatError) {
        throw providerError('UPSTREAM_BAD_RESPONSE', this.host, `COPY data not understood: ${error.message}`);
      }
      throw this.#classify(error, options.timeoutMs);
    } finally {
      // A COPY left half-read (failed, aborted or not read to its end) leaves the connection unusable.
      client.release(done ? false : destroy);
    }
  }

  /** `next` unless the server sends nothing for `ms` (the stream is read only when the consumer asks). */
  #silence<T>(next: Promise<T>, ms: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const silent = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('Query read timeout')), ms + GUARD_MS);
    });
    return Promise.race([next, silent]).finally(() => clearTimeout(timer));
  }

  async #connect(options: QueryOptions): Promise<pg.PoolClient> {
    options.signal?.throwIfAborted();
    try {
      return await this.#pool.connect();
    } catch (error) {
      throw this.#classify(error, options.timeoutMs);
    }
  }

  /** Sets the connection's statement_timeout to `ms` (0: none) unless it has it already. */
  async #timeout(client: pg.PoolClient, ms: number, options: QueryOptions): Promise<void> {
    if (this.#timeouts.get(client) === ms) return;
    await this.#run(client, this.dialect.statementTimeout(ms), options, false);
    this.#timeouts.set(client, ms);
  }

  async #query(statement: SqlStatement, options: QueryOptions, arrays: boolean): Promise<pg.QueryResult> {
    const client = await this.#connect(options);
    let destroy = false;
    try {
      await this.#timeout(client, options.timeoutMs, options);
      return await this.#run(client, statement, options, arrays);
    } catch (error) {
      destroy = !(error instanceof pg.DatabaseError);
      if (options.signal?.aborted) throw options.signal.reason;
      throw this.#classify(error, options.timeoutMs);
    } finally {
      client.release(destroy);
    }
  }

  /** One query on `client`; a caller's abort leaves at once (the connection is then destroyed). */
  #run(
    client: pg.PoolClient,
    statement: SqlStatement,
    options: QueryOptions,
    arrays: boolean,
  ): Promise<pg.QueryResult> {
    const running = client.query({
      text: statement.text,
      values: statement.values,
      query_timeout: options.timeoutMs + GUARD_MS,
      ...(arrays ? { rowMode: 'array' } : {}),
    } as pg.QueryConfig);
    const signal = options.signal;
    if (!signal) return running;
    running.catch(() => undefined);
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      running.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  #classify(error: unknown, timeoutMs: number): Error {
    const host = this.host;
    const fail = (
      code: Parameters<typeof providerError>[0],
      message: string,
      sqlState?: string,
    ): ProviderError => {
      const e = providerError(code, host, message);
      if (sqlState) (e as ProviderError & { sqlState?: string }).sqlState = sqlState;
      return e;
    };
    if (error instanceof pg.DatabaseError) {
      const state = error.code ?? '';
      const cls = state.slice(0, 2);
      if (state === '57014' || state === '55P03') {
        return fail('UPSTREAM_TIMEOUT', `no answer within ${timeoutMs} ms (statement timeout)`, state);
      }
      if (cls === '22' && /portal parameter \$\d+/.test(error.where ?? '')) {
        const e = new sqlConnectorErrors.SQL_PARAMETER_INVALID(
          `a value passed to the database does not fit its column's type (SQLSTATE ${state})`,
        );
        return Object.assign(e, { sqlState: state });
      }
      if (cls === '22')
        return fail(
          'UPSTREAM_BAD_RESPONSE',
          `the database failed to compute a row (SQLSTATE ${state})`,
          state,
        );
      if (cls === '42' || cls === '3F') {
        return fail(
          'UPSTREAM_REJECTED',
          `the table or a column of the data service does not exist or may not be read (SQLSTATE ${state}); the catalog entry may be out of date`,
          state,
        );
      }
      if (cls === '28')
        return fail('UPSTREAM_UNAVAILABLE', `authentication failed (SQLSTATE ${state})`, state);
      if (state === '3D000') {
        return fail(
          'UPSTREAM_UNAVAILABLE',
          `database "${this.#source.database}" does not exist (SQLSTATE ${state})`,
          state,
        );
      }
      return fail('UPSTREAM_UNAVAILABLE', `query failed (SQLSTATE ${state})`, state);
    }
    const code = (error as { code?: string }).code ?? '';
    const message = error instanceof Error ? error.message : '';
    if (message === 'Query read timeout') {
      return fail('UPSTREAM_TIMEOUT', `no answer within ${timeoutMs} ms (the server stopped answering)`);
    }
    if (/timeout exceeded when trying to connect|connection timeout/i.test(message)) {
      return fail('UPSTREAM_TIMEOUT', `no connection within ${this.#source.connectTimeoutMs} ms`);
    }
    switch (code) {
      case 'ECONNREFUSED':
        return fail('UPSTREAM_UNAVAILABLE', 'connection refused');
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return fail('UPSTREAM_UNAVAILABLE', 'host name not found');
      case 'ETIMEDOUT':
        return fail('UPSTREAM_TIMEOUT', 'connection timed out');
    }
    if (code === 'ECONNRESET' || code === 'EPIPE' || /Connection terminated/i.test(message)) {
      return fail('UPSTREAM_UNAVAILABLE', 'connection closed before an answer');
    }
    if (message === 'Cannot use a pool after calling end on the pool') {
      return new connectorErrors.CONNECTOR_CONFIG_INVALID('the SQL connector factory is closed');
    }
    return fail('UPSTREAM_UNAVAILABLE', `request failed${code ? ` (${code})` : ''}`);
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}

/** A log line for an idle connection's error: the SQLSTATE or the system code, never the server's text. */
function describe(error: Error): string {
  const code = (error as { code?: string }).code;
  return code ? `idle connection failed (${code})` : 'idle connection failed';
}

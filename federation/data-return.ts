/**
 * Data return (回流): an incremental bulk pull of an upper platform's resource into this platform's own
 * front-end database, under the upper platform's bulk grant to this platform. Each run asks, page by
 * page, for the rows changed since the watermark the last run stored up to, upserts them by the key
 * item (so a repeated page changes nothing), and only then advances the watermark: a run that fails
 * half-way is simply run again.
 */
import type pg from 'pg';
import { ITEM_NAME_PATTERN, type ResourceEntry } from '../catalog/schema.js';
import type { CallOrigin, Connector, Row } from '../connectors/types.js';
import type { RedisClient } from '../platform/redis.js';
import { federationKeys } from './keys.js';

export interface ReturnSink {
  /** Stores the rows (upsert by key); resolves to how many were written. */
  write(rows: Row[]): Promise<number>;
}

export interface ReturnRun {
  pages: number;
  rows: number;
  since?: string;
  watermark?: string;
}

/** The watermark each data return job stored up to, in Redis under {federation}. */
export class ReturnWatermarks {
  private readonly keys;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = federationKeys(prefix);
  }

  async get(peer: string, code: string): Promise<string | undefined> {
    return (await this.redis.get(this.keys.returnWatermark(peer, code))) ?? undefined;
  }

  async set(peer: string, code: string, value: string): Promise<void> {
    await this.redis.set(this.keys.returnWatermark(peer, code), value);
  }
}

export interface DataReturnInput {
  /** The federation connector of `<peer>/<code>`. */
  connector: Connector;
  sink: ReturnSink;
  /** This platform as the caller: its bureau, system `federation`, the job as official, the grant's purpose. */
  origin: CallOrigin;
  since?: string;
  /** @defaultValue 500 */
  pageSize?: number;
  /** Correlation id of the run; each page's is `<id>.<page>`. */
  correlationId: string;
}

/** Pulls every page changed since `since` into the sink; returns what it did (the caller stores the watermark). */
export async function pullChanges(input: DataReturnInput): Promise<ReturnRun> {
  const run: ReturnRun = { pages: 0, rows: 0, ...(input.since === undefined ? {} : { since: input.since }) };
  let after: string | undefined;
  do {
    const page = await input.connector.page({
      limit: input.pageSize ?? 500,
      ...(after === undefined ? {} : { after }),
      ...(input.since === undefined ? {} : { since: { watermark: '', value: input.since } }),
      origin: input.origin,
      requestId: `${input.correlationId}.${run.pages}`,
    });
    run.pages++;
    run.rows += await input.sink.write(page.rows);
    if (page.watermark !== undefined && (run.watermark === undefined || page.watermark > run.watermark))
      run.watermark = page.watermark;
    after = page.next;
  } while (after !== undefined);
  return run;
}

const TABLE = /^[a-z_][a-z0-9_]{0,62}$/;
const ITEM = new RegExp(ITEM_NAME_PATTERN);

/**
 * A table of this platform's front-end database (PostgreSQL) holding a returned resource: one text
 * column per item, the key item as primary key. Identifiers are checked, then quoted; values are
 * parameters.
 */
export class PostgresReturnTable implements ReturnSink {
  constructor(
    private readonly pool: pg.Pool,
    private readonly table: string,
    private readonly items: readonly string[],
    private readonly key: string,
  ) {
    if (!TABLE.test(table)) throw new RangeError(`table name ${JSON.stringify(table)} must match ${TABLE}`);
    for (const item of items)
      if (!ITEM.test(item)) throw new RangeError(`${JSON.stringify(item)} is not an item name`);
    if (!items.includes(key)) throw new RangeError(`the key item ${key} must be one of the items`);
  }

  async ensure(): Promise<void> {
    const columns = this.items.map((item) => `"${item}" text`).join(', ');
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS ${this.table} (${columns}, PRIMARY KEY ("${this.key}"))`,
    );
  }

  async write(rows: Row[]): Promise<number> {
    // One row per key: an upsert may not touch the same row twice in one statement.
    const byKey = new Map<string, Row>();
    for (const row of rows) if (typeof row[this.key] === 'string') byKey.set(row[this.key] as string, row);
    const usable = [...byKey.values()];
    if (usable.length === 0) return 0;
    const columns = this.items.map((item) => `"${item}"`).join(', ');
    const values: (string | null)[] = [];
    const tuples = usable.map((row) => {
      const start = values.length;
      for (const item of this.items)
        values.push(row[item] === undefined || row[item] === null ? null : String(row[item]));
      return `(${this.items.map((_, i) => `$${start + i + 1}`).join(', ')})`;
    });
    const updates = this.items
      .filter((item) => item !== this.key)
      .map((item) => `"${item}" = EXCLUDED."${item}"`)
      .join(', ');
    await this.pool.query(
      `INSERT INTO ${this.table} (${columns}) VALUES ${tuples.join(', ')} ON CONFLICT ("${this.key}") ${updates ? `DO UPDATE SET ${updates}` : 'DO NOTHING'}`,
      values,
    );
    return usable.length;
  }
}

/**
 * The catalog entry under which this platform offers a returned table (回流) to its own departments: the
 * upper platform's entry, served from the table in this platform's front-end database (the SQL
 * connector's `source`), with the upper platform's provider still named as the provider and none of its
 * items claimed as an authoritative source here (一数一源: the source stays the upper platform's
 * resource), and the summary saying where the data comes from. `code` is this platform's code for it.
 */
export function returnedEntry(
  upstream: ResourceEntry,
  options: { peerPlatformId: string; peerName: string; code: string; source: string; table: string },
): ResourceEntry {
  const origin = `数据回流自${options.peerName}（${options.peerPlatformId}）资源 ${upstream.code}，由${upstream.provider.name}提供。`;
  return {
    ...upstream,
    code: options.code,
    summary: `${upstream.summary.slice(0, 4000 - origin.length - 1)} ${origin}`.trim(),
    items: upstream.items.map(({ source: _source, ...item }) => item),
    service: {
      connector: 'sql',
      endpoint: options.source,
      table: options.table,
      ...(upstream.service?.watermark ? { watermark: upstream.service.watermark } : {}),
    },
  };
}

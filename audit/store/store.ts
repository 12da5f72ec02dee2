/**
 * The PostgreSQL audit store: the lasting, searchable home of the trail (the Redis streams are its
 * write-ahead log). Records arrive from the shipper in chain order, a batch per transaction, together
 * with the instance's new shipping position; a batch that does not continue the stored position is
 * refused, and a record stored twice (a batch retried after a lost COMMIT reply) is kept once, keyed by
 * instance, seq and stream-id time. Parameterized SQL only; identifiers are never built from input
 * except partition names, which come from dates.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { readCheckpoint, type StoredCheckpoint } from '../checkpoint.js';
import { parseStreamId } from '../entries.js';
import { AuditStoreUnavailable } from '../errors.js';
import type { AuditRecord } from '../record.js';

const guarded = new WeakSet<pg.PoolClient>();

const RECORD_COPY = `COPY audit_records (instance, seq, id_ms, id_n, prev, hash, rec, request_id, kind, action,
  decision, reason_code, consumer_dept, system_id, provider_dept, resource, grant_id, investigation) FROM STDIN`;
const SUBJECT_COPY = 'COPY audit_subjects (subject, id_ms, id_n, instance, seq) FROM STDIN';

function recordRow(instance: string, r: ShippedRecord): string {
  const { record } = r;
  return copyLine([
    instance,
    r.seq,
    r.ms,
    r.n,
    r.prev,
    r.hash,
    r.rec,
    record.requestId,
    record.kind,
    record.action,
    record.decision,
    record.reasonCode,
    record.actor.deptCode,
    record.actor.systemId,
    record.providerDept,
    record.resource,
    record.grantId,
    record.investigation ? 't' : 'f',
  ]);
}

const COPY_SPECIAL = /[\\\n\r\t]/g;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** One line of COPY's text format: tab-separated, `\N` for null, backslash escapes. */
function copyLine(values: (string | number | undefined | null)[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (i > 0) line += '\t';
    if (value === undefined || value === null) line += '\\N';
    else if (typeof value === 'number') line += String(value);
    else line += value.replace(COPY_SPECIAL, (c) => COPY_ESCAPES[c]!);
  }
  return `${line}\n`;
}

async function copyRows(client: pg.PoolClient, sql: string, lines: string[]): Promise<void> {
  await pipeline(Readable.from([lines.join('')]), client.query(copyFrom(sql)));
}

/** One chained record as the shipper hands it over. */
export interface ShippedRecord {
  /** Stream id `<ms>-<n>`. */
  id: string;
  ms: number;
  n: number;
  seq: number;
  prev: string;
  hash: string;
  /** Canonical JSON exactly as chained. */
  rec: string;
  record: AuditRecord;
}

/** How far an instance's chain is in the store. */
export interface ShippingPosition {
  seq: number;
  hash: string;
  /** Stream id of the last shipped record. */
  streamId: string;
}

/** A record as the store returns it, in search order. */
export interface StoredRow {
  instance: string;
  seq: number;
  ms: number;
  n: number;
  prev: string;
  hash: string;
  rec: string;
}

/** A position in the search order: newest first by stream-id time, then id sequence, then instance. */
export interface SearchPosition {
  ms: number;
  n: number;
  instance: string;
}

export type StoreFilter =
  | ['request', string]
  | ['subject', string]
  | ['grant', string]
  | ['resource', string]
  | ['system', string]
  | ['dept', string]
  | ['provider', string]
  | ['reason', string]
  | ['decision', string]
  | ['kind', string]
  /**
   * Records made under an investigation flag only when their stream-id time is before this epoch-ms
   * time; every other record passes.
   */
  | ['disclosedBefore', number]
  | ['actorRole', string];

export interface StoreSearch {
  filters: readonly StoreFilter[];
  fromMs?: number;
  toMs?: number;
  /** Rows strictly after this position (in newest-first order). */
  after?: SearchPosition;
  limit: number;
}

const COLUMN: Record<Exclude<StoreFilter[0], 'subject' | 'disclosedBefore'>, string> = {
  request: 'r.request_id',
  grant: 'r.grant_id',
  resource: 'r.resource',
  system: 'r.system_id',
  dept: 'r.consumer_dept',
  provider: 'r.provider_dept',
  reason: 'r.reason_code',
  decision: 'r.decision',
  kind: 'r.kind',
  // Not a column of its own: officers' actions are few and searched by time; rec is the chained JSON.
  actorRole: "(r.rec::jsonb -> 'actor' ->> 'role')",
};

/** Partition of the month an epoch-ms time falls in (UTC): its name and [from, to) bounds in ms. */
export function monthPartition(ms: number): { suffix: string; fromMs: number; toMs: number } {
  const date = new Date(ms);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  return {
    suffix: `y${year}m${String(month + 1).padStart(2, '0')}`,
    fromMs: Date.UTC(year, month, 1),
    toMs: Date.UTC(year, month + 1, 1),
  };
}

/** A partition-key advisory lock per instance: one shipper per chain at a time, across processes. */
const SHIP_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext('govshare-audit-ship:' || $1))";
const PARTITION_LOCK = 0x60_5a_a0_02;

export class AuditStore {
  private readonly partitions = new Set<string>();

  constructor(readonly pool: pg.Pool) {}

  /**
   * A store on its own small pool. An idle connection that breaks (the server restarts) is dropped
   * and reported, never thrown: the gateway keeps serving into the streams meanwhile.
   */
  static open(url: string, onError: (err: Error) => void = () => undefined): AuditStore {
    const pool = new pg.Pool({
      connectionString: url,
      max: 4,
      connectionTimeoutMillis: 2000,
      idleTimeoutMillis: 30_000,
      statement_timeout: 10_000,
      application_name: 'govshare-audit',
    });
    pool.on('error', onError);
    return new AuditStore(pool);
  }

  close(): Promise<void> {
    return this.pool.end();
  }

  /** Every instance's shipping position. */
  async positions(): Promise<Map<string, ShippingPosition>> {
    const { rows } = await this.query<{ instance: string; seq: string; hash: string; stream_id: string }>(
      'SELECT instance, seq, hash, stream_id FROM audit_shipping',
    );
    return new Map(
      rows.map((row) => [row.instance, { seq: Number(row.seq), hash: row.hash, streamId: row.stream_id }]),
    );
  }

  /**
   * Stores a batch of one instance's chain, continuing `from` (undefined: the chain's first batch), and
   * moves the position to the batch's last record, in one transaction. Returns false (nothing stored)
   * when the stored position is not `from`: another shipper got there first.
   */
  async append(
    instance: string,
    from: ShippingPosition | undefined,
    batch: ShippedRecord[],
  ): Promise<boolean> {
    if (batch.length === 0) return true;
    await this.ensurePartitions(batch.map((r) => r.ms));
    return this.transaction(async (client) => {
      await client.query(SHIP_LOCK_SQL, [instance]);
      const { rows } = await client.query<{ seq: string; hash: string }>(
        'SELECT seq, hash FROM audit_shipping WHERE instance = $1',
        [instance],
      );
      const stored = rows[0];
      const continues = stored
        ? from !== undefined && Number(stored.seq) === from.seq && stored.hash === from.hash
        : from === undefined;
      if (!continues) return false;
      // COPY: the position check above (under the instance's lock) already guarantees that none of these
      // rows is stored, so no conflict handling is needed, and COPY is the cheapest way in.
      await copyRows(
        client,
        RECORD_COPY,
        batch.map((r) => recordRow(instance, r)),
      );
      const subjects = batch.flatMap((r) =>
        (r.record.subjects ?? []).map((subject) => copyLine([subject, r.ms, r.n, instance, r.seq])),
      );
      if (subjects.length > 0) await copyRows(client, SUBJECT_COPY, subjects);
      const last = batch[batch.length - 1]!;
      await client.query(
        `INSERT INTO audit_shipping (instance, seq, hash, stream_id, shipped_at) VALUES ($1, $2, $3, $4, now())
         ON CONFLICT (instance) DO UPDATE SET seq = $2, hash = $3, stream_id = $4, shipped_at = now()`,
        [instance, last.seq, last.hash, last.id],
      );
      return true;
    });
  }

  /** Records matching the filters, newest first, after `search.after`. */
  async search(search: StoreSearch): Promise<StoredRow[]> {
    const params: unknown[] = [];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const subject = search.filters.find((f) => f[0] === 'subject');
    // With a subject, the subjects table drives (its key is subject, then time) and joins the record.
    const t = subject ? 's' : 'r';
    const where: string[] = [];
    if (subject) where.push(`s.subject = ${param(subject[1])}`);
    for (const filter of search.filters) {
      if (filter[0] === 'disclosedBefore') {
        where.push(`(NOT r.investigation OR r.id_ms < ${param(filter[1])})`);
      } else if (filter[0] !== 'subject') {
        where.push(`${COLUMN[filter[0]]} = ${param(filter[1])}`);
      }
    }
    if (search.fromMs !== undefined) where.push(`${t}.id_ms >= ${param(search.fromMs)}`);
    if (search.toMs !== undefined) where.push(`${t}.id_ms < ${param(search.toMs)}`);
    if (search.after) {
      const { ms, n, instance } = search.after;
      where.push(`(${t}.id_ms, ${t}.id_n, ${t}.instance) < (${param(ms)}, ${param(n)}, ${param(instance)})`);
    }
    const order = `ORDER BY ${t}.id_ms DESC, ${t}.id_n DESC, ${t}.instance DESC`;
    const join = 'JOIN audit_records r ON r.instance = s.instance AND r.seq = s.seq AND r.id_ms = s.id_ms';
    const filtered = where.length ? `WHERE ${where.join(' AND ')}` : '';
    let sql: string;
    if (subject && search.filters.length === 1) {
      // The subject alone: take the page from the subjects' key first, then join only its rows (the
      // planner otherwise may join every record of a busy person before it sorts and limits).
      sql = `SELECT r.instance, r.seq, r.id_ms, r.id_n, r.prev, r.hash, r.rec FROM
        (SELECT s.instance, s.seq, s.id_ms, s.id_n FROM audit_subjects s ${filtered} ${order}
          LIMIT ${param(search.limit)}) s ${join} ${order}`;
    } else {
      const from = subject ? `audit_subjects s ${join}` : 'audit_records r';
      sql = `SELECT r.instance, r.seq, r.id_ms, r.id_n, r.prev, r.hash, r.rec FROM ${from} ${filtered}
        ${order} LIMIT ${param(search.limit)}`;
    }
    const { rows } = await this.query<RowText>(sql, params);
    return rows.map(toRow);
  }

  /** One instance's records in chain order from `fromSeq`, at most `limit` (for verification). */
  async chain(instance: string, fromSeq: number, limit: number): Promise<StoredRow[]> {
    const { rows } = await this.query<RowText>(
      `SELECT instance, seq, id_ms, id_n, prev, hash, rec FROM audit_records
       WHERE instance = $1 AND seq >= $2 ORDER BY seq LIMIT $3`,
      [instance, fromSeq, limit],
    );
    return rows.map(toRow);
  }

  /** The stream id of one shipped record, if the store holds it. */
  async streamIdOf(instance: string, seq: number): Promise<string | undefined> {
    const { rows } = await this.query<{ id_ms: string; id_n: string }>(
      'SELECT id_ms, id_n FROM audit_records WHERE instance = $1 AND seq = $2',
      [instance, seq],
    );
    return rows[0] && `${rows[0].id_ms}-${rows[0].id_n}`;
  }

  /**
   * Stores checkpoints of one instance (readable ones: their payload parsed), each once whatever the
   * retries; the shipper hands over only those whose records are stored.
   */
  async appendCheckpoints(instance: string, checkpoints: readonly StoredCheckpoint[]): Promise<void> {
    const rows = checkpoints.filter((cp) => cp.parsed);
    if (rows.length === 0) return;
    await this.query(
      `INSERT INTO audit_checkpoints (instance, id_ms, id_n, seq, from_seq, payload, sig, alg, signer, tst)
       SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::text[],
         $8::text[], $9::text[], $10::text[])
       ON CONFLICT DO NOTHING`,
      [
        instance,
        rows.map((cp) => parseStreamId(cp.id).ms),
        rows.map((cp) => parseStreamId(cp.id).n),
        rows.map((cp) => cp.parsed!.seq),
        rows.map((cp) => cp.parsed!.from ?? null),
        rows.map((cp) => cp.payload),
        rows.map((cp) => cp.sig),
        rows.map((cp) => cp.alg ?? ''),
        rows.map((cp) => cp.signer ?? null),
        rows.map((cp) => cp.tst ?? null),
      ],
    );
  }

  /** Stream id of the instance's newest stored checkpoint, if any. */
  async lastCheckpointId(instance: string): Promise<string | undefined> {
    const { rows } = await this.query<{ id_ms: string; id_n: string }>(
      'SELECT id_ms, id_n FROM audit_checkpoints WHERE instance = $1 ORDER BY id_ms DESC, id_n DESC LIMIT 1',
      [instance],
    );
    return rows[0] && `${rows[0].id_ms}-${rows[0].id_n}`;
  }

  /** Every stored checkpoint of the instance, in stream order (about one per thousand records). */
  async checkpoints(instance: string): Promise<StoredCheckpoint[]> {
    const { rows } = await this.query<CheckpointRow>(
      `SELECT id_ms, id_n, payload, sig, alg, signer, tst FROM audit_checkpoints
       WHERE instance = $1 ORDER BY id_ms, id_n`,
      [instance],
    );
    return rows.map(checkpointOf);
  }

  /** The first stored checkpoint with a tree head that covers seq (from < seq ≤ its seq). */
  async checkpointCovering(instance: string, seq: number): Promise<StoredCheckpoint | undefined> {
    const { rows } = await this.query<CheckpointRow>(
      `SELECT id_ms, id_n, payload, sig, alg, signer, tst FROM audit_checkpoints
       WHERE instance = $1 AND seq >= $2 AND from_seq < $2 ORDER BY seq, id_ms, id_n LIMIT 1`,
      [instance, seq],
    );
    return rows[0] && checkpointOf(rows[0]);
  }

  /** Instances with records in the store. */
  async instances(): Promise<string[]> {
    const { rows } = await this.query<{ instance: string }>(
      'SELECT instance FROM audit_shipping ORDER BY instance',
    );
    return rows.map((row) => row.instance);
  }

  /** Creates the monthly partitions (records and subjects) the given times fall in, once per process. */
  private async ensurePartitions(times: number[]): Promise<void> {
    const wanted = new Map<string, { fromMs: number; toMs: number }>();
    for (const ms of times) {
      const month = monthPartition(ms);
      if (!this.partitions.has(month.suffix)) wanted.set(month.suffix, month);
    }
    if (wanted.size === 0) return;
    await this.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK]);
      for (const [suffix, { fromMs, toMs }] of wanted) {
        // suffix is yYYYYmMM from a date, the bounds integers: nothing from input reaches the DDL.
        for (const table of ['audit_records', 'audit_subjects']) {
          await client.query(
            `CREATE TABLE IF NOT EXISTS ${table}_${suffix} PARTITION OF ${table} FOR VALUES FROM (${fromMs}) TO (${toMs})`,
          );
        }
      }
    });
    for (const suffix of wanted.keys()) this.partitions.add(suffix);
  }

  /**
   * Runs `work` in one transaction on a client of its own: committed when it returns, rolled back when
   * it throws (as AUDIT_STORE_UNAVAILABLE). A client that failed may be broken, so the pool discards it.
   */
  async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.connect();
    let failed = false;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      failed = true;
      await client.query('ROLLBACK').catch(() => undefined);
      throw unavailable(err);
    } finally {
      client.release(failed);
    }
  }

  /**
   * A client for a transaction. The pool listens for errors of idle clients only; one checked out can
   * still be told the server is going away between two queries, so it gets a listener of its own (its
   * next query fails, which the caller handles).
   */
  private async connect(): Promise<pg.PoolClient> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw unavailable(err);
    }
    if (!guarded.has(client)) {
      guarded.add(client);
      client.on('error', () => undefined);
    }
    return client;
  }

  private async query<R extends pg.QueryResultRow>(
    sql: string,
    params: unknown[] = [],
  ): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(sql, params);
    } catch (err) {
      throw unavailable(err);
    }
  }
}

interface CheckpointRow {
  id_ms: string;
  id_n: string;
  payload: string;
  sig: string;
  alg: string;
  signer: string | null;
  tst: string | null;
}

function checkpointOf(row: CheckpointRow): StoredCheckpoint {
  return readCheckpoint(`${row.id_ms}-${row.id_n}`, {
    payload: row.payload,
    sig: row.sig,
    alg: row.alg,
    signer: row.signer ?? undefined,
    tst: row.tst ?? undefined,
  });
}

interface RowText {
  instance: string;
  seq: string;
  id_ms: string;
  id_n: string;
  prev: string;
  hash: string;
  rec: string;
}

function toRow(row: RowText): StoredRow {
  return {
    instance: row.instance,
    seq: Number(row.seq),
    ms: Number(row.id_ms),
    n: Number(row.id_n),
    prev: row.prev,
    hash: row.hash,
    rec: row.rec,
  };
}

function unavailable(err: unknown): Error {
  if (err instanceof AuditStoreUnavailable) return err;
  return new AuditStoreUnavailable(`the PostgreSQL audit store failed: ${(err as Error).message}`);
}

/**
 * The audit store's schema, as versioned migrations kept in the repository. `migrate` applies the ones
 * a database lacks, in order, each in its own transaction, under an advisory lock so that two processes
 * starting at once do not race; `govshare init` and `govshare migrate` call it. A migration, once
 * released, is never edited: a change is a new migration.
 */
import type pg from 'pg';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Arbitrary constant naming govshare's migration lock among the database's advisory locks. */
const MIGRATION_LOCK = 0x60_5a_a0_01;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'audit store: records and subjects partitioned by month, shipping positions',
    sql: `
-- One row per audit record, in its instance's chain. id_ms and id_n are the Redis stream id (<ms>-<n>):
-- the search order (newest first: id_ms, id_n, instance, read backwards along the indexes) and the
-- partition key (monthly ranges of id_ms).
-- rec is the canonical JSON exactly as chained, so the chain can be re-verified from this table alone.
CREATE TABLE audit_records (
  instance      text     COLLATE "C" NOT NULL,
  seq           bigint   NOT NULL,
  id_ms         bigint   NOT NULL,
  id_n          bigint   NOT NULL,
  prev          text     NOT NULL,
  hash          text     NOT NULL,
  rec           text     NOT NULL,
  request_id    text     NOT NULL,
  kind          text     NOT NULL,
  action        text     NOT NULL,
  decision      text     NOT NULL,
  reason_code   text,
  consumer_dept text,
  system_id     text,
  provider_dept text,
  resource      text,
  grant_id      text,
  PRIMARY KEY (instance, seq, id_ms)
) PARTITION BY RANGE (id_ms);

CREATE INDEX audit_records_order ON audit_records (id_ms, id_n, instance);
CREATE INDEX audit_records_consumer ON audit_records (consumer_dept, id_ms, id_n, instance);
CREATE INDEX audit_records_system ON audit_records (consumer_dept, system_id, id_ms, id_n, instance);
CREATE INDEX audit_records_provider ON audit_records (provider_dept, id_ms, id_n, instance);
CREATE INDEX audit_records_resource ON audit_records (resource, id_ms, id_n, instance);
CREATE INDEX audit_records_grant ON audit_records (grant_id, id_ms, id_n, instance);
CREATE INDEX audit_records_request ON audit_records (request_id);
CREATE INDEX audit_records_decision ON audit_records (decision, reason_code, id_ms, id_n, instance);

-- The subjects (keyed hashes) of each record, one row each, so that "who used this person's record" is
-- an index range scan in time order.
CREATE TABLE audit_subjects (
  subject  text   NOT NULL,
  id_ms    bigint NOT NULL,
  id_n     bigint NOT NULL,
  instance text   COLLATE "C" NOT NULL,
  seq      bigint NOT NULL,
  PRIMARY KEY (subject, id_ms, id_n, instance)
) PARTITION BY RANGE (id_ms);

-- How far each instance's chain is shipped: the last record copied, in chain order.
CREATE TABLE audit_shipping (
  instance   text        PRIMARY KEY,
  seq        bigint      NOT NULL,
  hash       text        NOT NULL,
  stream_id  text        NOT NULL,
  shipped_at timestamptz NOT NULL DEFAULT now()
);
`,
  },
  {
    version: 2,
    name: 'audit archive segments',
    sql: `
-- Months past retention, exported to signed segments (audit/archive.ts) and then dropped.
CREATE TABLE audit_archives (
  month       text        PRIMARY KEY,
  segment     text        NOT NULL,
  records     bigint      NOT NULL,
  sha256      text        NOT NULL,
  archived_at timestamptz NOT NULL DEFAULT now()
);

-- Where each instance's stored chain now starts: the last record archived (its successor links to it).
CREATE TABLE audit_archived_heads (
  instance text   COLLATE "C" PRIMARY KEY,
  seq       bigint NOT NULL,
  hash      text   NOT NULL,
  stream_id text   NOT NULL
);
`,
  },
  {
    version: 3,
    name: 'audit store: signed checkpoints with their tree heads and timestamps',
    sql: `
-- The signed checkpoints of each instance, copied from its checkpoint stream once the records they vouch
-- for are stored, so tree heads and inclusion proofs outlive the trimmed streams. payload, sig, alg,
-- signer and tst are the stream entry's fields exactly (see audit/checkpoint.ts); seq and from_seq are
-- read from the payload (from_seq is NULL on checkpoints written before tree heads). id_ms and id_n are
-- the checkpoint's stream id.
CREATE TABLE audit_checkpoints (
  instance  text   COLLATE "C" NOT NULL,
  id_ms     bigint NOT NULL,
  id_n      bigint NOT NULL,
  seq       bigint NOT NULL,
  from_seq  bigint,
  payload   text   NOT NULL,
  sig       text   NOT NULL,
  alg       text   NOT NULL,
  signer    text,
  tst       text,
  PRIMARY KEY (instance, id_ms, id_n)
);

-- "Which checkpoint covers seq s": from_seq < s <= seq.
CREATE INDEX audit_checkpoints_seq ON audit_checkpoints (instance, seq);
`,
  },
  {
    version: 4,
    name: 'audit store: the investigation flag of data records (citizen transparency delay)',
    sql: `
-- True when the grant a data call was made under carried the investigation flag: a citizen's
-- transparency query shows such a call only once the configured delay has passed.
-- A constant default: no table rewrite, and records shipped before keep false.
ALTER TABLE audit_records ADD COLUMN investigation boolean NOT NULL DEFAULT false;
`,
  },
];

export interface MigrationResult {
  applied: Migration[];
  /** The schema version after the run. */
  version: number;
}

/** Applies the migrations the database lacks, in order; returns what it applied. */
export async function migrate(
  pool: pg.Pool,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<MigrationResult> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS govshare_schema_migrations (
      version    integer     PRIMARY KEY,
      name       text        NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const done = new Set(
      (await client.query<{ version: number }>('SELECT version FROM govshare_schema_migrations')).rows.map(
        (row) => row.version,
      ),
    );
    const applied: Migration[] = [];
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(migration.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO govshare_schema_migrations (version, name) VALUES ($1, $2)', [
          migration.version,
          migration.name,
        ]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
      applied.push(migration);
    }
    const version = Math.max(0, ...done, ...applied.map((m) => m.version));
    return { applied, version };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
}

/** The schema version of a database (0 before the first migration). */
export async function schemaVersion(pool: pg.Pool): Promise<number> {
  const exists = await pool.query("SELECT to_regclass('govshare_schema_migrations') AS t");
  if (!exists.rows[0]?.t) return 0;
  const { rows } = await pool.query<{ v: number | null }>(
    'SELECT max(version) AS v FROM govshare_schema_migrations',
  );
  return rows[0]?.v ?? 0;
}

/** The newest version this build knows. */
export const LATEST_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));

/**
 * The PostgreSQL audit store (issue 15): shipping rate, search latency over millions of stored records,
 * Redis memory per unshipped record and PostgreSQL size per million records, each against a baseline
 * measured in the same run. Loopback only, bounded; a private redis-server (AOF everysec) and a private
 * PostgreSQL (scripts/lib/local-postgres.ts: fsync off) are started here and stopped at the end.
 *
 *   npx tsc -p . && node dist/bench/audit-store.js [--quick] [--json FILE]
 *
 * --quick: 1 000 000 stored records, 100 000 written and shipped (~3 min); full: 10 000 000 stored,
 * 200 000 written and shipped (~20-25 min on 2 cores). Method and results: bench/README.md.
 *
 * 1. Shipping. N records are appended through AuditWriter (4 instances, group commit) to Redis, with no
 *    shipper running; Redis `used_memory` before and after gives the bytes per unshipped record. Then
 *    AuditShipper.shipAll() is timed until it is caught up (the store already holds the generated
 *    records below, so the indexes are their real size). Baseline: the same rows, read back from the
 *    store, inserted by multi-row `INSERT … SELECT * FROM unnest($1::…[], …)` in batches of the same size
 *    into an unindexed, unpartitioned copy of the two tables (pg-copy-streams is not installed, so there
 *    is no COPY FROM STDIN client; unnest is the fastest plain-`pg` bulk insert).
 * 2. Search. The stored records are generated in SQL (`INSERT … SELECT generate_series`), not through
 *    Redis: each row is a plausible canonical record, its subject a real HMAC-SHA-256 of an ID number
 *    under the bench's subject secret (so `searchAudit({ subject })` finds it), its `hash` the SHA-256 of
 *    (prev + rec) with `prev` the previous row's `hash` NOT recomputed (the chain does not verify). The
 *    search cost does not depend on hash validity: no query reads prev or hash beyond returning them.
 *    Secondary indexes and keys are dropped for the load and rebuilt after it from the migration's own
 *    definitions (pg_get_indexdef), then ANALYZE. Queries go through `searchAudit` with the store; the
 *    baseline runs the very SQL text and parameters the store sent (captured from its pool) directly
 *    with `pg`, one after the other per query, so the ratio is govshare's overhead (positions, stream
 *    tails in Redis, JSON parsing, merging, cursors).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { AuditRecord } from '../audit/record.js';
import { type AuditQuery, searchAudit } from '../audit/search.js';
import { AuditShipper } from '../audit/shipper.js';
import { migrate } from '../audit/store/migrations.js';
import { AuditStore, monthPartition } from '../audit/store/store.js';
import { subjectHash } from '../audit/subject.js';
import { AuditWriter } from '../audit/writer.js';
import { createRedisClient, type RedisClient } from '../platform/redis.js';
import { startLocalPostgres } from '../scripts/lib/local-postgres.js';
import { startLocalRedis } from '../scripts/lib/local-redis.js';
import { requireBinary } from '../scripts/lib/local-tools.js';
import { readCpuMs } from './lib/children.js';
import { environment } from './lib/report.js';
import { benchSigner, DAY_MS } from './lib/search-audit.js';
import { f2, int, type Latency, seededRandom, summarize } from './lib/search-stats.js';

const { values: args } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, json: { type: 'string' } },
});
const QUICK = args.quick;
const STORED = QUICK ? 1_000_000 : 10_000_000;
const SHIPPED = QUICK ? 100_000 : 200_000;
const QUERIES = QUICK ? 300 : 1000;
const LOAD_CHUNK = 250_000;
const INSTANCES = 4;
const DEPARTMENTS = 200;
const SYSTEMS_PER_DEPT = 10;
const RESOURCES = 5000;
const PROVIDERS = 60;
const PEOPLE = 5_000_000;
const DAYS = 60;
const LIMIT = 50;
/** Page of the department + day query reached by following cursors for the "later page" runs. */
const LATER_PAGE = 5;
const SHIP_BATCH = 1000;
const TARGET_SHIP_PER_S = 20_000;
const TARGET_P95_MS = 50;
const PREFIX = 'bench:';
const SECRET = Buffer.alloc(32, 7);

const startedAt = performance.now();
const log = (line: string) =>
  console.log(`[${((performance.now() - startedAt) / 1000).toFixed(1).padStart(6)} s] ${line}`);

// ---------------------------------------------------------------------------------------------------
// The data: cardinalities shared by the SQL generator and the records written through Redis.

const endMs = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;
const startMs = endMs - DAYS * DAY_MS;
const deptCode = (d: number) => `11420100MB${String(4_000_000 + d).padStart(7, '0')}X`;
const personId = (p: number) => `42${String(p).padStart(16, '0')}`;
/**
 * Who is looked up: 60% anyone of the 5 million, 30% one of a "often checked" 100 000, 10% one of a
 * "very often checked" 1 000 (e.g. recipients re-checked by several systems). u in [0, 1).
 */
const personOf = (u: number, v: number) => Math.floor(v * (u < 0.6 ? PEOPLE : u < 0.9 ? 100_000 : 1000));
/** Departments are skewed too: d = floor(200 · u²) (department 0 calls most). */
const deptOf = (u: number) => Math.floor(DEPARTMENTS * u * u);

/** HMAC-SHA-256 as two SHA-256 passes, so that SQL can compute exactly subjectHash's value. */
function hmacPads(secret: Buffer): { inner: Buffer; outer: Buffer } {
  const key = Buffer.alloc(64);
  secret.copy(key);
  return { inner: key.map((b) => b ^ 0x36), outer: key.map((b) => b ^ 0x5c) } as {
    inner: Buffer;
    outer: Buffer;
  };
}

/**
 * INSERT of rows [from, to) of the generated trail into both tables in one statement. Row i belongs to
 * instance i mod 4 (seq i div 4 + 1), at an evenly spread time (~0.5 s apart at 10M, so id_n = 0). The
 * random draws are hashes of i (hashint8extended), the same in both tables and on every run. $1 and $2
 * are the HMAC pads, $3 the first row, $4 the end, $5 the rows in all.
 */
const GENERATE_SQL = `
WITH g AS (
  SELECT i,
    'bench-gw-' || (i % ${INSTANCES} + 1) AS instance,
    i / ${INSTANCES} + 1 AS seq,
    ${startMs}::bigint + (i * ${DAYS * DAY_MS}::numeric / $5::bigint)::bigint AS ms,
    u1, u2, u3, u4, u5, u6
  FROM generate_series($3::bigint, $4::bigint - 1) AS i,
  LATERAL (SELECT
    (hashint8extended(i, 1) & 281474976710655)::float8 / 281474976710656 AS u1,
    (hashint8extended(i, 2) & 281474976710655)::float8 / 281474976710656 AS u2,
    (hashint8extended(i, 3) & 281474976710655)::float8 / 281474976710656 AS u3,
    (hashint8extended(i, 4) & 281474976710655)::float8 / 281474976710656 AS u4,
    (hashint8extended(i, 5) & 281474976710655)::float8 / 281474976710656 AS u5,
    (hashint8extended(i, 6) & 281474976710655)::float8 / 281474976710656 AS u6) AS u
), h AS (
  SELECT g.*,
    floor(${DEPARTMENTS} * u1 * u1)::int AS dept,
    floor(${RESOURCES} * u3 * u3)::int AS res,
    floor(u5 * CASE WHEN u4 < 0.6 THEN ${PEOPLE} WHEN u4 < 0.9 THEN 100000 ELSE 1000 END)::bigint AS person,
    CASE WHEN u6 < 0.03 THEN 'deny' WHEN u6 < 0.035 THEN 'error' ELSE 'allow' END AS decision
  FROM g
), k AS (
  SELECT h.*,
    '11420100MB' || lpad((4000000 + dept)::text, 7, '0') || 'X' AS dept_code,
    'system-' || lpad((dept * ${SYSTEMS_PER_DEPT} + floor(u2 * ${SYSTEMS_PER_DEPT})::int)::text, 4, '0') AS system_id,
    lpad((101001 + res / 100)::text, 6, '0') || '/' || lpad((res + 1)::text, 6, '0') AS resource,
    '11420100MB' || lpad((4000000 + res % ${PROVIDERS} * 3)::text, 7, '0') || 'X' AS provider_dept,
    encode(sha256($2::bytea || sha256($1::bytea || convert_to('42' || lpad(person::text, 16, '0'), 'UTF8'))), 'hex') AS subject,
    to_char(to_timestamp(ms / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS time,
    '01JBENCH' || lpad(to_hex(i), 12, '0') AS request_id,
    CASE decision WHEN 'deny' THEN (ARRAY['GRANT_EXPIRED','QUOTA_EXCEEDED','PURPOSE_NOT_GRANTED'])[1 + i % 3]
      WHEN 'error' THEN 'UPSTREAM_TIMEOUT' END AS reason_code
  FROM h
), r AS (
  SELECT k.*,
    'g-' || system_id || '-' || res AS grant_id,
    '{"action":"data.lookup","actor":{"certSerial":"' || to_hex(1335446000000 + dept) || '","deptCode":"' || dept_code ||
    '","systemId":"' || system_id || '","userId":"u-' || (10000 + i % 977) || '"},"decision":"' || decision ||
    '","grantId":"g-' || system_id || '-' || res || '","instance":"' || instance ||
    '","items":["name","idNumber","address","householdNo"],"kind":"data","latencyMs":' || ((30 + i % 50) / 10.0)::float8 ||
    ',"providerDept":"' || provider_dept || '","purpose":"minimum living allowance eligibility check",' ||
    coalesce('"reasonCode":"' || reason_code || '",', '') || '"requestId":"' || request_id ||
    '","requestSignatureHash":"' || md5(request_id) || md5(time) || '","resource":"' || resource || '",' ||
    CASE decision WHEN 'allow' THEN '"responseDigest":"' || md5(subject) || md5(request_id) || '",' ELSE '' END ||
    '"rowCount":' || CASE decision WHEN 'allow' THEN 1 ELSE 0 END ||
    ',"status":' || CASE decision WHEN 'allow' THEN 200 WHEN 'deny' THEN 403 ELSE 502 END ||
    ',"subjects":["' || subject || '"],"time":"' || time || '"}' AS rec
  FROM k
), ins AS (
  INSERT INTO audit_records (instance, seq, id_ms, id_n, prev, hash, rec, request_id, kind, action, decision,
    reason_code, consumer_dept, system_id, provider_dept, resource, grant_id)
  SELECT instance, seq, ms, 0,
    CASE WHEN seq = 1 THEN repeat('0', 64) ELSE encode(sha256(convert_to((i - ${INSTANCES})::text, 'UTF8')), 'hex') END,
    encode(sha256(convert_to(i::text, 'UTF8')), 'hex'),
    rec, request_id, 'data', 'data.lookup', decision, reason_code, dept_code, system_id, provider_dept, resource, grant_id
  FROM r
)
INSERT INTO audit_subjects (subject, id_ms, id_n, instance, seq)
SELECT subject, ms, 0, instance, seq FROM r`;

interface SavedIndex {
  table: string;
  name: string;
  /** CREATE INDEX … or ALTER TABLE … ADD CONSTRAINT … */
  create: string;
  constraint: boolean;
}

/** The indexes and keys the migrations put on the two partitioned tables, to drop and rebuild. */
async function savedIndexes(pool: pg.Pool): Promise<SavedIndex[]> {
  const { rows } = await pool.query<{ table: string; name: string; def: string; con: string | null }>(
    `SELECT c.relname AS table, i.relname AS name, pg_get_indexdef(i.oid) AS def,
            pg_get_constraintdef(con.oid) AS con
     FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
     LEFT JOIN pg_constraint con ON con.conindid = i.oid AND con.conrelid = c.oid
     WHERE c.relname IN ('audit_records', 'audit_subjects') ORDER BY c.relname, i.relname`,
  );
  return rows.map((r) => ({
    table: r.table,
    name: r.name,
    constraint: r.con !== null,
    // A partitioned table's index reads "ON ONLY t": created on the parent, it recurses to the partitions.
    create: r.con
      ? `ALTER TABLE ${r.table} ADD CONSTRAINT ${r.name} ${r.con}`
      : r.def.replace(' ON ONLY ', ' ON '),
  }));
}

async function generateStore(pool: pg.Pool): Promise<{ loadSeconds: number; indexSeconds: number }> {
  // The partitions of the 60 days, named and bounded as the store names them.
  const months = new Map<string, ReturnType<typeof monthPartition>>();
  for (let ms = startMs; ms < Date.now() + DAY_MS; ms += DAY_MS) {
    const m = monthPartition(ms);
    months.set(m.suffix, m);
  }
  for (const [suffix, { fromMs, toMs }] of months) {
    for (const table of ['audit_records', 'audit_subjects']) {
      await pool.query(
        `CREATE TABLE IF NOT EXISTS ${table}_${suffix} PARTITION OF ${table} FOR VALUES FROM (${fromMs}) TO (${toMs})`,
      );
    }
  }
  const indexes = await savedIndexes(pool);
  for (const index of indexes) {
    await pool.query(
      index.constraint
        ? `ALTER TABLE ${index.table} DROP CONSTRAINT ${index.name}`
        : `DROP INDEX ${index.name}`,
    );
  }
  const { inner, outer } = hmacPads(SECRET);
  const t0 = performance.now();
  for (let from = 0; from < STORED; from += LOAD_CHUNK) {
    const to = Math.min(STORED, from + LOAD_CHUNK);
    await pool.query(GENERATE_SQL, [inner, outer, from, to, STORED]);
    if (to % 1_000_000 === 0 || to === STORED) {
      const s = (performance.now() - t0) / 1000;
      log(`store: ${int(to)} records generated (${int(to / s)}/s)`);
    }
  }
  const loadSeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const client = await pool.connect();
  try {
    await client.query("SET maintenance_work_mem = '512MB'");
    for (const index of indexes) {
      const t = performance.now();
      await client.query(index.create);
      log(`store: ${index.name} rebuilt in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
  } finally {
    client.release();
  }
  const indexSeconds = (performance.now() - t1) / 1000;
  const t2 = performance.now();
  await pool.query('ANALYZE audit_records');
  await pool.query('ANALYZE audit_subjects');
  log(`store: ANALYZE in ${((performance.now() - t2) / 1000).toFixed(1)} s`);
  // Shipping positions of the generated instances, as the shipper would have left them.
  for (let k = 0; k < INSTANCES; k++) {
    await pool.query(
      `INSERT INTO audit_shipping (instance, seq, hash, stream_id)
       SELECT instance, seq, hash, id_ms || '-' || id_n FROM audit_records
       WHERE instance = $1 ORDER BY seq DESC LIMIT 1`,
      [`bench-gw-${k + 1}`],
    );
  }
  return { loadSeconds, indexSeconds };
}

/** Heap + TOAST + indexes of every partition of the two tables, bytes. */
async function storeSize(pool: pg.Pool): Promise<{ records: number; subjects: number; rows: number }> {
  const { rows } = await pool.query<{ parent: string; bytes: string }>(
    `SELECT p.relname AS parent, sum(pg_total_relation_size(c.oid))::bigint AS bytes
     FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
     WHERE p.relname IN ('audit_records', 'audit_subjects') GROUP BY p.relname`,
  );
  const count = await pool.query<{ n: string }>('SELECT count(*) AS n FROM audit_records');
  const of = (name: string) => Number(rows.find((r) => r.parent === name)?.bytes ?? 0);
  return { records: of('audit_records'), subjects: of('audit_subjects'), rows: Number(count.rows[0]!.n) };
}

// ---------------------------------------------------------------------------------------------------
// 1 and 3: records written through AuditWriter, Redis memory, shipping vs a plain bulk insert.

function writtenRecord(i: number, instance: string, hashes: Map<number, string>): AuditRecord {
  const random = seededRandom(i + 1);
  const dept = deptOf(random());
  const system = dept * SYSTEMS_PER_DEPT + Math.floor(random() * SYSTEMS_PER_DEPT);
  const res = Math.floor(RESOURCES * random() ** 2);
  const person = personOf(random(), random());
  let subject = hashes.get(person);
  if (!subject) {
    subject = subjectHash(SECRET, personId(person));
    if (hashes.size < 200_000) hashes.set(person, subject);
  }
  const denied = random() < 0.03;
  const systemId = `system-${String(system).padStart(4, '0')}`;
  const requestId = `01JSHIP${i.toString(36).padStart(12, '0')}`;
  return {
    time: new Date().toISOString(),
    requestId,
    instance,
    kind: 'data',
    actor: {
      deptCode: deptCode(dept),
      systemId,
      userId: `u-${10000 + (i % 977)}`,
      certSerial: (1335446000000 + dept).toString(16),
    },
    action: 'data.lookup',
    resource: `${String(101001 + Math.floor(res / 100)).padStart(6, '0')}/${String(res + 1).padStart(6, '0')}`,
    providerDept: deptCode((res % PROVIDERS) * 3),
    grantId: `g-${systemId}-${res}`,
    purpose: 'minimum living allowance eligibility check',
    items: ['name', 'idNumber', 'address', 'householdNo'],
    rowCount: denied ? 0 : 1,
    subjects: [subject],
    decision: denied ? 'deny' : 'allow',
    ...(denied && { reasonCode: 'GRANT_EXPIRED' }),
    status: denied ? 403 : 200,
    latencyMs: 3 + (i % 50) / 10,
    requestSignatureHash: createHash('sha256').update(requestId).digest('hex'),
    ...(!denied && { responseDigest: createHash('sha256').update(subject).digest('hex') }),
  };
}

/**
 * CPU ms used so far by the postmaster and each process it started (backends, WAL writer, …), by pid:
 * a backend that exits between two readings takes its CPU time with it, so deltas are taken per pid.
 */
function postgresCpuMs(postmaster: number): Map<number, number> {
  const byPid = new Map([[postmaster, readCpuMs(postmaster)]]);
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmaster) byPid.set(Number(entry), readCpuMs(Number(entry)) || 0);
    } catch {
      // gone meanwhile
    }
  }
  return byPid;
}

const cpuDelta = (before: Map<number, number>, after: Map<number, number>) =>
  [...after].reduce((sum, [pid, ms]) => sum + ms - (before.get(pid) ?? 0), 0);

/** CPU per record (µs) of this process, Redis and PostgreSQL while `fn` runs. */
async function cpuOf<T>(
  pids: { redis: number; postgres: number },
  records: () => number,
  fn: () => Promise<T>,
) {
  const node0 = process.cpuUsage();
  const redis0 = readCpuMs(pids.redis);
  const pg0 = postgresCpuMs(pids.postgres);
  const value = await fn();
  const node = process.cpuUsage(node0);
  const n = records();
  return {
    value,
    cpuUsPerRecord: {
      node: (node.user + node.system) / n,
      redis: ((readCpuMs(pids.redis) - redis0) * 1000) / n,
      postgres: (cpuDelta(pg0, postgresCpuMs(pids.postgres)) * 1000) / n,
    },
  };
}
const cpuText = (c: { node: number; redis: number; postgres: number }) =>
  `${int(c.node)} · ${int(c.redis)} · ${int(c.postgres)}`;

const usedMemory = async (redis: RedisClient) =>
  Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? Number.NaN);

async function writeToRedis(redisUrl: string, redis: RedisClient) {
  const instances = Array.from({ length: INSTANCES }, (_, k) => `ship-gw-${k + 1}`);
  const clients = instances.map(() => createRedisClient(redisUrl));
  const signer = benchSigner();
  const hashes = new Map<number, string>();
  const before = await usedMemory(redis);
  const t0 = performance.now();
  let next = 0;
  try {
    await Promise.all(
      instances.map(async (instance, k) => {
        const writer = new AuditWriter(clients[k]!, PREFIX, instance, {
          signer,
          maxBatch: 1000,
          timeoutMs: 30_000,
        });
        await writer.start();
        await Promise.all(
          Array.from({ length: 200 }, async () => {
            while (next < SHIPPED) {
              const i = next++;
              await writer.append(writtenRecord(i, instance, hashes));
            }
          }),
        );
        await writer.close();
      }),
    );
  } finally {
    await Promise.all(clients.map((c) => c.quit()));
  }
  const seconds = (performance.now() - t0) / 1000;
  const after = await usedMemory(redis);
  const streamLength = (
    await Promise.all(instances.map((i) => redis.xlen(`${PREFIX}{audit:${i}}:stream`)))
  ).reduce((a, b) => a + b, 0);
  return { records: SHIPPED, seconds, perSecond: SHIPPED / seconds, before, after, streamLength };
}

type Column = [name: string, type: string];
const RECORD_COLUMNS: Column[] = [
  ['instance', 'text'],
  ['seq', 'bigint'],
  ['id_ms', 'bigint'],
  ['id_n', 'bigint'],
  ['prev', 'text'],
  ['hash', 'text'],
  ['rec', 'text'],
  ['request_id', 'text'],
  ['kind', 'text'],
  ['action', 'text'],
  ['decision', 'text'],
  ['reason_code', 'text'],
  ['consumer_dept', 'text'],
  ['system_id', 'text'],
  ['provider_dept', 'text'],
  ['resource', 'text'],
  ['grant_id', 'text'],
];
const SUBJECT_COLUMNS: Column[] = [
  ['subject', 'text'],
  ['id_ms', 'bigint'],
  ['id_n', 'bigint'],
  ['instance', 'text'],
  ['seq', 'bigint'],
];
const unnestInsert = (table: string, columns: Column[]) =>
  `INSERT INTO ${table} (${columns.map((c) => c[0]).join(', ')}) SELECT * FROM unnest(${columns
    .map((c, k) => `$${k + 1}::${c[1]}[]`)
    .join(', ')})`;

/**
 * The shipped rows read back from the store; `run` then bulk-inserts them batch by batch into plain
 * tables.
 */
async function prepareBaseline(pool: pg.Pool) {
  // LIKE copies the columns and NOT NULL, no index, no key, no partitioning; logged like the store.
  await pool.query('CREATE TABLE bench_plain_records (LIKE audit_records)');
  await pool.query('CREATE TABLE bench_plain_subjects (LIKE audit_subjects)');
  const records = await pool.query<unknown[]>({
    text: `SELECT ${RECORD_COLUMNS.map((c) => c[0]).join(', ')} FROM audit_records
           WHERE instance LIKE 'ship-gw-%' ORDER BY instance, seq`,
    rowMode: 'array',
  } as pg.QueryArrayConfig);
  const subjects = await pool.query<unknown[]>({
    text: `SELECT ${SUBJECT_COLUMNS.map((c) => c[0]).join(', ')} FROM audit_subjects
           WHERE instance LIKE 'ship-gw-%' ORDER BY instance, seq`,
    rowMode: 'array',
  } as pg.QueryArrayConfig);
  const recordRows = records.rows;
  const subjectRows = subjects.rows;
  const columnsOf = (rows: unknown[][], width: number) =>
    Array.from({ length: width }, (_, c) => rows.map((row) => row[c]));
  const insertRecords = unnestInsert('bench_plain_records', RECORD_COLUMNS);
  const insertSubjects = unnestInsert('bench_plain_subjects', SUBJECT_COLUMNS);
  const run = async () => {
    const client = await pool.connect();
    const t0 = performance.now();
    try {
      // One transaction per batch, as the shipper commits one per batch (subjects batch alongside).
      for (let from = 0; from < recordRows.length; from += SHIP_BATCH) {
        await client.query('BEGIN');
        await client.query(
          insertRecords,
          columnsOf(recordRows.slice(from, from + SHIP_BATCH), RECORD_COLUMNS.length),
        );
        await client.query(
          insertSubjects,
          columnsOf(subjectRows.slice(from, from + SHIP_BATCH), SUBJECT_COLUMNS.length),
        );
        await client.query('COMMIT');
      }
    } finally {
      client.release();
    }
    const seconds = (performance.now() - t0) / 1000;
    return {
      records: recordRows.length,
      subjects: subjectRows.length,
      seconds,
      perSecond: recordRows.length / seconds,
    };
  };
  return { records: recordRows.length, run };
}

// ---------------------------------------------------------------------------------------------------
// 2: search through searchAudit vs the same SQL straight through pg.

interface Captured {
  text: string;
  values: unknown[];
}

/** A pool for the store that remembers the last search SQL it sent (text and parameters). */
function capturingPool(url: string): { pool: pg.Pool; last: () => Captured | undefined } {
  const pool = new pg.Pool({ connectionString: url, max: 4, application_name: 'govshare-audit' });
  pool.on('error', () => undefined);
  let last: Captured | undefined;
  const query = pool.query.bind(pool) as (text: string, values?: unknown[]) => Promise<unknown>;
  (pool as unknown as { query: typeof query }).query = (text: string, values?: unknown[]) => {
    if (typeof text === 'string' && text.includes('ORDER BY') && text.includes('LIMIT')) {
      last = { text, values: values ?? [] };
    }
    return query(text, values);
  };
  return { pool, last: () => last };
}

interface Kind {
  name: string;
  govshare: number[];
  baseline: number[];
  records: number;
  pages: number;
}

async function searchPart(
  redis: RedisClient,
  store: AuditStore,
  last: () => Captured | undefined,
  direct: pg.Pool,
) {
  const random = seededRandom(29);
  const kind = (name: string): Kind => ({ name, govshare: [], baseline: [], records: 0, pages: 0 });
  const kinds = {
    subjectFirst: kind(`by subject, first page (limit ${LIMIT})`),
    subjectLater: kind('by subject, next page (keyset cursor of page 1), a very often checked person'),
    deptFirst: kind(`department + one day, first page (limit ${LIMIT})`),
    deptLater: kind(`department + one day, page ${LATER_PAGE} (keyset cursor)`),
  };
  const timedPair = async (kind: Kind, query: AuditQuery, warm: boolean) => {
    const t0 = performance.now();
    const page = await searchAudit(redis, PREFIX, SECRET, query, store);
    const gov = performance.now() - t0;
    const sql = last();
    if (!sql) throw new Error('the store sent no search SQL');
    const t1 = performance.now();
    const direct_ = await direct.query(sql.text, sql.values);
    const base = performance.now() - t1;
    // Everything is shipped, so the stream tails add nothing: both answers are the same rows.
    if (direct_.rowCount !== page.records.length)
      throw new Error(`baseline found ${direct_.rowCount} rows, searchAudit ${page.records.length}`);
    if (!warm) {
      kind.govshare.push(gov);
      kind.baseline.push(base);
      kind.records += page.records.length;
      kind.pages++;
    }
    return page;
  };
  const subjectQuery = () => personId(personOf(random(), random()));
  const dayQuery = () => {
    const dept = deptCode(deptOf(random()));
    const day = Math.floor(random() * (DAYS - 1));
    const from = new Date(startMs + day * DAY_MS).toISOString();
    const to = new Date(startMs + (day + 1) * DAY_MS).toISOString();
    return { deptCode: dept, from, to, limit: LIMIT };
  };
  for (let q = -QUERIES / 10; q < QUERIES; q++) {
    const warm = q < 0;
    // Subject: a person drawn as the records draw them (the often-checked come up more often).
    await timedPair(kinds.subjectFirst, { subject: subjectQuery(), limit: LIMIT }, warm);
    // A later page: a very often checked person (~100 records at 1M, ~1000 at 10M).
    const busy = personId(Math.floor(random() * 1000));
    const page1 = await searchAudit(redis, PREFIX, SECRET, { subject: busy, limit: LIMIT }, store);
    if (page1.nextCursor) {
      await timedPair(kinds.subjectLater, { subject: busy, limit: LIMIT, cursor: page1.nextCursor }, warm);
    }
    const day = dayQuery();
    let page = await timedPair(kinds.deptFirst, day, warm);
    for (let p = 2; p <= LATER_PAGE && page.nextCursor; p++) {
      const query = { ...day, cursor: page.nextCursor };
      page =
        p === LATER_PAGE
          ? await timedPair(kinds.deptLater, query, warm)
          : await searchAudit(redis, PREFIX, SECRET, query, store);
    }
  }
  return Object.values(kinds).map((k) => ({
    name: k.name,
    govshare: summarize(k.govshare),
    baseline: summarize(k.baseline),
    meanRecords: k.records / Math.max(1, k.pages),
  }));
}

/** EXPLAIN (ANALYZE, BUFFERS) of one query of each kind, for the README. */
async function explain(direct: pg.Pool, sql: Captured): Promise<string> {
  const { rows } = await direct.query<{ 'QUERY PLAN': string }>(
    `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sql.text}`,
    sql.values,
  );
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}

// ---------------------------------------------------------------------------------------------------

const latencyRow = (name: string, gov: Latency, base: Latency, records: number) =>
  `| ${name} | ${gov.n} | ${f2(records)} | ${f2(gov.p50)} / ${f2(gov.p95)} / ${f2(gov.p99)} | ${f2(base.p50)} / ${f2(base.p95)} / ${f2(base.p99)} | ${f2(gov.p95 / base.p95)} | +${f2(gov.p50 - base.p50)} | ${gov.p95 < TARGET_P95_MS ? 'yes' : '**no**'} |`;
const mib = (bytes: number) => bytes / 1048576;

async function main() {
  console.log(environment(requireBinary('redis-server', 'redis-server')));
  console.log(
    `mode: ${QUICK ? '--quick' : 'full'}; ${int(STORED)} stored records (${INSTANCES} instances, ${DEPARTMENTS} departments, ` +
      `${DEPARTMENTS * SYSTEMS_PER_DEPT} systems, ${RESOURCES} resources, ${int(PEOPLE)} people, ${DAYS} days); ` +
      `${int(SHIPPED)} written through Redis and shipped`,
  );
  const [redisServer, pgServer] = await Promise.all([
    startLocalRedis({ appendfsync: 'everysec' }),
    startLocalPostgres(),
  ]);
  // Ctrl-C or a SIGTERM (all.js over its limit) must not leave the two servers and their data behind.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void Promise.all([redisServer.stop(), pgServer.stop()]).finally(() => process.exit(130));
    });
  }
  const redis = createRedisClient(redisServer.url);
  const { pool, last } = capturingPool(pgServer.url);
  const store = new AuditStore(pool);
  const direct = new pg.Pool({ connectionString: pgServer.url, max: 2 });
  direct.on('error', () => undefined);
  try {
    const pgVersion = (await direct.query<{ server_version: string }>('SHOW server_version')).rows[0]!
      .server_version;
    console.log(`postgres ${pgVersion} (shared_buffers 128MB, fsync off: scripts/lib/local-postgres.ts)`);
    await migrate(direct);
    log(`store: generating ${int(STORED)} records in SQL (indexes dropped, rebuilt after)`);
    const load = await generateStore(direct);
    const size = await storeSize(direct);
    log(`store: ${int(size.rows)} rows, ${f2(mib(size.records + size.subjects) / 1024)} GiB`);
    // Their instances are known to Redis, as a real deployment's are (each search scans their tails).
    await redis.sadd(
      `${PREFIX}audit:instances`,
      ...Array.from({ length: INSTANCES }, (_, k) => `bench-gw-${k + 1}`),
    );

    log(`redis: writing ${int(SHIPPED)} records through AuditWriter (no shipper running)`);
    const written = await writeToRedis(redisServer.url, redis);
    log(
      `redis: ${int(written.perSecond)} records/s; used_memory +${f2(mib(written.after - written.before))} MiB`,
    );
    const shipper = new AuditShipper(redis, PREFIX, store, { batch: SHIP_BATCH });
    const pids = { redis: redisServer.process.pid!, postgres: pgServer.process.pid! };
    const t0 = performance.now();
    let shipped = 0;
    const shipCpu = await cpuOf(
      pids,
      () => shipped,
      async () => {
        for (;;) {
          const result = await shipper.shipAll();
          shipped += result.shipped;
          if (result.instances.some((i) => i.broken))
            throw new Error(`shipping broke: ${JSON.stringify(result)}`);
          if (result.instances.every((i) => i.backlog === 0)) break;
        }
      },
    );
    const shipSeconds = (performance.now() - t0) / 1000;
    const afterShip = await usedMemory(redis);
    log(`ship: ${int(shipped)} records in ${f2(shipSeconds)} s = ${int(shipped / shipSeconds)}/s`);
    const prepared = await prepareBaseline(direct);
    const baselineRun = await cpuOf(pids, () => prepared.records, prepared.run);
    const baseline = { ...baselineRun.value, cpuUsPerRecord: baselineRun.cpuUsPerRecord };
    log(
      `ship baseline: ${int(baseline.records)} rows in ${f2(baseline.seconds)} s = ${int(baseline.perSecond)}/s`,
    );
    if (baseline.records !== shipped || shipped !== SHIPPED) {
      throw new Error(`shipped ${shipped}, stored ${baseline.records}, written ${SHIPPED}`);
    }
    await direct.query('ANALYZE audit_records');
    await direct.query('ANALYZE audit_subjects');

    log(`search: ${QUERIES} rounds (after ${QUERIES / 10} warm-up rounds)`);
    const searches = await searchPart(redis, store, last, direct);
    // One plan of each kind for the README.
    const plans: Record<string, string> = {};
    await searchAudit(redis, PREFIX, SECRET, { subject: personId(7), limit: LIMIT }, store);
    plans.subject = await explain(direct, last()!);
    const busyFirst = await searchAudit(redis, PREFIX, SECRET, { subject: personId(7), limit: LIMIT }, store);
    if (busyFirst.nextCursor) {
      const next = { subject: personId(7), limit: LIMIT, cursor: busyFirst.nextCursor };
      await searchAudit(redis, PREFIX, SECRET, next, store);
      plans.subjectNext = await explain(direct, last()!);
    }
    const day = startMs + 30 * DAY_MS;
    await searchAudit(
      redis,
      PREFIX,
      SECRET,
      {
        deptCode: deptCode(3),
        from: new Date(day).toISOString(),
        to: new Date(day + DAY_MS).toISOString(),
        limit: LIMIT,
      },
      store,
    );
    plans.department = await explain(direct, last()!);
    log('search: done');

    const total = size.records + size.subjects;
    console.log(`\n## Shipping ${int(SHIPPED)} records from Redis into a store of ${int(STORED)}\n`);
    console.log(
      '| | records | s | records/s | CPU µs/record: this process · Redis · PostgreSQL | target | met? |\n|---|---:|---:|---:|---|---|---|',
    );
    console.log(
      `| written through AuditWriter (${INSTANCES} instances × 200 callers; not part of the ratio) | ${int(written.records)} | ${f2(written.seconds)} | ${int(written.perSecond)} | | | |`,
    );
    const shipRate = shipped / shipSeconds;
    console.log(
      `| govshare: AuditShipper.shipAll() until caught up (batches of ${SHIP_BATCH}: XRANGE read ahead, chain check, COPY records and subjects, position, trim; 3 instances at a time) | ${int(shipped)} | ${f2(shipSeconds)} | ${int(shipRate)} | ${cpuText(shipCpu.cpuUsPerRecord)} | ≥ ${int(TARGET_SHIP_PER_S)}/s | ${shipRate >= TARGET_SHIP_PER_S ? 'yes' : '**no**'} |`,
    );
    console.log(
      `| baseline: the same rows by INSERT … unnest(arrays), ${SHIP_BATCH} per transaction, into unindexed unpartitioned tables | ${int(baseline.records)} | ${f2(baseline.seconds)} | ${int(baseline.perSecond)} | ${cpuText(baseline.cpuUsPerRecord)} (rows read beforehand) | | |`,
    );
    console.log(`\nshipper / plain bulk insert: **${f2(shipRate / baseline.perSecond)}**`);
    console.log(
      `\n## Search over ${int(size.rows)} stored records (searchAudit with the store vs the same SQL through pg)\n`,
    );
    console.log(
      '| query | runs | mean records | govshare p50 / p95 / p99 ms | baseline SQL p50 / p95 / p99 ms | p95 ratio | added p50 ms | p95 < 50 ms? |\n|---|---:|---:|---|---|---:|---:|---|',
    );
    for (const s of searches) console.log(latencyRow(s.name, s.govshare, s.baseline, s.meanRecords));
    console.log('\n## Memory and size\n');
    console.log('| | value |\n|---|---:|');
    const perRecord = (written.after - written.before) / written.streamLength;
    console.log(
      `| Redis used_memory per unshipped record (${int(written.streamLength)} in the streams, +${f2(mib(written.after - written.before))} MiB) | ${int(perRecord)} bytes |`,
    );
    console.log(
      `| Redis used_memory after shipping (streams trimmed to the last checkpoint) | ${f2(mib(afterShip))} MiB |`,
    );
    console.log(
      `| PostgreSQL audit_records partitions (heap + TOAST + 9 indexes incl. the key) per million records | ${f2(mib(size.records) / (size.rows / 1e6))} MiB |`,
    );
    console.log(
      `| PostgreSQL audit_subjects partitions (one subject per record) per million records | ${f2(mib(size.subjects) / (size.rows / 1e6))} MiB |`,
    );
    console.log(`| both, per million records | **${f2(mib(total) / (size.rows / 1e6))} MiB** |`);
    console.log(
      `| generating ${int(STORED)} records in SQL / rebuilding the indexes | ${f2(load.loadSeconds)} s / ${f2(load.indexSeconds)} s |`,
    );
    console.log('\n### Plans (EXPLAIN ANALYZE, BUFFERS) of one query of each kind\n');
    console.log(
      `subject:\n\`\`\`\n${plans.subject}\n\`\`\`\nsubject, next page:\n\`\`\`\n${plans.subjectNext ?? '(no second page)'}\n\`\`\`\ndepartment + day:\n\`\`\`\n${plans.department}\n\`\`\``,
    );
    console.log(
      `\nload average at the end ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}; wall time ${((performance.now() - startedAt) / 1000).toFixed(0)} s`,
    );
    if (args.json) {
      writeFileSync(
        args.json,
        `${JSON.stringify(
          {
            quick: QUICK,
            stored: size.rows,
            write: written,
            ship: {
              records: shipped,
              seconds: shipSeconds,
              perSecond: shipRate,
              cpuUsPerRecord: shipCpu.cpuUsPerRecord,
            },
            baseline,
            searches,
            size,
            load,
            redisBytesPerRecord: perRecord,
          },
          null,
          2,
        )}\n`,
      );
    }
  } finally {
    await redis.quit().catch(() => undefined);
    await pool.end().catch(() => undefined);
    await direct.end().catch(() => undefined);
    await Promise.all([redisServer.stop(), pgServer.stop()]);
  }
}

await main();

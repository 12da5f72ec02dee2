import t, { type Test } from 'tap';
import { auditKeys } from '../../audit/keys.js';
import type { StoredAuditRecord } from '../../audit/record.js';
import { type AuditQuery, searchAudit } from '../../audit/search.js';
import { AuditShipper, continueChain } from '../../audit/shipper.js';
import { LATEST_VERSION, migrate, schemaVersion } from '../../audit/store/migrations.js';
import { AuditStore, monthPartition } from '../../audit/store/store.js';
import { subjectHash } from '../../audit/subject.js';
import { verifyAudit } from '../../audit/verify.js';
import { AuditWriter } from '../../audit/writer.js';
import type { RedisClient } from '../../platform/redis.js';
import { usePostgres } from '../helpers/postgres.js';
import { useRedis } from '../helpers/redis.js';
import { BASE_TIME, makeRecord, makeSigner, SUBJECT_SECRET } from './fixtures.js';

const signer = makeSigner();
const PERSON = '110101199003070011';
const at = (i: number) => new Date(BASE_TIME + i * 1000).toISOString();

async function setUp(t: Test) {
  const { redis, prefix } = await useRedis(t);
  const db = await usePostgres(t);
  const store = new AuditStore(db.pool);
  await migrate(store.pool);
  return { redis, prefix, db, store };
}

async function writeRecords(
  redis: RedisClient,
  prefix: string,
  instance: string,
  from: number,
  count: number,
  options: { checkpointEvery?: number; backlogMax?: number } = {},
) {
  const writer = new AuditWriter(redis, prefix, instance, { signer, ...options });
  await Promise.all(
    Array.from({ length: count }, (_, k) => {
      const i = from + k;
      return writer.append(
        makeRecord(instance, {
          time: at(i),
          requestId: `${instance}-${i}`,
          actor: { deptCode: i % 2 ? 'D1' : 'D2', systemId: 'sys' },
          providerDept: 'P1',
          resource: i % 3 ? 'R1' : 'R2',
          ...(i % 10 === 0 ? { subjects: [subjectHash(SUBJECT_SECRET, PERSON)] } : {}),
          ...(i % 7 === 0 ? { decision: 'deny' as const, reasonCode: 'GRANT_MISSING', status: 403 } : {}),
        }),
      );
    }),
  );
  return writer;
}

async function allPages(redis: RedisClient, prefix: string, query: AuditQuery, store?: AuditStore) {
  const records: StoredAuditRecord[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await searchAudit(
      redis,
      prefix,
      SUBJECT_SECRET,
      { ...query, ...(cursor ? { cursor } : {}) },
      store,
    );
    records.push(...page.records);
    cursor = page.nextCursor;
    if (!cursor) return records;
  }
  throw new Error('too many pages');
}

const ids = (records: StoredAuditRecord[]) => records.map((r) => r.requestId);

t.test('migrations apply once, in order, and record the version', async (t) => {
  const db = await usePostgres(t);
  t.equal(await schemaVersion(db.pool), 0);
  const first = await migrate(db.pool);
  t.equal(first.applied.length, LATEST_VERSION);
  t.equal(first.version, LATEST_VERSION);
  const again = await migrate(db.pool);
  t.same(again.applied, [], 'nothing applied twice');
  t.equal(await schemaVersion(db.pool), LATEST_VERSION);
  const both = await Promise.all([migrate(db.pool), migrate(db.pool)]);
  t.same(
    both.map((r) => r.applied.length),
    [0, 0],
  );
});

t.test('monthly partitions are named and bounded by UTC month', async (t) => {
  const p = monthPartition(Date.parse('2026-12-31T23:59:59.999Z'));
  t.same(p, {
    suffix: 'y2026m12',
    fromMs: Date.parse('2026-12-01T00:00:00Z'),
    toMs: Date.parse('2027-01-01T00:00:00Z'),
  });
  t.equal(monthPartition(Date.parse('2027-01-01T00:00:00Z')).suffix, 'y2027m01');
});

t.test(
  'the shipper copies every record once, in chain order, and trims only what is shipped and signed',
  async (t) => {
    const { redis, prefix, db, store } = await setUp(t);
    const keys = auditKeys(prefix);
    const writer = await writeRecords(redis, prefix, 'gw-a', 0, 2500, { checkpointEvery: 1000 });
    await writeRecords(redis, prefix, 'gw-b', 0, 300);
    await writer.checkpoint();
    const shipper = new AuditShipper(redis, prefix, store, { batch: 700 });
    // Two shippers at once (two workers): the store's lock and position check make them take turns.
    const [one, two] = await Promise.all([
      shipper.shipAll(),
      new AuditShipper(redis, prefix, store).shipAll(),
    ]);
    t.equal(one.shipped + two.shipped, 2800, 'every record shipped by one of them');
    const { rows } = await db.pool.query(
      'SELECT instance, count(*)::int AS n, count(DISTINCT seq)::int AS d, max(seq)::int AS top FROM audit_records GROUP BY instance ORDER BY instance',
    );
    t.same(rows, [
      { instance: 'gw-a', n: 2500, d: 2500, top: 2500 },
      { instance: 'gw-b', n: 300, d: 300, top: 300 },
    ]);
    t.same((await shipper.shipAll()).shipped, 0, 'a second run ships nothing');
    const subjects = await db.pool.query('SELECT count(*)::int AS n FROM audit_subjects');
    t.equal(subjects.rows[0].n, 250 + 30, 'one subject row per record that names the person');

    // gw-a: checkpoint at 2500 and shipped to 2500 → trimmed to its last record. gw-b has no checkpoint.
    t.equal(await redis.xlen(keys.stream('gw-a')), 1, 'the stream keeps only the record its head follows');
    t.equal(await redis.xlen(keys.stream('gw-b')), 300, 'nothing trimmed without a signed checkpoint');
    t.same(await redis.hmget(keys.shipped('gw-a'), 'seq'), ['2500']);

    const verified = await verifyAudit(redis, prefix, { publicKey: signer.certificate.publicKey, store });
    t.ok(verified.ok, 'the chain verifies from the store and the stream tail');
    t.same(
      verified.instances.map((i) => [i.instance, i.records]),
      [
        ['gw-a', 2500],
        ['gw-b', 300],
      ],
    );

    // Records written after the trim continue the chain and ship in turn.
    const later = await writeRecords(redis, prefix, 'gw-a', 2500, 10);
    t.equal((await shipper.shipAll()).shipped, 10);
    t.ok((await verifyAudit(redis, prefix, { publicKey: signer.certificate.publicKey, store })).ok);
    await Promise.all([writer.close(), later.close()]);
  },
);

t.test('a tampered row in PostgreSQL is found by audit verify', async (t) => {
  const { redis, prefix, db, store } = await setUp(t);
  const writer = await writeRecords(redis, prefix, 'gw-t', 0, 50);
  await writer.close();
  await new AuditShipper(redis, prefix, store).shipAll();
  await db.pool.query(
    `UPDATE audit_records SET rec = replace(rec, '"decision":"allow"', '"decision":"deny"') WHERE instance = 'gw-t' AND seq = 20`,
  );
  const result = await verifyAudit(redis, prefix, { publicKey: signer.certificate.publicKey, store });
  t.notOk(result.ok);
  t.equal(result.instances[0]?.firstBroken?.seq, 20);
  t.equal(result.instances[0]?.firstBroken?.reason, 'hash-mismatch');
  await db.pool.query(`DELETE FROM audit_records WHERE instance = 'gw-t' AND seq = 30`);
  await db.pool.query(
    `UPDATE audit_records SET rec = replace(rec, '"decision":"deny"', '"decision":"allow"') WHERE instance = 'gw-t' AND seq = 20`,
  );
  const gap = await verifyAudit(redis, prefix, { publicKey: signer.certificate.publicKey, store });
  t.equal(gap.instances[0]?.firstBroken?.reason, 'seq-gap', 'a deleted row breaks the chain too');
});

t.test('the shipper refuses a stream that does not continue the shipped chain', async (t) => {
  const { redis, prefix, store } = await setUp(t);
  const keys = auditKeys(prefix);
  const writer = await writeRecords(redis, prefix, 'gw-x', 0, 5);
  await writer.close();
  const entries = (await redis.xrange(keys.stream('gw-x'), '-', '+')) as [string, string[]][];
  t.equal(continueChain(undefined, entries).records.length, 5);
  t.notOk(continueChain(undefined, entries).broken);
  const tampered = entries.map(
    ([id, f]) => [id, f.map((v) => v.replace('"D1"', '"D9"'))] as [string, string[]],
  );
  const cut = continueChain(undefined, tampered);
  t.equal(cut.records.length, 1, 'the record before the first tampered one (seq 2, D1) passes');
  t.match(cut.broken, /seq 2\): its hash is not/);
  t.match(continueChain(undefined, entries.slice(1)).broken, /has seq 2, the shipped chain needs 1/, 'a gap');
  // Rewrite a record in the stream: shipping stops at it and says so; nothing after it is stored.
  // A stream only accepts ids above its top, so the whole stream is rebuilt with record 2 changed.
  await redis.del(keys.stream('gw-x'));
  for (const [index, [id, fields]] of entries.entries()) {
    const written =
      index === 2 ? fields.map((v) => v.replace('"D2"', '"D9"').replace('"D1"', '"D9"')) : fields;
    await redis.xadd(keys.stream('gw-x'), id, ...written);
  }
  const result = await new AuditShipper(redis, prefix, store).shipAll();
  t.match(result.instances[0]?.broken, /does not link|hash is not/);
  t.equal(result.shipped, 2, 'the records before the broken one are shipped');
});

t.test('search reads shipped records from PostgreSQL and the unshipped tail from the stream', async (t) => {
  const { redis, prefix, store } = await setUp(t);
  const w1 = await writeRecords(redis, prefix, 'gw-a', 0, 400);
  const w2 = await writeRecords(redis, prefix, 'gw-b', 0, 200);
  await new AuditShipper(redis, prefix, store).shipAll();
  // Unshipped: 30 more on each instance, interleaved in time with nothing shipped after them.
  const w3 = await writeRecords(redis, prefix, 'gw-a', 400, 30);
  const w4 = await writeRecords(redis, prefix, 'gw-b', 200, 30);
  const queries: AuditQuery[] = [
    {},
    { deptCode: 'D1' },
    { providerDept: 'P1', resource: 'R2' },
    { subject: PERSON },
    { decision: 'deny', reasonCode: 'GRANT_MISSING' },
    { requestId: 'gw-a-415' },
    { requestId: 'gw-b-17' },
    { from: at(100), to: at(420), deptCode: 'D2' },
  ];
  for (const query of queries) {
    for (const limit of [7, 100, 500]) {
      const withStore = await allPages(redis, prefix, { ...query, limit }, store);
      const streamsOnly = await allPages(redis, prefix, { ...query, limit });
      t.same(
        ids(withStore),
        ids(streamsOnly),
        `${JSON.stringify(query)} limit ${limit}: same as the streams`,
      );
      t.equal(new Set(ids(withStore)).size, withStore.length, 'no record twice');
    }
  }
  t.equal((await allPages(redis, prefix, {}, store)).length, 660);
  t.equal((await allPages(redis, prefix, { subject: PERSON }, store)).length, 43 + 23);
  await Promise.all([w1.close(), w2.close(), w3.close(), w4.close()]);
});

t.test('past the high-water mark appends fail with AUDIT_BACKLOG until the shipper catches up', async (t) => {
  const { redis, prefix, store } = await setUp(t);
  const writer = new AuditWriter(redis, prefix, 'gw-hw', { signer, backlogMax: 20 });
  for (let i = 0; i < 20; i++) await writer.append(makeRecord('gw-hw', { time: at(i) }));
  t.same(writer.shipping().unshipped, 20);
  await t.rejects(writer.append(makeRecord('gw-hw', { time: at(21) })), { code: 'AUDIT_BACKLOG' });
  await new AuditShipper(redis, prefix, store).shipAll();
  const appended = await writer.append(makeRecord('gw-hw', { time: at(22) }));
  t.equal(appended.seq, 21, 'the refused record was never stored; the chain goes on');
  t.same(writer.shipping().unshipped, 1);
  await writer.close();
});

t.test('records with tabs, newlines, backslashes and quotes are stored byte for byte', async (t) => {
  const { redis, prefix, store } = await setUp(t);
  const writer = new AuditWriter(redis, prefix, 'gw-esc', { signer });
  const awkward = 'tab\there\nnew line\r\\N not null \\ "quoted" 中文 \u0001';
  await writer.append(makeRecord('gw-esc', { requestId: 'esc-1', detail: { note: awkward } }));
  await writer.append(makeRecord('gw-esc', { requestId: 'esc-2', purpose: awkward.slice(0, 40) }));
  await writer.close();
  t.equal((await new AuditShipper(redis, prefix, store).shipAll()).shipped, 2);
  const [stored] = await store.chain('gw-esc', 1, 1);
  t.equal(JSON.parse(stored!.rec).detail.note, awkward);
  await redis.del(auditKeys(prefix).stream('gw-esc'));
  const report = await verifyAudit(redis, prefix, {
    publicKey: signer.certificate.publicKey,
    store,
    instance: 'gw-esc',
  });
  t.equal(report.instances[0]?.records, 2, 'read from the store alone');
  t.not(report.instances[0]?.firstBroken?.reason, 'hash-mismatch', 'every stored rec hashes as chained');
  t.not(report.instances[0]?.firstBroken?.seq, 1);
});

import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { archiveExpired, verifyArchive } from '../../audit/archive.js';
import { AuditShipper } from '../../audit/shipper.js';
import { migrate } from '../../audit/store/migrations.js';
import { AuditStore } from '../../audit/store/store.js';
import { verifyAudit } from '../../audit/verify.js';
import { AuditWriter } from '../../audit/writer.js';
import type { RedisClient } from '../../platform/redis.js';
import { usePostgres } from '../helpers/postgres.js';
import { useRedis } from '../helpers/redis.js';
import { makeRecord, makeSigner } from './fixtures.js';

const signer = makeSigner();
const YEAR_MS = 365 * 86_400_000;

async function setUp(t: Test) {
  const { redis, prefix } = await useRedis(t);
  const db = await usePostgres(t);
  const store = new AuditStore(db.pool);
  await migrate(store.pool);
  const dir = mkdtempSync(join(tmpdir(), 'govshare-archive-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return { redis, prefix, db, store, dir };
}

async function write(redis: RedisClient, prefix: string, instance: string, from: number, count: number) {
  const writer = new AuditWriter(redis, prefix, instance, { signer, checkpointEvery: 10 });
  for (let i = from; i < from + count; i++)
    await writer.append(makeRecord(instance, { requestId: `${instance}-${i}` }));
  await writer.close();
}

t.test('months past retention are archived to signed segments, dropped, and verify offline', async (t) => {
  const { redis, prefix, db, store, dir } = await setUp(t);
  await write(redis, prefix, 'gw-a', 0, 30);
  await write(redis, prefix, 'gw-b', 0, 12);
  await new AuditShipper(redis, prefix, store).shipAll();
  const options = { dir, retentionDays: 1095, signer };

  t.same(await archiveExpired(store, options), [], 'nothing is older than three years');
  const archived = await archiveExpired(store, { ...options, now: () => Date.now() + 4 * YEAR_MS });
  t.equal(archived.length, 1, 'the month of the records, four years on');
  t.equal(archived[0]!.records, 42);
  const files = readdirSync(dir).sort();
  t.same(files, [`audit-${archived[0]!.month}.jsonl.gz`, `audit-${archived[0]!.month}.manifest.json`]);
  for (const file of files) t.equal(statSync(join(dir, file)).mode & 0o777, 0o600, `${file} is 0600`);
  const left = await db.pool.query('SELECT count(*)::int AS n FROM audit_records');
  t.equal(left.rows[0].n, 0, 'the month is gone from the store');

  const report = await verifyArchive(dir, signer.certificate);
  t.ok(report.ok, `the segment verifies: ${JSON.stringify(report.segments)}`);
  t.equal(report.segments[0]!.records, 42);
  const chain = await verifyAudit(redis, prefix, { publicKey: signer.certificate.publicKey, store });
  t.ok(chain.ok, `the trail still verifies, from the archived heads on: ${JSON.stringify(chain.instances)}`);

  const otherCa = makeSigner('another CA').certificate;
  t.match((await verifyArchive(dir, otherCa)).segments[0]!.problems, [/not issued by the given CA/]);

  const copy = (name: string) => {
    const target = mkdtempSync(join(tmpdir(), `govshare-archive-${name}-`));
    t.teardown(() => rmSync(target, { recursive: true, force: true }));
    cpSync(dir, target, { recursive: true });
    return target;
  };
  const segmentFile = files[0]!;
  const manifestFile = files[1]!;
  const flipped = copy('flipped');
  const bytes = readFileSync(join(flipped, segmentFile));
  bytes[bytes.length - 20] = bytes[bytes.length - 20]! ^ 1;
  writeFileSync(join(flipped, segmentFile), bytes);
  const flippedReport = await verifyArchive(flipped, signer.certificate);
  t.notOk(flippedReport.ok);
  t.match(flippedReport.segments[0]!.problems, [/SHA-256 differs/], 'a changed segment byte is caught');

  const edited = copy('edited');
  const manifest = JSON.parse(readFileSync(join(edited, manifestFile), 'utf8'));
  manifest.manifest.records = 41;
  writeFileSync(join(edited, manifestFile), JSON.stringify(manifest));
  t.match(
    (await verifyArchive(edited, signer.certificate)).segments[0]!.problems,
    [/signature does not verify/, /42 records, the manifest says 41/],
    'an edited manifest is caught',
  );
  t.notOk(
    (await verifyArchive(mkdtempSync(join(tmpdir(), 'govshare-empty-')), signer.certificate)).ok,
    'no segments is no proof',
  );

  // The chain goes on after the archive: a fresh store process recreates the month and links on.
  const later = new AuditStore(db.pool);
  await write(redis, prefix, 'gw-a', 30, 5);
  await new AuditShipper(redis, prefix, later).shipAll();
  const after = await verifyAudit(redis, prefix, { publicKey: signer.certificate.publicKey, store: later });
  t.ok(after.ok, `records after the archive link to it: ${JSON.stringify(after.instances)}`);
  const stored = await db.pool.query(
    "SELECT min(seq)::int AS first FROM audit_records WHERE instance = 'gw-a'",
  );
  t.equal(stored.rows[0].first, 31);
});

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { canonicalJson } from '../../audit/canonical.js';
import { readChainRange } from '../../audit/chain-range.js';
import {
  type CheckpointPayload,
  readCheckpointEntry,
  recordsRoot,
  signCheckpoint,
  writeCheckpoint,
} from '../../audit/checkpoint.js';
import type { RawEntry } from '../../audit/entries.js';
import { auditKeys } from '../../audit/keys.js';
import { AuditShipper } from '../../audit/shipper.js';
import { migrate } from '../../audit/store/migrations.js';
import { AuditStore } from '../../audit/store/store.js';
import { TsaClient } from '../../audit/tsa.js';
import { verifyAudit } from '../../audit/verify.js';
import { AuditWriter } from '../../audit/writer.js';
import type { RedisClient } from '../../platform/redis.js';
import { usePostgres } from '../helpers/postgres.js';
import { useRedis } from '../helpers/redis.js';
import { makeTsaCertificates, startTestTsa } from '../helpers/tsa-server.js';
import { makeRecord, makeSigner } from './fixtures.js';

const signer = makeSigner();
const publicKey = signer.certificate.publicKey;

async function checkpointsOf(redis: RedisClient, prefix: string, instance: string) {
  const entries = (await redis.xrange(auditKeys(prefix).checkpoints(instance), '-', '+')) as RawEntry[];
  return entries.map(readCheckpointEntry);
}

async function writeRecords(writer: AuditWriter, instance: string, count: number, checkpointEvery = 0) {
  for (let i = 0; i < count; i++) {
    await writer.append(makeRecord(instance));
    if (checkpointEvery && (i + 1) % checkpointEvery === 0) await writer.checkpoint();
  }
}

t.test('each checkpoint carries the tree head over the records since the previous one', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const keys = auditKeys(prefix);
  const writer = new AuditWriter(redis, prefix, 'gw-m', { signer, checkpointEvery: 1000 });
  await writeRecords(writer, 'gw-m', 23, 10);
  await writer.close();
  const checkpoints = await checkpointsOf(redis, prefix, 'gw-m');
  t.same(
    checkpoints.map((cp) => [cp.parsed?.from, cp.parsed?.seq]),
    [
      [0, 10],
      [10, 20],
      [20, 23],
    ],
    'consecutive ranges, the last written at close',
  );
  for (const cp of checkpoints) {
    const { from, seq, root } = cp.parsed!;
    const records = await readChainRange(redis, keys, { instance: 'gw-m', fromSeq: from! + 1, toSeq: seq });
    t.equal(root, recordsRoot(records), `root of ${from! + 1}..${seq}`);
    t.notOk(cp.tst, 'no TSA configured: no token');
  }
  const report = await verifyAudit(redis, prefix, { publicKey });
  t.ok(report.ok);
  t.match(report.instances[0], {
    checkpoints: 3,
    treeHeads: 3,
    timestamps: { verified: 0, unchecked: 0, absent: 3 },
    unsignedTail: 0,
  });
});

t.test('tree heads are right whether the writer kept the records itself or reads them back', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const keys = auditKeys(prefix);
  // Writer A stops without a last checkpoint: its successor does not know records 6..9 itself.
  const first = new AuditWriter(redis, prefix, 'gw-r', { signer, checkpointEvery: 1000 });
  await writeRecords(first, 'gw-r', 5);
  await first.checkpoint();
  await writeRecords(first, 'gw-r', 4);
  const second = new AuditWriter(redis, prefix, 'gw-r', { signer, checkpointEvery: 1000 });
  await writeRecords(second, 'gw-r', 3);
  await second.checkpoint(); // 6..12, read back
  const xranges = async () =>
    Number(/cmdstat_xrange:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
  const readBefore = await xranges();
  // Appends that land while a checkpoint is being signed belong to the next one.
  const during = [
    second.checkpoint(),
    ...Array.from({ length: 20 }, () => second.append(makeRecord('gw-r'))),
  ];
  await Promise.all(during);
  await writeRecords(second, 'gw-r', 2);
  await second.close();
  t.equal(await xranges(), readBefore, 'checkpoints over records it appended read nothing back');
  const checkpoints = await checkpointsOf(redis, prefix, 'gw-r');
  t.same(checkpoints[0]!.parsed?.from, 0);
  t.same(checkpoints[1]!.parsed && [checkpoints[1]!.parsed.from, checkpoints[1]!.parsed.seq], [5, 12]);
  t.equal(checkpoints[checkpoints.length - 1]!.parsed?.seq, 34);
  for (const cp of checkpoints) {
    const { from, seq, root } = cp.parsed!;
    const records = await readChainRange(redis, keys, { instance: 'gw-r', fromSeq: from! + 1, toSeq: seq });
    t.equal(root, recordsRoot(records), `root of ${from! + 1}..${seq}`);
  }
  const report = await verifyAudit(redis, prefix, { publicKey });
  t.ok(report.ok, 'the trail verifies');
});

t.test('checkpoints from before tree heads still verify; a wrong tree head is found', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const keys = auditKeys(prefix);
  const writer = new AuditWriter(redis, prefix, 'gw-o', { signer, checkpointEvery: 1000 });
  await writeRecords(writer, 'gw-o', 8);
  await writer.close();
  await redis.del(keys.checkpoints('gw-o'));
  const head = await redis.hgetall(keys.head('gw-o'));
  const old: CheckpointPayload = { instance: 'gw-o', seq: 5, hash: '', time: new Date().toISOString() };
  const [fifth] = (await redis.xrange(keys.stream('gw-o'), '-', '+', 'COUNT', 5)).slice(-1) as RawEntry[];
  old.hash = readChainEntryHash(fifth!);
  await writeCheckpoint(redis, keys, 'gw-o', await signCheckpoint(signer, old));
  const ok = await verifyAudit(redis, prefix, { publicKey });
  t.ok(ok.ok, 'an old-style checkpoint (no from, no root) is checked by its hash');
  t.match(ok.instances[0], { checkpoints: 1, treeHeads: 0, unsignedTail: 3 });

  // A validly signed checkpoint whose root is not over its records (a writer bug, or a key holder lying).
  const wrong: CheckpointPayload = {
    instance: 'gw-o',
    seq: Number(head.seq),
    hash: head.hash!,
    time: new Date().toISOString(),
    from: 5,
    root: 'ab'.repeat(32),
  };
  await writeCheckpoint(redis, keys, 'gw-o', await signCheckpoint(signer, wrong));
  const bad = await verifyAudit(redis, prefix, { publicKey });
  t.notOk(bad.ok);
  t.match(bad.instances[0]?.firstBroken, {
    seq: 8,
    reason: 'checkpoint-root-mismatch',
    detail: /not the root over records 6\.\.8/,
  });
  // A payload with a malformed tree part is unreadable, hence refused like a bad signature.
  await writeCheckpoint(
    redis,
    keys,
    'gw-o',
    await signCheckpoint(signer, { ...wrong, from: 9, root: recordsRoot([]) }),
  );
  const unreadable = await checkpointsOf(redis, prefix, 'gw-o');
  t.equal(unreadable[2]?.parsed, undefined, 'from must be below seq');
});

function readChainEntryHash([, fields]: RawEntry): string {
  return fields[fields.indexOf('hash') + 1]!;
}

t.test('with a TSA, checkpoints carry a verified RFC 3161 token over their payload', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const tsa = await startTestTsa(t);
  const timestamper = new TsaClient({ url: tsa.url, trustAnchorsPem: tsa.caPem });
  const writer = new AuditWriter(redis, prefix, 'gw-s', { signer, timestamper, checkpointEvery: 1000 });
  await writeRecords(writer, 'gw-s', 6, 3);
  t.same(writer.timestamping(), { stamped: 2, failed: 0 });
  await writer.close();
  const checkpoints = await checkpointsOf(redis, prefix, 'gw-s');
  t.equal(checkpoints.filter((cp) => cp.tst).length, 2);

  const verified = await verifyAudit(redis, prefix, { publicKey, tsaTrustAnchorsPem: tsa.caPem });
  t.ok(verified.ok);
  t.match(verified.instances[0]?.timestamps, { verified: 2, unchecked: 0, absent: 0 });
  const unchecked = await verifyAudit(redis, prefix, { publicKey });
  t.match(unchecked.instances[0]?.timestamps, { verified: 0, unchecked: 2 }, 'no anchor: said, not hidden');

  const otherCa = readFileSync(makeTsaCertificates(tsa.dir, 'other').caFile, 'utf8');
  const untrusted = await verifyAudit(redis, prefix, { publicKey, tsaTrustAnchorsPem: otherCa });
  t.notOk(untrusted.ok);
  t.match(untrusted.instances[0]?.firstBroken, { seq: 3, reason: 'checkpoint-timestamp-invalid' });
});

t.test('a failing TSA leaves checkpoints signed only and never holds appends back', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const tsa = await startTestTsa(t, 'http-error');
  const timestamper = new TsaClient({ url: tsa.url, trustAnchorsPem: tsa.caPem, timeoutMs: 500 });
  const failures: string[] = [];
  const writer = new AuditWriter(redis, prefix, 'gw-f', {
    signer,
    timestamper,
    checkpointEvery: 1000,
    onBackgroundError: (err, during) => failures.push(`${during}: ${(err as { code?: string }).code}`),
  });
  await writeRecords(writer, 'gw-f', 4, 2);
  await tsa.stop(); // now nothing answers at all
  await writeRecords(writer, 'gw-f', 2, 2);
  t.same(failures, [
    'timestamp: AUDIT_TSA_UNAVAILABLE',
    'timestamp: AUDIT_TSA_UNAVAILABLE',
    'timestamp: AUDIT_TSA_UNAVAILABLE',
  ]);
  t.same(writer.timestamping(), { stamped: 0, failed: 3 });
  await writer.close();
  const checkpoints = await checkpointsOf(redis, prefix, 'gw-f');
  t.same(
    checkpoints.map((cp) => [cp.parsed?.seq, cp.tst]),
    [
      [2, undefined],
      [4, undefined],
      [6, undefined],
    ],
  );
  const report = await verifyAudit(redis, prefix, { publicKey, tsaTrustAnchorsPem: tsa.caPem });
  t.ok(report.ok);
  t.match(report.instances[0], { treeHeads: 3, timestamps: { absent: 3 } });
});

t.test('checkpoints are shipped to PostgreSQL and still prove the trimmed stream', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const db = await usePostgres(t);
  const store = new AuditStore(db.pool);
  await migrate(store.pool);
  const keys = auditKeys(prefix);
  const writer = new AuditWriter(redis, prefix, 'gw-p', {
    signer,
    checkpointEvery: 1000,
    backlogMax: 10_000,
  });
  await writeRecords(writer, 'gw-p', 25, 10);
  const shipper = new AuditShipper(redis, prefix, store, { batch: 7 });
  await shipper.shipAll();
  const { rows } = await db.pool.query(
    'SELECT seq::int, from_seq::int AS "from", tst FROM audit_checkpoints ORDER BY seq',
  );
  t.same(rows, [
    { seq: 10, from: 0, tst: null },
    { seq: 20, from: 10, tst: null },
  ]);
  await writer.checkpoint(); // seq 25, after its records were shipped: follows with the next round
  await shipper.shipAll();
  await shipper.shipAll();
  const after = await db.pool.query('SELECT seq::int FROM audit_checkpoints ORDER BY seq');
  t.same(
    after.rows.map((r) => r.seq),
    [10, 20, 25],
    'each once',
  );
  t.ok((await redis.xlen(keys.stream('gw-p'))) < 25, 'the stream was trimmed');
  const covering = await store.checkpointCovering('gw-p', 11);
  t.match(covering?.parsed, { from: 10, seq: 20 });
  t.equal(await store.checkpointCovering('gw-p', 26), undefined);
  const records = await readChainRange(redis, keys, { instance: 'gw-p', fromSeq: 1, toSeq: 25 }, store);
  t.equal(records.length, 25, 'store and stream give the whole range');
  const report = await verifyAudit(redis, prefix, { publicKey, store });
  t.ok(report.ok);
  t.match(report.instances[0], { records: 25, treeHeads: 3 });
  await redis.del(keys.checkpoints('gw-p'));
  const fromStore = await verifyAudit(redis, prefix, { publicKey, store });
  t.ok(fromStore.ok);
  t.match(
    fromStore.instances[0],
    { checkpoints: 3, treeHeads: 3, unsignedTail: 0 },
    'checkpoints only the store still holds are checked and vouch',
  );
  await writer.close();
  await t.rejects(readChainRange(redis, keys, { instance: 'gw-p', fromSeq: 1, toSeq: 25 }), {
    code: 'AUDIT_CHAIN_BROKEN',
    message: /neither store nor stream holds the rest/,
  });
});

t.test('canonical payloads are what is signed and timestamped', async (t) => {
  const signed = await signCheckpoint(signer, {
    instance: 'gw-c',
    seq: 3,
    hash: 'cd'.repeat(32),
    time: '2026-01-01T00:00:00.000Z',
    from: 0,
    root: 'ef'.repeat(32),
  });
  t.equal(
    signed.payload,
    canonicalJson({
      from: 0,
      hash: 'cd'.repeat(32),
      instance: 'gw-c',
      root: 'ef'.repeat(32),
      seq: 3,
      time: '2026-01-01T00:00:00.000Z',
    }),
  );
  t.equal(signed.alg, 'rsa-pss-sha256');
});

t.test('a TSA that does not answer slows no append', async (t) => {
  const { createServer } = await import('node:http');
  const server = createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const { redis, prefix } = await useRedis(t);
  const dir = mkdtempSync(join(tmpdir(), 'govshare-hang-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const caPem = readFileSync(makeTsaCertificates(dir, 'hang').caFile, 'utf8');
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  const writer = new AuditWriter(redis, prefix, 'gw-h', {
    signer,
    timestamper: new TsaClient({ url, trustAnchorsPem: caPem, timeoutMs: 1500 }),
    checkpointEvery: 1000,
    onBackgroundError: () => undefined,
  });
  await writer.append(makeRecord('gw-h'));
  const checkpoint = writer.checkpoint(); // waits for the TSA
  const started = performance.now();
  await writer.append(makeRecord('gw-h'));
  const appendMs = performance.now() - started;
  t.ok(appendMs < 500, `the append took ${Math.round(appendMs)} ms while the TSA hung`);
  await checkpoint;
  const [only] = await checkpointsOf(redis, prefix, 'gw-h');
  t.match(only, { parsed: { seq: 1 }, tst: undefined }, 'stored signed only after the timeout');
  await writer.close();
});

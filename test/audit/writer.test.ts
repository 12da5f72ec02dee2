import { createHash } from 'node:crypto';
import { once } from 'node:events';
import t from 'tap';
import { auditKeys } from '../../audit/keys.js';
import { searchAudit } from '../../audit/search.js';
import { verifyAudit } from '../../audit/verify.js';
import { AuditWriter, type AuditWriterOptions } from '../../audit/writer.js';
import { createRedisClient, type RedisClient } from '../../platform/redis.js';
import { findFreePort } from '../../scripts/lib/local-tools.js';
import { useRedis } from '../helpers/redis.js';
import { makeRecord, makeSigner, SUBJECT_SECRET } from './fixtures.js';

const signer = makeSigner();
const publicKey = signer.certificate.publicKey;

function writerFor(
  redis: RedisClient,
  prefix: string,
  instance: string,
  options: Partial<AuditWriterOptions> = {},
) {
  return new AuditWriter(redis, prefix, instance, { signer, ...options });
}

async function scriptCalls(redis: RedisClient): Promise<number> {
  const info = await redis.info('commandstats');
  let total = 0;
  for (const name of ['evalsha', 'eval'])
    total += Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
  return total;
}

t.test('appends chain from seq 1 and verify finds the chain intact', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const writer = writerFor(redis, prefix, 'gw-1');
  const results = [];
  for (let i = 0; i < 5; i++) results.push(await writer.append(makeRecord('gw-1')));
  t.same(
    results.map((r) => r.seq),
    [1, 2, 3, 4, 5],
  );
  const stored = await redis.xrange(auditKeys(prefix).stream('gw-1'), '-', '+');
  t.equal(stored.length, 5, 'every acknowledged record is in the stream');
  t.equal(stored[4]![0], results[4]!.id);
  t.same(writer.chainHead(), { seq: 5, hash: results[4]!.hash, id: results[4]!.id });
  await writer.close();
  const report = await verifyAudit(redis, prefix, { publicKey });
  t.ok(report.ok);
  t.match(report.instances, [{ instance: 'gw-1', records: 5, checkpoints: 1 }]);
  t.ok(report.recordsPerSecond > 0);
  t.ok(await redis.sismember(auditKeys(prefix).instances, 'gw-1'), 'the instance is registered');
});

t.test("appends go on after Redis's script cache was emptied (SCRIPT FLUSH, or a restart)", async (t) => {
  const { redis, prefix } = await useRedis(t);
  const writer = writerFor(redis, prefix, 'gw-1');
  await writer.append(makeRecord('gw-1'));
  await redis.script('FLUSH');
  const second = await writer.append(makeRecord('gw-1'));
  t.equal(second.seq, 2);
  t.equal(await redis.xlen(auditKeys(prefix).stream('gw-1')), 2);
  await writer.close();
  t.ok((await verifyAudit(redis, prefix, { publicKey })).ok);
});

t.test('2,000 appends with 100 in flight keep seq contiguous, batch round trips and verify', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const writer = writerFor(redis, prefix, 'gw-c', { checkpointEvery: 1000 });
  await writer.start();
  const before = await scriptCalls(redis);
  const seqs: number[] = [];
  await Promise.all(
    Array.from({ length: 100 }, async () => {
      for (let i = 0; i < 20; i++) seqs.push((await writer.append(makeRecord('gw-c'))).seq);
    }),
  );
  const scripts = (await scriptCalls(redis)) - before;
  t.same(
    seqs.sort((a, b) => a - b),
    Array.from({ length: 2000 }, (_, i) => i + 1),
  );
  t.ok(scripts < 400, `group commit: ${scripts} script round trips carried 2,000 records`);
  await writer.close();
  const report = await verifyAudit(redis, prefix, { publicKey });
  t.ok(report.ok, JSON.stringify(report.instances[0]?.firstBroken));
  t.equal(report.instances[0]!.records, 2000);
  t.ok(report.instances[0]!.checkpoints >= 2, 'a checkpoint per 1,000 records (and one at close)');
});

t.test('takeRecordFor claims each appended request id once', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const writer = writerFor(redis, prefix, 'gw-claim');
  t.notOk(writer.takeRecordFor('req-claim'), 'no record yet');
  const appended = writer.append(makeRecord('gw-claim', { requestId: 'req-claim' }));
  t.ok(writer.takeRecordFor('req-claim'), 'known as soon as append is called');
  t.notOk(writer.takeRecordFor('req-claim'), 'claimed: the writer keeps nothing more for it');
  await appended;
  await writer.close();
});

t.test('records sent in one tick share one round trip', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const writer = writerFor(redis, prefix, 'gw-b');
  await writer.start();
  const before = await scriptCalls(redis);
  await Promise.all(Array.from({ length: 200 }, () => writer.append(makeRecord('gw-b'))));
  t.equal((await scriptCalls(redis)) - before, 1, 'one append script, and no index writes');
  t.same(await redis.keys(`${prefix}*idx*`), [], 'no index keys in Redis');
  await writer.close();
});

t.test(
  'tallies count the stored records once, summed per key and field; refused records count nothing',
  async (t) => {
    const { redis, prefix } = await useRedis(t);
    const writer = writerFor(redis, prefix, 'gw-t');
    await writer.start();
    const key = `${prefix}tally-test`;
    const tally = (field: string, by = 1) => [{ key, field, by }];
    const before = Number(/cmdstat_hincrby:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
    await Promise.all([
      ...Array.from({ length: 150 }, () => writer.append(makeRecord('gw-t'), tally('allow'))),
      ...Array.from({ length: 50 }, () => writer.append(makeRecord('gw-t'), tally('deny', 2))),
      writer.append(makeRecord('gw-t')),
    ]);
    await t.rejects(writer.append(makeRecord('gw-other'), tally('allow')), { code: 'AUDIT_RECORD_INVALID' });
    await writer.close();
    t.same(await redis.hgetall(key), { allow: '150', deny: '100' });
    const after = Number(/cmdstat_hincrby:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
    t.equal(after - before, 2, 'one HINCRBY per field for the whole batch');
  },
);

t.test('a restarted writer continues the chain, also when the head key was lost', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const first = writerFor(redis, prefix, 'gw-r');
  await first.append(makeRecord('gw-r'));
  await first.append(makeRecord('gw-r'));
  await first.close();
  const second = writerFor(redis, prefix, 'gw-r');
  t.equal((await second.append(makeRecord('gw-r'))).seq, 3);
  await second.close();
  await redis.del(auditKeys(prefix).head('gw-r'));
  const third = writerFor(redis, prefix, 'gw-r');
  t.equal((await third.append(makeRecord('gw-r'))).seq, 4, 'the stream tail stands in for a lost head');
  await third.close();
  t.ok((await verifyAudit(redis, prefix, { publicKey })).ok);
});

t.test(
  'two writers with the same instance id: one conflicts, resynchronizes, the chain stays valid',
  async (t) => {
    const { redis, prefix } = await useRedis(t);
    const a = writerFor(redis, prefix, 'gw-dup');
    const b = writerFor(redis, prefix, 'gw-dup');
    await Promise.all([a.start(), b.start()]);
    t.equal((await a.append(makeRecord('gw-dup'))).seq, 1);
    await t.rejects(b.append(makeRecord('gw-dup')), { code: 'AUDIT_CHAIN_CONFLICT', statusCode: 503 });
    t.equal((await b.append(makeRecord('gw-dup'))).seq, 2, 'b resynchronized from Redis');
    await t.rejects(a.append(makeRecord('gw-dup')), { code: 'AUDIT_CHAIN_CONFLICT' });
    t.equal((await a.append(makeRecord('gw-dup'))).seq, 3);
    await Promise.all([a.close(), b.close()]);
    const report = await verifyAudit(redis, prefix, { publicKey });
    t.ok(report.ok, JSON.stringify(report.instances[0]?.firstBroken));
    t.equal(report.instances[0]!.records, 3, 'refused batches wrote nothing');
  },
);

t.test('entries added to the stream behind the head stop the writer (fail closed)', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const writer = writerFor(redis, prefix, 'gw-x');
  await writer.append(makeRecord('gw-x'));
  await redis.xadd(
    auditKeys(prefix).stream('gw-x'),
    '9999999999999-0',
    'seq',
    '2',
    'prev',
    'x',
    'hash',
    'y',
    'rec',
    '{}',
  );
  await t.rejects(writer.append(makeRecord('gw-x')), { code: 'AUDIT_CHAIN_BROKEN', statusCode: 503 });
  await t.rejects(writer.append(makeRecord('gw-x')), { code: 'AUDIT_CHAIN_BROKEN' });
  await writer.close();
});

t.test('invalid records are refused before anything is sent', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const writer = writerFor(redis, prefix, 'gw-v');
  const cases: [string, unknown, RegExp][] = [
    ['another instance', makeRecord('gw-other'), /instance "gw-other"/],
    ['clear subject', makeRecord('gw-v', { subjects: ['110105194912310021'] }), /subjects/],
    ['unknown field', { ...makeRecord('gw-v'), idNumber: '110105194912310021' }, /idNumber|additional/i],
    ['bad time', makeRecord('gw-v', { time: '2025-03-01 08:00' }), /time/],
    ['non-JSON detail', makeRecord('gw-v', { detail: { at: new Date() } }), /plain/],
    ['huge detail', makeRecord('gw-v', { detail: { reason: 'x'.repeat(200_000) } }), /exceeds/],
  ];
  for (const [name, record, message] of cases) {
    await t.rejects(writer.append(record as never), { code: 'AUDIT_RECORD_INVALID', message }, name);
  }
  t.equal(await redis.exists(auditKeys(prefix).stream('gw-v')), 0);
  t.throws(() => writerFor(redis, prefix, 'gw|1'), { code: 'AUDIT_SETUP_INVALID' });
  t.throws(
    () => new AuditWriter(redis, prefix, 'gw-k', { signer: { ...signer, signer: makeSigner().signer } }),
    {
      code: 'AUDIT_SETUP_INVALID',
      message: /does not belong/,
    },
  );
  await writer.close();
  await t.rejects(writer.append(makeRecord('gw-v')), { code: 'AUDIT_WRITER_CLOSED' });
});

t.test('the largest record the schema allows is accepted and read back whole', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const writer = writerFor(redis, prefix, 'gw-max');
  const hex = (i: number) => createHash('sha256').update(String(i)).digest('hex');
  const record = makeRecord('gw-max', {
    subjects: Array.from({ length: 1000 }, (_, i) => hex(i)),
    items: Array.from({ length: 500 }, (_, i) => `item${String(i).padStart(3, '0')}${'x'.repeat(57)}`),
    rowCount: 1000,
  });
  await writer.append(record);
  const page = await searchAudit(redis, prefix, SUBJECT_SECRET, { limit: 10 });
  t.equal(page.records[0]?.subjects?.length, 1000);
  t.equal(page.records[0]?.items?.length, 500);
  await writer.close();
});

t.test('an unreachable Redis makes append reject quickly', async (t) => {
  const port = await findFreePort();
  const cases: [string, boolean, number][] = [
    ['offline queue off', false, 5000],
    ['offline queue on, writer timeout', true, 150],
  ];
  for (const [name, enableOfflineQueue, timeoutMs] of cases) {
    const dead = createRedisClient(`redis://127.0.0.1:${port}`, { enableOfflineQueue });
    dead.on('error', () => {});
    const writer = writerFor(dead, 'gs:dead:', 'gw-d', { timeoutMs });
    const started = Date.now();
    await t.rejects(writer.append(makeRecord('gw-d')), { code: 'AUDIT_WRITE_FAILED', statusCode: 503 }, name);
    t.ok(Date.now() - started < 1500, `${name}: rejected in ${Date.now() - started} ms`);
    dead.disconnect();
  }

  const { server, prefix } = await useRedis(t);
  const client = createRedisClient(server.url, { enableOfflineQueue: false });
  await once(client, 'ready');
  const writer = writerFor(client, prefix, 'gw-e');
  await writer.append(makeRecord('gw-e'));
  client.disconnect();
  const started = Date.now();
  await t.rejects(writer.append(makeRecord('gw-e')), { code: 'AUDIT_WRITE_FAILED' }, 'after disconnect()');
  t.ok(Date.now() - started < 1000);
});

t.test('a stalled write times out the callers and the writer recovers', async (t) => {
  const { redis, server, prefix } = await useRedis(t);
  const writer = writerFor(redis, prefix, 'gw-s', { timeoutMs: 200 });
  await writer.append(makeRecord('gw-s'));
  const blocker = createRedisClient(server.url);
  t.teardown(() => blocker.quit().then(() => undefined));
  // The server holds every write command for longer than the writer's timeout.
  await blocker.call('client', 'pause', '500', 'WRITE');
  await t.rejects(writer.append(makeRecord('gw-s')), {
    code: 'AUDIT_WRITE_FAILED',
    message: /within 200 ms/,
  });
  await new Promise((r) => setTimeout(r, 400));
  const next = await writer.append(makeRecord('gw-s'));
  t.ok(next.seq >= 2, 'later appends succeed');
  await writer.close();
  t.ok(
    (await verifyAudit(redis, prefix, { publicKey })).ok,
    'a late-acknowledged record keeps the chain valid',
  );
});

t.test('checkpoints are signed every N records and on the interval', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const writer = writerFor(redis, prefix, 'gw-k', { checkpointEvery: 10, checkpointIntervalMs: 50 });
  const checkpointsStored = async (n: number) => {
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline && (await redis.xlen(auditKeys(prefix).checkpoints('gw-k'))) < n)
      await new Promise((r) => setTimeout(r, 5));
  };
  for (let i = 1; i <= 25; i++) {
    await writer.append(makeRecord('gw-k'));
    // Signing runs beside the appends; waiting for it keeps the count-based ones at 10 and 20 exactly.
    if (i === 10 || i === 20) await checkpointsStored(i / 10);
  }
  await writer.checkpoint();
  const checkpoints = await redis.xrange(auditKeys(prefix).checkpoints('gw-k'), '-', '+');
  const seqs = checkpoints.map(([, fields]) => JSON.parse(fields[1]!).seq as number);
  t.ok(seqs.includes(25), 'checkpoint() signs the head');
  // The 50 ms interval may add a checkpoint between them on a slow machine; the count-based ones are there.
  t.ok(
    seqs.includes(10) && seqs.includes(20),
    `count-based checkpoints at 10 and 20 (all: ${seqs.join(', ')})`,
  );
  t.match(fields(checkpoints[0]![1]), {
    alg: 'rsa-pss-sha256',
    signer: signer.certificate.fingerprint256.replaceAll(':', '').toLowerCase(),
  });
  await writer.append(makeRecord('gw-k'));
  const deadline = Date.now() + 2000;
  while (
    Date.now() < deadline &&
    (await redis.xlen(auditKeys(prefix).checkpoints('gw-k'))) === checkpoints.length
  ) {
    await new Promise((r) => setTimeout(r, 20));
  }
  t.equal(
    await redis.xlen(auditKeys(prefix).checkpoints('gw-k')),
    checkpoints.length + 1,
    'the timer signed seq 26',
  );
  await writer.close();
  t.equal(
    await redis.xlen(auditKeys(prefix).checkpoints('gw-k')),
    checkpoints.length + 1,
    'nothing new to sign at close',
  );
  t.ok((await verifyAudit(redis, prefix, { publicKey })).ok);
});

function fields(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) out[list[i]!] = list[i + 1]!;
  return out;
}

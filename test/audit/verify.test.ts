import t from 'tap';
import { canonicalJson, chainHash } from '../../audit/canonical.js';
import { auditKeys } from '../../audit/keys.js';
import { type BrokenReason, verifyAudit } from '../../audit/verify.js';
import { AuditWriter } from '../../audit/writer.js';
import type { RedisClient } from '../../platform/redis.js';
import { useRedis } from '../helpers/redis.js';
import { makeRecord, makeSigner } from './fixtures.js';

const signer = makeSigner();
const publicKey = signer.certificate.publicKey;
const INSTANCE = 'gw-t';

type Entry = [string, string[]];
type Fields = Record<string, string>;

/** Writes `count` records with a checkpoint every 5. */
async function writeChain(redis: RedisClient, prefix: string, count: number): Promise<void> {
  const writer = new AuditWriter(redis, prefix, INSTANCE, { signer, checkpointEvery: 5 });
  for (let i = 0; i < count; i++) {
    await writer.append(makeRecord(INSTANCE));
    if ((i + 1) % 5 === 0) await writer.checkpoint();
  }
  await writer.close();
}

const toFields = (list: string[]): Fields =>
  Object.fromEntries(list.flatMap((v, i) => (i % 2 ? [] : [[v, list[i + 1] ?? '']])));

/**
 * Streams cannot be edited in place, so tampering means what an attacker would do: read the stream,
 * delete it, and add the entries back under the same ids with the changes made.
 */
async function rewrite(
  redis: RedisClient,
  key: string,
  change: (fields: Fields, index: number, all: Fields[]) => Fields | undefined,
): Promise<void> {
  const entries = (await redis.xrange(key, '-', '+')) as Entry[];
  const all = entries.map(([, list]) => toFields(list));
  await redis.del(key);
  for (let i = 0; i < entries.length; i++) {
    const fields = change(all[i]!, i, all);
    if (fields) await redis.xadd(key, entries[i]![0], ...Object.entries(fields).flat());
  }
}

const mutateRec = (fields: Fields): Fields => {
  const record = JSON.parse(fields.rec!);
  record.rowCount = 9999;
  return { ...fields, rec: canonicalJson(record) };
};

/** Rewrites the record at seq 7 AND recomputes every hash after it: only the checkpoints can tell. */
const forgeFrom7 = (fields: Fields, i: number, all: Fields[]): Fields => {
  if (i < 6) return fields;
  const prev = i === 6 ? fields.prev! : all[i - 1]!.hash!;
  const rec = i === 6 ? mutateRec(fields).rec! : fields.rec!;
  all[i] = { ...fields, prev, rec, hash: chainHash(prev, rec) };
  return all[i]!;
};

const cases: {
  name: string;
  stream?: (fields: Fields, index: number, all: Fields[]) => Fields | undefined;
  checkpoints?: (fields: Fields, index: number) => Fields | undefined;
  head?: (redis: RedisClient, headKey: string) => Promise<unknown>;
  seq: number;
  reason: BrokenReason;
}[] = [
  { name: 'an edited rec', stream: (f, i) => (i === 6 ? mutateRec(f) : f), seq: 7, reason: 'hash-mismatch' },
  {
    name: 'an edited hash',
    stream: (f, i) => (i === 6 ? { ...f, hash: 'f'.repeat(64) } : f),
    seq: 7,
    reason: 'hash-mismatch',
  },
  {
    name: 'an edited prev',
    stream: (f, i) => (i === 6 ? { ...f, prev: 'a'.repeat(64) } : f),
    seq: 7,
    reason: 'prev-link-broken',
  },
  { name: 'a deleted record', stream: (f, i) => (i === 6 ? undefined : f), seq: 7, reason: 'seq-gap' },
  {
    name: 'a renumbered record',
    stream: (f, i) => (i === 6 ? { ...f, seq: '70' } : f),
    seq: 7,
    reason: 'seq-gap',
  },
  {
    name: 'two records swapped',
    stream: (f, i, all) => (i === 6 ? all[7]! : i === 7 ? all[6]! : f),
    seq: 7,
    reason: 'seq-gap',
  },
  {
    name: 'a record missing its hash field',
    stream: (f, i) => (i === 6 ? { seq: f.seq!, prev: f.prev!, rec: f.rec! } : f),
    seq: 7,
    reason: 'torn-record',
  },
  {
    name: 'a truncated rec',
    stream: (f, i) => (i === 6 ? { ...f, rec: f.rec!.slice(0, 20) } : f),
    seq: 7,
    reason: 'torn-record',
  },
  { name: 'a consistently rewritten chain', stream: forgeFrom7, seq: 10, reason: 'checkpoint-hash-mismatch' },
  {
    name: 'a tampered checkpoint signature',
    checkpoints: (f, i) => (i === 1 ? { ...f, sig: Buffer.alloc(256, 1).toString('base64') } : f),
    seq: 10,
    reason: 'checkpoint-signature-invalid',
  },
  {
    name: 'a checkpoint payload edited',
    checkpoints: (f, i) => (i === 0 ? { ...f, payload: f.payload!.replace('"seq":5', '"seq":4') } : f),
    seq: 4,
    reason: 'checkpoint-signature-invalid',
  },
  {
    name: 'the last record and its checkpoint deleted',
    stream: (f, i) => (i === 11 ? undefined : f),
    checkpoints: (f, i) => (i === 2 ? undefined : f),
    seq: 12,
    reason: 'head-mismatch',
  },
  {
    name: 'the head hash edited',
    head: (r, k) => r.hset(k, 'hash', 'b'.repeat(64)),
    seq: 12,
    reason: 'head-mismatch',
  },
  { name: 'the head key deleted', head: (r, k) => r.del(k), seq: 12, reason: 'head-mismatch' },
];

for (const c of cases) {
  t.test(`verify reports ${c.name} as ${c.reason} at seq ${c.seq}`, async (t) => {
    const { redis, prefix } = await useRedis(t);
    const keys = auditKeys(prefix);
    await writeChain(redis, prefix, 12);
    t.ok((await verifyAudit(redis, prefix, { publicKey })).ok, 'intact before tampering');
    if (c.stream) await rewrite(redis, keys.stream(INSTANCE), c.stream);
    if (c.checkpoints) await rewrite(redis, keys.checkpoints(INSTANCE), c.checkpoints);
    if (c.head) await c.head(redis, keys.head(INSTANCE));
    const report = await verifyAudit(redis, prefix, { publicKey });
    t.notOk(report.ok);
    t.match(report.instances[0]?.firstBroken, { seq: c.seq, reason: c.reason, id: /^\d+-\d+$/ });
  });
}

t.test('the first broken link is reported when there are several', async (t) => {
  const { redis, prefix } = await useRedis(t);
  await writeChain(redis, prefix, 12);
  const entries = (await redis.xrange(auditKeys(prefix).stream(INSTANCE), '-', '+')) as Entry[];
  await rewrite(redis, auditKeys(prefix).stream(INSTANCE), (f, i) => (i === 3 || i === 8 ? mutateRec(f) : f));
  const report = await verifyAudit(redis, prefix, { publicKey });
  t.match(report.instances[0], {
    records: 12,
    firstBroken: { seq: 4, id: entries[3]![0], reason: 'hash-mismatch' },
  });
});

t.test('checkpoints signed by another key are refused', async (t) => {
  const { redis, prefix } = await useRedis(t);
  await writeChain(redis, prefix, 5);
  const report = await verifyAudit(redis, prefix, { publicKey: makeSigner().certificate.publicKey });
  t.match(report.instances[0]?.firstBroken, { seq: 5, reason: 'checkpoint-signature-invalid' });
});

t.test('a checkpoint beyond the last record is reported', async (t) => {
  const { redis, prefix } = await useRedis(t);
  await writeChain(redis, prefix, 5);
  const keys = auditKeys(prefix);
  // An attacker deletes the last records and moves the head back; the signed checkpoint remembers.
  const entries = (await redis.xrange(keys.stream(INSTANCE), '-', '+')) as Entry[];
  await redis.xdel(keys.stream(INSTANCE), entries[4]![0]);
  const third = toFields(entries[3]![1]);
  await redis.hset(keys.head(INSTANCE), 'seq', '4', 'hash', third.hash!, 'id', entries[3]![0]);
  const report = await verifyAudit(redis, prefix, { publicKey });
  t.match(report.instances[0]?.firstBroken, { seq: 5, reason: 'checkpoint-hash-mismatch' });
});

t.test('verify walks every instance in chunks, or just one, and reports progress', async (t) => {
  const { redis, prefix } = await useRedis(t);
  for (const instance of ['gw-a', 'gw-b']) {
    const writer = new AuditWriter(redis, prefix, instance, { signer });
    await Promise.all(Array.from({ length: 25 }, () => writer.append(makeRecord(instance))));
    await writer.close();
  }
  const progress: number[] = [];
  const all = await verifyAudit(redis, prefix, {
    publicKey,
    chunk: 10,
    onProgress: (p) => progress.push(p.records),
  });
  t.ok(all.ok);
  t.same(
    all.instances.map((i) => [i.instance, i.records, i.checkpoints]),
    [
      ['gw-a', 25, 1],
      ['gw-b', 25, 1],
    ],
  );
  t.same(progress, [10, 20, 25, 10, 20, 25]);
  const one = await verifyAudit(redis, prefix, { publicKey, instance: 'gw-b' });
  t.same(
    one.instances.map((i) => i.instance),
    ['gw-b'],
  );
  const empty = await verifyAudit(redis, `${prefix}none:`, { publicKey });
  t.same(empty, { ok: true, instances: [], recordsPerSecond: 0 });

  const unknown = await verifyAudit(redis, prefix, { publicKey, instance: 'gw-zzz' });
  t.notOk(unknown.ok, 'an instance with no trail is not reported intact');
  t.equal(unknown.instances[0]?.firstBroken?.reason, 'instance-unknown');

  // Taken out of the registry (which search by time reads), an instance is still found by its stream.
  await redis.srem(auditKeys(prefix).instances, 'gw-a');
  const hidden = await verifyAudit(redis, prefix, { publicKey });
  t.notOk(hidden.ok);
  t.same(
    hidden.instances.map((i) => [i.instance, i.records, i.firstBroken?.reason]),
    [
      ['gw-a', 25, 'instance-unregistered'],
      ['gw-b', 25, undefined],
    ],
  );
});

t.test('records after the last signed checkpoint are counted as an unsigned tail', async (t) => {
  const { redis, prefix } = await useRedis(t);
  await writeChain(redis, prefix, 12);
  const signed = await verifyAudit(redis, prefix, { publicKey });
  t.ok(signed.ok);
  const before = signed.instances[0]!;
  t.equal(before.records, 12);
  // The newest checkpoint removed (a writer that stopped before signing, or a deletion): the chain still
  // verifies, and the records it covered show as not signed.
  const checkpoints = auditKeys(prefix).checkpoints(INSTANCE);
  const seqOf = (entry: Entry) => Number(JSON.parse(toFields(entry[1]).payload!).seq);
  const [newest] = (await redis.xrevrange(checkpoints, '+', '-', 'COUNT', 1)) as Entry[];
  t.equal(before.unsignedTail, 12 - seqOf(newest!), 'before: what the newest checkpoint does not cover');
  await redis.xdel(checkpoints, newest![0]);
  const [remaining] = (await redis.xrevrange(checkpoints, '+', '-', 'COUNT', 1)) as Entry[];
  const after = (await verifyAudit(redis, prefix, { publicKey })).instances[0]!;
  t.equal(after.checkpoints, before.checkpoints - 1);
  t.equal(after.unsignedTail, 12 - seqOf(remaining!), 'after: back to the previous checkpoint');
  t.ok(after.unsignedTail > before.unsignedTail);
  t.notOk(after.firstBroken, 'an unsigned tail is not a broken link');
});

t.test('verify runs while a writer appends', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const writer = new AuditWriter(redis, prefix, 'gw-live', { signer });
  await Promise.all(Array.from({ length: 300 }, () => writer.append(makeRecord('gw-live'))));
  const writing = Promise.all(Array.from({ length: 300 }, () => writer.append(makeRecord('gw-live'))));
  const report = await verifyAudit(redis, prefix, { publicKey, chunk: 50 });
  await writing;
  await writer.close();
  t.ok(report.ok, JSON.stringify(report.instances[0]?.firstBroken));
  t.ok(report.instances[0]!.records >= 300);
});

import { createHash } from 'node:crypto';
import t from 'tap';
import { canonicalJson, chainHash, GENESIS_HASH, recordHashAlg } from '../../audit/canonical.js';
import type { RawEntry } from '../../audit/entries.js';
import { auditKeys } from '../../audit/keys.js';
import {
  consistencyProof,
  inclusionProof,
  leafHash,
  leafHashWith,
  treeHead,
  verifyConsistency,
  verifyInclusion,
} from '../../audit/merkle.js';
import { verifyAudit } from '../../audit/verify.js';
import { AuditWriter } from '../../audit/writer.js';
import { useRedis } from '../helpers/redis.js';
import { makeRecord, makeSigner } from './fixtures.js';

const signer = makeSigner();

t.test('recordHashAlg reads the hash a record names, and only sm3 or none', async (t) => {
  t.equal(recordHashAlg('{"a":1}'), 'sha256');
  t.equal(recordHashAlg('{"a":1,"hashAlg":"sm3"}'), 'sm3');
  t.equal(recordHashAlg('{"detail":{"hashAlg":"sm3"}}'), 'sha256', 'a nested field names nothing');
  t.equal(recordHashAlg('{"hashAlg":"md5"}'), undefined);
  t.equal(recordHashAlg('{"hashAlg":"sha256"}'), undefined, 'SHA-256 is named by leaving the field out');
  t.equal(recordHashAlg('[1]'), undefined);
  t.equal(recordHashAlg('not json'), undefined);
  t.equal(chainHash(GENESIS_HASH, '{"hashAlg":"md5"}'), '', 'no chain hash for an unknown algorithm');
  const rec = '{"hashAlg":"sm3","x":1}';
  t.equal(
    chainHash(GENESIS_HASH, rec),
    createHash('sm3')
      .update(GENESIS_HASH + rec)
      .digest('hex'),
  );
  t.equal(
    chainHash(GENESIS_HASH, '{"x":1}'),
    createHash('sha256').update(`${GENESIS_HASH}{"x":1}`).digest('hex'),
  );
});

t.test('the SM3 tree: proofs verify with SM3 and not with SHA-256', async (t) => {
  const leaves = Array.from({ length: 7 }, (_, i) => leafHashWith('sm3', Buffer.from(`leaf ${i}`)));
  t.same(
    leafHashWith('sm3', Buffer.from('x')),
    createHash('sm3')
      .update(Buffer.from([0]))
      .update('x')
      .digest(),
  );
  t.same(leafHashWith('sha256', Buffer.from('x')), leafHash(Buffer.from('x')));
  const root = treeHead(leaves, 'sm3');
  t.notSame(root, treeHead(leaves), 'another root than SHA-256 nodes give');
  t.same(treeHead([], 'sm3'), createHash('sm3').digest());
  for (let i = 0; i < leaves.length; i++) {
    const proof = inclusionProof(leaves, i, 'sm3');
    const claim = { leafIndex: i, treeSize: leaves.length, leafHash: leaves[i]!, proof, root };
    t.ok(verifyInclusion({ ...claim, alg: 'sm3' }), `leaf ${i}`);
    t.notOk(verifyInclusion(claim), `leaf ${i} not under SHA-256`);
  }
  const oldRoot = treeHead(leaves.slice(0, 3), 'sm3');
  const proof = consistencyProof(leaves, 3, 'sm3');
  t.ok(verifyConsistency({ oldSize: 3, newSize: 7, oldRoot, newRoot: root, proof, alg: 'sm3' }));
  t.notOk(verifyConsistency({ oldSize: 3, newSize: 7, oldRoot, newRoot: root, proof }));
});

t.test('an intl writer chains with SHA-256 and no field; a caller cannot name a hash', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const writer = new AuditWriter(redis, prefix, 'gw-i', { signer });
  await writer.append(makeRecord('gw-i', { hashAlg: 'sm3' }));
  await writer.append(makeRecord('gw-i'));
  await writer.close();
  const entries = (await redis.xrange(auditKeys(prefix).stream('gw-i'), '-', '+')) as RawEntry[];
  for (const [, list] of entries) {
    const f = Object.fromEntries(list.flatMap((v, i, a) => (i % 2 ? [] : [[v, a[i + 1]!]])));
    t.notOk('hashAlg' in JSON.parse(f.rec!));
    t.equal(
      f.hash,
      createHash('sha256')
        .update(f.prev! + f.rec!)
        .digest('hex'),
    );
  }
  const checkpoints = (await redis.xrange(auditKeys(prefix).checkpoints('gw-i'), '-', '+')) as RawEntry[];
  t.notMatch(checkpoints[0]![1].join(' '), /hashAlg/);
  const result = await verifyAudit(redis, prefix, { publicKey: signer.certificate.publicKey });
  t.ok(result.ok);
  t.equal(result.instances[0]!.hashAlg, 'sha256');
});

t.test('a writer told sm3 names it on every record and checkpoint; verify follows the data', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const writer = new AuditWriter(redis, prefix, 'gw-s', { signer, hashAlg: 'sm3' });
  for (let i = 0; i < 5; i++) await writer.append(makeRecord('gw-s'));
  await writer.close();
  const entries = (await redis.xrange(auditKeys(prefix).stream('gw-s'), '-', '+')) as RawEntry[];
  t.equal(entries.length, 5);
  for (const [, list] of entries) {
    const f = Object.fromEntries(list.flatMap((v, i, a) => (i % 2 ? [] : [[v, a[i + 1]!]])));
    t.equal(f.rec, canonicalJson({ ...JSON.parse(f.rec!), hashAlg: 'sm3' }));
    t.equal(
      f.hash,
      createHash('sm3')
        .update(f.prev! + f.rec!)
        .digest('hex'),
    );
  }
  const checkpoints = (await redis.xrange(auditKeys(prefix).checkpoints('gw-s'), '-', '+')) as RawEntry[];
  t.match(checkpoints.at(-1)![1].join(' '), /"hashAlg":"sm3"/);
  const result = await verifyAudit(redis, prefix, { publicKey: signer.certificate.publicKey });
  t.ok(result.ok, JSON.stringify(result.instances));
  t.equal(result.instances[0]!.treeHeads, 1);
  t.equal(result.instances[0]!.hashAlg, 'sm3');
});

t.test('a chain may move from SHA-256 to SM3 (an older gm trail), never back', async (t) => {
  const { redis, prefix } = await useRedis(t);
  const publicKey = signer.certificate.publicKey;
  const write = async (hashAlg: 'sha256' | 'sm3', n: number) => {
    const writer = new AuditWriter(redis, prefix, 'gw-u', { signer, hashAlg });
    for (let i = 0; i < n; i++) await writer.append(makeRecord('gw-u'));
    await writer.close();
  };
  await write('sha256', 3);
  await write('sm3', 3);
  let result = await verifyAudit(redis, prefix, { publicKey });
  t.ok(result.ok, JSON.stringify(result.instances));
  t.equal(result.instances[0]!.hashAlg, 'sm3');
  t.equal(result.instances[0]!.treeHeads, 2, 'a SHA-256 tree, then an SM3 one');
  await write('sha256', 1);
  result = await verifyAudit(redis, prefix, { publicKey });
  t.notOk(result.ok);
  t.match(result.instances[0]!.firstBroken, { seq: 7, reason: 'hash-mismatch', detail: /never goes back/ });
});

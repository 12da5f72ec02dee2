/**
 * The audit trail of a gm platform: the chain hash and the RFC 9162 tree are SM3, named in the data
 * itself (`"hashAlg":"sm3"` on each record, `hashAlg` on each signed checkpoint), so `audit verify` and
 * the offline proof check need no configuration. Record hashes are recomputed here by OpenSSL.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { canonicalJson, chainHash } from '../../audit/canonical.js';
import { readCheckpointEntry } from '../../audit/checkpoint.js';
import type { RawEntry } from '../../audit/entries.js';
import { auditKeys } from '../../audit/keys.js';
import { type InclusionProofBundle, verifyInclusionBundle } from '../../audit/proof.js';
import { verifyAudit } from '../../audit/verify.js';
import { initPlatform, platformFiles } from '../../certs/platform.js';
import { requireBinary } from '../../scripts/lib/local-tools.js';
import { makeRecord } from '../audit/fixtures.js';
import { buildTestApp } from '../helpers/app.js';
import { cli } from '../helpers/cli.js';

const OPENSSL = requireBinary('openssl', 'openssl');
const auditor = { sub: 'au', role: 'auditor' } as const;

const dataDir = mkdtempSync(join(tmpdir(), 'govshare-audit-gm-'));
t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
await initPlatform(dataDir, { crypto: 'gm' });

/** `openssl dgst -sm3` of a file holding exactly these bytes, lowercase hex. */
function opensslSm3(bytes: Buffer): string {
  const file = join(dataDir, 'sm3-input.bin');
  writeFileSync(file, bytes);
  return execFileSync(OPENSSL, ['dgst', '-sm3', '-r', file]).toString().split(' ')[0]!;
}

t.test('a gm platform chains and trees its trail with SM3, named in the data', async (t) => {
  const testApp = await buildTestApp(t, { env: { GOVSHARE_DATA_DIR: dataDir } });
  const { audit, redis, prefix, platform } = testApp.context;
  const keys = auditKeys(prefix);
  const instance = audit.instance;
  for (let i = 0; i < 6; i++) {
    // A caller cannot pick the hash: the writer sets it.
    await audit.append(makeRecord(instance, { requestId: `gm-${i}`, rowCount: i }));
  }
  await audit.checkpoint();
  const publicKey = platform.signingCertX509.publicKey;

  const entries = (await redis.xrange(keys.stream(instance), '-', '+')) as RawEntry[];
  t.ok(entries.length >= 6);
  const fields = (e: RawEntry): Record<string, string> =>
    Object.fromEntries(e[1].flatMap((v, i, a) => (i % 2 ? [] : [[v, a[i + 1]!]])));
  const bySeq = (seq: number) => entries.find((e) => fields(e).seq === String(seq))!;
  /** Index (in the stream) and seq of the record of request gm-2. */
  const target = entries.findIndex((e) => JSON.parse(fields(e).rec!).requestId === 'gm-2');
  const targetSeq = Number(fields(entries[target]!).seq);

  t.test(
    'each record names sm3; OpenSSL recomputes its hash from prev and the canonical bytes',
    async (t) => {
      for (const entry of entries) {
        const { prev, hash, rec } = fields(entry);
        t.equal(JSON.parse(rec!).hashAlg, 'sm3');
        t.equal(rec, canonicalJson(JSON.parse(rec!)), 'rec is canonical JSON');
        t.equal(opensslSm3(Buffer.from(`${prev}${rec}`, 'utf8')), hash, `seq ${fields(entry).seq}`);
        t.not(hash, chainHash(prev!, rec!, 'sha256'), 'not SHA-256');
      }
      const checkpoints = (await redis.xrange(keys.checkpoints(instance), '-', '+')) as RawEntry[];
      const cp = readCheckpointEntry(checkpoints.at(-1)!);
      t.equal(cp.alg, 'sm2-sm3');
      t.equal(cp.parsed?.hashAlg, 'sm3', 'the signed checkpoint names its tree hash');
    },
  );

  t.test('audit verify reads SM3 from the chain and checks every tree head', async (t) => {
    const result = await verifyAudit(redis, prefix, { publicKey, instance });
    t.ok(result.ok, JSON.stringify(result.instances));
    t.ok(result.instances[0]!.treeHeads >= 1, 'tree heads recomputed with SM3');
    t.equal(result.instances[0]!.hashAlg, 'sm3', 'read from the records');
    const env = {
      GOVSHARE_REDIS_URL: testApp.redisUrl,
      GOVSHARE_REDIS_PREFIX: prefix,
      GOVSHARE_DATA_DIR: dataDir,
    };
    const run = await cli(['audit', 'verify'], env);
    t.equal(run.code, 0, run.out.concat(run.err).join('\n'));
    t.match(run.out.join('\n'), /SM3 tree heads matched \(SM3 chain\)/);
  });

  t.test('a proof verifies offline with only the CA; forged ones are refused', async (t) => {
    const res = await testApp.app.inject({
      method: 'GET',
      url: '/v1/audit/gm-2/proof',
      headers: testApp.auth(auditor as never),
    });
    t.equal(res.statusCode, 200, res.body);
    const bundle = res.json() as InclusionProofBundle;
    const caPem = readFileSync(join(dataDir, platformFiles.caCert), 'utf8');
    const verified = await verifyInclusionBundle(bundle, { caPem });
    t.equal(verified.record.requestId, 'gm-2');
    // The leaf is SM3(0x00 || rec), as OpenSSL computes it; the first proof node is its sibling's.
    const leaf = opensslSm3(Buffer.concat([Buffer.from([0]), Buffer.from(bundle.record, 'utf8')]));
    const from = JSON.parse(bundle.checkpoint.payload).from as number;
    const sibling = bySeq(from + 1 + (bundle.leafIndex ^ 1));
    const siblingLeaf = opensslSm3(
      Buffer.concat([Buffer.from([0]), Buffer.from(fields(sibling).rec!, 'utf8')]),
    );
    t.equal(bundle.proof[0], siblingLeaf, 'the SM3 leaf of the neighbouring record');
    t.not(leaf, siblingLeaf);

    const file = join(dataDir, 'proof.json');
    writeFileSync(file, res.body);
    const ok = await cli(['audit', 'verify-proof', file, '--ca', join(dataDir, platformFiles.caCert)], {});
    t.equal(ok.code, 0, ok.out.concat(ok.err).join('\n'));

    const forged = (change: (b: InclusionProofBundle) => void) => {
      const copy = structuredClone(bundle);
      change(copy);
      return copy;
    };
    const cases: [string, InclusionProofBundle, RegExp][] = [
      [
        'a changed record',
        forged((b) => {
          b.record = b.record.replace('"rowCount":2', '"rowCount":3');
        }),
        /does not lead from the record/,
      ],
      [
        'a changed proof hash',
        forged((b) => {
          b.proof[0] = (b.proof[0]![0] === '0' ? '1' : '0') + b.proof[0]!.slice(1);
        }),
        /does not lead from the record/,
      ],
      [
        'the record downgraded to SHA-256',
        forged((b) => {
          const { hashAlg: _, ...rest } = JSON.parse(b.record);
          b.record = canonicalJson(rest);
        }),
        /does not lead from the record/,
      ],
      [
        'a record naming an unknown hash',
        forged((b) => {
          b.record = canonicalJson({ ...JSON.parse(b.record), hashAlg: 'md5' });
        }),
        /names the hash unknown, its checkpoint sm3/,
      ],
      [
        'the checkpoint edited to SHA-256',
        forged((b) => {
          b.checkpoint.payload = b.checkpoint.payload.replace(',"hashAlg":"sm3"', '');
        }),
        /signature does not verify/,
      ],
    ];
    for (const [name, copy, message] of cases) {
      await t.rejects(verifyInclusionBundle(copy, { caPem }), { code: 'AUDIT_PROOF_INVALID', message }, name);
    }
  });

  t.test('a tampered record is detected, also when re-chained with SHA-256', async (t) => {
    const key = keys.stream(instance);
    const original = (await redis.xrange(key, '-', '+')) as RawEntry[];
    const restore = async () => {
      await redis.del(key);
      for (const [id, list] of original) await redis.xadd(key, id, ...list);
    };
    /** Rewrites the stream from the entry at `index` on; `change` gives the new fields. */
    const rewrite = async (
      change: (f: Record<string, string>, i: number, all: Record<string, string>[]) => void,
    ) => {
      const all = original.map(fields) as Record<string, string>[];
      for (let i = 0; i < all.length; i++) change(all[i]!, i, all);
      await redis.del(key);
      for (let i = 0; i < original.length; i++) {
        await redis.xadd(key, original[i]![0], ...Object.entries(all[i]!).flat());
      }
    };

    await rewrite((f, i) => {
      if (i === target) f.rec = f.rec!.replace('"rowCount":2', '"rowCount":9');
    });
    let result = await verifyAudit(redis, prefix, { publicKey, instance });
    t.notOk(result.ok);
    t.match(result.instances[0]!.firstBroken, { seq: targetSeq, reason: 'hash-mismatch', detail: /sm3/ });

    // An attacker drops the field from that record on and re-chains with SHA-256: the switch is refused.
    await rewrite((f, i, all) => {
      if (i < target) return;
      const { hashAlg: _, ...rest } = JSON.parse(f.rec!);
      f.rec = canonicalJson(rest);
      f.prev = all[i - 1]!.hash!;
      f.hash = chainHash(f.prev, f.rec, 'sha256');
    });
    result = await verifyAudit(redis, prefix, { publicKey, instance });
    t.notOk(result.ok);
    t.match(result.instances[0]!.firstBroken, {
      seq: targetSeq,
      reason: 'hash-mismatch',
      detail: /names sha256 after records naming sm3/,
    });

    await restore();
    t.ok((await verifyAudit(redis, prefix, { publicKey, instance })).ok, 'intact again once restored');
  });
});

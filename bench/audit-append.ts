/**
 * Audit append throughput: 50 concurrent callers append realistic data-request records through one
 * AuditWriter against a private local redis-server, for a few seconds, once with AOF `appendfsync
 * everysec` and once with `always`; then the verifier walks what was written.
 *
 *   npx tsc -p . && node dist/bench/audit-append.js [seconds per run, default 3]
 *
 * Measured on the 2-vCPU build machine (Node 20, Redis 7.0, ~710-byte records, 8 index keys each), when
 * no other build was running: everysec ~19k appends/s (p50 2.0 ms, p99 7.5 ms), always ~15k appends/s
 * (p50 2.8 ms, p99 9.7 ms); verify ~90k records/s. With other processes competing for the two cores the
 * same run gave 6k and 3k: re-measure on the target machine.
 */
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { canonicalJson } from '../audit/canonical.js';
import type { AuditRecord } from '../audit/record.js';
import { subjectHash } from '../audit/subject.js';
import { verifyAudit } from '../audit/verify.js';
import { AuditWriter } from '../audit/writer.js';
import { FileKeySigner } from '../certs/signer.js';
import { createRedisClient } from '../platform/redis.js';
import { startLocalRedis } from '../scripts/lib/local-redis.js';

const SECONDS = Number(process.argv[2] ?? 3);
const CONCURRENCY = 50;
const secret = Buffer.alloc(32, 9);

function signer() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString());
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date();
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ name: 'commonName', value: 'bench' }]);
  cert.setIssuer([{ name: 'commonName', value: 'bench' }]);
  cert.sign(key, forge.md.sha256.create());
  return {
    signer: FileKeySigner.fromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
    certificate: new X509Certificate(forge.pki.certificateToPem(cert)),
  };
}

let n = 0;
function record(instance: string): AuditRecord {
  n++;
  return {
    time: new Date().toISOString(),
    requestId: `01JBENCH${String(n).padStart(12, '0')}`,
    instance,
    kind: 'data',
    actor: {
      deptCode: '11100000000013127D',
      systemId: 'minzheng-dibao',
      userId: 'u-20391',
      certSerial: '4f9a0c21de',
    },
    action: 'data.lookup',
    resource: '101001/000001',
    grantId: `g-${n % 40}`,
    purpose: 'minimum living allowance eligibility check',
    items: ['name', 'idNumber', 'address', 'householdNo'],
    rowCount: 1,
    subjects: [subjectHash(secret, `1101051949123100${String(n % 100).padStart(2, '0')}`)],
    decision: 'allow',
    status: 200,
    latencyMs: 4.2,
    requestSignatureHash: 'a'.repeat(64),
    responseDigest: 'b'.repeat(64),
  };
}

async function run(appendfsync: 'everysec' | 'always', sign: ReturnType<typeof signer>) {
  const server = await startLocalRedis({ appendfsync });
  const redis = createRedisClient(server.url);
  try {
    const writer = new AuditWriter(redis, 'bench:', 'gw-bench', { signer: sign });
    await writer.start();
    const latencies: number[] = [];
    const deadline = performance.now() + SECONDS * 1000;
    let appended = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < deadline) {
          const t0 = performance.now();
          await writer.append(record('gw-bench'));
          latencies.push(performance.now() - t0);
          appended++;
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    await writer.close();
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.floor((latencies.length - 1) * p)]!.toFixed(2);
    const report = await verifyAudit(redis, 'bench:', { publicKey: sign.certificate.publicKey });
    console.log(
      `appendfsync ${appendfsync.padEnd(8)} ${Math.round(appended / elapsed).toLocaleString('en')} appends/s ` +
        `(${appended} in ${elapsed.toFixed(1)} s, ${CONCURRENCY} callers; latency p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms); ` +
        `verify ${report.ok ? 'ok' : 'BROKEN'} at ${report.recordsPerSecond.toLocaleString('en')} records/s, ` +
        `${report.instances[0]?.checkpoints} checkpoints`,
    );
  } finally {
    await redis.quit();
    await server.stop();
  }
}

const sign = signer();
console.log(`record size ~${Buffer.byteLength(canonicalJson(record('gw-bench')))} bytes of canonical JSON`);
await run('everysec', sign);
await run('always', sign);

/**
 * The audit trail of bench/search.ts: N data-request records over several days, written through the real
 * AuditWriter (hash chain, signed checkpoints, the eight indexes) by several gateway instances at once,
 * each with many concurrent callers so that the writer's group commit forms large batches.
 */
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import type { CheckpointSigner } from '../../audit/checkpoint.js';
import type { AuditRecord } from '../../audit/record.js';
import { subjectHash } from '../../audit/subject.js';
import { AuditWriter } from '../../audit/writer.js';
import { idNumberCheckCharacter, usccCheckCharacter } from '../../catalog/identifiers.js';
import { FileKeySigner } from '../../certs/signer.js';
import { createRedisClient, type RedisClient } from '../../platform/redis.js';
import { seededRandom } from './search-stats.js';

export const DAY_MS = 86_400_000;

export interface AuditShape {
  records: number;
  instances: number;
  departments: number;
  /** Systems in all, spread evenly over the departments. */
  systems: number;
  subjects: number;
  /** Records are spread evenly over this many days, ending an hour ago. */
  days: number;
  /** Concurrent callers per instance. */
  callers: number;
}

export interface AuditDataset {
  shape: AuditShape;
  prefix: string;
  secret: Buffer;
  signer: CheckpointSigner;
  instances: string[];
  departments: string[];
  /** Plain ID numbers; the records hold their keyed hashes. */
  idNumbers: string[];
  startMs: number;
  endMs: number;
  /** The ID number looked up by record i (records are generated again from i, never kept). */
  subjectOf(i: number): string;
  departmentOf(i: number): string;
  timeOf(i: number): number;
}

/** A throwaway platform signing key and self-signed certificate for the checkpoints. */
export function benchSigner(): CheckpointSigner {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString());
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - DAY_MS);
  cert.validity.notAfter = new Date(Date.now() + DAY_MS);
  cert.setSubject([{ name: 'commonName', value: 'govshare bench platform' }]);
  cert.setIssuer([{ name: 'commonName', value: 'govshare bench platform' }]);
  cert.sign(key, forge.md.sha256.create());
  return {
    signer: FileKeySigner.fromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
    certificate: new X509Certificate(forge.pki.certificateToPem(cert)),
  };
}

/** Distinct valid resident ID numbers (division 420102, births from 1950, sequence per birth date). */
function idNumber(i: number): string {
  const birth = new Date(Date.UTC(1950, 0, 1) + (i % 20_000) * DAY_MS)
    .toISOString()
    .slice(0, 10)
    .replaceAll('-', '');
  const first17 = `420102${birth}${String(Math.floor(i / 20_000) % 1000).padStart(3, '0')}`;
  return `${first17}${idNumberCheckCharacter(first17)}`;
}

export function auditDataset(shape: AuditShape, prefix: string): AuditDataset {
  const secret = Buffer.alloc(32, 7);
  const endMs = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;
  const startMs = endMs - shape.days * DAY_MS;
  const departments = Array.from({ length: shape.departments }, (_, d) =>
    ((first17) => `${first17}${usccCheckCharacter(first17)}`)(
      `11420100MB${String(4000000 + d).padStart(7, '0')}`,
    ),
  );
  const idNumbers = Array.from({ length: shape.subjects }, (_, i) => idNumber(i));
  // Who is looked up is random (some people often, some never), but the same on every run.
  const random = seededRandom(11);
  const subjectIndex = Uint32Array.from({ length: shape.records }, () =>
    Math.floor(random() * shape.subjects),
  );
  return {
    shape,
    prefix,
    secret,
    signer: benchSigner(),
    instances: Array.from({ length: shape.instances }, (_, k) => `bench-gw-${k + 1}`),
    departments,
    idNumbers,
    startMs,
    endMs,
    subjectOf: (i) => idNumbers[subjectIndex[i]!]!,
    departmentOf: (i) => departments[i % shape.departments]!,
    timeOf: (i) => startMs + Math.floor((i * shape.days * DAY_MS) / shape.records),
  };
}

const RESOURCES = Array.from({ length: 30 }, (_, r) => `${101001 + r}/${String(r + 1).padStart(6, '0')}`);
const DENY_REASONS = ['GRANT_EXPIRED', 'QUOTA_EXCEEDED', 'PURPOSE_NOT_GRANTED'];

/** Record i: a keyed lookup by one of its department's systems, 3% refused. */
function auditRecord(
  data: AuditDataset,
  i: number,
  instance: string,
  subjectHashes: Map<string, string>,
): AuditRecord {
  const { shape } = data;
  const dept = i % shape.departments;
  const perDept = shape.systems / shape.departments;
  const system = dept * perDept + (Math.floor(i / shape.departments) % perDept);
  const resource = (i * 7) % RESOURCES.length;
  const denied = i % 33 === 0;
  const id = data.subjectOf(i);
  let hash = subjectHashes.get(id);
  if (!hash) {
    hash = subjectHash(data.secret, id);
    subjectHashes.set(id, hash);
  }
  return {
    time: new Date(data.timeOf(i)).toISOString(),
    requestId: `01JBENCH${i.toString(36).padStart(12, '0')}`,
    instance,
    kind: 'data',
    actor: {
      deptCode: data.departmentOf(i),
      systemId: `system-${String(system).padStart(3, '0')}`,
      userId: `u-${10000 + (i % 977)}`,
      certSerial: (0x4f9a0c21de + system).toString(16),
    },
    action: 'data.lookup',
    resource: RESOURCES[resource]!,
    grantId: `g-${system}-${resource % 4}`,
    purpose: 'minimum living allowance eligibility check',
    items: ['name', 'idNumber', 'address', 'householdNo'],
    rowCount: denied ? 0 : 1,
    subjects: [hash],
    decision: denied ? 'deny' : 'allow',
    ...(denied && { reasonCode: DENY_REASONS[i % DENY_REASONS.length]! }),
    status: denied ? 403 : 200,
    latencyMs: 3 + (i % 50) / 10,
    requestSignatureHash: 'a'.repeat(64),
    ...(!denied && { responseDigest: 'b'.repeat(64) }),
  };
}

export interface WriteResult {
  records: number;
  seconds: number;
  perSecond: number;
}

/**
 * Record i goes to instance i mod instances, so each instance appends its records in time order. The
 * clock is stopped once every append is acknowledged and a PING on each writer's connection has come back
 * (the index writes, sent behind each batch on the same connection, are then done too).
 */
export async function writeAuditDataset(
  redisUrl: string,
  data: AuditDataset,
  progress: (written: number) => void,
): Promise<WriteResult> {
  const { shape } = data;
  const clients: RedisClient[] = data.instances.map(() => createRedisClient(redisUrl));
  const subjectHashes = new Map<string, string>();
  let written = 0;
  let nextReport = 100_000;
  const started = performance.now();
  try {
    await Promise.all(
      data.instances.map(async (instance, k) => {
        const redis = clients[k]!;
        const writer = new AuditWriter(redis, data.prefix, instance, {
          signer: data.signer,
          maxBatch: 1000,
          timeoutMs: 30_000,
        });
        await writer.start();
        let next = k;
        await Promise.all(
          Array.from({ length: shape.callers }, async () => {
            while (next < shape.records) {
              const i = next;
              next += shape.instances;
              await writer.append(auditRecord(data, i, instance, subjectHashes));
              if (++written >= nextReport) {
                progress(written);
                nextReport += 100_000;
              }
            }
          }),
        );
        await writer.close();
        await redis.ping();
      }),
    );
  } finally {
    await Promise.all(clients.map((c) => c.quit()));
  }
  const seconds = (performance.now() - started) / 1000;
  return { records: written, seconds, perSecond: written / seconds };
}

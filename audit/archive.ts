/**
 * Retention: months of the PostgreSQL store older than the retention period are exported to archive
 * segments before their partitions are dropped. A segment is two files in the archive directory:
 *
 * - `audit-YYYY-MM.jsonl.gz`: gzip of one JSON line per record `{ instance, seq, id, prev, hash, rec }`,
 *   by instance, then seq (each instance's records of a month are a contiguous piece of its chain);
 * - `audit-YYYY-MM.manifest.json`: `{ manifest, alg, sig, certificate }`, where `manifest` names the
 *   month, the record count, each instance's seq range with the hash its first record links to and the
 *   hash of its last, and the SHA-256 of the segment file; `sig` is the platform key's RSA-PSS signature
 *   (as checkpoints, see checkpoint.ts) over the canonical JSON of `manifest`; `certificate` is the
 *   signing certificate (PEM), so a segment verifies offline with nothing but the platform CA.
 *
 * A month is dropped only after its segment was written, synced, read back and verified; the store then
 * remembers where each instance's stored chain starts (`audit_archived_heads`), so `audit verify` checks
 * the first stored record against the last archived one.
 */
import { createHash, X509Certificate } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { certificateSignedBy } from '../certs/platform.js';
import { canonicalJson, chainHash } from './canonical.js';
import { type CheckpointSigner, signPayload, verifyPayload } from './checkpoint.js';
import type { AuditStore } from './store/store.js';

export const ARCHIVE_FORMAT = 'govshare-audit-archive/1';
const DAY_MS = 86_400_000;
const PARTITION = /^audit_records_(y(\d{4})m(\d{2}))$/;
const MANIFEST_FILE = /^audit-(\d{4}-\d{2})\.manifest\.json$/;
const SEGMENT_FILE = /^audit-\d{4}-\d{2}\.jsonl\.gz$/;
const GENESIS = '0'.repeat(64);
const PAGE = 5000;

export interface ArchivedInstance {
  instance: string;
  firstSeq: number;
  lastSeq: number;
  /** The hash the first record links to (its `prev`). */
  prev: string;
  lastHash: string;
  /** Stream id of the last record. */
  lastId: string;
}

export interface ArchiveManifest {
  format: typeof ARCHIVE_FORMAT;
  /** `YYYY-MM` (UTC months of stream time, as the partitions). */
  month: string;
  fromMs: number;
  toMs: number;
  records: number;
  instances: ArchivedInstance[];
  segment: string;
  sha256: string;
  createdAt: string;
  /** SHA-256 fingerprint (hex) of the signing certificate. */
  signer: string;
}

export interface ManifestFile {
  manifest: ArchiveManifest;
  alg: string;
  sig: string;
  certificate: string;
}

export interface ArchiveOptions {
  dir: string;
  retentionDays: number;
  signer: CheckpointSigner;
  /** @defaultValue Date.now */
  now?: () => number;
}

export interface ArchivedMonth {
  month: string;
  records: number;
  segment: string;
}

/**
 * Archives and drops every month whose end is older than the retention period, oldest first. One
 * archiver at a time across workers (a session advisory lock); another finding it taken does nothing.
 */
export async function archiveExpired(store: AuditStore, options: ArchiveOptions): Promise<ArchivedMonth[]> {
  const cutoff = (options.now ?? Date.now)() - options.retentionDays * DAY_MS;
  const lock = await store.pool.connect();
  lock.on('error', () => undefined);
  try {
    const { rows } = await lock.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
      ARCHIVE_LOCK,
    ]);
    if (!rows[0]?.locked) return [];
    try {
      const done: ArchivedMonth[] = [];
      for (const month of await storedMonths(store)) {
        if (month.toMs > cutoff) break;
        done.push(await archiveMonth(store, month, options));
      }
      return done;
    } finally {
      await lock.query('SELECT pg_advisory_unlock($1)', [ARCHIVE_LOCK]).catch(() => undefined);
    }
  } finally {
    lock.release();
  }
}

const ARCHIVE_LOCK = 0x60_5a_a0_03;

interface StoredMonth {
  suffix: string;
  month: string;
  fromMs: number;
  toMs: number;
}

async function storedMonths(store: AuditStore): Promise<StoredMonth[]> {
  const { rows } = await store.pool.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
      WHERE p.relname = 'audit_records'`,
  );
  const months: StoredMonth[] = [];
  for (const { name } of rows) {
    const match = PARTITION.exec(name);
    if (!match) continue;
    const year = Number(match[2]);
    const month = Number(match[3]) - 1;
    months.push({
      suffix: match[1]!,
      month: `${match[2]}-${match[3]}`,
      fromMs: Date.UTC(year, month, 1),
      toMs: Date.UTC(year, month + 1, 1),
    });
  }
  return months.sort((a, b) => a.fromMs - b.fromMs);
}

async function archiveMonth(
  store: AuditStore,
  month: StoredMonth,
  options: ArchiveOptions,
): Promise<ArchivedMonth> {
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const segment = `audit-${month.month}.jsonl.gz`;
  const instances = new Map<string, ArchivedInstance>();
  let records = 0;
  const hash = createHash('sha256');
  const partial = join(options.dir, `${segment}.partial`);
  await pipeline(
    Readable.from(
      exportLines(store, month.suffix, (row) => {
        records++;
        const known = instances.get(row.instance);
        const id = `${row.ms}-${row.n}`;
        if (known) {
          known.lastSeq = row.seq;
          known.lastHash = row.hash;
          known.lastId = id;
        } else {
          instances.set(row.instance, {
            instance: row.instance,
            firstSeq: row.seq,
            lastSeq: row.seq,
            prev: row.prev,
            lastHash: row.hash,
            lastId: id,
          });
        }
      }),
    ),
    createGzip(),
    new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        callback(null, chunk);
      },
    }),
    createWriteStream(partial, { mode: 0o600 }),
  );
  await syncFile(partial);
  renameSync(partial, join(options.dir, segment));
  const manifest: ArchiveManifest = {
    format: ARCHIVE_FORMAT,
    month: month.month,
    fromMs: month.fromMs,
    toMs: month.toMs,
    records,
    instances: [...instances.values()],
    segment,
    sha256: hash.digest('hex'),
    createdAt: new Date((options.now ?? Date.now)()).toISOString(),
    signer: options.signer.certificate.fingerprint256.replaceAll(':', '').toLowerCase(),
  };
  const { sig, alg } = await signPayload(options.signer, canonicalJson(manifest));
  const file: ManifestFile = { manifest, alg, sig, certificate: options.signer.certificate.toString() };
  const manifestPath = join(options.dir, `audit-${month.month}.manifest.json`);
  await writeSynced(manifestPath, `${JSON.stringify(file, null, 2)}\n`);
  // Read back before anything is dropped: what is deleted must be provably kept.
  const check = await verifySegment(
    options.dir,
    `audit-${month.month}.manifest.json`,
    options.signer.certificate,
  );
  if (check.problems.length > 0)
    throw new Error(`archive segment ${segment} did not verify after writing: ${check.problems.join('; ')}`);
  await dropMonth(store, month, manifest);
  return { month: month.month, records, segment };
}

interface ExportedRow {
  instance: string;
  seq: number;
  ms: string;
  n: string;
  prev: string;
  hash: string;
  rec: string;
}

async function* exportLines(
  store: AuditStore,
  suffix: string,
  onRow: (row: ExportedRow) => void,
): AsyncGenerator<string> {
  let after: [string, number] = ['', 0];
  for (;;) {
    // suffix matched PARTITION (digits only): nothing from input reaches the table name.
    const { rows } = await store.pool.query<ExportedRow>(
      `SELECT instance, seq::int AS seq, id_ms::text AS ms, id_n::text AS n, prev, hash, rec
         FROM audit_records_${suffix} WHERE (instance, seq) > ($1, $2)
        ORDER BY instance, seq LIMIT ${PAGE}`,
      after,
    );
    for (const row of rows) {
      onRow(row);
      yield `${JSON.stringify({ instance: row.instance, seq: row.seq, id: `${row.ms}-${row.n}`, prev: row.prev, hash: row.hash, rec: row.rec })}\n`;
    }
    if (rows.length < PAGE) return;
    const last = rows[rows.length - 1]!;
    after = [last.instance, last.seq];
  }
}

async function dropMonth(store: AuditStore, month: StoredMonth, manifest: ArchiveManifest): Promise<void> {
  await store.transaction(async (client) => {
    await client.query(
      `INSERT INTO audit_archives (month, segment, records, sha256) VALUES ($1, $2, $3, $4)
       ON CONFLICT (month) DO UPDATE SET segment = EXCLUDED.segment, records = EXCLUDED.records,
         sha256 = EXCLUDED.sha256, archived_at = now()`,
      [manifest.month, manifest.segment, manifest.records, manifest.sha256],
    );
    for (const instance of manifest.instances) {
      await client.query(
        `INSERT INTO audit_archived_heads (instance, seq, hash, stream_id) VALUES ($1, $2, $3, $4)
         ON CONFLICT (instance) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash,
           stream_id = EXCLUDED.stream_id
         WHERE audit_archived_heads.seq < EXCLUDED.seq`,
        [instance.instance, instance.lastSeq, instance.lastHash, instance.lastId],
      );
    }
    await client.query(`DROP TABLE audit_records_${month.suffix}`);
    await client.query(`DROP TABLE IF EXISTS audit_subjects_${month.suffix}`);
  });
}

/** Where an instance's stored chain starts: the last archived record, if any was archived. */
export async function archivedHead(
  store: AuditStore,
  instance: string,
): Promise<{ seq: number; hash: string; id: string } | undefined> {
  const { rows } = await store.pool.query<{ seq: string; hash: string; stream_id: string }>(
    'SELECT seq, hash, stream_id FROM audit_archived_heads WHERE instance = $1',
    [instance],
  );
  const row = rows[0];
  return row ? { seq: Number(row.seq), hash: row.hash, id: row.stream_id } : undefined;
}

export interface SegmentVerification {
  manifest: string;
  month?: string;
  records: number;
  problems: string[];
}

export interface ArchiveVerification {
  ok: boolean;
  segments: SegmentVerification[];
}

/**
 * Verifies every segment of an archive directory offline: the certificate chains to `ca`, the manifest
 * signature, the segment's SHA-256, every record's seq, link and hash, the counts, and that consecutive
 * months of an instance link up.
 */
export async function verifyArchive(dir: string, ca: X509Certificate): Promise<ArchiveVerification> {
  const names = readdirSync(dir)
    .filter((name) => MANIFEST_FILE.test(name))
    .sort();
  const segments: SegmentVerification[] = [];
  const lastOf = new Map<string, { seq: number; hash: string }>();
  for (const name of names) {
    const result = await verifySegment(dir, name, ca);
    for (const instance of result.instances) {
      const before = lastOf.get(instance.instance);
      if (before && (instance.firstSeq !== before.seq + 1 || instance.prev !== before.hash))
        result.problems.push(
          `${instance.instance}: seq ${instance.firstSeq} does not continue seq ${before.seq} of the month before`,
        );
      lastOf.set(instance.instance, { seq: instance.lastSeq, hash: instance.lastHash });
    }
    segments.push({
      manifest: result.manifest,
      ...(result.month ? { month: result.month } : {}),
      records: result.records,
      problems: result.problems,
    });
  }
  return { ok: segments.length > 0 && segments.every((s) => s.problems.length === 0), segments };
}

async function verifySegment(
  dir: string,
  name: string,
  trust: X509Certificate,
): Promise<SegmentVerification & { instances: ArchivedInstance[] }> {
  const result = {
    manifest: name,
    records: 0,
    problems: [] as string[],
    instances: [] as ArchivedInstance[],
  };
  let file: ManifestFile;
  try {
    file = JSON.parse(readFileSync(join(dir, name), 'utf8')) as ManifestFile;
  } catch (err) {
    result.problems.push(`the manifest is not JSON: ${(err as Error).message}`);
    return result;
  }
  const manifest = file?.manifest;
  if (
    manifest?.format !== ARCHIVE_FORMAT ||
    !SEGMENT_FILE.test(String(manifest.segment)) ||
    !Array.isArray(manifest.instances)
  ) {
    result.problems.push(`not a ${ARCHIVE_FORMAT} manifest`);
    return result;
  }
  const month: string = manifest.month;
  Object.assign(result, { month, instances: manifest.instances });
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(file.certificate);
  } catch {
    result.problems.push('the manifest certificate is unreadable');
    return result;
  }
  const issuedByTrust =
    certificate.fingerprint256 === trust.fingerprint256 ||
    (certificate.checkIssued(trust) && certificateSignedBy(certificate, trust));
  if (!issuedByTrust) result.problems.push('the signing certificate was not issued by the given CA');
  if (certificate.fingerprint256.replaceAll(':', '').toLowerCase() !== manifest.signer)
    result.problems.push('the manifest names another signer than its certificate');
  if (!verifyPayload(certificate.publicKey, canonicalJson(manifest), file.sig, file.alg))
    result.problems.push('the manifest signature does not verify');
  const segmentPath = join(dir, manifest.segment);
  let digest: string;
  try {
    digest = await sha256File(segmentPath);
  } catch {
    result.problems.push(`segment ${manifest.segment} is missing`);
    return result;
  }
  if (digest !== manifest.sha256) {
    result.problems.push(`segment ${manifest.segment}: SHA-256 differs from the manifest`);
    return result;
  }
  const expected = new Map(manifest.instances.map((i) => [i.instance, i]));
  let current: { instance: string; seq: number; hash: string } | undefined;
  const finish = () => {
    if (!current) return;
    const range = expected.get(current.instance);
    if (!range || range.lastSeq !== current.seq || range.lastHash !== current.hash)
      result.problems.push(
        `${current.instance}: the records end at seq ${current.seq}, not as the manifest says`,
      );
  };
  const lines = createInterface({
    input: createReadStream(segmentPath).pipe(createGunzip()),
    crlfDelay: Infinity,
  });
  try {
    for await (const line of lines) {
      if (result.problems.length > 20) break;
      result.records++;
      let row: { instance: string; seq: number; prev: string; hash: string; rec: string };
      try {
        row = JSON.parse(line);
      } catch {
        result.problems.push(`line ${result.records} is not JSON`);
        continue;
      }
      if (!current || current.instance !== row.instance) {
        finish();
        const range = expected.get(row.instance);
        if (!range || range.firstSeq !== row.seq || range.prev !== row.prev) {
          result.problems.push(`${row.instance}: its first record is not the one the manifest names`);
        }
        current = { instance: row.instance, seq: row.seq - 1, hash: range?.prev ?? GENESIS };
      }
      if (row.seq !== current.seq + 1)
        result.problems.push(`${row.instance}: seq ${row.seq} after ${current.seq}`);
      else if (row.prev !== current.hash)
        result.problems.push(`${row.instance} seq ${row.seq}: prev does not link`);
      else if (chainHash(row.prev, row.rec) !== row.hash)
        result.problems.push(`${row.instance} seq ${row.seq}: hash is not the chain hash of prev + rec`);
      current = { instance: row.instance, seq: row.seq, hash: row.hash };
    }
  } catch (err) {
    result.problems.push(`segment ${manifest.segment} is not readable gzip: ${(err as Error).message}`);
  }
  finish();
  if (result.records !== manifest.records)
    result.problems.push(`${result.records} records, the manifest says ${manifest.records}`);
  return result;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeSynced(path: string, text: string): Promise<void> {
  const partial = `${path}.partial`;
  const handle = await open(partial, 'w', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  renameSync(partial, path);
}

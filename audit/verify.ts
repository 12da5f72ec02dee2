/**
 * Verifies the audit trail from the streams (and, when the trail is shipped, the PostgreSQL store: its
 * records first, in chain order, then the stream's unshipped tail) plus the platform's public key, so it
 * can run on a second machine against a replica or a copy. For each instance it recomputes every hash, follows the
 * prev links and the seq numbers, checks every signed checkpoint against the record at its seq (and,
 * for checkpoints with a tree head, the RFC 9162 root over the records it covers; with the TSA's trust
 * anchor, its RFC 3161 timestamp token), and checks the chain head; it reports the FIRST broken link
 * (lowest seq).
 *
 * It may run while writers append: the head is read before the walk (its record must be met on the way)
 * and again after it (it may only have moved forward).
 */
import type { KeyObject } from 'node:crypto';
import { globLiteral, type RedisClient, scanKeys } from '../platform/redis.js';
import { archivedHead } from './archive.js';
import { type ChainHashAlg, chainHash, GENESIS_HASH } from './canonical.js';
import {
  checkpointHashAlg,
  readCheckpointEntry,
  recordLeaf,
  type StoredCheckpoint,
  verifyPayload,
} from './checkpoint.js';
import { parseRecord, type RawEntry, readChainEntry, walkStream } from './entries.js';
import { type AuditKeys, auditKeys } from './keys.js';
import { treeHead } from './merkle.js';
import { INSTANCE_ID_PATTERN } from './record.js';
import type { AuditStore } from './store/store.js';
import { parseTrustAnchors, verifyTimestampToken } from './tsa.js';

export type BrokenReason =
  | 'hash-mismatch'
  | 'prev-link-broken'
  | 'seq-gap'
  | 'torn-record'
  | 'checkpoint-signature-invalid'
  | 'checkpoint-hash-mismatch'
  /** The checkpoint's tree head is not the RFC 9162 root over the records it says it covers. */
  | 'checkpoint-root-mismatch'
  /** The checkpoint's RFC 3161 token does not verify for its payload against the TSA trust anchor. */
  | 'checkpoint-timestamp-invalid'
  | 'head-mismatch'
  /** A stream exists for the instance, but the registry of instances (which search reads) lacks it. */
  | 'instance-unregistered'
  /** The instance asked for has neither a stream nor a registration. */
  | 'instance-unknown';

export interface BrokenLink {
  /** The seq where the chain breaks (for a checkpoint: the seq it vouches for). */
  seq: number;
  /** Stream id of the offending entry (record, checkpoint or head). */
  id: string;
  reason: BrokenReason;
  /** What exactly was wrong, for the auditor's report. */
  detail: string;
}

export interface InstanceVerification {
  instance: string;
  records: number;
  checkpoints: number;
  /**
   * Records after the last one a valid checkpoint vouches for: intact as a chain, but not yet covered by
   * a platform signature (a writer signs every N records or T seconds; one that stopped leaves its last
   * records so). Anyone able to write to Redis could rewrite these consistently.
   */
  unsignedTail: number;
  /** Checkpoints whose tree head was recomputed from the records and matched. */
  treeHeads: number;
  /** The checkpoints' RFC 3161 tokens: verified, present but not checked (no TSA anchor given), absent. */
  timestamps: TimestampTally;
  firstBroken?: BrokenLink;
  /** The hash the chain's last records name (`sm3` on a gm platform); absent when no record was read. */
  hashAlg?: ChainHashAlg;
}

export interface TimestampTally {
  verified: number;
  unchecked: number;
  /** Checkpoints signed only, with no timestamp. */
  absent: number;
}

export interface VerifyResult {
  ok: boolean;
  instances: InstanceVerification[];
  recordsPerSecond: number;
}

export interface VerifyOptions {
  /** The platform signing key's public half. */
  publicKey: KeyObject;
  /**
   * Every platform signing key, current and earlier, by its certificate's SHA-256 fingerprint: a
   * checkpoint naming its signer is checked with that key (signed before a key rotation), one naming
   * none with `publicKey`.
   */
  signerKeys?: ReadonlyMap<string, KeyObject>;
  /** Verify only this instance. @defaultValue every instance registered or with a stream */
  instance?: string;
  onProgress?: (progress: { instance: string; records: number }) => void;
  /** Entries per XRANGE. @defaultValue 1000 */
  chunk?: number;
  /** The PostgreSQL store the streams are shipped to: its records are verified before the stream tail. */
  store?: AuditStore;
  /** PEM of the TSA trust anchor(s): checkpoint timestamp tokens are verified against it. */
  tsaTrustAnchorsPem?: string;
}

const ORDER: BrokenReason[] = [
  'torn-record',
  'seq-gap',
  'prev-link-broken',
  'hash-mismatch',
  'checkpoint-signature-invalid',
  'checkpoint-hash-mismatch',
  'checkpoint-root-mismatch',
  'checkpoint-timestamp-invalid',
  'head-mismatch',
];

/** The key a checkpoint names (an unknown signer gets the current key, and so fails as a bad signature). */
function signerKey(options: VerifyOptions, signer: string | undefined): KeyObject {
  return (signer && options.signerKeys?.get(signer)) || options.publicKey;
}

export async function verifyAudit(
  redis: RedisClient,
  prefix: string,
  options: VerifyOptions,
): Promise<VerifyResult> {
  const keys = auditKeys(prefix);
  const started = performance.now();
  const registered = new Set(await redis.smembers(keys.instances));
  // Streams are found by their key too: an instance removed from the registry is still verified, and
  // reported, rather than skipped.
  const stored = new Set(await streamInstances(redis, prefix));
  for (const instance of (await options.store?.instances()) ?? []) stored.add(instance);
  const names = options.instance ? [options.instance] : [...new Set([...registered, ...stored])].sort();
  const anchors = options.tsaTrustAnchorsPem ? parseTrustAnchors(options.tsaTrustAnchorsPem) : undefined;
  const instances: InstanceVerification[] = [];
  for (const instance of names) {
    if (!registered.has(instance) && !stored.has(instance)) {
      instances.push({
        instance,
        records: 0,
        checkpoints: 0,
        unsignedTail: 0,
        treeHeads: 0,
        timestamps: { verified: 0, unchecked: 0, absent: 0 },
        firstBroken: {
          seq: 0,
          id: '',
          reason: 'instance-unknown',
          detail: `no audit trail is registered or stored for instance ${instance}`,
        },
      });
      continue;
    }
    const verified = await verifyInstance(redis, keys, instance, options, anchors);
    if (!registered.has(instance)) {
      verified.firstBroken = {
        seq: 0,
        id: keys.stream(instance),
        reason: 'instance-unregistered',
        detail: `the stream exists but ${keys.instances} lacks the instance, so searches by time skip it`,
      };
    }
    instances.push(verified);
  }
  const seconds = (performance.now() - started) / 1000;
  const records = instances.reduce((sum, i) => sum + i.records, 0);
  return {
    ok: instances.every((i) => !i.firstBroken),
    instances,
    recordsPerSecond: seconds > 0 ? Math.round(records / seconds) : records,
  };
}

/**
 * An instance's chain oldest first: the records in the store (when there is one), then the stream's
 * entries after the last of them (the stream is trimmed only below shipped records).
 */
async function* walkChain(
  redis: RedisClient,
  keys: AuditKeys,
  instance: string,
  store: AuditStore | undefined,
  chunk: number,
  fromSeq = 1,
): AsyncGenerator<RawEntry[]> {
  let after = '-';
  if (store) {
    for (;;) {
      const rows = await store.chain(instance, fromSeq, chunk);
      if (rows.length > 0) {
        yield rows.map((r) => [
          `${r.ms}-${r.n}`,
          ['seq', String(r.seq), 'prev', r.prev, 'hash', r.hash, 'rec', r.rec],
        ]);
        const last = rows[rows.length - 1]!;
        after = `(${last.ms}-${last.n}`;
        fromSeq = last.seq + 1;
      }
      if (rows.length < chunk) break;
    }
  }
  for (;;) {
    const read = (await redis.xrange(keys.stream(instance), after, '+', 'COUNT', chunk)) as RawEntry[];
    // Archived records may still be in an untrimmed stream: the chain goes on after the archived head.
    const entries = fromSeq > 1 ? read.filter((entry) => entrySeq(entry) >= fromSeq) : read;
    if (entries.length > 0) yield entries;
    const lastRead = read[read.length - 1];
    if (read.length < chunk || !lastRead) return;
    after = `(${lastRead[0]}`;
  }
}

function entrySeq([, fields]: RawEntry): number {
  const at = fields.indexOf('seq');
  return at >= 0 ? Number(fields[at + 1]) : Number.NaN;
}

/**
 * The instance's checkpoints: its checkpoint stream's, then those only the store still holds (a
 * checkpoint deleted from Redis is still checked, and still vouches for its records).
 */
async function* allCheckpoints(
  redis: RedisClient,
  keys: AuditKeys,
  instance: string,
  store: AuditStore | undefined,
  chunk: number,
): AsyncGenerator<StoredCheckpoint> {
  const seen = new Set<string>();
  for await (const entries of walkStream(redis, keys.checkpoints(instance), chunk)) {
    for (const raw of entries) {
      seen.add(raw[0]);
      yield readCheckpointEntry(raw);
    }
  }
  for (const checkpoint of (await store?.checkpoints(instance)) ?? []) {
    if (!seen.has(checkpoint.id)) yield checkpoint;
  }
}

/** Instances that have a stream under this prefix (SCAN of the stream keys). */
async function streamInstances(redis: RedisClient, prefix: string): Promise<string[]> {
  const head = `${prefix}{audit:`;
  const found = await scanKeys(redis, `${globLiteral(head)}*}:stream`);
  const instances: string[] = [];
  for (const key of found) {
    const instance = key.slice(head.length, -'}:stream'.length);
    if (INSTANCE.test(instance)) instances.push(instance);
  }
  return instances;
}

const INSTANCE = new RegExp(INSTANCE_ID_PATTERN);

interface Head {
  seq: number;
  hash: string;
  id: string;
}

async function readHead(redis: RedisClient, keys: AuditKeys, instance: string): Promise<Head | undefined> {
  const [seq, hash, id] = await redis.hmget(keys.head(instance), 'seq', 'hash', 'id');
  return seq ? { seq: Number(seq), hash: hash ?? '', id: id ?? '' } : undefined;
}

async function verifyInstance(
  redis: RedisClient,
  keys: AuditKeys,
  instance: string,
  options: VerifyOptions,
  anchors: ReturnType<typeof parseTrustAnchors> | undefined,
): Promise<InstanceVerification> {
  const broken: BrokenLink[] = [];
  const chunk = options.chunk ?? 1000;
  const timestamps: TimestampTally = { verified: 0, unchecked: 0, absent: 0 };

  // Checkpoints first (one per thousand records or so): signatures and timestamps now, hashes and tree
  // heads during the walk.
  const vouched = new Map<number, { id: string; hash: string }[]>();
  const trees = new TreeHeadCheck();
  // Months past retention were archived (archive.ts): the stored chain continues the last archived
  // record; checkpoints over archived records vouch for what their segment verifies.
  const archived = options.store ? await archivedHead(options.store, instance) : undefined;
  let checkpoints = 0;
  for await (const cp of allCheckpoints(redis, keys, instance, options.store, chunk)) {
    checkpoints++;
    const seq = cp.parsed?.seq ?? 0;
    if (
      !cp.parsed ||
      cp.parsed.instance !== instance ||
      !verifyPayload(signerKey(options, cp.signer), cp.payload, cp.sig, cp.alg)
    ) {
      const why = !cp.parsed
        ? 'payload unreadable'
        : cp.parsed.instance !== instance
          ? 'for another instance'
          : 'bad signature';
      broken.push({
        seq,
        id: cp.id,
        reason: 'checkpoint-signature-invalid',
        detail: `checkpoint ${cp.id}: ${why}`,
      });
      continue;
    }
    const list = vouched.get(seq) ?? [];
    list.push({ id: cp.id, hash: cp.parsed.hash });
    vouched.set(seq, list);
    if (cp.parsed.root !== undefined && cp.parsed.from! >= (archived?.seq ?? 0))
      trees.add(cp.id, cp.parsed.from!, seq, cp.parsed.root, checkpointHashAlg(cp.parsed));
    if (!cp.tst) timestamps.absent++;
    else if (!anchors) timestamps.unchecked++;
    else {
      try {
        await verifyTimestampToken(Buffer.from(cp.tst, 'base64'), Buffer.from(cp.payload, 'utf8'), anchors);
        timestamps.verified++;
      } catch (err) {
        broken.push({
          seq,
          id: cp.id,
          reason: 'checkpoint-timestamp-invalid',
          detail: `checkpoint ${cp.id}: ${(err as Error).message}`,
        });
      }
    }
  }

  const headBefore = await readHead(redis, keys, instance);
  let headBeforeSeen = false;
  let records = 0;
  let expected = (archived?.seq ?? 0) + 1;
  let prev = archived?.hash ?? GENESIS_HASH;
  let last: Head = { seq: archived?.seq ?? 0, hash: prev, id: archived?.id ?? '0-0' };
  for (const seq of vouched.keys()) if (seq < expected) vouched.delete(seq);
  let recordFault = false;
  let chainAlg: ChainHashAlg | undefined;
  const lastVouched = Math.max(archived?.seq ?? 0, ...vouched.keys());
  for await (const entries of walkChain(redis, keys, instance, options.store, chunk, expected)) {
    records += entries.length;
    for (const raw of entries) {
      if (recordFault) break;
      const entry = readChainEntry(raw);
      const at = { seq: expected, id: raw[0] };
      const parsed = 'torn' in entry ? undefined : parseRecord(entry.rec);
      // Each record names its hash. A chain may move from SHA-256 to SM3 (a gm platform whose trail began
      // before SM3 chains), never back: a record naming SHA-256 after SM3 ones is a downgrade.
      const alg: ChainHashAlg = parsed?.hashAlg === 'sm3' ? 'sm3' : 'sha256';
      const downgrade = alg === 'sha256' && chainAlg === 'sm3';
      if (!downgrade) chainAlg = alg;
      if ('torn' in entry || parsed === undefined) {
        const detail = 'torn' in entry ? entry.torn : 'rec is not a JSON object';
        broken.push({ ...at, reason: 'torn-record', detail: `entry ${raw[0]}: ${detail}` });
      } else if (downgrade) {
        broken.push({
          ...at,
          reason: 'hash-mismatch',
          detail: 'the record names sha256 after records naming sm3 (a chain never goes back to SHA-256)',
        });
      } else if (entry.seq !== expected) {
        broken.push({ ...at, reason: 'seq-gap', detail: `expected seq ${expected}, found ${entry.seq}` });
      } else if (entry.prev !== prev) {
        broken.push({
          ...at,
          reason: 'prev-link-broken',
          detail: `prev is not the hash of seq ${expected - 1}`,
        });
      } else if (chainHash(entry.prev, entry.rec) !== entry.hash) {
        broken.push({ ...at, reason: 'hash-mismatch', detail: `the stored hash is not ${alg}(prev + rec)` });
      } else {
        for (const cp of vouched.get(entry.seq) ?? []) {
          if (cp.hash !== entry.hash) {
            broken.push({
              seq: entry.seq,
              id: cp.id,
              reason: 'checkpoint-hash-mismatch',
              detail: `checkpoint ${cp.id} signed another hash for seq ${entry.seq}`,
            });
          }
        }
        vouched.delete(entry.seq);
        for (const mismatch of trees.record(entry.seq, entry.rec)) {
          broken.push({
            seq: entry.seq,
            id: mismatch.id,
            reason: 'checkpoint-root-mismatch',
            detail: `checkpoint ${mismatch.id}: its tree head is not the root over records ${mismatch.from + 1}..${entry.seq}`,
          });
        }
        if (headBefore?.seq === entry.seq) {
          headBeforeSeen = true;
          if (headBefore.hash !== entry.hash || headBefore.id !== entry.id) {
            broken.push({
              seq: entry.seq,
              id: headBefore.id,
              reason: 'head-mismatch',
              detail: 'head differs from its record',
            });
          }
        }
        prev = entry.hash;
        last = { seq: entry.seq, hash: entry.hash, id: entry.id };
        expected++;
        continue;
      }
      recordFault = true;
    }
    options.onProgress?.({ instance, records });
  }

  if (!recordFault) {
    for (const [seq, list] of vouched) {
      for (const cp of list) {
        broken.push({
          seq,
          id: cp.id,
          reason: 'checkpoint-hash-mismatch',
          detail: `checkpoint ${cp.id} vouches for seq ${seq}, beyond the last record ${last.seq}`,
        });
      }
    }
    const headAfter = await readHead(redis, keys, instance);
    // A head at or below the archived head points into a verified segment (the archive checks those).
    const headArchived =
      archived !== undefined &&
      headBefore !== undefined &&
      (headBefore.seq < archived.seq ||
        (headBefore.seq === archived.seq && headBefore.hash === archived.hash));
    if (headBefore && !headBeforeSeen && !headArchived) {
      broken.push({
        seq: headBefore.seq,
        id: headBefore.id,
        reason: 'head-mismatch',
        detail: `head points at seq ${headBefore.seq}, which the stream does not hold`,
      });
    } else if (!headAfter && last.seq > 0) {
      broken.push({ seq: last.seq, id: last.id, reason: 'head-mismatch', detail: 'the head key is missing' });
    } else if (headAfter && headAfter.seq < last.seq) {
      broken.push({
        seq: headAfter.seq,
        id: headAfter.id,
        reason: 'head-mismatch',
        detail: `the stream holds records beyond the head (seq ${last.seq})`,
      });
    } else if (
      headAfter &&
      headAfter.seq === last.seq &&
      (headAfter.hash !== last.hash || headAfter.id !== last.id)
    ) {
      broken.push({
        seq: last.seq,
        id: headAfter.id,
        reason: 'head-mismatch',
        detail: 'head differs from the last record',
      });
    }
  }

  broken.sort((a, b) => a.seq - b.seq || ORDER.indexOf(a.reason) - ORDER.indexOf(b.reason));
  const result: InstanceVerification = {
    instance,
    records,
    checkpoints,
    unsignedTail: Math.max(0, last.seq - lastVouched),
    treeHeads: trees.matched,
    timestamps,
  };
  if (broken[0]) result.firstBroken = broken[0];
  if (chainAlg) result.hashAlg = chainAlg;
  return result;
}

interface TreeToCheck {
  id: string;
  from: number;
  root: string;
  alg: ChainHashAlg;
}

/**
 * Recomputes the checkpoints' tree heads as the walk meets their records, holding the records only from
 * the lowest `from` of the checkpoints still to come (about one checkpoint's worth). Each tree is built
 * with the hash its signed checkpoint names.
 */
class TreeHeadCheck {
  matched = 0;
  private readonly bySeq = new Map<number, TreeToCheck[]>();
  /** recs[i] is the canonical record of seq base + 1 + i. */
  private recs: string[] = [];
  private base = Number.POSITIVE_INFINITY;

  add(id: string, from: number, seq: number, root: string, alg: ChainHashAlg): void {
    const list = this.bySeq.get(seq) ?? [];
    list.push({ id, from, root, alg });
    this.bySeq.set(seq, list);
    this.base = Math.min(this.base, from);
  }

  /** Takes the next record of the walk; returns the checkpoints at its seq whose tree head differs. */
  record(seq: number, rec: string): TreeToCheck[] {
    if (seq > this.base) this.recs.push(rec);
    const due = this.bySeq.get(seq);
    if (!due) return [];
    this.bySeq.delete(seq);
    const mismatched = due.filter((tree) => {
      const recs = this.recs.slice(tree.from - this.base, seq - this.base);
      const leaves = recs.map((r) => recordLeaf(r, tree.alg));
      const root = treeHead(leaves, tree.alg).toString('hex');
      if (root === tree.root) this.matched++;
      return root !== tree.root;
    });
    let next = this.bySeq.size === 0 ? Number.POSITIVE_INFINITY : seq;
    for (const list of this.bySeq.values()) for (const tree of list) next = Math.min(next, tree.from);
    if (next === Number.POSITIVE_INFINITY) {
      this.recs = [];
      this.base = next;
    } else if (next > this.base) {
      this.recs = this.recs.slice(next - this.base);
      this.base = next;
    }
    return mismatched;
  }
}

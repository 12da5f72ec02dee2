/**
 * Secondary indexes for searching the trail: one sorted set per department, system, resource, grant,
 * subject hash, decision, reason code and request id; score = stream-id time (ms), member =
 * `<instance>|<stream id>`. They are written in the same round trip as the records but are only a
 * convenience: `rebuildIndexes` derives them again from the streams, and search re-checks every record
 * it reads against the query, so a stale or stray member can never put a wrong record in an answer.
 *
 * Retention: every write removes the members of the touched key older than the retention window and
 * sets the key to expire after the window, so an index never outlives its window (default 180 days,
 * the minimum log retention of the Cybersecurity Law, art. 21). The streams are not trimmed here:
 * archiving old records into signed segments is a separate job.
 */
import { Cluster } from 'ioredis';
import { type RedisClient, scanKeys } from '../platform/redis.js';
import { idTime, parseRecord, readChainEntry, walkStream } from './entries.js';
import { type AuditKeys, auditKeys, type IndexKind, indexMember } from './keys.js';
import type { AuditRecord } from './record.js';
import { type Command, defineAuditScripts, INDEX_COMMAND, roundTripValues } from './scripts.js';

export const DEFAULT_INDEX_RETENTION_MS = 180 * 24 * 3600 * 1000;

export interface IndexEntry {
  kind: IndexKind;
  key: string;
  score: number;
  member: string;
}

/** The index values of a record, by kind. */
export function indexValues(record: AuditRecord): [IndexKind, string][] {
  const values: [IndexKind, string][] = [
    ['request', record.requestId],
    ['decision', record.decision],
  ];
  const { deptCode, systemId } = record.actor;
  if (deptCode) values.push(['dept', deptCode]);
  if (systemId) values.push(['system', systemId]);
  if (record.resource) values.push(['resource', record.resource]);
  if (record.grantId) values.push(['grant', record.grantId]);
  if (record.reasonCode) values.push(['reason', record.reasonCode]);
  for (const subject of new Set(record.subjects ?? [])) values.push(['subject', subject]);
  return values;
}

export function indexEntriesFor(
  keys: AuditKeys,
  record: AuditRecord,
  instance: string,
  id: string,
): IndexEntry[] {
  const member = indexMember(instance, id);
  const score = idTime(id);
  return indexValues(record).map(([kind, value]) => ({ kind, key: keys.index(kind, value), score, member }));
}

/**
 * The index script calls that write the entries: one call for all keys on a standalone server, one
 * call per key on a Cluster (each index key lives in its own slot).
 */
export function indexCommands(
  redis: RedisClient,
  entries: IndexEntry[],
  retention: { now: number; retentionMs: number },
  /** Whether to apply the retention window to a key now; trimming on every write is wasted Redis work. */
  shouldTrim: (key: string, kind: IndexKind) => boolean = () => true,
): Command[] {
  const byKey = new Map<string, (string | number)[]>();
  const kinds = new Map<string, IndexKind>();
  for (const { kind, key, score, member } of entries) {
    const pairs = byKey.get(key);
    if (pairs) pairs.push(score, member);
    else {
      byKey.set(key, [score, member]);
      kinds.set(key, kind);
    }
  }
  const head = [retention.now - retention.retentionMs, retention.retentionMs];
  const groups = redis instanceof Cluster ? [...byKey].map((kv) => [kv]) : [[...byKey]];
  return groups
    .filter((group) => group.length > 0)
    .map((group) => {
      const keys = group.map(([key]) => key);
      const argv = group.flatMap(([key, pairs]) => [
        (shouldTrim(key, kinds.get(key)!) ? 1 : -1) * (pairs.length / 2),
        ...pairs,
      ]);
      return [INDEX_COMMAND, keys.length, ...keys, ...head, ...argv];
    });
}

export interface RebuildOptions {
  /** @defaultValue DEFAULT_INDEX_RETENTION_MS */
  retentionMs?: number;
  /** @defaultValue Date.now */
  now?: () => number;
}

/**
 * Deletes every index key under the prefix and derives them again from all instances' streams.
 * Records older than the retention window are not indexed. Safe while writers run: what they add
 * after the deletion is either re-added here or written by them.
 */
export async function rebuildIndexes(
  redis: RedisClient,
  prefix: string,
  options: RebuildOptions = {},
): Promise<{ records: number; skipped: number }> {
  defineAuditScripts(redis);
  const keys = auditKeys(prefix);
  const retentionMs = options.retentionMs ?? DEFAULT_INDEX_RETENTION_MS;
  const now = (options.now ?? Date.now)();
  await deleteMatching(redis, keys.indexPattern);
  let records = 0;
  let skipped = 0;
  for (const instance of await redis.smembers(keys.instances)) {
    for await (const chunk of walkStream(redis, keys.stream(instance))) {
      const entries: IndexEntry[] = [];
      for (const raw of chunk) {
        const entry = readChainEntry(raw);
        const record = 'torn' in entry ? undefined : parseRecord(entry.rec);
        if (!record || idTime(raw[0]) < now - retentionMs) {
          skipped++;
          continue;
        }
        entries.push(...indexEntriesFor(keys, record, instance, raw[0]));
        records++;
      }
      await roundTripValues(redis, indexCommands(redis, entries, { now, retentionMs }));
    }
  }
  return { records, skipped };
}

async function deleteMatching(redis: RedisClient, pattern: string): Promise<void> {
  const found = await scanKeys(redis, pattern);
  for (let i = 0; i < found.length; i += 1000) {
    await roundTripValues(
      redis,
      found.slice(i, i + 1000).map((key) => ['unlink', key] as Command),
    );
  }
}

/** Reading an instance's audit stream in tests. */
import { fieldMap, parseRecord } from '../../audit/entries.js';
import { auditKeys } from '../../audit/keys.js';
import type { AuditRecord } from '../../audit/record.js';
import type { RedisClient } from '../../platform/redis.js';

/** Every record of `instance`'s audit stream, oldest first. */
export async function auditRecordsOf(
  redis: RedisClient,
  prefix: string,
  instance: string,
): Promise<AuditRecord[]> {
  const stream = auditKeys(prefix).stream(instance);
  const records: AuditRecord[] = [];
  for (let cursor = '-'; ; ) {
    const entries = (await redis.xrange(stream, cursor, '+', 'COUNT', 1000)) as [string, string[]][];
    const fresh = cursor === '-' ? entries : entries.slice(1);
    for (const [, fields] of fresh) {
      const record = parseRecord(fieldMap(fields).get('rec') ?? '');
      if (record) records.push(record);
    }
    if (entries.length < 1000) break;
    cursor = entries[entries.length - 1]![0];
  }
  return records;
}

/**
 * Request ids of the allowed `data.lookup` records of `instance`, less those a later `data.undelivered`
 * record retracts (an append whose reply was lost; see retractLater in data-path/serve.ts): the calls
 * the instance says it answered with data.
 */
export async function servedLookups(
  redis: RedisClient,
  prefix: string,
  instance: string,
): Promise<Set<string>> {
  const served = new Set<string>();
  const retracted: string[] = [];
  for (const record of await auditRecordsOf(redis, prefix, instance)) {
    if (record.action === 'data.lookup' && record.decision === 'allow') served.add(record.requestId);
    const retracts = (record.detail as { retracts?: unknown } | undefined)?.retracts;
    if (record.action === 'data.undelivered' && typeof retracts === 'string') retracted.push(retracts);
  }
  for (const id of retracted) served.delete(id);
  return served;
}
